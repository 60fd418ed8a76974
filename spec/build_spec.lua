-- The shared objects: one export each, and a build loaded into the wrong
-- runtime fails loudly instead of misbehaving.
local H = require "spec.support.helper"

local run = H.run

describe("build", function()
  for _, build in ipairs { "lua5.4", "luajit" } do
    it(build .. " exports luaopen_whatsapp_core and nothing else", function()
      local out = run("nm -D --defined-only build/" .. build .. "/whatsapp/core.so | awk '$2 ~ /[TDBR]/ {print $3}'")
      assert.are.equal("luaopen_whatsapp_core\nexit=0\n", out)
    end)
  end

  local loader = "'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path; "
    .. "package.cpath=\"build/%s/?.so\"; require \"whatsapp\"; print \"loaded\"'"

  it("loads the build made for this runtime", function()
    local out = run(H.runtime .. " -e " .. loader:format(H.runtime))
    assert.matches("^loaded\nexit=0", out)
  end)

  it("refuses the Lua 5.4 build under LuaJIT", function()
    local out = run("luajit -e " .. loader:format("lua5.4"))
    assert.matches("exit=1", out)
    assert.is_nil(out:find("^loaded"))
    assert.matches("undefined symbol", out)
  end)

  it("refuses the LuaJIT build under Lua 5.4", function()
    local out = run("lua5.4 -e " .. loader:format("luajit"))
    assert.matches("exit=1", out)
    assert.is_nil(out:find("^loaded"))
    assert.matches("undefined symbol", out)
  end)

  it("reports the libraries it was built with", function()
    local v = require("whatsapp.core").versions()
    assert.matches("^%d+%.%d+", v.curl)
    assert.matches("OpenSSL", v.ssl)
    assert.is_true(v.http2)
  end)
end)

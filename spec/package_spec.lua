-- What a user runs: the rockspec builds and installs offline, the demo sends,
-- and the Lua sources are luacheck clean.
local H = require "spec.support.helper"

local run = H.run

describe("package", function()
  it("installs with luarocks make, offline, into a fresh tree and loads", function()
    local tmp = run("mktemp -d /tmp/whatsapp-rock.XXXXXX"):match("^(%S+)")
    local version = H.runtime == "luajit" and "5.1" or "5.4"
    local extra = H.runtime == "luajit" and " LUA_INCDIR=/usr/include/luajit-2.1" or ""
    local out = run("cp -r lua src whatsapp-scm-1.rockspec " .. tmp .. " && cd " .. tmp
      .. " && luarocks --lua-version=" .. version .. " make --tree=" .. tmp .. "/tree" .. extra)
    assert.matches("is now installed", out)
    local share, lib = tmp .. "/tree/share/lua/" .. version, tmp .. "/tree/lib/lua/" .. version
    out = run(H.runtime .. " -e 'package.path=\"" .. share .. "/?.lua;" .. share .. "/?/init.lua\"; "
      .. "package.cpath=\"" .. lib .. "/?.so\"; local w = require \"whatsapp\"; "
      .. "print(w._VERSION, require(\"whatsapp.core\").versions().curl)'")
    run("rm -rf " .. tmp)
    assert.matches("^%d+%.%d+%.%d+\t%d+%.%d+", out)
    assert.matches("exit=0", out)
  end)

  it("make demo sends through the stand-in and shows what arrived", function()
    local out = run("env -u AWS_ACCESS_KEY_ID -u WHATSAPP_TO bash examples/demo.sh")
    assert.matches("messageId: %x+%-", out)
    assert.matches('"body": "Hello from the whatsapp Lua module"', out)
    assert.matches("signed headers: content%-type;host;x%-amz%-date", out)
    assert.matches("exit=0", out)
  end)

  it("is luacheck clean", function()
    local out = run("luacheck -q --no-color lua spec examples bench .luacheckrc whatsapp-scm-1.rockspec")
    assert.matches("0 warnings / 0 errors", out)
    assert.matches("exit=0", out)
  end)
end)

-- What a user runs: the rockspec builds and installs offline, the demo sends,
-- and the Lua sources are luacheck clean.
local H = require "spec.support.helper"

local run = H.run

describe("package", function()
  it("installs with luarocks make, offline, into a fresh tree and loads", function()
    local tmp = run("mktemp -d /tmp/whatsapp-rock.XXXXXX"):match("^(%S+)")
    local version = H.runtime == "luajit" and "5.1" or "5.4"
    local extra = H.runtime == "luajit" and " LUA_INCDIR=/usr/include/luajit-2.1" or ""
    local out = run("cp -r lua src bin whatsapp-scm-1.rockspec " .. tmp .. " && cd " .. tmp
      .. " && luarocks --lua-version=" .. version .. " make --tree=" .. tmp .. "/tree" .. extra)
    assert.matches("is now installed", out)
    local share, lib = tmp .. "/tree/share/lua/" .. version, tmp .. "/tree/lib/lua/" .. version
    out = run(H.runtime .. " -e 'package.path=\"" .. share .. "/?.lua;" .. share .. "/?/init.lua\"; "
      .. "package.cpath=\"" .. lib .. "/?.so\"; local w = require \"whatsapp\"; "
      .. "print(w._VERSION, require(\"whatsapp.core\").versions().curl)'")
    -- the command, wrapped by LuaRocks to find the tree's modules with no LUA_PATH set
    local cmd = run("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 " .. tmp
      .. "/tree/bin/whatsapp --version")
    local usage = run("env -u LUA_PATH -u LUA_CPATH " .. tmp .. "/tree/bin/whatsapp send-text")
    run("rm -rf " .. tmp)
    -- a build of the scm rockspec says so (a release's says its version: rock_spec)
    assert.matches("^scm\t%d+%.%d+", out)
    assert.matches("exit=0", out)
    assert.matches("^scm\nexit=0", cmd)
    assert.matches("send%-text: expected TO BODY", usage)
    assert.matches("exit=2", usage)
  end)

  it("installs every Lua module of lua/", function()
    local rockspec = {}
    assert(load(assert(io.open("whatsapp-scm-1.rockspec")):read("*a"), "rockspec", "t", rockspec))()
    local listed = {}
    for _, file in pairs(rockspec.build.modules) do
      if type(file) == "string" then listed[file] = true end
    end
    local missing = {}
    for file in run("find lua -name '*.lua' | sort"):gmatch("(lua/%S+%.lua)\n") do
      if not listed[file] then missing[#missing + 1] = file end
    end
    assert.are.same({}, missing)
    assert.are.equal("bin/whatsapp", rockspec.build.install.bin.whatsapp)
  end)

  it("make demo sends through the stand-in and shows what arrived", function()
    local out = run("env -u AWS_ACCESS_KEY_ID -u WHATSAPP_TO bash examples/demo.sh")
    assert.matches("messageId: %x+%-", out)
    assert.matches('"body": "Hello from the whatsapp Lua module"', out)
    assert.matches("signed headers: content%-type;host;x%-amz%-date", out)
    assert.matches("exit=0", out)
  end)

  it("is luacheck clean", function()
    local out = run("luacheck -q --no-color lua spec examples bench bin .luacheckrc whatsapp-scm-1.rockspec")
    assert.matches("bin/whatsapp", run("luacheck --no-color bin")) -- the script without a .lua suffix is checked
    assert.matches("0 warnings / 0 errors", out)
    assert.matches("exit=0", out)
  end)
end)

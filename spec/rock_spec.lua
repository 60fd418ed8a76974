-- The rock as a release ships it: `make rock` packs the release rockspec
-- and the source archive into build/whatsapp-<version>-1.src.rock; that file
-- alone, in an empty folder, installs into an empty tree with no network
-- (and no checkout), and the installed command and module send through the
-- stand-in. The version comes from the release rockspec alone.
local H = require "spec.support.helper"

local run = H.run

local function release_version()
  local f = assert(io.open(assert(H.run("ls rockspecs/whatsapp-*-1.rockspec"):match("(%S+%.rockspec)"))))
  local text = f:read("*a")
  f:close()
  return assert(text:match('\nlocal VERSION = "([^"]+)"'))
end

describe("the packed source rock", function()
  local version = release_version()

  it("carries the version of the release rockspec into whatsapp.VERSION and --version", function()
    local whatsapp = require "whatsapp"
    assert.are.equal(version, whatsapp.VERSION)
    assert.are.equal(version, whatsapp._VERSION)
    local out = run("lua5.4 -e \"package.path='lua/?.lua;lua/?/init.lua;'..package.path; "
      .. "package.cpath='build/lua5.4/?.so;'..package.cpath\" bin/whatsapp --version")
    assert.are.equal(version .. "\nexit=0\n", out)
  end)

  it("installs offline from the .src.rock alone, in an empty folder, and sends", function()
    local out = run("make -s rock")
    local rock = assert(out:match("(build/whatsapp%-[%w.]+%-1%.src%.rock)"), out)
    assert.are.equal("build/whatsapp-" .. version .. "-1.src.rock", rock)
    local tmp = run("mktemp -d /tmp/whatsapp-srcrock.XXXXXX"):match("^(%S+)")
    run("mkdir " .. tmp .. "/empty && cp " .. rock .. " " .. tmp .. "/empty/")
    local lv = H.runtime == "luajit" and "5.1" or "5.4"
    local extra = H.runtime == "luajit" and " LUA_INCDIR=/usr/include/luajit-2.1" or ""
    -- no network: a new network namespace when we may make one (root); the
    -- rockspec's source address never resolves either (.invalid)
    local isolate = run("id -u"):match("^0\n") and "unshare -n " or ""
    out = run("cd " .. tmp .. "/empty && env -u LUA_PATH -u LUA_CPATH " .. isolate .. "luarocks --lua-version=" .. lv
      .. " --tree=" .. tmp .. "/tree install ./" .. rock:match("[^/]+$") .. extra)
    assert.matches("is now installed", out)
    assert.matches("exit=0", out)
    local share, lib = tmp .. "/tree/share/lua/" .. lv, tmp .. "/tree/lib/lua/" .. lv
    local paths = "package.path='" .. share .. "/?.lua;" .. share .. "/?/init.lua'; package.cpath='" .. lib .. "/?.so'"
    local env = "env -u LUA_PATH -u LUA_CPATH AWS_ACCESS_KEY_ID=" .. H.creds.static.access_key_id
      .. " AWS_SECRET_ACCESS_KEY='" .. H.creds.static.secret_access_key .. "' AWS_REGION=us-east-1"
      .. " AWS_ENDPOINT_URL=" .. H.http .. " WHATSAPP_PHONE_NUMBER_ID=" .. H.PHONE .. " "
    -- the installed command: LuaRocks' wrapper on Lua 5.4; on LuaJIT the
    -- installed script under luajit itself (Debian's wrapper would pick lua5.1)
    local command = H.runtime == "luajit"
      and ("luajit -e \"" .. paths .. "\" " .. tmp .. "/tree/lib/luarocks/rocks-5.1/whatsapp/" .. version
        .. "-1/bin/whatsapp")
      or (tmp .. "/tree/bin/whatsapp")
    H.reset()
    local v = run(env .. command .. " --version")
    local sent = run(env .. command .. " send-text +14255550123 'from the installed command'")
    local lib_send = run(env .. H.runtime .. " -e \"" .. paths .. "; local w = require 'whatsapp'; "
      .. "print(w.VERSION, assert(w.send({ to = '+14255550123', type = 'text', text = { body = 'from require' } })))\"")
    run("rm -rf " .. tmp)
    assert.are.equal(version .. "\nexit=0\n", v)
    assert.matches("exit=0", sent)
    assert.matches("^" .. version:gsub("%.", "%%.") .. "\t%S+\nexit=0", lib_send)
    local bodies = {}
    for _, m in ipairs(H.messages()) do bodies[#bodies + 1] = m.message.text.body end
    assert.are.same({ "from the installed command", "from require" }, bodies)
  end)

  it("has a release rockspec with the scm rockspec's modules and sources, both lint clean", function()
    local function load_rockspec(path)
      local env = {}
      assert(load(assert(io.open(path)):read("*a"), path, "t", env))()
      return env
    end
    local scm = load_rockspec("whatsapp-scm-1.rockspec")
    local release = load_rockspec("rockspecs/whatsapp-" .. version .. "-1.rockspec")
    assert.are.equal(version .. "-1", release.version)
    local function without_version(modules)
      local copy = {}
      for k, m in pairs(modules) do
        if type(m) == "table" then
          local defines = {}
          for _, d in ipairs(m.defines) do
            if not d:find("^WA_VERSION=") then defines[#defines + 1] = d end
          end
          copy[k] = { sources = m.sources, defines = defines, libraries = m.libraries, incdirs = m.incdirs,
            libdirs = m.libdirs }
        else
          copy[k] = m
        end
      end
      return copy
    end
    assert.are.same(without_version(scm.build.modules), without_version(release.build.modules))
    assert.are.same(scm.build.install, release.build.install)
    assert.are.same(scm.dependencies, release.dependencies)
    for _, path in ipairs { "whatsapp-scm-1.rockspec", "rockspecs/whatsapp-" .. version .. "-1.rockspec" } do
      assert.matches("exit=0", run("luarocks lint " .. path))
    end
  end)
end)

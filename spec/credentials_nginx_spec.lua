-- Fetching credentials inside a real nginx (Debian's nginx +
-- libnginx-mod-http-lua, one worker, spec/support/nginx_creds.lua): a
-- deadline bounds the fetch over cosockets, a light thread killed mid-fetch
-- does not hold up the next send, and credential_process, which can only
-- block the worker here (this ngx_lua has no ngx.pipe), is refused in a
-- request unless the client opts in, and then still killed at its deadline.
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local core = require "whatsapp.core"

describe("credentials inside nginx", function()
  local nginx, probe, home

  setup(function()
    H.require_standin()
    H.require_credsrv()
    nginx = N.start {
      env = {
        AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http,
        WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
        WA_CREDSRV = H.credsrv,
      },
      server = [[
        location = /__ready { return 200 "ready"; }
        location = /hello { return 200 "hello"; }
        location = /deadline { content_by_lua_block { require("nginx_creds").deadline() } }
        location = /killed { content_by_lua_block { require("nginx_creds").killed() } }
        location = /killed-across { content_by_lua_block { require("nginx_creds").killed_across() } }
        location = /process { content_by_lua_block { require("nginx_creds").process() } }
      ]],
    }
    probe = core.new_client { connect_timeout_ms = 2000, timeout_ms = 20000 }
  end)

  teardown(function()
    if probe then probe:close() end
    N.stop(nginx)
  end)

  before_each(function()
    H.reset()
    H.creds_reset()
    home = H.home()
  end)
  after_each(function()
    H.creds_reset()
    H.rmrf(home)
  end)

  local function get(path)
    local status, body = probe:request("GET", nginx.url .. path)
    assert.are.equal(200, status, tostring(body) .. "\n" .. N.log(nginx):sub(-2000))
    return core.decode(body)
  end

  it("a deadline bounds a fetch from a container endpoint that hangs", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    local r = get("/deadline?d=1")
    assert.are.equal("TimeoutError", r.code, r.message)
    assert.matches("deadline passed while fetching credentials %(container: .*%); nothing was sent", r.message)
    assert.is_true(r.elapsed < 3, "the send took " .. r.elapsed .. " s past a 1 s deadline")
    assert.are.equal(0, H.stats().requests)
  end)

  it("a light thread killed mid-fetch does not hold up the next send of its request", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    local r = get("/killed")
    assert.is_string(r.id, r.message)
    assert.is_true(r.elapsed < 3, "the next send waited " .. r.elapsed .. " s for the killed thread's fetch")
    assert.are.equal(H.creds.temp.access_key_id, H.messages()[1].access_key_id)
  end)

  it("nor the next request's send", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    assert.is_true(get("/killed-across?step=1").killed)
    H.creds_set { container = { mode = "ok" } }
    local r = get("/killed-across?step=2")
    assert.is_string(r.id, r.message)
    assert.is_true(r.elapsed < 3, "the next send waited " .. r.elapsed .. " s for the killed thread's fetch")
  end)

  describe("credential_process", function()
    local function config(command)
      H.write(home .. "/config", "[default]\ncredential_process = " .. command .. "\n")
      return "/process?config=" .. home .. "/config"
    end

    it("is refused in a request, at once and without running, saying how to opt in", function()
      local path = config("touch " .. home .. "/ran; sleep 5")
      local r = get(path)
      assert.are.equal("CredentialsError", r.code)
      assert.matches('^credential_process %(profile "default"%): is refused inside nginx\'s content phase: .*'
        .. "blocks every request of the worker.*allow_blocking_credential_process = true", r.message)
      assert.is_true(r.elapsed < 1)
      assert.is_nil(io.open(home .. "/ran"))
    end)

    it("runs when the client opts in, and is killed at the deadline", function()
      local json = string.format('{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}',
        H.creds.static.access_key_id, H.creds.static.secret_access_key)
      H.write(home .. "/creds.json", json)
      local r = get(config("cat " .. home .. "/creds.json") .. "&allow=1")
      assert.is_string(r.id, r.message)
      assert.are.equal(H.creds.static.access_key_id, H.messages()[1].access_key_id)
      H.write(home .. "/slow", "#!/bin/sh\necho $$ > " .. home .. "/pid\nexec sleep 20\n")
      r = get(config("sh " .. home .. "/slow") .. "&allow=1&d=1")
      assert.are.equal("TimeoutError", r.code, r.message)
      assert.matches("did not finish within", r.message)
      assert.is_true(r.elapsed < 3, "took " .. r.elapsed .. " s")
      assert.are.equal("hello", select(2, probe:request("GET", nginx.url .. "/hello"))) -- the worker goes on
    end)
  end)
end)

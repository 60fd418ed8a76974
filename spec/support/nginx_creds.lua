-- Locations of the nginx that spec/credentials_nginx_spec.lua starts: sends
-- whose credentials come from hostile sources, seen from inside a worker.
-- luacheck: std min+ngx_lua
local resty = require "whatsapp.transport.resty"
local whatsapp = require "whatsapp"

local _M = {}

local function say(value)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(whatsapp.encode(value))
end

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- A new client whose credentials come from the container endpoint of
-- credsrv (or, with config, from that AWS config file's default profile).
local function new_client(opts, config)
  local vars = {
    AWS_EC2_METADATA_DISABLED = "true", AWS_REGION = "us-east-1", HOME = "/nonexistent",
    AWS_ENDPOINT_URL_SOCIALMESSAGING = os.getenv("AWS_ENDPOINT_URL_SOCIALMESSAGING"),
    WHATSAPP_PHONE_NUMBER_ID = os.getenv("WHATSAPP_PHONE_NUMBER_ID"),
  }
  if config then
    vars.AWS_CONFIG_FILE = config
  else
    vars.AWS_CONTAINER_CREDENTIALS_FULL_URI = os.getenv("WA_CREDSRV") .. "/container/credentials"
  end
  opts.max_attempts = 1
  return assert(whatsapp.new(opts, { getenv = function(name) return vars[name] end }))
end

local function outcome(id, err, t0)
  return { id = id or whatsapp.null, code = err and err.code or whatsapp.null,
    message = err and err.message or whatsapp.null, elapsed = now() - t0 }
end

-- Tells credsrv's container endpoint to answer at once again.
local function container_ok()
  local status = resty.http {}("POST", os.getenv("WA_CREDSRV") .. "/_creds/set",
    { ["Content-Type"] = "application/json" }, '{"container": {"mode": "ok"}}', 2)
  assert(status == 200, "credsrv control failed")
end

--- /deadline?d=S: one send with deadline S from a new client.
function _M.deadline()
  local c = new_client {}
  local t0 = now()
  local id, err = c:send(text("deadline"), { deadline = tonumber(ngx.var.arg_d) })
  say(outcome(id, err, t0))
end

--- /killed: a light thread fetching credentials (from an endpoint that
-- hangs) is killed; a send of this request afterwards must not wait for it.
function _M.killed()
  local c = new_client {}
  local holder = ngx.thread.spawn(function() return c:send(text("never")) end)
  ngx.sleep(0.3)
  assert(ngx.thread.kill(holder))
  container_ok()
  local t0 = now()
  local id, err = c:send(text("after the kill"))
  say(outcome(id, err, t0))
end

local across
--- /killed-across?step=1: as /killed, the thread killed in this request;
-- step=2: the next request's send with the same client.
function _M.killed_across()
  if ngx.var.arg_step == "1" then
    across = new_client {}
    local holder = ngx.thread.spawn(function() return across:send(text("never")) end)
    ngx.sleep(0.3)
    assert(ngx.thread.kill(holder))
    return say { killed = true }
  end
  local t0 = now()
  local id, err = across:send(text("after the kill"))
  say(outcome(id, err, t0))
end

--- /process?config=PATH[&allow=1][&d=S]: a send whose credentials come
-- from the credential_process of that config file.
function _M.process()
  local c = new_client({ allow_blocking_credential_process = ngx.var.arg_allow == "1" or nil },
    ngx.unescape_uri(ngx.var.arg_config))
  local t0 = now()
  local id, err = c:send(text("process"), { deadline = tonumber(ngx.var.arg_d) })
  say(outcome(id, err, t0))
end

return _M

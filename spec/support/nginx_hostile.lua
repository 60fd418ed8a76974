-- luacheck: std min+ngx_lua
-- Locations of the nginx that spec/resty_hostile_spec.lua starts: sends and
-- plain requests from inside a worker to the hostile server
-- (spec/support/hostile.py, at WA_HOSTILE), answered as JSON with what came
-- back, how long it took, and the worker's pid and peak memory.
local whatsapp = require "whatsapp"
local resty = require "whatsapp.transport.resty"

local _M = {}
local null = whatsapp.null

local function say(value)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(whatsapp.encode(value))
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- the worker's resident and peak resident memory, in KiB
local function memory()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")), tonumber(s:match("VmHWM:%s*(%d+)"))
end

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

local function client(mode, timeout)
  return assert(whatsapp.new {
    endpoint = os.getenv("WA_HOSTILE") .. "/" .. mode, region = "us-east-1",
    phone_number_id = os.getenv("WHATSAPP_PHONE_NUMBER_ID"),
    credentials = { access_key_id = os.getenv("AWS_ACCESS_KEY_ID"),
      secret_access_key = os.getenv("AWS_SECRET_ACCESS_KEY") },
    max_attempts = 1, timeout = timeout or 10,
  })
end

-- a send's outcome, timed, with the worker's pid and memory
local function outcome(fn)
  local _, hwm0 = memory()
  local t0 = now()
  local id, err = fn()
  local elapsed = now() - t0
  local rss, hwm = memory()
  return { id = id or null, code = err and err.code or null, message = err and err.message or null,
    elapsed = elapsed, pid = ngx.worker.pid(), rss_kb = rss, hwm_kb = hwm, hwm_growth_kb = hwm - hwm0 }
end

--- /h/send?mode=M[&timeout=seconds]: one send to the hostile server's mode M.
function _M.send()
  local args = ngx.req.get_uri_args()
  local c = client(args.mode, tonumber(args.timeout))
  say(outcome(function() return c:send(text("hostile " .. args.mode)) end))
end

--- /h/sequence?n=N: N sends one after the other on one client (mode interim).
function _M.sequence()
  local c = client("interim")
  local out = {}
  for i = 1, tonumber(ngx.var.arg_n) or 5 do
    local id, err = c:send(text("seq-" .. i))
    out[i] = id or (err.code .. ": " .. err.message)
  end
  say { results = out, stats = c:stats() }
end

--- /h/batch?n=N&concurrency=C: send_batch through the mode interim.
function _M.batch()
  local c = client("interim")
  local messages = {}
  for i = 1, tonumber(ngx.var.arg_n) or 16 do messages[i] = text("batch-" .. i) end
  local results, failed = c:send_batch(messages, { concurrency = tonumber(ngx.var.arg_concurrency) or 4 })
  if not results then return say { err = tostring(failed) } end
  local out = {}
  for i, r in ipairs(results) do out[i] = r.message_id or (r.err.code .. ": " .. r.err.message) end
  say { results = out, failed = failed, stats = c:stats() }
end

--- /h/http?url=U[&method=M][&via=transport]: a plain request through the
-- credential providers' http (resty.http), or a transport's request.
function _M.http()
  local args = ngx.req.get_uri_args()
  local t0 = now()
  local status, body, third
  if args.via == "transport" then
    local t = resty.new { url = os.getenv("WA_HOSTILE") .. "/ok", host = "x", path = "/", region = "none",
      service = "none", max_message_bytes = 0, connect_timeout_ms = 5000, timeout_ms = 5000 }
    status, body, third = t:request(args.method or "GET", args.url)
    t:close()
  else
    status, body, third = resty.http {}(args.method or "GET", args.url, nil, nil, tonumber(args.timeout) or 5)
  end
  say { status = status or null, body = status and body or null, kind = not status and body or null,
    message = not status and third or null, elapsed = now() - t0, pid = ngx.worker.pid() }
end

--- /h/creds?source=imds|container&url=U: a send whose credentials come from
-- the instance metadata service at U, or the container endpoint U.
function _M.creds()
  local args = ngx.req.get_uri_args()
  local vars = {
    AWS_REGION = "us-east-1", AWS_ENDPOINT_URL_SOCIALMESSAGING = os.getenv("WA_HOSTILE") .. "/ok",
    WHATSAPP_PHONE_NUMBER_ID = os.getenv("WHATSAPP_PHONE_NUMBER_ID"),
  }
  if args.source == "imds" then
    vars.AWS_EC2_METADATA_SERVICE_ENDPOINT = args.url
  else
    vars.AWS_CONTAINER_CREDENTIALS_FULL_URI = args.url
    vars.AWS_EC2_METADATA_DISABLED = "true"
  end
  local c = assert(whatsapp.new({ max_attempts = 1 }, { getenv = function(name) return vars[name] end }))
  say(outcome(function() return c:send(text("with hostile credentials")) end))
end

function _M.pid()
  say { pid = ngx.worker.pid() }
end

return _M

-- Workers of the nginx that spec/rate_spec.lua starts. /go stores a run's
-- settings in a shared dict; every worker (polling it from init_worker)
-- then sends its share from a timer, through a client whose `rate` is kept
-- by a shared limiter, and counts the outcomes under the run's tag.
local whatsapp = require "whatsapp"
local resp = require "resp"

local _M = {}

local CREDS = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" }
local PHONE = "phone-number-id-0123456789abcdef0123456789abcdef"

local function limiter_of(kind)
  if kind == "dict" then return "wa_rate" end
  local port = assert(tonumber(os.getenv("WA_REDIS_PORT")))
  return { redis = function() return resp.connect("127.0.0.1", port) end, prefix = "spec:" }
end

local function run(premature, a)
  if premature then return end
  local dict = ngx.shared.wa_results
  local c, err = whatsapp.new {
    region = "us-east-1", endpoint = os.getenv("WA_STANDIN_HTTP"), credentials = CREDS, phone_number_id = PHONE,
    rate = tonumber(a.rate), rate_limiter = limiter_of(a.limiter), rate_limiter_fallback = a.fallback,
    max_attempts = 1,
  }
  if not c then
    dict:incr(a.tag .. ":new:" .. tostring(err), 1, 0)
  else
    local msgs = {}
    for i = 1, tonumber(a.n) do
      msgs[i] = { to = "+14255550123", type = "text", text = { body = a.tag .. " w" .. ngx.worker.id() .. " " .. i } }
    end
    local results = c:send_batch(msgs, { concurrency = 4 })
    for _, r in ipairs(results) do
      dict:incr(a.tag .. ":" .. (r.message_id and "ok" or r.err.code), 1, 0)
    end
  end
  dict:incr(a.tag .. ":done", 1, 0)
end

--- init_worker: start a run whenever /go stores new settings.
function _M.init_worker()
  local seen
  ngx.timer.every(0.02, function(premature)
    if premature then return end
    local args = ngx.shared.wa_results:get("go")
    if args and args ~= seen then
      seen = args
      ngx.timer.at(0, run, ngx.decode_args(args))
    end
  end)
end

--- /go?tag=&n=&rate=&limiter=redis|dict[&fallback=local]
function _M.go()
  ngx.shared.wa_results:set("go", ngx.var.args)
  ngx.say("ok")
end

--- /results?tag=: {outcome = count} of the run (done: workers finished).
function _M.results()
  local dict, out, prefix = ngx.shared.wa_results, {}, ngx.var.arg_tag .. ":"
  for _, k in ipairs(dict:get_keys(0)) do
    if k:sub(1, #prefix) == prefix then out[k:sub(#prefix + 1)] = dict:get(k) end
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(whatsapp.encode(out))
end

return _M

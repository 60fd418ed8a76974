-- This module's side of make bench (bench/run.sh runs it once per workload):
--   module.lua seq URL N [CA]            N sequential client:send of a text message
--   module.lua batch URL N INFLIGHT [CA] one client:send_batch of N texts, INFLIGHT at a time
--   module.lua big REPS                  encode + sign a 2,000,000-byte message REPS times
--   module.lua rss URL N                 resident memory across N sends after a warm-up
-- Prints one line "n=<count> wall=<s> cpu=<s>" (cpu: this process's user+sys
-- time, os.clock, for the measured part only); rss adds rss0= max= last= (KiB).
local whatsapp = require "whatsapp"
local core = require "whatsapp.core"

local PHONE = "phone-number-id-0123456789abcdef0123456789abcdef"
local CREDS = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" }

local mode = arg[1]

local function client(url, ca)
  return assert(whatsapp.new { region = "us-east-1", endpoint = url, ca_file = ca, phone_number_id = PHONE,
    credentials = CREDS, max_attempts = 1 })
end

local function report(n, t0, c0, extra)
  print(string.format("n=%d wall=%.6f cpu=%.6f%s", n, core.monotonic() - t0, os.clock() - c0, extra or ""))
end

local function rss_kib()
  local f = assert(io.open("/proc/self/statm"))
  local pages = tonumber(f:read("*l"):match("^%d+%s+(%d+)"))
  f:close()
  return pages * 4
end

if mode == "seq" then
  local url, n, ca = arg[2], tonumber(arg[3]), arg[4]
  local c = client(url, ca)
  assert(c:send { to = "+14255550123", type = "text", text = { body = "warm up" } })
  local t0, c0 = core.monotonic(), os.clock()
  for i = 1, n do
    local id, err = c:send { to = "+14255550123", type = "text", text = { body = "benchmark" } }
    if not id then error("send " .. i .. " failed: " .. tostring(err)) end
  end
  report(n, t0, c0)
elseif mode == "batch" then
  local url, n, inflight, ca = arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5]
  local c = client(url, ca)
  local messages = {}
  for i = 1, n do messages[i] = { to = "+14255550123", type = "text", text = { body = "benchmark" } } end
  local warm = {}
  for i = 1, inflight do warm[i] = messages[i] end
  assert(c:send_batch(warm, { concurrency = inflight })) -- connections made outside the measure
  local t0, c0 = core.monotonic(), os.clock()
  local results, failed = c:send_batch(messages, { concurrency = inflight })
  if failed ~= 0 then
    for i = 1, n do
      if results[i].err then error("message " .. i .. " failed: " .. tostring(results[i].err)) end
    end
  end
  report(n, t0, c0)
elseif mode == "big" then
  local reps = tonumber(arg[2])
  -- a text message whose JSON is exactly 2,000,000 bytes (validation would
  -- refuse a body this long: this measures the encoder and the signer)
  local head = '{"messaging_product":"whatsapp","text":{"body":"'
  local tail = '"},"to":"+14255550123","type":"text"}'
  local len = 2000000 - #head - #tail
  local unit = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "
  local msg = { to = "+14255550123", type = "text", text = { body = unit:rep(math.ceil(len / #unit)):sub(1, len) } }
  assert(#core.encode(msg, "whatsapp") == 2000000)
  -- the core's own signing client: prepare() encodes, base64s, hashes and
  -- signs as send does, and hands the request over as one string
  local c = core.new_client { url = "http://127.0.0.1:9/v1/whatsapp/send", path = "/v1/whatsapp/send",
    host = "127.0.0.1:9", region = "us-east-1", service = "social-messaging", connect_timeout_ms = 1000,
    timeout_ms = 1000, max_message_bytes = 2048000, product = "whatsapp" }
  local function build()
    return c:prepare(msg, PHONE, "v20.0", CREDS)
  end
  assert(#build() > 2666000)
  local t0, c0 = core.monotonic(), os.clock()
  for _ = 1, reps do build() end
  report(reps, t0, c0)
elseif mode == "rss" then
  local url, n = arg[2], tonumber(arg[3])
  local c = client(url)
  local function send()
    local id, err = c:send { to = "+14255550123", type = "text", text = { body = "benchmark" } }
    if not id then error(tostring(err)) end
  end
  for _ = 1, 20000 do send() end -- warm-up: buffers, the GC's pace
  local rss0 = rss_kib()
  local max, step = rss0, math.max(1, math.floor(n / 50))
  local t0, c0 = core.monotonic(), os.clock()
  for i = 1, n do
    send()
    if i % step == 0 then
      local r = rss_kib()
      if r > max then max = r end
    end
  end
  report(n, t0, c0, string.format(" rss0=%d max=%d last=%d", rss0, max, rss_kib()))
else
  error("usage: module.lua seq URL N [CA] | batch URL N INFLIGHT [CA] | big REPS | rss URL N")
end

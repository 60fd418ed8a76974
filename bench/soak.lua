-- N sends through one client to the stand-in's HTTP port with flat memory
-- (bench/soak.sh runs it, `make soak` runs that). Resident memory
-- (/proc/self/statm) and Lua memory (collectgarbage("count")) are sampled
-- after a warm-up (buffers, caches and allocator arenas grown) and then every
-- tenth of the run; it fails when RSS at the end is more than 1 MiB above
-- RSS after the warm-up, or when a send fails.
--   <runtime> bench/soak.lua [N [warm-up]]   (WA_STANDIN_HTTP must be set)
local whatsapp = require "whatsapp"
local core = require "whatsapp.core"

local n = tonumber(arg[1]) or 100000
local warmup = tonumber(arg[2]) or math.min(10000, math.floor(n / 10))
local LIMIT = 1024 * 1024 -- bytes of RSS growth allowed after the warm-up

local http = assert(os.getenv("WA_STANDIN_HTTP"), "run through bench/soak.sh")
local client = assert(whatsapp.new {
  region = "us-east-1",
  endpoint = http,
  phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef",
  credentials = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" },
})
-- the stand-in keeps every message it accepts: clear it now and then so its
-- memory, not ours, does not grow (same control client all run long)
local control = core.new_client { connect_timeout_ms = 5000, timeout_ms = 60000,
}
local function reset_standin()
  local status = control:request("POST", http .. "/_standin/reset", { ["Content-Type"] = "application/json" }, "{}")
  assert(status == 200, "stand-in reset failed")
end

local page = 4096
do
  local p = io.popen("getconf PAGESIZE")
  if p then
    page = tonumber(p:read("*l")) or page
    p:close()
  end
end

local function rss()
  local f = assert(io.open("/proc/self/statm", "r"))
  local resident = f:read("*l"):match("^%d+%s+(%d+)")
  f:close()
  return tonumber(resident) * page
end

local function sample()
  collectgarbage()
  collectgarbage()
  return rss(), collectgarbage("count")
end

local function mib(bytes) return bytes / 1048576 end

local every = math.max(1, math.floor((n - warmup) / 10)) -- samples after the warm-up
local clock = core.monotonic
local started = clock()
local base_rss, base_lua
for i = 1, n do
  -- a different body every time: the encoder, the buffers and the collector all work
  local id, err = client:send { to = "+14255550123", type = "text", text = { body = "soak message " .. i } }
  if not id then error("send " .. i .. " failed: " .. tostring(err), 0) end
  if i % 10000 == 0 then reset_standin() end
  if i == warmup then
    base_rss, base_lua = sample()
    print(string.format("after %d warm-up sends: RSS %.2f MiB, Lua %.0f KiB", i, mib(base_rss), base_lua))
  elseif i > warmup and (i - warmup) % every == 0 then
    local r, l = sample()
    print(string.format("after %d sends: RSS %.2f MiB (%+.0f KiB), Lua %.0f KiB", i, mib(r), (r - base_rss) / 1024, l))
  end
end
local elapsed = clock() - started
local end_rss, end_lua = sample()
local grew = end_rss - base_rss
print(string.format("%s: %d sends in %.1f s (%.0f/s); RSS after warm-up %.2f MiB, at the end %.2f MiB "
  .. "(%+.0f KiB); Lua %.0f -> %.0f KiB; %d requests on the client", jit and jit.version or _VERSION, n, elapsed,
  n / elapsed, mib(base_rss), mib(end_rss), grew / 1024, base_lua, end_lua, client:stats().requests))
client:close()
control:close()
if grew > LIMIT then
  print(string.format("FAIL: RSS grew by %.0f KiB after the warm-up (limit %d KiB)", grew / 1024, LIMIT / 1024))
  os.exit(1)
end

-- N sequential text sends to the stand-in's HTTP port (bench/standin.sh runs it).
-- Prints sends/s and this process's CPU microseconds per send.
local whatsapp = require "whatsapp"

local n = tonumber(arg[1]) or 10000
local client = assert(whatsapp.new {
  region = "us-east-1",
  endpoint = assert(os.getenv("WA_STANDIN_HTTP"), "run through bench/standin.sh"),
  phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef",
  credentials = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" },
})
local msg = { to = "+14255550123", type = "text", text = { body = "benchmark" } }

assert(client:send(msg)) -- warm up: connect once
local clock = os.clock()
local t0 = io.popen("date +%s.%N"):read("*l")
for i = 1, n do
  local id, err = client:send(msg)
  if not id then error("send " .. i .. " failed: " .. tostring(err)) end
end
local t1 = io.popen("date +%s.%N"):read("*l")
local elapsed = tonumber(t1) - tonumber(t0)
local cpu = os.clock() - clock
print(string.format("whatsapp (%s): %d sends in %.2f s = %.0f sends/s, %.0f us client CPU per send",
  jit and jit.version or _VERSION, n, elapsed, n / elapsed, cpu / n * 1e6))

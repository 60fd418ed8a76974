-- The plain Lua process of spec/rate_spec.lua: sends N texts for one number
-- through a client whose rate is kept in Redis, with redis-lua (Debian's
-- lua-redis) as the connection, and writes {outcome = count} to a file.
--   rate_sender.lua STANDIN_URL REDIS_PORT N RATE TAG OUT [FALLBACK]
package.path = package.path .. ";/usr/share/lua/5.1/?.lua" -- lua-redis installs for 5.1 (5.2, 5.3 link to it)
local redis = require "redis"
local whatsapp = require "whatsapp"

local url, port, n, rate, tag, out, fallback = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]),
  arg[5], arg[6], arg[7]
local conn
local c = assert(whatsapp.new {
  region = "us-east-1", endpoint = url, phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef",
  credentials = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" },
  max_attempts = 1, rate = rate, rate_limiter_fallback = fallback,
  rate_limiter = { prefix = "spec:", redis = function()
    if not conn then conn = redis.connect("127.0.0.1", port) end -- raises when Redis is down
    return conn
  end },
})
local msgs = {}
for i = 1, n do msgs[i] = { to = "+14255550123", type = "text", text = { body = tag .. " plain " .. i } } end
local results = assert(c:send_batch(msgs, { concurrency = 4 }))
local counts = {}
for _, r in ipairs(results) do
  local k = r.message_id and "ok" or r.err.code
  counts[k] = (counts[k] or 0) + 1
end
local f = assert(io.open(out .. ".tmp", "wb"))
f:write(whatsapp.encode(counts))
f:close()
assert(os.rename(out .. ".tmp", out))

--- A limiter in Redis: one pace per key for every process and host that
-- uses the same server (nginx workers, plain Lua). One script, run
-- atomically by the server with the server's clock (so hosts whose clocks
-- differ still share one pace): GCRA, the key holding the time in
-- microseconds when its next turn is free.
local M = {}

local Redis = {}
Redis.__index = Redis
Redis.kind = "redis"

-- KEYS[1]: the key; ARGV[1]: the interval in microseconds.
-- -> microseconds to wait before the turn that was taken
M.SCRIPT = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = tat > now and tat or now
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', start + interval), 'PX',
  math.floor((start + interval - now) / 1000) + 1000)
return start - now
]]

--- opts: redis (function() -> connection | nil, err: a connection with the
-- API of lua-resty-redis or redis-lua: eval, and set_keepalive or close),
-- prefix (default "whatsapp:rate:"), keepalive ({timeout_ms, pool_size}
-- for set_keepalive; default 60000, 32).
function M.new(opts)
  return setmetatable({ connect = opts.redis, prefix = opts.prefix or "whatsapp:rate:",
    keepalive = opts.keepalive or { 60000, 32 } }, Redis)
end

-- Gives the connection back: to its pool (lua-resty-redis), or closed when
-- it failed; a connection without set_keepalive stays the caller's (redis-lua
-- clients are kept by the function that hands them out).
local function release(self, conn, broken)
  if broken then
    if type(conn.close) == "function" then pcall(conn.close, conn) end
  elseif type(conn.set_keepalive) == "function" then
    pcall(conn.set_keepalive, conn, self.keepalive[1], self.keepalive[2])
  end
end

--- See rate/memory.lua. -> seconds to wait | nil, why
function Redis:reserve(key, interval)
  local fine, conn, cerr = pcall(self.connect)
  if not fine or not conn then
    return nil, "Redis: no connection: " .. tostring(fine and cerr or conn)
  end
  local ok, res, err = pcall(conn.eval, conn, M.SCRIPT, 1, self.prefix .. key, string.format("%.0f", interval * 1e6))
  local wait = ok and tonumber(res)
  if not wait then
    release(self, conn, true)
    return nil, "Redis: " .. tostring(ok and (err or res) or res)
  end
  release(self, conn, false)
  return wait / 1e6
end

return M

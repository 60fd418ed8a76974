--- A limiter in an nginx lua_shared_dict: one pace per key for every worker
-- of one nginx. The dict keeps each key's tat (see rate/memory.lua) in
-- seconds of ngx.now(); a reservation reads and moves it under a lock (an
-- add() of a lock key with a short expiry, so a worker that dies holding it
-- cannot block the others), with no yield while it is held.
local M = {}

local Dict = {}
Dict.__index = Dict
Dict.kind = "shared_dict"

local LOCK_TTL = 1        -- seconds: a lock left by a dead worker expires (a live one holds it for microseconds)
local MAX_SPINS = 2000    -- 1 ms each: two seconds of contention at most

--- name: the lua_shared_dict's name. -> limiter | nil, why
function M.new(name, prefix)
  local ngx = rawget(_G, "ngx")
  local dict = ngx and ngx.shared and ngx.shared[name]
  if not dict then
    return nil, "no lua_shared_dict named " .. string.format("%q", name)
      .. (ngx and ngx.shared and " in this nginx" or " (this Lua is not running inside nginx)")
  end
  return setmetatable({ dict = dict, prefix = prefix or "whatsapp:rate:", ngx = ngx }, Dict)
end

--- See rate/memory.lua. -> seconds to wait | nil, why
function Dict:reserve(key, interval)
  local dict, ngx = self.dict, self.ngx
  local k = self.prefix .. key
  local lock = k .. ":lock"
  for _ = 1, MAX_SPINS do
    local ok, err = dict:add(lock, true, LOCK_TTL)
    if ok then
      ngx.update_time()
      local now = ngx.now()
      local tat = dict:get(k)
      local start = (tat and tat > now) and tat or now
      local stored, serr = dict:set(k, start + interval, start + interval - now + 1)
      dict:delete(lock)
      if not stored then return nil, "lua_shared_dict: " .. tostring(serr) end
      return start - now
    elseif err ~= "exists" then
      return nil, "lua_shared_dict: " .. tostring(err)
    end
    ngx.sleep(0.001)
  end
  return nil, "lua_shared_dict: the lock of " .. k .. " stayed taken for two seconds"
end

return M

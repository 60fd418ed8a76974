--- The in-process limiter (the default): one pace per key within this Lua
-- state. GCRA: each key keeps the time its next turn is free (tat); a
-- reservation takes the turn at max(tat, now) and moves tat on by the
-- interval.
local core = require "whatsapp.core"

local monotonic = core.monotonic

local M = {}

local Memory = {}
Memory.__index = Memory
Memory.kind = "memory"

function M.new()
  return setmetatable({ tat = {} }, Memory)
end

--- Takes the next turn of key (interval: seconds between turns). -> the
-- seconds to wait before the turn (0: now).
function Memory:reserve(key, interval)
  local now = monotonic()
  local tat = self.tat[key]
  local start = (tat and tat > now) and tat or now
  self.tat[key] = start + interval
  return start - now
end

--- The seconds until key's next turn is free, without taking it.
function Memory:peek(key)
  local tat = self.tat[key]
  local now = monotonic()
  return (tat and tat > now) and tat - now or 0
end

return M

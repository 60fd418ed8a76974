--- Rate limiters: one pace per origination phone number. The client's
-- `rate` (attempts per second per number, for every send, batch and call)
-- and send_batch's own `rate` take their turns from one limiter:
--   nil (default)                     in this process (rate/memory.lua)
--   "name"                            a lua_shared_dict: every worker of one nginx (rate/shared_dict.lua)
--   { redis = function, prefix = }    Redis: several hosts and plain Lua processes (rate/redis.lua)
-- A limiter's reserve(key, interval) takes the key's next turn and returns
-- the seconds to wait for it, or nil and why it could not (then the send
-- fails with RateLimiterError, or, with rate_limiter_fallback = "local",
-- the process paces on its own and says so once in the log).
local errors = require "whatsapp.errors"
local memory = require "whatsapp.rate.memory"

local M = {}

--- The limiter of a client's settings. spec: the rate_limiter option.
-- -> limiter | nil, err (a ParamValidationError naming the option)
function M.new(spec, fallback)
  local limiter, why
  if spec == nil then
    return memory.new()
  elseif type(spec) == "string" then
    limiter, why = require("whatsapp.rate.shared_dict").new(spec)
    if not limiter then return nil, errors.validation("rate_limiter", why) end
  else
    if type(spec.redis) ~= "function" then
      return nil, errors.validation("rate_limiter", "must be a lua_shared_dict name or { redis = function, "
        .. "prefix = string }: redis must be a function returning a connection")
    end
    if spec.prefix ~= nil and type(spec.prefix) ~= "string" then
      return nil, errors.validation("rate_limiter.prefix", "must be a string")
    end
    limiter = require("whatsapp.rate.redis").new(spec)
  end
  if fallback == "local" then
    return M.with_fallback(limiter)
  end
  return limiter
end

-- Logs once that the shared limiter failed and this process paces alone.
local function say_once(state, why)
  if state.said then return end
  state.said = true
  local text = "whatsapp: the shared rate limiter failed (" .. why .. "); this process now paces on its own "
    .. "(rate_limiter_fallback = \"local\"): the rate per number is no longer shared"
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.log then ngx.log(ngx.WARN, text) else io.stderr:write(text, "\n") end
end

--- limiter, falling back to an in-process one whenever it fails.
function M.with_fallback(limiter)
  local local_limiter, state = memory.new(), {}
  return {
    kind = limiter.kind,
    reserve = function(_, key, interval)
      local wait, why = limiter:reserve(key, interval)
      if wait then return wait end
      say_once(state, why)
      return local_limiter:reserve(key, interval)
    end,
  }
end

--- The error of a failed reservation.
function M.error(why)
  return errors.new { code = "RateLimiterError", message = "cannot take a turn of the rate limiter: " .. why,
    retryable = false }
end

return M

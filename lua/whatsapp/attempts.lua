--- The attempts of a call, in one object: credentials for each attempt, the
-- clock offset to sign with (learned from the answers' Date), the deadline
-- and the time each attempt may take under it, the retry quota, backoff
-- (retry.lua: the standard mode), the one clock-skew retry, the pace of an
-- origination number and the on_retry hook. client:send, send_batch (over
-- libcurl and inside nginx) and the model-driven calls all go through it.
--
--   local policy = attempts.new { ... }         -- one per client
--   policy:run(deadline, key, interval, max_attempts, once, a, b, c)  -- a whole call, or, step by step
--   local call = policy:begin(deadline, key, interval, max_attempts)  -- (send_batch keeps many in flight):
--   call:start()                -> true | nil, err   before each attempt
--   ... the attempt, signed with call.creds and call.offset, within call.limit_ms ...
--   policy:learn_clock(date)                     -- an answer's Date header
--   call:succeeded()                             -- or
--   call:failed(err, retry_after) -> delay | nil -- nil: err is the call's answer
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local rate = require "whatsapp.rate"
local retry = require "whatsapp.retry"

local monotonic, random = core.monotonic, core.random

local M = {}

local Policy = {}
Policy.__index = Policy

local Call = {}
Call.__index = Call

-- Calls kept for reuse once over (a send allocates no table of its own).
local MAX_SPARE = 64

--- settings: retry (a table whose max_attempts, backoff (retry.lua's) and
-- on_retry (function(err, attempts, delay) or nil) are read at each
-- failure: the client, so that changing those fields of a client takes
-- effect), quota (retry.new_quota or nil), sleep
-- (function(seconds)), credentials (function(limit) -> creds | nil, err;
-- limit: seconds the fetch may take, nil for no deadline), rate (attempts
-- per second per origination number, or nil), limiter (whatsapp.rate's:
-- where the turns are kept).
function M.new(settings)
  return setmetatable({
    interval = settings.rate and 1 / settings.rate or nil,
    limiter = settings.limiter,
    retry = settings.retry,
    quota = settings.quota,
    sleep = settings.sleep,
    credentials = settings.credentials,
    clock_offset = 0, -- seconds to add to our clock when signing (learned from answers)
    spare = {}, n_spare = 0,
  }, Policy)
end

--- Learns the service's clock from an answer's Date header. The header is
-- parsed once per value (it changes once a second).
function Policy:learn_clock(date)
  if date ~= self.date_header then
    self.date_header, self.date_value = date, retry.parse_http_date(date)
  end
  self.clock_offset = retry.learn_offset(self.clock_offset, os.time(), self.date_value)
end

--- A new call: deadline (seconds for all its attempts, nil for none) from
-- now. The call's fields the attempt reads after start(): creds, offset
-- (the clock offset to sign with), limit_ms and dl ({deadline=, left=},
-- for the words of a failure) when a deadline limits the attempt.
-- key (optional): the origination phone number id whose pace each attempt
-- keeps, at interval seconds between attempts (else the client's rate; no
-- pace without either). max_attempts: this call's (else the client's).
function Policy:begin(deadline, key, interval, max_attempts)
  local call
  local n = self.n_spare
  if n > 0 then
    call = self.spare[n]
    self.spare[n] = nil
    self.n_spare = n - 1
  else
    call = setmetatable({ policy = self }, Call)
  end
  call.deadline, call.started, call.turn = deadline, deadline and monotonic(), nil
  call.key, call.interval = key, key and (interval or self.interval)
  call.max_attempts = max_attempts -- nil: the client's
  call.tries, call.cost, call.skewed = 0, 0, false
  call.creds, call.offset, call.limit_ms, call.dl = nil, nil, nil, nil
  return call
end

local function release(call)
  local p = call.policy
  if p.n_spare < MAX_SPARE then
    call.creds, call.dl, call.item = nil, nil, nil
    p.n_spare = p.n_spare + 1
    p.spare[p.n_spare] = call
  end
end

--- Seconds the deadline leaves (nil: no deadline).
function Call:left()
  return self.deadline and self.deadline - (monotonic() - self.started)
end

-- err, or a copy of it when shared (one credentials failure for several calls), with attempts set.
local function own(err, shared, attempts)
  if shared then
    local copy = {}
    for k, v in pairs(err) do copy[k] = v end
    err = setmetatable(copy, getmetatable(err))
  end
  err.attempts = attempts
  return err
end

--- How late an attempt may start after its turn, in intervals: a process
-- that wakes later than this (it was not scheduled in time) takes a new turn
-- rather than crowd the next ones, so no second sees more than rate + 1.25
-- attempts start; after M.MAX_RETAKES late wakes it goes anyway.
M.LATE = 0.25
M.MAX_RETAKES = 8

-- Waits for the call's turn of its number's pace. -> true | nil, err
local function take_turn(self)
  local p = self.policy
  for _ = 1, M.MAX_RETAKES do
    local wait, why = p.limiter:reserve(self.key, self.interval)
    if not wait then return nil, rate.error(why) end
    -- the turn is at least wait from now (the limiter's clock read it before answering)
    local at = monotonic() + wait
    local left = self:left()
    if left and wait >= left then
      return nil, errors.transport("connect_timeout", string.format("the deadline (%gs) would pass waiting %.3fs "
        .. "for a turn of the rate of %s; nothing was sent", self.deadline, wait, self.key))
    end
    if wait > 0 then p.sleep(wait) end
    if monotonic() - at <= self.interval * M.LATE then return true end
  end
  return true
end

--- Before each attempt: the credentials (fetched in the time the deadline
-- leaves; or creds / cerr as fetched once for several calls), a turn of
-- the pace, the time the attempt may take. -> true, or nil and the call's
-- answer (err.attempts set): then the call is over.
function Call:start(creds, cerr)
  local shared = creds ~= nil or cerr ~= nil
  if not shared then creds, cerr = self.policy.credentials(self:left()) end
  if not creds then
    release(self)
    return nil, own(cerr, shared, self.tries)
  end
  if self.interval then
    local ok, err = take_turn(self)
    if not ok then
      release(self)
      return nil, own(err, false, self.tries)
    end
  end
  local deadline = self.deadline
  if deadline then
    local left = deadline - (monotonic() - self.started)
    if left <= 0.001 then
      release(self)
      return nil, own(errors.transport("connect_timeout", string.format(
        "the deadline (%gs) passed before the request was sent; nothing was sent", deadline)), false, self.tries)
    end
    self.limit_ms, self.dl = math.ceil(left * 1000), { deadline = deadline, left = left }
  end
  self.tries = self.tries + 1
  -- the offset is read now: in OpenResty another call may learn a new one
  -- while this one waits for its answer
  self.creds, self.offset = creds, self.policy.clock_offset
  return true
end

--- The attempt had its answer: the retry quota gets back what the call's
-- last retry took. The call is over.
function Call:succeeded()
  local quota = self.policy.quota
  if quota and (self.cost > 0 or quota.tokens < quota.capacity) then retry.succeeded(quota, self.cost) end
  release(self)
end

-- Whether the skew retry applies: our clock was off by minutes, the service
-- said so, and the offset has been learned since this attempt was signed.
local function skew_retry(self, err)
  return not self.skewed and retry.is_skew_code(err.code) and self.policy.clock_offset ~= self.offset
end

--- The attempt failed with err (retry_after: the answer's x-amz-retry-after).
-- -> the seconds to wait before the next attempt, or nil when err is the
-- call's answer (err.attempts and err.message settled; the call is over).
-- An on_retry hook that raises raises here, its retry's tokens given back.
function Call:failed(err, retry_after)
  local p, tries = self.policy, self.tries
  if err.code == "ParamValidationError" or err.code == "TransportUnavailable" then -- this attempt sent nothing
    err.attempts = tries - 1
    release(self)
    return nil
  end
  err.attempts = tries
  local cost, delay = 0, 0
  if skew_retry(self, err) then
    -- the same request, signed with the service's time, is retried at once
    -- (once per call, outside the quota)
    self.skewed = true
  else
    local class = retry.class(err)
    if not class or tries >= (self.max_attempts or p.retry.max_attempts) then
      release(self)
      return nil
    end
    cost = retry.take(p.quota, class)
    if not cost then
      err.message = err.message .. " (not retried: the client's retry quota is spent)"
      release(self)
      return nil
    end
    delay = retry.delay(tries, class, p.retry.backoff, random, retry.retry_after_seconds(retry_after))
    local deadline = self.deadline
    if deadline and monotonic() - self.started + delay >= deadline then
      retry.succeeded(p.quota, cost) -- give back what was not used
      err.message = string.format("%s (not retried: the deadline of %gs would pass)", err.message, deadline)
      release(self)
      return nil
    end
  end
  local on_retry = p.retry.on_retry
  if on_retry then
    local fine, hook_err = pcall(on_retry, err, tries, delay)
    if not fine then -- a programming error: raise it, without keeping the retry's tokens
      if cost > 0 then retry.succeeded(p.quota, cost) end
      error(hook_err, 0)
    end
  end
  self.cost = cost
  return delay
end

--- A whole call: once(call, a, b, c, d) makes one attempt (see begin for the
-- call's fields) and returns its result, or nil, err and the answer's Date
-- and x-amz-retry-after headers; a..d are the caller's (passed through
-- rather than captured: a send makes no closure). Returns the result of the
-- first attempt that has one, or nil and the last error (err.attempts set).
function Policy:run(deadline, key, interval, max_attempts, once, a, b, c, d)
  local call = self:begin(deadline, key, interval, max_attempts)
  while true do
    local ok, err = call:start()
    if not ok then return nil, err end
    local result, ferr, date, retry_after = once(call, a, b, c, d)
    if date then self:learn_clock(date) end
    if result ~= nil then
      call:succeeded()
      return result
    end
    local delay = call:failed(ferr, retry_after)
    if not delay then return nil, ferr end
    if delay > 0 then self.sleep(delay) end
  end
end

--- Takes the next turn of key's pace (interval: seconds between attempts,
-- else the client's rate) from the client's limiter. -> seconds to wait for
-- it | nil, err (a RateLimiterError)
function Policy:reserve(key, interval)
  local wait, why = self.limiter:reserve(key, interval or self.interval)
  if not wait then return nil, rate.error(why) end
  return wait
end

--- The retry quota's tokens left (nil without a quota).
function Policy:tokens()
  return self.quota and self.quota.tokens or nil
end

return M

--- client:send_batch: many messages, several in flight at once, each sent
-- and retried as client:send would send it. With libcurl the C core keeps
-- the transfers in flight on one multi handle (HTTP/2 streams on one
-- connection when the endpoint offers it, else a pool of keep-alive
-- connections); inside nginx light threads (ngx.thread.spawn) send over
-- cosockets. Policy lives here: which message goes next, retries (the retry
-- module, the client's quota and clock skew, as send), the rate per
-- origination number, progress, results in input order.
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local options = require "whatsapp.options"
local resty = require "whatsapp.transport.resty"
local retry = require "whatsapp.retry"

local monotonic = core.monotonic

local M = {}

M.DEFAULT_CONCURRENCY = 16
M.MAX_CONCURRENCY = 1024

-- batch option -> the Lua type it must have (the send options are checked as send checks them)
local BATCH_OPTIONS = { concurrency = "number", rate = "number", progress = "function" }
-- send options table -> it and BATCH_OPTIONS in one schema (built once)
local schemas = setmetatable({}, { __mode = "k" })

-- Checks opts: raises on a wrong type or an unknown name (programming
-- errors). Returns the send options (a table without the batch ones, or nil),
-- concurrency, rate, progress.
local function split_options(opts, send_options)
  if opts == nil then return nil, M.DEFAULT_CONCURRENCY end
  local schema = schemas[send_options]
  if not schema then
    schema = {}
    for k, want in pairs(send_options) do schema[k] = want end
    for k, want in pairs(BATCH_OPTIONS) do schema[k] = want end
    schemas[send_options] = schema
  end
  options.check("send_batch", opts, schema, 4)
  local send
  for k, v in pairs(opts) do
    if not BATCH_OPTIONS[k] then
      send = send or {}
      send[k] = v
    end
  end
  local concurrency = opts.concurrency or M.DEFAULT_CONCURRENCY
  if concurrency % 1 ~= 0 or concurrency < 1 or concurrency > M.MAX_CONCURRENCY then
    error("send_batch: concurrency must be an integer in [1, " .. M.MAX_CONCURRENCY .. "] (got "
      .. tostring(concurrency) .. ")", 4)
  end
  local rate = opts.rate
  if rate ~= nil and not (rate > 0 and rate < math.huge) then
    error("send_batch: rate must be a positive number of messages per second (got " .. tostring(rate) .. ")", 4)
  end
  return send, concurrency, rate, opts.progress
end

-- The pace of one origination number: attempts start at least 1/rate s
-- apart, whichever batch (or light thread) starts them. Kept on the client
-- per phone number id, so batches one after the other keep to it too.
local function pacer(self, id, rate)
  local pacers = self._pacers
  if not pacers then
    pacers = {}
    self._pacers = pacers
  end
  local p = pacers[id]
  if not p then
    p = { next = 0 }
    pacers[id] = p
  end
  p.interval = 1 / rate
  return p
end

-- Seconds until the pacer lets an attempt start (0: now).
local function pace_wait(p, now)
  return p.next > now and p.next - now or 0
end

local function pace_take(p, now)
  p.next = (p.next > now and p.next or now) + p.interval
end

--- The libcurl way: one loop over a Batch of the C core (client:batch), the
-- client's transport. it: the client's internals (see client.lua).
local function run_curl(self, it, job)
  local messages, results, n = job.messages, job.results, job.n
  local id, version, deadline, progress = job.id, job.version, job.deadline, job.progress
  local transport, product = self._transport, it.PRODUCT
  local quota = self._quota
  local conc = job.concurrency
  if conc > n then conc = n end

  -- a Batch kept from the last call keeps its connections open
  local b = self._idle_batch
  self._idle_batch = nil
  if b and b:stats().slots < conc then
    b:close()
    b = nil
  end
  b = b or transport:batch(conc)

  local pace = job.rate and pacer(self, id, job.rate)
  -- per item, only for items that failed once (or have a deadline): most have no entry
  local attempts, costs, skews, started, retry_at = {}, {}, {}, {}, {}
  -- per slot: the attempt in flight there
  local slot_item, slot_tries, slot_creds, slot_offset, slot_dl = {}, {}, {}, {}, {}
  local free, waiting = {}, {} -- free slots (a stack); items waiting for a retry
  for s = conc, 1, -1 do free[#free + 1] = s end
  local next_fresh, in_flight, finished, failed = 1, 0, job.finished, job.failed

  local function finish(i, result)
    results[i] = result
    finished = finished + 1
    if result.err then failed = failed + 1 end
    if progress then progress(finished, n, i, result) end
  end

  local function failure(i, tries, err, retry_after, offset)
    local delay, cost, skew = it.next_try(self, tries, skews[i], err, retry_after, offset, deadline, started[i])
    if not delay then return finish(i, { err = err }) end
    attempts[i], costs[i], skews[i] = tries, cost, skew
    retry_at[i] = monotonic() + delay
    waiting[#waiting + 1] = i
  end

  -- Starts item i in a free slot (or finishes it when it cannot start).
  -- creds: what self:credentials() gave for this round of starts.
  local function start(i, now, creds, cerr)
    local tries = attempts[i] or 0
    if not creds then
      local own = {} -- each item gets its own copy of the round's error
      for k, v in pairs(cerr) do own[k] = v end
      cerr = setmetatable(own, getmetatable(cerr))
      cerr.attempts = tries
      return finish(i, { err = cerr })
    end
    local limit_ms, dl
    if deadline then
      started[i] = started[i] or now
      limit_ms, dl = it.limit_of(deadline, started[i], tries)
      if not limit_ms then return finish(i, { err = dl }) end
    end
    local slot = free[#free]
    free[#free] = nil
    local offset = self._clock_offset
    local ok, kind, text, field = b:add(transport, slot, messages[i], product, id, version, creds.access_key_id,
      creds.secret_access_key, creds.session_token, offset, limit_ms)
    if not ok then
      free[#free + 1] = slot
      local _, err = it.interpret(self, creds, dl, nil, kind, text, field)
      return failure(i, tries + 1, err, nil, offset)
    end
    slot_item[slot], slot_tries[slot], slot_creds[slot], slot_offset[slot], slot_dl[slot] =
      i, tries + 1, creds, offset, dl
    in_flight = in_flight + 1
  end

  -- The next item to start: a retry that is due, else the next new one.
  local function pick(now)
    for k = 1, #waiting do
      local i = waiting[k]
      if retry_at[i] <= now then
        table.remove(waiting, k)
        return i
      end
    end
    while next_fresh <= n and results[next_fresh] do next_fresh = next_fresh + 1 end -- refused before sending
    if next_fresh <= n then
      next_fresh = next_fresh + 1
      return next_fresh - 1
    end
  end

  -- When something that waits (a retry, the pacer) may go on.
  local function wake_at(now)
    local at
    for k = 1, #waiting do
      local t = retry_at[waiting[k]]
      if not at or t < at then at = t end
    end
    if pace and (#waiting > 0 or next_fresh <= n) then
      local t = now + pace_wait(pace, now)
      if not at or t < at then at = t end
    end
    return at
  end

  local last_date -- the clock is learned once per distinct Date (it changes once a second)
  local function drain()
    while true do
      local slot, status, value, request_id, error_type, date, retry_after = b:result()
      if not slot then return end
      local i = slot_item[slot]
      slot_item[slot] = nil
      free[#free + 1] = slot
      in_flight = in_flight - 1
      if status == true then -- the common answer: value is the messageId, request_id the Date
        if request_id and request_id ~= last_date then
          last_date = request_id
          it.learn_clock(self, request_id)
        end
        if quota and (costs[i] or quota.tokens < quota.capacity) then retry.succeeded(quota, costs[i] or 0) end
        finish(i, { message_id = value })
      else
        local message_id, err, answer_date, after = it.interpret(self, slot_creds[slot], slot_dl[slot], status,
          value, request_id, error_type, date, retry_after)
        if answer_date then
          last_date = answer_date
          it.learn_clock(self, answer_date)
        end
        if message_id then
          retry.succeeded(quota, costs[i] or 0)
          finish(i, { message_id = message_id })
        else
          failure(i, slot_tries[slot], err, after, slot_offset[slot])
        end
      end
    end
  end

  local function loop()
    while finished < n do
      local now = monotonic()
      local creds, cerr
      while #free > 0 do
        if pace then
          if pace_wait(pace, now) > 0 then break end
        end
        local i = pick(now)
        if not i then break end
        if pace then pace_take(pace, now) end
        if not creds and not cerr then -- once a round, in the time item i has left
          creds, cerr = self:credentials(deadline and deadline - (now - (started[i] or now)))
        end
        start(i, now, creds, cerr)
      end
      if finished >= n then break end
      local at = wake_at(now)
      if in_flight > 0 then
        local wait = at and at - monotonic() or 1
        b:poll(wait > 0 and math.ceil(wait * 1000) or 0)
        drain()
      elseif at then
        local wait = at - monotonic()
        if wait > 0 then self._sleep(wait) end
      end
    end
  end

  local ok, err = pcall(loop)
  if not ok then
    b:close() -- stops what is in flight; a Lua error must not leave transfers behind
    error(err, 0)
  end
  if self._closed then -- progress closed the client: keep no connection open for it
    b:close()
  else
    self._idle_batch = b
  end
  return results, failed
end

--- Inside nginx: up to `concurrency` light threads take the next message
-- and send it as client:send does (cosockets, ngx.sleep between retries).
local function run_resty(self, it, job)
  local why = resty.unavailable()
  if why then return nil, errors.new { code = "TransportUnavailable", message = why, attempts = 0 } end
  local ngx = rawget(_G, "ngx")
  local messages, results, n = job.messages, job.results, job.n
  local id, version, deadline, progress = job.id, job.version, job.deadline, job.progress
  local finished, failed, nxt, stop = job.finished, job.failed, 1, nil
  local p = job.rate and pacer(self, id, job.rate)
  local pace = p and function()
    local now = monotonic()
    local wait = pace_wait(p, now)
    pace_take(p, now) -- the turn is taken now; the wait ends at it
    if wait > 0 then ngx.sleep(wait) end
  end

  local function worker()
    while not stop do
      while nxt <= n and results[nxt] do nxt = nxt + 1 end
      local i = nxt
      if i > n then return end
      nxt = nxt + 1
      local fine, message_id, err = pcall(it.run_send, self, messages[i], id, version, deadline, pace)
      if not fine then
        stop = stop or { message_id }
        return
      end
      local result = message_id and { message_id = message_id } or { err = err }
      results[i] = result
      finished = finished + 1
      if err then failed = failed + 1 end
      if progress then
        local ok, perr = pcall(progress, finished, n, i, result)
        if not ok then
          stop = stop or { perr }
          return
        end
      end
    end
  end

  local threads = {}
  local remaining = n - finished
  for k = 1, math.min(job.concurrency, remaining) do
    local th, serr = ngx.thread.spawn(worker)
    if not th then
      stop = stop or { "send_batch: cannot start a light thread: " .. tostring(serr) }
      break
    end
    threads[k] = th
  end
  for k = 1, #threads do
    local ok, werr = ngx.thread.wait(threads[k])
    if not ok then stop = stop or { werr } end
  end
  if stop then error(stop[1], 0) end
  return results, failed
end

--- client:send_batch(messages, opts) -> results, failed | nil, err
-- it: the client's internals: check_send_opts, check_message, SEND_OPTIONS,
-- interpret, next_try, learn_clock, limit_of, run_send, PRODUCT.
function M.send_batch(self, it, messages, opts)
  if type(messages) ~= "table" then
    error("send_batch: messages must be a list (got " .. type(messages) .. ")", 3)
  end
  local n = #messages
  for i = 1, n do
    local mt = type(messages[i])
    if mt ~= "table" and mt ~= "string" then
      error("send_batch: messages[" .. i .. "] must be a table or a JSON string (got " .. mt .. ")", 3)
    end
  end
  local send_opts, concurrency, rate, progress = split_options(opts, it.SEND_OPTIONS)
  local results = {}
  if n == 0 then return results, 0 end
  local id, version, deadline = it.check_send_opts(self, send_opts)
  if not id then return nil, version end

  local job = {
    messages = messages, results = results, n = n, id = id, version = version, deadline = deadline,
    concurrency = concurrency, rate = rate, progress = progress, finished = 0, failed = 0,
  }
  -- messages refused before anything is sent are done first
  for i = 1, n do
    local m = messages[i]
    if type(m) == "table" then
      local ok, verr = it.check_message(m, send_opts)
      if ok and verr ~= m then -- validation normalized it (a copy): send that, the caller's list unchanged
        if job.messages == messages then
          job.messages = {}
          for j = 1, n do job.messages[j] = messages[j] end
        end
        job.messages[i] = verr
      elseif not ok then
        verr.attempts = 0
        local result = { err = verr }
        results[i] = result
        job.finished, job.failed = job.finished + 1, job.failed + 1
        if progress then progress(job.finished, n, i, result) end
      end
    end
  end
  if job.finished == n then return results, job.failed end
  if self.transport == "resty" then return run_resty(self, it, job) end
  return run_curl(self, it, job)
end

return M

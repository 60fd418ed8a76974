--- client:send_batch: many messages, several in flight at once, each sent
-- and retried as client:send would send it. With libcurl the C core keeps
-- the transfers in flight on one multi handle (HTTP/2 streams on one
-- connection when the endpoint offers it, else a pool of keep-alive
-- connections); inside nginx light threads (ngx.thread.spawn) send over
-- cosockets. Policy lives here: which message goes next, retries (the retry
-- module, the client's quota and clock skew, as send), the rate per
-- origination number, progress, results in input order.
local attempts = require "whatsapp.attempts"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local options = require "whatsapp.options"
local resty = require "whatsapp.transport.resty"
local send = require "whatsapp.service.send"

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
  local send_opts
  for k, v in pairs(opts) do
    if not BATCH_OPTIONS[k] then
      send_opts = send_opts or {}
      send_opts[k] = v
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
  return send_opts, concurrency, rate, opts.progress
end

-- A Batch of the C core for conc transfers: the one kept from the last
-- call (its connections still open) when it has enough slots.
local function take_batch(route, conc)
  local b = route.idle_batch
  route.idle_batch = nil
  if b and b:stats().slots < conc then
    b:close()
    b = nil
  end
  return b or route.transport:batch(conc)
end

--- The libcurl way: one loop over a Batch of the C core, the route's
-- transport. Each item is a call of the route's attempts (whatsapp.attempts)
-- with its index in call.item; slots[s] is the call in flight in slot s.
-- With a rate, each attempt first takes a turn of the number's pace from
-- the client's limiter; a call whose turn is later waits for it
-- (call.turn), and no more turns are taken than there are free slots.
local function run_curl(route, job)
  local messages, results, n = job.messages, job.results, job.n
  local id, version, deadline, progress = job.id, job.version, job.deadline, job.progress
  local transport, policy = route.transport, route.attempts
  local conc = math.min(job.concurrency, n)
  local b = take_batch(route, conc)
  local interval = job.interval -- seconds between attempts for this number (nil: no pace)
  local slots, free, waiting = {}, {}, {} -- the call in each slot; free slots (a stack); calls waiting
  local scheduled = 0 -- waiting calls that hold a turn
  for s = conc, 1, -1 do free[#free + 1] = s end
  local next_fresh, in_flight, finished, failed = 1, 0, job.finished, job.failed

  local function finish(i, result)
    results[i] = result
    finished = finished + 1
    if result.err then failed = failed + 1 end
    if progress then progress(finished, n, i, result) end
  end

  local function failure(call, err, retry_after)
    local i = call.item
    local delay = call:failed(err, retry_after)
    if not delay then return finish(i, { err = err }) end
    call.retry_at = monotonic() + delay
    waiting[#waiting + 1] = call
  end

  -- The next call to start: a retry (or a turn) that is due, else one for
  -- the next new item; only calls holding a turn unless may_reserve.
  local function pick(now, may_reserve)
    for k = 1, #waiting do
      local call = waiting[k]
      if call.retry_at <= now and (may_reserve or call.turn) then
        table.remove(waiting, k)
        return call
      end
    end
    if not may_reserve then return nil end
    while next_fresh <= n and results[next_fresh] do next_fresh = next_fresh + 1 end -- refused before sending
    if next_fresh <= n then
      local call = policy:begin(deadline, nil, nil, job.max_attempts)
      call.item = next_fresh
      next_fresh = next_fresh + 1
      return call
    end
  end

  -- Starts a call in a free slot (or finishes its item when it cannot
  -- start). creds, cerr: the credentials of this round of starts.
  local function start(call, creds, cerr)
    local i = call.item
    local ok, err = call:start(creds, cerr)
    if not ok then return finish(i, { err = err }) end
    local slot = free[#free]
    free[#free] = nil
    local added, kind, text, field = b:add(transport, slot, messages[i], id, version, call.creds,
      call.offset, call.limit_ms)
    if not added then
      free[#free + 1] = slot
      return failure(call, errors.from_transport(kind, text, field, route, call.dl))
    end
    slots[slot] = call
    in_flight = in_flight + 1
  end

  -- When something that waits (a retry, a turn) may go on.
  local function wake_at()
    local at
    for k = 1, #waiting do
      local t = waiting[k].retry_at
      if not at or t < at then at = t end
    end
    return at
  end

  -- A turn of the pace for call: true when it may start now; else it waits
  -- for its turn (or is over: the limiter failed). A call picked later than
  -- attempts.LATE intervals after its turn takes a new one (see attempts.lua).
  local function turn(call)
    if call.turn then
      call.turn, scheduled = nil, scheduled - 1
      if monotonic() - call.retry_at <= interval * attempts.LATE or call.retakes >= attempts.MAX_RETAKES then
        return true
      end
      call.retakes = call.retakes + 1
    else
      call.retakes = 0
    end
    local wait, err = policy:reserve(id, interval)
    if not wait then
      failure(call, err)
      return false
    end
    if wait <= 0 then return true end
    call.turn, call.retry_at, scheduled = true, monotonic() + wait, scheduled + 1
    waiting[#waiting + 1] = call
    return false
  end

  local last_date -- the clock is learned once per distinct Date (it changes once a second)
  local function drain()
    while true do
      local slot, status, value, request_id, error_type, date, retry_after = b:result()
      if not slot then return end
      local call = slots[slot]
      slots[slot] = nil
      free[#free + 1] = slot
      in_flight = in_flight - 1
      local message_id, err, answer_date, after
      if status == true then -- the common answer (as send.interpret reads it, without the call)
        message_id, answer_date = value, date
      else
        message_id, err, answer_date, after = send.interpret(route, call, status, value, request_id, error_type,
          date, retry_after)
      end
      if answer_date and answer_date ~= last_date then
        last_date = answer_date
        policy:learn_clock(answer_date)
      end
      if message_id then
        local i = call.item
        call:succeeded()
        finish(i, { message_id = message_id })
      else
        failure(call, err, after)
      end
    end
  end

  local function loop()
    while finished < n do
      local now = monotonic()
      local creds, cerr
      while #free > 0 do
        local call = pick(now, not interval or #free > scheduled)
        if not call then break end
        if not interval or turn(call) then
          if not creds and not cerr then -- once a round, in the time this call has left
            creds, cerr = policy.credentials(call:left())
          end
          start(call, creds, cerr)
        end
      end
      if finished >= n then break end
      local at = wake_at()
      if in_flight > 0 then
        local wait = at and at - monotonic() or 1
        b:poll(wait > 0 and math.ceil(wait * 1000) or 0)
        drain()
      elseif at then
        local wait = at - monotonic()
        if wait > 0 then policy.sleep(wait) end
      end
    end
  end

  local ok, err = pcall(loop)
  if not ok then
    b:close() -- stops what is in flight; a Lua error must not leave transfers behind
    error(err, 0)
  end
  if route.closed then -- progress closed the client: keep no connection open for it
    b:close()
  else
    route.idle_batch = b
  end
  return results, failed
end

--- Inside nginx: up to `concurrency` light threads take the next message
-- and send it as client:send does (cosockets, ngx.sleep between retries).
local function run_resty(route, job)
  local why = resty.unavailable()
  if why then return nil, errors.new { code = "TransportUnavailable", message = why, attempts = 0 } end
  local ngx = rawget(_G, "ngx")
  local messages, results, n = job.messages, job.results, job.n
  local id, version, deadline, progress = job.id, job.version, job.deadline, job.progress
  local finished, failed, nxt, stop = job.finished, job.failed, 1, nil
  local interval = job.interval

  local function worker()
    while not stop do
      while nxt <= n and results[nxt] do nxt = nxt + 1 end
      local i = nxt
      if i > n then return end
      nxt = nxt + 1
      local fine, message_id, err = pcall(send.run, route, messages[i], id, version, deadline, interval,
        job.max_attempts)
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
-- route: the client's (see whatsapp.client).
function M.send_batch(client, route, messages, opts)
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
  local send_opts, concurrency, rate, progress = split_options(opts, send.OPTIONS)
  local results = {}
  if n == 0 then return results, 0 end
  local id, version, deadline, max_attempts = send.settings(client, send_opts)
  if not id then return nil, version end

  local job = {
    messages = messages, results = results, n = n, id = id, version = version, deadline = deadline,
    concurrency = concurrency, progress = progress, finished = 0, failed = 0,
    interval = rate and 1 / rate or route.attempts.interval, -- the batch's rate, else the client's
    max_attempts = max_attempts, -- the batch's, else the client's
  }
  -- messages refused before anything is sent are done first
  for i = 1, n do
    local m = messages[i]
    if type(m) == "table" then
      local ok, verr = send.check_message(m, send_opts)
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
  if route.transport_kind == "resty" then return run_resty(route, job) end
  return run_curl(route, job)
end

return M

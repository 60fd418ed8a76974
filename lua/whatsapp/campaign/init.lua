--- whatsapp.campaign: a file of messages in (JSON lines, or CSV mapped
-- onto a template or a text), a journal beside it, a results file out. Every
-- line is validated first; the valid ones go through client:send_batch in
-- chunks, each chunk's "start" records synced to the disk before it is sent
-- and its outcomes after, so a rerun after a crash sends each line exactly
-- once, except lines whose attempt may have delivered (ambiguous), which go
-- again only when asked. `whatsapp send-batch` is this call.
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local input = require "whatsapp.campaign.input"
local journal_mod = require "whatsapp.campaign.journal"
local results_mod = require "whatsapp.campaign.results"

local monotonic = core.monotonic

local M = {}

M.DEFAULT_RATE = 20
M.DEFAULT_CONCURRENCY = 16
M.DEFAULT_ATTEMPTS = 3
M.MAX_CHUNK = 2048

local OPTIONS = {
  path = "string", input = "string", format = "string", template = "string", language = "string",
  text = "boolean", journal = "string", results = { "string", "boolean" }, rate = "number",
  concurrency = "number", attempts = "number", resend_ambiguous = "boolean", dry_run = "boolean",
  phone_number_id = "string", meta_api_version = "string", deadline = "number", allow_local_number = "boolean",
  progress = "function", on_invalid = "function", stop = "function", sleep = "function",
}

local function check_options(opts)
  if type(opts) ~= "table" then error("campaign.run: opts must be a table (got " .. type(opts) .. ")", 3) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if want == nil then error("campaign.run: unknown option '" .. tostring(k) .. "'", 3) end
    local ok = type(want) == "string" and type(v) == want
    if type(want) == "table" then
      for _, w in ipairs(want) do ok = ok or type(v) == w end
    end
    if not ok then error("campaign.run: option '" .. k .. "' must be a " .. tostring(want) .. " (got " .. type(v)
      .. ")", 3) end
  end
end

local function usage(field, message)
  return errors.new { code = "ParamValidationError", field = field, message = field .. ": " .. message, attempts = 0 }
end

--- What a failed attempt means for the line: "ambiguous" (it may have
-- been delivered: a 500/502/504, a timeout or a lost connection after the
-- request went out, an answer without a usable id), "retry" (nothing was
-- delivered and trying again may work: throttling, 503, no connection),
-- "later" (nothing was delivered; a rerun tries again: credentials, TLS),
-- "failed" (refused for good).
function M.classify(err)
  local code, status = err.code, err.status
  if code == "ResponseError" or status == 500 or status == 502 or status == 504 then return "ambiguous" end
  if code == "TimeoutError" or code == "ConnectionError" then
    local m = err.message or ""
    local unsent = m:find("before the request was sent", 1, true) or m:find("nothing was delivered", 1, true)
      or m:find("^cannot reach ")
    if not unsent then return "ambiguous" end
  end
  if err.retryable then return "retry" end
  if code == "CredentialsError" or code == "TLSError" or code == "TransportUnavailable" then return "later" end
  return "failed"
end

-- Reads the input of opts: the items, or nil and an error.
local function read_items(opts)
  local text = opts.input
  if not text then
    local f, why = io.open(opts.path, "rb")
    if not f then return nil, usage("path", "cannot read " .. opts.path .. ": " .. tostring(why)) end
    text = f:read("*a") or ""
    f:close()
  end
  local format = opts.format or (opts.path and input.format_of(opts.path)) or "jsonl"
  if format ~= "csv" and format ~= "jsonl" then return nil, usage("format", "must be csv or jsonl") end
  local items, problem = input.read(text, format, opts)
  if not items then return nil, usage("input", problem) end
  return items
end

-- The summary's counts and the results rows, from each line's status.
local function summarize(ctx)
  local s = { total = #ctx.items, sent = 0, failed = 0, invalid = 0, ambiguous = 0, pending = 0, by_code = {},
    sent_now = ctx.sent_now, elapsed = monotonic() - ctx.started, interrupted = ctx.interrupted,
    torn = ctx.torn, rows = {} }
  for k, item in ipairs(ctx.items) do
    local st = ctx.status[item.line] or { status = "pending" }
    local err = st.err
    s[st.status] = s[st.status] + 1
    if st.status == "failed" then s.by_code[err.code] = (s.by_code[err.code] or 0) + 1 end
    s.rows[k] = { line = item.line, to = item.to, status = st.status, message_id = st.message_id,
      error_code = err and err.code, error_field = err and err.field, error_message = err and err.message }
  end
  s.valid = s.total - s.invalid
  return s
end

-- A journal's remembered state as a line's status (a line not sent now).
local function status_of(st, decision)
  local err = st.code and errors.new { code = st.code, status = st.status, field = st.field, message = st.message }
  if decision == "done" then return { status = "sent", message_id = st.message_id } end
  if decision == "final" then return { status = "failed", err = err } end
  return { status = "ambiguous", err = err or errors.new { code = "Ambiguous", message = "an attempt started and "
    .. "has no outcome (the process ended mid-send): it may have been delivered; --resend-ambiguous sends it again" } }
end

-- A journal write that failed stops the batch (raised through send_batch's
-- progress); run_open turns it back into nil, err.
local function journaled(ctx, ok, why)
  if not ok then
    ctx.journal_error = why
    error(why, 0)
  end
end

-- The outcome of one attempt: journaled, counted, the line's status set.
local function on_result(ctx, item, result)
  local counts = ctx.counts
  counts.left = counts.left - 1
  if result.message_id then
    ctx.status[item.line] = { status = "sent", message_id = result.message_id }
    counts.sent = counts.sent + 1
    ctx.sent_now = ctx.sent_now + 1
    journaled(ctx, ctx.journal:outcome(item, "sent", result.message_id))
  else
    local err = result.err
    local class = M.classify(err)
    if class == "ambiguous" then
      ctx.status[item.line] = { status = "ambiguous", err = err }
      journaled(ctx, ctx.journal:outcome(item, "ambiguous", nil, err))
      counts.failed = counts.failed + 1
    else
      local again = class == "retry" and ctx.tries[item.line] < ctx.attempts
      journaled(ctx, ctx.journal:outcome(item, "failed", nil, err, class ~= "failed"))
      ctx.status[item.line] = { status = "failed", err = err }
      if again then
        ctx.retry_next[#ctx.retry_next + 1] = { item = item }
        counts.left = counts.left + 1
      else
        counts.failed = counts.failed + 1
      end
    end
  end
  if ctx.progress then ctx.progress(counts) end
end

-- Sends one chunk (entries {item=, resend=}): start records synced, the
-- batch, outcomes synced. Returns true, or nil and an error.
local function send_chunk(ctx, chunk)
  local items, attempts, resend, messages = {}, {}, {}, {}
  for k, e in ipairs(chunk) do
    local item = e.item
    items[k], resend[k], messages[k] = item, e.resend, item.json
    ctx.attempt_no[item.line] = (ctx.attempt_no[item.line] or 0) + 1
    ctx.tries[item.line] = (ctx.tries[item.line] or 0) + 1
    attempts[k] = ctx.attempt_no[item.line]
  end
  local ok, why = ctx.journal:start(items, attempts, resend)
  if not ok then return nil, errors.new { code = "JournalError", message = why, attempts = 0 } end
  local results, err = ctx.client:send_batch(messages, {
    rate = ctx.rate, concurrency = ctx.concurrency, phone_number_id = ctx.send_opts.phone_number_id,
    meta_api_version = ctx.send_opts.meta_api_version, deadline = ctx.send_opts.deadline,
    -- one attempt per request: the campaign retries what delivered nothing
    -- itself, and never what may have been delivered (no idempotency token)
    max_attempts = 1,
    progress = function(_, _, i, result) on_result(ctx, items[i], result) end,
  })
  if not results then -- nothing was sent: say so in the journal, a rerun sends them
    for _, item in ipairs(items) do journaled(ctx, ctx.journal:outcome(item, "failed", nil, err, true)) end
  end
  ok, why = ctx.journal:sync()
  if not ok then return nil, errors.new { code = "JournalError", message = why, attempts = 0 } end
  if not results then return nil, err end
  return true
end

-- Waits seconds, polling stop every 0.1 s; false when stopped.
local function wait(ctx, seconds)
  local till = monotonic() + seconds
  while true do
    if ctx.stop and ctx.stop() then return false end
    local left = till - monotonic()
    if left <= 0 then return true end
    ctx.sleep(left < 0.1 and left or 0.1)
  end
end

-- Sends queue in chunks, then the retries in rounds; nil, err on a failure
-- that stops the campaign.
local function send_all(ctx, queue)
  local round = 1
  while #queue > 0 do
    ctx.retry_next = {}
    local k = 1
    while k <= #queue do
      if ctx.stop and ctx.stop() then
        ctx.interrupted = true
        return true
      end
      local chunk = {}
      for j = k, math.min(k + ctx.chunk - 1, #queue) do chunk[#chunk + 1] = queue[j] end
      local ok, err = send_chunk(ctx, chunk)
      if not ok then return nil, err end
      k = k + #chunk
    end
    queue = ctx.retry_next
    if #queue > 0 and not wait(ctx, math.min(0.5 * 2 ^ (round - 1), 8)) then
      ctx.interrupted = true
      return true
    end
    round = round + 1
  end
  return true
end

-- The lines to send now, from the journal; the others get their status.
-- Returns the queue, or nil and an error when the input changed.
local function plan(ctx, valid)
  local j = ctx.journal
  local line, why = j:changed_line(valid)
  if line then
    local err = usage("line", "line " .. line .. " of the input: " .. why .. " (journal " .. j.path .. "); the "
      .. "input changed under its journal: restore it, or start a new journal")
    err.line = line
    return nil, err
  end
  local queue = {}
  for _, item in ipairs(valid) do
    local st = j.states[item.line]
    local decision = journal_mod.decide(st, ctx.resend_ambiguous)
    if decision == "send" or decision == "resend" then
      queue[#queue + 1] = { item = item, resend = decision == "resend" }
      ctx.attempt_no[item.line] = st and st.attempts or 0
    else
      ctx.status[item.line] = status_of(st, decision)
    end
  end
  return queue
end

local function context(client, opts)
  local rate, concurrency = opts.rate or M.DEFAULT_RATE, opts.concurrency or M.DEFAULT_CONCURRENCY
  if not (rate > 0 and rate < math.huge) then return nil, usage("rate", "must be a positive number") end
  if concurrency % 1 ~= 0 or concurrency < 1 or concurrency > 1024 then
    return nil, usage("concurrency", "must be a whole number from 1 to 1024")
  end
  local attempts = opts.attempts or M.DEFAULT_ATTEMPTS
  if attempts % 1 ~= 0 or attempts < 1 or attempts > 100 then
    return nil, usage("attempts", "must be a whole number from 1 to 100")
  end
  return {
    client = client, rate = rate, concurrency = concurrency, attempts = attempts,
    chunk = math.min(M.MAX_CHUNK, math.max(concurrency, math.ceil(rate / 4))),
    resend_ambiguous = opts.resend_ambiguous, stop = opts.stop, progress = opts.progress,
    sleep = opts.sleep or core.sleep, send_opts = opts, status = {}, attempt_no = {}, tries = {},
    sent_now = 0, started = monotonic(), interrupted = false, torn = false,
  }
end

-- Runs the campaign once the input is read and the journal open.
local function run_open(ctx, valid)
  local queue, perr = plan(ctx, valid)
  if not queue then return nil, perr end
  ctx.counts = { sent = 0, failed = 0, left = #queue }
  if ctx.progress then ctx.progress(ctx.counts) end
  -- one attempt per request: the campaign retries what delivered nothing
  -- itself, and never what may have been delivered (no idempotency token)
  local fine, ok, err = pcall(send_all, ctx, queue)
  if not fine and ctx.journal_error then
    return nil, errors.new { code = "JournalError", message = ctx.journal_error, attempts = 0 }
  end
  if not fine then error(ok, 0) end
  if not ok then return nil, err end
  return true
end

-- Reads the input: the valid items; the invalid ones get their status
-- (and on_invalid is called for each). nil, err for a broken input.
local function validated(ctx, opts)
  local items, rerr = read_items(opts)
  if not items then return nil, rerr end
  ctx.items = items
  local valid = {}
  for _, item in ipairs(items) do
    if item.err then
      ctx.status[item.line] = { status = "invalid", err = item.err }
      if opts.on_invalid then opts.on_invalid(item) end
    else
      valid[#valid + 1] = item
    end
  end
  return valid
end

--- Runs a campaign on client. opts: path (the input file) or input (its
-- text); format ("csv" or "jsonl", else from the name); template and
-- language, or text (CSV rows to messages); journal (default path ..
-- ".journal"; required with input); results (default path ..
-- ".results.jsonl"; a .csv path gives CSV; false: none); rate (default 20),
-- concurrency (16), attempts (per line in this run, 3); resend_ambiguous;
-- dry_run; phone_number_id, meta_api_version, deadline, allow_local_number;
-- progress(counts) after each outcome (sent, failed, left: this run's);
-- on_invalid(item) for each invalid line; stop() polled between chunks
-- (true: stop starting sends). Returns the summary, or nil and an error.
function M.run(client, opts)
  check_options(opts)
  if not opts.path and not opts.input then error("campaign.run: path or input is required", 2) end
  local journal_path = opts.journal or (opts.path and opts.path .. ".journal")
  if not journal_path and not opts.dry_run then
    return nil, usage("journal", "a journal path is required when the input is not a file")
  end
  local ctx, cerr = context(client, opts)
  if not ctx then return nil, cerr end
  local valid, rerr = validated(ctx, opts)
  if not valid then return nil, rerr end
  if opts.dry_run or #valid == 0 then return summarize(ctx) end
  local j, jerr = journal_mod.open(journal_path)
  if not j then return nil, usage("journal", jerr) end
  ctx.journal, ctx.torn = j, j.torn
  local fine, ok, err = pcall(run_open, ctx, valid)
  j:close()
  if not fine then error(ok, 0) end
  if not ok then return nil, err end
  local s = summarize(ctx)
  local results_path = opts.results
  if (results_path == nil or results_path == true) and opts.path then results_path = opts.path .. ".results.jsonl" end
  if results_path then
    local wrote, werr = results_mod.write(results_path, s.rows)
    if not wrote then return nil, errors.new { code = "ResultsError", message = werr, attempts = 0 } end
    s.results = results_path
  end
  return s
end

return M

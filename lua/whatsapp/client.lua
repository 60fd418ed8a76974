--- A client: settled configuration, credentials and a transport (the C core's
-- libcurl handle). client:send turns the core's answers into messageIds and
-- error objects.
local accounts = require "whatsapp.service.accounts"
local call = require "whatsapp.service.call"
local core = require "whatsapp.core"
local config = require "whatsapp.config"
local credentials = require "whatsapp.credentials"
local errors = require "whatsapp.errors"
local media = require "whatsapp.service.media"
local options = require "whatsapp.options"
local params = require "whatsapp.params"
local resty = require "whatsapp.transport.resty"
local retry = require "whatsapp.retry"
local batch = require "whatsapp.batch"
local send_later = require "whatsapp.send_later"
local senders = require "whatsapp.senders"
local validate = require "whatsapp.message.validate"

local M = {}

local Client = {}
Client.__index = Client
Client.__name = "whatsapp.client"

-- Credentials live here, not on the client table, so that dumping a client
-- (inspect, serpent, a debugger) shows no secret.
local secrets = setmetatable({}, { __mode = "k" })

local monotonic, random = core.monotonic, core.random

local VERSION = core._VERSION
local DEFAULT_USER_AGENT = "whatsapp-lua/" .. VERSION .. " (" .. (jit and jit.version or _VERSION) .. ")"

local function milliseconds(seconds)
  return math.max(1, math.ceil(seconds * 1000)) -- 0 would mean "no limit" to libcurl
end

--- opts: the options of whatsapp.new. hooks (optional, for tests and
-- embedding): getenv (instead of os.getenv), and for the credentials
-- providers http (see whatsapp.transport.http), now, run, wait (see whatsapp.credentials).
function M.new(opts, hooks)
  if hooks ~= nil and type(hooks) ~= "table" then
    error("whatsapp.new: hooks must be a table (got " .. type(hooks) .. ")", 2)
  end
  hooks = hooks or {}
  local cfg, err = config.resolve(opts, hooks.getenv)
  if not cfg then return nil, err end
  local tcfg = {
    url = cfg.url,
    host = cfg.host,
    path = cfg.path,
    region = cfg.region,
    service = config.SERVICE,
    ca_file = cfg.ca_file,
    connect_timeout_ms = milliseconds(cfg.connect_timeout),
    timeout_ms = milliseconds(cfg.timeout),
    max_message_bytes = params.MAX_MESSAGE_BYTES,
    user_agent = cfg.user_agent or DEFAULT_USER_AGENT,
  }
  local transport, sleep
  if cfg.transport == "resty" then
    transport = resty.new(tcfg)
    sleep = rawget(_G, "ngx").sleep -- yields: the worker serves others meanwhile
  else
    transport, sleep = core.new_client(tcfg), core.sleep
  end
  local self = setmetatable({
    region = cfg.region,
    endpoint = cfg.endpoint,
    phone_number_id = cfg.phone_number_id,
    meta_api_version = cfg.meta_api_version,
    max_attempts = cfg.max_attempts,
    on_retry = cfg.on_retry,
    backoff = cfg.backoff,
    deadline = cfg.deadline,
    profile = cfg.profile,
    connect_timeout = cfg.connect_timeout,
    timeout = cfg.timeout,
    transport = cfg.transport,
    _transport = transport,
    -- where the other operations go: the endpoint (with any path prefix) and
    -- the Host header, as SendWhatsAppMessage's url and path are made
    _base_url = cfg.url:sub(1, #cfg.url - #config.SEND_PATH),
    _base_path = cfg.path:sub(1, #cfg.path - #config.SEND_PATH),
    _host = cfg.host,
    _sleep = sleep,
    _quota = cfg.retry_quota and retry.new_quota(cfg.retry_quota) or nil,
    _clock_offset = 0, -- seconds to add to our clock when signing (learned from answers)
  }, Client)
  secrets[self] = credentials.provider {
    option = cfg.credentials, profile = cfg.profile_explicit and cfg.profile or nil, region = cfg.region,
    ca_file = cfg.ca_file, user_agent = cfg.user_agent or DEFAULT_USER_AGENT, timeout = cfg.timeout,
    getenv = hooks.getenv, now = hooks.now, run = hooks.run, wait = hooks.wait,
    allow_blocking_credential_process = cfg.allow_blocking_credential_process,
    -- inside nginx the credential sources (IMDS, container, STS) use cosockets too
    http = hooks.http or (cfg.transport == "resty" and resty.http { user_agent = tcfg.user_agent } or nil),
  }
  return self
end

--- The credentials to sign with: found on first use (the option, else the
-- default chain), kept, and fetched again before they expire (see
-- whatsapp.credentials). A credentials function's answer without an
-- expiration is not kept: the function is called for every send. limit:
-- seconds a fetch may take (what a deadline leaves), nil for no deadline.
function Client:credentials(limit)
  return secrets[self]:get(limit)
end

-- per-send option -> the Lua type it must have
local SEND_OPTIONS = {
  phone_number_id = "string", meta_api_version = "string", deadline = "number",
  validate = "boolean", allow_local_number = "boolean", -- message validation (whatsapp.message.validate)
}

local function check_send_opts(self, opts)
  if opts ~= nil then
    options.check("send", opts, SEND_OPTIONS, 4)
  end
  local id = opts and opts.phone_number_id or self.phone_number_id
  if id == nil then
    return nil, errors.validation("phone_number_id",
      "no origination phone number id: pass phone_number_id to whatsapp.new or send, or set WHATSAPP_PHONE_NUMBER_ID")
  end
  local version = opts and opts.meta_api_version or self.meta_api_version
  local deadline = self.deadline
  if opts then
    local bad = opts.phone_number_id and params.phone_number_id(id)
    if bad then return nil, errors.validation("phone_number_id", bad) end
    bad = opts.meta_api_version and params.meta_api_version(version)
    if bad then return nil, errors.validation("meta_api_version", bad) end
    if opts.deadline ~= nil then
      bad = options.seconds(opts.deadline)
      if bad then return nil, errors.validation("deadline", bad) end
      deadline = opts.deadline
    end
  end
  return id, version, deadline
end

-- What a failed exchange did or did not do, in the words of a send (the
-- default) or of another call.
local SEND_EFFECT = { sent = "the message may have been delivered", unsent = "nothing was delivered" }

-- Words for a transport failure, with the limit that was hit.
-- dl: {deadline=, left=} when a deadline limited this attempt.
local function describe_failure(self, kind, text, dl, effect)
  effect = effect or SEND_EFFECT
  local cut = dl and ((kind == "timeout" and dl.left < self.timeout)
    or (kind == "connect_timeout" and dl.left < self.connect_timeout))
  if cut then
    return string.format("the %s's deadline (%gs) was reached %s; %s: %s", effect.name or "send", dl.deadline,
      kind == "timeout" and "after the request was sent" or "before the request was sent",
      kind == "timeout" and effect.sent or effect.unsent, text)
  elseif kind == "connect_timeout" then
    return string.format("timed out before the request was sent (connect_timeout %gs, timeout %gs); "
      .. "%s: %s", self.connect_timeout, self.timeout, effect.unsent, text)
  elseif kind == "timeout" then
    return string.format("no answer within timeout (%gs) after the request was sent; "
      .. "%s: %s", self.timeout, effect.sent, text)
  elseif kind == "connect" then
    return "cannot reach " .. self.endpoint .. ": " .. text
  elseif kind == "lost" then
    return "the connection to " .. self.endpoint .. " failed after the request was sent; "
      .. effect.sent .. ": " .. text
  elseif kind == "tls" then
    return "TLS with " .. self.endpoint .. " failed: " .. text
  elseif kind == "response" then
    return "malformed answer: " .. text
  end
  return text
end

--- The error of a transport failure (kind and text as the transports report
-- them). dl: {deadline=, left=} when a deadline limited the attempt. effect:
-- {name =, sent =, unsent =}, what the call may have done (a send's words
-- when nil).
function Client:_transport_error(kind, text, dl, effect)
  return errors.transport(kind, describe_failure(self, kind, text, dl, effect))
end

local PRODUCT = config.MESSAGING_PRODUCT

-- A messageId is handed back exactly as the service sent it, or not at all:
-- 1..1024 bytes of printable ASCII without spaces (the core's fast path
-- takes only such ids). Anything else (empty, a NUL, control characters) is
-- a ResponseError, never a cut or cleaned id.
local MAX_MESSAGE_ID = 1024

-- nil when id is a messageId to hand back, else what is wrong with it.
local function message_id_problem(id)
  if type(id) ~= "string" then return id == nil and "is missing" or "is not a string" end
  if id == "" then return "is empty" end
  if #id > MAX_MESSAGE_ID then return "is longer than " .. MAX_MESSAGE_ID .. " bytes" end
  if id:find("[^\33-\126]") then return "holds a byte that is not printable ASCII (a space, a control character)" end
  return nil
end

-- What a transport's answer to a send means: messageId, or nil, err; then
-- the answer's Date and x-amz-retry-after headers (nil when there was no
-- answer). dl: {deadline=, left=} when a deadline limited this attempt.
local function interpret(self, creds, dl, status, value, request_id, error_type, date, retry_after)
  if status == true then return value, nil, date end -- the core's common answer: an id it checked
  if not status then
    local kind, text, field = value, request_id, error_type
    if kind == "invalid" then return nil, errors.validation(field or "message", text) end
    if kind == "unavailable" then
      return nil, errors.new { code = "TransportUnavailable", message = text, attempts = 0 }
    end
    return nil, self:_transport_error(kind, text, dl)
  end
  if status >= 200 and status < 300 then
    local id = nil
    if type(value) == "table" then id = value.messageId end
    local bad = message_id_problem(id)
    if not bad then return id, nil, date end
    return nil, errors.new {
      code = "ResponseError", status = status,
      request_id = errors.clean_request_id(request_id, { creds.secret_access_key, creds.session_token }),
      message = "the answer's messageId " .. bad .. "; the message may have been delivered", retryable = false,
    }, date
  end
  return nil, errors.from_response(status, value, request_id, error_type,
    { creds.secret_access_key, creds.session_token }), date, retry_after
end

-- One send attempt on the client's transport (see interpret). offset: the
-- clock offset to sign with; limit_ms: what a deadline leaves of this attempt.
local function attempt(self, message, id, version, creds, offset, limit_ms, dl)
  return interpret(self, creds, dl, self._transport:send(message, PRODUCT, id, version, creds.access_key_id,
    creds.secret_access_key, creds.session_token, offset, limit_ms))
end

-- Learns the service's clock from an answer's Date header. The header is
-- parsed once per value (it changes once a second).
local function learn_clock(self, date)
  if date ~= self._date_header then
    self._date_header, self._date_value = date, retry.parse_http_date(date)
  end
  self._clock_offset = retry.learn_offset(self._clock_offset, os.time(), self._date_value)
end

-- After a failed attempt (the attempts-th of a call): the wait before the
-- next one, or nil when err is the answer (err.attempts and err.message are
-- settled then). Also returns the retry quota the next attempt took and
-- whether the call has used its clock-skew retry. offset: the clock offset
-- the attempt was signed with; started: monotonic time the call began.
-- An on_retry hook that raises raises here, its retry's tokens given back.
local function next_try(self, attempts, skew_retried, err, retry_after, offset, deadline, started)
  if err.code == "ParamValidationError" or err.code == "TransportUnavailable" then -- this attempt sent nothing
    err.attempts = attempts - 1
    return nil
  end
  err.attempts = attempts
  local class, cost, delay = retry.class(err), nil, 0
  if retry.is_skew_code(err.code) and self._clock_offset ~= offset and not skew_retried then
    -- our clock was off by minutes: the same request, signed with the
    -- service's time, is retried at once (once per call, outside the quota)
    skew_retried, cost, class = true, 0, "skew"
  end
  if class ~= "skew" then
    if not class or attempts >= self.max_attempts then return nil end
    cost = retry.take(self._quota, class)
    if not cost then
      err.message = err.message .. " (not retried: the client's retry quota is spent)"
      return nil
    end
    delay = retry.delay(attempts, class, self.backoff, random, retry.retry_after_seconds(retry_after))
    if deadline and monotonic() - started + delay >= deadline then
      retry.succeeded(self._quota, cost) -- give back what was not used
      err.message = string.format("%s (not retried: the deadline of %gs would pass)", err.message, deadline)
      return nil
    end
  end
  if self.on_retry then
    local fine, hook_err = pcall(self.on_retry, err, attempts, delay)
    if not fine then -- a programming error: raise it, without keeping the retry's tokens
      if cost and cost > 0 then retry.succeeded(self._quota, cost) end
      error(hook_err, 0)
    end
  end
  return delay, cost, skew_retried
end

-- The time limit of an attempt under a deadline: milliseconds left and
-- {deadline=, left=} for describe_failure; nil and a TimeoutError when
-- nothing is left (fetching credentials, or waiting for a turn, took it).
local function limit_of(deadline, started, attempts)
  local left = deadline - (monotonic() - started)
  if left <= 0.001 then
    local terr = errors.transport("connect_timeout", string.format(
      "the deadline (%gs) passed before the request was sent; nothing was sent", deadline))
    terr.attempts = attempts
    return nil, terr
  end
  return math.ceil(left * 1000), { deadline = deadline, left = left }
end

--- The loop every call of the service shares: credentials for each attempt,
-- the time left under a deadline, retries in the standard mode (retry.lua),
-- the retry quota, clock skew learned from the answers' Date.
-- once(self, a, b, c, creds, offset, limit_ms, dl) makes one attempt,
-- signing with the clock offset given, and returns its result, or nil, err
-- and the answer's Date and x-amz-retry-after headers; a, b, c are the
-- caller's (passed through rather than captured: a send makes no closure);
-- dl: {deadline=, left=} when a deadline limits the attempt to limit_ms.
-- pace (optional) is called before each attempt and may wait (the rate of
-- send_batch inside nginx). Returns the result of the first attempt that
-- has one, or nil and the last error (err.attempts set).
function Client:_with_retries(deadline, once, a, b, c, pace)
  local started = deadline and monotonic()
  local attempts, last_cost, skew_retried = 0, 0, false
  while true do
    local creds, cerr = self:credentials(deadline and deadline - (monotonic() - started))
    if not creds then
      cerr.attempts = attempts
      return nil, cerr
    end
    if pace then pace() end
    local limit_ms, dl
    if deadline then
      limit_ms, dl = limit_of(deadline, started, attempts)
      if not limit_ms then return nil, dl end
    end
    attempts = attempts + 1
    -- the offset is read before the attempt: in OpenResty another call may
    -- learn a new one while this one waits for its answer
    local offset = self._clock_offset
    local result, err, date, retry_after = once(self, a, b, c, creds, offset, limit_ms, dl)
    if date then learn_clock(self, date) end
    if result ~= nil then
      retry.succeeded(self._quota, last_cost)
      return result
    end
    local delay, cost
    delay, cost, skew_retried = next_try(self, attempts, skew_retried, err, retry_after, offset, deadline, started)
    if not delay then return nil, err end
    if delay > 0 then self._sleep(delay) end
    last_cost = cost
  end
end

-- Sends one message until success or a final failure (see _with_retries).
local function run_send(self, message, id, version, deadline, pace)
  return self:_with_retries(deadline, attempt, message, id, version, pace)
end

local NO_OPTIONS, LOCAL_NUMBERS = {}, { allow_local_number = true }

-- A table message must pass WhatsApp's rules (whatsapp.message.validate) unless
-- opts.validate is false; JSON text is the caller's own. -> true and the
-- message to send (a copy where validate normalized it), or nil, err.
local function check_message(message, opts)
  if opts and opts.validate == false then return true, message end
  return validate.message(message, opts and opts.allow_local_number and LOCAL_NUMBERS or NO_OPTIONS)
end

--- Sends a WhatsApp message object (a table, or its JSON text).
-- `messaging_product` defaults to "whatsapp". A table is validated first
-- (whatsapp.message.validate); JSON text is sent as it is. Returns the messageId, or
-- nil and an error object (err.attempts says how many requests were made).
-- Throttling, 5xx and connection failures are retried (standard mode, see
-- retry.lua); a signature refused because our clock is off is retried once
-- with the service's time. opts: phone_number_id, meta_api_version,
-- deadline, validate (false: send the table unchecked), allow_local_number.
function Client:send(message, opts)
  local mt = type(message)
  if mt ~= "table" and mt ~= "string" then
    error("send: message must be a table or a JSON string (got " .. mt .. ")", 2)
  end
  if opts == nil and self.phone_number_id then -- the common case: nothing to check but the message
    if mt == "table" then
      local ok, checked = validate.message(message, NO_OPTIONS)
      if not ok then return nil, checked end
      message = checked
    end
    return run_send(self, message, self.phone_number_id, self.meta_api_version, self.deadline)
  end
  local id, version, deadline = check_send_opts(self, opts)
  if not id then return nil, version end
  if mt == "table" then
    local ok, checked = check_message(message, opts)
    if not ok then return nil, checked end
    message = checked
  end
  return run_send(self, message, id, version, deadline)
end

--- Counters of this client: requests made, signing keys derived, the
-- HTTP version of the last answer ("1.1" or "2"), the retry quota's tokens
-- left and the clock offset learned from the service (seconds).
function Client:stats()
  local st = self._transport:stats()
  st.retry_tokens = self._quota and self._quota.tokens or nil
  st.clock_offset = self._clock_offset
  return st
end

-- What whatsapp.batch shares with send.
local internals = {
  PRODUCT = PRODUCT, SEND_OPTIONS = SEND_OPTIONS, check_send_opts = check_send_opts,
  check_message = check_message, interpret = interpret, next_try = next_try, learn_clock = learn_clock,
  limit_of = limit_of, run_send = run_send,
}

--- Sends many messages, several at a time (see whatsapp.batch). messages:
-- a list of message tables or JSON texts. opts: concurrency (default 16),
-- rate (messages per second for the origination number), progress
-- (function(done, total, index, result)), and send's options, for every
-- message. Returns the results in input order, each {message_id=} or
-- {err=}, and how many failed; or nil, err when none can be sent.
function Client:send_batch(messages, opts)
  local results, failed = batch.send_batch(self, internals, messages, opts)
  return results, failed
end

--- Closes the connection; the client can no longer send. Safe to call twice.
function Client:close()
  self._closed = true
  if self._idle_batch then
    self._idle_batch:close()
    self._idle_batch = nil
  end
  self._transport:close()
end

function Client:__tostring()
  return string.format("whatsapp.client (region %s, endpoint %s, phone number %s)", self.region,
    self.endpoint, self.phone_number_id or "per send")
end

Client.__close = Client.close -- Lua 5.4: local client <close> = ...

--- Calls any operation of whatsapp.service.operations by its model name, with
-- input keyed by the model's member names (checked against the model first);
-- returns the answer table, or nil, err. opts: deadline. The named methods
-- below are built on it.
function Client:call(operation, input, opts)
  if type(operation) ~= "string" then error("call: operation must be a string (got " .. type(operation) .. ")", 2) end
  return call.invoke(self, operation, input, opts)
end

-- client:send_text, send_image, …, mark_read: build (whatsapp.message), then send
senders.install(Client)
-- client:send_later (OpenResty: from a timer)
send_later.install(Client, internals)
-- client:upload_media, get_media, delete_media
media.install(Client)
-- client:list_accounts, get_account, get_phone_number, phone_numbers
accounts.install(Client)
-- client:reply(event, …); mark_read and get_media also take an inbound event
require("whatsapp.inbound.reply").install(Client)

return M

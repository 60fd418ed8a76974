--- A client: settled configuration, credentials and a transport (the C core's
-- libcurl handle). client:send turns the core's answers into messageIds and
-- error objects.
local core = require "whatsapp.core"
local config = require "whatsapp.config"
local credentials = require "whatsapp.credentials"
local errors = require "whatsapp.errors"
local params = require "whatsapp.params"
local retry = require "whatsapp.retry"

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

function M.new(opts)
  local cfg, err = config.resolve(opts)
  if not cfg then return nil, err end
  local transport = core.new_client {
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
    _transport = transport,
    _sleep = core.sleep,
    _quota = cfg.retry_quota and retry.new_quota(cfg.retry_quota) or nil,
    _clock_offset = 0, -- seconds to add to our clock when signing (learned from answers)
  }, Client)
  secrets[self] = { option = cfg.credentials }
  return self
end

--- The credentials to sign with. A table (or the environment) is resolved
-- once; a function is called for every send, so it can hand out refreshed
-- temporary credentials (it may cache them itself).
function Client:credentials()
  local s = secrets[self]
  if s.resolved then return s.resolved end
  local c, err = credentials.resolve(s.option)
  if not c then return nil, err end
  if type(s.option) ~= "function" then s.resolved = c end
  return c
end

-- per-send option -> the Lua type it must have
local SEND_OPTIONS = { phone_number_id = "string", meta_api_version = "string", deadline = "number" }

local function check_send_opts(self, opts)
  if opts ~= nil then
    if type(opts) ~= "table" then error("send: opts must be a table (got " .. type(opts) .. ")", 4) end
    for k, v in pairs(opts) do
      local want = SEND_OPTIONS[k]
      if not want then error("send: unknown option '" .. tostring(k) .. "'", 4) end
      if type(v) ~= want then
        error("send: option '" .. k .. "' must be a " .. want .. " (got " .. type(v) .. ")", 4)
      end
    end
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
      if not (opts.deadline > 0 and opts.deadline <= 86400) then
        return nil, errors.validation("deadline", "must be a number of seconds in (0, 86400]")
      end
      deadline = opts.deadline
    end
  end
  return id, version, deadline
end

-- Words for a transport failure, with the limit that was hit.
local function describe_failure(self, kind, text, deadline)
  if (kind == "connect_timeout" or kind == "timeout") and deadline then
    return string.format("the send's deadline (%gs) was reached %s; %s: %s", deadline,
      kind == "timeout" and "after the request was sent" or "before the request was sent",
      kind == "timeout" and "the message may have been delivered" or "nothing was delivered", text)
  elseif kind == "connect_timeout" then
    return string.format("timed out before the request was sent (connect_timeout %gs, timeout %gs); "
      .. "nothing was delivered: %s", self.connect_timeout, self.timeout, text)
  elseif kind == "timeout" then
    return string.format("no answer within timeout (%gs) after the request was sent; "
      .. "the message may have been delivered: %s", self.timeout, text)
  elseif kind == "connect" then
    return "cannot reach " .. self.endpoint .. ": " .. text
  elseif kind == "tls" then
    return "TLS with " .. self.endpoint .. " failed: " .. text
  elseif kind == "response" then
    return "malformed answer: " .. text
  end
  return text
end

-- One attempt: messageId, or nil, err; then the answer's Date and
-- x-amz-retry-after headers (nil when there was no answer).
-- cut: this attempt's time limit came from the deadline, not the timeouts.
local function attempt(self, message, id, version, creds, limit_ms, cut)
  local status, value, request_id, error_type, date, retry_after = self._transport:send(message,
    config.MESSAGING_PRODUCT, id, version, creds.access_key_id, creds.secret_access_key, creds.session_token,
    self._clock_offset, limit_ms)
  if not status then
    local kind, text, field = value, request_id, error_type
    if kind == "invalid" then return nil, errors.validation(field or "message", text) end
    return nil, errors.transport(kind, describe_failure(self, kind, text, cut))
  end
  if status >= 200 and status < 300 then
    if type(value) == "table" and type(value.messageId) == "string" then return value.messageId, nil, date end
    return nil, errors.new {
      code = "ResponseError", status = status, request_id = request_id,
      message = "the answer has no messageId", retryable = false,
    }, date
  end
  return nil, errors.from_response(status, value, request_id, error_type,
    { creds.secret_access_key, creds.session_token }), date, retry_after
end

--- Sends a WhatsApp message object (a table, or its JSON text).
-- `messaging_product` defaults to "whatsapp". Returns the messageId, or nil
-- and an error object (err.attempts says how many requests were made).
-- Throttling, 5xx and connection failures are retried (standard mode, see
-- retry.lua); a signature refused because our clock is off is retried once
-- with the service's time. opts: phone_number_id, meta_api_version, deadline.
function Client:send(message, opts)
  local mt = type(message)
  if mt ~= "table" and mt ~= "string" then
    error("send: message must be a table or a JSON string (got " .. mt .. ")", 2)
  end
  local id, version, deadline = check_send_opts(self, opts)
  if not id then return nil, version end

  local started = deadline and monotonic()
  local attempts, last_cost, skew_retried = 0, 0, false
  while true do
    local creds, cerr = self:credentials()
    if not creds then
      cerr.attempts = attempts
      return nil, cerr
    end
    local limit_ms, cut
    if deadline then
      local left = deadline - (monotonic() - started)
      limit_ms = math.max(1, math.ceil(left * 1000))
      cut = left < self.timeout and deadline
    end
    attempts = attempts + 1
    local message_id, err, date, retry_after = attempt(self, message, id, version, creds, limit_ms, cut)
    local offset = self._clock_offset
    if date then self._clock_offset = retry.learn_offset(offset, os.time(), retry.parse_http_date(date)) end
    if message_id then
      retry.succeeded(self._quota, last_cost)
      return message_id
    end
    if err.code == "ParamValidationError" then -- refused here: this attempt sent nothing
      err.attempts = attempts - 1
      return nil, err
    end
    err.attempts = attempts

    local class, cost, delay = retry.class(err), nil, 0
    if retry.is_skew_code(err.code) and self._clock_offset ~= offset and not skew_retried then
      -- our clock was off by minutes: the same request, signed with the
      -- service's time, is retried at once (once per send, outside the quota)
      skew_retried, cost, class = true, 0, "skew"
    end
    if class ~= "skew" then
      if not class or attempts >= self.max_attempts then return nil, err end
      cost = retry.take(self._quota, class)
      if not cost then
        err.message = err.message .. " (not retried: the client's retry quota is spent)"
        return nil, err
      end
      delay = retry.delay(attempts, class, self.backoff, random, retry.retry_after_seconds(retry_after))
      if deadline and monotonic() - started + delay >= deadline then
        retry.succeeded(self._quota, cost) -- give back what was not used
        err.message = string.format("%s (not retried: the deadline of %gs would pass)", err.message, deadline)
        return nil, err
      end
    end
    if self.on_retry then self.on_retry(err, attempts, delay) end
    if delay > 0 then self._sleep(delay) end
    last_cost = cost
  end
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

--- Closes the connection; the client can no longer send. Safe to call twice.
function Client:close()
  self._transport:close()
end

function Client:__tostring()
  return string.format("whatsapp.client (region %s, endpoint %s, phone number %s)", self.region,
    self.endpoint, self.phone_number_id or "per send")
end

Client.__close = Client.close -- Lua 5.4: local client <close> = ...

return M

--- A client: settled configuration, credentials, a transport (the C core's
-- libcurl handle, or cosockets inside nginx) and the attempts policy its
-- calls share (whatsapp.attempts). What a call needs to reach the service is
-- the client's route, handed to the modules that make the calls
-- (service.send, batch, service.call).
local accounts = require "whatsapp.service.accounts"
local attempts = require "whatsapp.attempts"
local call = require "whatsapp.service.call"
local core = require "whatsapp.core"
local config = require "whatsapp.config"
local credentials = require "whatsapp.credentials"
local media = require "whatsapp.service.media"
local params = require "whatsapp.params"
local rate = require "whatsapp.rate"
local resty = require "whatsapp.transport.resty"
local retry = require "whatsapp.retry"
local batch = require "whatsapp.batch"
local send = require "whatsapp.service.send"
local send_later = require "whatsapp.send_later"
local senders = require "whatsapp.senders"
local transport = require "whatsapp.transport"
local validate = require "whatsapp.message.validate"

local M = {}

local Client = {}
Client.__index = Client
Client.__name = "whatsapp.client"

-- Credentials live here, not on the client table, so that dumping a client
-- (inspect, serpent, a debugger) shows no secret.
local secrets = setmetatable({}, { __mode = "k" })

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
    product = config.MESSAGING_PRODUCT,
  }
  local sleep = cfg.transport == "resty" and rawget(_G, "ngx").sleep -- yields: the worker serves others meanwhile
    or core.sleep
  local provider = credentials.provider {
    option = cfg.credentials, profile = cfg.profile_explicit and cfg.profile or nil, region = cfg.region,
    ca_file = cfg.ca_file, user_agent = cfg.user_agent or DEFAULT_USER_AGENT, timeout = cfg.timeout,
    getenv = hooks.getenv, now = hooks.now, run = hooks.run, wait = hooks.wait,
    allow_blocking_credential_process = cfg.allow_blocking_credential_process,
    -- inside nginx the credential sources (IMDS, container, STS) use cosockets too
    http = hooks.http or (cfg.transport == "resty" and resty.http { user_agent = tcfg.user_agent } or nil),
  }
  local limiter, lerr = rate.new(cfg.rate_limiter, cfg.rate_limiter_fallback)
  if not limiter then return nil, lerr end
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
    rate = cfg.rate,
  }, Client)
  secrets[self] = provider
  -- The route: everything a call needs to reach the service, handed to the
  -- modules that make calls (service.send, batch, service.call).
  self._route = {
    transport = transport.new(cfg.transport, tcfg),
    attempts = attempts.new {
      retry = self, sleep = sleep, -- (max_attempts, backoff and on_retry: the client's fields)
      quota = cfg.retry_quota and retry.new_quota(cfg.retry_quota) or nil,
      credentials = function(limit) return provider:get(limit) end,
      rate = cfg.rate, limiter = limiter,
    },
    -- for the words of a failure (errors.from_transport)
    endpoint = cfg.endpoint, timeout = cfg.timeout, connect_timeout = cfg.connect_timeout,
    -- where the other operations go: the endpoint (with any path prefix) and
    -- the Host header, as SendWhatsAppMessage's url and path are made
    region = cfg.region,
    base_url = cfg.url:sub(1, #cfg.url - #config.SEND_PATH),
    base_path = cfg.path:sub(1, #cfg.path - #config.SEND_PATH),
    host = cfg.host,
    transport_kind = cfg.transport,
    idle_batch = nil, -- a Batch kept from the last send_batch (libcurl): its connections stay open
    closed = false,
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

local NO_OPTIONS = {}

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
    return send.run(self._route, message, self.phone_number_id, self.meta_api_version, self.deadline)
  end
  local id, version, deadline, max_attempts = send.settings(self, opts)
  if not id then return nil, version end
  if mt == "table" then
    local ok, checked = send.check_message(message, opts)
    if not ok then return nil, checked end
    message = checked
  end
  return send.run(self._route, message, id, version, deadline, nil, max_attempts)
end

--- Counters of this client: requests made, signing keys derived, the
-- HTTP version of the last answer ("1.1" or "2"), the retry quota's tokens
-- left and the clock offset learned from the service (seconds).
function Client:stats()
  local route = self._route
  local st = route.transport:stats()
  st.retry_tokens = route.attempts:tokens()
  st.clock_offset = route.attempts.clock_offset
  return st
end

--- Sends many messages, several at a time (see whatsapp.batch). messages:
-- a list of message tables or JSON texts. opts: concurrency (default 16),
-- rate (messages per second for the origination number), progress
-- (function(done, total, index, result)), and send's options, for every
-- message. Returns the results in input order, each {message_id=} or
-- {err=}, and how many failed; or nil, err when none can be sent.
function Client:send_batch(messages, opts)
  local results, failed = batch.send_batch(self, self._route, messages, opts)
  return results, failed
end

--- Closes the connection; the client can no longer send. Safe to call twice.
function Client:close()
  local route = self._route
  route.closed = true
  if route.idle_batch then
    route.idle_batch:close()
    route.idle_batch = nil
  end
  route.transport:close()
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
  return call.invoke(self._route, operation, input, opts, self.deadline)
end

-- client:send_text, send_image, …, mark_read: build (whatsapp.message), then send
senders.install(Client)
-- client:send_later (OpenResty: from a timer)
send_later.install(Client)
-- client:upload_media, get_media, delete_media
media.install(Client)
-- client:list_accounts, get_account, get_phone_number, phone_numbers
accounts.install(Client)
-- client:reply(event, …); mark_read and get_media also take an inbound event
require("whatsapp.inbound.reply").install(Client)

return M

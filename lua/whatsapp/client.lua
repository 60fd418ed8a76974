--- A client: settled configuration, credentials and a transport (the C core's
-- libcurl handle). client:send turns the core's answers into messageIds and
-- error objects.
local core = require "whatsapp.core"
local config = require "whatsapp.config"
local credentials = require "whatsapp.credentials"
local errors = require "whatsapp.errors"
local params = require "whatsapp.params"
local senders = require "whatsapp.senders"
local validate = require "whatsapp.validate"

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
    profile = cfg.profile,
    connect_timeout = cfg.connect_timeout,
    timeout = cfg.timeout,
    _transport = transport,
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

-- option -> the Lua type it must have
local SEND_OPTIONS = {
  phone_number_id = "string", meta_api_version = "string",
  validate = "boolean", allow_local_number = "boolean", -- message validation (whatsapp.validate)
}

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
  if opts then
    local bad = opts.phone_number_id and params.phone_number_id(id)
    if bad then return nil, errors.validation("phone_number_id", bad) end
    bad = opts.meta_api_version and params.meta_api_version(version)
    if bad then return nil, errors.validation("meta_api_version", bad) end
  end
  return id, version
end

-- Words for a transport failure, with the limit that was hit.
local function describe_failure(self, kind, text)
  if kind == "connect_timeout" then
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

--- Sends a WhatsApp message object (a table, or its JSON text).
-- `messaging_product` defaults to "whatsapp". A table is validated first
-- (whatsapp.validate); JSON text is sent as it is. Returns the messageId, or
-- nil and an error object. opts: phone_number_id, meta_api_version,
-- validate (false: send the table unchecked), allow_local_number.
function Client:send(message, opts)
  local mt = type(message)
  if mt ~= "table" and mt ~= "string" then
    error("send: message must be a table or a JSON string (got " .. mt .. ")", 2)
  end
  local id, version = check_send_opts(self, opts)
  if not id then return nil, version end
  -- a table must pass WhatsApp's rules (whatsapp.validate); JSON text is the caller's own
  if mt == "table" and not (opts and opts.validate == false) then
    local ok, verr = validate.message(message, { allow_local_number = opts and opts.allow_local_number })
    if not ok then return nil, verr end
  end
  local creds, cerr = self:credentials()
  if not creds then return nil, cerr end

  local status, value, request_id, error_type = self._transport:send(message, config.MESSAGING_PRODUCT, id,
    version, creds.access_key_id, creds.secret_access_key, creds.session_token)
  if not status then
    local kind, text, field = value, request_id, error_type
    if kind == "invalid" then return nil, errors.validation(field or "message", text) end
    return nil, errors.transport(kind, describe_failure(self, kind, text))
  end
  if status >= 200 and status < 300 then
    if type(value) == "table" and type(value.messageId) == "string" then return value.messageId end
    return nil, errors.new {
      code = "ResponseError", status = status, request_id = request_id,
      message = "the answer has no messageId", retryable = false,
    }
  end
  return nil, errors.from_response(status, value, request_id, error_type,
    { creds.secret_access_key, creds.session_token })
end

--- Counters of this client: requests made, signing keys derived, and the
-- HTTP version of the last answer ("1.1" or "2").
function Client:stats()
  return self._transport:stats()
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

-- client:send_text, send_image, …, mark_read: build (whatsapp.message), then send
senders.install(Client)

return M

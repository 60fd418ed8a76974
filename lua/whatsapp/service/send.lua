--- SendWhatsAppMessage, shared by client:send, send_batch (over libcurl and
-- inside nginx) and send_later: the per-send options, the message check,
-- what a transport's answer to a send means, and one send through the
-- client's attempts (whatsapp.attempts). The request itself is built, signed
-- and sent by the transport (the C core; see whatsapp.transport).
local errors = require "whatsapp.errors"
local options = require "whatsapp.options"
local params = require "whatsapp.params"
local validate = require "whatsapp.message.validate"

local M = {}

--- Per-send option -> the Lua type it must have.
M.OPTIONS = {
  phone_number_id = "string", meta_api_version = "string", deadline = "number",
  validate = "boolean", allow_local_number = "boolean", -- message validation (whatsapp.message.validate)
  max_attempts = "number", -- this send's, else the client's (1: no retry, as a campaign sends)
}

--- The settings of a send: the client's, overridden by opts (send's
-- options). Raises on a wrong type or an unknown name (programming errors).
-- -> phone_number_id, meta_api_version, deadline, max_attempts (nil: the
-- client's) | nil, err
function M.settings(client, opts)
  if opts ~= nil then
    options.check("send", opts, M.OPTIONS, 4)
  end
  local id = opts and opts.phone_number_id or client.phone_number_id
  if id == nil then
    return nil, errors.validation("phone_number_id",
      "no origination phone number id: pass phone_number_id to whatsapp.new or send, or set WHATSAPP_PHONE_NUMBER_ID")
  end
  local version = opts and opts.meta_api_version or client.meta_api_version
  local deadline = client.deadline
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
    local most = opts.max_attempts
    if most ~= nil and not (most >= 1 and most % 1 == 0 and most < math.huge) then
      return nil, errors.validation("max_attempts", "must be a whole number >= 1")
    end
  end
  return id, version, deadline, opts and opts.max_attempts
end

local NO_OPTIONS, LOCAL_NUMBERS = {}, { allow_local_number = true }

--- A table message must pass WhatsApp's rules (whatsapp.message.validate)
-- unless opts.validate is false; JSON text is the caller's own. -> true and
-- the message to send (a copy where validate normalized it), or nil, err.
function M.check_message(message, opts)
  if opts and opts.validate == false then return true, message end
  return validate.message(message, opts and opts.allow_local_number and LOCAL_NUMBERS or NO_OPTIONS)
end

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

--- What a transport's answer to a send means (the send contract of
-- whatsapp.transport): messageId, or nil, err; then the answer's Date and
-- x-amz-retry-after headers (nil when there was no answer). where: the
-- client (endpoint and timeouts, for the words of a failure); call: the
-- attempt's (its creds, to keep secrets out of the error; its dl).
function M.interpret(where, call, status, value, request_id, error_type, date, retry_after)
  if status == true then return value, nil, date end -- the common answer: an id the core checked
  if not status then -- value: the kind, request_id: the words, error_type: the field
    return nil, errors.from_transport(value, request_id, error_type, where, call.dl)
  end
  local creds = call.creds
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

-- One attempt (see whatsapp.attempts: call holds creds, offset, limit_ms).
local function attempt(call, route, message, id, version)
  return M.interpret(route, call, route.transport:send(message, id, version, call.creds, call.offset, call.limit_ms))
end

--- Sends one message until success or a final failure through the route's
-- attempts. route: the client's way to the service (see whatsapp.client:
-- transport, attempts, endpoint, timeouts). interval (optional): seconds
-- between attempts for this number (else the client's rate; see
-- whatsapp.attempts); max_attempts: this send's (else the client's).
-- -> messageId | nil, err
function M.run(route, message, id, version, deadline, interval, max_attempts)
  return route.attempts:run(deadline, id, interval, max_attempts, attempt, route, message, id, version)
end

return M

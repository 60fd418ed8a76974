--- The error object every failure returns as `nil, err`.
-- Fields: code, status, message, request_id, retryable, attempts, field.
-- tostring(err) reads well and holds nothing secret: no error is ever built
-- from a credential value.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "whatsapp.error"

function Error.__tostring(e)
  local parts = { e.code }
  if e.status then parts[#parts + 1] = " (HTTP " .. e.status .. ")" end
  parts[#parts + 1] = ": "
  parts[#parts + 1] = e.message or ""
  if e.request_id then parts[#parts + 1] = " [request id " .. e.request_id .. "]" end
  return table.concat(parts)
end

local function new(fields)
  if fields.retryable == nil then fields.retryable = false end
  fields.attempts = fields.attempts or 1
  return setmetatable(fields, Error)
end
M.new = new

function M.is_error(v)
  return getmetatable(v) == Error
end

--- A value the caller gave breaks a rule; nothing was sent.
function M.validation(field, rule)
  return new {
    code = "ParamValidationError",
    field = field,
    message = field .. ": " .. rule,
    attempts = 0,
  }
end

function M.credentials(message)
  return new { code = "CredentialsError", message = message, attempts = 0 }
end

-- Which answers the AWS SDKs' standard retry mode retries (aws-api.md §4.1).
local THROTTLING = {}
for code in ([[Throttling ThrottlingException ThrottledException RequestThrottledException
  TooManyRequestsException ProvisionedThroughputExceededException TransactionInProgressException
  RequestLimitExceeded BandwidthLimitExceeded LimitExceededException RequestThrottled SlowDown
  PriorRequestNotComplete EC2ThrottledException]]):gmatch("%S+") do
  THROTTLING[code] = true
end
local TRANSIENT = {
  RequestTimeout = true, RequestTimeoutException = true,
  -- modeled with the retryable trait in the socialmessaging model
  ThrottledRequestException = true, InternalServiceException = true, DependencyException = true,
}
local TRANSIENT_STATUS = { [500] = true, [502] = true, [503] = true, [504] = true, [429] = true }

local function is_retryable(code, status)
  return THROTTLING[code] or TRANSIENT[code] or TRANSIENT_STATUS[status] or false
end
M.is_retryable = is_retryable

--- restJson1 error code rules (Smithy): cut at the first ':', keep what
-- follows the first '#'.
local function sanitize(code)
  code = tostring(code)
  code = code:match("^[^:,]*")
  code = code:match("^[^#]*#(.*)$") or code
  return code:match("^%s*(.-)%s*$")
end
M.sanitize_code = sanitize

local function truncate(s, n)
  if #s <= n then return s end
  return s:sub(1, n) .. "..."
end

--- Builds the error of a non-2xx answer the way restJson1 clients parse it:
-- code from x-amzn-ErrorType, else body code/Code/__type, else the status;
-- message from body message/Message; request id from x-amzn-RequestId.
function M.from_response(status, body, request_id, error_type)
  local code, message
  if type(body) == "table" then
    code = body.code or body.Code or body.__type
    message = body.message or body.Message
    if type(code) ~= "string" and type(code) ~= "number" then code = nil end
    if type(message) ~= "string" then message = nil end
  end
  if error_type and error_type ~= "" then code = error_type end
  code = code and sanitize(code) or ""
  if code == "" then code = tostring(status) end
  if not message then
    message = type(body) == "string" and body ~= "" and truncate(body, 200)
      or ("HTTP " .. status .. " with no error message")
  end
  return new {
    code = code,
    status = status,
    message = message,
    request_id = request_id,
    retryable = is_retryable(code, status),
  }
end

local TRANSPORT = {
  connect = { "ConnectionError", "cannot reach the endpoint: ", true },
  connect_timeout = { "TimeoutError", "connect timeout (connect_timeout) hit: ", true },
  timeout = { "TimeoutError", "request timeout (timeout) hit: ", true },
  tls = { "TLSError", "TLS failed: ", false },
  response = { "ResponseError", "malformed answer: ", true },
  transport = { "ConnectionError", "transport failed: ", true },
}

--- Maps a transport failure of the C core (kind, message) to an error.
function M.transport(kind, message)
  local t = TRANSPORT[kind] or TRANSPORT.transport
  return new { code = t[1], message = t[2] .. tostring(message), retryable = t[3] }
end

return M

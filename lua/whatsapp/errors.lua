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

-- Some AWS front ends explain a signature mismatch by quoting the canonical
-- request they expected, session token included: never pass that on.
local function redact(message, secrets)
  local cut = message:find("The Canonical String for this request should have been", 1, true)
  if cut then message = message:sub(1, cut - 1) .. "(the expected canonical request is not shown)" end
  for _, secret in ipairs(secrets or {}) do
    local from = 1
    while true do
      local i, j = message:find(secret, from, true)
      if not i then break end
      message = message:sub(1, i - 1) .. "<redacted>" .. message:sub(j + 1)
      from = i + 10
    end
  end
  return message
end

--- Builds the error of a non-2xx answer the way restJson1 clients parse it:
-- code from x-amzn-ErrorType, else body code/Code/__type, else the status;
-- message from body message/Message; request id from x-amzn-RequestId.
-- secrets: strings (secret key, session token) to strip from the message.
function M.from_response(status, body, request_id, error_type, secrets)
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
    message = redact(message, secrets),
    request_id = request_id,
    retryable = is_retryable(code, status),
  }
end

-- kind reported by the C core -> code, retryable
local TRANSPORT = {
  connect = { "ConnectionError", true },
  connect_timeout = { "TimeoutError", true }, -- nothing was sent
  timeout = { "TimeoutError", true },         -- sent; the message may have been delivered
  tls = { "TLSError", false },
  response = { "ResponseError", false },
  transport = { "ConnectionError", false },   -- libcurl failed in a way no retry mends
}

--- Maps a transport failure of the C core (kind, text) to an error; what
-- says what happened in words a user can act on.
function M.transport(kind, what)
  local t = TRANSPORT[kind] or TRANSPORT.transport
  return new { code = t[1], message = what, retryable = t[2] }
end

return M

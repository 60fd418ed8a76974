--- The error object every failure returns as `nil, err`.
-- Fields: code, status, message, request_id, retryable, attempts, field.
-- tostring(err) reads well and holds nothing secret: no error is ever built
-- from a credential value.
local codepoints = require "whatsapp.message.codepoints"

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

local printable, clean_code, clean_request_id -- (below)

local function new(fields)
  local message, code, request_id = fields.message, fields.code, fields.request_id
  -- a message may quote what a server or a program said: never a line
  -- break or a terminal escape (log forging), never unbounded; a code is an
  -- identifier, a request id printable ASCII (see from_response)
  if type(message) == "string" and (#message > 4000 or message:find("[%c\128-\255]")) then
    fields.message = printable(message, 4000)
  end
  if type(code) == "string" and (#code > M.MAX_CODE or code:find("[^%w_.%-]")) then
    fields.code = clean_code(code) or "Error"
  end
  if type(request_id) == "string" and (#request_id > M.MAX_REQUEST_ID or request_id:find("[^\33-\126]")) then
    fields.request_id = clean_request_id(request_id)
  end
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

-- Which answers the AWS SDKs' standard retry mode retries (docs/REFERENCES.md:
-- standard retries).
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

-- Some AWS front ends explain a signature mismatch by quoting the canonical
-- request they expected, session token included: never pass that on.
local CANONICAL = "The Canonical String for this request should have been"

-- A secret as a proxy, a web page or a JSON text may echo it: with '/'
-- escaped as "\/", and percent-encoded when it holds characters a URL
-- escapes (matched whatever the case of the hex digits: see M.redact).
local function encodings(secret)
  local list = { secret }
  if secret:find("/", 1, true) then list[#list + 1] = (secret:gsub("/", "\\/")) end
  local encoded = secret:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)
  if encoded ~= secret then list[#list + 1] = encoded end
  return list
end

-- Replaces in text every run that starts like s (its first `probe` bytes
-- or more): the whole of s, or any prefix of it that long.
local function cut_out(text, s, probe)
  local head, from = s:sub(1, probe), 1
  while true do
    local i = text:find(head, from, true)
    if not i then return text end
    local j, k = i + probe, probe + 1
    while k <= #s and text:byte(j) == s:byte(k) do j, k = j + 1, k + 1 end
    text = text:sub(1, i - 1) .. "<redacted>" .. text:sub(j)
    from = i + 10
  end
end

--- Removes secrets from text a server (or a program) sent back: each secret
-- of the list (holes allowed), whole or any prefix of 8 bytes or more, as
-- it is and percent-encoded; a secret shorter than 8 bytes only whole. Also
-- cuts an AWS front end's quote of the canonical request it expected.
function M.redact(text, secrets)
  local cut = text:find(CANONICAL, 1, true)
  if cut then text = text:sub(1, cut - 1) .. "(the expected canonical request is not shown)" end
  -- percent escapes in one case, so that an encoded secret matches whatever
  -- case the hex digits came in
  if text:find("%%%x%x") then text = text:gsub("%%(%x%x)", function(h) return "%" .. h:upper() end) end
  for _, secret in pairs(secrets or {}) do
    if type(secret) == "string" and #secret >= 4 then
      for _, form in ipairs(encodings(secret)) do
        text = cut_out(text, form, math.min(8, #form))
      end
    end
  end
  return text
end

--- Printable text of at most max bytes: control characters (C0, DEL and
-- C1, so no line break, carriage return or terminal escape gets through)
-- become spaces, bytes that are not UTF-8 become '?', and a cut is made on
-- a character boundary, marked "...".
function printable(text, max)
  text = text:gsub("[%z\1-\31\127]", " "):gsub("\194[\128-\159]", " ")
  if text:find("[\128-\255]") and not codepoints.len(text) then text = text:gsub("[\128-\255]", "?") end
  if #text > max then
    local cut = max
    while cut > 0 and text:byte(cut + 1) and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do
      cut = cut - 1
    end
    text = text:sub(1, cut) .. "..."
  end
  return text
end
M.printable = printable

M.MAX_MESSAGE = 1000   -- bytes of an error message
M.MAX_CODE = 128       -- bytes of an error code
M.MAX_REQUEST_ID = 128 -- bytes of a request id

--- What a server sent, fit for an error message: secrets removed first (a
-- cut must not leave a secret's first bytes), then printable text of at most
-- max bytes (M.MAX_MESSAGE by default).
function M.clean(text, secrets, max)
  -- redacted again once printable: a secret holding a character printable()
  -- replaces must not come back together
  return M.redact(printable(M.redact(tostring(text), secrets), max or M.MAX_MESSAGE), secrets)
end

-- An error code as a server sent it -> the code (restJson1's rules, then
-- the identifier it starts with), or nil when nothing of it is usable.
function clean_code(code, secrets)
  code = sanitize(M.redact(tostring(code), secrets)):match("^[%w_.%-]*"):sub(1, M.MAX_CODE)
  return code ~= "" and code or nil
end

--- A request id as a server sent it: secrets removed, printable ASCII
-- without spaces, at most M.MAX_REQUEST_ID bytes; nil when nothing is left.
function clean_request_id(id, secrets)
  if id == nil then return nil end
  id = M.redact(tostring(id), secrets):match("^[\33-\126]*"):sub(1, M.MAX_REQUEST_ID)
  return id ~= "" and id or nil
end
M.clean_request_id = clean_request_id

--- Builds the error of a non-2xx answer the way restJson1 clients parse it:
-- code from x-amzn-ErrorType, else body code/Code/__type, else the status;
-- message from body message/Message; request id from x-amzn-RequestId.
-- secrets: strings (secret key, session token) to strip from every field.
-- Whatever the server sent is hostile: every field is printable, bounded
-- and holds no secret (nor a secret's first 8 bytes).
function M.from_response(status, body, request_id, error_type, secrets)
  local code, message
  if type(body) == "table" then
    code = body.code or body.Code or body.__type
    message = body.message or body.Message
    if type(code) ~= "string" and type(code) ~= "number" then code = nil end
    if type(message) ~= "string" then message = nil end
  end
  if error_type and error_type ~= "" then code = error_type end
  code = code and clean_code(code, secrets) or tostring(status)
  if not message then
    message = type(body) == "string" and body ~= "" and body or ("HTTP " .. status .. " with no error message")
  end
  return new {
    code = code,
    status = status,
    message = M.clean(message, secrets, type(body) == "string" and 200 or M.MAX_MESSAGE),
    request_id = clean_request_id(request_id, secrets),
    retryable = is_retryable(code, status),
  }
end

--- The failure kinds, one table for every transport (the core's libcurl
-- client and Batch, the cosocket transport, the credentials' http): kind ->
-- the error code and whether a retry may mend it. The contract of a
-- transport is written in whatsapp.transport (transport/init.lua).
M.KINDS = {
  connect = { code = "ConnectionError", retryable = true },      -- nothing was sent
  connect_timeout = { code = "TimeoutError", retryable = true }, -- nothing was sent
  timeout = { code = "TimeoutError", retryable = true },         -- sent; the message may have been delivered
  lost = { code = "ConnectionError", retryable = true },         -- sent, then the connection failed
  tls = { code = "TLSError", retryable = false },
  response = { code = "ResponseError", retryable = false },      -- an answer that breaks HTTP or a limit
  transport = { code = "ConnectionError", retryable = false },   -- libcurl failed in a way no retry mends
  invalid = { code = "ParamValidationError", retryable = false }, -- refused before anything was sent
  unavailable = { code = "TransportUnavailable", retryable = false }, -- no transport here (a phase without cosockets)
}
local KINDS = M.KINDS

--- Maps a transport failure (kind, text) to an error; what says what
-- happened in words a user can act on.
function M.transport(kind, what)
  local t = KINDS[kind] or KINDS.transport
  return new { code = t.code, message = what, retryable = t.retryable }
end

-- What a failed exchange did or did not do, in the words of a send (the
-- default) or of another call (field: what an "invalid" failure names).
local SEND_EFFECT = { name = "send", sent = "the message may have been delivered", unsent = "nothing was delivered",
  field = "message" }

-- Words for a transport failure, with the limit that was hit.
local function describe(kind, text, where, dl, effect)
  local cut = dl and ((kind == "timeout" and dl.left < where.timeout)
    or (kind == "connect_timeout" and dl.left < where.connect_timeout))
  if cut then
    return string.format("the %s's deadline (%gs) was reached %s; %s: %s", effect.name, dl.deadline,
      kind == "timeout" and "after the request was sent" or "before the request was sent",
      kind == "timeout" and effect.sent or effect.unsent, text)
  elseif kind == "connect_timeout" then
    return string.format("timed out before the request was sent (connect_timeout %gs, timeout %gs); "
      .. "%s: %s", where.connect_timeout, where.timeout, effect.unsent, text)
  elseif kind == "timeout" then
    return string.format("no answer within timeout (%gs) after the request was sent; "
      .. "%s: %s", where.timeout, effect.sent, text)
  elseif kind == "connect" then
    return "cannot reach " .. where.endpoint .. ": " .. text
  elseif kind == "lost" then
    return "the connection to " .. where.endpoint .. " failed after the request was sent; "
      .. effect.sent .. ": " .. text
  elseif kind == "tls" then
    return "TLS with " .. where.endpoint .. " failed: " .. text
  elseif kind == "response" then
    return "malformed answer: " .. text
  end
  return text
end

--- The one mapping from a transport failure (kind, text, field: what the
-- transport reported) to the error object of a call. where: the client's
-- endpoint, timeout and connect_timeout (for the words); dl: {deadline=,
-- left=} when a deadline limited the attempt; effect: {name=, sent=,
-- unsent=, field=}, what the call may have done (a send's words when nil).
function M.from_transport(kind, text, field, where, dl, effect)
  effect = effect or SEND_EFFECT
  if kind == "invalid" then return M.validation(field or effect.field, text) end
  if kind == "unavailable" then return new { code = "TransportUnavailable", message = text, attempts = 0 } end
  return M.transport(kind, describe(kind, text, where, dl, effect))
end

return M

--- SendWhatsAppMessage parameters, checked before anything leaves the machine
-- with the constraints of the service model (docs/REFERENCES.md: service model).
-- Each check returns nil when the value is fine, else the rule it breaks.
local core = require "whatsapp.core"

local M = {}

M.MAX_MESSAGE_BYTES = 2048000 -- WhatsAppMessageBlob max, counted before base64

--- An environment value, or nil when unset or empty.
function M.nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

local function has_ctl(s)
  return s:find("[%z\1-\31\127]") ~= nil
end

--- WhatsAppPhoneNumberId: 1..115 chars, pattern
-- `.*(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$).*`.
-- With Java regex semantics ('.' stops at line breaks, '^'/'$' anchor the whole
-- input) that is: "phone-number-id-" and more, or an ARN ending in
-- ":phone-number-id/<alphanumerics>".
function M.phone_number_id(v)
  if type(v) ~= "string" then return "must be a string (got " .. type(v) .. ")" end
  if #v < 1 or #v > 115 then return "must be 1..115 characters (got " .. #v .. ")" end
  if has_ctl(v) then return "must not contain control characters (CR, LF, ...)" end
  -- it goes into the JSON body, which must be UTF-8 (the service refuses it whole)
  if not core.utf8_valid(v) then return "must be valid UTF-8" end
  if v:find("^phone%-number%-id%-") or v:find("^arn:.*:phone%-number%-id/%w+$") then
    return nil
  end
  return 'must look like "phone-number-id-…" or "arn:…:phone-number-id/…"'
end

--- metaApiVersion: "v" followed by digits, optionally ".digits" (v20.0).
function M.meta_api_version(v)
  if type(v) ~= "string" then return "must be a string (got " .. type(v) .. ")" end
  if v:find("^v%d+$") or v:find("^v%d+%.%d+$") then return nil end
  return 'must be "v<digits>[.<digits>]", e.g. "v20.0"'
end

local function nonempty_string(v)
  if type(v) ~= "string" then return "must be a string (got " .. type(v) .. ")" end
  if v == "" then return "must not be empty" end
  return nil
end

--- The access key id goes into the Authorization header's Credential=.
function M.access_key_id(v)
  local bad = nonempty_string(v)
  if bad then return bad end
  if not v:find("^[%w_%-.]+$") then return "must be ASCII letters and digits (like AKIA...)" end
  return nil
end

--- The secret only keys the HMAC, but a line break in it is always a paste error.
function M.secret_access_key(v)
  local bad = nonempty_string(v)
  if bad then return bad end
  if has_ctl(v) then return "must not contain CR, LF or other control characters" end
  return nil
end

--- The session token is sent as the X-Amz-Security-Token header.
function M.session_token(v)
  local bad = nonempty_string(v)
  if bad then return bad end
  if not v:find("^[\33-\126]+$") then return "must be printable ASCII without spaces, CR or LF" end
  return nil
end

--- The User-Agent header.
function M.user_agent(v)
  if not v:find("^[\32-\126]+$") then return "must be printable ASCII (no CR, LF or other control characters)" end
  return nil
end

--- Region: the credential scope and the host name are built from it.
function M.region(v)
  if type(v) ~= "string" then return "must be a string (got " .. type(v) .. ")" end
  if #v > 63 or not v:find("^[%l%d][%l%d%-]*$") then
    return 'must be a region name such as "us-east-1"'
  end
  return nil
end

return M

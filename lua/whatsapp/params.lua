--- SendWhatsAppMessage parameters, checked before anything leaves the machine
-- with the constraints of the service model (shared/aws/socialmessaging-model).
-- Each check returns nil when the value is fine, else the rule it breaks.
local M = {}

M.MAX_MESSAGE_BYTES = 2048000 -- WhatsAppMessageBlob max, counted before base64

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

--- A value that goes into a header (key id, token) or the credential scope.
function M.header_safe(v)
  if type(v) ~= "string" then return "must be a string (got " .. type(v) .. ")" end
  if v == "" then return "must not be empty" end
  if has_ctl(v) then return "must not contain CR, LF or other control characters" end
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

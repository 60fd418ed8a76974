--- Amazon SNS HTTP/S deliveries: the envelope checked, the refusals that
-- need no network decided first (type, raw delivery, headers, signature
-- version, topic allow-list, certificate URL, timestamp), then the
-- signature verified (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA)
-- over the string SNS signs (REFERENCES: SNS signatures).
local core = require "whatsapp.core"
local time = require "whatsapp.time"
local cert = require "whatsapp.inbound.cert"

local M = {}

local refuse = cert.refuse

-- The signed keys, in byte order, per type; a key is in the string only when present.
local SIGNED = {
  Notification = { "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type" },
  SubscriptionConfirmation = { "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type" },
}
SIGNED.UnsubscribeConfirmation = SIGNED.SubscriptionConfirmation
M.SIGNED = SIGNED

local REQUIRED = { "Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature",
  "SigningCertURL" }

--- The string SNS signs for a decoded body t (its Type already checked).
function M.string_to_sign(t)
  local parts = {}
  for _, key in ipairs(SIGNED[t.Type]) do
    local v = t[key]
    if type(v) == "string" then
      parts[#parts + 1] = key
      parts[#parts + 1] = v
    end
  end
  parts[#parts + 1] = ""
  return table.concat(parts, "\n")
end

local function malformed(message)
  return refuse("SnsMalformed", 400, message)
end

-- Field presence and types, and the type. -> true | nil, err
local function check_fields(t)
  for _, key in ipairs(REQUIRED) do
    if t[key] == nil then return malformed(key .. " is missing") end
    if type(t[key]) ~= "string" then
      if key == "SignatureVersion" then
        return refuse("SnsSignatureVersion", 403, "SignatureVersion must be \"1\" or \"2\"")
      end
      return malformed(key .. " must be a string")
    end
  end
  if not SIGNED[t.Type] then
    return refuse("SnsUnsupportedType", 400,
      "Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation")
  end
  if t.Subject ~= nil and type(t.Subject) ~= "string" then return malformed("Subject must be a string") end
  if t.Type ~= "Notification" then
    for _, key in ipairs { "SubscribeURL", "Token" } do
      if type(t[key]) ~= "string" then return malformed(key .. " is missing or not a string") end
    end
  end
  return true
end

-- The x-amz-sns-* headers, when present, must say what the body says.
local HEADER_OF = { Type = "x-amz-sns-message-type", MessageId = "x-amz-sns-message-id",
  TopicArn = "x-amz-sns-topic-arn" }

local function check_headers(t, headers)
  for key, name in pairs(HEADER_OF) do
    local h = headers[name]
    if h ~= nil and h ~= t[key] then
      return refuse("SnsHeaderMismatch", 400, "the " .. name .. " header does not match the body's " .. key)
    end
  end
  return true
end

local function check_version(rx, t)
  local v = t.SignatureVersion
  if v ~= "1" and v ~= "2" then return refuse("SnsSignatureVersion", 403, "SignatureVersion must be \"1\" or \"2\"") end
  if tonumber(v) < rx.min_signature_version then
    return refuse("SnsSignatureVersion", 403, "SignatureVersion " .. v .. " is below the minimum of "
      .. rx.min_signature_version)
  end
  return true
end

local function check_time(rx, t, now)
  local at = time.parse_iso8601(t.Timestamp)
  if not at then return refuse("SnsStale", 403, "Timestamp is not an ISO 8601 time") end
  if at < now - rx.max_age then return refuse("SnsStale", 403, "Timestamp is older than max_age") end
  if at > now + rx.max_skew then return refuse("SnsFuture", 403, "Timestamp is in the future (beyond max_skew)") end
  return true
end

local function check_signature(rx, t, now)
  local sig = core.base64_decode(t.Signature)
  if not sig or #sig == 0 then return refuse("SnsSignature", 403, "Signature is not base64") end
  local key, err = cert.key(rx, t.SigningCertURL, now)
  if not key then return nil, err end
  local ok, why = key:verify(t.SignatureVersion == "1" and "sha1" or "sha256", M.string_to_sign(t), sig)
  if ok then return true end
  if why == "disabled" then
    return refuse("SnsSha1Disabled", 503, "SHA-1 signatures are disabled by this system's crypto policy; set the "
      .. "topic's SignatureVersion to 2", true)
  end
  return refuse("SnsSignature", 403, "the signature does not verify")
end

--- A decoded SNS body t with the request's headers (lowercased names)
-- verified. -> true | nil, err
function M.verify(rx, t, headers)
  local ok, err = check_fields(t)
  if ok then ok, err = check_headers(t, headers) end
  if ok then ok, err = check_version(rx, t) end
  if ok and not rx.topics[t.TopicArn] then
    ok, err = refuse("SnsTopic", 403, "TopicArn is not one of topic_arns")
  end
  if ok then ok, err = cert.check_url(t.SigningCertURL, rx.cert_host_patterns, rx.cert_path_pattern) end
  local now = rx.clock()
  if ok then ok, err = check_time(rx, t, now) end
  if ok then ok, err = check_signature(rx, t, now) end
  return ok, err
end

--- The SubscribeURL of a verified confirmation: https, an allowed host,
-- path "/", Action=ConfirmSubscription and the message's own TopicArn.
-- -> true | nil, err (SnsSubscribeUrl)
function M.check_subscribe_url(rx, t)
  local host, path, query = cert.split(t.SubscribeURL, "SubscribeURL")
  local why = not host and path
  if host then
    local params = {}
    for k, v in (query or ""):gmatch("([^&=]+)=([^&]*)") do
      params[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
    if not cert.host_allowed(host, rx.cert_host_patterns) then
      why = "SubscribeURL host is not an SNS host of the allowed pattern"
    elseif path ~= "/" or params.Action ~= "ConfirmSubscription" then
      why = "SubscribeURL is not a ConfirmSubscription URL"
    elseif params.TopicArn ~= t.TopicArn then
      why = "SubscribeURL names another topic"
    end
  end
  if why then return refuse("SnsSubscribeUrl", 403, why) end
  return true
end

return M

--- AWS STS, the two calls the credential providers need: AssumeRole (signed
-- with SigV4 by the C signer, service "sts") and AssumeRoleWithWebIdentity
-- (unsigned). STS speaks the query protocol: a form-encoded POST, an XML
-- answer. Functions return plain values or nil and a reason (text without
-- any secret); the providers turn reasons into CredentialsErrors.
local common = require "whatsapp.credentials.common"
local config = require "whatsapp.config"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local params = require "whatsapp.params"
local shared = require "whatsapp.credentials.files"
local time = require "whatsapp.time"
local urls = require "whatsapp.url"
local xml = require "whatsapp.credentials.xml"

local M = {}

local VERSION = "2011-06-15"
local nonempty = params.nonempty

--- Where STS is: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's
-- services section or endpoint_url (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS),
-- else the regional endpoint of ctx.region (the global one without a region).
-- Returns url, signing region.
function M.endpoint(ctx)
  local getenv = ctx.getenv
  local region = ctx.region or "us-east-1"
  local props, file = ctx.settings()
  local ignore = nonempty(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
    or shared.get(props, "ignore_configured_endpoint_urls")
  if not (ignore and ignore:lower() == "true") then
    local url = nonempty(getenv("AWS_ENDPOINT_URL_STS")) or nonempty(getenv("AWS_ENDPOINT_URL"))
      or shared.service_endpoint(props, file, "sts") or shared.get(props, "endpoint_url")
    if url then return url, region end
  end
  if not ctx.region then return "https://sts.amazonaws.com", region end
  return "https://sts." .. region .. "." .. (config.partition(region)), region
end

-- application/x-www-form-urlencoded with AWS's unreserved set
local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

local function form(action, args)
  local keys = {}
  for k in pairs(args) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { "Action=" .. action, "Version=" .. VERSION }
  for _, k in ipairs(keys) do parts[#parts + 1] = encode(k) .. "=" .. encode(tostring(args[k])) end
  return table.concat(parts, "&")
end

-- scheme, host header (lowercase, port only when not the default), path;
-- nil unless an http(s) URL with a host, no user information, query or fragment
local function split_url(s)
  local u = urls.parse(s)
  if not u or (u.scheme ~= "http" and u.scheme ~= "https") or u.userinfo or u.query or u.fragment then return nil end
  if not u.host:find(u.ipv6 and "^[%x:.]+$" or "^[%w.-]+$") or not urls.good_port(u) then
    return nil
  end
  return u.scheme, urls.host_header(u), u.path == "" and "/" or u.path
end

local function text_of(el, ...)
  local e = xml.find(el, ...)
  return e and e.text
end

--- Calls an action. creds (a credentials table) signs the request; without
-- them it goes unsigned. secrets: strings to keep out of messages.
-- Returns the <Action>Result element, or nil and a reason.
local function call(ctx, action, args, creds, secrets)
  local url, region = M.endpoint(ctx)
  local scheme, host, path = split_url(url)
  if not scheme then return nil, "the STS endpoint " .. url .. " is not an http(s) URL" end
  local body = form(action, args)
  local amz_date = time.amz_date(time.now()) -- the real clock, whatever ctx.now says about expiry
  local content_type = "application/x-www-form-urlencoded; charset=utf-8"
  local headers = { ["Content-Type"] = content_type, Host = host, ["X-Amz-Date"] = amz_date,
    Accept = "text/xml" }
  if creds then
    local sign_headers = { { "content-type", content_type }, { "host", host }, { "x-amz-date", amz_date } }
    if creds.session_token then
      headers["X-Amz-Security-Token"] = creds.session_token
      sign_headers[#sign_headers + 1] = { "x-amz-security-token", creds.session_token }
    end
    local signed, _, why = core.sign {
      method = "POST", path = path, headers = sign_headers, body = body, region = region, service = "sts",
      access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key, amz_date = amz_date,
    }
    if not signed then return nil, "cannot sign the STS request: " .. tostring(why) end
    headers.Authorization = signed.authorization
  end
  local timeout = common.left(ctx, ctx.timeout) -- the client's timeout, or what the fetch has left
  if not timeout then return nil, "STS " .. action .. " at " .. url .. ": " .. common.NO_TIME end
  local status, text, _ = ctx.http("POST", url, headers, body, timeout)
  if not status then
    local kind, message = text, _
    if kind == "connect_timeout" or kind == "timeout" then
      return nil, string.format("STS %s at %s: no answer within %g s", action, url, timeout)
    end
    return nil, "STS " .. action .. " at " .. url .. ": " .. tostring(kind) .. ": "
      .. tostring(message):gsub("[%c]", " ")
  end
  local doc, bad = xml.parse(text)
  if status ~= 200 then
    local code = doc and text_of(doc, "Error", "Code")
    local message = doc and text_of(doc, "Error", "Message")
    local request_id = doc and (text_of(doc, "RequestId") or text_of(doc, "ResponseMetadata", "RequestId"))
    local why = "STS " .. action .. " failed: HTTP " .. status
    if code then why = why .. " " .. code end
    if message then why = why .. ": " .. message end
    if request_id then why = why .. " [request id " .. request_id .. "]" end
    -- redacted before it is cut: a cut must not leave a secret's first bytes
    return nil, errors.clean(why, secrets, 500)
  end
  if not doc then return nil, "STS " .. action .. " answered with malformed XML: " .. bad end
  local result = doc.name == action .. "Response" and xml.child(doc, action .. "Result")
  if not result then
    return nil, "STS " .. action .. " answered without " .. action .. "Response/" .. action .. "Result"
  end
  return result
end

-- The Credentials element of a result as a credentials table (fields unchecked).
local function credentials_of(action, result)
  local c = xml.child(result, "Credentials")
  if not c then return nil, "STS " .. action .. " answered without Credentials" end
  return {
    access_key_id = text_of(c, "AccessKeyId"),
    secret_access_key = text_of(c, "SecretAccessKey"),
    session_token = text_of(c, "SessionToken"),
    expiration = text_of(c, "Expiration"),
  }
end

M.LABELS = {
  access_key_id = "STS's AccessKeyId", secret_access_key = "STS's SecretAccessKey",
  session_token = "STS's SessionToken", expiration = "STS's Expiration",
}

--- AssumeRole with source credentials. p: role_arn, session_name,
-- external_id?, duration_seconds?. Returns a credentials table or nil, reason.
function M.assume_role(ctx, source, p)
  local result, why = call(ctx, "AssumeRole", {
    RoleArn = p.role_arn, RoleSessionName = p.session_name, ExternalId = p.external_id,
    DurationSeconds = p.duration_seconds,
  }, source, { source.secret_access_key, source.session_token })
  if not result then return nil, why end
  return credentials_of("AssumeRole", result)
end

--- AssumeRoleWithWebIdentity. p: role_arn, session_name, token,
-- duration_seconds?. Returns a credentials table or nil, reason.
function M.assume_role_with_web_identity(ctx, p)
  local result, why = call(ctx, "AssumeRoleWithWebIdentity", {
    RoleArn = p.role_arn, RoleSessionName = p.session_name, WebIdentityToken = p.token,
    DurationSeconds = p.duration_seconds,
  }, nil, { p.token })
  if not result then return nil, why end
  return credentials_of("AssumeRoleWithWebIdentity", result)
end

return M

--- EC2 instance metadata (IMDSv2): PUT a session token, GET the role name,
-- GET the role's credentials. AWS_EC2_METADATA_DISABLED=true turns it off;
-- AWS_EC2_METADATA_SERVICE_ENDPOINT (or the profile's
-- ec2_metadata_service_endpoint, or _mode IPv6) moves it; the timeout is
-- AWS_METADATA_SERVICE_TIMEOUT or metadata_service_timeout, 1 s by default.
-- A token request answered 403/404/405 falls back to IMDSv1 unless
-- AWS_EC2_METADATA_V1_DISABLED (or ec2_metadata_v1_disabled) is true.
--
-- No metadata service at all (no answer to the token request) or no role
-- attached (404) lets the chain end with "nothing found"; a service that
-- answers but fails or says nonsense is a CredentialsError.
local common = require "whatsapp.credentials.common"
local core = require "whatsapp.core"
local shared = require "whatsapp.credentials.files"

local M = { name = "instance metadata (IMDS)" }

local nonempty = common.nonempty

M.TOKEN_PATH = "/latest/api/token"
M.ROLE_PATH = "/latest/meta-data/iam/security-credentials/"

local function settings(ctx)
  local getenv = ctx.getenv
  local props = ctx.settings()
  local base = nonempty(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
    or shared.get(props, "ec2_metadata_service_endpoint")
  if not base then
    local mode = nonempty(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"))
      or shared.get(props, "ec2_metadata_service_endpoint_mode")
    base = mode and mode:lower() == "ipv6" and "http://[fd00:ec2::254]" or "http://169.254.169.254"
  end
  base = base:gsub("/+$", "")
  local timeout = tonumber(nonempty(getenv("AWS_METADATA_SERVICE_TIMEOUT"))
    or shared.get(props, "metadata_service_timeout") or 1)
  if not timeout or timeout <= 0 then timeout = 1 end
  local v1_disabled = common.truthy(nonempty(getenv("AWS_EC2_METADATA_V1_DISABLED"))
    or shared.get(props, "ec2_metadata_v1_disabled"))
  return base, timeout, v1_disabled
end

local function failed(why)
  return nil, common.fail(M.name, why)
end

-- One request, with the timeout, or what the fetch has left if less.
-- Returns the timeout it got, then what ctx.http returns.
local function ask(ctx, timeout, method, url, headers)
  local t = common.left(ctx, timeout)
  if not t then return nil, nil, "deadline", common.NO_TIME end
  return t, ctx.http(method, url, headers, nil, t)
end

-- s: the state of one load: ctx, base, timeout, v1_disabled, and first
-- (the first fetch may pass; a refresh may not). Each step returns its
-- result, or nil and what the fetch returns after nil.

-- 1. the session token: the headers of the next requests (none for IMDSv1)
local function session_headers(s)
  local t, status, body, kind = ask(s.ctx, s.timeout, "PUT", s.base .. M.TOKEN_PATH,
    { ["x-aws-ec2-metadata-token-ttl-seconds"] = "21600" })
  if not status then
    local why = "no metadata service at " .. s.base .. ": " .. common.describe_http(body, kind, t)
    if s.first then return nil, why end
    return failed(why)
  end
  if status == 200 and body:find("^[\33-\126]+$") then
    return { ["x-aws-ec2-metadata-token"] = body }
  elseif status == 403 or status == 404 or status == 405 then
    if s.v1_disabled then
      return failed("the token request was answered HTTP " .. status .. " and IMDSv1 is disabled")
    end
    return {}
  elseif status == 200 then
    return failed("the token request was answered 200 without a usable token")
  end
  return failed("the token request was answered HTTP " .. status)
end

-- 2. the role
local function role_name(s, headers)
  local t, status, body, kind = ask(s.ctx, s.timeout, "GET", s.base .. M.ROLE_PATH, headers)
  if not status then return failed("the role request: " .. common.describe_http(body, kind, t)) end
  if status == 404 and s.first then return nil, "no IAM role is attached to the instance (HTTP 404)" end
  if status ~= 200 then return failed("the role request was answered HTTP " .. status) end
  local role = body:match("^%s*([^\r\n]-)%s*[\r\n]") or body:match("^%s*(.-)%s*$")
  if role == "" or not role:find("^[%w+=,.@_-]+$") then
    return failed("the role request was answered with no usable role name")
  end
  return role
end

-- 3. the credentials, as the decoded JSON object
local function credentials_doc(s, headers, role)
  local t, status, body, kind = ask(s.ctx, s.timeout, "GET", s.base .. M.ROLE_PATH .. role, headers)
  if not status then return failed("the credentials request: " .. common.describe_http(body, kind, t)) end
  if status ~= 200 then return failed("the credentials request was answered HTTP " .. status) end
  local doc = core.decode(body)
  if type(doc) ~= "table" or doc[1] ~= nil then
    return failed("the credentials request was answered 200 without a JSON object")
  end
  if doc.Code ~= nil and doc.Code ~= "Success" then
    return failed("the credentials answer says Code " .. common.excerpt(tostring(doc.Code), 60)
      .. (type(doc.Message) == "string" and (": " .. common.excerpt(doc.Message)) or ""))
  end
  return doc
end

-- fetch: the function that calls this again (the refresh of what it makes)
local function fetch_credentials(s, fetch)
  local headers, why = session_headers(s)
  if not headers then return nil, why end
  local role
  role, why = role_name(s, headers)
  if not role then return nil, why end
  local doc
  doc, why = credentials_doc(s, headers, role)
  if not doc then return nil, why end
  s.first = false
  return common.from_document(M.name, doc, fetch)
end

function M.load(ctx)
  if common.truthy(nonempty(ctx.getenv("AWS_EC2_METADATA_DISABLED"))) then
    return nil, "disabled by AWS_EC2_METADATA_DISABLED"
  end
  local s = { ctx = ctx, first = true }
  s.base, s.timeout, s.v1_disabled = settings(ctx)
  local function fetch()
    return fetch_credentials(s, fetch)
  end
  return fetch()
end

return M

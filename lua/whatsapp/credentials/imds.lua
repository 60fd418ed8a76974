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

local LABELS = {
  access_key_id = "AccessKeyId", secret_access_key = "SecretAccessKey", session_token = "Token",
  expiration = "Expiration",
}

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

function M.load(ctx)
  if common.truthy(nonempty(ctx.getenv("AWS_EC2_METADATA_DISABLED"))) then
    return nil, "disabled by AWS_EC2_METADATA_DISABLED"
  end
  local base, timeout, v1_disabled = settings(ctx)
  local first = true -- the first fetch may pass; a refresh may not

  local function fetch()
    local function failed(why)
      return nil, common.fail(M.name, why)
    end
    -- each request gets the timeout, or what the fetch has left if less
    local t = timeout
    local function ask(method, url, headers)
      t = common.left(ctx, timeout)
      if not t then return nil, "deadline", common.NO_TIME end
      return ctx.http(method, url, headers, nil, t)
    end
    -- 1. the session token
    local status, body, kind = ask("PUT", base .. M.TOKEN_PATH,
      { ["x-aws-ec2-metadata-token-ttl-seconds"] = "21600" })
    if not status then
      local why = "no metadata service at " .. base .. ": " .. common.describe_http(body, kind, t)
      if first then return nil, why end
      return failed(why)
    end
    local headers = {}
    if status == 200 and body:find("^[\33-\126]+$") then
      headers["x-aws-ec2-metadata-token"] = body
    elseif status == 403 or status == 404 or status == 405 then
      if v1_disabled then
        return failed("the token request was answered HTTP " .. status .. " and IMDSv1 is disabled")
      end
    elseif status == 200 then
      return failed("the token request was answered 200 without a usable token")
    else
      return failed("the token request was answered HTTP " .. status)
    end
    -- 2. the role
    status, body, kind = ask("GET", base .. M.ROLE_PATH, headers)
    if not status then return failed("the role request: " .. common.describe_http(body, kind, t)) end
    if status == 404 and first then return nil, "no IAM role is attached to the instance (HTTP 404)" end
    if status ~= 200 then return failed("the role request was answered HTTP " .. status) end
    local role = body:match("^%s*([^\r\n]-)%s*[\r\n]") or body:match("^%s*(.-)%s*$")
    if role == "" or not role:find("^[%w+=,.@_-]+$") then
      return failed("the role request was answered with no usable role name")
    end
    -- 3. the credentials
    status, body, kind = ask("GET", base .. M.ROLE_PATH .. role, headers)
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
    first = false
    return common.make(M.name, {
      access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
      session_token = doc.Token ~= core.null and doc.Token or nil,
      expiration = doc.Expiration ~= core.null and doc.Expiration or nil,
    }, LABELS, fetch)
  end
  return fetch()
end

return M

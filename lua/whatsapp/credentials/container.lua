--- The container credentials endpoint (ECS tasks, EKS Pod Identity):
-- AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
-- AWS_CONTAINER_CREDENTIALS_FULL_URI, with an Authorization header from
-- AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch; it wins) or
-- AWS_CONTAINER_AUTHORIZATION_TOKEN. A full URI must be https, or http to a
-- loopback address or one of the container hosts (the SDKs' allowed-host rule).
local common = require "whatsapp.credentials.common"
local core = require "whatsapp.core"
local urls = require "whatsapp.url"

local M = { name = "container" }

local nonempty = common.nonempty

M.TIMEOUT = 2 -- seconds, as botocore
M.ECS_HOST = "http://169.254.170.2"

local ALLOWED = {
  ["localhost"] = true, ["[::1]"] = true, ["169.254.170.2"] = true, ["169.254.170.23"] = true,
  ["[fd00:ec2::23]"] = true,
}

--- nil when url may carry credentials, else why not.
function M.check_full_uri(url)
  local u = urls.parse(url)
  if not u then return "is not a URL" end
  local scheme = u.scheme
  if u.userinfo then return "must not hold user information" end
  local host = u.ipv6 and "[" .. u.host .. "]" or u.host
  if scheme == "https" then return nil end
  if scheme ~= "http" then return "must use http or https" end
  if ALLOWED[host] or host:find("^127%.%d+%.%d+%.%d+$") then return nil end
  return "uses http to " .. host .. "; http is only allowed to a loopback address, 169.254.170.2, "
    .. "169.254.170.23 or fd00:ec2::23 (else use https)"
end

local function authorization(getenv)
  local file = nonempty(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
  local token
  if file then
    local text, why = common.read_token(file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if not text then return nil, why end
    token = text:gsub("%s+$", "")
  else
    token = nonempty(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
  end
  if token and token:find("[\r\n]") then return nil, "the authorization token holds CR or LF" end
  return token or false
end

function M.load(ctx)
  local getenv = ctx.getenv
  local relative = nonempty(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
  local full = nonempty(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
  if not relative and not full then
    return nil, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set"
  end
  local url
  if relative then
    if relative:sub(1, 1) ~= "/" then
      return nil, common.fail(M.name, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'")
    end
    url = M.ECS_HOST .. relative
  else
    local bad = M.check_full_uri(full)
    if bad then return nil, common.fail(M.name, "AWS_CONTAINER_CREDENTIALS_FULL_URI " .. bad) end
    url = full
  end
  local function fetch()
    local token, why = authorization(getenv)
    if token == nil then return nil, common.fail(M.name, why) end
    local headers = { Accept = "application/json" }
    if token then headers.Authorization = token end
    local timeout = common.left(ctx, M.TIMEOUT)
    if not timeout then return nil, common.fail(M.name, url .. ": " .. common.NO_TIME) end
    local status, body, kind = ctx.http("GET", url, headers, nil, timeout)
    if not status then
      return nil, common.fail(M.name, url .. ": " .. common.describe_http(body, kind, timeout))
    end
    local doc = core.decode(body)
    if status ~= 200 then
      local detail = ""
      if type(doc) == "table" then
        local code, message = doc.code or doc.Code, doc.message or doc.Message
        if type(code) == "string" then detail = detail .. " " .. common.excerpt(code, 60) end
        if type(message) == "string" then detail = detail .. ": " .. common.excerpt(message) end
      end
      return nil, common.fail(M.name, url .. " answered HTTP " .. status .. detail)
    end
    if type(doc) ~= "table" or doc[1] ~= nil then
      return nil, common.fail(M.name, url .. " answered 200 without a JSON object")
    end
    return common.from_document(M.name, doc, fetch)
  end
  return fetch()
end

return M

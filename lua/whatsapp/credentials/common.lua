--- What the credential providers share: the CredentialsError naming a
-- provider and checking what a source handed out (redaction is
-- errors.redact's). No message built here ever holds a credential value.
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local params = require "whatsapp.params"
local shared = require "whatsapp.credentials.files"
local time = require "whatsapp.time"

local M = {}

M.nonempty = params.nonempty

--- A CredentialsError "<provider>: <why>", with err.provider set.
function M.fail(provider, why)
  local e = errors.credentials(provider .. ": " .. why)
  e.provider = provider
  return e
end

--- "true" in any case is true (botocore's ensure_boolean).
function M.truthy(v)
  return type(v) == "string" and v:lower() == "true"
end

local FIELDS = { "access_key_id", "secret_access_key", "session_token" }
local DEFAULT_LABELS = {
  access_key_id = "access key id", secret_access_key = "secret access key",
  session_token = "session token", expiration = "expiration",
}

-- What is wrong with the value v of the field name, or nil (a session
-- token may be absent).
local function field_problem(name, v)
  if v == nil and name == "session_token" then return nil end
  if type(v) ~= "string" then
    return v == nil and "is missing" or "must be a string"
  end
  local bad = params[name](v)
  return bad and ("must not be empty" == bad and "is empty" or bad)
end

-- An expiration as epoch seconds: nil when the source gave none, false
-- when what it gave is not a time.
local function expiration_time(expiration)
  if expiration == nil then return nil end
  if type(expiration) == "string" then return time.parse_iso8601(expiration) or false end
  if type(expiration) ~= "number" or expiration ~= expiration then return false end
  return expiration
end

--- Builds the credentials a provider found.
-- c: {access_key_id, secret_access_key, session_token?, expiration?}
--   (expiration: epoch seconds, or ISO 8601 text);
-- labels: how the source names those fields, for messages (AWS_ACCESS_KEY_ID, AccessKeyId ...);
-- refresh: a function fetching them again (for expiring credentials).
-- Returns {access_key_id, secret_access_key, session_token, expiration, source, refresh}
-- or nil and a CredentialsError naming the provider and the field (never its value).
function M.make(provider, c, labels, refresh)
  labels = labels or DEFAULT_LABELS
  for _, name in ipairs(FIELDS) do
    local bad = field_problem(name, c[name])
    if bad then return nil, M.fail(provider, (labels[name] or name) .. " " .. bad) end
  end
  local expiration = expiration_time(c.expiration)
  if expiration == false then
    return nil, M.fail(provider, (labels.expiration or "expiration") .. " is not an ISO 8601 time")
  end
  return {
    access_key_id = c.access_key_id,
    secret_access_key = c.secret_access_key,
    session_token = c.session_token,
    expiration = expiration,
    source = provider,
    refresh = expiration and refresh or nil,
  }
end

-- How the container endpoint and IMDS name the fields of their credentials
-- document, for messages.
local DOCUMENT_LABELS = {
  access_key_id = "AccessKeyId", secret_access_key = "SecretAccessKey", session_token = "Token",
  expiration = "Expiration",
}

--- Builds the credentials of the JSON document the container endpoint and
-- IMDS hand out ({AccessKeyId, SecretAccessKey, Token, Expiration}, a JSON
-- null Token or Expiration as none), as M.make does.
function M.from_document(provider, doc, refresh)
  return M.make(provider, {
    access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = doc.Token ~= core.null and doc.Token or nil,
    expiration = doc.Expiration ~= core.null and doc.Expiration or nil,
  }, DOCUMENT_LABELS, refresh)
end

--- A short, single-line excerpt of a message from elsewhere (stderr, an
-- error body), control characters replaced.
function M.excerpt(s, n)
  n = n or 200
  s = tostring(s):gsub("[%z\1-\31\127]+", " "):gsub("^%s+", ""):gsub("%s+$", "")
  if #s > n then s = s:sub(1, n) .. "..." end
  return s
end

--- Words for a transport failure (kind, message) of the http interface.
function M.describe_http(kind, message, timeout)
  if kind == "connect_timeout" or kind == "timeout" then
    return string.format("no answer within %g s (%s)", timeout, M.excerpt(message, 120))
  end
  return (kind or "error") .. ": " .. M.excerpt(message, 160)
end

--- Reads a token file named by a setting (what: the setting's name):
-- regular files of at most 64 KiB only. Returns its text or nil and why.
function M.read_token(path, what)
  local text, why = shared.read_file(path, shared.TOKEN_MAX, what)
  return text, why
end

--- Seconds one step of a fetch may take: cap (the source's own timeout, or
-- nil for none), cut to what the fetch has left (ctx.fetch_by, a
-- core.monotonic() time, set by the provider for each fetch). nil when
-- nothing is left.
function M.left(ctx, cap)
  local by = ctx.fetch_by
  if not by then return cap end
  local left = by - core.monotonic()
  if left < 0.001 then return nil end
  if cap and cap < left then return cap end
  return left
end

--- The reason a fetch gives when its time ran out before a step.
M.NO_TIME = "no time was left for it (the deadline, or the time allowed for fetching credentials, passed)"

return M

--- Credentials from a profile of the shared files (~/.aws/credentials and
-- ~/.aws/config; for one profile, values in the credentials file win).
-- Within the profile, as botocore orders it:
--   role_arn (+ source_profile | credential_source, or web_identity_token_file)
--     -> STS AssumeRole signed with the source's credentials
--   aws_access_key_id / aws_secret_access_key [/ aws_session_token] of the credentials file
--   credential_process
--   the same static keys in the config file
-- The default profile missing from both files lets the chain go on; a profile
-- someone named (profile option, AWS_PROFILE) that is missing is an error.
local common = require "whatsapp.credentials.common"
local container = require "whatsapp.credentials.container"
local environment = require "whatsapp.credentials.environment"
local imds = require "whatsapp.credentials.imds"
local process = require "whatsapp.credentials.process"
local shared = require "whatsapp.credentials.files"
local sts = require "whatsapp.credentials.sts"
local web_identity = require "whatsapp.credentials.web_identity"

local M = { name = "shared files" }

local get = shared.get

local function label(kind, name)
  return kind .. ' (profile "' .. name .. '")'
end

-- The profile's settings: config file values overlaid by credentials file values.
local function merged(data, name)
  local out = {}
  for k, v in pairs(data.config.profiles[name] or {}) do out[k] = v end
  for k, v in pairs(data.credentials.profiles[name] or {}) do out[k] = v end
  return out
end

local function exists(data, name)
  return data.config.profiles[name] ~= nil or data.credentials.profiles[name] ~= nil
end

-- Static keys of one file's profile: credentials, nil (none there), or nil, error.
local function static(props, provider, where)
  where = where or "the file"
  local akid, secret = get(props, "aws_access_key_id"), get(props, "aws_secret_access_key")
  if not akid and not secret then return nil end
  if not akid or not secret then
    return nil, common.fail(provider, where .. " has " .. (akid and "aws_access_key_id" or "aws_secret_access_key")
      .. " without " .. (akid and "aws_secret_access_key" or "aws_access_key_id"))
  end
  return common.make(provider, {
    access_key_id = akid, secret_access_key = secret, session_token = get(props, "aws_session_token"),
  }, { access_key_id = "aws_access_key_id", secret_access_key = "aws_secret_access_key",
    session_token = "aws_session_token" })
end

local resolve

-- The credentials a role's source gives (a profile, or credential_source).
local function source_credentials(ctx, data, name, props, visited, provider)
  local source_profile, credential_source = get(props, "source_profile"), get(props, "credential_source")
  if source_profile and credential_source then
    return nil, common.fail(provider, "has both source_profile and credential_source")
  end
  if credential_source then
    local loaders = {
      Environment = environment.load,
      EcsContainer = container.load,
      Ec2InstanceMetadata = imds.load,
    }
    local load = loaders[credential_source]
    if not load then
      return nil, common.fail(provider, "credential_source must be Environment, EcsContainer or "
        .. "Ec2InstanceMetadata (got " .. common.excerpt(credential_source, 40) .. ")")
    end
    local sub = setmetatable({ profile_option = false }, { __index = ctx })
    local c, why = load(sub)
    if c or type(why) == "table" then return c, why end
    return nil, common.fail(provider, "credential_source " .. credential_source .. " found nothing: " .. why)
  end
  if not source_profile then
    return nil, common.fail(provider, "has role_arn but neither source_profile nor credential_source")
  end
  if source_profile == name then
    -- a profile may name itself as the source of its own static keys
    local c, err = static(data.credentials.profiles[name] or {}, label("shared files", name), "the credentials file")
    if not c and not err then
      c, err = static(data.config.profiles[name] or {}, label("shared files", name), "the config file")
    end
    if c or err then return c, err end
    return nil, common.fail(provider, "names itself as source_profile but has no static keys")
  end
  if visited[source_profile] then
    return nil, common.fail(provider, 'source_profile "' .. source_profile .. '" leads around in a circle')
  end
  if not exists(data, source_profile) then
    return nil, common.fail(provider, 'source_profile "' .. source_profile .. '" is in neither file')
  end
  local c, why = resolve(ctx, data, source_profile, visited)
  if c or type(why) == "table" then return c, why end
  return nil, common.fail(provider, 'source_profile "' .. source_profile .. '" gives no credentials: ' .. why)
end

local function assume_role(ctx, data, name, props, visited)
  local provider = label("assume role", name)
  local role_arn = get(props, "role_arn")
  local session_name = get(props, "role_session_name") or web_identity.session_name(ctx)
  local duration = get(props, "duration_seconds")
  if duration then
    duration = tonumber(duration)
    if not duration or duration % 1 ~= 0 or duration < 900 or duration > 43200 then
      return nil, common.fail(provider, "duration_seconds must be a whole number in [900, 43200]")
    end
  end
  local token_file = get(props, "web_identity_token_file")
  if token_file then
    return web_identity.assume(ctx, label("web identity", name), {
      token_file = token_file, role_arn = role_arn, session_name = session_name, duration_seconds = duration,
    })
  end
  if get(props, "mfa_serial") then
    return nil, common.fail(provider, "mfa_serial needs a one-time code typed in; that is not supported")
  end
  local function fetch()
    local source, err = source_credentials(ctx, data, name, props, visited, provider)
    if not source then return nil, err end
    local c, why = sts.assume_role(ctx, source, {
      role_arn = role_arn, session_name = session_name, external_id = get(props, "external_id"),
      duration_seconds = duration,
    })
    if not c then return nil, common.fail(provider, why) end
    return common.make(provider, c, sts.LABELS, fetch)
  end
  return fetch()
end

-- Credentials of a profile known to exist: credentials, or nil and why it
-- passed, or nil and an error.
resolve = function(ctx, data, name, visited)
  local seen = {}
  for k, v in pairs(visited) do seen[k] = v end
  seen[name] = true
  local props = merged(data, name)
  local provider = label("shared files", name)
  if get(props, "role_arn") then return assume_role(ctx, data, name, props, seen) end
  local c, err = static(data.credentials.profiles[name] or {}, provider, data.credentials_path)
  if c or err then return c, err end
  local command = get(props, "credential_process")
  if command then return process.fetch(ctx, label("credential_process", name), command) end
  c, err = static(data.config.profiles[name] or {}, provider, data.config_path)
  if c or err then return c, err end
  return nil, 'profile "' .. name .. '" has no keys, credential_process or role_arn'
end

function M.load(ctx)
  local data, why = shared.load(ctx.getenv)
  local name = ctx.profile_name
  if not data then return nil, common.fail(label(M.name, name), why) end
  if not exists(data, name) then
    local function place(path, present, default)
      if not path then return default .. " (HOME is not set)" end
      return path .. (present and "" or " (missing)")
    end
    local where = place(data.credentials_path, data.credentials_exists, "~/.aws/credentials") .. " and "
      .. place(data.config_path, data.config_exists, "~/.aws/config")
    if ctx.profile_explicit then
      return nil, common.fail(label(M.name, name), 'the profile "' .. name .. '" is in neither ' .. where)
    end
    return nil, 'no profile "' .. name .. '" in ' .. where
  end
  return resolve(ctx, data, name, {})
end

return M

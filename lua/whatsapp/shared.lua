--- The AWS shared files: ~/.aws/config (AWS_CONFIG_FILE) and
-- ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), and which profile to use
-- (the profile option, AWS_PROFILE, AWS_DEFAULT_PROFILE, else "default").
-- A missing file is an empty one; a broken one is an error naming the file
-- and line. Everything from the environment comes through getenv.
local ini = require "whatsapp.ini"
local params = require "whatsapp.params"

local M = {}

local nonempty = params.nonempty

local ENOENT = 2

local function expand(path, getenv)
  if path:sub(1, 1) ~= "~" then return path end
  local home = nonempty(getenv("HOME")) or nonempty(getenv("USERPROFILE"))
  if not home then return nil, "HOME is not set, so " .. path .. " has no place" end
  return home .. path:sub(2)
end

--- The paths of the config and credentials files, or nil and why not. The
-- second result is nil when only the other file has no place.
function M.paths(getenv)
  local config, why1 = expand(nonempty(getenv("AWS_CONFIG_FILE")) or "~/.aws/config", getenv)
  local credentials, why2 = expand(nonempty(getenv("AWS_SHARED_CREDENTIALS_FILE")) or "~/.aws/credentials", getenv)
  return config, credentials, why1 or why2
end

--- The profile name to use, and whether someone asked for it (an option or
-- AWS_PROFILE) rather than it being the default.
function M.profile_name(option, getenv)
  local name = option or nonempty(getenv("AWS_PROFILE")) or nonempty(getenv("AWS_DEFAULT_PROFILE"))
  if name then return name, true end
  return "default", false
end

local EMPTY = { profiles = {}, sections = {} }

--- Reads one file (kind "config" or "credentials"). Returns its profiles
-- ({profiles =, sections =}, see ini.profiles) and whether it exists, or nil
-- and "<path> line N: ..." / "<path> cannot be read: ...".
function M.read(path, kind)
  if not path then return EMPTY, false end
  local f, err, code = io.open(path, "rb")
  if not f then
    if code == ENOENT then return EMPTY, false end
    return nil, path .. " cannot be read: " .. tostring(err)
  end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, path .. " cannot be read: " .. tostring(rerr) end
  local sections, why = ini.parse(text)
  if not sections then return nil, path .. " " .. why end
  return ini.profiles(sections, kind), true
end

--- Loads both files. Returns {config =, credentials =, config_path =,
-- credentials_path =, config_exists =, credentials_exists =} or nil, reason.
function M.load(getenv)
  local cpath, kpath = M.paths(getenv)
  local config, cexists = M.read(cpath, "config")
  if not config then return nil, cexists end
  local creds, kexists = M.read(kpath, "credentials")
  if not creds then return nil, kexists end
  return {
    config = config, credentials = creds, config_path = cpath, credentials_path = kpath,
    config_exists = cexists, credentials_exists = kexists,
  }
end

--- A profile's settings from the config file only (region, endpoint_url,
-- max_attempts, ca_bundle ... are read from there, as botocore does).
-- Returns props (empty when absent), config file data; or nil, reason.
function M.config_profile(getenv, name)
  local cpath = M.paths(getenv)
  local config, why = M.read(cpath, "config")
  if not config then return nil, why end
  return config.profiles[name] or {}, config
end

--- A string setting of a profile (sub-property tables read as absent).
function M.get(props, key)
  local v = props and props[key]
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

--- The endpoint_url a profile's `services` section gives a service (by its
-- lowercased service id, e.g. "socialmessaging", "sts").
function M.service_endpoint(props, config, service)
  local name = M.get(props, "services")
  local section = name and config and config.sections.services and config.sections.services[name]
  local sub = section and section[service]
  return type(sub) == "table" and nonempty(sub.endpoint_url) or nil
end

return M

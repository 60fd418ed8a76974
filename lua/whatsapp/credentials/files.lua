--- The AWS shared files: ~/.aws/config (AWS_CONFIG_FILE) and
-- ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), and which profile to use
-- (the profile option, AWS_PROFILE, AWS_DEFAULT_PROFILE, else "default").
-- A missing file is an empty one; a broken one is an error naming the file
-- and line. Everything from the environment comes through getenv.
local core = require "whatsapp.core"
local ini = require "whatsapp.credentials.ini"
local params = require "whatsapp.params"

local M = {}

local nonempty = params.nonempty

M.FILE_MAX = 1024 * 1024 -- bytes: the largest config or credentials file read
M.TOKEN_MAX = 64 * 1024  -- bytes: the largest token file read

local function size(n)
  if n % (1024 * 1024) == 0 then return string.format("%d MiB", n / (1024 * 1024)) end
  if n % 1024 == 0 then return string.format("%d KiB", n / 1024) end
  return string.format("%d bytes", n)
end

--- Reads a file named by configuration, the one way every such file is
-- read: regular files only (a FIFO, a device or a directory is refused
-- before a byte is read, so nothing blocks), at most max bytes (0: only
-- checks it). Returns its text; or nil, why (naming the path and the rule,
-- never the content) and the kind: "missing", "not_regular", "too_large"
-- or "error". what: how the message names the file (the setting that
-- named it), e.g. "AWS_WEB_IDENTITY_TOKEN_FILE".
function M.read_file(path, max, what)
  local text, kind, detail = core.read_file(path, max)
  if text then return text end
  local name = (what and (what .. " ") or "") .. path
  if kind == "not_regular" then
    return nil, name .. " is " .. detail .. "; it must be a regular file", kind
  elseif kind == "too_large" then
    return nil, name .. " is larger than " .. size(max) .. "; it must be a regular file of at most "
      .. size(max), kind
  end
  return nil, name .. " cannot be read: " .. tostring(detail), kind
end

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
-- and "<path> line N: ..." / "the <kind> file <path> is a FIFO ...".
function M.read(path, kind)
  if not path then return EMPTY, false end
  local text, err, why_kind = M.read_file(path, M.FILE_MAX, "the " .. kind .. " file")
  if not text then
    if why_kind == "missing" then return EMPTY, false end
    return nil, err
  end
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

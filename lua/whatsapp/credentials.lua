--- Where a client's AWS credentials come from. For now: the explicit option
-- (a table, or a function returning one) and the environment
-- (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
-- Credentials are plain tables {access_key_id, secret_access_key, session_token}
-- that never appear in an error message.
local errors = require "whatsapp.errors"
local params = require "whatsapp.params"

local M = {}

local nonempty = params.nonempty

--- Checks a credentials table; returns a clean copy or nil, err.
local function check(c, source)
  if type(c) ~= "table" then
    return nil, errors.credentials(source .. " gave a " .. type(c) .. ", not a credentials table")
  end
  for _, name in ipairs { "access_key_id", "secret_access_key", "session_token" } do
    if c[name] ~= nil or name ~= "session_token" then
      local bad = params[name](c[name])
      if bad then return nil, errors.validation("credentials." .. name, bad) end
    end
  end
  return {
    access_key_id = c.access_key_id,
    secret_access_key = c.secret_access_key,
    session_token = c.session_token,
    source = source,
  }
end

local function from_environment(getenv)
  local akid, secret = nonempty(getenv("AWS_ACCESS_KEY_ID")), nonempty(getenv("AWS_SECRET_ACCESS_KEY"))
  if not akid and not secret then return nil, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set" end
  if not akid then return nil, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" end
  if not secret then return nil, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" end
  return check({
    access_key_id = akid,
    secret_access_key = secret,
    session_token = nonempty(getenv("AWS_SESSION_TOKEN")),
  }, "environment")
end

--- Resolves credentials: the explicit option first, then the environment.
-- Returns a credentials table, or nil and a CredentialsError (or a
-- ParamValidationError naming the bad field).
function M.resolve(option, getenv)
  getenv = getenv or os.getenv
  if type(option) == "function" then
    local ok, c = pcall(option)
    if not ok then return nil, errors.credentials("the credentials function failed: " .. tostring(c)) end
    return check(c, "credentials function")
  elseif option ~= nil then
    return check(option, "credentials option")
  end
  local c, why = from_environment(getenv)
  if c or type(why) == "table" then return c, why end
  return nil, errors.credentials("no AWS credentials found: the credentials option was not given; environment: "
    .. why)
end

return M

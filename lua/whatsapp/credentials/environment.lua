--- Credentials from the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
-- AWS_SESSION_TOKEN (or AWS_SECURITY_TOKEN) and AWS_CREDENTIAL_EXPIRATION
-- (ISO 8601; such credentials are read again before they expire). Half a
-- pair is an error, not a reason to look further.
local common = require "whatsapp.credentials.common"

local M = { name = "environment" }

local nonempty = common.nonempty

local LABELS = {
  access_key_id = "AWS_ACCESS_KEY_ID", secret_access_key = "AWS_SECRET_ACCESS_KEY",
  session_token = "AWS_SESSION_TOKEN", expiration = "AWS_CREDENTIAL_EXPIRATION",
}

--- Returns credentials, or nil and why it passed (a string), or nil and a
-- CredentialsError.
function M.load(ctx)
  if ctx.profile_option then return nil, "skipped: the profile option names a profile" end
  local getenv = ctx.getenv
  local akid, secret = nonempty(getenv("AWS_ACCESS_KEY_ID")), nonempty(getenv("AWS_SECRET_ACCESS_KEY"))
  if not akid and not secret then return nil, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set" end
  if not akid then return nil, common.fail(M.name, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") end
  if not secret then return nil, common.fail(M.name, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") end
  local expiration = nonempty(getenv("AWS_CREDENTIAL_EXPIRATION"))
  return common.make(M.name, {
    access_key_id = akid,
    secret_access_key = secret,
    session_token = nonempty(getenv("AWS_SESSION_TOKEN")) or nonempty(getenv("AWS_SECURITY_TOKEN")),
    expiration = expiration,
  }, LABELS, function() return M.load(ctx) end)
end

return M

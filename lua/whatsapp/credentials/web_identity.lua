--- Web identity: a token file (EKS, or any OIDC issuer) exchanged for role
-- credentials with STS AssumeRoleWithWebIdentity. From the environment
-- (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME) or from
-- a profile (web_identity_token_file, role_arn, role_session_name). The file
-- is read again on every refresh: the issuer rotates it.
local common = require "whatsapp.credentials.common"
local sts = require "whatsapp.credentials.sts"

local M = { name = "web identity" }

local nonempty = common.nonempty

--- Fetches credentials for p = {token_file, role_arn, session_name,
-- duration_seconds?, setting? (the setting that named the file, for
-- messages)}; provider names the source in errors.
function M.assume(ctx, provider, p)
  local function fetch()
    local setting = p.setting or "web_identity_token_file"
    local text, why = common.read_token(p.token_file, "the token file (" .. setting .. ")")
    if not text then return nil, common.fail(provider, why) end
    local token = text:gsub("^%s+", ""):gsub("%s+$", "")
    if token == "" then return nil, common.fail(provider, "the token file " .. p.token_file .. " is empty") end
    local c, err = sts.assume_role_with_web_identity(ctx, {
      role_arn = p.role_arn, session_name = p.session_name, token = token, duration_seconds = p.duration_seconds,
    })
    if not c then return nil, common.fail(provider, err) end
    return common.make(provider, c, sts.LABELS, fetch)
  end
  return fetch()
end

--- A session name as botocore makes one, when none is configured.
function M.session_name(ctx)
  return "whatsapp-lua-" .. string.format("%d", math.floor(ctx.now()))
end

function M.load(ctx)
  local getenv = ctx.getenv
  local file = nonempty(getenv("AWS_WEB_IDENTITY_TOKEN_FILE"))
  if not file then return nil, "AWS_WEB_IDENTITY_TOKEN_FILE is not set" end
  local arn = nonempty(getenv("AWS_ROLE_ARN"))
  if not arn then return nil, common.fail(M.name, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not") end
  return M.assume(ctx, M.name, {
    token_file = file, role_arn = arn, setting = "AWS_WEB_IDENTITY_TOKEN_FILE",
    session_name = nonempty(getenv("AWS_ROLE_SESSION_NAME")) or M.session_name(ctx),
  })
end

return M

--- credential_process: a profile names a command; it prints
-- {"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken"?: ...,
--  "Expiration"?: "<ISO 8601>"} on stdout and exits 0. With an Expiration it
-- runs again before the credentials expire.
local common = require "whatsapp.credentials.common"
local core = require "whatsapp.core"

local M = {}

local LABELS = {
  access_key_id = "AccessKeyId", secret_access_key = "SecretAccessKey",
  session_token = "SessionToken", expiration = "Expiration",
}

--- The default runner: the command through /bin/sh (as the Go and JavaScript
-- SDKs run it). Returns stdout, exit status, stderr; or nil and why.
function M.run(command)
  local errfile = os.tmpname()
  local p, why = io.popen("{\n" .. command .. "\n} 2>'" .. errfile .. "'; printf '\\n%d' $?", "r")
  if not p then
    os.remove(errfile)
    return nil, tostring(why)
  end
  local out = p:read("*a") or ""
  p:close()
  local status = out:match("\n(%d+)$")
  if status then out = out:sub(1, #out - #status - 1) end
  local stderr = ""
  local f = io.open(errfile, "rb")
  if f then
    stderr = f:read("*a") or ""
    f:close()
  end
  os.remove(errfile)
  return out, tonumber(status) or -1, stderr
end

local function describe(v)
  if type(v) == "number" then return tostring(v) end
  if type(v) == "string" then return '"' .. common.excerpt(v, 20) .. '"' end
  if v == nil then return "no Version" end
  return "a " .. type(v)
end

--- Runs command and returns credentials, or nil and a CredentialsError
-- naming provider.
function M.fetch(ctx, provider, command)
  local function fetch()
    local out, status, stderr = (ctx.run or M.run)(command)
    if not out then return nil, common.fail(provider, "could not be started: " .. status) end
    if status ~= 0 then
      local why = "exited with status " .. status
      if stderr and stderr:find("%S") then why = why .. ": " .. common.excerpt(stderr) end
      return nil, common.fail(provider, why)
    end
    local doc = core.decode(out)
    if type(doc) ~= "table" or doc[1] ~= nil then
      return nil, common.fail(provider, "did not print a JSON object on stdout")
    end
    if doc.Version ~= 1 then
      return nil, common.fail(provider, "printed " .. describe(doc.Version) .. " as Version; only Version 1 is known")
    end
    local expiration = doc.Expiration
    if expiration == core.null then expiration = nil end
    local token = doc.SessionToken
    if token == core.null then token = nil end
    return common.make(provider, {
      access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
      session_token = token, expiration = expiration,
    }, LABELS, fetch)
  end
  return fetch()
end

return M

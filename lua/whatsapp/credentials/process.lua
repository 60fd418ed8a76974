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

M.STDOUT_MAX = 1024 * 1024 -- bytes of stdout; past it the process is killed
M.STDERR_MAX = 64 * 1024   -- bytes of stderr kept (for messages); the rest is dropped
M.TIMEOUT = 60             -- seconds, when neither a deadline nor a client timeout says

--- The default runner: the command through /bin/sh (as the Go and JavaScript
-- SDKs run it), in its own process group, by the C core: killed (the whole
-- group) once it runs longer than timeout seconds or prints more than
-- STDOUT_MAX bytes on stdout. Returns stdout, exit status, stderr; or nil
-- and why it did not give them.
function M.run(command, timeout)
  local outcome, out, err, status = core.run_process(command, math.ceil((timeout or M.TIMEOUT) * 1000),
    M.STDOUT_MAX, M.STDERR_MAX)
  if not outcome then return nil, "could not be started: " .. tostring(out) end
  if outcome == "timeout" then
    return nil, string.format("did not finish within %g s, and was killed", timeout or M.TIMEOUT)
  elseif outcome == "too_large" then
    return nil, string.format("printed more than %d KiB on stdout, which is too large for credentials, "
      .. "and was killed", M.STDOUT_MAX / 1024)
  end
  return out, status, err
end

-- The nginx phase this would block an event loop in (a worker's requests,
-- timers), or nil where running it is fine (outside nginx, init phases).
local function blocking_phase()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, phase = pcall(ngx.get_phase)
  if not ok or phase == "init" or phase == "init_worker" then return nil end
  return tostring(phase)
end

M.REFUSED = "is refused inside nginx's %s phase: it runs as a child process the worker waits for, and "
  .. "that blocks every request of the worker until it ends (ngx.pipe, which Debian's ngx_lua lacks, is not "
  .. "used). Pass "
  .. "allow_blocking_credential_process = true to whatsapp.new to run it anyway, or give the workers "
  .. "credentials another way (environment, container endpoint, instance metadata, a credentials function)"

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
    local phase = not ctx.run and not ctx.allow_blocking_process and blocking_phase()
    if phase then return nil, common.fail(provider, string.format(M.REFUSED, phase)) end
    -- the deadline's time left, else the client's timeout, else M.TIMEOUT
    local timeout = common.left(ctx, not ctx.fetch_bounded and ctx.timeout or nil)
    if not timeout then return nil, common.fail(provider, common.NO_TIME) end
    local out, status, stderr = (ctx.run or M.run)(command, timeout)
    if not out then return nil, common.fail(provider, status) end
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

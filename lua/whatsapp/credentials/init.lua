--- Where a client's AWS credentials come from, and keeping them fresh.
--
-- The chain, first hit wins (each provider lives in whatsapp/credentials/):
--   the credentials option: a table, or a function returning one
--   environment     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
--                   AWS_CREDENTIAL_EXPIRATION (skipped when the profile option is given)
--   web identity    AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN -> STS
--   shared files    the profile's keys, credential_process, role_arn -> STS AssumeRole
--   container       AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / FULL_URI
--   IMDS            EC2 instance metadata (IMDSv2)
-- A provider that is not configured passes, with a reason; one that is
-- configured but fails ends the search with a CredentialsError naming it.
--
-- A provider object caches what it found. Credentials with an expiration are
-- fetched again from the same source once fewer than 15 minutes are left
-- (advisory: on failure the old ones are kept) and must be when fewer than
-- 10 are left (mandatory: on failure the send fails), as botocore does. One
-- caller refreshes at a time: while it does, others keep using credentials
-- with more than 10 minutes left, and the rest wait (ngx.sleep inside
-- OpenResty, coroutine.yield() in a coroutine) for its outcome.
--
-- A fetch is bounded in time: by what the caller's deadline leaves (get's
-- limit), else by FETCH_TIMEOUTS times the client's timeout; every source
-- gets at most what is left as its timeout. A waiter stops waiting at its
-- own deadline. A fetch whose caller never came back (an nginx light thread
-- killed mid-fetch, an abandoned coroutine) is taken over by the next
-- caller once its caller is seen dead or its time is up.
--
-- Credentials are plain tables {access_key_id, secret_access_key,
-- session_token, expiration, source} that never appear in an error message.
local common = require "whatsapp.credentials.common"
local container = require "whatsapp.credentials.container"
local core = require "whatsapp.core"
local environment = require "whatsapp.credentials.environment"
local errors = require "whatsapp.errors"
local http = require "whatsapp.transport.http"
local imds = require "whatsapp.credentials.imds"
local params = require "whatsapp.params"
local profile = require "whatsapp.credentials.profile"
local shared = require "whatsapp.credentials.files"
local time = require "whatsapp.time"
local web_identity = require "whatsapp.credentials.web_identity"

local M = {}

M.ADVISORY = 15 * 60  -- seconds before expiry: refresh, keep the old ones on failure
M.MANDATORY = 10 * 60 -- seconds before expiry: refresh or fail
M.FETCH_TIMEOUTS = 3  -- without a deadline, a fetch may take this many times the client's timeout
M.GRACE = 1           -- seconds past a fetch's time before another caller takes it over

local monotonic = core.monotonic

--- The default chain after the credentials option, in order.
M.CHAIN = { environment, web_identity, profile, container, imds }

--- Checks a credentials table given by the caller; returns a clean copy or
-- nil and a ParamValidationError naming the field (never its value).
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
  local expiration = c.expiration
  if expiration ~= nil then
    if type(expiration) == "string" then expiration = time.parse_iso8601(expiration) end
    if type(expiration) ~= "number" or expiration ~= expiration then
      return nil, errors.validation("credentials.expiration", "must be epoch seconds or an ISO 8601 time")
    end
  end
  return {
    access_key_id = c.access_key_id,
    secret_access_key = c.secret_access_key,
    session_token = c.session_token,
    expiration = expiration,
    source = source,
  }
end

local function from_function(fn)
  local ok, c = pcall(fn)
  if not ok then return nil, errors.credentials("the credentials function failed: " .. tostring(c)) end
  local creds, err = check(c, "credentials function")
  if not creds then return nil, err end
  if creds.expiration then
    creds.refresh = function() return from_function(fn) end
  else
    creds.uncached = true -- called again for the next send, as before expirations existed
  end
  return creds
end

--- Runs the default chain. Returns credentials, or nil and a
-- CredentialsError (from the provider that failed, or listing why each passed).
function M.chain(ctx)
  local passed = {}
  for _, provider in ipairs(M.CHAIN) do
    if not common.left(ctx, math.huge) then
      return nil, errors.credentials("no AWS credentials found before time ran out; tried, in order: "
        .. table.concat(passed, "; ") .. (passed[1] and "; " or "") .. provider.name .. ": " .. common.NO_TIME)
    end
    local c, why = provider.load(ctx)
    if c then return c end
    if type(why) ~= "string" then return nil, why end
    passed[#passed + 1] = provider.name .. ": " .. why
  end
  return nil, errors.credentials("no AWS credentials found; tried, in order: " .. table.concat(passed, "; "))
end

--- What the providers get: opts.getenv (default os.getenv), http (the
-- interface of whatsapp.transport.http), now (epoch seconds), run (credential_process
-- runner), region (for STS), profile (the profile option), timeout (STS, s),
-- ca_file, user_agent.
local function context(opts)
  local getenv = opts.getenv or os.getenv
  local ctx = {
    getenv = getenv,
    now = opts.now or time.now,
    run = opts.run,
    region = opts.region,
    timeout = opts.timeout or 10,
    allow_blocking_process = opts.allow_blocking_credential_process,
    profile_option = opts.profile ~= nil,
  }
  ctx.profile_name, ctx.profile_explicit = shared.profile_name(opts.profile, getenv)
  local transport = opts.http
  ctx.http = function(...)
    if not transport then transport = http.new { ca_file = opts.ca_file, user_agent = opts.user_agent } end
    return transport(...)
  end
  local props, file
  -- the profile's config file settings; a broken file reads as empty here
  -- (the shared-files provider reports it)
  ctx.settings = function()
    if props == nil then
      props, file = shared.config_profile(getenv, ctx.profile_name)
      if not props then props, file = {}, nil end
    end
    return props, file
  end
  return ctx
end
M.context = context

-- Waits a moment for another caller's refresh; false when this caller cannot.
local function default_wait()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.sleep) == "function" and pcall(ngx.sleep, 0.005) then
    return true
  end
  local isyieldable = rawget(coroutine, "isyieldable") -- Lua 5.3+, LuaJIT 2.1
  if isyieldable and isyieldable() then
    coroutine.yield()
    return true
  end
  return false
end

-- Errors are handed to callers who may change them (err.attempts): each
-- waiter gets its own copy of a shared refresh's error.
local function copy(err)
  local c = {}
  for k, v in pairs(err) do c[k] = v end
  return setmetatable(c, getmetatable(err))
end

local Provider = {}
Provider.__index = Provider
Provider.__name = "whatsapp.credentials.provider"

function Provider.__tostring()
  return "whatsapp.credentials.provider"
end

--- A provider object. opts: option (the credentials option), wait (how a
-- caller waits for another's refresh), and what context() takes.
function M.provider(opts)
  opts = opts or {}
  return setmetatable({
    option = opts.option,
    ctx = context(opts),
    wait = opts.wait or default_wait,
    refreshing = false,
    generation = 0, -- completed fetches
    refreshes = 0,  -- fetches started (for tests and stats)
  }, Provider)
end

-- One fetch: the source that found the current credentials again, else
-- the whole way from the option or the chain.
function Provider:fetch()
  local current = self.current
  if current and current.refresh then return current.refresh() end
  local option = self.option
  if type(option) == "function" then return from_function(option) end
  if option ~= nil then return check(option, "credentials option") end
  return M.chain(self.ctx)
end

-- A TimeoutError for a caller whose deadline passed while it fetched or
-- waited; cause: the provider's error, if any.
local function deadline_error(doing, cause)
  local err = errors.transport("connect_timeout", "the deadline passed while " .. doing
    .. (cause and (" (" .. cause.message .. ")") or "") .. "; nothing was sent")
  err.provider = cause and cause.provider
  return err
end

-- The lock of a fetch: when its time is up, and the caller holding it (a
-- weak reference: an abandoned coroutine may be collected).
local function new_lock(by)
  return { by = by, holder = setmetatable({ coroutine.running() }, { __mode = "v" }),
    had_holder = coroutine.running() ~= nil }
end

-- True when the caller holding the lock will not finish its fetch: seen
-- dead (ngx.thread.kill, coroutine.close), collected, or past its time.
local function stale(lock)
  if monotonic() > lock.by + M.GRACE then return true end
  local holder = lock.holder[1]
  if lock.had_holder and holder == nil then return true end
  return holder ~= nil and coroutine.status(holder) == "dead"
end

-- Fetches (this caller holds the lock) and settles the outcome. by: the
-- monotonic time the fetch must be over by; bounded: a deadline set it.
function Provider:refresh(now, by, bounded)
  local current = self.current
  local lock = new_lock(by)
  self.refreshing = lock
  self.refreshes = self.refreshes + 1
  local ctx = self.ctx
  ctx.fetch_by, ctx.fetch_bounded = by, bounded
  local ok, c, err = pcall(self.fetch, self)
  if self.refreshing == lock then
    self.refreshing = false
    ctx.fetch_by, ctx.fetch_bounded = nil, nil
  end
  self.generation = self.generation + 1
  if not ok then
    c, err = nil, errors.credentials("fetching credentials failed: " .. tostring(c))
  end
  if c and c.expiration and c.expiration <= self.ctx.now() then
    c, err = nil, common.fail(c.source, "handed out credentials that expired at " .. time.iso8601(c.expiration))
  end
  if c then
    self.current = not c.uncached and c or nil
    self.error = nil
    return c
  end
  if bounded and monotonic() >= by - 0.01 then
    -- this caller's deadline ran out, not the source: others try with their own time
    self.error = nil
    err = deadline_error("fetching credentials", err)
  else
    self.error = copy(err)
  end
  if current and current.expiration and current.expiration - now > M.MANDATORY then
    return current -- an advisory refresh failed: the old ones are good for 10 minutes more
  end
  return nil, err
end

-- Starts a fetch for a caller that has until by (nil: no deadline); left:
-- what the current credentials have left (nil: none, or no expiry).
function Provider:start(now, by, left)
  if by and by - monotonic() < 0.001 then return nil, deadline_error("credentials were to be fetched") end
  local fetch_by = by or monotonic() + M.FETCH_TIMEOUTS * self.ctx.timeout
  if by and left and left > M.MANDATORY then
    -- an advisory refresh gets half the time: the send still has the rest
    fetch_by = monotonic() + (by - monotonic()) / 2
  end
  return self:refresh(now, fetch_by, by ~= nil)
end

-- The results of get from a step below that settled it: the credentials,
-- or nil and an error (as many values as get returns there).
local function settled(c, err)
  if err == nil then return c end
  return c, err
end

-- The refresh this caller waited for is over: true and its outcome when
-- that settles get; nothing when this caller must fetch.
local function outcome_of_wait(self, current, left)
  if self.error then
    if current and left > M.MANDATORY then return true, current end
    return true, nil, copy(self.error)
  end
  if current and left > 0 then return true, current end
  -- (a credentials function's answer is not kept: ask it ourselves)
end

-- Another caller is fetching: takes its fetch over if it is stale, or
-- waits for it. True and the results of get when this caller cannot wait;
-- nothing when it goes round again.
local function wait_for_fetch(self, current, left, by)
  if stale(self.refreshing) then
    self.refreshing = false -- its caller never comes back: take the fetch over
  elseif by and monotonic() >= by then
    return true, nil, deadline_error("another caller was fetching credentials")
  elseif not self.wait() then
    if left and left > 0 then return true, current end
    return true, nil, errors.credentials("another caller is fetching credentials, and this one cannot wait for it "
      .. "(it does not run in a coroutine)")
  end
end

--- The credentials to sign with now, or nil and an error. limit: seconds
-- the caller has (what its deadline leaves); nil: no deadline.
function Provider:get(limit)
  local by = limit and monotonic() + limit
  local waited_for = nil
  while true do
    local now = self.ctx.now()
    local current = self.current
    local left = current and current.expiration and current.expiration - now
    if current and (not left or left > M.ADVISORY) then return current end
    if waited_for and self.generation ~= waited_for then
      local done, c, err = outcome_of_wait(self, current, left)
      if done then return settled(c, err) end
    end
    if not self.refreshing then return self:start(now, by, left) end
    if left and left > M.MANDATORY then return current end
    waited_for = waited_for or self.generation
    local done, c, err = wait_for_fetch(self, current, left, by)
    if done then return settled(c, err) end
  end
end

--- Resolves credentials once: the explicit option first, then the chain.
-- Returns a credentials table, or nil and a CredentialsError (or a
-- ParamValidationError naming the bad field).
function M.resolve(option, getenv)
  return M.provider({ option = option, getenv = getenv }):get()
end

return M

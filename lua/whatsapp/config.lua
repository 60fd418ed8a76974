--- Client configuration: options, then their environment fallbacks, checked.
-- Returns a plain table of settled values, or nil and a ParamValidationError.
local errors = require "whatsapp.errors"
local options = require "whatsapp.options"
local params = require "whatsapp.params"
local retry = require "whatsapp.retry"
local shared = require "whatsapp.credentials.files"
local urls = require "whatsapp.url"

local M = {}

M.SERVICE = "social-messaging" -- SigV4 signing name and endpoint prefix
M.SEND_PATH = "/v1/whatsapp/send"
M.DEFAULT_META_API_VERSION = "v20.0"
M.MESSAGING_PRODUCT = "whatsapp" -- added to a message that does not say it

-- option name -> Lua type it must have (a wrong type is a programming error)
local OPTION_TYPES = {
  region = "string", credentials = { "function", "table" }, profile = "string",
  endpoint = "string", phone_number_id = "string", meta_api_version = "string",
  ca_file = "string", connect_timeout = "number", timeout = "number", max_attempts = "number",
  user_agent = "string", transport = "string", use_fips = "boolean", use_dualstack = "boolean",
  on_retry = "function", backoff = "table", retry_quota = { "boolean", "number" }, deadline = "number",
  allow_blocking_credential_process = "boolean",
  rate = "number", rate_limiter = { "string", "table" }, rate_limiter_fallback = "string",
}

local nonempty = params.nonempty

-- The partitions of botocore's partitions.json: region pattern, DNS suffix,
-- dual-stack DNS suffix. A region matching none is in "aws".
local PARTITIONS = {
  { "^cn%-[%w_]+%-%d+$", "amazonaws.com.cn", "api.amazonwebservices.com.cn" },
  { "^us%-gov%-[%w_]+%-%d+$", "amazonaws.com", "api.aws" },
  { "^us%-iso%-[%w_]+%-%d+$", "c2s.ic.gov", "api.aws.ic.gov" },
  { "^us%-isob%-[%w_]+%-%d+$", "sc2s.sgov.gov", "api.aws.scloud" },
  { "^eu%-isoe%-[%w_]+%-%d+$", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk" },
  { "^us%-isof%-[%w_]+%-%d+$", "csp.hci.ic.gov", "api.aws.hci.ic.gov" },
  { "^eusc%-de%-[%w_]+%-%d+$", "amazonaws.eu", "api.amazonwebservices.eu" },
}

--- The DNS suffix and dual-stack DNS suffix of a region's partition.
function M.partition(region)
  for _, p in ipairs(PARTITIONS) do
    if region:find(p[1]) then return p[2], p[3] end
  end
  return "amazonaws.com", "api.aws"
end

--- The service's endpoint rule set (endpoint-rule-set-1.json) as code.
-- p: {region =, use_fips =, use_dualstack =, endpoint =}. Returns the URL,
-- or nil and the rule set's error text.
function M.endpoint_rules(p)
  if p.endpoint ~= nil then
    if p.use_fips then return nil, "Invalid Configuration: FIPS and custom endpoint are not supported" end
    if p.use_dualstack then return nil, "Invalid Configuration: Dualstack and custom endpoint are not supported" end
    return p.endpoint
  end
  if p.region == nil then return nil, "Invalid Configuration: Missing Region" end
  local dns, dualstack = M.partition(p.region)
  return "https://" .. M.SERVICE .. (p.use_fips and "-fips" or "") .. "." .. p.region .. "."
    .. (p.use_dualstack and dualstack or dns)
end

-- An AWS boolean setting: "true" in any case is true, anything else false.
local function truthy(v)
  return v ~= nil and v:lower() == "true"
end

--- Splits an endpoint URL into what the transport needs. Returns
-- {scheme, host_header, url, path} or nil, rule.
local function parse_endpoint(endpoint)
  if endpoint:find("[%z\1-\32\127]") then return nil, "must not contain spaces or control characters" end
  local u = urls.parse(endpoint)
  if not u or u.query or u.fragment then
    return nil, 'must be a URL such as "https://host[:port]" with no query or fragment'
  end
  local scheme = u.scheme
  if scheme ~= "https" and scheme ~= "http" then return nil, "must use http or https" end
  if u.userinfo then return nil, "must not contain user information" end
  if u.host == "" then return nil, "has no host" end
  if not u.host:find(u.ipv6 and "^[%x:.]+$" or "^[%w.-]+$") then
    return nil, "has a host name with a character no host name holds"
  end
  if not urls.good_port(u) then return nil, "has a bad port" end
  local prefix = u.path:gsub("/+$", "")
  if prefix ~= "" and not prefix:find("^[%w%-._~/]+$") then
    return nil, "path may only hold unreserved characters"
  end
  local path = prefix .. M.SEND_PATH
  return {
    scheme = scheme,
    host_header = urls.host_header(u),
    path = path,
    url = scheme .. "://" .. u.authority .. path,
  }
end
M.parse_endpoint = parse_endpoint

-- The profile's settings in the config file, read only when an option and
-- the environment leave a setting open. files: {getenv =, profile =}; the
-- first read leaves props and file there, or broken (why it failed).
local function setting(files, key)
  if files.props == nil and files.broken == nil then
    files.props, files.file = shared.config_profile(files.getenv, files.profile)
    if not files.props then files.broken, files.file = files.file, nil end
  end
  return shared.get(files.props, key)
end

local function broken_error(files)
  return errors.credentials("shared files (profile \"" .. files.profile .. "\"): " .. files.broken)
end

-- Each step below settles some fields of cfg and returns nil, or the error
-- that ends resolve. A wrong type raises, one level deeper than resolve.

local function resolve_region(cfg, opts, files)
  local getenv = files.getenv
  cfg.region = opts.region or nonempty(getenv("AWS_REGION")) or nonempty(getenv("AWS_DEFAULT_REGION"))
    or setting(files, "region")
  if files.broken then return broken_error(files) end
  if not cfg.region then
    return errors.validation("region", "no region: pass region = \"us-east-1\", set AWS_REGION, "
      .. "or set region in the profile \"" .. files.profile .. "\" of the AWS config file")
  end
  local bad = params.region(cfg.region)
  if bad then return errors.validation("region", bad) end
end

-- An option, else the environment variable, else the profile's setting, as a boolean.
local function flag(opt, files, env_name, key)
  if opt ~= nil then return opt end
  return truthy(nonempty(files.getenv(env_name)) or setting(files, key))
end

-- The endpoint configured outside the code (environment, then the profile's
-- services section, then its endpoint_url), unless that is switched off.
local function configured_endpoint(files)
  local getenv = files.getenv
  if truthy(nonempty(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
      or setting(files, "ignore_configured_endpoint_urls")) then
    return nil
  end
  local endpoint = nonempty(getenv("AWS_ENDPOINT_URL_SOCIALMESSAGING")) or nonempty(getenv("AWS_ENDPOINT_URL"))
  if endpoint == nil then
    setting(files, "services")
    endpoint = shared.service_endpoint(files.props, files.file, "socialmessaging") or setting(files, "endpoint_url")
  end
  return endpoint
end

local function resolve_endpoint(cfg, opts, files)
  local use_fips = flag(opts.use_fips, files, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")
  local use_dualstack = flag(opts.use_dualstack, files, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint")
  local endpoint = opts.endpoint
  if endpoint == nil then endpoint = configured_endpoint(files) end
  if files.broken then return broken_error(files) end
  local why
  endpoint, why = M.endpoint_rules { region = cfg.region, use_fips = use_fips, use_dualstack = use_dualstack,
    endpoint = endpoint }
  if not endpoint then return errors.validation("endpoint", why) end
  local ep
  ep, why = parse_endpoint(endpoint)
  if not ep then return errors.validation("endpoint", why) end
  cfg.endpoint = endpoint
  cfg.url, cfg.host, cfg.path = ep.url, ep.host_header, ep.path
  cfg.use_fips, cfg.use_dualstack = use_fips, use_dualstack
end

local function resolve_whatsapp(cfg, opts, files)
  local getenv = files.getenv
  cfg.phone_number_id = opts.phone_number_id or nonempty(getenv("WHATSAPP_PHONE_NUMBER_ID"))
  if cfg.phone_number_id then
    local bad = params.phone_number_id(cfg.phone_number_id)
    if bad then return errors.validation("phone_number_id", bad) end
  end

  cfg.meta_api_version = opts.meta_api_version or nonempty(getenv("WHATSAPP_META_API_VERSION"))
    or M.DEFAULT_META_API_VERSION
  local bad = params.meta_api_version(cfg.meta_api_version)
  if bad then return errors.validation("meta_api_version", bad) end
end

local function resolve_ca_file(cfg, opts, files)
  cfg.ca_file = opts.ca_file or nonempty(files.getenv("AWS_CA_BUNDLE")) or setting(files, "ca_bundle")
  if files.broken then return broken_error(files) end
  if cfg.ca_file then
    -- checked, not read (libcurl reads it): a regular file, so nothing blocks on a FIFO
    local _, unusable, kind = shared.read_file(cfg.ca_file, 0)
    if kind == "not_regular" then return errors.validation("ca_file", unusable) end
    if kind then return errors.validation("ca_file", "cannot be read: " .. cfg.ca_file) end
  end
end

local function resolve_timeouts(cfg, opts)
  for _, name in ipairs { "connect_timeout", "timeout" } do
    local bad = options.seconds(opts[name])
    if bad then return errors.validation(name, bad) end
  end
  cfg.connect_timeout = opts.connect_timeout or 3
  cfg.timeout = opts.timeout or 10
end

local function resolve_max_attempts(cfg, opts, files)
  local attempts = opts.max_attempts
    or tonumber(nonempty(files.getenv("AWS_MAX_ATTEMPTS")) or setting(files, "max_attempts") or 3)
  if files.broken then return broken_error(files) end
  if not attempts or attempts < 1 or attempts % 1 ~= 0 then
    return errors.validation("max_attempts", "must be a whole number >= 1")
  end
  cfg.max_attempts = attempts
end

-- retry tuning beyond max_attempts (retry.lua has the defaults and why)
local function resolve_backoff(cfg, opts)
  cfg.on_retry = opts.on_retry
  cfg.backoff = {}
  for k, v in pairs(retry.BACKOFF) do cfg.backoff[k] = v end
  for k, v in pairs(opts.backoff or {}) do
    if cfg.backoff[k] == nil then error("whatsapp.new: unknown backoff option '" .. tostring(k) .. "'", 4) end
    if type(v) ~= "number" then
      error("whatsapp.new: backoff." .. k .. " must be a number (got " .. type(v) .. ")", 4)
    end
    if not (v >= 0 and v <= 3600) then
      return errors.validation("backoff." .. k, "must be a number of seconds in [0, 3600]")
    end
    cfg.backoff[k] = v
  end
end

local function resolve_retry_quota(cfg, opts)
  local quota = opts.retry_quota
  if quota == true then
    error("whatsapp.new: retry_quota must be a number of tokens, or false for no quota", 4)
  elseif quota ~= nil and quota ~= false and not (quota >= 0 and quota % 1 == 0) then
    return errors.validation("retry_quota", "must be a whole number of tokens >= 0, or false for no quota")
  end
  if quota == nil then quota = retry.QUOTA_CAPACITY end
  cfg.retry_quota = quota
end

local function resolve_deadline(cfg, opts)
  local bad = options.seconds(opts.deadline)
  if bad then return errors.validation("deadline", bad) end
  cfg.deadline = opts.deadline
  cfg.allow_blocking_credential_process = opts.allow_blocking_credential_process
end

local function resolve_user_agent(cfg, opts)
  if opts.user_agent then
    local bad = params.user_agent(opts.user_agent)
    if bad then return errors.validation("user_agent", bad) end
  end
  cfg.user_agent = opts.user_agent
end

-- libcurl blocks: inside nginx it would freeze every request of the
-- worker, so there the cosocket transport is the default; "curl" stays
-- possible for code that runs where blocking is fine (ngx.run_worker_thread).
local function resolve_transport(cfg, opts)
  local in_nginx = require("whatsapp.transport.resty").in_nginx()
  cfg.transport = opts.transport or (in_nginx and "resty" or "curl")
  if cfg.transport ~= "curl" and cfg.transport ~= "resty" then
    return errors.validation("transport", 'must be "curl" or "resty" (cosockets, inside OpenResty/nginx)')
  end
  if cfg.transport == "resty" and not in_nginx then
    return errors.validation("transport", '"resty" needs nginx with ngx_lua (cosockets)')
  end
end

-- rate: attempts per second per origination number, for every send, batch
-- and call of the client; rate_limiter: where the turns are kept (see
-- whatsapp.rate); checked here, made by the client.
local function resolve_rate(cfg, opts)
  local rate = opts.rate
  if rate ~= nil and not (rate > 0 and rate < math.huge) then
    return errors.validation("rate", "must be a positive number of attempts per second")
  end
  local fallback = opts.rate_limiter_fallback
  if fallback ~= nil and fallback ~= "local" and fallback ~= "error" then
    return errors.validation("rate_limiter_fallback", 'must be "local" or "error" (the default)')
  end
  cfg.rate, cfg.rate_limiter, cfg.rate_limiter_fallback = rate, opts.rate_limiter, fallback
end

-- In this order; the first error ends resolve.
local STEPS = {
  resolve_region, resolve_endpoint, resolve_whatsapp, resolve_ca_file, resolve_timeouts,
  resolve_max_attempts, resolve_backoff, resolve_retry_quota, resolve_deadline, resolve_user_agent,
  resolve_transport, resolve_rate,
}

--- opts: the table given to whatsapp.new; getenv: os.getenv or a stand-in.
function M.resolve(opts, getenv)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("whatsapp.new: expected a table of options, got " .. type(opts), 3)
  end
  options.check("whatsapp.new", opts, OPTION_TYPES, 3)
  getenv = getenv or os.getenv
  local profile = shared.profile_name(opts.profile, getenv)
  local cfg = { credentials = opts.credentials, profile = profile, profile_explicit = opts.profile ~= nil }
  local files = { getenv = getenv, profile = profile }
  for _, step in ipairs(STEPS) do
    local err = step(cfg, opts, files)
    if err then return nil, err end
  end
  return cfg
end

return M

--- SNS signing certificates: the rules a SigningCertURL must pass before
-- anything is fetched, the fetch (TLS verified, no redirects, 200 only,
-- 10 KB at most), and a bounded cache of parsed keys. The URL is attacker
-- input until the signature it verifies has passed (REFERENCES: SNS
-- signatures): a URL that breaks a rule is refused without a byte on the
-- network.
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local urls = require "whatsapp.url"

local M = {}

-- region-shaped hosts only (us-east-1, eu-west-1, us-gov-west-1, cn-north-1,
-- us-iso-east-1 …): sns.<region>.amazonaws.com(.cn). Checked on the whole
-- host; a Lua pattern has no alternation, so the variants are a list.
M.DEFAULT_HOST_PATTERNS = {
  "^sns%.%l%l%-%l+%-%d+%.amazonaws%.com$",
  "^sns%.%l%l%-gov%-%l+%-%d+%.amazonaws%.com$",
  "^sns%.%l%l%-iso%l?%-%l+%-%d+%.amazonaws%.com$",
  "^sns%.cn%-%l+%-%d+%.amazonaws%.com%.cn$",
}
M.DEFAULT_PATH_PATTERN = "^/SimpleNotificationService%-%w+%.pem$"

M.MAX_BYTES = 10 * 1024
M.MAX_ENTRIES = 16
M.TTL = 24 * 3600
local FETCH_TIMEOUT = 3

local function refuse(code, status, message, retryable)
  return nil, errors.new { code = code, status = status, message = message, retryable = retryable or false,
    attempts = 0 }
end
M.refuse = refuse

function M.host_allowed(host, patterns)
  for i = 1, #patterns do
    if host:find(patterns[i]) then return true end
  end
  return false
end

--- Splits an https URL strictly: -> authority, path, query (path and
-- query kept apart) | nil, why. No userinfo, no percent-encoding before the
-- query, no backslash, fragment or IP literal: refused, never normalised.
-- The authority is the host, or host:port when a port is written: the
-- default host patterns match no port, so only a pattern that names one
-- (a test's "^localhost:%d+$") lets a port through.
function M.split(url, what)
  if type(url) ~= "string" then return nil, what .. " is not a string" end
  if url:find("[%c%s\\#@\127-\255]") or url:match("^[^?]*"):find("%", 1, true) then
    return nil, what .. " holds a character an SNS URL never has (space, control, \\, #, @, non-ASCII, or % "
      .. "before the query)"
  end
  local u = urls.parse(url) -- (the characters above rule out a fragment and user information)
  if not u then return nil, what .. " is not an absolute URL" end
  if u.scheme ~= "https" then return nil, what .. " must be https" end
  local host = u.host
  if u.ipv6 or host == "" or host:find("^[%d.]+$") or host:find("[^%w.-]") then
    return nil, what .. " has no DNS host name"
  end
  if u.port_text and not (u.port and urls.good_port(u)) then return nil, what .. " has a malformed port" end
  return u.port_text and host .. ":" .. u.port_text or host, u.path, u.query
end

--- The SigningCertURL rules. -> true | nil, err (SnsCertUrl, 403)
function M.check_url(url, host_patterns, path_pattern)
  local host, path, query = M.split(url, "SigningCertURL")
  if not host then return refuse("SnsCertUrl", 403, path) end
  if not M.host_allowed(host, host_patterns) then
    return refuse("SnsCertUrl", 403, "SigningCertURL host is not an SNS host of the allowed pattern (or names a port)")
  end
  if query then return refuse("SnsCertUrl", 403, "SigningCertURL must not carry a query") end
  if path:find("/.", 1, true) or not path:find(path_pattern) then
    return refuse("SnsCertUrl", 403, "SigningCertURL path must name the .pem certificate file")
  end
  return true
end

-- The default fetch: cosockets inside nginx (the phases that have them),
-- else the core's libcurl. TLS verification is always on; no redirects are
-- followed (a 3xx is a failed fetch). -> pem | nil, message
local function default_fetch(rx)
  local http
  return function(url)
    if not http then
      local resty = require "whatsapp.transport.resty"
      if resty.in_nginx() and not resty.unavailable() then
        http = resty.http { user_agent = "whatsapp-lua inbound" }
      else
        http = require("whatsapp.transport.http").new { ca_file = rx.ca_file, user_agent = "whatsapp-lua inbound" }
      end
    end
    local status, body, _ = http("GET", url, {}, nil, FETCH_TIMEOUT)
    if not status then return nil, body .. ": " .. tostring(_) end
    if status ~= 200 then return nil, "HTTP " .. tostring(status) end
    return body
  end
end
M.default_fetch = default_fetch

--- A cache of parsed certificates, by exact URL, bounded and with a TTL.
-- Only certificates that parsed and passed are kept; failures never are.
function M.new_cache(max_entries, ttl)
  return { entries = {}, order = {}, n = 0, max = max_entries or M.MAX_ENTRIES, ttl = ttl or M.TTL }
end

local function cache_put(cache, url, entry)
  if not cache.entries[url] then
    if cache.n >= cache.max then
      local oldest = table.remove(cache.order, 1)
      cache.entries[oldest] = nil
      cache.n = cache.n - 1
    end
    cache.order[#cache.order + 1] = url
    cache.n = cache.n + 1
  end
  cache.entries[url] = entry
end

local function cache_drop(cache, url)
  if not cache.entries[url] then return end
  cache.entries[url] = nil
  cache.n = cache.n - 1
  for i, u in ipairs(cache.order) do
    if u == url then
      table.remove(cache.order, i)
      break
    end
  end
end

local function check_dates(entry, now)
  if now < entry.not_before then return refuse("SnsCert", 403, "the signing certificate is not valid yet") end
  if now > entry.not_after then return refuse("SnsCert", 403, "the signing certificate has expired") end
  return entry.key
end

-- The PEM shared by nginx's workers (opts.cert_cache, a lua_shared_dict),
-- or nil.
local function shared_pem(rx, url)
  local ngx = rawget(_G, "ngx")
  local dict = rx.cert_dict and ngx and ngx.shared and ngx.shared[rx.cert_dict]
  if not dict then return nil end
  return dict:get(url), dict
end

--- The public key of the certificate at url (already checked by check_url),
-- from the cache or fetched. -> key | nil, err (SnsCertFetch 503 retryable,
-- or SnsCert 403)
function M.key(rx, url, now)
  local cache = rx.cert_cache
  local entry = cache.entries[url]
  if entry and entry.expires > now then return check_dates(entry, now) end
  if entry then cache_drop(cache, url) end
  local pem, dict = shared_pem(rx, url)
  local why
  if not pem then
    local ok
    rx.cert_fetches = rx.cert_fetches + 1
    ok, pem, why = pcall(rx.fetch_cert, url)
    if not ok then why, pem = pem, nil end
  end
  if type(pem) ~= "string" then
    return refuse("SnsCertFetch", 503, "the signing certificate could not be fetched: "
      .. errors.printable(tostring(why or "no certificate"), 200), true)
  end
  if #pem > M.MAX_BYTES then return refuse("SnsCert", 403, "the signing certificate is larger than 10 KB") end
  local key, info, message = core.x509_pubkey(pem)
  if not key then return refuse("SnsCert", 403, "the signing certificate is unusable: " .. message) end
  entry = { key = key, not_before = info.not_before, not_after = info.not_after, expires = now + cache.ttl }
  local checked, err = check_dates(entry, now)
  if not checked then return nil, err end
  cache_put(cache, url, entry)
  -- shared with the other workers (only a certificate that passed; a full dict just does not share)
  if dict then dict:set(url, pem, cache.ttl) end
  return key
end

return M

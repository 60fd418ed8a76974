--- Retry policy of the AWS SDKs' "standard" mode (docs/REFERENCES.md): which
-- failures are retried, how long to wait, the per-client retry quota, and
-- clock-skew correction. Pure policy: no I/O, no clock of its own, so the
-- curl and the OpenResty transports share it and specs can drive it.
local M = {}

-- Backoff bases of the AWS SDK for JavaScript v3 (smithy util-retry):
-- 100 ms for transient failures, 500 ms for throttling, never above 20 s.
M.BACKOFF = { base = 0.1, throttling_base = 0.5, max = 20 }

-- The retry quota (botocore retries/quota.py, Go v2 DefaultRetryRateTokens).
M.QUOTA_CAPACITY = 500
M.RETRY_COST = 5
M.TIMEOUT_RETRY_COST = 10
M.NO_RETRY_INCREMENT = 1

-- x-amz-retry-after may lengthen a wait by at most this (the SDKs' 2026 rule).
M.RETRY_AFTER_MAX_EXTRA = 5

-- The codes that mean "your clock is off" (the AWS SDK for Go v2 clock-skew set), and
-- how far off it must be before the service's Date is believed (JS v3: 5 min).
local SKEW_CODES = {
  InvalidSignatureException = true, SignatureDoesNotMatch = true, AuthFailure = true,
  RequestTimeTooSkewed = true, RequestExpired = true, RequestInTheFuture = true,
}
M.SKEW_THRESHOLD = 300
M.MAX_OFFSET = 365 * 86400

local THROTTLING = {}
for code in ([[Throttling ThrottlingException ThrottledException RequestThrottledException
  TooManyRequestsException ProvisionedThroughputExceededException TransactionInProgressException
  RequestLimitExceeded BandwidthLimitExceeded LimitExceededException RequestThrottled SlowDown
  PriorRequestNotComplete EC2ThrottledException ThrottledRequestException]]):gmatch("%S+") do
  THROTTLING[code] = true
end

--- How a failed attempt is retried: "throttling", "timeout" (costs more
-- quota), "transient", or nil when it must not be retried.
function M.class(err)
  if not err.retryable then return nil end
  if THROTTLING[err.code] or err.status == 429 then return "throttling" end
  if err.code == "TimeoutError" then return "timeout" end
  return "transient"
end

--- The wait before the next attempt: full jitter, rand * min(base * 2^(n-1), max),
-- n being the attempts made so far. retry_after (seconds, from the service)
-- lengthens it, up to RETRY_AFTER_MAX_EXTRA more.
function M.delay(attempts, class, backoff, random, retry_after)
  local base = class == "throttling" and backoff.throttling_base or backoff.base
  local t = random() * math.min(base * 2 ^ (attempts - 1), backoff.max)
  if retry_after and retry_after > t then
    t = math.min(retry_after, t + M.RETRY_AFTER_MAX_EXTRA)
  end
  return t
end

--- x-amz-retry-after holds milliseconds; anything else is ignored.
function M.retry_after_seconds(header)
  if type(header) ~= "string" or not header:find("^%s*%d+%s*$") then return nil end
  local ms = tonumber(header)
  if ms > 3600 * 1000 then return nil end
  return ms / 1000
end

--- The retry quota of one client: a token bucket that empties while retries
-- keep failing, so an outage is not made worse by every send retrying.
function M.new_quota(capacity)
  return { tokens = capacity, capacity = capacity }
end

--- Takes the cost of one retry; false when the bucket cannot pay it.
function M.take(quota, class)
  if not quota then return 0 end
  local cost = class == "timeout" and M.TIMEOUT_RETRY_COST or M.RETRY_COST
  if quota.tokens < cost then return false end
  quota.tokens = quota.tokens - cost
  return cost
end

--- After a success: refund what the last retry took, or add the small
-- increment when no retry was needed.
function M.succeeded(quota, last_cost)
  if not quota then return end
  local add = last_cost and last_cost > 0 and last_cost or M.NO_RETRY_INCREMENT
  quota.tokens = math.min(quota.capacity, quota.tokens + add)
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9,
  Oct = 10, Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so no
-- local time zone is involved.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
M.days_from_civil = days_from_civil

--- Seconds since the epoch of an HTTP Date header (IMF-fixdate,
-- "Sun, 06 Nov 1994 08:49:37 GMT"); nil when it is not one.
function M.parse_http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, hh, mm, ss = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = MONTHS[mon]
  if not m then return nil end
  d, y, hh, mm, ss = tonumber(d), tonumber(y), tonumber(hh), tonumber(mm), tonumber(ss)
  if d < 1 or d > 31 or hh > 23 or mm > 59 or ss > 60 then return nil end
  return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss
end

--- The clock offset to sign with after an answer dated `server` (epoch s)
-- arrived when our clock (plus the current offset) read `now`: unchanged
-- unless the two differ by SKEW_THRESHOLD or more.
function M.learn_offset(offset, now, server)
  -- a Date a year off is a broken clock or proxy, not skew worth signing with
  if not server or math.abs(server - now) > M.MAX_OFFSET then return offset end
  if math.abs(now + offset - server) >= M.SKEW_THRESHOLD then return server - now end
  return offset
end

function M.is_skew_code(code)
  return SKEW_CODES[code] or false
end

return M

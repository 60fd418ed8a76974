--- UTC timestamps: ISO 8601 text (as STS, IMDS, containers and
-- credential_process write expirations) to epoch seconds and back, without
-- depending on the local time zone.
local M = {}

local floor = math.floor

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local DAYS_IN = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

--- "2024-05-01T12:00:00Z", with optional fractional seconds and a zone "Z" or
-- "+hh:mm"/"-hhmm" -> epoch seconds (whole), or nil when it is not such a time.
function M.parse_iso8601(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > DAYS_IN[mo] or h > 23 or mi > 59 or sec > 60 then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset
  if rest == "Z" or rest == "z" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 60 + tonumber(om)) * 60
    if sign == "-" then offset = -offset end
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
end

--- Epoch seconds -> "YYYY-MM-DDThh:mm:ssZ".
function M.iso8601(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", floor(t))
end

--- Epoch seconds -> SigV4's "YYYYMMDDThhmmssZ".
function M.amz_date(t)
  return os.date("!%Y%m%dT%H%M%SZ", floor(t))
end

--- The current time in epoch seconds.
function M.now()
  return os.time()
end

return M

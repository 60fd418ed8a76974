--- The field checks the message validators share (whatsapp.message.validate and its
-- interactive and template parts). A check that fails raises a Failure,
-- which whatsapp.message.validate turns into `nil, err`: deep checks stay one line
-- each instead of threading `if err then return err end` through every level.
local rules = require "whatsapp.message.rules"
local codepoints = require "whatsapp.message.codepoints"

local LIMITS, RANGES = rules.limits, rules.ranges

local Failure = {}
local function fail(path, rule)
  error(setmetatable({ path = path, rule = rule }, Failure), 0)
end

local function join(path, key)
  if path == "" then return key end
  return path .. "." .. key
end
local function at(path, i) return path .. "[" .. i .. "]" end

-- "1 character", "3 characters"
local function count_of(n, unit)
  if n == 1 then return n .. " " .. unit:gsub("s$", "") end
  return n .. " " .. unit
end

--- The rule text for n against a named limit, or nil when n is within it.
local function limit_rule(name, n, scope)
  local l = LIMITS[name]
  scope = scope and (" " .. scope) or ""
  if l.max and n > l.max then return "at most " .. count_of(l.max, l.unit) .. scope .. " (got " .. n .. ")" end
  if l.min and n < l.min then return "at least " .. count_of(l.min, l.unit) .. scope .. " (got " .. n .. ")" end
  return nil
end

local function check_limit(path, name, n, scope)
  local rule = limit_rule(name, n, scope)
  if rule then fail(path, rule) end
end

local function type_rule(v, want)
  return "must be " .. want .. " (got " .. type(v) .. ")"
end

-- What a caller gave, for an error message: short, and quoted if a string.
local function shown(v)
  if type(v) ~= "string" then return type(v) end
  if #v > 40 then
    local cut = 40
    -- never cut inside a character
    while cut > 1 and (v:byte(cut + 1) or 0) >= 0x80 and v:byte(cut + 1) < 0xC0 do cut = cut - 1 end
    v = v:sub(1, cut) .. "..."
  end
  return string.format("%q", v)
end

--- A string: valid UTF-8, its length in code points within the limit `name`.
local function str(v, path, name)
  if type(v) ~= "string" then fail(path, type_rule(v, "a string")) end
  local n, bad = codepoints.len(v)
  if not n then fail(path, "not valid UTF-8 (byte " .. bad .. ")") end
  if name then check_limit(path, name, n) end
  return v
end

local function required(obj, key, path)
  local v = obj[key]
  if v == nil then fail(join(path, key), "required") end
  return v
end

local function is_object(v)
  return type(v) == "table"
end

local function object(v, path)
  if not is_object(v) then fail(path, type_rule(v, "a table")) end
  return v
end

--- Only the listed keys (a set) may appear: a misspelt field is refused, not
-- sent for Meta to reject later.
local UNKNOWN = "unknown field (validate = false sends fields this module does not know)"
local function fields(obj, path, allowed)
  for k in pairs(obj) do
    if type(k) ~= "string" then
      fail(path, "has a list entry [" .. tostring(k) .. "] where fields were expected")
    end
    if not allowed[k] then fail(join(path, k), UNKNOWN) end
  end
end

local function set(...)
  local s = {}
  for i = 1, select("#", ...) do s[select(i, ...)] = true end
  return s
end

--- A Lua sequence (keys 1..n, nothing else); returns its length.
local function list(v, path, name, scope)
  if type(v) ~= "table" then fail(path, type_rule(v, "a list")) end
  local n = 0
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
      fail(path, "must be a list (found the key " .. shown(type(k) == "string" and k or tostring(k)) .. ")")
    end
    n = n + 1
  end
  for i = 1, n do
    if v[i] == nil then fail(path, "must be a list without holes (no entry [" .. i .. "])") end
  end
  if name then check_limit(path, name, n, scope) end
  return n
end

local function boolean(v, path)
  if type(v) ~= "boolean" then fail(path, type_rule(v, "a boolean")) end
end

-- hint: what to do about it, appended to the rule
local function one_of(v, path, allowed, hint)
  if type(v) ~= "string" or not allowed[v] then
    local names = {}
    for k in pairs(allowed) do names[#names + 1] = '"' .. k .. '"' end
    table.sort(names)
    fail(path, "must be one of " .. table.concat(names, ", ") .. " (got " .. shown(v) .. ")"
      .. (hint and ("; " .. hint) or ""))
  end
end

local function constant(v, path, want)
  if v ~= want then fail(path, string.format('must be "%s" (got %s)', want, shown(v))) end
end

local function range_check(n, path, name)
  local r = RANGES[name]
  if r.min and n < r.min or r.max and n > r.max then
    local want = r.max and (r.min .. ".." .. r.max) or ("at least " .. r.min)
    fail(path, "must be " .. want .. " (got " .. tostring(n) .. ")")
  end
end

--- A number (or a numeric string: Meta's docs type coordinates as strings)
-- within the range `name`.
local function number(v, path, name, allow_string)
  local n = v
  if allow_string and type(v) == "string" and v:find("^%s*%-?%d+%.?%d*%s*$") then n = tonumber(v) end
  if type(n) ~= "number" or n ~= n or n == math.huge or n == -math.huge then
    fail(path, allow_string and "must be a number or a numeric string" or type_rule(v, "a number"))
  end
  range_check(n, path, name)
end

local function integer(v, path, name, allow_string)
  local n = v
  if allow_string and type(v) == "string" and v:find("^%d+$") then n = tonumber(v) end
  if type(n) ~= "number" or n % 1 ~= 0 or n ~= n then
    fail(path, allow_string and "must be an integer or a string of digits" or type_rule(v, "an integer"))
  end
  range_check(n, path, name)
  return n
end

--- http(s) URL with a host (Meta fetches it; anything else cannot work).
local function http_url(v, path)
  str(v, path)
  if not v:find("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#%s]+") then
    fail(path, "must be an http:// or https:// URL")
  end
  if v:find("[%z\1-\32\127]") then fail(path, "must not contain spaces or control characters") end
end

-- ids and titles must be unique within a message: Meta reports which button
-- was chosen by them
local function unique(seen, value, path, what)
  if seen[value] then fail(path, what .. " must be unique (same as " .. seen[value] .. ")") end
  seen[value] = path
end

local TEXT_FIELDS = set("text")
local function text_object(v, path, limit)
  object(v, path)
  fields(v, path, TEXT_FIELDS)
  str(required(v, "text", path), join(path, "text"), limit)
end

-- a JSON object the caller fills freely (flow data): a non-empty table
local function free_object(v, path)
  if type(v) ~= "table" then fail(path, type_rule(v, "a table")) end
  if next(v) == nil then fail(path, "must not be empty (leave it out instead)") end
end

local MEDIA_FIELDS = {
  image = set("id", "link", "caption"),
  video = set("id", "link", "caption"),
  document = set("id", "link", "caption", "filename"),
  audio = set("id", "link", "voice"),
  sticker = set("id", "link"),
}
-- headers and template parameters: the media itself, no caption
local BARE_MEDIA_FIELDS = {
  image = set("id", "link"), video = set("id", "link"), document = set("id", "link", "filename"),
}

local function media(kind, v, path, allowed)
  object(v, path)
  if v.caption ~= nil and not allowed.caption then
    fail(join(path, "caption"), (allowed == MEDIA_FIELDS[kind] and kind .. " messages" or "media here")
      .. " take no caption")
  end
  fields(v, path, allowed)
  if v.id ~= nil and v.link ~= nil then fail(path, "give exactly one of id and link (got both)") end
  if v.id == nil and v.link == nil then fail(path, "needs id (an uploaded media id) or link (an http(s) URL)") end
  if v.id ~= nil then str(v.id, join(path, "id"), "nonempty") end
  if v.link ~= nil then http_url(v.link, join(path, "link")) end
  if v.caption ~= nil then str(v.caption, join(path, "caption"), "caption") end
  if v.filename ~= nil then str(v.filename, join(path, "filename"), "nonempty") end
  if v.voice ~= nil then boolean(v.voice, join(path, "voice")) end
end

local LOCATION_FIELDS = set("latitude", "longitude", "name", "address")
local function location(v, path)
  object(v, path)
  fields(v, path, LOCATION_FIELDS)
  number(required(v, "latitude", path), join(path, "latitude"), "latitude", true)
  number(required(v, "longitude", path), join(path, "longitude"), "longitude", true)
  if v.name ~= nil then str(v.name, join(path, "name")) end
  if v.address ~= nil then str(v.address, join(path, "address")) end
end

return {
  Failure = Failure,
  fail = fail,
  join = join,
  at = at,
  limit_rule = limit_rule,
  check_limit = check_limit,
  type_rule = type_rule,
  str = str,
  required = required,
  object = object,
  fields = fields,
  set = set,
  list = list,
  boolean = boolean,
  one_of = one_of,
  constant = constant,
  number = number,
  integer = integer,
  http_url = http_url,
  unique = unique,
  free_object = free_object,
  text_object = text_object,
  media = media,
  location = location,
  MEDIA_FIELDS = MEDIA_FIELDS,
  BARE_MEDIA_FIELDS = BARE_MEDIA_FIELDS,
  UNKNOWN = UNKNOWN,
}

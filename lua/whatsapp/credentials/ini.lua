--- The INI dialect of the AWS shared `config` and `credentials` files, as the
-- SDKs' common profile-file parser tests define it:
--   [section]            a header; '#' or ';' may follow the ']'
--   key = value          value trimmed; " #" / " ;" (after whitespace) starts a comment
--   <indent>more         continues the previous value ("value\nmore"), or, when
--                        the value was empty ("s3 ="), holds sub-properties "name = value"
--   # or ; at column 0   a comment line; blank lines are ignored
-- Section or property names with characters outside [A-Za-z0-9_.:/%@+-] are
-- skipped. An error names the line, never its text (it may hold a secret).
local M = {}

local NAME = "^[%w_%-%./%%@:+]+$"

-- Every step here is linear in the length of its line, and a value's
-- continuation lines are joined once: a hostile file cannot make parsing
-- quadratic (no backtracking pattern runs over a run of spaces).
local byte = string.byte

local function is_space(c)
  return c == 32 or (c >= 9 and c <= 13)
end

local function trim(s)
  local a = s:find("%S")
  if not a then return "" end
  local b = #s
  while is_space(byte(s, b)) do b = b - 1 end
  return s:sub(a, b)
end

-- Cuts a comment off a property value: '#' or ';' preceded by whitespace.
local function strip_comment(v)
  local at = v:find("%s[#;]")
  if at then v = v:sub(1, at) end
  return v
end

-- "name = value" -> name (trimmed), value (untrimmed); nil without '='.
local function split(line)
  local eq = line:find("=", 1, true)
  if not eq then return nil end
  return trim(line:sub(1, eq - 1)), line:sub(eq + 1)
end

-- A section header line -> its section, or nil and what is wrong.
local function header(line, n)
  local close = line:find("]", 2, true)
  if not close then return nil, "line " .. n .. ": a section header has no closing ']'" end
  local name, rest = line:sub(2, close - 1), line:sub(close + 1)
  if rest:find("%S") and not rest:find("^%s*[#;]") then
    return nil, "line " .. n .. ": unexpected text after a section header"
  end
  return { name = (trim(name):gsub("%s+", " ")), line = n, props = {} }
end

--- Parses text. Returns an array of sections in file order, each
-- {name = "profile foo", line = n, props = {key = value | {sub = value}}},
-- or nil and "line N: what is wrong".
function M.parse(text)
  local sections = {}
  local section, key -- the current section, and the property continuations extend
  local skipping = false -- continuations of a property whose name is skipped
  local parts -- the current property's value and continuation lines, joined once it ends
  local function flush()
    if parts then section.props[key] = table.concat(parts, "\n") end
    parts = nil
  end
  -- an indented line: a continuation or a sub-property; nil or an error
  local function indented(line, n)
    if skipping then return nil end -- belongs to a property whose name is skipped
    if not section or not key then return "line " .. n .. ": an indented line continues no property" end
    local props = section.props
    if type(props[key]) == "table" then
      local k, v = split(line)
      if not k or k == "" then return "line " .. n .. ": a sub-property must read 'name = value'" end
      if k:find(NAME) then props[key][k] = trim(strip_comment(v)) end
    else
      parts = parts or { props[key] }
      parts[#parts + 1] = trim(line)
    end
  end
  -- a "key = value" line; nil or an error
  local function property(line, n)
    local k, v = split(line)
    if not k or k == "" then
      return "line " .. n .. ": expected '[section]', 'key = value', a comment or an indented continuation"
    end
    if not section then return "line " .. n .. ": a property comes before any [section]" end
    flush()
    v = trim(strip_comment(v))
    if k:find(NAME) then
      key, skipping = k, false
      if v == "" then section.props[k] = {} else section.props[k] = v end
    else
      key, skipping = nil, true
    end
  end
  local n = 0
  local pos = 1
  local len = #text
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end -- UTF-8 byte order mark
  while pos <= len do
    local nl = text:find("\n", pos, true)
    local stop = (nl or len + 1) - 1
    if stop >= pos and byte(text, stop) == 13 then stop = stop - 1 end -- CRLF
    local line = text:sub(pos, stop)
    pos = (nl or len) + 1
    n = n + 1
    local first = line:sub(1, 1)
    local bad
    if not line:find("%S") or first == "#" or first == ";" then -- luacheck: ignore 542
      -- blank line or comment
    elseif first == "[" then
      if section then flush() end
      section, bad = header(line, n)
      if not section then return nil, bad end
      sections[#sections + 1] = section
      key, skipping = nil, false
    elseif is_space(byte(first)) then
      bad = indented(line, n)
    else
      bad = property(line, n)
    end
    if bad then return nil, bad end
  end
  if section then flush() end
  -- a property that ended up with no sub-properties and no value is the empty string
  for _, s in ipairs(sections) do
    for k, v in pairs(s.props) do
      if type(v) == "table" and next(v) == nil then s.props[k] = "" end
    end
  end
  return sections
end

--- The profiles of a file. kind: "config" ([default], [profile x]; other
-- sections are returned by type: sso-session, services) or "credentials"
-- ([x]). Returns {profiles = {name = props}, sections = {type = {name = props}}}.
function M.profiles(sections, kind)
  local profiles, others = {}, {}
  local prefixed_default = false
  local function merge(name, props, replace)
    local p = profiles[name]
    if not p or replace then
      p = {}
      profiles[name] = p
    end
    for k, v in pairs(props) do p[k] = v end
  end
  for _, s in ipairs(sections) do
    local name = s.name
    if kind == "credentials" then
      if name:find(NAME) then merge(name, s.props) end
    else
      local typ, rest = name:match("^(%S+)%s+(.+)$")
      if name == "default" then
        if not prefixed_default then merge("default", s.props) end
      elseif typ == "profile" then
        if rest:find(NAME) then
          if rest == "default" and not prefixed_default then
            prefixed_default = true
            merge("default", s.props, true) -- [profile default] wins over [default]
          else
            merge(rest, s.props)
          end
        end
      elseif typ and rest:find(NAME) then
        others[typ] = others[typ] or {}
        local t = others[typ][rest] or {}
        for k, v in pairs(s.props) do t[k] = v end
        others[typ][rest] = t
      end
    end
  end
  return { profiles = profiles, sections = others }
end

return M

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

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Cuts a comment off a property value: '#' or ';' preceded by whitespace.
local function strip_comment(v)
  local at = v:find("%s[#;]")
  if at then v = v:sub(1, at) end
  return v
end

--- Parses text. Returns an array of sections in file order, each
-- {name = "profile foo", line = n, props = {key = value | {sub = value}}},
-- or nil and "line N: what is wrong".
function M.parse(text)
  local sections = {}
  local section, key -- the current section, and the property continuations extend
  local skipping = false -- continuations of a property whose name is skipped
  local n = 0
  local pos = 1
  local len = #text
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end -- UTF-8 byte order mark
  while pos <= len do
    local nl = text:find("\n", pos, true)
    local line = text:sub(pos, (nl or len + 1) - 1)
    pos = (nl or len) + 1
    n = n + 1
    line = line:gsub("\r$", "")
    local first = line:sub(1, 1)
    if line:find("^%s*$") or first == "#" or first == ";" then -- luacheck: ignore 542
      -- blank line or comment
    elseif first == "[" then
      local name, rest = line:match("^%[([^%]]*)%](.*)$")
      if not name then return nil, "line " .. n .. ": a section header has no closing ']'" end
      if not rest:find("^%s*$") and not rest:find("^%s*[#;]") then
        return nil, "line " .. n .. ": unexpected text after a section header"
      end
      section = { name = (trim(name):gsub("%s+", " ")), line = n, props = {} }
      sections[#sections + 1] = section
      key, skipping = nil, false
    elseif first:find("%s") and skipping then -- luacheck: ignore 542
      -- belongs to a property whose name is skipped
    elseif first:find("%s") then
      if not section or not key then
        return nil, "line " .. n .. ": an indented line continues no property"
      end
      local props = section.props
      if type(props[key]) == "table" then
        local k, v = line:match("^%s*([^=]-)%s*=(.*)$")
        if not k or k == "" then
          return nil, "line " .. n .. ": a sub-property must read 'name = value'"
        end
        if k:find(NAME) then props[key][k] = trim(strip_comment(v)) end
      else
        props[key] = props[key] .. "\n" .. trim(line)
      end
    else
      local k, v = line:match("^([^=]-)%s*=(.*)$")
      if not k or k == "" then
        return nil, "line " .. n .. ": expected '[section]', 'key = value', a comment or an indented continuation"
      end
      if not section then
        return nil, "line " .. n .. ": a property comes before any [section]"
      end
      v = trim(strip_comment(v))
      if k:find(NAME) then
        key, skipping = k, false
        if v == "" then section.props[k] = {} else section.props[k] = v end
      else
        key, skipping = nil, true
      end
    end
  end
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

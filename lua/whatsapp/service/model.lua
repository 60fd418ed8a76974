--- The input of an operation (whatsapp.service.operations), checked against the
-- model's shapes and turned into the parts of a restJson1 request: the query
-- string and the JSON body. A value that breaks a rule is a
-- ParamValidationError whose field names the member as the model does
-- (`sourceS3File.bucketName`, `headers["Content-Type"]`).
local core = require "whatsapp.core"
local codepoints = require "whatsapp.message.codepoints"
local errors = require "whatsapp.errors"
local operations = require "whatsapp.service.operations"

local SHAPES = operations.shapes

local M = {}

local Failure = {}
local function fail(path, rule)
  error(setmetatable({ path = path, rule = rule }, Failure), 0)
end

local function join(path, name)
  return path == "" and name or path .. "." .. name
end

-- Java's '.' and '$' treat these as line ends: no model pattern lets them through
local LINE_ENDS = { "\n", "\r", "\194\133", "\226\128\168", "\226\128\169" }

-- Length as the model counts it: UTF-16 code units (Java's String.length).
local function utf16_length(v, path)
  local n, bad = codepoints.len(v)
  if not n then fail(path, "not valid UTF-8 (byte " .. bad .. ")") end
  local _, astral = v:gsub("[\240-\244]", "")
  return n + astral
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- Whether string v matches the shape's pattern as Java's String.matches
-- would match the model's regex.
function M.matches(shape, v)
  for _, le in ipairs(LINE_ENDS) do
    if v:find(le, 1, true) then return false end
  end
  for _, p in ipairs(shape.lua) do
    if v:find(p) then return true end
  end
  return false
end

local check

local function check_string(shape, v, path)
  if type(v) ~= "string" then fail(path, "must be a string (got " .. type(v) .. ")") end
  local n = utf16_length(v, path)
  if shape.min and n < shape.min or shape.max and n > shape.max then
    fail(path, "must be " .. (shape.min or 0) .. ".." .. (shape.max or "") .. " characters long (got " .. n .. ")")
  end
  if shape.pattern and not M.matches(shape, v) then
    fail(path, shape.says .. " (the model's pattern " .. shape.pattern .. ")")
  end
end

local function check_members(shape, v, path, secrets, sensitive)
  for k in pairs(v) do
    if type(k) ~= "string" then fail(path, "has the key [" .. tostring(k) .. "] where members were expected") end
    if not shape.members[k] then
      fail(join(path, k), "unknown member (known: " .. table.concat(sorted_keys(shape.members), ", ") .. ")")
    end
  end
  -- in the order of the names: the first rule broken is the one reported
  local required = {}
  for _, name in ipairs(shape.required) do required[name] = true end
  for _, name in ipairs(sorted_keys(shape.members)) do
    if v[name] ~= nil then
      check(shape.members[name].shape, v[name], join(path, name), secrets, sensitive)
    elseif required[name] then
      fail(join(path, name), "required")
    end
  end
end

local function check_integer(shape, v, path)
  if type(v) ~= "number" or v % 1 ~= 0 then fail(path, "must be an integer (got " .. type(v) .. ")") end
  if shape.min and v < shape.min or shape.max and v > shape.max then
    fail(path, "must be " .. shape.min .. ".." .. shape.max .. " (got " .. string.format("%d", v) .. ")")
  end
end

-- string keys, each checked with its value in the order of the keys
local function check_map(shape, v, path, secrets, sensitive)
  if type(v) ~= "table" then fail(path, "must be a table (got " .. type(v) .. ")") end
  for k in pairs(v) do
    if type(k) ~= "string" then fail(path, "keys must be strings (got " .. type(k) .. ")") end
  end
  for _, k in ipairs(sorted_keys(v)) do
    local at = path .. '["' .. k .. '"]'
    check(shape.key, k, at, secrets, sensitive)
    check(shape.value, v[k], at, secrets, sensitive)
  end
end

-- shape_name, value, path; secrets collects the strings of sensitive shapes.
function check(shape_name, v, path, secrets, sensitive)
  local shape = SHAPES[shape_name]
  sensitive = sensitive or shape.sensitive
  local t = shape.type
  if t == "string" then
    check_string(shape, v, path)
    if sensitive and #v >= 8 then secrets[#secrets + 1] = v end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then fail(path, "must be a boolean (got " .. type(v) .. ")") end
  elseif t == "integer" then
    check_integer(shape, v, path)
  elseif t == "map" then
    check_map(shape, v, path, secrets, sensitive)
  elseif t == "structure" then
    if type(v) ~= "table" then fail(path, "must be a table (got " .. type(v) .. ")") end
    check_members(shape, v, path, secrets, sensitive)
  else
    error("whatsapp.model: shape " .. shape_name .. " has a type this module cannot send: " .. tostring(t))
  end
end

-- The URI encoding of SigV4 and of the SDKs: all but A-Za-z0-9-_.~ as %XX.
local function uri_encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end
M.uri_encode = uri_encode

local function query_text(v)
  if type(v) == "boolean" then return v and "true" or "false" end
  if type(v) == "number" then return string.format("%d", v) end
  return v
end

--- Checks input (a table keyed by the model's member names) for the named
-- operation and serializes it. Returns {query =, body =, secrets =}: query
-- is the encoded query string ("" when none), body the JSON text (nil when
-- the operation has no body members; "{}" when none is set, as botocore
-- sends), secrets the strings of sensitive members (to keep out of error
-- messages). Or nil and a ParamValidationError.
function M.request(name, input)
  local op = operations.operations[name]
  if not op then error("whatsapp: unknown operation '" .. tostring(name) .. "'", 3) end
  if type(input) ~= "table" then error(name .. ": input must be a table (got " .. type(input) .. ")", 3) end
  local secrets = {}
  local ok, failure = pcall(check_members, op, input, "", secrets)
  if not ok then
    if getmetatable(failure) == Failure then return nil, errors.validation(failure.path, failure.rule) end
    error(failure, 0)
  end
  local query, body, has_body = {}, {}, false
  for _, member in ipairs(sorted_keys(op.members)) do
    local m, v = op.members[member], input[member]
    if not m.query then has_body = true end
    if v ~= nil then
      if m.query then
        query[#query + 1] = uri_encode(m.query) .. "=" .. uri_encode(query_text(v))
      else
        body[member] = v
      end
    end
  end
  local text
  if has_body then
    local _, why, field
    text, _, why, field = core.encode(body)
    if not text then return nil, errors.validation(field ~= "" and field or name, why) end
  end
  return { query = table.concat(query, "&"), body = text, secrets = secrets }
end

return M

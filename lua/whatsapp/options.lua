--- The one checker of option tables (whatsapp.new's, send's, send_batch's,
-- the builders', the service calls'). A wrong type or an unknown name is a
-- programming error: it raises, in the caller's name.
local M = {}

-- the longest a deadline or a timeout may be, in seconds (a day)
M.MAX_SECONDS = 86400

local SECONDS_RULE = "must be a number of seconds in (0, " .. M.MAX_SECONDS .. "]"

local function fail(text, level)
  error(text, level > 0 and level + 2 or 0)
end

local function allowed(v, want)
  local t = type(v)
  if t == want then return true end
  if type(want) == "table" then
    for i = 1, #want do if want[i] == t then return true end end
  end
  return false
end

--- Checks opts (nil allowed) against schema {name = type name, or a list
-- of type names}. Raises "<fname>: opts must be a table (got T)",
-- "<fname>: unknown option 'k'", "<fname>: option 'k' must be a T (got T)".
-- level: as error's, counted from the function calling check (1 = it);
-- 0 = no position. Returns opts.
function M.check(fname, opts, schema, level)
  if opts == nil then return nil end
  if type(opts) ~= "table" then fail(fname .. ": opts must be a table (got " .. type(opts) .. ")", level) end
  for k, v in pairs(opts) do
    local want = schema[k]
    if want == nil then fail(fname .. ": unknown option '" .. tostring(k) .. "'", level) end
    if not allowed(v, want) then
      local wants = type(want) == "table" and table.concat(want, " or ") or want
      fail(fname .. ": option '" .. k .. "' must be a " .. wants .. " (got " .. type(v) .. ")", level)
    end
  end
  return opts
end

--- The rule a deadline or a timeout breaks, or nil: v (a number, or nil for
-- none) must be in (0, MAX_SECONDS]. For errors.validation(name, rule).
function M.seconds(v)
  if v ~= nil and not (v > 0 and v <= M.MAX_SECONDS) then return SECONDS_RULE end
  return nil
end

return M

--- Marks a Lua table as a JSON array, so that an empty one encodes as `[]`
-- rather than `{}` (an empty Lua table cannot say which it is). Pure Lua: the
-- builders use it without the C core; the core is told about the metatable.
local M = {}

local array_mt = { __name = "whatsapp.array" }
M.mt = array_mt

--- Returns t (or a new table) marked as a JSON array.
function M.array(t)
  if t ~= nil and type(t) ~= "table" then
    error("whatsapp.array: expected a table or nil, got " .. type(t), 2)
  end
  return setmetatable(t or {}, array_mt)
end

function M.is_array(t)
  return type(t) == "table" and getmetatable(t) == array_mt
end

return M

--- A campaign's results file: one record per input line, in input order,
-- with line, to, status (sent, failed, invalid, ambiguous, pending),
-- message_id, error_code, error_field, error_message. JSON lines, or CSV
-- when the path ends in .csv. Written whole to PATH.tmp, then renamed over
-- PATH: a reader never sees half a file.
local core = require "whatsapp.core"

local encode, null = core.encode, core.null

local M = {}

M.FIELDS = { "line", "to", "status", "message_id", "error_code", "error_field", "error_message" }

local function csv_cell(v)
  if v == nil then return "" end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function jsonl_row(r)
  local t = {}
  for _, k in ipairs(M.FIELDS) do
    local v = r[k]
    if v == nil then v = null end
    t[k] = v
  end
  return encode(t)
end

local function csv_row(r)
  local cells = {}
  for i, k in ipairs(M.FIELDS) do cells[i] = csv_cell(r[k]) end
  return table.concat(cells, ",")
end

--- Writes rows (tables with the fields above) to path. Returns true, or
-- nil and what went wrong.
function M.write(path, rows)
  local csv = path:lower():match("%.csv$") ~= nil
  local tmp = path .. ".tmp"
  local f, why = io.open(tmp, "wb")
  if not f then return nil, "cannot write the results file: " .. tostring(why) end
  local lines = {}
  if csv then lines[1] = table.concat(M.FIELDS, ",") end
  local row = csv and csv_row or jsonl_row
  for _, r in ipairs(rows) do lines[#lines + 1] = row(r) end
  lines[#lines + 1] = ""
  local ok, werr = f:write(table.concat(lines, csv and "\r\n" or "\n"))
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(tmp)
    return nil, "cannot write the results file: " .. tostring(werr or cerr)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return nil, "cannot write the results file: " .. tostring(rerr)
  end
  return true
end

return M

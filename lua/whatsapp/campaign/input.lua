--- A campaign's input: JSON lines (one WhatsApp message object a line) or
-- CSV with a header row mapped onto a template (or a text) per row. Every
-- line becomes an item: { line = n, to = …, json = <the message's bytes>,
-- hash = <their SHA-256, hex> } or, when it breaks a rule, { line = n, to =
-- …, err = <a ParamValidationError naming the field> }. A problem with the
-- file as a whole (an unknown column, no `to` column) is nil, message.
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local message = require "whatsapp.message"

local encode, decode, sha256_hex = core.encode, core.decode, core.sha256_hex

local M = {}

-- An item for a message table: validated (a normalized copy comes back),
-- encoded once with sorted keys; the hash is of the bytes that are sent.
local function finish(item, msg, check_opts)
  local fine, ok, checked = pcall(message.validate, msg, check_opts)
  if not fine then -- a value no rule foresaw: this line is refused, the others go on
    item.err = errors.validation("message", "cannot be checked: " .. tostring(ok))
    return item
  end
  if not ok then
    item.err = checked
    return item
  end
  local json, _, why, field = encode(checked)
  if not json then
    item.err = errors.validation(field ~= "" and field or "message", why)
    return item
  end
  item.json, item.hash = json, sha256_hex(json)
  return item
end

local function to_of(msg)
  return type(msg) == "table" and type(msg.to) == "string" and msg.to or nil
end

--- JSON lines: each non-blank line one message object. Blank lines are
-- skipped (they keep their number: line numbers are the file's).
local function read_jsonl(text, check_opts)
  local items, n = {}, 0
  for line in (text:sub(-1) == "\n" and text or text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:sub(-1) == "\r" then line = line:sub(1, -2) end
    if line:find("%S") then
      local item = { line = n }
      local msg, _, why = decode(line)
      if type(msg) ~= "table" or msg[1] ~= nil then
        item.err = errors.validation("message", msg == nil and ("is not JSON: " .. tostring(why))
          or "must be a JSON object (a WhatsApp message)")
      else
        item.to = to_of(msg)
        finish(item, msg, check_opts)
      end
      items[#items + 1] = item
    end
  end
  return items
end

--- RFC 4180 CSV: records of fields, quoted fields with "" inside, commas
-- and line breaks inside quotes. Calls each(fields, line) with the line
-- number the record starts on. Returns nil, or a message for a broken quote.
local function parse_csv(text, each)
  local pos, len, line = 1, #text, 1
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end -- a UTF-8 byte order mark
  while pos <= len do
    local fields, start_line = {}, line
    while true do
      local c = text:sub(pos, pos)
      local value
      if c == '"' then
        local parts, p = {}, pos + 1
        while true do
          local q = text:find('"', p, true)
          if not q then return "line " .. start_line .. ": a quoted field is not closed" end
          parts[#parts + 1] = text:sub(p, q - 1)
          if text:sub(q + 1, q + 1) == '"' then
            parts[#parts + 1] = '"'
            p = q + 2
          else
            pos = q + 1
            break
          end
        end
        value = table.concat(parts)
        for _ in value:gmatch("\n") do line = line + 1 end
        local after = text:sub(pos, pos)
        if after ~= "," and after ~= "\n" and after ~= "\r" and after ~= "" then
          return "line " .. line .. ": a quoted field must end at a comma or the end of the line"
        end
      else
        local e = text:find("[,\r\n]", pos) or len + 1
        value = text:sub(pos, e - 1)
        pos = e
      end
      fields[#fields + 1] = value
      local sep = text:sub(pos, pos)
      if sep == "," then
        pos = pos + 1
      else
        if sep == "\r" then pos = pos + 1 end
        if text:sub(pos, pos) == "\n" then pos = pos + 1 end
        line = line + 1
        break
      end
    end
    if not (#fields == 1 and fields[1] == "") then each(fields, start_line) end -- a blank line
  end
  return nil
end

local BUTTON_TYPES = { quick_reply = true, url = true, copy_code = true }
local HEADER_KINDS = { text = true, image = true, video = true, document = true }

-- What a column of the header row means: a setter (components, value).
-- Returns it, or nil and what is wrong.
local function column_setter(name, mode)
  if name == "to" then return function() end end
  if mode == "text" then
    if name == "text" then return function() end end
    return nil, "unknown column '" .. name .. "' (with --text the columns are to and text)"
  end
  local pos = name:match("^body%.(%d+)$")
  if pos then
    pos = tonumber(pos)
    if pos < 1 then return nil, "column '" .. name .. "': body parameters count from 1" end
    return function(c, v) c.positional[pos] = v end, "positional"
  end
  local named = name:match("^body%.([%a_][%w_]*)$")
  if named then return function(c, v) c.named[named] = v end, "named" end
  local kind = name:match("^header%.(%a+)$")
  if kind and HEADER_KINDS[kind] then
    return function(c, v)
      if v ~= "" then c.header = kind == "text" and v or { [kind] = v } end
    end
  end
  local index, btype = name:match("^button%.(%d+)$")
  if not index then index, btype = name:match("^button%.(%d+)%.([%a_]+)$") end
  if index and (btype == nil or BUTTON_TYPES[btype]) then
    index = tonumber(index)
    btype = btype or "url"
    return function(c, v)
      if v ~= "" then c.buttons[index + 1] = { [btype] = v, index = index } end
    end
  end
  return nil, "unknown column '" .. name .. "' (expected to, body.1, body.2, ... or body.NAME, header.text|image|"
    .. "video|document, button.N[.url|.quick_reply|.copy_code]; see 'whatsapp send-batch --help')"
end

-- The setters of a header row; nil and what is wrong.
local function columns_of(header, mode)
  local setters, seen, to_at, text_at, style = {}, {}, nil, nil, nil
  for i, raw in ipairs(header) do
    local name = raw:match("^%s*(.-)%s*$")
    if seen[name] then return nil, "column '" .. name .. "' appears twice" end
    seen[name] = true
    local set, kind = column_setter(name, mode)
    if not set then return nil, kind end
    if kind then
      if style and style ~= kind then
        return nil, "body parameters must be all positional (body.1, ...) or all named (body.NAME)"
      end
      style = kind
    end
    if name == "to" then to_at = i elseif name == "text" then text_at = i end
    setters[i] = set
  end
  if not to_at then return nil, "no column 'to' in the header row" end
  if mode == "text" and not text_at then return nil, "no column 'text' in the header row (--text)" end
  return { setters = setters, to_at = to_at, text_at = text_at, style = style }
end

-- The template components of one row (the builders' short form).
local function components_of(cols, fields)
  local c = { positional = {}, named = {}, buttons = {} }
  for i, set in pairs(cols.setters) do set(c, fields[i] or "") end
  local out = {}
  if c.header then out.header = c.header end
  if cols.style == "positional" then
    local body = {}
    for k, v in pairs(c.positional) do body[k] = v end
    for k = 1, #body do body[k] = body[k] or "" end
    out.body = body
  elseif cols.style == "named" then
    out.body = c.named
  end
  local nb = 0
  for k in pairs(c.buttons) do if k > nb then nb = k end end
  if nb > 0 then
    local buttons = {}
    for k = 1, nb do buttons[k] = c.buttons[k] or false end
    out.buttons = buttons
  end
  return out
end

local function read_csv(text, opts, check_opts)
  local mode = opts.text and "text" or "template"
  local items, cols, problem = {}, nil, nil
  local broken = parse_csv(text, function(fields, line)
    if problem then return end
    if not cols then
      cols, problem = columns_of(fields, mode)
      return
    end
    local to = fields[cols.to_at] or ""
    local item = { line = line, to = to }
    if #fields ~= #cols.setters then
      item.err = errors.validation("line", "has " .. #fields .. " fields, the header row " .. #cols.setters)
    else
      local fine, msg, err
      if mode == "text" then
        fine, msg, err = pcall(message.text, to, fields[cols.text_at])
      else
        fine, msg, err = pcall(message.template, to, opts.template, opts.language, components_of(cols, fields))
      end
      if not fine then err, msg = errors.validation("line", tostring(msg)), nil end
      if msg then finish(item, msg, check_opts) else item.err = err end
    end
    items[#items + 1] = item
  end)
  if broken or problem then return nil, broken or problem end
  if not cols then return nil, "the file is empty: a CSV needs a header row" end
  return items
end

--- Reads text (the whole input) as format "csv" or "jsonl". opts: template,
-- language, text (CSV: a text per row instead), allow_local_number.
-- Returns the items, or nil and what is wrong with the file as a whole.
function M.read(text, format, opts)
  opts = opts or {}
  local check_opts = { allow_local_number = opts.allow_local_number }
  if format == "csv" then
    if not opts.text and not (opts.template and opts.language) then
      return nil, "a CSV file needs --template NAME --language CODE (or --text)"
    end
    return read_csv(text, opts, check_opts)
  end
  if opts.template or opts.text then
    return nil, "--template, --language and --text apply to CSV input (JSON lines hold whole messages)"
  end
  return read_jsonl(text, check_opts)
end

--- The format a file name suggests: "csv" for *.csv, else "jsonl".
function M.format_of(path)
  return path:lower():match("%.csv$") and "csv" or "jsonl"
end

return M

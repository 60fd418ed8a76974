--- Just enough XML for the answers of AWS query-protocol services (STS):
-- elements, attributes (skipped), text, the five named entities and numeric
-- character references, CDATA, comments and the XML declaration. DOCTYPE is
-- refused (no entity expansion). Malformed input gives nil and a reason; the
-- reason never quotes the document (an answer can hold secrets).
local utf8_char = require("whatsapp.message.codepoints").char

local M = {}

local MAX_DEPTH = 32
local MAX_BYTES = 1024 * 1024

local NAMED = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }

-- Whether code point cp is a character XML allows (XML 1.0, 2.2 Char).
local function xml_char(cp)
  return cp == 0x9 or cp == 0xA or cp == 0xD or (cp >= 0x20 and cp <= 0xD7FF)
    or (cp >= 0xE000 and cp <= 0x10FFFF and cp ~= 0xFFFE and cp ~= 0xFFFF)
end

-- The text of one reference (what stands between '&' and ';'), or nil.
local function decode_ref(ref)
  local v = NAMED[ref]
  if v then return v end
  local cp = ref:match("^#x%x+$") and tonumber(ref:sub(3), 16) or ref:match("^#%d+$") and tonumber(ref:sub(2))
  if not cp or not xml_char(cp) then return nil end
  return utf8_char(cp)
end

-- Decodes entity and character references; nil when one is malformed or
-- the text holds a '<'.
local function unescape(s)
  if s:find("<", 1, true) then return nil end
  if not s:find("&", 1, true) then return s end
  local out, pos = {}, 1
  while true do
    local a = s:find("&", pos, true)
    if not a then
      out[#out + 1] = s:sub(pos)
      return table.concat(out)
    end
    out[#out + 1] = s:sub(pos, a - 1)
    local b = s:find(";", a + 1, true)
    if not b or b - a > 10 then return nil end
    local v = decode_ref(s:sub(a + 1, b - 1))
    if not v then return nil end
    out[#out + 1] = v
    pos = b + 1
  end
end

local function strip_prefix(name)
  return name:match(":([^:]+)$") or name
end

-- The parser's state: p = {doc =, stack = open elements, root = the closed
-- root element or nil}. Each step below reads one construct starting at the
-- '<' at lt and returns the position after it, or nil and a reason.

-- Character data before the next '<': whitespace only outside the root
-- element. -> true | nil, reason
local function add_text(p, text)
  local top = p.stack[#p.stack]
  if not top then
    if text:find("%S") then return nil, "text outside the root element" end
    return true
  end
  local t = unescape(text)
  if not t then return nil, "a malformed '&' reference or a stray '<'" end
  top.parts[#top.parts + 1] = t
  return true
end

local function comment(p, lt)
  local e = p.doc:find("-->", lt + 4, true)
  if not e then return nil, "an unterminated comment" end
  return e + 3
end

local function cdata(p, lt)
  local e = p.doc:find("]]>", lt + 9, true)
  if not e then return nil, "an unterminated CDATA section" end
  local top = p.stack[#p.stack]
  if not top then return nil, "CDATA outside the root element" end
  top.parts[#top.parts + 1] = p.doc:sub(lt + 9, e - 1)
  return e + 3
end

local function instruction(p, lt)
  local e = p.doc:find("?>", lt + 2, true)
  if not e then return nil, "an unterminated processing instruction" end
  return e + 2
end

local function end_tag(p, lt)
  local name, e = p.doc:match("^</([%a_][%w_%.:%-]*)%s*>()", lt)
  if not name then return nil, "a malformed end tag" end
  local top = table.remove(p.stack)
  if not top or top.raw ~= name then return nil, "an end tag that does not match its start tag" end
  top.text = table.concat(top.parts)
  top.parts, top.raw = nil, nil
  if #p.stack == 0 then p.root = top end
  return e
end

-- attributes: name="value" or name='value', separated by whitespace
local function attributes_ok(attrs)
  local rest = attrs:gsub("%s+[%a_][%w_%.:%-]*%s*=%s*\"[^\"<]*\"", "")
    :gsub("%s+[%a_][%w_%.:%-]*%s*=%s*'[^'<]*'", "")
  return not rest:find("%S")
end

local function start_tag(p, lt)
  local name, attrs, close, e = p.doc:match("^<([%a_][%w_%.:%-]*)(.-)(/?)>()", lt)
  if not name then return nil, "a malformed start tag" end
  if not attributes_ok(attrs) then return nil, "a malformed attribute" end
  if p.root then return nil, "more than one root element" end
  local stack = p.stack
  local el = { name = strip_prefix(name), raw = name, children = {}, parts = {} }
  local parent = stack[#stack]
  if parent then parent.children[#parent.children + 1] = el end
  if close == "/" then
    el.text, el.parts, el.raw = "", nil, nil
    if not parent then p.root = el end
  else
    if #stack >= MAX_DEPTH then return nil, "nested too deeply" end
    stack[#stack + 1] = el
  end
  return e
end

-- The construct at lt, by what it starts with.
local function markup(p, lt)
  local doc = p.doc
  if doc:sub(lt, lt + 3) == "<!--" then return comment(p, lt) end
  if doc:sub(lt, lt + 8) == "<![CDATA[" then return cdata(p, lt) end
  if doc:sub(lt, lt + 1) == "<?" then return instruction(p, lt) end
  if doc:sub(lt, lt + 1) == "<!" then return nil, "DOCTYPE and other declarations are not accepted" end
  if doc:sub(lt, lt + 1) == "</" then return end_tag(p, lt) end
  return start_tag(p, lt)
end

--- Parses a document. Returns the root element {name =, children = {...},
-- text = "concatenated character data"} (names without namespace prefix),
-- or nil and a reason.
function M.parse(doc)
  if type(doc) ~= "string" then return nil, "not text" end
  if #doc > MAX_BYTES then return nil, "larger than 1 MiB" end
  local pos = 1
  if doc:sub(1, 3) == "\239\187\191" then pos = 4 end
  local p = { doc = doc, stack = {}, root = nil }
  local len = #doc
  while pos <= len do
    local lt = doc:find("<", pos, true)
    local text = doc:sub(pos, (lt or len + 1) - 1)
    if text ~= "" then
      local ok, why = add_text(p, text)
      if not ok then return nil, why end
    end
    if not lt then break end
    local why
    pos, why = markup(p, lt)
    if not pos then return nil, why end
  end
  if #p.stack > 0 then return nil, "the document ends inside an element" end
  if not p.root then return nil, "no root element" end
  return p.root
end

--- The first child of el named name, or nil.
function M.child(el, name)
  for _, c in ipairs(el and el.children or {}) do
    if c.name == name then return c end
  end
  return nil
end

--- Follows a path of child names from el; returns the element or nil.
function M.find(el, ...)
  for i = 1, select("#", ...) do
    el = M.child(el, (select(i, ...)))
    if not el then return nil end
  end
  return el
end

return M

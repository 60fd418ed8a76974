--- Unicode code points of UTF-8 strings, in pure Lua.
-- Lua 5.4 has the utf8 library but LuaJIT (5.1) has not, and the builders must
-- run on both without the C core; this is the small part of it they need.
-- Validity is strict (RFC 3629): no overlong forms, no surrogates, nothing
-- above U+10FFFF, no truncated sequences.
local byte = string.byte

local M = {}

-- Decodes the sequence starting at byte i. Returns the code point and the
-- index of the next sequence, or nil when the bytes at i are not UTF-8.
local function decode_at(s, i)
  local c = byte(s, i)
  if c < 0x80 then return c, i + 1 end
  local n, cp, min
  if c >= 0xC2 and c <= 0xDF then
    n, cp, min = 1, c - 0xC0, 0x80
  elseif c >= 0xE0 and c <= 0xEF then
    n, cp, min = 2, c - 0xE0, 0x800
  elseif c >= 0xF0 and c <= 0xF4 then
    n, cp, min = 3, c - 0xF0, 0x10000
  else
    return nil -- a continuation byte, C0/C1 (always overlong) or F5..FF
  end
  for j = i + 1, i + n do
    local b = byte(s, j)
    if not b or b < 0x80 or b > 0xBF then return nil end
    cp = cp * 64 + (b - 0x80)
  end
  if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
  return cp, i + n + 1
end

--- Number of code points in s, or nil and the 1-based byte offset of the
-- first byte that is not valid UTF-8.
local utf8_lib = rawget(_G, "utf8")
local utf8_len = utf8_lib and utf8_lib.len -- Lua 5.3+: the same strict rules, in C

function M.len(s)
  if utf8_len then return utf8_len(s) end
  if not s:find("[\128-\255]") then return #s end -- ASCII: the common case, no loop
  local i, n, len = 1, 0, #s
  while i <= len do
    local cp, nxt = decode_at(s, i)
    if not cp then return nil, i end
    i, n = nxt, n + 1
  end
  return n
end

--- The code points of s as a list, or nil and the offset of the first bad byte.
function M.decode(s)
  local out, i, len = {}, 1, #s
  while i <= len do
    local cp, nxt = decode_at(s, i)
    if not cp then return nil, i end
    out[#out + 1] = cp
    i = nxt
  end
  return out
end

--- The UTF-8 bytes of one code point (XML character references in
-- credentials/xml.lua, tests, error messages).
function M.char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
  end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

return M

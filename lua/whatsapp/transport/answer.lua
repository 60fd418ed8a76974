--- The answer reader of the OpenResty transport (whatsapp.transport.resty):
-- an HTTP/1.1 answer read from a cosocket, head, body (Content-Length,
-- chunked, or until close) and whether the connection may be reused.
local core = require "whatsapp.core"

local M = {}

-- Reading an answer. Every read is one receiveany under what is left of ONE
-- time budget for the whole exchange (a cosocket's timeout is per operation
-- and restarts whenever bytes arrive, so a dripping answer would otherwise
-- outlast any limit), and what is held is capped: the head (status line and
-- header fields, interim answers' included) at 64 KiB and the body at the
-- transport's max, as the libcurl path caps them. The head is parsed in C
-- (core.parse_head). st: { sock, ends_at, rest (bytes read and not used yet,
-- from pos) }.
local parse_head, monotonic = core.parse_head, core.monotonic
local MAX_HEAD = 64 * 1024
local MAX_CHUNK_LINE = 4096 -- a chunk-size line, its extensions included
local READ = 65536

local HEAD_TOO_LARGE = "the answer's head is larger than " .. MAX_HEAD .. " bytes"
local TRAILERS_TOO_LARGE = "the answer's trailer fields are larger than " .. MAX_HEAD .. " bytes"
local function too_large(max) return "the answer is larger than " .. max .. " bytes" end

-- One read of at most max bytes within the time left (st.ends_at:
-- core.monotonic() time). -> bytes | nil, err
local function read_some(st, max)
  local left = (st.ends_at - monotonic()) * 1000
  if left < 1 then return nil, "timeout" end
  local sock = st.sock
  sock:settimeout(left)
  return sock:receiveany(max)
end

-- buf and more bytes, until a blank line may have come (or, at the start,
-- anything: what cannot start an answer is refused at once).
local function more_head(st, buf, left)
  local parts, n, tail = { buf }, #buf, buf:sub(-3)
  while true do
    if n >= left then return nil, HEAD_TOO_LARGE end
    local data, err = read_some(st, READ)
    if not data then return nil, err end
    if n == 0 then return data end
    parts[#parts + 1] = data
    n = n + #data
    local probe = tail .. data
    if probe:find("\n\r?\n") then return table.concat(parts) end
    tail = probe:sub(-3)
  end
end

-- The final answer's head: interim answers (1xx but 101, RFC 9110 15.2) are
-- read past, their fields dropped. -> status, headers, minor | nil, err
local function read_head(st)
  local left, buf = MAX_HEAD, st.rest
  while true do
    local status, headers, used, minor = false, nil, nil, nil
    if buf ~= "" then
      status, headers, used, minor = parse_head(buf)
      if status == nil then return nil, headers end
    end
    if status then
      if used > left then return nil, HEAD_TOO_LARGE end
      left = left - used
      buf = buf:sub(used + 1)
      if status >= 200 or status == 101 then
        st.rest, st.pos = buf, 1
        return status, headers, minor
      end
    else
      local err
      buf, err = more_head(st, buf, left)
      if not buf then return nil, err end
    end
  end
end

-- Exactly n bytes (n within the cap). -> bytes | nil, err
local function read_exact(st, n)
  local rest, pos = st.rest, st.pos
  local have = #rest - pos + 1
  if have >= n then
    st.pos = pos + n
    if pos == 1 and have == n then return rest end
    return rest:sub(pos, pos + n - 1)
  end
  local parts = { rest:sub(pos) }
  st.rest, st.pos = "", 1
  while have < n do
    local data, err = read_some(st, n - have)
    if not data then return nil, err end
    parts[#parts + 1] = data
    have = have + #data
  end
  return table.concat(parts)
end

-- A line (its CR LF cut), of at most cap bytes. -> line | nil, err | nil, false (too long)
local function read_line(st, cap)
  while true do
    local rest, pos = st.rest, st.pos
    local i = rest:find("\n", pos, true)
    if i then
      if i - pos > cap + 1 then return nil, false end
      st.pos = i + 1
      if i > pos and rest:byte(i - 1) == 13 then i = i - 1 end
      return rest:sub(pos, i - 1)
    end
    if #rest - pos + 1 > cap + 1 then return nil, false end
    local data, err = read_some(st, READ)
    if not data then return nil, err end
    st.rest, st.pos = rest:sub(pos) .. data, 1
  end
end

local function read_chunked(st, max)
  local parts, total = {}, 0
  while true do
    local line, err = read_line(st, MAX_CHUNK_LINE)
    if not line then
      return nil, err or ("a chunk-size line of the answer is larger than " .. MAX_CHUNK_LINE .. " bytes")
    end
    local hex, after = line:match("^(%x+)(.*)$")
    if not hex or not (after == "" or after:find("^[ \t]*;")) then return nil, "malformed chunk size" end
    hex = hex:match("^0*(.*)$")
    if #hex > 8 then return nil, too_large(max) end
    local size = tonumber(hex, 16) or 0
    if size == 0 then -- the last chunk; then trailer fields, dropped, up to the blank line
      local trailers = 0
      repeat
        line, err = read_line(st, MAX_HEAD - trailers)
        if not line then return nil, err or TRAILERS_TOO_LARGE end
        trailers = trailers + #line + 2
      until line == ""
      return table.concat(parts)
    end
    total = total + size
    if total > max then return nil, too_large(max) end
    local data
    data, err = read_exact(st, size)
    if not data then return nil, err end
    parts[#parts + 1] = data
    line, err = read_line(st, 0)
    if line ~= "" then return nil, err or "malformed chunk end" end
  end
end

-- A body that ends when the server closes the connection.
local function read_to_close(st, max)
  local first = st.rest:sub(st.pos)
  st.rest, st.pos = "", 1
  local parts, total = { first }, #first
  if total > max then return nil, too_large(max) end
  while true do
    local data, err = read_some(st, max - total + 1)
    if not data then
      if err == "closed" then return table.concat(parts) end
      return nil, err
    end
    total = total + #data
    if total > max then return nil, too_large(max) end
    parts[#parts + 1] = data
  end
end

-- Reads the answer. -> status, headers {lowercased = value}, body, keep (the
-- connection may go back to the pool) | nil, message
local function read_answer(st, max, head_only)
  local status, headers, minor = read_head(st)
  if not status then return nil, headers end
  local conn = headers.connection
  conn = conn and conn:lower() or ""
  local keep
  if minor == 1 then keep = not conn:find("close", 1, true) else keep = conn:find("keep-alive", 1, true) ~= nil end
  local body, err = "", nil
  local te, length = headers["transfer-encoding"], headers["content-length"]
  if status == 101 then -- another protocol: nothing more for us on this connection
    keep = false
  elseif head_only or status == 204 or status == 304 then -- no body (RFC 9112 6.3)
    body = ""
  elseif te then -- chunked when it is the last coding; else until the server closes
    if te:lower():find("chunked[ \t]*$") then
      body, err = read_chunked(st, max)
      if length then keep = false end -- both: Transfer-Encoding wins, the connection is not reused
    else
      body, err = read_to_close(st, max)
      keep = false
    end
  elseif length then
    local n = tonumber(length:match("^%d+$"))
    if not n then return nil, "malformed Content-Length" end
    if n > max then return nil, too_large(max) end
    if n > 0 then body, err = read_exact(st, n) end
  else
    body, err = read_to_close(st, max)
    keep = false
  end
  if not body then return nil, err end
  if st.pos <= #st.rest then keep = false end -- bytes past the answer: never reuse
  return status, headers, body, keep
end

M.read = read_answer

return M

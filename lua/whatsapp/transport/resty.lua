--- The OpenResty transport: HTTP/1.1 over nginx cosockets, so a send yields
-- to the event loop instead of blocking the worker. The C core still encodes
-- and signs (client:prepare gives the whole request as one string); only the
-- I/O lives here. Same interface as the core's libcurl client: send,
-- request, stats, close, with the same results and failure kinds.
local core = require "whatsapp.core"

local ngx = rawget(_G, "ngx")

local M = {}

-- Phases in which cosockets work (lua-nginx-module README, "ngx.socket.tcp").
local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true,
}

--- Whether this Lua runs inside nginx with ngx_lua.
function M.in_nginx()
  return ngx ~= nil and type(ngx.socket) == "table" and type(ngx.get_phase) == "function"
end

--- nil when cosockets can be used now, else why not.
function M.unavailable()
  if not M.in_nginx() then return "not running inside nginx (ngx_lua)" end
  local phase = ngx.get_phase()
  if COSOCKET_PHASES[phase] then return nil end
  return "cosockets are not available in the " .. phase .. " phase; send from a rewrite, access or "
    .. "content handler, or from a timer (ngx.timer.at, or client:send_later)"
end

local MAX_RESPONSE = 4 * 1024 * 1024
local POOL_SIZE, BACKLOG, IDLE_MS = 32, 64, 60000

local Transport = {}
Transport.__index = Transport

-- scheme, host (as written, no brackets), port, path+query
local function split_url(url)
  local scheme, authority, rest = url:match("^(%a[%w+.-]*)://([^/?#]+)(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  local host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if rest == "" then rest = "/" end
  return scheme, host:lower(), port, rest
end

-- nil for http and https, else the failure libcurl gives (kind and words):
-- a credential endpoint such as gopher:// or ftp:// is never spoken to as HTTP.
local function unsupported(scheme)
  if scheme == "http" or scheme == "https" then return nil end
  return 'Protocol "' .. scheme .. '" not supported (only http and https)'
end

-- What ngx.socket connect() takes for a host: an IPv6 address in brackets,
-- and localhost as 127.0.0.1 (nginx's resolver reads no /etc/hosts, and
-- localhost is loopback by definition, RFC 6761).
local function connect_host(host)
  if host == "localhost" then return "127.0.0.1" end
  if host:find(":", 1, true) then return "[" .. host .. "]" end
  return host
end

--- cfg: what core.new_client takes (url, host, path, region, service,
-- connect_timeout_ms, timeout_ms, max_message_bytes, user_agent, ...).
function M.new(cfg)
  local scheme, host, port = split_url(cfg.url)
  assert(scheme, "resty transport: bad url")
  local self = setmetatable({
    core = core.new_client(cfg), -- encodes and signs; its libcurl handle is never used
    scheme = scheme, host = host, port = port,
    connect_to = connect_host(host),
    server_name = host, -- SNI and the name the certificate must carry
    connect_ms = cfg.connect_timeout_ms, timeout_ms = cfg.timeout_ms,
    max_response = cfg.max_response_bytes or MAX_RESPONSE,
    user_agent = cfg.user_agent,
    requests = 0, connections = 0, reused = 0,
  }, Transport)
  -- TLS and plain connections, or different hosts, never share a pool
  self.pool = "whatsapp:" .. scheme .. ":" .. host .. ":" .. port
  return self
end

-- The TLS handshake, certificate and name checked. lua-resty-core before
-- its fix for openresty/lua-resty-core#499 (Debian 12 ships 0.1.25) raises
-- "assertion failed!" instead of returning the error when a handshake
-- completes at once but the certificate check failed: the peer answered
-- before the first read, which happens on a busy loopback. Such a raise is
-- that failed check; any other raise is still an error, not a crash.
-- -> true | nil, message
local function tls_handshake(sock, server_name)
  local done, ok, err = pcall(sock.sslhandshake, sock, nil, server_name, true)
  if done then return ok, err end
  if tostring(ok):find("assertion failed", 1, true) then
    return nil, "certificate verify failed (the handshake completed, the certificate or its name did not pass)"
  end
  return nil, "TLS handshake raised: " .. tostring(ok)
end

-- Reading an answer. Every read is one receiveany under what is left of ONE
-- time budget for the whole exchange (a cosocket's timeout is per operation
-- and restarts whenever bytes arrive, so a dripping answer would otherwise
-- outlast any limit), and what is held is capped: the head (status line and
-- header fields, interim answers' included) at 64 KiB and the body at the
-- transport's max, as the libcurl path caps them. The head is parsed in C
-- (core.parse_head). st: { sock, ends_at, got (any byte came), rest (bytes
-- read and not used yet, from pos) }.
local parse_head = core.parse_head
local MAX_HEAD = 64 * 1024
local MAX_CHUNK_LINE = 4096 -- a chunk-size line, its extensions included
local READ = 65536

local HEAD_TOO_LARGE = "the answer's head is larger than " .. MAX_HEAD .. " bytes"
local TRAILERS_TOO_LARGE = "the answer's trailer fields are larger than " .. MAX_HEAD .. " bytes"
local function too_large(max) return "the answer is larger than " .. max .. " bytes" end

-- One read of at most max bytes within the time left. -> bytes | nil, err
local function read_some(st, max)
  ngx.update_time()
  local left = (st.ends_at - ngx.now()) * 1000
  if left < 1 then return nil, "timeout" end
  local sock = st.sock
  sock:settimeout(left)
  local data, err = sock:receiveany(max)
  if data then st.got = true end
  return data, err
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

-- The budgets of one exchange: the connect timeout (ms) and when the whole
-- exchange must end (ngx.now() time), limit_ms lowering the configured ones.
local function budget(self, limit_ms)
  ngx.update_time()
  local started = ngx.now()
  local connect_ms, total_ms = self.connect_ms, self.timeout_ms
  if limit_ms and limit_ms < total_ms then total_ms = limit_ms end
  if connect_ms > total_ms then connect_ms = total_ms end
  return connect_ms, started + total_ms / 1000
end

-- A connection to the server: a pooled one, or a new one (TLS handshake
-- done for https), counted. -> sock, reused | nil, kind, message
local function open(self, connect_ms)
  local sock = ngx.socket.tcp()
  sock:settimeout(connect_ms)
  local ok, err = sock:connect(self.connect_to, self.port,
    { pool = self.pool, pool_size = POOL_SIZE, backlog = BACKLOG })
  if not ok then
    if err == "timeout" then return nil, "connect_timeout", "connect timed out" end
    return nil, "connect", err
  end
  if sock:getreusedtimes() > 0 then
    self.reused = self.reused + 1
    return sock, true
  end
  self.connections = self.connections + 1
  if self.scheme == "https" then
    ok, err = tls_handshake(sock, self.server_name)
    if not ok then
      sock:close()
      if err == "timeout" then return nil, "connect_timeout", "TLS handshake timed out" end
      return nil, "tls", err
    end
  end
  return sock, false
end

-- Sends the request and reads the answer.
-- -> status, headers, body, keep | nil, err
local function send_and_read(st, request, max, head_only)
  local sent, err = st.sock:send(request)
  if not sent then return nil, err end
  return read_answer(st, max, head_only)
end

-- A stale pooled connection: closed by the server while it idled, so
-- nothing of this request was answered; anything else is not resent.
local function stale(reused, st, err)
  return reused and not st.got
    and (err == "closed" or err == "connection reset by peer" or err == "broken pipe")
end

-- The failure of an exchange whose request was sent. -> nil, kind, message
local function failed(err)
  if err == "timeout" then return nil, "timeout", "no answer in time" end
  if err and (err:find("^malformed") or err:find("larger than", 1, true)) then return nil, "response", err end
  return nil, "lost", "the connection failed after the request was sent (" .. tostring(err) .. ")"
end

-- One exchange of raw request bytes within limit_ms (else the configured
-- timeout); head_only: the answer has no body (a HEAD request). A
-- kept-alive connection the server closed while it idled is detected on
-- first use, before any answer byte, and the request is sent again on a
-- fresh one, as libcurl does.
-- -> status, headers, body | nil, kind, message
function Transport:exchange(request, limit_ms, head_only)
  local why = M.unavailable()
  if why then return nil, "unavailable", why end
  local connect_ms, ends_at = budget(self, limit_ms)

  for _ = 1, 2 do
    local sock, reused, message = open(self, connect_ms)
    if not sock then return nil, reused, message end
    local left = (ends_at - ngx.now()) * 1000
    if left < 1 then
      sock:close()
      return nil, "connect_timeout", "no time left after connecting"
    end
    sock:settimeout(left)
    local st = { sock = sock, ends_at = ends_at, got = false, rest = "", pos = 1 }
    local status, headers, body, keep = send_and_read(st, request, self.max_response, head_only)
    if status then
      if not (keep and sock:setkeepalive(IDLE_MS, POOL_SIZE)) then sock:close() end
      return status, headers, body
    end
    sock:close()
    if not stale(reused, st, headers) then return failed(headers) end
  end
  return nil, "lost", "the server closed the connection without answering"
end

--- Same contract as the core client's send.
function Transport:send(message, product, id, version, akid, secret, token, offset, limit_ms)
  local request, kind, text, field = self.core:prepare(message, product, id, version, akid, secret, token, offset)
  if not request then return nil, kind, text, field end
  self.requests = self.requests + 1
  local status, headers, body = self:exchange(request, limit_ms)
  if not status then return nil, headers, body end
  local value = body
  if body ~= "" then
    local decoded = core.decode(body)
    if decoded ~= nil then value = decoded end
  end
  return status, value, headers["x-amzn-requestid"], headers["x-amzn-errortype"], headers["date"],
    headers["x-amz-retry-after"]
end

local function has_bad_char(s)
  return s:find("[%z\r\n]") ~= nil
end

-- The method and URL of a request, checked.
-- -> scheme, host, port, target | nil, kind, message
local function check_target(method, url)
  if not method:find("^[%w!#$%%&'*+.^_`|~-]+$") then return nil, "invalid", "method must be an HTTP token" end
  local scheme, host, port, target = split_url(url)
  if not scheme or has_bad_char(url) or url:find(" ", 1, true) then return nil, "invalid", "bad URL" end
  local refused = unsupported(scheme)
  if refused then return nil, "transport", refused end
  return scheme, host, port, target
end

-- A transport of its own (its own pool) for another server, with self's limits.
local function transport_for(self, url, host)
  return M.new { url = url, connect_timeout_ms = self.connect_ms, timeout_ms = self.timeout_ms,
    host = host, path = "/", region = "us-east-1", service = "x", max_message_bytes = 0,
    user_agent = self.user_agent }
end

-- The caller's header fields appended to lines; has gets their lowercased
-- names. Called by Transport:request only (the error names its caller).
-- -> true | nil, kind, message
local function add_headers(lines, has, headers)
  for k, v in pairs(headers or {}) do
    if type(k) ~= "string" or type(v) ~= "string" then error("request: headers must map strings to strings", 3) end
    if k == "" or has_bad_char(k) or k:find(":", 1, true) or has_bad_char(v) then
      return nil, "invalid", "header name or value is empty or holds CR, LF, NUL or ':'"
    end
    lines[#lines + 1] = k .. ": " .. v
    has[k:lower()] = true
  end
  return true
end

-- The Host field the caller did not give: the host (an IPv6 address in
-- brackets) and the port unless it is the scheme's.
local function host_field(scheme, host, port)
  local default_port = (scheme == "https" and 443 or 80)
  return "Host: " .. (host:find(":", 1, true) and "[" .. host .. "]" or host)
    .. (port ~= default_port and ":" .. port or "")
end

--- Same contract as the core client's request: a plain exchange (credential
-- endpoints). -> status, body, headers | nil, kind, message
function Transport:request(method, url, headers, body, limit_ms)
  local scheme, host, port, target = check_target(method, url)
  if not scheme then return nil, host, port end
  if scheme ~= self.scheme or host ~= self.host or port ~= self.port then -- (both lowercased by split_url)
    local other = transport_for(self, url, host)
    local st, b, h = other:request(method, url, headers, body, limit_ms)
    other:close()
    return st, b, h
  end
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  local has = {}
  local ok, kind, message = add_headers(lines, has, headers)
  if not ok then return nil, kind, message end
  if not has.host then lines[#lines + 1] = host_field(scheme, host, port) end
  if self.user_agent and not has["user-agent"] then lines[#lines + 1] = "User-Agent: " .. self.user_agent end
  if body or method == "POST" or method == "PUT" then lines[#lines + 1] = "Content-Length: " .. #(body or "") end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  self.requests = self.requests + 1
  local status, h, b = self:exchange(table.concat(lines, "\r\n"), limit_ms, method == "HEAD")
  if not status then return nil, h, b end
  return status, b, h
end

--- The HTTP interface of the credential providers (see whatsapp.transport.http) over
-- cosockets: http(method, url, headers, body, timeout_seconds). One
-- transport (and so one connection pool) per origin.
function M.http(opts)
  opts = opts or {}
  local by_origin = {}
  return function(method, url, headers, body, timeout)
    local scheme, host, port = split_url(url)
    if not scheme then return nil, "invalid", "bad URL" end
    local refused = unsupported(scheme)
    if refused then return nil, "transport", refused end
    local origin = scheme .. "://" .. host .. ":" .. port
    local t = by_origin[origin]
    if not t then
      -- generous limits: each call's own timeout lowers them (limit_ms)
      t = M.new { url = url, host = host, path = "/", region = "none", service = "none", max_message_bytes = 0,
        connect_timeout_ms = 600000, timeout_ms = 600000, max_response_bytes = 1024 * 1024,
        user_agent = opts.user_agent }
      by_origin[origin] = t
    end
    local ms = math.max(1, math.ceil((timeout or 5) * 1000))
    return t:request(method, url, headers, body, ms)
  end
end

function Transport:stats()
  local st = self.core:stats()
  st.requests = self.requests
  st.http_version = "1.1"
  st.connections = self.connections
  st.reused = self.reused
  return st
end

function Transport:close()
  self.core:close()
end

return M

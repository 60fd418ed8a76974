--- The OpenResty transport: HTTP/1.1 over nginx cosockets, so a send yields
-- to the event loop instead of blocking the worker. The C core still encodes
-- and signs (client:prepare gives the whole request as one string); only the
-- I/O lives here. It keeps the transport contract (whatsapp.transport) as
-- the core's libcurl client does: send, request, stats, close, with the
-- same results and failure kinds.
local core = require "whatsapp.core"
local answer = require "whatsapp.transport.answer"
local urls = require "whatsapp.url"

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
local FIRST_READ = 65536 -- the first read of an answer: a common answer is a few hundred bytes
local send_answer, monotonic = core.send_answer, core.monotonic

local Transport = {}
Transport.__index = Transport

-- scheme, host (lowercased, no brackets), port, path+query (what the
-- request line names; the fragment is not sent); nil for a URL without a
-- host, with user information or a bad port
local function split_url(url)
  local u = urls.parse(url)
  if not u or u.host == "" or u.userinfo or not urls.good_port(u) then return nil end
  if u.ipv6 and not u.host:find("^[%x:.]+$") then return nil end
  local target = (u.path == "" and "/" or u.path) .. (u.query and "?" .. u.query or "")
  return u.scheme, u.host, u.port or u.default_port or 80, target
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
-- Without path (the send settings), a transport for request() only.
function M.new(cfg)
  local scheme, host, port = split_url(cfg.url)
  assert(scheme, "resty transport: bad url")
  local self = setmetatable({
    -- encodes and signs; its libcurl handle is never used
    core = cfg.path and core.new_client(cfg) or nil,
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
  self.connect_opts = { pool = self.pool, pool_size = POOL_SIZE, backlog = BACKLOG } -- made once, read each connect
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

-- The budgets of one exchange: the connect timeout (ms) and when the whole
-- exchange must end (core.monotonic() time: one clock read, where
-- ngx.update_time would lock and format nginx's time strings), limit_ms
-- lowering the configured ones.
local function budget(self, limit_ms)
  local connect_ms, total_ms = self.connect_ms, self.timeout_ms
  if limit_ms and limit_ms < total_ms then total_ms = limit_ms end
  if connect_ms > total_ms then connect_ms = total_ms end
  return connect_ms, monotonic() + total_ms / 1000
end

-- A connection to the server: a pooled one, or a new one (TLS handshake
-- done for https), counted. -> sock, reused | nil, kind, message
local function open(self, connect_ms)
  local sock = ngx.socket.tcp()
  sock:settimeout(connect_ms)
  local ok, err = sock:connect(self.connect_to, self.port, self.connect_opts)
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

-- A stale pooled connection: closed by the server while it idled, so
-- nothing of this request was answered (no byte came); anything else is not resent.
local function stale(reused, err)
  return reused and (err == "closed" or err == "connection reset by peer" or err == "broken pipe")
end

-- The failure of an exchange whose request was sent. -> nil, kind, message
local function failed(err)
  if err == "timeout" then return nil, "timeout", "no answer in time" end
  if err and (err:find("^malformed") or err:find("larger than", 1, true)) then return nil, "response", err end
  return nil, "lost", "the connection failed after the request was sent (" .. tostring(err) .. ")"
end

-- Sends the request and reads the first bytes of the answer, within the
-- time left of the exchange (left: the timeout set, ms). -> bytes | nil, err
local function send_and_peek(sock, request, ends_at, left)
  local sent, err = sock:send(request)
  if not sent then return nil, err end
  local now_left = (ends_at - monotonic()) * 1000
  if now_left < left - 1 then -- the send waited: less is left than the timeout set
    if now_left < 1 then return nil, "timeout" end
    sock:settimeout(now_left)
  end
  return sock:receiveany(FIRST_READ)
end

-- The connection back to the pool when it may be reused, else closed.
local function release(sock, keep)
  if not (keep and sock:setkeepalive(IDLE_MS, POOL_SIZE)) then sock:close() end
end

-- One exchange of raw request bytes within limit_ms (else the configured
-- timeout); head_only: the answer has no body (a HEAD request); common: a
-- send, whose common answer (core.send_answer: a whole 2xx {"messageId": id}
-- in the first bytes read) is taken in C without a table. A kept-alive
-- connection the server closed while it idled is detected on first use,
-- before any answer byte, and the request is sent again on a fresh one, as
-- libcurl does.
-- -> true, id, date (the common answer) | status, headers, body | nil, kind, message
function Transport:exchange(request, limit_ms, head_only, common)
  local why = M.unavailable()
  if why then return nil, "unavailable", why end
  local connect_ms, ends_at = budget(self, limit_ms)

  for _ = 1, 2 do
    local sock, reused, message = open(self, connect_ms)
    if not sock then return nil, reused, message end
    local left = (ends_at - monotonic()) * 1000
    if left < 1 then
      sock:close()
      return nil, "connect_timeout", "no time left after connecting"
    end
    sock:settimeout(left)
    local data, err = send_and_peek(sock, request, ends_at, left)
    if data then
      if common then
        local ok, id, date, keep = send_answer(data, self.max_response)
        if ok then
          release(sock, keep)
          return true, id, date
        end
      end
      -- anything else: the general reader, these bytes first
      local st = { sock = sock, ends_at = ends_at, rest = data, pos = 1 }
      local status, headers, body, keep = answer.read(st, self.max_response, head_only)
      if status then
        release(sock, keep)
        return status, headers, body
      end
      sock:close()
      return failed(headers)
    end
    sock:close()
    if not stale(reused, err) then return failed(err) end
  end
  return nil, "lost", "the server closed the connection without answering"
end

--- The send of the transport contract (whatsapp.transport).
function Transport:send(message, id, version, creds, offset, limit_ms)
  local request, kind, text, field = self.core:prepare(message, id, version, creds, offset)
  if not request then return nil, kind, text, field end
  self.requests = self.requests + 1
  local status, headers, body = self:exchange(request, limit_ms, false, true)
  if status == true then return true, headers, nil, nil, body end -- the common answer: id, date
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
local function transport_for(self, url)
  return M.new { url = url, connect_timeout_ms = self.connect_ms, timeout_ms = self.timeout_ms,
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
    local other = transport_for(self, url)
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
      t = M.new { url = url, connect_timeout_ms = 600000, timeout_ms = 600000, max_response_bytes = 1024 * 1024,
        user_agent = opts.user_agent }
      by_origin[origin] = t
    end
    local ms = math.max(1, math.ceil((timeout or 5) * 1000))
    return t:request(method, url, headers, body, ms)
  end
end

function Transport:stats()
  local st = self.core and self.core:stats() or {}
  st.requests = self.requests
  st.http_version = "1.1"
  st.connections = self.connections
  st.reused = self.reused
  return st
end

function Transport:close()
  if self.core then self.core:close() end
end

return M

-- The handlers of make bench's OpenResty section (bench/resty.sh writes the
-- nginx.conf that calls them). One worker, one request in, one answer out:
--   module(url)            client:send of one text through this module (transport "resty")
--   ceiling(url)           one constant pre-signed request posted over a pooled cosocket: the
--                          ceiling of any cosocket sender (no encode, no sign, the least reading)
--   batch(url, n, conc)    client:send_batch of n texts, conc at a time
--   ceiling_batch(url, n, conc)  n constant requests, conc light threads, pooled cosockets
-- Every handler answers 200 with a short text, or 500 and why (wrk counts those; bench/resty.sh
-- fails on any).
local whatsapp = require "whatsapp"
local core = require "whatsapp.core"

local ngx = rawget(_G, "ngx")

local M = {}

local PHONE = "phone-number-id-0123456789abcdef0123456789abcdef"
local CREDS = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" }
local POOL_SIZE, BACKLOG, IDLE_MS = 32, 64, 60000

local function fail(why)
  ngx.status = 500
  ngx.say(tostring(why))
  return ngx.exit(500)
end

-- One client per endpoint and worker.
local clients = {}
local function client(url)
  local c = clients[url]
  if not c then
    c = assert(whatsapp.new { transport = "resty", region = "us-east-1", endpoint = url, phone_number_id = PHONE,
      credentials = CREDS, max_attempts = 1, timeout = 10 })
    clients[url] = c
  end
  return c
end

local function text() return { to = "+14255550123", type = "text", text = { body = "benchmark" } } end

function M.module(url)
  local id, err = client(url):send(text())
  if not id then return fail(err) end
  ngx.print(id)
end

function M.batch(url, n, conc)
  local messages = {}
  for i = 1, n do messages[i] = text() end
  local results, failed = client(url):send_batch(messages, { concurrency = conc })
  if failed ~= 0 then
    for i = 1, n do
      if results[i].err then return fail(results[i].err) end
    end
  end
  ngx.print(results[n].id)
end

-- The ceiling: the request signed once per worker (as the module signs it),
-- then posted as it is; the answer read with as little as a correct reader
-- can do: bytes until the head's blank line and Content-Length more.
local targets = {}
local function target(url)
  local t = targets[url]
  if t then return t end
  local scheme, host, port = url:match("^(https?)://([^:/]+):(%d+)")
  local c = core.new_client { url = url .. "/v1/whatsapp/send", path = "/v1/whatsapp/send",
    host = host .. ":" .. port, region = "us-east-1", service = "social-messaging", connect_timeout_ms = 3000,
    timeout_ms = 10000, max_message_bytes = 2048000, product = "whatsapp" }
  t = {
    request = assert(c:prepare(text(), PHONE, "v20.0", CREDS)),
    host = host == "localhost" and "127.0.0.1" or host, name = host, port = tonumber(port), tls = scheme == "https",
    opts = { pool = "ceiling:" .. url, pool_size = POOL_SIZE, backlog = BACKLOG },
  }
  c:close()
  targets[url] = t
  return t
end

local function post(t)
  local sock = ngx.socket.tcp()
  sock:settimeout(10000)
  local ok, err = sock:connect(t.host, t.port, t.opts)
  if not ok then return nil, err end
  if t.tls and sock:getreusedtimes() == 0 then
    ok, err = sock:sslhandshake(nil, t.name, true)
    if not ok then return nil, err end
  end
  ok, err = sock:send(t.request)
  if not ok then return nil, err end
  local buf, head_end, length = "", nil, nil
  repeat
    local data
    data, err = sock:receiveany(65536)
    if not data then return nil, err end
    buf = buf == "" and data or buf .. data
    if not head_end then
      head_end = buf:find("\r\n\r\n", 1, true)
      if head_end then
        if buf:sub(1, 12) ~= "HTTP/1.1 200" then return nil, "status: " .. buf:sub(1, 12) end
        length = tonumber(buf:match("\n[Cc]ontent%-[Ll]ength:%s*(%d+)"))
        if not length then return nil, "no Content-Length" end
      end
    end
  until head_end and #buf >= head_end + 3 + length
  sock:setkeepalive(IDLE_MS, POOL_SIZE)
  return buf:sub(head_end + 4)
end

function M.ceiling(url)
  local body, err = post(target(url))
  if not body then return fail(err) end
  ngx.print(body)
end

function M.ceiling_batch(url, n, conc)
  local t = target(url)
  local next_i, failure = 1, nil
  local function worker()
    while next_i <= n and not failure do
      next_i = next_i + 1
      local body, err = post(t)
      if not body then failure = err end
    end
  end
  local threads = {}
  for k = 1, math.min(conc, n) do threads[k] = ngx.thread.spawn(worker) end
  for k = 1, #threads do ngx.thread.wait(threads[k]) end
  if failure then return fail(failure) end
  ngx.print("ok")
end

-- Sequential exchanges inside one request (no wrk, no front HTTP): the
-- worker's CPU per exchange (os.clock: the worker is one thread) of
--   ceiling    the constant pre-signed request (post above)
--   transport  whatsapp.transport.resty's send of a text (encode, sign, exchange)
--   module     client:send of a text (the Lua layer, then the transport)
--   prepare    only encode + sign (the transport's core:prepare), no network
-- Answers "n= wall= cpu=" as bench/module.lua does.
local transports = {}
local function transport(url)
  local t = transports[url]
  if not t then
    local host = url:match("^https?://([^/]+)")
    t = require("whatsapp.transport.resty").new { url = url .. "/v1/whatsapp/send", path = "/v1/whatsapp/send",
      host = host, region = "us-east-1", service = "social-messaging", connect_timeout_ms = 3000,
      timeout_ms = 10000, max_message_bytes = 2048000, product = "whatsapp" }
    transports[url] = t
  end
  return t
end

local LOOPS = {
  ceiling = function(url)
    local t = target(url)
    return function() return post(t) end
  end,
  transport = function(url)
    local t = transport(url)
    return function()
      local ok, id = t:send(text(), PHONE, "v20.0", CREDS)
      return ok == true and id, id
    end
  end,
  module = function(url)
    local c = client(url)
    return function() return c:send(text()) end
  end,
  prepare = function(url)
    local c = transport(url).core
    return function() return c:prepare(text(), PHONE, "v20.0", CREDS) end
  end,
}

function M.loop(url, what, n)
  local one = LOOPS[what](url)
  for _ = 1, 200 do assert(one()) end -- warm: the pool, the JIT
  ngx.update_time()
  local t0, c0 = ngx.now(), os.clock()
  for i = 1, n do
    local ok, err = one()
    if not ok then return fail("exchange " .. i .. ": " .. tostring(err)) end
  end
  local c1 = os.clock()
  ngx.update_time()
  ngx.print(string.format("n=%d wall=%.6f cpu=%.6f", n, ngx.now() - t0, c1 - c0))
end

return M

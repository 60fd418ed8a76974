-- Locations of the nginx that spec/resty_spec.lua starts: what a test needs
-- to see from inside a worker (timings, stats, phases), as JSON.
local whatsapp = require "whatsapp"

local _M = {}

local function say(value)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(whatsapp.encode(value))
end

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

local clients = {}
local function client(name, opts)
  if not clients[name] then clients[name] = assert(whatsapp.new(opts or {})) end
  return clients[name]
end

--- /fanout?n=N: N sends on light threads of this one worker, one client.
function _M.fanout()
  local n = tonumber(ngx.var.arg_n) or 50
  local c = client("fanout")
  ngx.update_time()
  local t0 = ngx.now()
  local threads = {}
  for i = 1, n do
    threads[i] = ngx.thread.spawn(function() return c:send(text("fan " .. i)) end)
  end
  local ids, failures = {}, {}
  for i = 1, n do
    local _, id, err = ngx.thread.wait(threads[i])
    if id then ids[#ids + 1] = id else failures[#failures + 1] = tostring(err) end
  end
  ngx.update_time()
  say { ids = ids, failures = failures, elapsed = ngx.now() - t0, transport = c.transport, stats = c:stats() }
end

--- /batch?n=N&concurrency=C[&rate=R][&bad=I]: client:send_batch of N texts
-- (message I invalid) on light threads; reports results, progress and time.
function _M.batch()
  local n = tonumber(ngx.var.arg_n) or 10
  local bad = tonumber(ngx.var.arg_bad)
  local c = client("batch", { on_retry = function() end })
  local messages = {}
  for i = 1, n do
    messages[i] = i == bad and { to = "nope", type = "text", text = { body = "bad" } } or text("batch " .. i)
  end
  local progress = {}
  ngx.update_time()
  local t0 = ngx.now()
  local results, failed = c:send_batch(messages, {
    concurrency = tonumber(ngx.var.arg_concurrency) or 4, rate = tonumber(ngx.var.arg_rate),
    progress = function(done, total, index) progress[#progress + 1] = { done, total, index } end,
  })
  ngx.update_time()
  local out = {}
  for i, r in ipairs(results or {}) do
    out[i] = r.message_id or { code = r.err.code, field = r.err.field or whatsapp.null, attempts = r.err.attempts }
  end
  say { results = out, failed = failed, progress = progress, elapsed = ngx.now() - t0, transport = c.transport,
    stats = c:stats() }
end

--- /batch-log: send_batch where cosockets are missing (a log phase) says so.
function _M.batch_log_phase()
  local results, err = client("batch-log"):send_batch({ text("from the log phase") })
  ngx.shared.results:set("batch", results and "sent" or (err.code .. ": " .. err.message))
end

--- /retry: one send that is throttled first; reports the waits.
function _M.retry()
  local delays = {}
  local c = client("retry", { on_retry = function(_, _, delay) delays[#delays + 1] = delay end })
  ngx.update_time()
  local t0 = ngx.now()
  local id, err = c:send(text("throttled then sent"))
  ngx.update_time()
  say { id = id or whatsapp.null, err = err and tostring(err) or whatsapp.null, delays = delays,
    elapsed = ngx.now() - t0 }
end

--- /tls?ca=right|other[&raise=1]: a send over HTTPS; the location sets the
-- CA file. raise=1 makes a failed handshake raise "assertion failed!" the way
-- Debian's lua-resty-core does when the handshake completes at once
-- (openresty/lua-resty-core#499), a race that is hard to hit on purpose.
function _M.tls()
  -- by name: nginx checks a certificate against a host name, never an IP address
  local endpoint = os.getenv("WA_STANDIN_HTTPS"):gsub("127%.0%.0%.1", "localhost")
  local c = client("tls-" .. ngx.var.arg_ca, { endpoint = endpoint, max_attempts = 1 })
  local methods = getmetatable(ngx.socket.tcp()).__index
  local real = methods.sslhandshake
  if ngx.var.arg_raise then
    methods.sslhandshake = function(...)
      local ok, err = real(...)
      if not ok then error("/usr/share/lua/5.1/resty/core/socket.lua:244: assertion failed!") end
      return ok, err
    end
  end
  local done, id, err = pcall(c.send, c, text("over TLS"))
  methods.sslhandshake = real -- before anything can raise: the method table is the worker's
  assert(done, id)
  say { id = id or whatsapp.null, code = err and err.code or whatsapp.null,
    message = err and err.message or whatsapp.null }
end

--- log_by_lua: cosockets are not there; send says so, send_later works.
function _M.log_phase()
  local c = client("log")
  local id, err = c:send(text("from the log phase"))
  local results = ngx.shared.results
  results:set("send", id and "sent" or (err.code .. ": " .. err.message))
  local ok, lerr = c:send_later(text("later from the log phase"), nil, function(later_id, later_err)
    results:set("later", later_id and "sent" or tostring(later_err))
  end)
  if not ok then results:set("later", "not queued: " .. tostring(lerr)) end
end

--- /container: a client whose credentials come from the container endpoint
-- (spec/support/credsrv.py), fetched over cosockets.
function _M.container()
  local uri = os.getenv("WA_CREDSRV") .. "/container/credentials"
  local vars = {
    AWS_CONTAINER_CREDENTIALS_FULL_URI = uri, AWS_EC2_METADATA_DISABLED = "true",
    AWS_REGION = "us-east-1", AWS_ENDPOINT_URL_SOCIALMESSAGING = os.getenv("AWS_ENDPOINT_URL_SOCIALMESSAGING"),
    WHATSAPP_PHONE_NUMBER_ID = os.getenv("WHATSAPP_PHONE_NUMBER_ID"),
  }
  local c = assert(whatsapp.new({ max_attempts = 1 }, { getenv = function(name) return vars[name] end }))
  local id, err = c:send(text("with container credentials"))
  say { id = id or whatsapp.null, err = err and tostring(err) or whatsapp.null }
end

--- A fake service at /v1/whatsapp/send of this nginx, for what the stand-in
-- cannot do; ngx.shared.results "mode" picks the answer:
--   chunked (default): {"messageId":"chunked-id"} in pieces, chunked
--   truncated: Content-Length 100, 7 bytes, then the connection is cut
--   slow: Content-Length 10, a byte every 300 ms
function _M.fake_service()
  local results = ngx.shared.results
  results:incr("fake_requests", 1, 0)
  local mode = results:get("mode") or "chunked"
  ngx.header["Content-Type"] = "application/json"
  ngx.header["x-amzn-RequestId"] = "fake-request"
  if mode == "truncated" then
    ngx.header["Content-Length"] = 100
    ngx.print('{"messa')
    ngx.flush(true)
    return ngx.exit(444) -- close the connection, answer unfinished
  elseif mode == "slow" then
    ngx.header["Content-Length"] = 10
    for _ = 1, 10 do
      ngx.print(" ")
      ngx.flush(true)
      ngx.sleep(0.3)
    end
    return
  end
  for _, piece in ipairs { '{"messa', 'geId":"chun', 'ked-', 'id"}' } do
    ngx.print(piece)
    ngx.flush(true)
  end
end

--- /fake?mode=…: a send to the fake service in that mode (after one in the
-- default mode, so the second goes out on a kept-alive connection).
function _M.fake()
  local results = ngx.shared.results
  local base = "http://127.0.0.1:" .. ngx.var.server_port
  local c = client("fake-" .. ngx.var.arg_mode, { endpoint = base, max_attempts = 1, timeout = 1 })
  results:set("mode", "chunked")
  local first = c:send(text("warm up"))
  results:set("mode", ngx.var.arg_mode)
  results:set("fake_requests", 0)
  ngx.update_time()
  local t0 = ngx.now()
  local id, err = c:send(text("to the fake service"))
  ngx.update_time()
  results:set("mode", "chunked")
  say { first = first or whatsapp.null, id = id or whatsapp.null, code = err and err.code or whatsapp.null,
    message = err and err.message or whatsapp.null, requests = results:get("fake_requests"),
    elapsed = ngx.now() - t0 }
end

--- /hosts: plain requests by name (localhost) and by IPv6 literal.
function _M.hosts()
  local port = ngx.var.server_port
  local http = require("whatsapp.transport.resty").http {}
  local out = {}
  for _, url in ipairs { "http://localhost:" .. port .. "/hello", "http://[::1]:" .. port .. "/hello" } do
    local status, body, kind = http("GET", url, nil, nil, 2)
    out[#out + 1] = tostring(status) .. " " .. tostring(status and body or kind)
  end
  say(out)
end

--- /chunked: a send whose answer comes chunked (from /v1/whatsapp/send of
-- this same nginx), and a plain request of a chunked body.
function _M.chunked()
  local base = "http://127.0.0.1:" .. ngx.var.server_port
  local c = client("chunked", { endpoint = base, max_attempts = 1 })
  local id, err = c:send(text("answered in chunks"))
  local http = require("whatsapp.transport.resty").http {}
  local status, body = http("GET", base .. "/chunk-source", nil, nil, 2)
  say { id = id or whatsapp.null, err = err and tostring(err) or whatsapp.null, status = status, body = body }
end

function _M.chunk_source()
  for i = 1, 5 do
    ngx.print(string.rep(tostring(i), 1000))
    ngx.flush(true)
  end
end

--- /operations: the other operations over cosockets, on the worker's client:
-- every page of accounts, a phone number, upload-then-send, delete.
function _M.operations()
  local c = client("operations", { backoff = { base = 0.01, throttling_base = 0.01 } })
  local accounts = {}
  for account, err in c:list_accounts() do
    if not account then return say { err = tostring(err) } end
    accounts[#accounts + 1] = account.id
  end
  local number, nerr = c:get_phone_number(os.getenv("WHATSAPP_PHONE_NUMBER_ID"))
  if not number then return say { err = tostring(nerr) } end
  local id, serr = c:send_image("+14255550123", { s3 = { bucket_name = "my-bucket", key = "a.png" } },
    { upload = true })
  if not id then return say { err = tostring(serr) } end
  local media_id, uerr = c:upload_media { s3 = { bucket_name = "my-bucket", key = "b.png" } }
  if not media_id then return say { err = tostring(uerr) } end
  local deleted, derr = c:delete_media(media_id)
  if not deleted then return say { err = tostring(derr) } end
  -- an endpoint named localhost (connected to as 127.0.0.1) keeps its pool too
  local named = client("operations-localhost",
    { endpoint = os.getenv("AWS_ENDPOINT_URL_SOCIALMESSAGING"):gsub("127%.0%.0%.1", "localhost") })
  local again, aerr = named:get_phone_number(os.getenv("WHATSAPP_PHONE_NUMBER_ID"))
  if not again then return say { err = tostring(aerr) } end
  say { accounts = accounts, number = number.displayPhoneNumber, message_id = id, deleted = deleted,
    transport = c.transport, requests = c:stats().requests, by_name = again.phoneNumberId }
end

function _M.result()
  ngx.say(ngx.shared.results:get(ngx.var.arg_key) or "")
end

return _M

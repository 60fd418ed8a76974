-- The cosocket transport inside a real nginx (Debian's nginx +
-- libnginx-mod-http-lua, one worker) sending to the stand-in: sends do not
-- block the worker, connections are reused, TLS is verified, retries sleep
-- without blocking, and phases without cosockets get a clear error.
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local core = require "whatsapp.core"

local function get(client, url)
  local status, body = client:request("GET", url)
  return status, body
end

-- Runs `curl` on a URL in the background; returns a function that waits for
-- its answer (status, body).
local function in_background(url, body)
  local out = os.tmpname()
  -- (curl without the sanitizer runtime `make check` preloads: with it curl hangs)
  os.execute(string.format("env -u LD_PRELOAD curl -s -m 30 -o %s -w '%%{http_code}' %s '%s' > %s.code 2>&1 &", out,
    body and ("-H 'Content-Type: application/json' --data-binary '" .. body .. "'") or "", url, out))
  return function()
    for _ = 1, 300 do
      local f = io.open(out .. ".code")
      local code = f and f:read("*a")
      if f then f:close() end
      if code and code:match("^%d%d%d$") then
        local b = io.open(out):read("*a")
        os.remove(out)
        os.remove(out .. ".code")
        return tonumber(code), b
      end
      os.execute("sleep 0.1")
    end
    error("the background request did not finish: " .. url)
  end
end

describe("OpenResty transport in nginx", function()
  local nginx, probe

  setup(function()
    H.require_standin()
    nginx = N.start {
      env = {
        AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
        AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
        AWS_REGION = "us-east-1",
        AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http,
        WA_STANDIN_HTTPS = H.https,
        WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
        WA_CREDSRV = H.credsrv,
      },
      http = table.concat({
        "lua_ssl_trusted_certificate " .. H.ca .. ";",
        "lua_ssl_verify_depth 2;",
        "lua_shared_dict results 1m;",
      }, "\n"),
      server = [[
        location = /__ready { return 200 "ready"; }
        location = /hello { return 200 "hello"; }
        location = /whatsapp/send { content_by_lua_block { require("whatsapp_handler").send() } }
        location = /whatsapp/send-later { content_by_lua_block { require("whatsapp_handler").send_later() } }
        location = /fanout { content_by_lua_block { require("nginx_handlers").fanout() } }
        location = /batch { content_by_lua_block { require("nginx_handlers").batch() } }
        location = /batch-log {
          content_by_lua_block { ngx.say("logged") }
          log_by_lua_block { require("nginx_handlers").batch_log_phase() }
        }
        location = /retry { content_by_lua_block { require("nginx_handlers").retry() } }
        location = /tls { content_by_lua_block { require("nginx_handlers").tls() } }
        location = /tls-other-ca {
          lua_ssl_trusted_certificate ]] .. H.other_ca .. [[;
          content_by_lua_block { require("nginx_handlers").tls() }
        }
        location = /log-phase {
          content_by_lua_block { ngx.say("logged") }
          log_by_lua_block { require("nginx_handlers").log_phase() }
        }
        location = /container { content_by_lua_block { require("nginx_handlers").container() } }
        location = /v1/whatsapp/send { content_by_lua_block { require("nginx_handlers").fake_service() } }
        location = /fake { content_by_lua_block { require("nginx_handlers").fake() } }
        location = /hosts { content_by_lua_block { require("nginx_handlers").hosts() } }
        location = /chunked { content_by_lua_block { require("nginx_handlers").chunked() } }
        location = /chunk-source { content_by_lua_block { require("nginx_handlers").chunk_source() } }
        location = /result { content_by_lua_block { require("nginx_handlers").result() } }
        location = /operations { content_by_lua_block { require("nginx_handlers").operations() } }
      ]],
    }
    probe = core.new_client { connect_timeout_ms = 2000, timeout_ms = 30000 }
  end)

  teardown(function()
    if probe then probe:close() end
    N.stop(nginx)
  end)

  before_each(function() H.reset() end)
  after_each(function() H.reset() end)

  it("sends through the example handler and answers the messageId", function()
    local status, body = probe:request("POST", nginx.url .. "/whatsapp/send", { ["Content-Type"] = "application/json" },
      '{"to":"+14255550123","text":"Hello from nginx"}')
    assert.are.equal(200, status, body)
    local answer = core.decode(body)
    local msgs = H.messages()
    assert.are.equal(1, #msgs)
    assert.are.equal(msgs[1].message_id, answer.messageId)
    assert.are.equal("Hello from nginx", msgs[1].message.text.body)
    assert.are.equal("AKIDSTANDINEXAMPLE", msgs[1].access_key_id) -- credentials from `env`
    status = probe:request("POST", nginx.url .. "/whatsapp/send", nil, "{}")
    assert.are.equal(400, status)
  end)

  it("runs 50 concurrent sends of 200 ms in about one delay, the worker answering others meanwhile", function()
    H.inject { delay_ms = 200, every = 1 }
    local wait = in_background(nginx.url .. "/fanout?n=50")
    os.execute("sleep 0.1")
    local times = {}
    for i = 1, 5 do
      local t0 = core.monotonic()
      local status, body = get(probe, nginx.url .. "/hello")
      times[i] = core.monotonic() - t0
      assert.are.equal(200, status)
      assert.are.equal("hello", body)
    end
    local status, body = wait()
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.are.same({}, r.failures)
    assert.are.equal(50, #r.ids)
    assert.are.equal("resty", r.transport)
    -- 50 x 200 ms one after the other would be 10 s
    assert.is_true(r.elapsed < 2.5, "50 concurrent sends took " .. r.elapsed .. " s")
    table.sort(times)
    assert.is_true(times[3] < 0.05, "an unrelated request took " .. times[3] .. " s (median)")
    assert.is_true(times[5] < 0.25, "an unrelated request took " .. times[5] .. " s (slowest)")
    local msgs = H.messages()
    assert.are.equal(50, #msgs) -- every signature passed botocore's check
  end)

  it("runs send_batch on light threads: in order, several at a time, the worker free meanwhile", function()
    H.inject { delay_ms = 200, every = 1 }
    local wait = in_background(nginx.url .. "/batch?n=20&concurrency=10&bad=7")
    os.execute("sleep 0.1")
    local t0 = core.monotonic()
    local status = get(probe, nginx.url .. "/hello")
    local took = core.monotonic() - t0
    assert.are.equal(200, status)
    local body
    status, body = wait()
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.are.equal("resty", r.transport)
    assert.are.equal(1, r.failed)
    assert.are.equal(20, #r.results)
    assert.are.same({ code = "ParamValidationError", field = "to", attempts = 0 }, r.results[7])
    local by = {}
    for _, m in ipairs(H.messages()) do by[m.message.text.body] = m.message_id end
    for i = 1, 20 do
      if i ~= 7 then assert.are.equal(by["batch " .. i], r.results[i], "result " .. i) end
    end
    -- 19 sends of 0.2 s, 10 at a time: about 2 delays, not 19
    assert.is_true(r.elapsed < 1.5, "send_batch took " .. r.elapsed .. " s")
    assert.is_true(took < 0.25, "an unrelated request waited " .. took .. " s")
    assert.are.equal(20, #r.progress)
    for k, p in ipairs(r.progress) do
      assert.are.equal(k, p[1])
      assert.are.equal(20, p[2])
    end
  end)

  it("keeps send_batch to its rate inside nginx", function()
    local wait = in_background(nginx.url .. "/batch?n=6&concurrency=6&rate=10")
    local status, body = wait()
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.are.equal(0, r.failed)
    -- 6 starts 0.1 s apart
    assert.is_true(r.elapsed >= 0.45, "6 messages at 10/s took only " .. r.elapsed .. " s")
    assert.is_true(r.elapsed < 3, "6 messages at 10/s took " .. r.elapsed .. " s")
    local times = {}
    for _, m in ipairs(H.messages()) do times[#times + 1] = m.received_at end
    table.sort(times)
    assert.is_true(times[6] - times[1] >= 0.4)
  end)

  it("says send_batch cannot run where cosockets are missing", function()
    assert.are.equal(200, (get(probe, nginx.url .. "/batch-log")))
    local said
    for _ = 1, 50 do
      said = select(2, get(probe, nginx.url .. "/result?key=batch"))
      if said ~= "\n" then break end
      os.execute("sleep 0.1")
    end
    assert.matches("^TransportUnavailable: cosockets are not available in the log phase", said)
  end)

  it("reuses kept-alive connections", function()
    for i = 1, 10 do
      local status, body = probe:request("POST", nginx.url .. "/whatsapp/send", nil,
        '{"to":"+14255550123","text":"reuse ' .. i .. '"}')
      assert.are.equal(200, status, body)
    end
    local conns = {}
    for _, m in ipairs(H.messages()) do conns[m.connection] = true end
    local distinct = 0
    for _ in pairs(conns) do distinct = distinct + 1 end
    assert.are.equal(10, #H.messages())
    assert.is_true(distinct <= 2, distinct .. " connections for 10 sequential sends")
    assert.is_true(H.stats().connections.http <= 2)
  end)

  it("verifies TLS: another CA fails with TLSError, the right CA sends", function()
    -- the wrong CA first: a connection verified (and pooled) under the right
    -- CA would otherwise be reused, the pool being keyed by host and port
    local _, body = get(probe, nginx.url .. "/tls-other-ca?ca=other")
    local r = core.decode(body)
    assert.are.equal("TLSError", r.code, body)
    assert.matches("certificate", r.message)
    -- where lua-resty-core raises for that failure instead (its #499)
    _, body = get(probe, nginx.url .. "/tls-other-ca?ca=other&raise=1")
    r = core.decode(body)
    assert.are.equal("TLSError", r.code, body)
    assert.matches("certificate verify failed", r.message)
    assert.are.equal(0, #H.messages())
    local status
    status, body = get(probe, nginx.url .. "/tls?ca=right")
    assert.are.equal(200, status)
    r = core.decode(body)
    assert.is_string(r.id, body)
    assert.are.equal(1, #H.messages())
    assert.are.equal("https", H.messages()[1].scheme)
  end)

  it("retries a throttled send with ngx.sleep, not blocking the worker", function()
    H.inject { status = 429, headers = { ["x-amz-retry-after"] = "800" } }
    local wait = in_background(nginx.url .. "/retry")
    os.execute("sleep 0.2")
    local t0 = core.monotonic()
    assert.are.equal(200, (get(probe, nginx.url .. "/hello")))
    local took = core.monotonic() - t0
    local status, body = wait()
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.is_string(r.id, body)
    assert.are.equal(1, #r.delays)
    assert.is_true(r.delays[1] >= 0.8)
    assert.is_true(r.elapsed >= 0.8)
    assert.is_true(took < 0.25, "an unrelated request waited " .. took .. " s behind a retry's sleep")
    assert.are.equal(1, #H.messages())
  end)

  it("fetches credentials over cosockets too (a slow container endpoint blocks nothing)", function()
    H.creds_reset()
    H.creds_set { container = { mode = "hang", delay_ms = 600 } }
    local wait = in_background(nginx.url .. "/container")
    os.execute("sleep 0.2")
    local t0 = core.monotonic()
    assert.are.equal(200, (get(probe, nginx.url .. "/hello")))
    local took = core.monotonic() - t0
    local status, body = wait()
    H.creds_reset()
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.is_string(r.id, body)
    assert.is_true(took < 0.25, "an unrelated request waited " .. took .. " s behind a credentials fetch")
    local msgs = H.messages()
    assert.are.equal(1, #msgs)
    assert.are.equal(H.creds.temp.access_key_id, msgs[1].access_key_id)
  end)

  it("reads chunked answers", function()
    local status, body = get(probe, nginx.url .. "/chunked")
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.are.equal("chunked-id", r.id, body)
    assert.are.equal(200, r.status)
    assert.are.equal(string.rep("1", 1000) .. string.rep("2", 1000) .. string.rep("3", 1000)
      .. string.rep("4", 1000) .. string.rep("5", 1000), r.body)
  end)

  it("never resends a request whose answer had begun, and says it may have been delivered", function()
    local _, body = get(probe, nginx.url .. "/fake?mode=truncated")
    local r = core.decode(body)
    assert.are.equal("chunked-id", r.first, body)
    assert.are.equal("ConnectionError", r.code, body)
    assert.matches("after the request was sent; the message may have been delivered", r.message)
    assert.are.equal(1, r.requests) -- one request, not a silent second one
  end)

  it("holds the timeout for the whole answer, not for each read", function()
    local _, body = get(probe, nginx.url .. "/fake?mode=slow")
    local r = core.decode(body)
    assert.are.equal("TimeoutError", r.code, body)
    assert.is_true(r.elapsed < 1.6, "a 1 s timeout took " .. r.elapsed .. " s")
  end)

  it("reaches hosts by name (localhost) and by IPv6 literal", function()
    local _, body = get(probe, nginx.url .. "/hosts")
    assert.are.same({ "200 hello", "200 hello" }, core.decode(body))
  end)

  it("refuses to send where cosockets are missing, and send_later works there", function()
    assert.are.equal(200, (get(probe, nginx.url .. "/log-phase")))
    local sent, later
    for _ = 1, 50 do
      sent = select(2, get(probe, nginx.url .. "/result?key=send"))
      later = select(2, get(probe, nginx.url .. "/result?key=later"))
      if sent ~= "\n" and later ~= "\n" then break end
      os.execute("sleep 0.1")
    end
    assert.matches("^TransportUnavailable: cosockets are not available in the log phase", sent)
    assert.matches("ngx.timer.at", sent)
    assert.are.equal("sent\n", later)
    local msgs = H.messages()
    assert.are.equal(1, #msgs)
    assert.are.equal("later from the log phase", msgs[1].message.text.body)
  end)

  it("sends fire-and-forget from the example handler", function()
    local status, body = probe:request("POST", nginx.url .. "/whatsapp/send-later", nil,
      '{"to":"+14255550123","text":"later"}')
    assert.are.equal(202, status, body)
    local msgs
    for _ = 1, 50 do
      msgs = H.messages()
      if #msgs > 0 then break end
      os.execute("sleep 0.1")
    end
    assert.are.equal(1, #msgs)
    assert.are.equal("later", msgs[1].message.text.body)
  end)

  it("calls the other operations over cosockets: pages, lookups, upload then send, delete", function()
    H.inject { code = "ThrottledRequestException" } -- retried with ngx.sleep like a send
    local status, body = get(probe, nginx.url .. "/operations")
    assert.are.equal(200, status, body)
    local r = core.decode(body)
    assert.is_nil(r.err, r.err)
    assert.are.equal("resty", r.transport)
    assert.are.equal(5, #r.accounts)
    assert.are.equal("+14255550123", r.number)
    assert.is_true(r.deleted)
    local ops = {}
    for _, m in ipairs(H.messages()) do ops[#ops + 1] = m.operation end
    assert.are.same({ "ListLinkedWhatsAppBusinessAccounts", "ListLinkedWhatsAppBusinessAccounts",
      "ListLinkedWhatsAppBusinessAccounts", "GetLinkedWhatsAppBusinessAccountPhoneNumber",
      "PostWhatsAppMessageMedia", "SendWhatsAppMessage", "PostWhatsAppMessageMedia", "DeleteWhatsAppMessageMedia",
      "GetLinkedWhatsAppBusinessAccountPhoneNumber" }, ops)
    assert.are.equal(r.message_id, H.messages()[6].message_id)
    assert.are.equal(9, r.requests) -- the throttled one included
    assert.are.equal(H.PHONE, r.by_name)
  end)

  it("logs no error of its own", function()
    for line in N.log(nginx):gmatch("[^\n]+") do
      -- nginx itself logs the refused certificate of the TLS spec and the
      -- read timeout of the slow-answer spec (lua_socket_log_errors)
      if not line:find("certificate verify error", 1, true) and not line:find("socket read timed out", 1, true) then
        assert.is_nil(line:find("%[error%]") or line:find("%[alert%]") or line:find("%[crit%]"), line)
      end
    end
  end)
end)

describe("examples/nginx/nginx.conf", function()
  it("is a configuration nginx accepts", function()
    local dir = assert(io.popen("mktemp -d /tmp/whatsapp-nginx-t.XXXXXX")):read("*l")
    os.execute("mkdir -p " .. dir .. "/logs")
    local out = H.run("nginx -t -p " .. dir .. " -c $PWD/examples/nginx/nginx.conf -e " .. dir .. "/error.log")
    os.execute("rm -rf " .. dir)
    assert.matches("syntax is ok", out)
    assert.matches("test is successful", out)
    assert.matches("exit=0", out)
  end)
end)

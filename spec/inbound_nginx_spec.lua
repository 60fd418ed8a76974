-- whatsapp.inbound in a real nginx (Debian's nginx + ngx_lua) running the
-- example reply bot (examples/nginx/reply_bot.lua): a signed inbound text
-- is answered 200 within 1 s and exactly one reply reaches the
-- SendWhatsAppMessage stand-in (to the sender, from the receiving number);
-- forged, replayed, stale, wrong-topic and raw-delivery variants are
-- refused and send nothing; a body nginx spooled to a file is verified too.
-- The signing certificate is fetched over cosockets from the local HTTPS
-- stand-in (spec/support/certsrv.py), verified against the test CA.
local core = require "whatsapp.core"
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local F = require "spec.support.sns_fixture"

describe("inbound in nginx", function()
  local nginx, http

  setup(function()
    H.require_standin()
    F.setup()
    nginx = N.start {
      env = {
        AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
        AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
        AWS_REGION = "us-east-1",
        AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http,
        WA_TEST_TOPIC = F.TOPIC,
      },
      http = table.concat({
        "lua_ssl_trusted_certificate " .. F.ca .. ";",
        "lua_ssl_verify_depth 2;",
        "lua_shared_dict whatsapp_inbound 1m;",
        "lua_shared_dict whatsapp_certs 1m;",
        "lua_shared_dict counts 1m;",
      }, "\n"),
      server = table.concat({
        "location = /__ready { return 200; }",
        "location = /events { client_max_body_size 1m; client_body_buffer_size 1m;",
        "  content_by_lua_block { require('nginx_inbound').events() } }",
        "location = /fresh { content_by_lua_block { require('nginx_inbound').fresh() } }",
        "location = /counts { content_by_lua_block { ngx.say(ngx.shared.counts:get('messages') or 0) } }",
        "location = /spooled { client_max_body_size 1m; client_body_buffer_size 1k;",
        "  content_by_lua_block { require('nginx_inbound').events() } }",
      }, "\n"),
    }
    http = core.new_client { url = nginx.url, path = "/", host = "x", region = "us-east-1", service = "x",
      max_message_bytes = 0, connect_timeout_ms = 2000, timeout_ms = 10000 }
  end)

  teardown(function()
    if http then http:close() end
    N.stop(nginx)
    F.teardown()
  end)

  before_each(function() H.reset() end)

  local function post(t, path, headers)
    local body = type(t) == "string" and t or F.body(t)
    local started = core.monotonic()
    local status, text = http:request("POST", nginx.url .. (path or "/events"), headers or
      { ["Content-Type"] = "text/plain; charset=UTF-8", ["x-amz-sns-message-type"] = "Notification" }, body, 10000)
    return status, text, core.monotonic() - started
  end

  -- the stand-in's messages once n have arrived (or after 3 s)
  local function sent(n)
    local msgs
    for _ = 1, 60 do
      msgs = H.messages()
      if #msgs >= n then break end
      os.execute("sleep 0.05")
    end
    return msgs
  end

  -- no message reached the stand-in (waited long enough for a timer to have sent one)
  local function nothing_sent()
    os.execute("sleep 0.3")
    assert.are.same({}, H.messages())
  end

  local function replies(msgs)
    local out = {}
    for _, m in ipairs(msgs) do
      if m.message.to then out[#out + 1] = m end
    end
    return out
  end

  it("answers a signed text 200 within 1 s, then marks it read and sends exactly one reply", function()
    local t = F.notification()
    local status, text, elapsed = post(t)
    assert.are.equal(200, status, text)
    assert.is_true(elapsed < 1, "took " .. elapsed .. " s")
    sent(2)
    os.execute("sleep 0.2") -- (time for a second reply, which must not come)
    local msgs = H.messages()
    assert.are.equal(2, #msgs)
    local reply = replies(msgs)
    assert.are.equal(1, #reply)
    reply = reply[1]
    assert.are.equal(F.AWS_PHONE, reply.originationPhoneNumberId)
    assert.are.same({ "+393462454282", "text", "Prva", F.WAMID }, { reply.message.to, reply.message.type,
      reply.message.text.body, reply.message.context.message_id })
    local read
    for _, m in ipairs(msgs) do if m.message.status == "read" then read = m end end
    assert.are.same({ F.WAMID, "text", F.AWS_PHONE }, { read.message.message_id, read.message.typing_indicator.type,
      read.originationPhoneNumberId })

    -- the same body again (an SNS retry, or a replay): 200 and nothing sent
    H.reset()
    assert.are.equal(200, (post(t)))
    nothing_sent()
  end)

  it("answers a button reply with the choice", function()
    local from = '\\"text\\":{\\"body\\":\\"Prva\\"},\\"type\\":\\"text\\"'
    local to = '\\"interactive\\":{\\"type\\":\\"button_reply\\",\\"button_reply\\":{\\"id\\":'
      .. '\\"yes\\",\\"title\\":\\"Yes\\"}},\\"type\\":\\"interactive\\"'
    local at = assert(F.MESSAGE:find(from, 1, true))
    local message = F.MESSAGE:sub(1, at - 1) .. to .. F.MESSAGE:sub(at + #from)
    assert.are_not.equal(F.MESSAGE, message)
    assert.are.equal(200, (post(F.notification { Message = message })))
    local reply = replies(sent(1))
    assert.are.equal(1, #reply)
    assert.are.equal("You chose: Yes", reply[1].message.text.body)
  end)

  it("refuses forged, stale, wrong-topic and raw-delivery variants and sends nothing", function()
    local forged = F.notification()
    forged.Message = forged.Message:gsub("Prva", "Pay now")
    local other_topic = F.notification { TopicArn = F.TOPIC .. "-other" }
    local stale = F.notification(nil, { now = os.time() - 7200 })
    local other_key = F.notification(nil, { key = F.dir .. "/other.key" })
    for _, case in ipairs {
      { forged, 403 }, { other_topic, 403 }, { stale, 403 }, { other_key, 403 },
    } do
      local status, text = post(case[1], "/events", {})
      assert.are.equal(case[2], status, text)
    end
    local status, text = post(F.MESSAGE, "/events", { ["x-amz-sns-rawdelivery"] = "true" })
    assert.are.same({ 403, "SnsRawDelivery\n" }, { status, text })
    status = post("{not json", "/events", {})
    assert.are.equal(400, status)
    nothing_sent()
  end)

  it("shares fetched certificates between receivers through cert_cache (a lua_shared_dict)", function()
    F.reset()
    -- (a URL no other test fetched: the bot shares its certificates through the same dict)
    local url = F.base .. "/SimpleNotificationService-copy.pem"
    for _ = 1, 3 do assert.are.equal(200, (post(F.notification { SigningCertURL = url }, "/fresh"))) end
    local pems = 0
    for _, path in ipairs(F.log()) do
      if path:find("%.pem$") then pems = pems + 1 end
    end
    assert.are.equal(1, pems)
    local status, text = http:request("GET", nginx.url .. "/counts", nil, nil, 5000)
    for _ = 1, 40 do
      if text == "3\n" then break end
      os.execute("sleep 0.05")
      status, text = http:request("GET", nginx.url .. "/counts", nil, nil, 5000)
    end
    assert.are.same({ 200, "3\n" }, { status, text })
    nothing_sent()
  end)

  it("verifies a body nginx spooled to a temporary file", function()
    -- unsigned attributes make it larger than the header buffers nginx reads
    -- ahead (a body read in full with the headers stays in memory)
    local big = { Type = "String", Value = ("x"):rep(32 * 1024) }
    local t = F.notification()
    t.MessageAttributes = { big = big }
    local status, text = post(t, "/spooled")
    assert.are.equal(200, status, text)
    assert.are.equal(1, #replies(sent(2)))
    assert.matches("buffered to a temporary file", N.log(nginx))
    -- and a forged one spooled the same way is refused
    H.reset()
    local forged = F.notification()
    forged.MessageAttributes = { big = big }
    forged.Message = forged.Message:gsub("Prva", "Prvx")
    assert.are.equal(403, (post(forged, "/spooled")))
    nothing_sent()
  end)
end)

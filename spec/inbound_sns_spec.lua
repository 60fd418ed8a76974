-- whatsapp.inbound, SNS: the certificate URL rules (refused without a
-- fetch), the certificate fetch and cache against the local HTTPS stand-in,
-- topic, time, replay and delivery-mode refusals, the subscription
-- lifecycle and malformed bodies (docs/REFERENCES.md: SNS signatures, SNS messages).
local F = require "spec.support.sns_fixture"
local cert = require "whatsapp.inbound.cert"

local function post(rx, t, headers)
  return rx:handle { method = "POST", headers = headers or {}, body = type(t) == "string" and t or F.body(t) }
end

local function no_fetch()
  return function(url) error("fetched " .. url) end
end

local function counting(pem)
  local calls = {}
  return function(url)
    calls[#calls + 1] = url
    return pem or F.pem
  end, calls
end

local HEX = "0123456789abcdef0123456789abcdef"

describe("inbound SNS", function()
  setup(function() F.setup() end)
  teardown(function() F.teardown() end)

  describe("certificate URL", function()
    -- the default rules (no cert_host_pattern): these are refused before any fetch
    local function refused_url(url)
      local rx = assert(require("whatsapp.inbound").new { topic_arns = { F.TOPIC }, fetch_cert = no_fetch() })
      local t = F.notification { SigningCertURL = url }
      local status, _, events, err = post(rx, t)
      assert.are.same({ 403, "SnsCertUrl" }, { status, err and err.code }, url)
      assert.are.same({}, events)
    end

    it("refuses http (case 12)", function()
      refused_url("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-" .. HEX .. ".pem")
    end)

    it("refuses hosts that are not region-shaped SNS hosts (case 13)", function()
      for _, host in ipairs { "evil.example.com", "sns.us-east-1.amazonaws.com.evil.com", "s3.amazonaws.com",
        "sns.s3-external-1.amazonaws.com", "sns.s3-accelerate.amazonaws.com", "xsns.us-east-1.amazonaws.com",
        "sns.us-east-1.amazonaws.co", "sns.amazonaws.com", "sns.us-east-1.amazonaws.com.cn.evil.com" } do
        refused_url("https://" .. host .. "/SimpleNotificationService-" .. HEX .. ".pem")
      end
    end)

    it("refuses userinfo, backslashes, ports, percent-encoding and IP literals (case 14)", function()
      local pem = "/SimpleNotificationService-" .. HEX .. ".pem"
      for _, url in ipairs {
        "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
        "https://evil.com\\@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443" .. pem,
        "https://sns.us-east-1.amazonaws.com:443" .. pem,
        "https://sns.us-east-1.amazonaws.com:" .. pem,
        "https://sns.us-east-1.amazonaws.com%2eevil.com" .. pem,
        "https://54.239.28.85" .. pem, "https://[::1]" .. pem,
        "https://SNS.US-EAST-1.amazonaws.com.evil.com" .. pem,
      } do
        refused_url(url)
      end
    end)

    it("refuses paths that do not name the .pem file: query, fragment, .., other names (case 15)", function()
      local host = "https://sns.us-east-1.amazonaws.com"
      for _, path in ipairs { "/x.pem", "/SimpleNotificationService-" .. HEX .. ".pem?x=1",
        "/x?y=.pem", "/SimpleNotificationService-" .. HEX .. ".pem#f", "/a/../SimpleNotificationService-" .. HEX
        .. ".pem", "/SimpleNotificationService-" .. HEX .. ".pem/", "/SimpleNotificationService-.pem", "",
        "/SimpleNotificationService-" .. HEX .. ".PEM", "/SimpleNotificationService-" .. HEX .. ".pem.txt" } do
        refused_url(host .. path)
      end
    end)

    it("fetches from region-shaped hosts in every partition (case 16)", function()
      for _, host in ipairs { "sns.eu-west-1.amazonaws.com", "sns.us-gov-west-1.amazonaws.com",
        "sns.cn-north-1.amazonaws.com.cn", "sns.ap-southeast-7.amazonaws.com", "sns.us-east-1.amazonaws.com" } do
        local fetch, calls = counting()
        local rx = assert(require("whatsapp.inbound").new { topic_arns = { F.TOPIC }, fetch_cert = fetch })
        local url = "https://" .. host .. "/SimpleNotificationService-" .. HEX .. ".pem"
        assert.are.equal(200, (post(rx, F.notification { SigningCertURL = url })), host)
        assert.are.same({ url }, calls)
      end
      assert.is_true(cert.check_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" .. HEX
        .. ".pem", cert.DEFAULT_HOST_PATTERNS, cert.DEFAULT_PATH_PATTERN))
    end)
  end)

  describe("certificate fetch", function()
    it("answers 503 SnsCertFetch (retryable) on 404, a redirect, TLS failure or a timeout, and does not cache "
      .. "the failure (case 17)", function()
      local urls = {
        F.base .. "/SimpleNotificationService-absent.pem", -- 404
        F.base .. "/status/500/SimpleNotificationService-x.pem",
        F.base .. "/status/302/SimpleNotificationService-x.pem", -- no redirect followed
      }
      local rx = F.receiver { cert_path_pattern = "%.pem$" }
      for _, url in ipairs(urls) do
        local status, _, _, err = post(rx, F.notification { SigningCertURL = url })
        assert.are.same({ 503, "SnsCertFetch", true }, { status, err.code, err.retryable }, url)
      end
      -- TLS: the stand-in's certificate is not trusted without the test CA
      local untrusted = F.receiver { ca_file = F.dir .. "/tls/other-ca.pem" }
      local status, _, _, err = post(untrusted, F.notification())
      assert.are.same({ 503, "SnsCertFetch", true }, { status, err.code, err.retryable })
      -- a failing fetch is tried again on the next delivery, and then succeeds
      local n = 0
      local flaky = F.receiver { fetch_cert = function()
        n = n + 1
        if n == 1 then return nil, "connection refused" end
        return F.pem
      end }
      assert.are.equal(503, (post(flaky, F.notification())))
      assert.are.equal(200, (post(flaky, F.notification())))
      assert.are.equal(2, n)
      -- a raising fetch_cert is a failed fetch, not a crash
      local raising = F.receiver { fetch_cert = function() error("boom") end }
      assert.are.equal("SnsCertFetch", select(4, post(raising, F.notification())).code)
    end)

    it("gives up a slow fetch within its time limit (case 17)", function()
      local rx = F.receiver { cert_path_pattern = "%.pem$" }
      local started = os.time()
      local status, _, _, err = post(rx, F.notification { SigningCertURL = F.base .. "/slow/x.pem" })
      assert.are.same({ 503, "SnsCertFetch" }, { status, err.code })
      assert.is_true(os.time() - started <= 4)
    end)

    it("refuses (403 SnsCert) a body over 10 KB, not PEM, not RSA, expired, not yet valid (case 18)", function()
      for _, name in ipairs { "big", "junk", "ec" } do
        local rx = F.receiver()
        local url = F.base .. "/SimpleNotificationService-" .. name .. ".pem"
        local status, _, _, err = post(rx, F.notification { SigningCertURL = url })
        assert.are.same({ 403, "SnsCert" }, { status, err.code }, name)
      end
      local later = os.time() + 3 * 86400
      local rx = F.receiver { clock = function() return later end }
      local status, _, _, err = post(rx, F.notification(nil, { now = later }))
      assert.are.same({ 403, "SnsCert" }, { status, err.code })
      assert.matches("expired", err.message)
      local earlier = os.time() - 86400
      rx = F.receiver { clock = function() return earlier end }
      status, _, _, err = post(rx, F.notification(nil, { now = earlier }))
      assert.are.same({ 403, "SnsCert" }, { status, err.code })
      assert.matches("not valid yet", err.message)
    end)

    it("fetches a certificate once, again after the TTL, and keeps at most 16 (case 19)", function()
      F.reset()
      local rx = F.receiver()
      assert.are.equal(200, (post(rx, F.notification())))
      assert.are.equal(200, (post(rx, F.notification())))
      assert.are.equal(1, #F.log())
      assert.are.equal(1, rx:stats().cert_fetches)
      local now = os.time()
      local clocked = F.receiver { clock = function() return now end }
      local fetch, calls = counting()
      clocked.fetch_cert = fetch
      assert.are.equal(200, (post(clocked, F.notification(nil, { now = now }))))
      now = now + cert.TTL - 10
      assert.are.equal(200, (post(clocked, F.notification(nil, { now = now }))))
      assert.are.equal(1, #calls)
      now = now + 20
      assert.are.equal(200, (post(clocked, F.notification(nil, { now = now }))))
      assert.are.equal(2, #calls)
      -- 17 distinct URLs: the cache stays at 16
      local many = F.receiver { fetch_cert = fetch, cert_path_pattern = "%.pem$" }
      for i = 1, 17 do
        local url = F.base .. "/SimpleNotificationService-n" .. i .. ".pem"
        assert.are.equal(200, (post(many, F.notification { SigningCertURL = url })))
      end
      assert.are.equal(16, many:stats().cached_certs)
      assert.are.equal(17, many:stats().cert_fetches)
    end)
  end)

  describe("topic, time, replay, delivery mode", function()
    it("refuses a topic not allow-listed, before any fetch (case 20)", function()
      local rx = F.receiver { topic_arns = { F.TOPIC .. "-other" }, fetch_cert = no_fetch() }
      local status, _, events, err = post(rx, F.notification())
      assert.are.same({ 403, "SnsTopic" }, { status, err.code })
      assert.are.same({}, events)
    end)

    it("refuses x-amz-sns-* headers that disagree with the body (case 21)", function()
      local rx = F.receiver { fetch_cert = no_fetch() }
      local t = F.notification()
      for _, h in ipairs {
        { ["x-amz-sns-topic-arn"] = F.TOPIC .. "-2" },
        { ["X-Amz-Sns-Message-Type"] = "SubscriptionConfirmation" },
        { ["x-amz-sns-message-id"] = "other" },
      } do
        local status, _, _, err = post(rx, t, h)
        assert.are.same({ 400, "SnsHeaderMismatch" }, { status, err.code })
      end
      rx = F.receiver()
      assert.are.equal(200, (post(rx, t, { ["x-amz-sns-topic-arn"] = F.TOPIC, ["x-amz-sns-message-id"] = t.MessageId,
        ["x-amz-sns-message-type"] = "Notification" })))
    end)

    it("keeps to the max_age / max_skew window on Timestamp (case 22)", function()
      local now = os.time()
      local rx = F.receiver { clock = function() return now end }
      local function at(t) return F.notification(nil, { now = t }) end
      local status, _, _, err = post(rx, at(now - 3601))
      assert.are.same({ 403, "SnsStale" }, { status, err.code })
      assert.are.equal(200, (post(rx, at(now - 3599))))
      status, _, _, err = post(rx, at(now + 301))
      assert.are.same({ 403, "SnsFuture" }, { status, err.code })
      assert.are.equal(200, (post(rx, at(now + 299))))
      local t = F.notification { Timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ", now) } -- no fraction
      assert.are.equal(200, (post(rx, t)))
      status, _, _, err = post(rx, F.notification { Timestamp = "not-a-time" })
      assert.are.same({ 403, "SnsStale" }, { status, err.code })
      local tight = F.receiver { clock = function() return now end, max_age = 60, max_skew = 0 }
      assert.are.equal("SnsStale", select(4, post(tight, at(now - 61))).code)
      assert.are.equal("SnsFuture", select(4, post(tight, at(now + 2))).code)
    end)

    it("answers a replayed MessageId 200 with no events (case 23)", function()
      local rx = F.receiver()
      local t = F.notification()
      local status, _, events = post(rx, t)
      assert.are.same({ 200, 1 }, { status, #events })
      status, _, events = post(rx, t)
      assert.are.same({ 200, 0, true }, { status, #events, events.duplicate })
      -- a dedupe function: told the key and the window
      local seen = {}
      local custom = F.receiver { dedupe = function(key, ttl)
        seen[#seen + 1] = { key, ttl }
        return #seen == 1
      end }
      assert.are.equal(1, #select(3, post(custom, t)))
      assert.are.equal(0, #select(3, post(custom, t)))
      assert.are.same({ "sns:" .. t.MessageId, 3900 }, seen[1])
      -- a failing store: 503, retryable
      local broken = F.receiver { dedupe = function() return nil, "down" end }
      local st, _, _, err = post(broken, t)
      assert.are.same({ 503, "DedupeUnavailable", true }, { st, err.code, err.retryable })
    end)

    it("marks a wamid seen under another MessageId duplicate, with dedupe_events (case 23)", function()
      local plain = F.receiver()
      assert.is_nil(select(3, post(plain, F.notification()))[1].duplicate)
      assert.is_nil(select(3, post(plain, F.notification()))[1].duplicate) -- off by default
      local rx = F.receiver { dedupe_events = true }
      local first = select(3, post(rx, F.notification()))
      local again = select(3, post(rx, F.notification())) -- same wamid, new MessageId
      assert.are.same({ 1, 1 }, { #first, #again })
      assert.is_nil(first[1].duplicate)
      assert.is_true(again[1].duplicate)
      local _, err = require("whatsapp.inbound").new { topic_arns = { F.TOPIC }, dedupe_events = 0 }
      assert.are.equal("dedupe_events", err.field)
    end)

    it("refuses raw message delivery (case 24)", function()
      local rx = F.receiver { fetch_cert = no_fetch() }
      local status, _, _, err = post(rx, F.MESSAGE, { ["x-amz-sns-rawdelivery"] = "true" })
      assert.are.same({ 403, "SnsRawDelivery" }, { status, err.code })
      status, _, _, err = post(rx, F.MESSAGE, { ["x-amz-sns-message-type"] = "Notification" })
      assert.are.same({ 403, "SnsRawDelivery" }, { status, err.code })
    end)
  end)

  describe("subscription lifecycle", function()
    it("confirms an allow-listed topic's subscription with one GET, or reports it (case 25)", function()
      F.reset()
      local c = F.confirmation()
      local status, _, out = post(F.receiver(), c)
      assert.are.same({ 200, true }, { status, out.confirmed })
      local log = F.log()
      assert.are.equal(2, #log) -- the certificate, then the SubscribeURL
      assert.are.equal(c.SubscribeURL:sub(#F.base + 1), log[2])
      F.reset()
      status, _, out = post(F.receiver { confirm = "manual", fetch_cert = counting() }, c)
      assert.are.same({ 200, false, c.SubscribeURL, c.Token }, { status, out.confirmed, out.subscribe_url, out.token })
      assert.are.same({}, F.log())
      -- a failed GET: 503 so SNS sends it again
      local bad = F.confirmation { SubscribeURL = F.base .. "/status/500/?Action=ConfirmSubscription&TopicArn="
        .. F.TOPIC }
      local st, _, _, err = post(F.receiver { cert_path_pattern = "%.pem$" }, bad)
      assert.are.same({ 403, "SnsSubscribeUrl" }, { st, err.code }) -- path is not "/"
    end)

    it("refuses another topic's confirmation without a GET (case 26)", function()
      F.reset()
      local other = F.TOPIC .. "-other"
      local c = F.confirmation { TopicArn = other,
        SubscribeURL = F.base .. "/?Action=ConfirmSubscription&TopicArn=" .. other .. "&Token=x" }
      local status, _, _, err = post(F.receiver { fetch_cert = no_fetch() }, c)
      assert.are.same({ 403, "SnsTopic" }, { status, err.code })
      assert.are.same({}, F.log())
    end)

    it("refuses a SubscribeURL elsewhere or for another topic, without a GET (case 27)", function()
      F.reset()
      local fetch = counting()
      for _, url in ipairs {
        "https://evil.example.com/?Action=ConfirmSubscription&TopicArn=" .. F.TOPIC,
        F.base .. "/?Action=Unsubscribe&TopicArn=" .. F.TOPIC,
        F.base .. "/?Action=ConfirmSubscription&TopicArn=" .. F.TOPIC .. "-2",
        "http://localhost:" .. F.port .. "/?Action=ConfirmSubscription&TopicArn=" .. F.TOPIC,
      } do
        local status, _, _, err = post(F.receiver { fetch_cert = fetch }, F.confirmation { SubscribeURL = url })
        assert.are.same({ 403, "SnsSubscribeUrl" }, { status, err.code }, url)
      end
      assert.are.same({}, F.log())
    end)

    it("verifies an UnsubscribeConfirmation with the Token signed, and refuses one signed without (case 28)",
      function()
        local rx = F.receiver()
        local u = F.confirmation(nil, { type = "UnsubscribeConfirmation" })
        local status, _, out = post(rx, u)
        assert.are.same({ 200, false }, { status, out.confirmed })
        local keys = { "Message", "MessageId", "SubscribeURL", "Timestamp", "TopicArn", "Type" }
        local status2, _, _, err = post(rx, F.confirmation(nil, { type = "UnsubscribeConfirmation", keys = keys }))
        assert.are.same({ 403, "SnsSignature" }, { status2, err.code })
      end)

    it("leaves a Notification's Token out of the signed string (case 29)", function()
      local rx = F.receiver()
      local t = F.notification { Token = "not signed" }
      assert.are.equal(200, (post(rx, t)))
      local keys = { "Message", "MessageId", "Timestamp", "Token", "TopicArn", "Type" }
      local status, _, _, err = post(rx, F.notification({ Token = "signed" }, { keys = keys }))
      assert.are.same({ 403, "SnsSignature" }, { status, err.code })
    end)
  end)

  describe("malformed input", function()
    it("refuses bodies that are not an SNS envelope (case 30)", function()
      local rx = F.receiver { fetch_cert = no_fetch() }
      for _, body in ipairs { "", "[]", '"x"', '{"Type":"Notification"', "{}", "null", "1", '{"Type":1}' } do
        local status, _, events, err = post(rx, body)
        assert.are.same({ 400, "SnsMalformed" }, { status, err.code }, body)
        assert.are.same({}, events)
      end
      local status, _, _, err = post(rx, F.notification { Type = "Other" })
      assert.are.same({ 400, "SnsUnsupportedType" }, { status, err.code })
      status, _, _, err = post(rx, F.notification { Message = { x = 1 } })
      assert.are.same({ 400, "SnsMalformed" }, { status, err.code })
      local big = F.body(F.notification { Message = ("x"):rep(2 * 1024 * 1024) })
      status, _, _, err = post(rx, big)
      assert.are.same({ 413, "SnsMalformed" }, { status, err.code })
      status, _, _, err = post(F.receiver { fetch_cert = no_fetch() }, F.confirmation { Token = false })
      assert.are.same({ 400, "SnsMalformed" }, { status, err.code })
      assert.are.equal(405, (rx:handle { method = "PUT", body = "x" }))
      assert.has_error(function() rx:handle("x") end)
    end)

    it("refuses a genuine notification whose Message is not an EUM event (case 31)", function()
      local rx = F.receiver()
      local status, _, _, err = post(rx, F.notification { Message = "hello" })
      assert.are.same({ 400, "EventMalformed" }, { status, err.code })
      status, _, _, err = post(rx, F.notification { Message = '{"whatsAppWebhookEntry":"{not json"}' })
      assert.are.same({ 400, "EventMalformed" }, { status, err.code })
      status, _, _, err = post(rx, F.notification { Message = '{"whatsAppWebhookEntry":"{\\"id\\":\\"1\\"}"}' })
      assert.are.same({ 400, "EventMalformed" }, { status, err.code })
      local object = '{"whatsAppWebhookEntry":{"id":"1","changes":[{"field":"messages","value":{"messages":'
        .. '[{"from":"1","id":"wamid.x","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}}'
      local st, _, events = post(rx, F.notification { Message = object })
      assert.are.same({ 200, "hi" }, { st, events[1].text })
    end)

    it("refuses an event from another account when expect.account_id is set (case 32)", function()
      local rx = F.receiver { expect = { account_id = "111111111111" } }
      local status, _, _, err = post(rx, F.notification())
      assert.are.same({ 403, "EventForeign" }, { status, err.code })
      rx = F.receiver { expect = { account_id = "533267110337", phone_number_ids = { "729155140271006" } } }
      assert.are.equal(200, (post(rx, F.notification())))
      local empty = '{"aws_account_id":"222222222222","whatsAppWebhookEntry":{"id":"1","changes":[]}}'
      rx = F.receiver { expect = { account_id = "222222222222" } }
      assert.are.same({ 200, 0 }, { post(rx, F.notification { Message = empty }), #select(3,
        post(rx, F.notification { Message = empty })) })
      rx = F.receiver { expect = { waba_ids = { "1" } } }
      assert.are.equal("EventForeign", select(4, post(rx, F.notification())).code)
    end)
  end)
end)

-- whatsapp.inbound: SNS deliveries verified (SignatureVersion 1 and 2) with a
-- key and a certificate made by openssl at test time, the certificate
-- served by a local HTTPS stand-in of the SNS host (spec/support/certsrv.py),
-- and every refusal the receiver documents (README, "Receiving").
local core = require "whatsapp.core"
local inbound = require "whatsapp.inbound"
local F = require "spec.support.sns_fixture"

local function post(rx, t, headers)
  return rx:handle { method = "POST", headers = headers or {}, body = type(t) == "string" and t or F.body(t) }
end

-- a fetch_cert that must not be called
local function no_fetch()
  return function(url) error("fetched " .. url) end
end

describe("inbound", function()
  setup(function() F.setup() end)
  teardown(function() F.teardown() end)

  describe("C primitives", function()
    it("x509_pubkey reads an RSA certificate's key and dates, and refuses others", function()
      local key, info = core.x509_pubkey(F.pem)
      assert.truthy(key)
      assert.are.equal(2048, info.bits)
      assert.is_true(info.not_before <= os.time() + 5 and info.not_after > os.time() + 86400)
      local f = assert(io.open(F.dir .. "/pems/SimpleNotificationService-ec.pem"))
      local ec = f:read("*a")
      f:close()
      local none, kind, message = core.x509_pubkey(ec)
      assert.is_nil(none)
      assert.are.equal("key", kind)
      assert.matches("not RSA", message)
      assert.are.equal("pem", select(2, core.x509_pubkey("-----BEGIN CERTIFICATE-----\nAAAA\n")))
      assert.are.equal("pem", select(2, core.x509_pubkey("")))
    end)

    it("rsa_verify accepts exactly the signature made over the data, SHA-1 and SHA-256", function()
      local key = core.x509_pubkey(F.pem)
      for _, v in ipairs { "1", "2" } do
        local alg = v == "1" and "sha1" or "sha256"
        local sig = core.base64_decode(F.rsa_sign("some data\n", v))
        assert.is_true(key:verify(alg, "some data\n", sig))
        assert.is_true(core.rsa_verify(key, alg, "some data\n", sig))
        local ok, why = key:verify(alg, "some datA\n", sig)
        assert.are.same({ false, "mismatch" }, { ok, why })
        assert.is_false((key:verify(v == "1" and "sha256" or "sha1", "some data\n", sig)))
        assert.is_false((key:verify(alg, "some data\n", sig:sub(1, -2))))
        assert.is_false((key:verify(alg, "some data\n", "")))
      end
      assert.has_error(function() key:verify("md5", "x", "y") end)
    end)

    it("base64_decode is strict: alphabet, padding, length, no whitespace, unused bits zero", function()
      assert.are.equal("ab", core.base64_decode("YWI="))
      assert.are.equal("abc", core.base64_decode("YWJj"))
      assert.are.equal("a", core.base64_decode("YQ=="))
      assert.are.equal("", core.base64_decode(""))
      local bytes = {}
      for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
      local all = table.concat(bytes)
      assert.are.equal(all, core.base64_decode(core.base64(all)))
      for _, bad in ipairs { "YWI", "YWJ=", "YR==", "YW I=", "YWI=\n", "Y===", "=YWI", "YW=I", "YWI-", "YWI_",
        "YQ==YQ==", "YWJj====" } do
        assert.is_nil(core.base64_decode(bad), bad)
      end
    end)

    it("equal compares bytes, lengths included", function()
      assert.is_true(core.equal("abc", "abc"))
      assert.is_false(core.equal("abc", "abd"))
      assert.is_false(core.equal("abc", "ab"))
      assert.is_true(core.equal("", ""))
      assert.is_true(core.equal("a\0b", "a\0b"))
      assert.is_false(core.equal("a\0b", "a\0c"))
    end)

    it("decode keeps an escaped \\u0000 inside strings (the full length)", function()
      local v = core.decode('{"Message":"a\\u0000b\\u0000","k\\u0000":"\\u0000"}')
      assert.are.equal("a\0b\0", v.Message)
      assert.are.equal(4, #v.Message)
      assert.are.equal("\0", v["k\0"])
    end)
  end)

  describe("new", function()
    it("refuses bad option values with nil, err and raises on unknown options or types", function()
      local rx, err = inbound.new {}
      local _
      assert.is_nil(rx)
      assert.are.equal("topic_arns", err.field)
      _, err = inbound.new { topic_arns = { "arn:aws:sns:x" } }
      assert.are.equal("topic_arns[1]", err.field)
      _, err = inbound.new { topic_arns = { F.TOPIC }, min_signature_version = 3 }
      assert.are.equal("min_signature_version", err.field)
      _, err = inbound.new { topic_arns = { F.TOPIC }, confirm = "yes" }
      assert.are.equal("confirm", err.field)
      _, err = inbound.new { topic_arns = { F.TOPIC }, max_age = -1 }
      assert.are.equal("max_age", err.field)
      assert.has_error(function() inbound.new { topic_arns = { F.TOPIC }, nope = 1 } end)
      assert.has_error(function() inbound.new { topic_arns = { F.TOPIC }, max_age = "1" } end)
      assert.truthy(inbound.new { app_secret = "s" })
    end)
  end)

  describe("signature and envelope", function()
    it("accepts a SignatureVersion 2 notification and gives the text event (case 1)", function()
      local rx = F.receiver()
      local status, body, events, err = post(rx, F.notification())
      assert.are.equal(200, status)
      assert.are.equal("", body)
      assert.is_nil(err)
      assert.are.equal(1, #events)
      local e = events[1]
      assert.are.equal("message", e.kind)
      assert.are.equal("text", e.type)
      assert.are.equal("Prva", e.text)
      assert.are.equal("393462454282", e.from)
      assert.are.equal(F.WAMID, e.id)
      assert.are.equal(1758171394, e.timestamp)
      assert.are.equal("Francesco\240\159\146\187", e.contact.name)
      assert.are.equal(F.AWS_PHONE, e.aws_phone_number_id)
      assert.are.equal("729155140271006", e.phone_number_id)
      assert.are.equal("1393727385109399", e.waba_id)
      assert.are.equal("533267110337", e.aws.account_id)
      assert.are.equal(F.TOPIC, e.sns.topic_arn)
      assert.are.equal("Prva", e.message.text.body)
      assert.are.equal("whatsapp", e.value.messaging_product)
      assert.are.equal(F.TOPIC, events.sns.topic_arn)
    end)

    it("accepts SignatureVersion 1 (SHA-1), refused when min_signature_version is 2 (case 2)", function()
      local t = F.notification(nil, { version = "1" })
      assert.are.equal(200, (post(F.receiver(), t)))
      local status, _, events, err = post(F.receiver { min_signature_version = 2, fetch_cert = no_fetch() }, t)
      assert.are.equal(403, status)
      assert.are.equal("SnsSignatureVersion", err.code)
      assert.are.same({}, events)
    end)

    it("refuses other, numeric or missing SignatureVersions (case 3)", function()
      local rx = F.receiver { fetch_cert = no_fetch() }
      local t = F.notification()
      for _, v in ipairs { "3", "0", "2 ", "" } do
        t.SignatureVersion = v
        local status, _, _, err = post(rx, t)
        assert.are.same({ 403, "SnsSignatureVersion" }, { status, err.code }, v)
      end
      t.SignatureVersion = 3
      local status, _, _, err = post(rx, t)
      assert.are.same({ 403, "SnsSignatureVersion" }, { status, err.code })
      t.SignatureVersion = nil
      status, _, _, err = post(rx, t)
      assert.are.same({ 400, "SnsMalformed" }, { status, err.code })
    end)

    it("refuses a body changed after signing, one field at a time (cases 4, 6)", function()
      local rx = F.receiver()
      local changes = {
        Message = F.MESSAGE:gsub("Prva", "Prvb"), Timestamp = os.date("!%Y-%m-%dT%H:%M:%S.124Z"),
        MessageId = "0f2c6a3e-1111-5b2c-9d7e-EXAMPLE99999", TopicArn = F.TOPIC, Type = "Notification",
      }
      for field, value in pairs(changes) do
        local t = F.notification()
        if field == "TopicArn" then
          -- another allow-listed topic
          rx = F.receiver { topic_arns = { F.TOPIC, F.TOPIC .. "-2" } }
          value = F.TOPIC .. "-2"
        elseif field == "Type" then
          t.Type = "UnsubscribeConfirmation"
          t.SubscribeURL, t.Token = F.base .. "/?Action=ConfirmSubscription&TopicArn=" .. F.TOPIC, "x"
          value = t.Type
        end
        t[field] = value
        local status, _, events, err = post(rx, t)
        assert.are.same({ 403, "SnsSignature" }, { status, err.code }, field)
        assert.are.same({}, events)
      end
    end)

    it("signs Subject when present; adding or removing it after signing is refused (case 5)", function()
      local rx = F.receiver()
      assert.are.equal(200, (post(rx, F.notification { Subject = "My subject" })))
      local t = F.notification()
      t.Subject = "added"
      assert.are.equal("SnsSignature", select(4, post(rx, t)).code)
      t = F.notification { Subject = "removed" }
      t.Subject = nil
      assert.are.equal("SnsSignature", select(4, post(rx, t)).code)
    end)

    it("refuses a signature made with another key, for an allow-listed certificate URL (case 7)", function()
      local t = F.notification(nil, { key = F.dir .. "/other.key" })
      local status, _, _, err = post(F.receiver(), t)
      assert.are.same({ 403, "SnsSignature" }, { status, err.code })
    end)

    it("refuses a Signature that is not base64, truncated or empty (case 8)", function()
      local rx = F.receiver()
      local good = F.notification().Signature
      for _, sig in ipairs { "not base64!", good:sub(1, -5), good:sub(5), "", good .. "\n", "QUJD" } do
        local t = F.notification { Signature = sig }
        local status, _, _, err = post(rx, t)
        assert.are.same({ 403, "SnsSignature" }, { status, err.code }, sig)
      end
    end)

    it("verifies emoji as surrogate-pair escapes and as raw UTF-8 in Message (case 9)", function()
      local rx = F.receiver()
      local t = F.notification()
      assert.are.equal(200, (post(rx, t)))
      t = F.notification { Message = F.MESSAGE:gsub("Prva", "Prva \240\159\146\187") }
      local status, _, events = post(rx, t)
      assert.are.equal(200, status)
      assert.are.equal("Prva \240\159\146\187", events[1].text)
      -- the same signed value, sent as an escape in the SNS body
      t = F.notification { Message = F.MESSAGE:gsub("Prva", "Prva \240\159\146\187") }
      local body = F.body(t):gsub("\240\159\146\187", "\\ud83d\\udcbb")
      assert.are.equal(200, (post(rx, body)))
    end)

    it("verifies a Message holding \\u0000 with its full length (case 10)", function()
      local rx = F.receiver()
      local t = F.notification { Message = F.MESSAGE:gsub("Prva", "P\\\\u0000va") }
      local status, _, events = post(rx, t)
      assert.are.equal(200, status)
      assert.are.equal("P\0va", events[1].text)
      -- NUL in the signed value itself: the SNS body carries \u0000
      t = F.notification { Subject = "a\0b" }
      t.Subject = "a<NUL>b" -- (the encoder refuses NUL: put it in as the escape SNS sends)
      local body = F.body(t):gsub("<NUL>", "\\u0000")
      assert.truthy(body:find("a\\u0000b", 1, true))
      assert.are.equal(200, (post(rx, body)))
    end)

    it("ignores the unsigned fields: UnsubscribeURL, another allowed SigningCertURL, MessageAttributes (case 11)",
      function()
        local rx = F.receiver()
        local t = F.notification()
        t.UnsubscribeURL = "https://example.com/other"
        t.SigningCertURL = F.base .. "/SimpleNotificationService-copy.pem"
        t.MessageAttributes = { a = { Type = "String", Value = "b" } }
        assert.are.equal(200, (post(rx, t)))
      end)
  end)
end)

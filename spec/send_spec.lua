-- End to end against the stand-in (spec/support/standin.py), which checks every
-- signature with botocore and answers as the service does.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local whatsapp = require "whatsapp"

local TEXT = { to = "+14255550123", type = "text", text = { body = "Hello" } }
local TEXT_JSON = '{"messaging_product":"whatsapp","text":{"body":"Hello"},"to":"+14255550123","type":"text"}'

local function last_message()
  local msgs = H.messages()
  return msgs[#msgs], #msgs
end

describe("send through the stand-in", function()
  before_each(function() H.reset() end)

  it("returns the messageId over HTTP and sends exactly the expected body", function()
    local client = H.client()
    local id, err = client:send(TEXT)
    assert.is_nil(err)
    assert.is_string(id)
    local rec, n = last_message()
    assert.are.equal(1, n)
    assert.are.equal(id, rec.message_id)
    assert.are.equal("http", rec.scheme)
    assert.are.equal('{"message":"' .. core.base64(TEXT_JSON) .. '","metaApiVersion":"v20.0",'
      .. '"originationPhoneNumberId":"' .. H.PHONE .. '"}', rec.body)
    assert.are.equal(TEXT_JSON, rec.message_text)
    assert.are.equal("whatsapp", rec.message.messaging_product)
    assert.are.equal("Hello", rec.message.text.body)
    assert.are.same({ "content-type", "host", "x-amz-date" }, rec.signed_headers)
    assert.is_nil(rec.headers["x-amz-security-token"])
    assert.is_nil(rec.headers["x-amz-content-sha256"])
    assert.are.equal("application/json", rec.headers["content-type"])
  end)

  it("sends over HTTPS with the test CA", function()
    local client = H.client { endpoint = H.https, ca_file = H.ca }
    local id, err = client:send(TEXT)
    assert.is_nil(err)
    assert.is_string(id)
    assert.are.equal("https", last_message().scheme)
  end)

  it("speaks HTTP/2 when the endpoint offers it, and HTTP/1.1 otherwise", function()
    assert(H.h2, "the HTTP/2 front is not running")
    local client = H.client { endpoint = H.h2 }
    for _ = 1, 3 do
      local id, err = client:send(TEXT)
      assert.is_nil(err)
      assert.is_string(id)
    end
    assert.are.equal("2", client:stats().http_version)
    assert.are.equal(3, H.stats().accepted)
    local c11 = H.client { endpoint = H.https }
    assert.is_string((c11:send(TEXT)))
    assert.are.equal("1.1", c11:stats().http_version)
  end)

  it("refuses a server whose certificate another CA signed", function()
    local client = H.client { endpoint = H.https, ca_file = H.other_ca }
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("TLSError", err.code)
    assert.is_false(err.retryable)
    assert.are.equal(0, H.stats().requests)
  end)

  it("refuses the self-signed test server with the system CA store", function()
    local client = assert(whatsapp.new {
      region = "us-east-1", endpoint = H.https, phone_number_id = H.PHONE, credentials = H.creds.static,
    })
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("TLSError", err.code)
  end)

  it("signs the session token of temporary credentials", function()
    local id, err = H.client({ credentials = H.creds.temp }):send(TEXT)
    assert.is_nil(err)
    assert.is_string(id)
    local rec = last_message()
    assert.are.equal(H.creds.temp.session_token, rec.headers["x-amz-security-token"])
    assert.are.same({ "content-type", "host", "x-amz-date", "x-amz-security-token" }, rec.signed_headers)
  end)

  it("keeps one connection alive across sends", function()
    local client = H.client()
    for _ = 1, 5 do assert.is_string((client:send(TEXT))) end
    local stats = H.stats()
    assert.are.equal(5, stats.accepted)
    assert.are.equal(1, stats.connections.http)
    local c2 = H.client { endpoint = H.https }
    for _ = 1, 3 do assert.is_string((c2:send(TEXT))) end
    assert.are.equal(1, H.stats().connections.https)
  end)

  it("takes a JSON string and sends its bytes as they are", function()
    local json = '{"messaging_product":"whatsapp", "to":"+1555", "type":"text", "text":{"body":"hi"}}'
    assert.is_string((H.client():send(json)))
    assert.are.equal(json, last_message().message_text)
  end)

  it("adds messaging_product to a JSON string that lacks it, keeping every other byte", function()
    local json = '{ "to":"+1555","type":"text","text":{"body":"hi \\u00e9"},"n":12345678901234567890}'
    assert.is_string((H.client():send(json)))
    local rec = last_message()
    assert.are.equal('{"messaging_product":"whatsapp", "to":"+1555","type":"text",'
      .. '"text":{"body":"hi \\u00e9"},"n":12345678901234567890}', rec.message_text)
  end)

  it("refuses JSON text that only a lenient parser takes", function()
    local client = H.client()
    for _, bad in ipairs {
      '{"to":"+1","type":"text","text":{"body":"line\nbreak"}}', -- raw control character
      '{"to":"+1","n":01}', '{"to":"+1","n":1.}', '{"to":"+1","n":.5}', "{'to':'+1'}",
      '{"to":"+1",}', '{"s":"\\x"}', '{"s":"\\ud800"}', '{"a":tru}',
      string.rep('{"a":', 65) .. "1" .. string.rep("}", 65),
    } do
      local id, err = client:send(bad)
      assert.is_nil(id, bad)
      assert.are.equal("ParamValidationError", err.code)
      assert.are.equal("message", err.field)
      assert.matches("not valid JSON", err.message)
    end
    assert.are.equal(0, H.stats().requests)
  end)

  it("calls a credentials function for every send", function()
    local calls = 0
    local client = H.client { credentials = function()
      calls = calls + 1
      return H.creds.static
    end }
    for _ = 1, 3 do assert.is_string((client:send(TEXT))) end
    assert.are.equal(3, calls)
  end)

  it("keeps a messaging_product the caller set", function()
    local msg = { messaging_product = "whatsapp", to = "+1", type = "text", text = { body = "x" } }
    assert.is_string((H.client():send(msg)))
    assert.are.equal("whatsapp", last_message().message.messaging_product)
  end)

  it("does not change the caller's table", function()
    local msg = { to = "+1", type = "text", text = { body = "x" } }
    assert.is_string((H.client():send(msg)))
    assert.is_nil(msg.messaging_product)
  end)

  it("takes phone_number_id and meta_api_version per send", function()
    local other = "phone-number-id-ffffffffffffffffffffffffffffffff"
    assert.is_string((H.client():send(TEXT, { phone_number_id = other, meta_api_version = "v21.0" })))
    local rec = last_message()
    assert.are.equal(other, rec.originationPhoneNumberId)
    assert.are.equal("v21.0", rec.metaApiVersion)
  end)

  it("accepts an ARN as the origination phone number id", function()
    local arn = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef"
    assert.is_string((H.client { phone_number_id = arn }:send(TEXT)))
    assert.are.equal(arn, last_message().originationPhoneNumberId)
  end)

  describe("the size limit", function()
    -- The C core's own limit. No valid message type comes near 2 MB, so the
    -- Lua validation (text.body ≤ 4096 characters) is turned off to reach it.
    local UNCHECKED = { validate = false }
    -- a text message padded to exactly n bytes of JSON
    local function message_of(n)
      local base = core.encode({ to = "+1", type = "text", text = { body = "" } }, "whatsapp")
      return { to = "+1", type = "text", text = { body = string.rep("a", n - #base) } }
    end

    it("sends a 2,048,000-byte message", function()
      local msg = message_of(2048000)
      assert.are.equal(2048000, #core.encode(msg, "whatsapp"))
      local id, err = H.client():send(msg, UNCHECKED)
      assert.is_nil(err)
      assert.is_string(id)
      assert.are.equal(2048000, #last_message().message_text)
    end)

    it("refuses 2,048,001 bytes without making a request", function()
      local id, err = H.client():send(message_of(2048001), UNCHECKED)
      assert.is_nil(id)
      assert.are.equal("ParamValidationError", err.code)
      assert.are.equal("message", err.field)
      assert.matches("at most 2048000 bytes", err.message)
      assert.matches("2048001", err.message)
      assert.are.equal(0, H.stats().requests)
    end)
  end)

  describe("refuses bad messages before sending", function()
    local function refused(msg, field, pattern, opts)
      local id, err = H.client():send(msg, opts)
      assert.is_nil(id)
      assert.are.equal("ParamValidationError", err.code)
      assert.are.equal(field, err.field)
      assert.matches(pattern, err.message)
      assert.are.equal(0, err.attempts)
      assert.are.equal(0, H.stats().requests)
    end

    it("non-UTF-8 text", function()
      refused({ to = "+1", type = "text", text = { body = "caf\233" } }, "text.body", "not valid UTF%-8")
      -- the Lua validation refuses it first; the C encoder does too
      refused({ to = "+1", type = "text", text = { body = "caf\233" } }, "text.body", "not valid UTF%-8",
        { validate = false })
    end)

    it("a cyclic table", function()
      local msg = { to = "+1", type = "text", text = {} }
      msg.text.body = msg
      refused(msg, "text.body", "must be a string") -- the Lua validation sees it first
      refused(msg, "text.body", "cycle", { validate = false }) -- the C encoder refuses it too
    end)

    it("a JSON string that is not JSON, or not an object", function()
      refused("{nope", "message", "not valid JSON")
      refused("[1,2]", "message", "object")
      refused('{"a":1} x', "message", "trailing")
      refused('{"text":"\255"}', "message", "UTF%-8")
    end)

    it("bad phone number ids and API versions", function()
      local client = H.client()
      for _, bad in ipairs { "", "12345", "phone-number-id-\nx", string.rep("phone-number-id-", 8),
        "phone-number-id-\255", "phone-number-id-\237\160\128" } do -- not UTF-8: the body could not be JSON
        local id, err = client:send(TEXT, { phone_number_id = bad })
        assert.is_nil(id)
        assert.are.equal("phone_number_id", err.field)
      end
      for _, bad in ipairs { "20.0", "v20.", "v", "v20.0\r\n", "latest" } do
        local id, err = client:send(TEXT, { meta_api_version = bad })
        assert.is_nil(id)
        assert.are.equal("meta_api_version", err.field)
      end
      assert.are.equal(0, H.stats().requests)
    end)

    it("credentials with CR or LF", function()
      local creds = { access_key_id = "AKID\r\nX-Evil: 1", secret_access_key = "s" }
      local id, err = H.client({ credentials = creds }):send(TEXT)
      assert.is_nil(id)
      assert.are.equal("credentials.access_key_id", err.field)
      local t = { access_key_id = "A", secret_access_key = "s", session_token = "tok\nen" }
      id, err = H.client({ credentials = t }):send(TEXT)
      assert.is_nil(id)
      assert.are.equal("credentials.session_token", err.field)
    end)
  end)
end)

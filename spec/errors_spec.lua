-- Every documented error of SendWhatsAppMessage, the common authentication
-- errors and transport failures, mapped to the error object; no secret in any.
local H = require "spec.support.helper"
local errors = require "whatsapp.errors"

local TEXT = { to = "+14255550123", type = "text", text = { body = "Hello" } }

-- One attempt per send: these specs are about the error of one answer
-- (retries have spec/retry_spec.lua).
local function one(opts)
  opts = opts or {}
  if opts.max_attempts == nil then opts.max_attempts = 1 end
  return H.client(opts)
end

-- Every error any test here saw, for the secrets check at the end.
local seen = {}
local function send(client, msg)
  local id, err = client:send(msg or TEXT)
  if err then seen[#seen + 1] = err end
  return id, err
end

describe("restJson1 error parsing", function()
  it("sanitizes codes as Smithy says", function()
    for _, raw in ipairs {
      "FooError", "FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/",
      "aws.protocoltests.restjson#FooError", "aws.protocoltests.restjson#FooError:http://internal.amazon.com/",
    } do
      assert.are.equal("FooError", errors.sanitize_code(raw))
    end
  end)

  it("prefers the header, then body code, Code, __type, then the status", function()
    assert.are.equal("H", errors.from_response(400, { code = "B" }, nil, "H").code)
    assert.are.equal("B", errors.from_response(400, { code = "B", __type = "T" }).code)
    assert.are.equal("C", errors.from_response(400, { Code = "C" }).code)
    assert.are.equal("T", errors.from_response(400, { __type = "x#T" }).code)
    assert.are.equal("503", errors.from_response(503, "Service Unavailable").code)
  end)

  it("takes message or Message, else the raw text", function()
    assert.are.equal("m", errors.from_response(400, { message = "m" }).message)
    assert.are.equal("M", errors.from_response(400, { Message = "M" }).message)
    assert.are.equal("<html>busy</html>", errors.from_response(503, "<html>busy</html>").message)
  end)
end)

describe("service errors from the stand-in", function()
  before_each(function() H.reset() end)

  local documented = {
    { "ValidationException", 400, false },
    { "AccessDeniedException", 403, false },
    { "InvalidParametersException", 400, false },
    { "ResourceNotFoundException", 404, false },
    { "ThrottledRequestException", 429, true },
    { "InternalServiceException", 500, true },
    { "DependencyException", 502, true },
  }
  for _, case in ipairs(documented) do
    local code, status, retryable = case[1], case[2], case[3]
    for _, form in ipairs { "header", "header-bare", "body-type", "body-code" } do
      it(code .. " (" .. form .. ")", function()
        H.inject { status = status, code = code, message = "said " .. code, form = form }
        local id, err = send(one())
        assert.is_nil(id)
        assert.are.equal(code, err.code)
        assert.are.equal(status, err.status)
        assert.are.equal("said " .. code, err.message)
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", err.request_id)
        assert.are.equal(retryable, err.retryable)
        assert.are.equal(1, err.attempts)
        assert.matches(code .. " %(HTTP " .. status .. "%): said " .. code, tostring(err))
      end)
    end
  end

  it("UnrecognizedClientException for a key the service does not know", function()
    local id, err = send(one { credentials = { access_key_id = "AKIDUNKNOWN", secret_access_key = "x" } })
    assert.is_nil(id)
    assert.are.equal("UnrecognizedClientException", err.code)
    assert.are.equal(403, err.status)
  end)

  it("InvalidSignatureException for a wrong secret", function()
    local creds = { access_key_id = H.creds.static.access_key_id, secret_access_key = "wrong/secret+KEY" }
    local id, err = send(one { credentials = creds })
    assert.is_nil(id)
    assert.are.equal("InvalidSignatureException", err.code)
    assert.are.equal(403, err.status)
    assert.matches("signature we calculated does not match", err.message)
  end)

  it("InvalidSignatureException for the wrong region in the scope", function()
    local id, err = send(one { region = "eu-west-1", endpoint = H.http })
    assert.is_nil(id)
    assert.are.equal("InvalidSignatureException", err.code)
  end)

  it("ExpiredTokenException for an expired session token", function()
    local id, err = send(one { credentials = H.creds.expired })
    assert.is_nil(id)
    assert.are.equal("ExpiredTokenException", err.code)
    assert.are.equal(403, err.status)
  end)

  it("AccessDeniedException for a key without permission", function()
    local id, err = send(one { credentials = H.creds.denied })
    assert.is_nil(id)
    assert.are.equal("AccessDeniedException", err.code)
    assert.matches("not authorized", err.message)
  end)

  it("UnrecognizedClientException for temporary credentials without their token", function()
    local t = { access_key_id = H.creds.temp.access_key_id, secret_access_key = H.creds.temp.secret_access_key }
    local id, err = send(one { credentials = t })
    assert.is_nil(id)
    assert.are.equal("UnrecognizedClientException", err.code)
  end)

  it("ResponseError for a 200 without a messageId", function()
    H.inject { action = "garbage" }
    local id, err = send(one())
    assert.is_nil(id)
    assert.are.equal("ResponseError", err.code)
    H.inject { action = "empty200" }
    id, err = send(one())
    assert.is_nil(id)
    assert.are.equal("ResponseError", err.code)
  end)
end)

describe("transport failures", function()
  before_each(function() H.reset() end)

  it("ConnectionError when nothing listens", function()
    local client = one { endpoint = "http://127.0.0.1:1" }
    local id, err = send(client)
    assert.is_nil(id)
    assert.are.equal("ConnectionError", err.code)
    assert.is_true(err.retryable)
    assert.is_nil(err.status)
  end)

  it("ConnectionError when the server closes without answering", function()
    H.inject { action = "close" }
    local id, err = send(one())
    assert.is_nil(id)
    assert.are.equal("ConnectionError", err.code)
  end)

  it("TimeoutError naming the limit when the answer is too slow", function()
    H.inject { delay_ms = 1500 }
    local id, err = send(one { timeout = 0.3 })
    assert.is_nil(id)
    assert.are.equal("TimeoutError", err.code)
    assert.matches("no answer within timeout %(0%.3s%) after the request was sent", err.message)
    assert.matches("may have been delivered", err.message)
    assert.is_true(err.retryable)
  end)

  it("TimeoutError on a kept-alive connection still says the request was sent", function()
    local client = one { timeout = 0.3 }
    assert.is_string((send(client)))
    H.inject { delay_ms = 1000 }
    local id, err = send(client)
    assert.is_nil(id)
    assert.matches("after the request was sent", err.message)
  end)

  it("recovers on the same client after a failure", function()
    local client = one { timeout = 0.3 }
    H.inject { delay_ms = 1000 }
    assert.is_nil((send(client)))
    assert.is_string((send(client)))
  end)
end)

describe("secrets", function()
  local all_secrets = {}
  for _, c in pairs(H.creds) do
    all_secrets[#all_secrets + 1] = c.secret_access_key
    if c.session_token then all_secrets[#all_secrets + 1] = c.session_token end
  end
  all_secrets[#all_secrets + 1] = "wrong/secret+KEY"

  local function assert_clean(text, what)
    for _, s in ipairs(all_secrets) do
      assert.is_nil(text:find(s, 1, true), what .. " shows a secret")
    end
  end

  local function assert_error_clean(err)
    assert_clean(tostring(err), "tostring(err)")
    for k, v in pairs(err) do assert_clean(tostring(k) .. "=" .. tostring(v), "err." .. tostring(k)) end
  end

  before_each(function() H.reset() end)

  it("appear in no error of a failing send", function()
    local temp = H.creds.temp
    local failures = {
      function() return send(one { credentials = { access_key_id = temp.access_key_id,
        secret_access_key = "wrong/secret+KEY", session_token = temp.session_token } }) end,
      function() return send(one { credentials = H.creds.expired }) end,
      function() return send(one { credentials = H.creds.denied }) end,
      function() return send(one { credentials = temp, endpoint = H.https, ca_file = H.other_ca }) end,
      function() return send(one { credentials = temp, endpoint = "http://127.0.0.1:1" }) end,
      function()
        return send(one { credentials = temp }, { to = "+1", type = "text", text = { body = "\255" } })
      end,
      function()
        H.inject { status = 403, code = "InvalidSignatureException", message = "mismatch" }
        return send(one { credentials = temp })
      end,
    }
    for i, fail in ipairs(failures) do
      local id, err = fail()
      assert.is_nil(id, "failure " .. i .. " did not fail")
      assert_error_clean(err)
    end
  end)

  it("are cut out of a service message that quotes them", function()
    -- some AWS front ends quote the canonical request they expected, token included
    local token = H.creds.temp.session_token
    H.inject { status = 403, code = "InvalidSignatureException", message =
      "The request signature we calculated does not match the signature you provided. "
      .. "The Canonical String for this request should have been\n'POST\n/v1/whatsapp/send\n\n"
      .. "x-amz-security-token:" .. token .. "\n'" }
    local id, err = send(one { credentials = H.creds.temp })
    assert.is_nil(id)
    assert.matches("does not match", err.message)
    assert_error_clean(err)
    H.inject { status = 400, code = "ValidationException", message = "bad token " .. token .. " here" }
    id, err = send(one { credentials = H.creds.temp })
    assert.is_nil(id)
    assert.are.equal("bad token <redacted> here", err.message)
  end)

  it("appear in no error any earlier test here saw", function()
    for _, err in ipairs(seen) do assert_error_clean(err) end
  end)

  it("appear in neither tostring(client) nor its fields", function()
    for _, creds in pairs(H.creds) do
      local client = one { credentials = creds }
      send(client) -- resolves and uses the credentials
      assert_clean(tostring(client), "tostring(client)")
      for k, v in pairs(client) do assert_clean(tostring(k) .. "=" .. tostring(v), "client." .. tostring(k)) end
    end
  end)

  it("appear in no validation error about a credential", function()
    local _, err = one({ credentials = { access_key_id = "A", secret_access_key = "sec\nret" } }):send(TEXT)
    assert.are.equal("credentials.secret_access_key", err.field)
    assert.is_nil(tostring(err):find("sec\nret", 1, true))
  end)
end)

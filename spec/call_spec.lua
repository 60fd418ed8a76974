-- The operations other than SendWhatsAppMessage share the send's machinery:
-- every documented error of each (from the model) comes back as the error
-- object; signing with temporary credentials, over HTTPS and HTTP/2; retries,
-- clock skew and deadlines; transport failures; no secret in any error. The
-- stand-in's own checks of the new operations (nested, map and integer
-- members) are driven with requests signed here, past the client's checks.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local model = require "whatsapp.service.model"
local operations = require "whatsapp.service.operations"

local DIR = (os.getenv("WA_SHARED") or "spec/fixtures") .. "/aws/socialmessaging-model/"
local PRESIGNED_URL = "https://b.s3.amazonaws.com/k.png?X-Amz-Security-Token=presigned-SECRET-token"

-- A valid input of each operation (the injected errors fire before the
-- stand-in looks at it).
local INPUT = {
  PostWhatsAppMessageMedia = { originationPhoneNumberId = H.PHONE,
    sourceS3File = { bucketName = "my-bucket", key = "a.png" } },
  GetWhatsAppMessageMedia = { originationPhoneNumberId = H.PHONE, mediaId = "123", metadataOnly = true },
  DeleteWhatsAppMessageMedia = { originationPhoneNumberId = H.PHONE, mediaId = "123" },
  ListLinkedWhatsAppBusinessAccounts = { maxResults = 10 },
  GetLinkedWhatsAppBusinessAccount = { id = "waba-11111111111111111111111111111111" },
  GetLinkedWhatsAppBusinessAccountPhoneNumber = { id = H.PHONE },
}

local function sorted_names(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local seen = {} -- every error, for the secrets check at the end

local function call(client, name, input)
  local out, err = client:call(name, input or INPUT[name])
  if err then seen[#seen + 1] = err end
  return out, err
end

local function one(opts)
  opts = opts or {}
  opts.max_attempts = opts.max_attempts or 1
  return H.client(opts)
end

describe("every documented error of each operation", function()
  local f = assert(io.open(DIR .. "service-2.json", "rb"))
  local shapes = core.decode(f:read("*a")).shapes
  f:close()
  local RETRYABLE = { ThrottledRequestException = true, InternalServiceException = true, DependencyException = true }

  before_each(function() H.reset() end)

  for _, name in ipairs(sorted_names(operations.operations)) do
    for _, code in ipairs(operations.operations[name].errors) do
      it(name .. ": " .. code, function()
        H.inject { code = code, message = "Injected " .. code .. " for " .. name }
        local out, err = call(one(), name)
        assert.is_nil(out)
        assert.are.equal(code, err.code)
        assert.are.equal(shapes[code].error.httpStatusCode, err.status)
        assert.are.equal("Injected " .. code .. " for " .. name, err.message)
        assert.are.equal(RETRYABLE[code] or false, err.retryable)
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", err.request_id)
        assert.are.equal(1, err.attempts)
      end)
    end
  end

  it("answers each operation when nothing is injected", function()
    local client = H.client()
    local media_id = assert(client:upload_media { s3 = { bucket_name = "my-bucket", key = "a.png" } })
    for _, name in ipairs { "PostWhatsAppMessageMedia", "GetWhatsAppMessageMedia", "DeleteWhatsAppMessageMedia",
      "ListLinkedWhatsAppBusinessAccounts", "GetLinkedWhatsAppBusinessAccount",
      "GetLinkedWhatsAppBusinessAccountPhoneNumber" } do
      local input = INPUT[name]
      if input.mediaId then input.mediaId = media_id end
      local out, err = call(client, name, input)
      assert.is_nil(err, name)
      assert.is_table(out, name)
    end
  end)

  it("reads the code from every restJson1 error form", function()
    for _, form in ipairs { "header", "header-bare", "body-type", "body-code" } do
      H.inject { code = "ResourceNotFoundException", form = form }
      local _, err = call(one(), "GetLinkedWhatsAppBusinessAccount")
      assert.are.equal("ResourceNotFoundException", err.code, form)
      assert.are.equal(404, err.status, form)
    end
  end)
end)

describe("calls share the send's machinery", function()
  before_each(function() H.reset() end)

  it("signs the session token of temporary credentials", function()
    local out, err = call(H.client { credentials = H.creds.temp }, "GetLinkedWhatsAppBusinessAccountPhoneNumber")
    assert.is_nil(err)
    assert.is_table(out.phoneNumber)
    local rec = H.messages()[1]
    assert.are.same({ "host", "x-amz-date", "x-amz-security-token" }, rec.signed_headers)
    assert.are.equal(H.creds.temp.access_key_id, rec.access_key_id)
  end)

  it("goes over HTTPS and HTTP/2 on the client's connection", function()
    local client = H.client { endpoint = H.https }
    assert.is_table((call(client, "ListLinkedWhatsAppBusinessAccounts")))
    assert.is_string((client:send { to = "+14255550123", type = "text", text = { body = "after a call" } }))
    assert.are.equal(2, client:stats().requests)
    local recs = H.messages()
    assert.are.equal("https", recs[1].scheme)
    assert.are.equal(recs[1].connection, recs[2].connection) -- one kept-alive connection
    assert(H.h2, "the HTTP/2 front is not running")
    local h2 = H.client { endpoint = H.h2 }
    assert.is_table((call(h2, "GetLinkedWhatsAppBusinessAccount")))
    assert.is_table((call(h2, "DeleteWhatsAppMessageMedia", { originationPhoneNumberId = H.PHONE,
      mediaId = assert(h2:upload_media { s3 = { bucket_name = "bkt", key = "k.png" } }) })))
    assert.are.equal("2", h2:stats().http_version)
  end)

  it("retries throttling and 5xx, and gives up after max_attempts", function()
    local retries = {}
    local client = H.client { backoff = { base = 0.01, throttling_base = 0.01 },
      on_retry = function(err, attempt) retries[#retries + 1] = err.code .. "@" .. attempt end }
    H.inject { { code = "ThrottledRequestException" }, { code = "DependencyException" } }
    local out, err = call(client, "GetLinkedWhatsAppBusinessAccountPhoneNumber")
    assert.is_nil(err)
    assert.is_table(out)
    assert.are.same({ "ThrottledRequestException@1", "DependencyException@2" }, retries)
    H.inject { code = "InternalServiceException", count = 3 }
    out, err = call(client, "GetLinkedWhatsAppBusinessAccountPhoneNumber")
    assert.is_nil(out)
    assert.are.equal("InternalServiceException", err.code)
    assert.are.equal(3, err.attempts)
  end)

  it("does not retry client errors", function()
    H.inject { code = "AccessDeniedByMetaException" }
    local _, err = call(H.client(), "PostWhatsAppMessageMedia")
    assert.are.equal("AccessDeniedByMetaException", err.code)
    assert.are.equal(1, err.attempts)
  end)

  it("corrects the clock from the service's Date and retries once", function()
    H.control("POST", "/_standin/clock", { skew_seconds = 3600 })
    local client = H.client()
    local out, err = call(client, "ListLinkedWhatsAppBusinessAccounts")
    assert.is_nil(err)
    assert.is_table(out)
    assert.is_true(math.abs(client:stats().clock_offset - 3600) < 5)
    assert.are.equal(2, H.stats().requests)
  end)

  it("keeps to a deadline and says what may have happened", function()
    H.inject { delay_ms = 1500 }
    local client = H.client { deadline = 0.3 }
    local _, err = call(client, "DeleteWhatsAppMessageMedia")
    assert.are.equal("TimeoutError", err.code)
    assert.matches("the call's deadline %(0%.3s%) was reached after the request was sent", err.message)
    assert.matches("may have been carried out", err.message)
    -- (both answer 404 in the end: nothing the stand-in records late, into another test)
    H.inject { delay_ms = 1500 }
    _, err = client:call("GetLinkedWhatsAppBusinessAccount", { id = "waba-0" }, { deadline = 0.2 })
    assert.matches("deadline %(0%.2s%)", err.message)
    assert.has_error(function() client:call("ListLinkedWhatsAppBusinessAccounts", {}, { deadline = "1" }) end)
    assert.has_error(function() client:call("ListLinkedWhatsAppBusinessAccounts", {}, { timeout = 1 }) end)
    _, err = client:call("ListLinkedWhatsAppBusinessAccounts", {}, { deadline = -1 })
    assert.are.equal("deadline", err.field)
  end)

  it("reports transport failures like a send", function()
    local _, err = call(one { endpoint = "http://127.0.0.1:1" }, "GetLinkedWhatsAppBusinessAccount")
    assert.are.equal("ConnectionError", err.code)
    assert.is_true(err.retryable)
    H.inject { action = "close" }
    _, err = call(one(), "GetLinkedWhatsAppBusinessAccount")
    assert.are.equal("ConnectionError", err.code)
    H.inject { action = "garbage" }
    _, err = call(one(), "GetLinkedWhatsAppBusinessAccount")
    assert.are.equal("ResponseError", err.code)
    assert.are.equal(200, err.status)
    H.inject { action = "empty200" }
    local id
    id, err = one():upload_media { s3 = { bucket_name = "my-bucket", key = "a.png" } }
    assert.is_nil(id)
    assert.are.equal("ResponseError", err.code)
    assert.matches("mediaId", err.message)
  end)

  it("reports authentication failures like a send", function()
    local _, err = call(one { credentials = H.creds.expired }, "ListLinkedWhatsAppBusinessAccounts")
    assert.are.equal("ExpiredTokenException", err.code)
    _, err = call(one { credentials = H.creds.denied }, "ListLinkedWhatsAppBusinessAccounts")
    assert.are.equal("AccessDeniedException", err.code)
    _, err = call(one { region = "eu-west-1" }, "ListLinkedWhatsAppBusinessAccounts")
    assert.are.equal("InvalidSignatureException", err.code)
    _, err = call(one { credentials = { access_key_id = H.creds.static.access_key_id,
      secret_access_key = "wrong/secret+KEY" } }, "DeleteWhatsAppMessageMedia")
    assert.are.equal("InvalidSignatureException", err.code)
  end)

  it("raises on a name that is not an operation, or input that is not a table", function()
    local client = H.client()
    assert.has_error(function() client:call("SendWhatsAppMessage", {}) end)
    assert.has_error(function() client:call(5, {}) end)
    assert.has_error(function() client:call("ListLinkedWhatsAppBusinessAccounts") end)
  end)

  it("cut credentials and presigned URLs out of a service message that quotes them", function()
    local token = H.creds.temp.session_token
    H.inject { code = "ValidationException", message = "bad " .. PRESIGNED_URL .. " with token " .. token }
    local _, err = call(one { credentials = H.creds.temp }, "PostWhatsAppMessageMedia", {
      originationPhoneNumberId = H.PHONE, sourceS3PresignedUrl = { url = PRESIGNED_URL, headers = {} } })
    assert.are.equal("bad <redacted> with token <redacted>", err.message)
  end)

  it("show no secret in any error seen here", function()
    local secrets = { "presigned-SECRET-token", "wrong/secret+KEY" }
    for _, c in pairs(H.creds) do
      secrets[#secrets + 1] = c.secret_access_key
      secrets[#secrets + 1] = c.session_token
    end
    assert.is_true(#seen > 50)
    for _, err in ipairs(seen) do
      local text = tostring(err)
      for k, v in pairs(err) do text = text .. " " .. tostring(k) .. "=" .. tostring(v) end
      for _, s in ipairs(secrets) do assert.is_nil(text:find(s, 1, true), s) end
    end
  end)
end)

describe("the stand-in's checks of the new operations", function()
  -- A request signed like the client signs it, with no client-side check.
  local raw_client
  local function raw(method, path, query, body)
    raw_client = raw_client or core.new_client { connect_timeout_ms = 2000, timeout_ms = 10000 }
    local host = H.http:match("^http://(.*)$")
    local amz_date = os.date("!%Y%m%dT%H%M%SZ")
    local list = { { "host", host }, { "x-amz-date", amz_date } }
    local headers = { ["X-Amz-Date"] = amz_date }
    if body then
      list[#list + 1] = { "content-type", "application/json" }
      headers["Content-Type"] = "application/json"
    end
    local signed = assert(core.sign { method = method, path = path, query = query or "", headers = list,
      body = body or "", region = "us-east-1", service = "social-messaging", amz_date = amz_date,
      access_key_id = H.creds.static.access_key_id, secret_access_key = H.creds.static.secret_access_key })
    headers.Authorization = signed.authorization
    local status, text, answer = raw_client:request(method, H.http .. path .. (query and "?" .. query or ""),
      headers, body)
    return status, core.decode(text), answer["x-amzn-errortype"]
  end

  before_each(function() H.reset() end)

  it("lists every violation of nested members, without quoting sensitive ones", function()
    local status, body, code = raw("POST", "/v1/whatsapp/media", nil,
      '{"originationPhoneNumberId":"' .. H.PHONE .. '","sourceS3File":{"bucketName":"A"}}')
    assert.are.equal(400, status)
    assert.matches("^ValidationException:", code)
    assert.are.equal("3 validation errors detected: Value at 'sourceS3File.bucketName' failed to satisfy "
      .. "constraint: Member must have length greater than or equal to 3; Value at 'sourceS3File.bucketName' "
      .. "failed to satisfy constraint: Member must satisfy regular expression pattern: "
      .. "[a-z0-9][a-z0-9.-]*[a-z0-9]; Value null at 'sourceS3File.key' failed to satisfy constraint: "
      .. "Member must not be null", body.message)
  end)

  it("refuses wrong JSON types and malformed query integers", function()
    local status, body, code = raw("POST", "/v1/whatsapp/media/get", nil,
      '{"mediaId":"1","originationPhoneNumberId":"' .. H.PHONE .. '","metadataOnly":"yes"}')
    assert.are.equal(400, status)
    assert.matches("^SerializationException", code)
    assert.matches("Expected a JSON boolean for 'metadataOnly'", body.message)
    status, body, code = raw("POST", "/v1/whatsapp/media", nil,
      '{"originationPhoneNumberId":"' .. H.PHONE .. '","sourceS3PresignedUrl":{"url":"https://b.s3.amazonaws.com/k",'
      .. '"headers":{"a":1}}}')
    assert.are.equal(400, status)
    assert.matches("^SerializationException", code)
    assert.matches("Expected a JSON string for 'sourceS3PresignedUrl.headers.a'", body.message)
    status, body, code = raw("GET", "/v1/whatsapp/waba/list", "maxResults=ten")
    assert.are.equal(400, status)
    assert.matches("^SerializationException", code)
    assert.matches("Could not parse 'ten' as an integer for 'maxResults'", body.message)
    status, body = raw("GET", "/v1/whatsapp/waba/list", "maxResults=0")
    assert.are.equal(400, status)
    assert.matches("Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater "
      .. "than or equal to 1", body.message, 1, true)
    status, body, code = raw("GET", "/v1/whatsapp/waba/list", "nextToken=forged")
    assert.are.equal(400, status)
    assert.matches("^InvalidParametersException", code)
    assert.are.equal("The nextToken is not valid", body.message)
    status, body = raw("DELETE", "/v1/whatsapp/media", "mediaId=1")
    assert.are.equal(400, status)
    assert.matches("Value null at 'originationPhoneNumberId'", body.message, 1, true)
    status, body, code = raw("GET", "/v1/whatsapp/media")
    assert.are.equal(405, status)
    assert.matches("^UnknownOperationException", code)
    assert.matches("expected DELETE/POST", body.message, 1, true)
  end)

  it("wants exactly one source and one destination", function()
    local status, body, code = raw("POST", "/v1/whatsapp/media", nil,
      '{"originationPhoneNumberId":"' .. H.PHONE .. '"}')
    assert.are.equal(400, status)
    assert.matches("^InvalidParametersException", code)
    assert.matches("Exactly one of sourceS3File and sourceS3PresignedUrl", body.message)
    local id = assert(H.client():upload_media { s3 = { bucket_name = "bkt", key = "a.png" } })
    status, body, code = raw("POST", "/v1/whatsapp/media/get", nil,
      '{"mediaId":"' .. id .. '","originationPhoneNumberId":"' .. H.PHONE .. '"}')
    assert.are.equal(400, status)
    assert.matches("^InvalidParametersException", code)
    assert.matches("Exactly one of destinationS3File and destinationS3PresignedUrl", body.message)
    -- media belongs to the number that uploaded it
    local _, err = H.client():get_media({ media_id = id, metadata_only = true },
      { phone_number_id = "phone-number-id-22222222222222222222222222222222" })
    assert.are.equal("ResourceNotFoundException", err.code)
  end)

  it("agrees with model.request on what the client sends", function()
    for _, name in ipairs(sorted_names(operations.operations)) do
      assert.is_table(model.request(name, INPUT[name]), name)
    end
  end)
end)

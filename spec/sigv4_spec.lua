-- The C signer against every official SigV4 vector (spec/fixtures/aws/sigv4-testsuite),
-- byte for byte: canonical request, string to sign, signature, Authorization.
local core = require "whatsapp.core"

local SUITE = (os.getenv("WA_SHARED") or "spec/fixtures") .. "/aws/sigv4-testsuite"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function list(dir)
  local names = {}
  local p = assert(io.popen('ls -1 "' .. dir .. '" 2>/dev/null'))
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

-- Parses a raw request as the suites' runners do: the request line, "Name:value"
-- headers (value untrimmed, a line starting with whitespace continues the
-- previous value), a blank line, then the body.
local function parse_request(text)
  local lines, body = {}, ""
  local head, rest = text:match("^(.-)\r?\n\r?\n(.*)$")
  if head then body = rest else head = text end
  for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  local path, query = target:match("^([^?]*)%?(.*)$")
  if not path then path = target end
  local headers = {}
  for i = 2, #lines do
    local line = lines[i]
    if line == "" then -- luacheck: ignore 542
      -- the end of the headers
    elseif line:find("^%s") and #headers > 0 then
      local h = headers[#headers]
      h[2] = h[2] .. "\n" .. line
    else
      local name, value = line:match("^([^:]+):(.*)$")
      headers[#headers + 1] = { name, value }
    end
  end
  return { method = method, path = path, query = query, headers = headers, body = body }
end

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

describe("SigV4 official vectors", function()
  it("finds the suites", function()
    assert.is_true(#list(SUITE .. "/aws-c-auth/v4") >= 38, "no aws-c-auth vectors under " .. SUITE)
    assert.is_true(#list(SUITE .. "/botocore-aws4_testsuite") >= 20)
  end)

  describe("aws-c-auth v4 (header signing)", function()
    for _, case in ipairs(list(SUITE .. "/aws-c-auth/v4")) do
      local dir = SUITE .. "/aws-c-auth/v4/" .. case
      it(case, function()
        local ctx = core.decode(assert(read(dir .. "/context.json")))
        local req = parse_request(assert(read(dir .. "/request.txt")))
        local headers = req.headers
        headers[#headers + 1] = { "X-Amz-Date", "20150830T123600Z" }
        local token = ctx.credentials.token
        if token and not ctx.omit_session_token then
          headers[#headers + 1] = { "X-Amz-Security-Token", token }
        end
        local payload_hash = core.sha256_hex(ctx.sign_body and req.body or "")
        if ctx.sign_body then headers[#headers + 1] = { "x-amz-content-sha256", payload_hash } end
        local out = core.sign {
          method = req.method, path = req.path, query = req.query, headers = headers,
          payload_hash = payload_hash,
          access_key_id = ctx.credentials.access_key_id,
          secret_access_key = ctx.credentials.secret_access_key,
          region = ctx.region, service = ctx.service, amz_date = "20150830T123600Z",
          normalize = ctx.normalize, double_encode = true,
        }
        assert.are.equal(read(dir .. "/header-canonical-request.txt"), out.canonical_request)
        assert.are.equal(read(dir .. "/header-string-to-sign.txt"), out.string_to_sign)
        assert.are.equal(read(dir .. "/header-signature.txt"), out.signature)
        local authz = read(dir .. "/header-signed-request.txt"):match("\nAuthorization:([^\n]*)")
        assert.are.equal(authz, out.authorization)
      end)
    end
  end)

  describe("botocore aws4_testsuite", function()
    local cases = {}
    for _, name in ipairs(list(SUITE .. "/botocore-aws4_testsuite")) do
      local dir = SUITE .. "/botocore-aws4_testsuite/" .. name
      if read(dir .. "/" .. name .. ".req") then
        cases[#cases + 1] = { name, dir .. "/" .. name }
      else
        for _, sub in ipairs(list(dir)) do
          if read(dir .. "/" .. sub .. "/" .. sub .. ".req") then
            cases[#cases + 1] = { name .. "/" .. sub, dir .. "/" .. sub .. "/" .. sub }
          end
        end
      end
    end
    it("has the classic cases", function() assert.is_true(#cases >= 30) end)
    for _, case in ipairs(cases) do
      local name, base = case[1], case[2]
      it(name, function()
        local req = parse_request(assert(read(base .. ".req")))
        -- as botocore's runner does: a token in the .creq is a header to sign
        local token = read(base .. ".creq"):match("\nx%-amz%-security%-token:([^\n]*)")
        if token and not read(base .. ".req"):lower():find("\nx%-amz%-security%-token:") then
          req.headers[#req.headers + 1] = { "X-Amz-Security-Token", token }
        end
        local out = core.sign {
          method = req.method, path = req.path, query = req.query, headers = req.headers,
          body = req.body,
          access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET,
          region = "us-east-1", service = "service", amz_date = "20150830T123600Z",
          normalize = true, double_encode = true,
        }
        assert.are.equal(read(base .. ".creq"), out.canonical_request)
        assert.are.equal(read(base .. ".sts"), out.string_to_sign)
        assert.are.equal(read(base .. ".authz"), out.authorization)
      end)
    end
  end)
end)

describe("signing key cache", function()
  local function sign(date, secret, region, service)
    return core.sign {
      method = "POST", path = "/", headers = { { "Host", "example.com" }, { "X-Amz-Date", date } },
      access_key_id = "AKID", secret_access_key = secret, region = region, service = service,
      amz_date = date,
    }
  end

  it("derives the key once per (secret, date, region, service)", function()
    local a = sign("20250101T000000Z", "s1", "us-east-1", "social-messaging")
    local b = sign("20250101T235959Z", "s1", "us-east-1", "social-messaging")
    assert.is_false(b.derived_key)
    assert.are_not.equal(a.signature, b.signature)
    assert.is_true(sign("20250102T000000Z", "s1", "us-east-1", "social-messaging").derived_key)
    assert.is_true(sign("20250102T000000Z", "s2", "us-east-1", "social-messaging").derived_key)
    assert.is_true(sign("20250102T000000Z", "s2", "eu-west-1", "social-messaging").derived_key)
    assert.is_true(sign("20250102T000000Z", "s2", "eu-west-1", "sts").derived_key)
    assert.is_false(sign("20250102T000001Z", "s2", "eu-west-1", "sts").derived_key)
  end)

  it("gives the same signature from the cache as from a fresh derivation", function()
    local a = sign("20250103T000000Z", "s3", "us-east-1", "svc")
    local b = sign("20250103T000000Z", "s3", "us-east-1", "svc")
    assert.is_true(a.derived_key)
    assert.is_false(b.derived_key)
    assert.are.equal(a.signature, b.signature)
  end)

  it("refuses a malformed timestamp", function()
    local out, kind = core.sign {
      method = "GET", path = "/", headers = { { "Host", "h" } }, access_key_id = "A",
      secret_access_key = "s", region = "r", service = "s", amz_date = "2025-01-01",
    }
    assert.is_nil(out)
    assert.are.equal("invalid", kind)
  end)
end)

-- A client signs its sends with a head of the canonical request built once
-- (sigv4_sign_fixed): every signature must equal the general signer's.
describe("the send path's signer", function()
  local cases = {
    { path = "/v1/whatsapp/send", host = "social-messaging.us-east-1.amazonaws.com", region = "us-east-1" },
    { path = "/v1/whatsapp/send", host = "127.0.0.1:8443", region = "eu-west-2", token = "tok/EN+==" },
    { path = "/a/./b/../v1//whatsapp/send/", host = " spaced.example ", region = "ap-south-1" },
    { path = "/v1/wh%41tsapp/s%20end", host = "[::1]:9", region = "us-gov-west-1", token = "  two  spaces\tand tab " },
    { path = "/", host = "h", region = "cn-north-1", token = "" },
  }
  for k, case in ipairs(cases) do
    it("equals the general signer (" .. k .. ")", function()
      local c = core.new_client { url = "http://127.0.0.1:9" .. case.path, path = case.path, host = case.host,
        region = case.region, service = "social-messaging", connect_timeout_ms = 100, timeout_ms = 100,
        max_message_bytes = 2048000 }
      local akid, secret = "AKIDEXAMPLE" .. k, "secret/" .. k .. "+key"
      for _, offset in ipairs { 0, 86400 * 3 } do
        local request = assert(c:prepare({ to = "+1", type = "text", text = { body = "k" .. k } },
          "phone-number-id-1", "v20.0", { access_key_id = akid, secret_access_key = secret,
          session_token = case.token }, offset))
        local head, body = request:match("^(.-)\r\n\r\n(.*)$")
        local headers = {}
        for name, value in head:gmatch("\r\n([^:\r\n]+): ([^\r\n]*)") do headers[name:lower()] = value end
        local date = headers["x-amz-date"]
        local signed = { { "content-type", "application/json" }, { "host", case.host }, { "x-amz-date", date } }
        if case.token then signed[#signed + 1] = { "x-amz-security-token", case.token } end
        local want = assert(core.sign { method = "POST", path = case.path, headers = signed, body = body,
          access_key_id = akid, secret_access_key = secret, region = case.region, service = "social-messaging",
          amz_date = date })
        assert.are.equal(want.authorization, headers.authorization)
      end
      c:close()
    end)
  end
end)

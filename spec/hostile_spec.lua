-- Hostile input through the public API: cycles, 10,000-deep tables, megabyte
-- strings, invalid UTF-8, NUL bytes, CR/LF in everything that reaches a header
-- or the request line, broken or endless answers. Each gives nil and an error
-- object that says what was wrong (a wrong argument type raises), nothing
-- crashes, and what is refused before sending sends nothing. What
-- json_spec, send_spec, errors_spec and client_spec check already is not
-- repeated here.
local H = require "spec.support.helper"
local config = require "whatsapp.config"
local core = require "whatsapp.core"
local whatsapp = require "whatsapp"

local TEXT = { to = "+14255550123", type = "text", text = { body = "Hello" } }
local MB3 = 3 * 1024 * 1024

local function text(body) return { to = "+1", type = "text", text = { body = body } } end

-- These specs are about what reaches the C core. A client that checks message
-- tables against WhatsApp's rules first (the validate send option, where it
-- exists; it has specs of its own) is told not to; a client without that
-- option raises for it, which the probe below notices (it sends nothing).
local unchecked
local function with_unchecked(client, opts)
  if unchecked == nil then unchecked = pcall(client.send, client, "{", { validate = false }) end
  if not unchecked then return opts end
  local o = { validate = false }
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- send(msg[, opts]) on client must be refused before a request, with the
-- field (unless field is nil) and words
local function refused(client, msg, opts, field, pattern)
  local id, err = client:send(msg, with_unchecked(client, opts))
  assert.is_nil(id)
  assert.are.equal("ParamValidationError", err.code)
  if field ~= nil then assert.are.equal(field, err.field) end
  assert.matches(pattern, err.message)
  assert.are.equal(0, err.attempts)
  assert.is_string(tostring(err))
end

describe("hostile messages", function()
  before_each(function() H.reset() end)
  after_each(function() assert.are.equal(0, H.stats().requests, "a refused message reached the service") end)

  it("cycles through arrays and several levels down, and tables as keys", function()
    local client = H.client()
    local buttons = { { id = "a" }, { id = "b" } }
    local msg = { to = "+1", type = "interactive", interactive = { action = { buttons = buttons } } }
    msg.interactive.action.buttons[2].reply = msg.interactive
    refused(client, msg, nil, "interactive.action.buttons[2].reply", "cycle")
    local list = { 1, 2 }
    list[3] = { list }
    refused(client, { to = "+1", type = "text", list = list }, nil, "list[3][1]", "cycle")
    refused(client, { to = "+1", [{}] = 1 }, nil, "message", "table key")
  end)

  it("10,000-deep tables and JSON text", function()
    local client = H.client()
    local deep = {}
    local cur = deep
    for _ = 1, 10000 do cur.n = {} cur = cur.n end
    local id, err = client:send(text(deep), with_unchecked(client))
    assert.is_nil(id)
    assert.are.equal("ParamValidationError", err.code)
    assert.matches("nesting deeper than 64", err.message)
    assert.matches("^text%.body%.n%.n", err.field)
    local arrays = {}
    cur = arrays
    for _ = 1, 10000 do cur[1] = {} cur = cur[1] end
    refused(client, { to = "+1", a = arrays }, nil, "a" .. string.rep("[1]", 63), "nesting deeper than 64")
    local json = '{"to":"+1","type":"text","text":' .. string.rep('{"a":', 10000) .. "1" .. string.rep("}", 10001)
    refused(client, json, nil, "message", "nesting deeper than 64")
    refused(client, '{"a":' .. string.rep("[", 10000), nil, "message", "nesting deeper than 64")
  end)

  it("3 MB strings in a body, a key, a JSON text and a phone number id", function()
    local client = H.client()
    local big = string.rep("a", MB3)
    refused(client, text(big), nil, "message", "at most 2048000 bytes")
    refused(client, { to = "+1", type = "text", [big] = 1 }, nil, "message", "at most 2048000 bytes")
    refused(client, '{"to":"+1","type":"text","text":{"body":"' .. big .. '"}}', nil, "message", "at most 2048000")
    refused(client, TEXT, { phone_number_id = "phone-number-id-" .. big }, "phone_number_id", "1%.%.115")
    -- what is wrong is found wherever it is, not only in the first megabytes
    refused(client, text(big .. "\255"), nil, "text.body", "not valid UTF%-8")
    refused(client, text(big .. "\0"), nil, "text.body", "NUL")
    refused(client, text(string.rep("\0", MB3)), nil, "text.body", "NUL")
    refused(client, '{"to":"+1","text":"' .. big .. '\255"}', nil, "message", "UTF%-8")
  end)

  it("invalid UTF-8 of every kind, in values, keys and JSON text", function()
    local client = H.client()
    for _, bad in ipairs {
      "\128", "\191", "\192\128", "\193\191", "\224\128\128", "\240\128\128\128", -- continuation, overlong
      "\237\160\128", "\237\191\191", -- surrogates
      "\244\144\128\128", "\248\136\128\128\128", "\254", "\255", -- past U+10FFFF, never UTF-8
      "\226\130", "\226", "\240\159\145", "caf\233 au lait", -- cut short, Latin-1
    } do
      refused(client, text("ok " .. bad), nil, "text.body", "not valid UTF%-8")
      refused(client, { to = "+1", type = "text", ["k" .. bad] = 1 }, nil, nil, "key is not valid UTF%-8")
      refused(client, '{"to":"+1","type":"text","text":{"body":"' .. bad .. '"}}', nil, "message", "UTF%-8")
    end
  end)

  it("NUL bytes in values, keys and JSON text, escaped or raw", function()
    local client = H.client()
    refused(client, { to = "+1\0", type = "text" }, nil, "to", "NUL")
    refused(client, { to = "+1", ["ty\0pe"] = "text" }, nil, nil, "key contains a NUL")
    refused(client, '{"to":"+1\0","type":"text"}', nil, "message", "control character")
    refused(client, '{"to":"+1\\u0000","type":"text"}', nil, "message", "NUL")
    refused(client, '{"to":"+1","type":"text"}\0', nil, "message", "trailing")
    refused(client, '\0{"to":"+1","type":"text"}', nil, "message", "object")
  end)

  it("values JSON cannot hold, deep inside", function()
    local client = H.client()
    refused(client, { to = "+1", a = { { 1, 0 / 0 } } }, nil, "a[1][2]", "NaN")
    refused(client, { to = "+1", a = { b = { -math.huge } } }, nil, "a.b[1]", "infinity")
    refused(client, { to = "+1", a = { f = print } }, nil, "a.f", "function")
    refused(client, { to = "+1", a = { co = coroutine.create(print) } }, nil, "a.co", "thread")
  end)
end)

describe("hostile header-bound values", function()
  -- a CR, LF or NUL would end or split a header line; other control bytes and
  -- 8-bit bytes have no place in these values either
  local BAD = { "\r", "\n", "\r\nX-Injected: 1", "\0", "\0\r\nX-Injected: 1", "\t", "\127" }

  before_each(function() H.reset() end)
  after_each(function() assert.are.equal(0, H.stats().requests, "a refused value reached the service") end)

  it("in every option of whatsapp.new that reaches a header or the request line", function()
    local base = { region = "us-east-1", endpoint = H.http, phone_number_id = H.PHONE, credentials = H.creds.static }
    for _, case in ipairs {
      { "region", "us-east-1" }, { "endpoint", H.http }, { "phone_number_id", H.PHONE },
      { "meta_api_version", "v20.0" }, { "user_agent", "my-app/1.0" },
    } do
      local name, good = case[1], case[2]
      for _, bad in ipairs(BAD) do
        for _, value in ipairs { good .. bad, bad .. good } do
          local opts = {}
          for k, v in pairs(base) do opts[k] = v end
          opts[name] = value
          local client, err = whatsapp.new(opts)
          assert.is_nil(client, name .. " = " .. string.format("%q", value))
          assert.are.equal("ParamValidationError", err.code)
          assert.are.equal(name, err.field)
        end
      end
    end
  end)

  it("in per-send options, credentials and the client's environment", function()
    local client = H.client()
    for _, bad in ipairs(BAD) do
      refused(client, TEXT, { phone_number_id = H.PHONE .. bad }, "phone_number_id", "")
      refused(client, TEXT, { meta_api_version = "v20.0" .. bad }, "meta_api_version", "")
      for _, field in ipairs { "access_key_id", "secret_access_key", "session_token" } do
        local creds = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "secret", session_token = "token" }
        creds[field] = creds[field] .. bad
        refused(H.client { credentials = creds }, TEXT, nil, "credentials." .. field, "")
        refused(H.client { credentials = function() return creds end }, TEXT, nil, "credentials." .. field, "")
      end
    end
    -- the environment cannot hold a NUL, but CR and LF it can
    local function env(vars) return function(k) return vars[k] end end
    for _, case in ipairs {
      { "WHATSAPP_PHONE_NUMBER_ID", H.PHONE .. "\r\nX-Injected: 1", "phone_number_id" },
      { "WHATSAPP_META_API_VERSION", "v20.0\n", "meta_api_version" },
      { "AWS_ENDPOINT_URL", H.http .. "\r\n", "endpoint" },
      { "AWS_REGION", "us-east-1\n", "region" },
    } do
      local vars = { AWS_REGION = "us-east-1" }
      vars[case[1]] = case[2]
      local cfg, err = config.resolve({}, env(vars))
      assert.is_nil(cfg)
      assert.are.equal(case[3], err.field)
    end
  end)

  it("are refused by the C core too, for any caller of it", function()
    local cfg = {
      url = H.http .. "/v1/whatsapp/send", path = "/v1/whatsapp/send", host = H.http:match("//(.*)"),
      region = "us-east-1", service = "social-messaging", connect_timeout_ms = 2000, timeout_ms = 5000,
      max_message_bytes = 2048000, user_agent = "ua",
    }
    for _, name in ipairs { "url", "path", "host", "user_agent" } do
      -- a space is fine in a header value, not in the request line
      local space = (name == "url" or name == "path") and " " or "\n"
      for _, bad in ipairs { "\r", "\n", space, "\0", "\0\r\nX-Injected: 1" } do
        local c = {}
        for k, v in pairs(cfg) do c[k] = v end
        c[name] = c[name] .. bad
        local ok, msg = pcall(core.new_client, c)
        assert.is_false(ok, name .. " = " .. string.format("%q", c[name]))
        assert.matches("new_client", msg)
      end
    end
    local t = core.new_client(cfg)
    local akid, secret = H.creds.static.access_key_id, H.creds.static.secret_access_key
    local creds = { access_key_id = akid, secret_access_key = secret }
    for _, bad in ipairs { "\r", "\n", "\0" } do
      for i, args in ipairs {
        { akid .. bad, secret }, { akid, secret .. bad }, { akid, secret, "token" .. bad },
      } do
        local status, kind, _, field = t:send(TEXT, H.PHONE, "v20.0",
          { access_key_id = args[1], secret_access_key = args[2], session_token = args[3] })
        assert.is_nil(status, "credential " .. i)
        assert.are.equal("invalid", kind)
        assert.are.equal("credentials", field)
      end
      local status, kind, _, field = t:request("GET", H.http .. "/_standin/stats", { ["X-A"] = "1" .. bad })
      assert.is_nil(status)
      assert.are.equal("invalid", kind)
      assert.are.equal("X-A", field)
      status, kind, _, field = t:request("GET", H.http .. "/_standin/stats" .. bad)
      assert.are.same({ nil, "invalid", "url" }, { status, kind, field })
      status, kind, _, field = t:request("GET" .. bad, H.http .. "/_standin/stats")
      assert.are.same({ nil, "invalid", "method" }, { status, kind, field })
    end
    -- the body must be UTF-8 JSON
    local status, kind, _, field = t:send(TEXT, H.PHONE .. "\255", "v20.0", creds)
    assert.are.same({ nil, "invalid", "phone_number_id" }, { status, kind, field })
    status, kind, _, field = t:send(TEXT, H.PHONE, "v20.0\255", creds)
    assert.are.same({ nil, "invalid", "meta_api_version" }, { status, kind, field })
    t:close()
  end)
end)

describe("hostile answers", function()
  before_each(function() H.reset() end)

  -- one attempt per send (a retry would blur what one answer gives)
  local function one(opts)
    opts = opts or {}
    opts.max_attempts = 1
    return H.client(opts)
  end

  -- the client is still usable after the bad answer
  local function recovers(client)
    local id, err = client:send(TEXT)
    assert.is_nil(err)
    assert.is_string(id)
  end

  it("cut short after the headers: a retryable ConnectionError", function()
    local client = one()
    H.inject { action = "truncated" }
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("ConnectionError", err.code)
    assert.is_true(err.retryable)
    assert.matches("remaining to read", err.message)
    assert.are.equal(1, #H.messages()) -- it was: the service took it before the answer broke
    recovers(client)
  end)

  it("a Content-Length that is not a number, or shorter or longer than the body", function()
    local client = one { timeout = 0.5 }
    for _, case in ipairs {
      { "-1", "ResponseError", "malformed answer: .*Content%-Length" },
      { "12abc", "ResponseError", "messageId is missing" }, -- read as 12: a cut JSON text
      { "5", "ResponseError", "messageId is missing" },
      { "1000", "TimeoutError", "no answer within timeout %(0%.5s%)" }, -- waits for bytes that never come
      { "99999999999999999999999", "TimeoutError", "no answer within timeout" },
    } do
      H.inject { action = "bad_length", length = case[1] }
      local id, err = client:send(TEXT)
      assert.is_nil(id, case[1])
      assert.are.equal(case[2], err.code, case[1])
      assert.matches(case[3], err.message)
      recovers(client)
    end
  end)

  it("an answer larger than the 4 MiB cap", function()
    local client = one()
    H.inject { action = "oversize" }
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("ResponseError", err.code)
    assert.matches("larger than 4194304 bytes", err.message)
    recovers(client)
  end)

  it("headers that are long, repeated or 8-bit", function()
    local client = one()
    H.inject { status = 500, form = "body-type", code = "InternalServiceException", headers = {
      ["x-amzn-ErrorType"] = string.rep("E", 5000), ["x-amzn-RequestId"] = string.rep("r", 1000),
      ["X-Junk"] = string.rep("\u{ff}", 30000),
    } }
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal(500, err.status)
    assert.matches("^E+$", err.code)
    assert.is_true(#err.code <= 128) -- an error code is bounded
    assert.is_true(#err.request_id <= 128) -- so is a request id
    H.inject { status = 503, form = "body-type", headers = { ["x-amzn-ErrorType"] = "Bad\u{ff}Code:ns" } }
    id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("Bad", err.code) -- the identifier it starts with: a code is never raw bytes
    assert.is_string(tostring(err))
    recovers(client)
  end)

  it("a server that never answers: TimeoutError when the timeout or the deadline is reached", function()
    local client = one { timeout = 0.5 }
    local started = core.monotonic()
    H.inject { action = "hang" }
    local id, err = client:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("TimeoutError", err.code)
    assert.matches("no answer within timeout %(0%.5s%) after the request was sent", err.message)
    recovers(client)
    client = one()
    H.inject { action = "hang" }
    id, err = client:send(TEXT, { deadline = 0.5 })
    assert.is_nil(id)
    assert.are.equal("TimeoutError", err.code)
    assert.matches("deadline %(0%.5s%) was reached", err.message)
    assert.is_true(core.monotonic() - started < 5)
    recovers(client)
  end)

  it("a server that does not speak the scheme asked for", function()
    -- plain HTTP to the TLS port: the handshake never starts
    local id, err = one { endpoint = "http://" .. H.https:match("//(.*)"), timeout = 2 }:send(TEXT)
    assert.is_nil(id)
    assert.is_true(err.code == "ConnectionError" or err.code == "TimeoutError", err.code)
    -- TLS to the plain HTTP port: the answer is not a handshake
    id, err = one { endpoint = "https://" .. H.http:match("//(.*)"), ca_file = H.ca }:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("TLSError", err.code)
  end)
end)

describe("wrong argument types", function()
  it("raise, for the message and for whatsapp.new", function()
    local client = H.client()
    for _, bad in ipairs { true, 42, print, io.stdout, coroutine.create(print) } do
      assert.has_error(function() client:send(bad) end)
    end
    assert.has_error(function() client:send() end)
    assert.has_error(function() client:send(TEXT, { deadline = "5" }) end)
    assert.has_error(function() whatsapp.new { region = "us-east-1", credentials = "AKID:secret" } end)
    assert.has_error(function() whatsapp.new { region = "us-east-1", timeout = "10" } end)
    assert.has_error(function() client.send(nil, TEXT) end)
  end)
end)

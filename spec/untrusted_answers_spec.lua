-- What a server sends back is hostile until checked (issue 19, items 9-11):
-- error codes, request ids and messages reach the caller as printable,
-- bounded text with no secret in them (nor a secret's first 8 bytes), on
-- the libcurl path, in batches, in the `whatsapp` command and inside nginx;
-- a 2xx whose messageId is empty or holds a NUL is a ResponseError, and a
-- messageId handed back is exactly the service's.
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"

local TEXT = { to = "+14255550123", type = "text", text = { body = "Hello" } }
local TOKEN = H.creds.temp.session_token
local SECRET = H.creds.temp.secret_access_key

-- Every string an error shows: its fields and tostring.
local function shown(err)
  return { tostring(err), err.code, err.message, err.request_id or "" }
end

-- No control character (C0, DEL, C1) and no secret, whole or its first 8
-- bytes, in any of the texts; each text at most max bytes when given.
local function clean(texts, max)
  for _, t in ipairs(texts) do
    assert.is_nil(t:find("[%z\1-\31\127]"), "a control character in: " .. t:gsub("%c", "^"))
    assert.is_nil(t:find("\194[\128-\159]"), "a C1 control in: " .. t)
    for _, secret in ipairs { TOKEN, SECRET } do
      assert.is_nil(t:find(secret:sub(1, 8), 1, true), "a secret's first bytes in: " .. t)
    end
    if max then assert.is_true(#t <= max, #t .. " bytes") end
  end
end

local function client(opts)
  opts = opts or {}
  opts.max_attempts = 1
  opts.credentials = opts.credentials or H.creds.temp
  return H.client(opts)
end

describe("error fields from a hostile answer", function()
  before_each(function() H.reset() end)

  it("hold no line break, carriage return or terminal escape, and are bounded", function()
    local c = client()
    H.inject { status = 400, code = "ValidationException", form = "body-type",
      message = "bad\r\nX-Forged: yes\n\27[2J\27]0;owned\7 \194\155 end",
      headers = { ["x-amzn-ErrorType"] = "Throttling\27[31mException", ["x-amzn-RequestId"] = "id\27[1m" } }
    local id, err = c:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("Throttling", err.code) -- the identifier it starts with
    assert.are.equal(400, err.status)
    clean(shown(err))
    assert.matches("X%-Forged: yes", err.message) -- the words stay, on one line
    -- a huge message is cut, on a character boundary
    H.inject { status = 500, message = string.rep("é", 50000) }
    id, err = c:send(TEXT)
    assert.is_nil(id)
    clean(shown(err), 1200)
    assert.is_true(core.utf8_valid(err.message))
    -- bytes that are not UTF-8 become '?'
    H.inject { status = 500, form = "body-type",
      headers = { ["x-amzn-RequestId"] = "r\u{ff}\u{fe}" }, message = "m" }
    id, err = c:send(TEXT)
    assert.is_nil(id)
    clean(shown(err))
    c:close()
  end)

  it("never hold the secret key, the session token or their first 8 bytes (echoed anywhere, cut anywhere)", function()
    local c = client()
    local cases = {
      { message = "echo " .. TOKEN .. " and " .. SECRET },
      { message = string.rep("x", 990) .. TOKEN }, -- the cut at 1,000 bytes falls inside the token
      { message = string.rep("x", 195) .. TOKEN, form = "body-code" },
      { message = "a prefix " .. TOKEN:sub(1, 12) .. " and " .. SECRET:sub(1, 9) },
      { message = "encoded " .. TOKEN:gsub("[^%w%-%._~]", function(ch) return ("%%%02X"):format(ch:byte()) end) },
      { message = "m", headers = { ["x-amzn-ErrorType"] = TOKEN }, form = "body-type" },
      { message = "m", headers = { ["x-amzn-ErrorType"] = "Code" .. TOKEN }, form = "body-type" },
      { message = "m", headers = { ["x-amzn-RequestId"] = TOKEN } },
    }
    for i, case in ipairs(cases) do
      H.inject { status = 400, code = "ValidationException", form = case.form or "header",
        message = case.message, headers = case.headers }
      local id, err = c:send(TEXT)
      assert.is_nil(id, i)
      assert.are.equal(400, err.status, i)
      clean(shown(err))
    end
    c:close()
  end)

  it("in a batch, the same", function()
    local c = client()
    H.inject { status = 400, code = "ValidationException", message = "x\27[31m" .. TOKEN, count = 3,
      headers = { ["x-amzn-RequestId"] = TOKEN } }
    local results = c:send_batch { TEXT, TEXT, TEXT }
    for _, r in ipairs(results) do
      assert.is_table(r.err)
      clean(shown(r.err))
    end
    c:close()
  end)

  it("errors.redact and errors.clean: whole, prefixes, encodings; redaction before the cut", function()
    local s = "0123456789abcdefghij"
    assert.are.equal("a <redacted> b", errors.redact("a " .. s .. " b", { s }))
    assert.are.equal("a <redacted>XYZ", errors.redact("a " .. s:sub(1, 10) .. "XYZ", { s }))
    assert.are.equal("a 0123456 b", errors.redact("a 0123456 b", { s })) -- 7 bytes: not a secret's prefix
    assert.are.equal("<redacted>", errors.redact("a%2Fb%2Bc%3D", { "a/b+c=" }))
    assert.are.equal("<redacted>", errors.redact("a%2fb%2bc%3d", { "a/b+c=" }))
    assert.are.equal("<redacted>", errors.redact("a%2Fb%2bc%3D", { "a/b+c=" })) -- hex digits in mixed case
    assert.are.equal('{"x": "<redacted>"', errors.redact('{"x": "ab\\/cdefgh\\/ij"', { "ab/cdefgh/ij" })) -- JSON's \/
    -- a secret holding a character printable() replaces does not come back together
    assert.is_nil(errors.clean("x" .. "abc\ndefgh" .. "y", { "abc defgh" }):find("abc defgh", 1, true))
    local cut = errors.clean(string.rep("x", 95) .. s, { s }, 100)
    assert.is_nil(cut:find("01234567", 1, true))
    assert.are.equal("a b", errors.clean("a\nb", nil, 10))
  end)
end)

describe("a 2xx whose messageId is not one", function()
  before_each(function() H.reset() end)

  it("empty, or with an escaped NUL or a control character: a ResponseError, never a cut id", function()
    local c = client()
    for _, body in ipairs {
      '{"messageId":""}', '{"messageId":"ab\\u0000cd"}', '{"messageId":"\\u0000"}', '{"messageId":"a\\nb"}',
      '{"messageId":"a b"}', '{"messageId":"' .. string.rep("m", 1025) .. '"}', '{"messageId":12}',
    } do
      H.inject { action = "reply", body = body }
      local id, err = c:send(TEXT)
      assert.is_nil(id, body)
      assert.are.equal("ResponseError", err.code, body)
      assert.are.equal(200, err.status)
      assert.matches("messageId", err.message)
      assert.matches("may have been delivered", err.message)
      clean(shown(err))
    end
    -- the request id of such an answer is cleaned and redacted too
    H.inject { action = "reply", body = '{"messageId":""}',
      headers = { ["x-amzn-RequestId"] = "id\27[2J\t" .. TOKEN:sub(1, 24) } }
    local id, err = c:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("id", err.request_id) -- what comes before the escape
    clean(shown(err))
    -- an escaped id is given back decoded, byte for byte
    H.inject { action = "reply", body = '{"messageId":"wamid.\\u0041b"}' }
    assert.are.equal("wamid.Ab", c:send(TEXT))
    c:close()
  end)

  it("the same in a batch", function()
    local c = client()
    H.inject { action = "reply", body = '{"messageId":""}', count = 2 }
    H.inject { action = "reply", body = '{"messageId":"x\\u0000y"}' }
    local results, failed = c:send_batch({ TEXT, TEXT, TEXT, TEXT }, { concurrency = 1 })
    assert.are.equal(3, failed)
    for i = 1, 3 do assert.are.equal("ResponseError", results[i].err.code) end
    assert.is_string(results[4].message_id)
    assert.matches("^[%w%-]+$", results[4].message_id)
    c:close()
  end)

  it("core.decode keeps every byte of a string, an escaped NUL too", function()
    local v = core.decode('{"a":"x\\u0000y","b":["\\u0000"],"\\u0000k":1}')
    assert.are.equal("x\0y", v.a)
    assert.are.equal("\0", v.b[1])
    assert.are.equal(1, v["\0k"])
  end)
end)

describe("the whatsapp command shows a hostile error safely", function()
  local BUILD = (os.getenv("WA_BUILD") or "build") .. "/" .. H.runtime
  local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

  local function run(args)
    local home = H.home()
    local env = {
      "PATH=/usr/bin:/bin", "HOME=" .. q(home), "AWS_EC2_METADATA_DISABLED=true",
      "LUA_PATH=" .. q("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. q(BUILD .. "/?.so;;"),
      "AWS_ACCESS_KEY_ID=" .. q(H.creds.temp.access_key_id), "AWS_SECRET_ACCESS_KEY=" .. q(SECRET),
      "AWS_SESSION_TOKEN=" .. q(TOKEN), "AWS_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1",
      "AWS_ENDPOINT_URL_SOCIALMESSAGING=" .. q(H.http), "WHATSAPP_PHONE_NUMBER_ID=" .. q(H.PHONE),
    }
    for _, pass in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS" } do
      if os.getenv(pass) then env[#env + 1] = pass .. "=" .. q(os.getenv(pass)) end
    end
    local out = H.run("env -i " .. table.concat(env, " ") .. " " .. H.runtime .. " bin/whatsapp "
      .. table.concat(args, " ") .. " </dev/null")
    H.rmrf(home)
    return out
  end

  it("in its text and in --json", function()
    H.reset()
    for _, json in ipairs { false, true } do
      H.inject { status = 400, code = "ValidationException", message = "oops\27[2J\r\n" .. TOKEN,
        headers = { ["x-amzn-RequestId"] = TOKEN .. "\27[1m" } }
      local out = run { "send-text", "+14255550123", "hello", json and "--json" or "" }
      assert.matches("exit=1\n$", out)
      assert.matches("ValidationException", out)
      out = out:gsub("exit=1\n$", "")
      clean { (out:gsub("\n", " ")) }
    end
  end)

  it("in the numbers table: a tab or line break in a name forges no column or row", function()
    H.reset()
    local waba = "waba-" .. string.rep("1", 32) -- the stand-in's first account (its Get is checked before the reply)
    H.inject { action = "reply", body = '{"linkedAccounts":[{"id":"' .. waba .. '"}]}' }
    H.inject { action = "reply", body = core.encode { account = { id = waba, phoneNumbers = { {
      phoneNumberId = "phone-number-id-1", displayPhoneNumber = "+1 425-555-0123",
      displayPhoneNumberName = "Evil\n2\tforged\tcolumns\27[31m red", qualityRating = string.rep("Q", 5000),
    } } } } }
    local out = run { "numbers" }
    assert.matches("exit=0\n$", out)
    out = out:gsub("exit=0\n$", "")
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(1, #lines, out)
    local _, tabs = lines[1]:gsub("\t", "")
    assert.are.equal(4, tabs)
    assert.matches("Evil 2 forged columns", lines[1])
    assert.is_nil(lines[1]:find("\27", 1, true))
    assert.is_true(#lines[1] < 1000)
  end)
end)

describe("inside nginx, hostile answers", function()
  local nginx

  setup(function()
    H.require_standin()
    nginx = N.start {
      env = { WA_STANDIN_HTTP = H.http, WA_PHONE = H.PHONE, WA_TOKEN = TOKEN, WA_SECRET = SECRET,
        WA_AKID = H.creds.temp.access_key_id },
      server = [[
        location = /__ready { return 200 "ready"; }
        location = /send {
          content_by_lua_block {
            local whatsapp = require "whatsapp"
            local c = assert(whatsapp.new { region = "us-east-1", endpoint = os.getenv("WA_STANDIN_HTTP"),
              phone_number_id = os.getenv("WA_PHONE"), max_attempts = 1, credentials = {
                access_key_id = os.getenv("WA_AKID"), secret_access_key = os.getenv("WA_SECRET"),
                session_token = os.getenv("WA_TOKEN") } })
            local text = { to = "+14255550123", type = "text", text = { body = "hi" } }
            local id, err = c:send(text)
            local results = c:send_batch { text }
            -- a background send without a callback logs its failure at ngx.ERR
            assert(c:send_later(text))
            ngx.sleep(0.5)
            local r = results[1]
            ngx.say(whatsapp.encode { id = id or false, code = err and err.code or false,
              message = err and err.message or false, request_id = err and err.request_id or false,
              text = err and tostring(err) or false, batch_id = r.message_id or false,
              batch_code = r.err and r.err.code or false, batch_text = r.err and tostring(r.err) or false })
          }
        }
      ]],
    }
  end)

  teardown(function() N.stop(nginx) end)

  local function send()
    local probe = core.new_client { connect_timeout_ms = 2000, timeout_ms = 30000 }
    local status, body = probe:request("GET", nginx.url .. "/send")
    probe:close()
    assert.are.equal(200, status, body)
    return core.decode(body)
  end

  it("a 50 KB error type, escapes and an echoed token: bounded, printable, redacted, also in error.log", function()
    H.reset()
    H.inject { status = 400, code = "ValidationException", count = 3, message = "m\27[31m\r\n" .. TOKEN,
      form = "body-type",
      -- (under the transport's 64 KiB cap on an answer's head: past it the answer is refused whole)
      headers = { ["x-amzn-ErrorType"] = string.rep("E", 50000), ["x-amzn-RequestId"] = TOKEN } }
    local r = send()
    assert.are.equal(false, r.id)
    assert.matches("^E+$", r.code)
    assert.is_true(#r.code <= 128)
    clean { r.code, r.message, r.request_id or "", r.text, r.batch_code, r.batch_text }
    local log = N.log(nginx)
    assert.matches("background send failed", log)
    for _, secret in ipairs { TOKEN, SECRET } do assert.is_nil(log:find(secret:sub(1, 8), 1, true)) end
    assert.is_nil(log:find("\27", 1, true))
  end)

  it("a 2xx with an empty messageId or an escaped NUL is a ResponseError", function()
    H.reset()
    H.inject { action = "reply", body = '{"messageId":""}' }
    H.inject { action = "reply", body = '{"messageId":"a\\u0000b"}' }
    H.inject { action = "reply", body = '{"messageId":""}' }
    local r = send()
    assert.are.equal(false, r.id)
    assert.are.equal("ResponseError", r.code)
    assert.are.equal(false, r.batch_id)
    assert.are.equal("ResponseError", r.batch_code)
  end)
end)

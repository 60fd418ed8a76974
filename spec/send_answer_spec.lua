-- core.send_answer: the cosocket transport's common answer to a send (a whole
-- 2xx {"messageId": id} in the bytes read), taken in C without a table; every
-- other answer goes to the general reader (core.parse_head and the rest of
-- whatsapp.transport.answer), which the hostile specs hold to its rules.
local core = require "whatsapp.core"

local ID = "4d9a2c1e-7b3f-4e5a-8c6d-1f2e3d4c5b6a"
local DATE = "Wed, 02 Dec 2026 17:00:00 GMT"
local BODY = '{"messageId":"' .. ID .. '"}'
local MAX = 4 * 1024 * 1024

local function answer(opts)
  opts = opts or {}
  local body = opts.body or BODY
  local lines = { opts.status_line or "HTTP/1.1 200 OK", "Server: nginx" }
  if opts.date ~= false then lines[#lines + 1] = "Date: " .. DATE end
  lines[#lines + 1] = "Content-Type: application/json"
  if opts.length ~= false then lines[#lines + 1] = "Content-Length: " .. (opts.length or #body) end
  for _, extra in ipairs(opts.extra or {}) do lines[#lines + 1] = extra end
  lines[#lines + 1] = "x-amzn-RequestId: 6f8c1a52-3b1e-4c4f-9a53-0d1c2b3a4f5e"
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. body
end

describe("core.send_answer", function()
  it("takes the common answer: true, the id, the Date, and whether the connection may be kept", function()
    local ok, id, date, keep = core.send_answer(answer(), MAX)
    assert.are.equal(true, ok)
    assert.are.equal(ID, id)
    assert.are.equal(DATE, date)
    assert.are.equal(true, keep)
    -- what the general reader would have made of the same bytes
    local text = answer()
    local status, headers, used = core.parse_head(text)
    assert.are.equal(200, status)
    assert.are.equal(DATE, headers.date)
    assert.are.equal(ID, core.decode(text:sub(used + 1)).messageId)
  end)

  it("follows Connection and the HTTP version for keep, names in any case, spaces around values", function()
    local function keep(status_line, extra)
      local ok, _, _, k = core.send_answer(answer { status_line = status_line, extra = extra }, MAX)
      assert.are.equal(true, ok)
      return k
    end
    assert.is_false(keep("HTTP/1.1 200 OK", { "Connection: close" }))
    assert.is_false(keep("HTTP/1.1 200 OK", { "CONNECTION:   Close  " }))
    assert.is_true(keep("HTTP/1.1 200 OK", { "Connection: keep-alive" }))
    assert.is_false(keep("HTTP/1.0 200 OK"))
    assert.is_true(keep("HTTP/1.0 200 OK", { "connection: Keep-Alive" }))
    assert.is_true(keep("HTTP/1.1 201 Created"))
    -- two Content-Length fields: the general reader's
    assert.are.same({ false }, { core.send_answer(answer { extra = { "content-LENGTH: " .. #BODY } }, MAX) })
    local ok, id, date = core.send_answer(answer { date = false }, MAX)
    assert.are.same({ true, ID, nil }, { ok, id, date })
    ok, id = core.send_answer(answer { body = ' \r\n{ "messageId" : "' .. ID .. '" }\n' }, MAX)
    assert.are.same({ true, ID }, { ok, id })
  end)

  it("leaves everything else to the general reader (false)", function()
    local cases = {
      interim = "HTTP/1.1 100 Continue\r\n\r\n" .. answer(),
      no_content = answer { status_line = "HTTP/1.1 204 No Content" },
      redirect = answer { status_line = "HTTP/1.1 301 Moved" },
      throttled = answer { status_line = "HTTP/1.1 429 Too Many Requests" },
      server_error = answer { status_line = "HTTP/1.1 500 Internal Server Error" },
      chunked = answer { length = false, extra = { "Transfer-Encoding: chunked" } },
      chunked_and_length = answer { extra = { "Transfer-Encoding: chunked" } },
      no_length = answer { length = false },
      body_cut = answer():sub(1, -2),
      head_cut = answer():sub(1, 40),
      bytes_after = answer() .. "HTTP/1.1 200 OK\r\n",
      length_words = answer { length = "52 " .. "x" },
      length_sign = answer { length = "+" .. #BODY },
      length_huge = answer { length = "99999999999999999999" },
      two_dates = answer { extra = { "Date: " .. DATE } },
      two_connections = answer { extra = { "Connection: keep-alive", "Connection: close" } },
      folded = answer { extra = { "X-Long: a", " b" } },
      other_members = answer { body = '{"messageId":"' .. ID .. '","other":1}' },
      escaped_id = answer { body = '{"messageId":"a\\u0000b"}' },
      spaced_id = answer { body = '{"messageId":"a b"}' },
      empty_id = answer { body = '{"messageId":""}' },
      long_id = answer { body = '{"messageId":"' .. ("x"):rep(1025) .. '"}' },
      not_json = answer { body = "messageId" },
      empty_body = answer { body = "" },
      malformed_status = "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
      not_http = "SMTP ready\r\n\r\n",
      nothing = "",
    }
    for name, text in pairs(cases) do
      local r = { core.send_answer(text, MAX) }
      assert.are.same({ false }, r, name)
    end
    -- over the cap
    assert.are.same({ false }, { core.send_answer(answer(), #BODY - 1) })
    assert.are.equal(true, (core.send_answer(answer(), #BODY)))
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() core.send_answer(nil, MAX) end)
    assert.has_error(function() core.send_answer(answer(), "many") end)
  end)
end)

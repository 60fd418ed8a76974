-- client:send_batch against the stand-in (every signature checked with
-- botocore): results in input order, per-item errors and retries, transfers
-- really in flight together, the rate, progress, and argument checks.
local H = require "spec.support.helper"
local core = require "whatsapp.core"

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

-- The stand-in's records by message text.
local function records_by_body()
  local by = {}
  for _, m in ipairs(H.messages()) do
    if m.message and m.message.text then by[m.message.text.body] = m end
  end
  return by
end

local function distinct(list, key)
  local seen, n = {}, 0
  for _, v in ipairs(list) do
    local k = key(v)
    if k ~= nil and not seen[k] then
      seen[k] = true
      n = n + 1
    end
  end
  return n
end

describe("send_batch", function()
  before_each(function() H.reset() end)
  after_each(function() H.reset() end)

  it("sends every message and answers in input order", function()
    local client = H.client()
    local messages = {}
    for i = 1, 30 do messages[i] = text("batch " .. i) end
    local results, failed = client:send_batch(messages, { concurrency = 8 })
    assert.are.equal(0, failed)
    assert.are.equal(30, #results)
    local by = records_by_body()
    for i = 1, 30 do
      assert.is_nil(results[i].err)
      assert.are.equal(by["batch " .. i].message_id, results[i].message_id)
    end
    assert.are.equal(30, H.stats().accepted)
  end)

  it("gives each item its own error while the others are sent", function()
    local client = H.client()
    local messages = {
      text("first"),
      { to = "14255550123", type = "text", text = { body = "no plus" } }, -- refused before sending
      '{"to":"+14255550123","type":"text","text":{"body":"json text"}}',
      "{not json",                                                     -- refused by the encoder
      '{"type":"text","text":{"body":"no to"}}',                      -- refused by the service (400)
      text("last"),
    }
    local results, failed = client:send_batch(messages, { concurrency = 3 })
    assert.are.equal(3, failed)
    assert.is_string(results[1].message_id)
    assert.are.equal("ParamValidationError", results[2].err.code)
    assert.are.equal("to", results[2].err.field)
    assert.are.equal(0, results[2].err.attempts)
    assert.is_string(results[3].message_id)
    assert.are.equal("ParamValidationError", results[4].err.code)
    assert.are.equal(0, results[4].err.attempts)
    assert.are.equal("InvalidParametersException", results[5].err.code)
    assert.are.equal(400, results[5].err.status)
    assert.are.equal(1, results[5].err.attempts) -- not retried
    assert.is_string(results[6].message_id)
    local by = records_by_body()
    assert.are.equal(by.first.message_id, results[1].message_id)
    assert.are.equal(by["json text"].message_id, results[3].message_id)
    assert.are.equal(by.last.message_id, results[6].message_id)
    assert.are.equal(4, H.stats().requests) -- the two refused before sending never left
  end)

  it("retries throttled items, each with its own backoff, from the client's quota", function()
    local retries = {}
    local client = H.client { on_retry = function(err, attempt, delay)
      retries[#retries + 1] = { code = err.code, attempt = attempt, delay = delay }
    end }
    -- (the service asks for 300 ms: with full jitter a retry may otherwise come back before the
    -- third first attempt has reached the stand-in, and take one of the three 429s itself)
    H.inject { status = 429, count = 3, headers = { ["x-amz-retry-after"] = "300" } }
    local messages = {}
    for i = 1, 10 do messages[i] = text("throttled " .. i) end
    local tokens = client:stats().retry_tokens
    local results, failed = client:send_batch(messages, { concurrency = 4 })
    assert.are.equal(0, failed)
    assert.are.equal(3, #retries)
    for _, r in ipairs(retries) do
      assert.are.equal("ThrottledRequestException", r.code)
      assert.are.equal(1, r.attempt)
    end
    assert.are.equal(13, H.stats().requests)
    assert.are.equal(10, H.stats().accepted)
    local by = records_by_body()
    for i = 1, 10 do assert.are.equal(by["throttled " .. i].message_id, results[i].message_id) end
    -- 3 retries took 5 tokens each, every success gave back what its retry took or 1
    assert.are.equal(math.min(500, tokens - 15 + 15), client:stats().retry_tokens)
  end)

  it("gives up on an item after max_attempts", function()
    local client = H.client { max_attempts = 2 }
    H.inject { status = 503, every = 1 }
    local results, failed = client:send_batch({ text("a"), text("b"), text("c") }, { concurrency = 2 })
    assert.are.equal(3, failed)
    for i = 1, 3 do
      assert.are.equal("ServiceUnavailableException", results[i].err.code)
      assert.are.equal(2, results[i].err.attempts)
    end
    assert.are.equal(6, H.stats().requests)
  end)

  it("takes max_attempts per batch and per send, over the client's", function()
    local client = H.client { max_attempts = 3 }
    H.inject { status = 503, every = 1 }
    local results, failed = client:send_batch({ text("a"), text("b") }, { concurrency = 2, max_attempts = 1 })
    assert.are.equal(2, failed)
    for i = 1, 2 do assert.are.equal(1, results[i].err.attempts) end
    assert.are.equal(2, H.stats().requests)
    local _, err = client:send(text("c"), { max_attempts = 2 })
    assert.are.equal(2, err.attempts)
    assert.are.equal(4, H.stats().requests)
    _, err = client:send(text("d"), { max_attempts = 0 })
    assert.are.same({ "ParamValidationError", "max_attempts", 0 }, { err.code, err.field, err.attempts })
    assert.are.equal(3, client.max_attempts)
    client.max_attempts = 1 -- the client's field is read at each failure
    _, err = client:send(text("e"))
    assert.are.equal(1, err.attempts)
  end)

  it("sends the others while one waits for its retry", function()
    local client = H.client { max_attempts = 2, on_retry = function() end }
    H.inject { status = 503, count = 1, headers = { ["x-amz-retry-after"] = "400" } }
    local order = {}
    local results, failed = client:send_batch({ text("a"), text("b"), text("c") }, { concurrency = 1,
      progress = function(_, _, index) order[#order + 1] = index end })
    assert.are.equal(0, failed)
    for i = 1, 3 do assert.is_string(results[i].message_id) end
    assert.are.same({ 2, 3, 1 }, order) -- "a" waited 0.4 s; "b" and "c" went meanwhile
  end)

  it("re-signs each retry with the service's clock when ours is off", function()
    H.control("POST", "/_standin/clock", { skew_seconds = 3600 })
    local client = H.client { max_attempts = 1 } -- the skew retry needs no retry budget
    local messages = {}
    for i = 1, 6 do messages[i] = text("skewed " .. i) end
    local results, failed = client:send_batch(messages, { concurrency = 3 })
    H.control("POST", "/_standin/clock", { skew_seconds = 0 })
    assert.are.equal(0, failed)
    for i = 1, 6 do assert.is_string(results[i].message_id) end
    assert.is_true(math.abs(client:stats().clock_offset - 3600) <= 2)
    assert.are.equal(6, H.stats().accepted)
  end)

  it("keeps several transfers in flight (HTTP/1.1: one connection each)", function()
    local client = H.client()
    H.inject { delay_ms = 300, every = 1 }
    local messages = {}
    for i = 1, 8 do messages[i] = text("parallel " .. i) end
    local t0 = core.monotonic()
    local results, failed = client:send_batch(messages, { concurrency = 4 })
    local took = core.monotonic() - t0
    assert.are.equal(0, failed)
    assert.are.equal(8, #results)
    -- one at a time would take 8 x 0.3 s
    assert.is_true(took < 1.8, "8 sends of 0.3 s at concurrency 4 took " .. took .. " s")
    local n = distinct(H.messages(), function(m) return m.connection end)
    assert.is_true(n >= 2 and n <= 4, n .. " connections")
  end)

  it("multiplexes on one HTTP/2 connection when the endpoint speaks it", function()
    assert(H.h2, "the HTTP/2 front is not running")
    local client = H.client { endpoint = H.h2 }
    H.inject { delay_ms = 300, every = 1 }
    local messages = {}
    for i = 1, 8 do messages[i] = text("h2 " .. i) end
    local t0 = core.monotonic()
    local _, failed = client:send_batch(messages, { concurrency = 8 })
    local took = core.monotonic() - t0
    assert.are.equal(0, failed)
    assert.is_true(took < 1.8, "8 sends of 0.3 s at concurrency 8 took " .. took .. " s")
    local msgs = {}
    for _, m in ipairs(H.messages()) do
      if m.message.text.body:find("^h2 ") then msgs[#msgs + 1] = m end
    end
    assert.are.equal(8, #msgs)
    for _, m in ipairs(msgs) do assert.are.equal("HTTP/2.0", m.headers["x-front-protocol"]) end
    assert.are.equal(1, distinct(msgs, function(m) return m.headers["x-front-connection"] end))
  end)

  it("keeps to the rate: attempts of one number start 1/rate s apart", function()
    local client = H.client()
    local messages = {}
    for i = 1, 9 do messages[i] = text("paced " .. i) end
    local t0 = core.monotonic()
    local _, failed = client:send_batch(messages, { concurrency = 9, rate = 20 })
    local took = core.monotonic() - t0
    assert.are.equal(0, failed)
    -- 9 starts 0.05 s apart: at least 0.4 s; generous above
    assert.is_true(took >= 0.38, "9 messages at 20/s took only " .. took .. " s")
    assert.is_true(took < 3, "9 messages at 20/s took " .. took .. " s")
    local times = {}
    for _, m in ipairs(H.messages()) do times[#times + 1] = m.received_at end
    table.sort(times)
    assert.are.equal(9, #times)
    assert.is_true(times[9] - times[1] >= 0.3, "the stand-in saw them within " .. (times[9] - times[1]) .. " s")
  end)

  it("reports progress once per message", function()
    local client = H.client()
    local calls = {}
    local messages = { text("p1"), { to = "bad", type = "text", text = { body = "p2" } }, text("p3"), text("p4") }
    local results = client:send_batch(messages, { concurrency = 2, progress = function(done, total, index, result)
      calls[#calls + 1] = { done = done, total = total, index = index, result = result }
    end })
    assert.are.equal(4, #calls)
    local seen = {}
    for k, c in ipairs(calls) do
      assert.are.equal(k, c.done)
      assert.are.equal(4, c.total)
      assert.are.equal(results[c.index], c.result)
      seen[c.index] = true
    end
    for i = 1, 4 do assert.is_true(seen[i]) end
  end)

  it("answers an empty batch at once, sending nothing", function()
    local client = H.client()
    local results, failed = client:send_batch({})
    assert.are.same({}, results)
    assert.are.equal(0, failed)
    assert.are.equal(0, H.stats().requests)
  end)

  it("answers nil, err when the batch as a whole cannot be sent", function()
    local whatsapp = require "whatsapp"
    local client = assert(whatsapp.new({ region = "us-east-1", endpoint = H.http, credentials = H.creds.static },
      { getenv = H.env {} })) -- no phone number id anywhere
    local results, err = client:send_batch({ text("x") })
    assert.is_nil(results)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("phone_number_id", err.field)
    results, err = H.client():send_batch({ text("x") }, { phone_number_id = "nope" })
    assert.is_nil(results)
    assert.are.equal("phone_number_id", err.field)
  end)

  it("takes the send options for every message", function()
    local client = H.client()
    local results, failed = client:send_batch({ { to = "14255550123", type = "text", text = { body = "local" } } },
      { allow_local_number = true, meta_api_version = "v21.0" })
    assert.are.equal(0, failed)
    assert.is_string(results[1].message_id)
    assert.are.equal("v21.0", H.messages()[1].metaApiVersion)
  end)

  it("raises on wrong argument types", function()
    local client = H.client()
    assert.has_error(function() client:send_batch(nil) end, "send_batch: messages must be a list (got nil)")
    assert.has_error(function() client:send_batch("x") end)
    assert.has_error(function() client:send_batch({ text("a"), 42 }) end,
      "send_batch: messages[2] must be a table or a JSON string (got number)")
    assert.has_error(function() client:send_batch({}, "fast") end)
    assert.has_error(function() client:send_batch({}, { speed = 3 }) end, "send_batch: unknown option 'speed'")
    assert.has_error(function() client:send_batch({}, { concurrency = "4" }) end)
    assert.has_error(function() client:send_batch({}, { concurrency = 0 }) end)
    assert.has_error(function() client:send_batch({}, { concurrency = 2.5 }) end)
    assert.has_error(function() client:send_batch({}, { rate = -1 }) end)
    assert.has_error(function() client:send_batch({}, { progress = true }) end)
    assert.has_error(function() client:send_batch({}, { deadline = "soon" }) end)
    assert.are.equal(0, H.stats().requests)
  end)

  it("stops cleanly when a progress callback raises, and the client goes on", function()
    local client = H.client()
    local messages = {}
    for i = 1, 20 do messages[i] = text("boom " .. i) end
    local ok, err = pcall(client.send_batch, client, messages, { concurrency = 4, progress = function(done)
      if done == 3 then error("progress failed") end
    end })
    assert.is_false(ok)
    assert.matches("progress failed", err)
    core.sleep(0.2) -- what was in flight lands before the next test resets the stand-in
    local results, failed = client:send_batch({ text("after") })
    assert.are.equal(0, failed)
    assert.is_string(results[1].message_id)
    assert.is_string((client:send(text("and a send"))))
  end)

  it("raises when the client is closed in the middle", function()
    local client = H.client()
    local messages = {}
    for i = 1, 10 do messages[i] = text("closing " .. i) end
    local ok, err = pcall(client.send_batch, client, messages, { concurrency = 2, progress = function(done)
      if done == 1 then client:close() end
    end })
    assert.is_false(ok)
    assert.matches("closed", err)
    core.sleep(0.2) -- what was in flight lands before the next test resets the stand-in
  end)

  it("bounds each message with the deadline", function()
    local client = H.client { max_attempts = 1 }
    H.inject { delay_ms = 1500, every = 1 }
    local t0 = core.monotonic()
    local results, failed = client:send_batch({ text("slow 1"), text("slow 2") }, { concurrency = 2, deadline = 0.5 })
    assert.is_true(core.monotonic() - t0 < 1.2)
    assert.are.equal(2, failed)
    for i = 1, 2 do
      assert.are.equal("TimeoutError", results[i].err.code)
      assert.matches("deadline %(0.5s%)", results[i].err.message)
    end
    core.sleep(1.2) -- the stand-in finishes them before the next test resets it
  end)
end)

-- Retries, backoff, the retry quota, clock skew and deadlines: the policy
-- alone, then sends through the stand-in with injected faults.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local retry = require "whatsapp.retry"

local TEXT = { to = "+14255550123", type = "text", text = { body = "Hello" } }

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

-- Records every on_retry call.
local function recorder()
  local calls = {}
  return calls, function(err, attempt, delay)
    calls[#calls + 1] = { code = err.code, attempt = attempt, delay = delay, attempts = err.attempts }
  end
end

describe("retry policy", function()
  local function constant(x) return function() return x end end

  it("backs off with full jitter, doubling from the base, capped", function()
    local b = retry.BACKOFF
    for n = 1, 12 do
      local cap = math.min(b.base * 2 ^ (n - 1), b.max)
      assert.are.equal(0, retry.delay(n, "transient", b, constant(0)))
      assert.is_true(math.abs(retry.delay(n, "transient", b, constant(0.999999)) - cap * 0.999999) < 1e-9)
      local tcap = math.min(b.throttling_base * 2 ^ (n - 1), b.max)
      assert.is_true(math.abs(retry.delay(n, "throttling", b, constant(0.5)) - tcap * 0.5) < 1e-9)
    end
    assert.are.equal(20, b.max)
    assert.is_true(retry.delay(40, "throttling", b, constant(0.999999)) < 20)
  end)

  it("lets x-amz-retry-after lengthen a wait by at most 5 s, never shorten it", function()
    local b = retry.BACKOFF
    assert.are.equal(3, retry.delay(1, "transient", b, constant(0), 3))
    assert.are.equal(5, retry.delay(1, "transient", b, constant(0), 60))
    assert.are.equal(0.05, retry.delay(1, "transient", b, constant(0.5), 0.01))
    assert.are.equal(1.5, retry.retry_after_seconds("1500"))
    assert.is_nil(retry.retry_after_seconds("soon"))
    assert.is_nil(retry.retry_after_seconds("-5"))
    assert.is_nil(retry.retry_after_seconds(nil))
  end)

  it("classes failures as the standard mode does", function()
    local errors = require "whatsapp.errors"
    local function class(status, code)
      return retry.class(errors.from_response(status, { message = "x" }, nil, code))
    end
    assert.are.equal("throttling", class(429, "ThrottledRequestException"))
    assert.are.equal("throttling", class(400, "LimitExceededException"))
    assert.are.equal("transient", class(500, "InternalServiceException"))
    assert.are.equal("transient", class(502, "DependencyException"))
    assert.are.equal("transient", class(503, "ServiceUnavailableException"))
    assert.are.equal("transient", class(504, "GatewayTimeout"))
    assert.is_nil(class(400, "ValidationException"))
    assert.is_nil(class(403, "AccessDeniedException"))
    assert.is_nil(class(404, "ResourceNotFoundException"))
    assert.are.equal("timeout", retry.class(errors.transport("timeout", "x")))
    assert.are.equal("timeout", retry.class(errors.transport("connect_timeout", "x")))
    assert.are.equal("transient", retry.class(errors.transport("connect", "x")))
    assert.is_nil(retry.class(errors.transport("tls", "x")))
    assert.is_nil(retry.class(errors.validation("text.body", "x")))
  end)

  it("keeps a quota of 500 tokens: 5 a retry, 10 after a timeout, refunds on success", function()
    local q = retry.new_quota(retry.QUOTA_CAPACITY)
    assert.are.equal(500, q.tokens)
    for _ = 1, 100 do assert.are.equal(5, retry.take(q, "transient")) end
    assert.is_false(retry.take(q, "throttling"))
    retry.succeeded(q, 5)
    assert.are.equal(5, q.tokens)
    assert.is_false(retry.take(q, "timeout"))
    retry.succeeded(q, 10)
    assert.are.equal(10, retry.take(q, "timeout"))
    retry.succeeded(q, nil)
    assert.are.equal(6, q.tokens)
    for _ = 1, 1000 do retry.succeeded(q, nil) end
    assert.are.equal(500, q.tokens)
  end)

  it("reads HTTP dates without the local time zone", function()
    assert.are.equal(784111777, retry.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    for _, t in ipairs { 0, 951782400, 1709164800, 1790000000, 4102444800, os.time() } do
      assert.are.equal(t, retry.parse_http_date(os.date("!%a, %d %b %Y %H:%M:%S GMT", t)))
    end
    assert.is_nil(retry.parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.is_nil(retry.parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"))
  end)

  it("believes the service's clock only when ours is 5 minutes off or more", function()
    assert.are.equal(0, retry.learn_offset(0, 1000, 1299))
    assert.are.equal(300, retry.learn_offset(0, 1000, 1300))
    assert.are.equal(-3600, retry.learn_offset(0, 5000, 1400))
    assert.are.equal(3600, retry.learn_offset(3600, 1000, 4601))
    assert.are.equal(7, retry.learn_offset(7, 1000, nil))
    -- a Date a year or more off (a clock reset to 1970, a broken proxy) is ignored
    assert.are.equal(0, retry.learn_offset(0, 1790000000, 0))
    assert.are.equal(0, retry.learn_offset(0, 1000, 1000 + 366 * 86400))
  end)
end)

describe("sends with injected faults", function()
  before_each(function() H.reset() end)
  after_each(function() H.reset() end)

  local function fast(overrides)
    local o = { backoff = { base = 0.001, throttling_base = 0.001 } }
    for k, v in pairs(overrides or {}) do o[k] = v end
    return H.client(o)
  end

  for _, case in ipairs {
    { status = 429, code = "ThrottledRequestException", class = "throttling" },
    { status = 500, code = "InternalServiceException" },
    { status = 502, code = "DependencyException" },
    { status = 503, code = "ServiceUnavailableException" },
    { status = 504, code = "GatewayTimeoutException" },
    { action = "reset", code = "ConnectionError" },
    { action = "close", code = "ConnectionError" },
  } do
    local what = case.action or (case.status .. " " .. case.code)
    it("retries " .. what .. " and delivers once", function()
      local calls, on_retry = recorder()
      local client = fast { on_retry = on_retry }
      H.inject { status = case.status, code = case.status and case.code, action = case.action, count = 2 }
      local id, err = client:send(text("retried " .. what))
      assert.is_nil(err)
      local msgs = H.messages()
      assert.are.equal(1, #msgs)
      assert.are.equal(id, msgs[1].message_id)
      assert.are.equal(2, #calls)
      assert.are.same({ case.code, 1, 1 }, { calls[1].code, calls[1].attempt, calls[1].attempts })
      assert.are.same({ case.code, 2, 2 }, { calls[2].code, calls[2].attempt, calls[2].attempts })
    end)

    it("gives up on " .. what .. " after max_attempts, with the code and attempts", function()
      local client = fast { max_attempts = 4 }
      H.inject { status = case.status, code = case.status and case.code, action = case.action, count = 4 }
      local id, err = client:send(TEXT)
      assert.is_nil(id)
      assert.are.equal(case.code, err.code)
      assert.are.equal(4, err.attempts)
      assert.is_true(err.retryable)
      assert.are.equal(0, #H.messages())
      assert.are.equal(0, H.stats().pending_rules)
    end)
  end

  for _, case in ipairs {
    { 400, "ValidationException" }, { 403, "AccessDeniedException" }, { 404, "ResourceNotFoundException" },
    { 400, "InvalidParametersException" }, { 403, "AccessDeniedByMetaException" },
  } do
    it("never retries " .. case[1] .. " " .. case[2], function()
      local calls, on_retry = recorder()
      H.inject { status = case[1], code = case[2], count = 3 }
      local _, err = fast({ on_retry = on_retry }):send(TEXT)
      assert.are.equal(case[2], err.code)
      assert.are.equal(1, err.attempts)
      assert.are.equal(0, #calls)
      assert.are.equal(1, H.stats().requests)
    end)
  end

  it("counts no attempt for a message refused before sending", function()
    local _, err = fast():send { to = "+1", type = "text", text = { body = "\255" } }
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal(0, err.attempts)
    assert.are.equal(0, H.stats().requests)
  end)

  it("with max_attempts = 1 makes exactly one request", function()
    H.inject { status = 503, count = 2 }
    local _, err = fast({ max_attempts = 1 }):send(TEXT)
    assert.are.equal("ServiceUnavailableException", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.stats().requests)
  end)

  it("delivers 1,000 messages exactly once through throttling, 5xx, resets and slow answers", function()
    -- faults strike before the stand-in accepts, so a retry can never
    -- duplicate. 54% of requests fail, runs of 4 faulted requests in a row
    -- occur (54, 55, 56, 57), and libcurl itself re-sends once when a kept-
    -- alive connection dies unanswered (using up a request number unseen):
    -- hence 10 attempts, and no quota
    H.inject {
      { status = 429, code = "ThrottledRequestException", every = 3 },
      { status = 500, every = 5 },
      { action = "reset", every = 7 },
      { delay_ms = 400, status = 503, every = 101 },
    }
    local client = fast { max_attempts = 10, retry_quota = false, timeout = 0.2 }
    local ids, failures = {}, {}
    for i = 1, 1000 do
      local id, err = client:send(text("wave " .. i))
      if id then ids[i] = id else failures[#failures + 1] = i .. ": " .. tostring(err) end
    end
    assert.are.same({}, failures)
    local seen, count = {}, 0
    for _, rec in ipairs(H.messages()) do
      -- (a slow answer of an earlier spec may land here too: only waves count)
      local n = tonumber(rec.message.text.body:match("^wave (%d+)$"))
      if n then
        assert.is_nil(seen[n], "message " .. tostring(n) .. " was accepted twice")
        seen[n] = true
        count = count + 1
        assert.are.equal(ids[n], rec.message_id)
      end
    end
    assert.are.equal(1000, count)
    assert.is_true(H.stats().requests > 2000) -- the faults really struck
  end)

  it("waits within the backoff bounds (timed generously)", function()
    local calls, on_retry = recorder()
    local client = H.client { max_attempts = 4, on_retry = on_retry }
    H.inject { status = 500, count = 3 }
    local t0 = core.monotonic()
    local id = client:send(TEXT)
    local elapsed = core.monotonic() - t0
    assert.is_string(id)
    assert.are.equal(3, #calls)
    local slept = 0
    for n, c in ipairs(calls) do
      assert.is_true(c.delay >= 0 and c.delay <= 0.1 * 2 ^ (n - 1), "delay " .. n .. " = " .. c.delay)
      slept = slept + c.delay
    end
    assert.is_true(elapsed >= slept, "slept less than the backoff said")
    assert.is_true(elapsed < slept + 1.0, "took " .. elapsed .. " s for " .. slept .. " s of backoff")

    calls, on_retry = recorder()
    client = H.client { max_attempts = 3, on_retry = on_retry }
    H.inject { status = 429, count = 2 }
    t0 = core.monotonic()
    assert.is_string(client:send(TEXT))
    elapsed = core.monotonic() - t0
    assert.is_true(calls[1].delay <= 0.5 and calls[2].delay <= 1.0)
    assert.is_true(elapsed >= calls[1].delay + calls[2].delay)
    assert.is_true(elapsed < calls[1].delay + calls[2].delay + 1.0)
  end)

  it("honours x-amz-retry-after", function()
    local calls, on_retry = recorder()
    H.inject { status = 503, headers = { ["x-amz-retry-after"] = "300" } }
    local t0 = core.monotonic()
    assert.is_string(fast({ on_retry = on_retry }):send(TEXT))
    assert.is_true(calls[1].delay >= 0.3)
    assert.is_true(core.monotonic() - t0 >= 0.3)
  end)

  it("stops a retry storm with the quota, and refills it on success", function()
    local client = fast { retry_quota = 20 }
    H.inject { status = 500, every = 1 }
    local _, err = client:send(TEXT)
    assert.are.equal(3, err.attempts)
    assert.are.equal(10, client:stats().retry_tokens)
    _, err = client:send(TEXT)
    assert.are.equal(3, err.attempts)
    assert.are.equal(0, client:stats().retry_tokens)
    _, err = client:send(TEXT)
    assert.are.equal(1, err.attempts)
    assert.matches("retry quota is spent", err.message)
    assert.are.equal("InternalServiceException", err.code)
    assert.are.equal(7, H.stats().requests)
    H.reset()
    assert.is_string(client:send(TEXT))
    assert.are.equal(1, client:stats().retry_tokens)
    H.inject { status = 500 }
    _, err = client:send(TEXT)
    assert.are.equal(1, err.attempts) -- one token cannot pay for a retry
  end)

  it("raises an error of on_retry, keeping no tokens for the retry not made", function()
    local client = fast { on_retry = function() error("logger broke") end }
    H.inject { status = 503 }
    assert.has_error(function() client:send(TEXT) end, "logger broke")
    assert.are.equal(500, client:stats().retry_tokens)
  end)

  it("learns nothing from a Date a year off, and keeps sending", function()
    local client = fast { max_attempts = 1 }
    H.control("POST", "/_standin/clock", { skew_seconds = -400 * 86400 })
    local _, err = client:send(TEXT)
    assert.are.equal("InvalidSignatureException", err.code)
    assert.are.equal(0, client:stats().clock_offset)
    H.control("POST", "/_standin/clock", { skew_seconds = 0 })
    assert.is_string(client:send(TEXT))
  end)

  it("charges a timeout 10 tokens", function()
    local client = fast { retry_quota = 15, timeout = 0.2 }
    H.inject { delay_ms = 400, status = 503, count = 1 }
    assert.is_string(client:send(TEXT))
    assert.are.equal(15, client:stats().retry_tokens) -- 10 taken, refunded on success
    H.inject { delay_ms = 400, status = 503, count = 3 }
    local _, err = client:send(TEXT)
    assert.are.equal("TimeoutError", err.code)
    assert.are.equal(2, err.attempts) -- 15 pays one timeout retry, not two
    assert.are.equal(5, client:stats().retry_tokens)
  end)
end)

describe("clock skew", function()
  before_each(function() H.reset() end)
  after_each(function() H.reset() end)

  for _, skew in ipairs { 3600, -3600, 86400 } do
    it("is learned from Date and a refused signature is retried once (" .. skew .. " s)", function()
      H.control("POST", "/_standin/clock", { skew_seconds = skew })
      local client = H.client { max_attempts = 1 } -- the skew retry does not need the retry budget
      local id, err = client:send(TEXT)
      assert.is_nil(err)
      assert.is_string(id)
      assert.are.equal(2, H.stats().requests)
      assert.is_true(math.abs(client:stats().clock_offset - skew) <= 2)
      assert.is_string(client:send(TEXT)) -- signed right the first time now
      assert.are.equal(3, H.stats().requests)
    end)
  end

  it("is not retried twice when the service keeps refusing", function()
    H.control("POST", "/_standin/clock", { skew_seconds = 3600 })
    local client = H.client { max_attempts = 3 }
    H.inject { status = 403, code = "InvalidSignatureException", count = 5 }
    local _, err = client:send(TEXT)
    assert.are.equal("InvalidSignatureException", err.code)
    assert.are.equal(2, err.attempts)
  end)

  it("leaves a small difference alone", function()
    H.control("POST", "/_standin/clock", { skew_seconds = 120 })
    local client = H.client()
    assert.is_string(client:send(TEXT))
    assert.are.equal(0, client:stats().clock_offset)
    assert.are.equal(1, H.stats().requests)
  end)
end)

describe("deadline", function()
  before_each(function() H.reset() end)
  after_each(function() H.reset() end)

  it("cuts a slow attempt and says so", function()
    H.inject { delay_ms = 1500, status = 503, count = 3 }
    local client = H.client { timeout = 10 }
    local t0 = core.monotonic()
    local _, err = client:send(TEXT, { deadline = 0.3 })
    local elapsed = core.monotonic() - t0
    assert.are.equal("TimeoutError", err.code)
    assert.matches("deadline %(0%.3s%)", err.message)
    assert.are.equal(1, err.attempts)
    assert.is_true(elapsed < 1.2, "took " .. elapsed .. " s")
  end)

  it("does not start a retry that would end after it", function()
    H.inject { status = 503, headers = { ["x-amz-retry-after"] = "3000" } }
    local client = H.client { deadline = 1 }
    local t0 = core.monotonic()
    local _, err = client:send(TEXT)
    assert.is_true(core.monotonic() - t0 < 0.9)
    assert.are.equal("ServiceUnavailableException", err.code)
    assert.matches("deadline of 1s would pass", err.message)
    assert.are.equal(1, err.attempts)
    assert.are.equal(500, client:stats().retry_tokens) -- nothing taken for a retry not made
  end)

  it("counts the time credentials take, and then sends nothing", function()
    local slow = function()
      core.sleep(0.4)
      return H.creds.static
    end
    local client = H.client { credentials = slow }
    local _, err = client:send(TEXT, { deadline = 0.2 })
    assert.are.equal("TimeoutError", err.code)
    assert.matches("passed before the request was sent; nothing was sent", err.message)
    assert.are.equal(0, err.attempts)
    assert.are.equal(0, H.stats().requests)
  end)

  it("is checked: a deadline is a positive number of seconds", function()
    local _, err = H.client():send(TEXT, { deadline = -1 })
    assert.are.equal("deadline", err.field)
    assert.has_error(function() H.client():send(TEXT, { deadline = "1" }) end)
    local c, e = require("whatsapp").new { region = "us-east-1", deadline = 0, credentials = H.creds.static }
    assert.is_nil(c)
    assert.are.equal("deadline", e.field)
  end)
end)

-- One pace per origination number across processes (whatsapp.rate): a
-- client's `rate`, kept by Redis for nginx workers and a plain Lua process
-- together, and by a lua_shared_dict for the workers of one nginx. Real
-- redis-server, real nginx with 4 workers; the stand-in's arrival times are
-- the judge.
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local R = require "spec.support.redis"
local core = require "whatsapp.core"
local whatsapp = require "whatsapp"

local RATE = 50
local root = assert(io.popen("pwd")):read("*l")

-- The arrival times of a run's messages (bodies start with tag), each body once.
local function arrivals(tag, want)
  local times, seen = {}, {}
  for _, m in ipairs(H.messages()) do
    local body = m.message and m.message.text and m.message.text.body
    if body and body:sub(1, #tag + 1) == tag .. " " then
      assert.is_nil(seen[body], "sent twice: " .. body)
      seen[body] = true
      times[#times + 1] = m.received_at
    end
  end
  assert.are.equal(want, #times)
  table.sort(times)
  return times
end

-- Never more than rate + 5 % in any 1-second sliding window; no more than
-- rate a second over the run.
local function assert_paced(times, rate)
  local most, j = 0, 1
  for i = 1, #times do
    while times[i] - times[j] >= 1 do j = j + 1 end
    if i - j + 1 > most then most = i - j + 1 end
  end
  assert.is_true(most <= math.floor(rate * 1.05 + 0.5) + 1, "a 1-second window saw " .. most)
  local per_second = (#times - 1) / (times[#times] - times[1])
  assert.is_true(per_second <= rate * 1.01, string.format("%.2f a second over the run", per_second))
end

local function get(nginx, path)
  local c = core.new_client { connect_timeout_ms = 2000, timeout_ms = 10000 }
  local status, body = c:request("GET", nginx.url .. path)
  c:close()
  assert.are.equal(200, status, body)
  return body
end

-- Waits until every worker finished the run (and the plain process wrote out).
local function wait_done(nginx, tag, workers, out)
  for _ = 1, 600 do
    local res = core.decode(get(nginx, "/results?tag=" .. tag))
    local plain = out and io.open(out)
    if (res.done or 0) >= workers and (not out or plain) then
      local counts = {}
      if plain then
        counts = core.decode(plain:read("*a"))
        plain:close()
      end
      return res, counts
    end
    if plain then plain:close() end
    os.execute("sleep 0.1")
  end
  error("the run " .. tag .. " did not finish")
end

local function plain_sender(redis, n, tag, out, fallback)
  os.execute(string.format("%s -e \"package.path='%s/lua/?.lua;%s/lua/?/init.lua;'..package.path; "
    .. "package.cpath='%s/build/%s/?.so;'..package.cpath\" spec/support/rate_sender.lua %s %d %d %d %s %s %s "
    .. ">%s.log 2>&1 &", H.runtime, root, root, root, H.runtime, H.http, redis.port, n, RATE, tag, out,
    fallback or "", out))
end

describe("one pace per origination number across processes", function()
  local redis, nginx, work
  setup(function()
    H.require_standin()
    work = H.run("mktemp -d /tmp/whatsapp-rate.XXXXXX"):match("^(%S+)")
    redis = R.start()
    nginx = N.start {
      workers = 4,
      env = { WA_STANDIN_HTTP = H.http, WA_REDIS_PORT = tostring(redis.port) },
      http = [[
        lua_shared_dict wa_rate 1m;
        lua_shared_dict wa_results 1m;
        init_worker_by_lua_block { require("nginx_rate").init_worker() }
      ]],
      server = [[
        location = /go { content_by_lua_block { require("nginx_rate").go() } }
        location = /results { content_by_lua_block { require("nginx_rate").results() } }
      ]],
    }
  end)
  teardown(function()
    N.stop(nginx)
    R.stop(redis)
    if work then os.execute("rm -rf " .. work) end
  end)
  before_each(function() H.reset() end)

  it("Redis: 4 nginx workers and a plain Lua process send 300 at rate = 50 together", function()
    local tag, out = "redis1", work .. "/redis1.json"
    plain_sender(redis, 60, tag, out)
    get(nginx, "/go?tag=" .. tag .. "&n=60&rate=" .. RATE .. "&limiter=redis")
    local res, plain = wait_done(nginx, tag, 4, out)
    assert.are.same({ done = 4, ok = 240 }, res)
    assert.are.same({ ok = 60 }, plain)
    assert_paced(arrivals(tag, 300), RATE)
  end)

  it("a lua_shared_dict: the 4 workers of one nginx send 300 at rate = 50 together", function()
    local tag = "dict1"
    get(nginx, "/go?tag=" .. tag .. "&n=75&rate=" .. RATE .. "&limiter=dict")
    local res = wait_done(nginx, tag, 4)
    assert.are.same({ done = 4, ok = 300 }, res)
    assert_paced(arrivals(tag, 300), RATE)
  end)

  it("a client's rate paces send, send_batch and a call of its own process", function()
    local c = H.client { rate = 20 }
    local t0 = core.monotonic()
    for i = 1, 5 do assert(c:send { to = "+14255550123", type = "text", text = { body = "own " .. i } }) end
    local results = assert(c:send_batch({
      { to = "+14255550123", type = "text", text = { body = "own 6" } },
      { to = "+14255550123", type = "text", text = { body = "own 7" } },
    }))
    assert.is_string(results[2].message_id)
    -- 7 turns at 20/s: the last starts 0.3 s after the first
    assert.is_true(core.monotonic() - t0 >= 0.29)
    local times = arrivals("own", 7)
    assert.is_true(times[7] - times[1] >= 0.27, "7 arrived within " .. (times[7] - times[1]) .. " s")
    -- a call for the same number takes the next turn (whatever the answer)
    c:delete_media("4490709327384033")
    assert.is_true(core.monotonic() - t0 >= 0.34) -- its turn is the 8th
  end)

  it("refuses a bad rate or limiter naming the option", function()
    local _, err = whatsapp.new { region = "us-east-1", rate = 0 }
    assert.are.same({ "ParamValidationError", "rate" }, { err.code, err.field })
    _, err = whatsapp.new { region = "us-east-1", rate = 5, rate_limiter = "no_such_dict" }
    assert.are.equal("rate_limiter", err.field)
    assert.matches("not running inside nginx", err.message)
    _, err = whatsapp.new { region = "us-east-1", rate = 5, rate_limiter = { prefix = "x" } }
    assert.are.equal("rate_limiter", err.field)
    _, err = whatsapp.new { region = "us-east-1", rate = 5, rate_limiter_fallback = "maybe" }
    assert.are.equal("rate_limiter_fallback", err.field)
  end)

  -- (these two stop Redis: they come last)
  it("Redis stopped mid-run: what is left fails with RateLimiterError, nothing lost, no crash", function()
    local tag, out = "down1", work .. "/down1.json"
    plain_sender(redis, 60, tag, out)
    get(nginx, "/go?tag=" .. tag .. "&n=60&rate=" .. RATE .. "&limiter=redis")
    os.execute("sleep 1.5")
    R.stop(redis)
    local res, plain = wait_done(nginx, tag, 4, out)
    local sent = #arrivals(tag, (res.ok or 0) + (plain.ok or 0))
    assert.is_true(sent > 0 and sent < 300, "sent " .. sent)
    assert.are.equal(240, (res.ok or 0) + (res.RateLimiterError or 0))
    assert.are.equal(60, (plain.ok or 0) + (plain.RateLimiterError or 0))
    assert.is_nil(N.log(nginx):find("exited on signal", 1, true))
  end)

  it("with rate_limiter_fallback = \"local\" each process paces on its own and says so once", function()
    local tag, out = "fallback1", work .. "/fallback1.json"
    plain_sender(redis, 10, tag, out, "local")
    get(nginx, "/go?tag=" .. tag .. "&n=10&rate=" .. RATE .. "&limiter=redis&fallback=local")
    local res, plain = wait_done(nginx, tag, 4, out)
    assert.are.same({ done = 4, ok = 40 }, res)
    assert.are.same({ ok = 10 }, plain)
    arrivals(tag, 50)
    local _, said = N.log(nginx):gsub("this process now paces on its own", "")
    assert.are.equal(4, said)
    local f = assert(io.open(out .. ".log"))
    local _, plain_said = f:read("*a"):gsub("this process now paces on its own", "")
    f:close()
    assert.are.equal(1, plain_said)
  end)
end)

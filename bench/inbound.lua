-- Inbound throughput (not a timed test; issue 16): how many signed SNS
-- notifications a receiver verifies and turns into events per second,
--   1. in process: receiver:handle on one core (this runtime), and
--   2. in one nginx worker: POSTs from curl --parallel to rx:nginx, whose
--      on_message only counts (so the figure is verify + parse + answer +
--      the timer that dispatches, with no reply sent).
-- The key and certificate are made by openssl, the certificate served by
-- the local HTTPS stand-in of the specs (spec/support/certsrv.py) and
-- fetched once. Dedupe is off (a function that always says "first"), so
-- one signed body can be posted again and again; every post is verified.
--   lua5.4 bench/inbound.lua [N]     (from the checkout, after make)
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local runtime = rawget(_G, "jit") and "luajit" or "lua5.4"
package.cpath = "build/" .. runtime .. "/?.so;" .. package.cpath

local core = require "whatsapp.core"
local F = require "spec.support.sns_fixture"
local N = require "spec.support.nginx_lua"

local n = tonumber(arg and arg[1]) or 20000

F.setup()
local ok, err = pcall(function()
  local always_first = function() return true end
  local t = F.notification() -- SignatureVersion 2, RSA-2048
  local body = F.body(t)

  -- 1. in process
  local rx = F.receiver { dedupe = always_first }
  assert(rx:handle { body = body } == 200)
  for _, version in ipairs { "2", "1" } do
    local b = F.body(F.notification(nil, { version = version }))
    local started = core.monotonic()
    for _ = 1, n do
      local status = rx:handle { body = b }
      if status ~= 200 then error("status " .. status) end
    end
    local s = core.monotonic() - started
    print(("%s handle, SignatureVersion %s: %d notifications in %.2f s = %.0f/s (%.1f us each)"):format(runtime,
      version, n, s, n / s, s / n * 1e6))
  end

  -- 2. one nginx worker
  local nginx = N.start {
    env = { WA_TEST_TOPIC = F.TOPIC, WA_TEST_CA = F.ca },
    http = "lua_ssl_trusted_certificate " .. F.ca .. ";\nlua_ssl_verify_depth 2;\nlua_shared_dict bench 1m;",
    server = table.concat({
      "location = /__ready { return 200; }",
      "location = /events { client_max_body_size 1m; client_body_buffer_size 1m; content_by_lua_block {",
      "  local inbound = require 'whatsapp.inbound'",
      "  RX = RX or assert(inbound.new { topic_arns = { os.getenv('WA_TEST_TOPIC') },",
      "    cert_host_pattern = '^localhost:%d+$', dedupe = function() return true end })",
      "  HANDLERS = HANDLERS or { on_message = function() ngx.shared.bench:incr('n', 1, 0) end }",
      "  RX:nginx(HANDLERS) } }",
      "location = /count { content_by_lua_block { ngx.say(ngx.shared.bench:get('n') or 0) } }",
    }, "\n"),
  }
  local ok2, err2 = pcall(function()
    local file = F.dir .. "/body.json"
    local f = assert(io.open(file, "wb"))
    f:write(body)
    f:close()
    local cfg = assert(io.open(F.dir .. "/curl.cfg", "wb"))
    for _ = 1, n do
      cfg:write('url = "', nginx.url, '/events"\ndata-binary = "@', file, '"\noutput = "/dev/null"\n',
        'write-out = "%{http_code} %{exitcode}\\n"\nnext\n') -- (next: options of one transfer only)
    end
    cfg:close()
    os.execute("curl -s -o /dev/null --data-binary @" .. file .. " " .. nginx.url .. "/events") -- warm: the cert fetch
    local started = core.monotonic()
    local p = assert(io.popen("curl -s --parallel --parallel-max 32 -K " .. F.dir .. "/curl.cfg 2>/dev/null"))
    local answers = {}
    for line in p:lines() do answers[line] = (answers[line] or 0) + 1 end
    p:close()
    local s = core.monotonic() - started
    local oks = answers["200 0"] or 0
    p = io.popen("curl -s " .. nginx.url .. "/count")
    local dispatched = tonumber(p:read("*a")) - 1
    p:close()
    print(("nginx, one worker: %d answered 200 in %.2f s = %.0f notifications/s verified and answered; "
      .. "%d dispatched to on_message"):format(oks, s, oks / s, dispatched))
    for answer, count in pairs(answers) do
      if answer ~= "200 0" then
        print(("  (%d transfers ended \"%s\": curl's status and exit code)"):format(count, answer))
      end
    end
  end)
  if os.getenv("BENCH_LOG") then print(N.log(nginx)) end
  N.stop(nginx)
  assert(ok2, err2)
end)
F.teardown()
assert(ok, err)

-- The locations of the nginx that spec/inbound_nginx_spec.lua starts: the
-- example reply bot (examples/nginx/reply_bot.lua), its certificate host
-- pointed at the local HTTPS stand-in (spec/support/certsrv.py).
local bot = require "reply_bot"

local _M = {}

function _M.events()
  return bot.serve { cert_host_pattern = "^localhost:%d+$", topic_arns = { os.getenv("WA_TEST_TOPIC") } }
end

return _M

-- The locations of the nginx that spec/inbound_nginx_spec.lua starts: the
-- example reply bot (examples/nginx/reply_bot.lua), its certificate host
-- pointed at the local HTTPS stand-in (spec/support/certsrv.py).
local bot = require "reply_bot"
local ngx = rawget(_G, "ngx")

local _M = {}

function _M.events()
  return bot.serve { cert_host_pattern = "^localhost:%d+$", topic_arns = { os.getenv("WA_TEST_TOPIC") } }
end

--- A new receiver for each request: its own certificate cache is empty,
-- so only the lua_shared_dict (cert_cache) can spare it the fetch. Counts
-- events in the shared dict "counts"; nothing is sent.
function _M.fresh()
  local inbound = require "whatsapp.inbound"
  local rx = assert(inbound.new { cert_host_pattern = "^localhost:%d+$", topic_arns = { os.getenv("WA_TEST_TOPIC") },
    cert_cache = "whatsapp_certs" })
  return rx:nginx { on_message = function() ngx.shared.counts:incr("messages", 1, 0) end }
end

return _M

--- The small HTTP interface the credential providers use (instance metadata,
-- container endpoint, STS):
--
--   http(method, url, headers, body, timeout)
--     -> status, body, headers ({lowercased name = value})
--      | nil, kind, message   (kind: connect, connect_timeout, timeout, tls, response, ...)
--
-- timeout is in seconds and bounds both connecting and the whole exchange.
-- This default one runs over the C core's libcurl handles (one per timeout
-- value, kept for keep-alive); another transport (OpenResty cosockets) only
-- has to be a function with the same shape.
local core = require "whatsapp.core"

local M = {}

local MAX_RESPONSE_BYTES = 1024 * 1024

--- opts: ca_file (PEM bundle to verify TLS with), user_agent.
function M.new(opts)
  opts = opts or {}
  local clients = {}
  return function(method, url, headers, body, timeout)
    local ms = math.max(1, math.ceil((timeout or 5) * 1000))
    local c = clients[ms]
    if not c then
      c = core.new_client {
        -- the core wants these for its send path; request() only uses the handle
        url = "http://localhost/", path = "/", host = "localhost", region = "none", service = "none",
        max_message_bytes = 0, connect_timeout_ms = ms, timeout_ms = ms,
        max_response_bytes = MAX_RESPONSE_BYTES, ca_file = opts.ca_file, user_agent = opts.user_agent,
      }
      clients[ms] = c
    end
    return c:request(method, url, headers, body)
  end
end

return M

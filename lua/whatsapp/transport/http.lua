--- The small HTTP interface the credential providers use (instance metadata,
-- container endpoint, STS):
--
--   http(method, url, headers, body, timeout)
--     -> status, body, headers ({lowercased name = value})
--      | nil, kind, message   (kind: connect, connect_timeout, timeout, tls, response, ...)
--
-- timeout is in seconds and bounds both connecting and the whole exchange.
-- This default one runs over one of the C core's libcurl handles (kept for
-- keep-alive), each request limited to its timeout (a deadline's time left
-- may make every timeout a new value); another transport (OpenResty
-- cosockets) only has to be a function with the same shape.
local core = require "whatsapp.core"

local M = {}

local MAX_RESPONSE_BYTES = 1024 * 1024

--- opts: ca_file (PEM bundle to verify TLS with), user_agent.
function M.new(opts)
  opts = opts or {}
  local c
  return function(method, url, headers, body, timeout)
    local ms = math.max(1, math.ceil((timeout or 5) * 1000))
    if not c then
      c = core.new_client {
        -- a plain HTTP handle (no url: it sends no message). Generous
        -- limits: each request's own time limit lowers them.
        connect_timeout_ms = 600000, timeout_ms = 600000,
        max_response_bytes = MAX_RESPONSE_BYTES, ca_file = opts.ca_file, user_agent = opts.user_agent,
      }
    end
    return c:request(method, url, headers, body, ms)
  end
end

return M

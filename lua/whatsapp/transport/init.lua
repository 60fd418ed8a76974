--- The transport contract, written once. A transport is what a client sends
-- through: the C core's libcurl client (core.new_client, src/lua_client.c)
-- or, inside nginx, whatsapp.transport.resty (cosockets). Both keep it;
-- whatsapp.service.send and whatsapp.service.call read their answers, and
-- errors.from_transport is the one mapping from a failure to an error.
--
--   transport:send(message, phone_number_id, meta_api_version, creds, offset, limit_ms)
--     message: a message table or its JSON text (the messaging_product the
--       client was made with joins a message that names none);
--     creds: { access_key_id =, secret_access_key =, session_token = | nil };
--     offset: seconds added to the local clock when signing (nil: 0);
--     limit_ms: this attempt's time limit (nil: the configured timeouts).
--   -> true, messageId, nil, nil, date              the common answer: a 2xx whose body is
--                                                   exactly {"messageId": id}, the id checked
--    | status, value, request_id, error_type, date, retry_after
--                                                   any other answer; value: the decoded
--                                                   JSON body, else the body text
--    | nil, kind, message[, field]                  no answer; kind: a key of errors.KINDS
--                                                   (field: the part of the message at fault
--                                                   when kind is "invalid")
--
--   transport:request(method, url, headers, body, limit_ms)
--     -> status, body, headers ({lowercased name = value}) | nil, kind, message
--   transport:batch(slots)    (libcurl only; see whatsapp.batch)
--     batch:add(transport, slot, <send's arguments>) -> true | nil, kind, message[, field]
--     batch:poll(timeout_ms); batch:result() -> slot, <send's answer> | nothing
--   transport:stats() -> { requests =, http_version =, ... }
--   transport:close()
--
-- date and retry_after are the answer's Date and x-amz-retry-after headers
-- (nil when absent), request_id its x-amzn-RequestId, error_type its
-- x-amzn-ErrorType.
local M = {}

--- The transport a client with these settings uses. cfg: what
-- core.new_client takes (url, host, path, region, service, product,
-- connect_timeout_ms, timeout_ms, max_message_bytes, ca_file, user_agent).
-- kind: "resty" (cosockets) or anything else (libcurl).
function M.new(kind, cfg)
  if kind == "resty" then return require("whatsapp.transport.resty").new(cfg) end
  return require("whatsapp.core").new_client(cfg)
end

return M

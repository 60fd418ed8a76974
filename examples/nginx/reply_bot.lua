-- A WhatsApp reply bot behind nginx: Amazon SNS posts each inbound event
-- (verified by whatsapp.inbound), nginx answers 200 at once, and then, in a
-- timer: a text is marked read (with the typing indicator) and echoed back;
-- a button or list reply is answered with the choice; statuses are logged.
-- reply_bot.conf next to this file has the nginx lines it needs.
--
--   location = /whatsapp/events {
--     content_by_lua_block { require("reply_bot").serve() }
--   }
local whatsapp = require "whatsapp"
local inbound = require "whatsapp.inbound"

local M = {}

--- The handlers, answering through client.
function M.handlers(client)
  return {
    on_message = function(event)
      if event.reply_id then -- a tapped button (interactive or template quick reply) or a list row
        assert(client:reply(event, "You chose: " .. (event.text or event.reply_id)))
      elseif event.type == "text" then
        client:mark_read(event, { typing = true }) -- "typing…" while we answer
        assert(client:reply(event, event.text))
      else
        assert(client:reply(event, "I read text and buttons only (got " .. tostring(event.type) .. ")"))
      end
    end,
    on_status = function(event)
      ngx.log(ngx.INFO, "message ", event.id, " is ", event.status)
    end,
  }
end

local rx, handlers

--- The content handler. overrides: more inbound.new options (tests point the
-- certificate host at a local stand-in with them).
function M.serve(overrides)
  if not rx then
    local opts = {
      topic_arns = { os.getenv("WHATSAPP_SNS_TOPIC_ARN") },
      dedupe = "whatsapp_inbound", -- lua_shared_dict: a retried MessageId is answered once across workers
      cert_cache = "whatsapp_certs", -- lua_shared_dict: one certificate fetch for all the workers
    }
    for k, v in pairs(overrides or {}) do opts[k] = v end
    rx = assert(inbound.new(opts))
    -- region, credentials and endpoint from the environment (the env lines of reply_bot.conf)
    handlers = M.handlers(assert(whatsapp.new {}))
  end
  return rx:nginx(handlers)
end

return M

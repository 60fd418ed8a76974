-- Sends one text message and prints its messageId.
--   lua5.4 examples/send_text.lua [TO] [TEXT]
-- Everything else comes from the environment, as it would in production:
-- AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN],
-- WHATSAPP_PHONE_NUMBER_ID, and optionally AWS_ENDPOINT_URL_SOCIALMESSAGING.
local whatsapp = require "whatsapp"

local to = arg[1] or os.getenv("WHATSAPP_TO") or "+14255550123"
local text = arg[2] or "Hello from Lua"

local id, err = whatsapp.send { to = to, type = "text", text = { body = text } }
if not id then
  io.stderr:write("send failed: ", tostring(err), "\n")
  os.exit(1)
end
print("messageId: " .. id)

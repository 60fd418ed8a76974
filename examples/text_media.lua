-- Sends one message of each text and media kind, a location, a contact card,
-- a reaction and a read receipt, and prints their messageIds.
--   lua5.4 examples/text_media.lua [TO]
-- Configuration comes from the environment, as in examples/send_text.lua.
-- Media ids below are placeholders: use ids from PostWhatsAppMessageMedia
-- (same origination phone number) or public https links.
local whatsapp = require "whatsapp"

local to = arg[1] or os.getenv("WHATSAPP_TO") or "+14255550123"

local function sent(kind, id, err)
  if not id then
    io.stderr:write(kind, " failed: ", tostring(err), "\n")
    os.exit(1)
  end
  print(kind .. ": " .. id)
end

sent("text", whatsapp.send_text(to, "Hello from Lua: https://www.lua.org", { preview_url = true }))
sent("image", whatsapp.send_image(to, "https://www.lua.org/images/lua-logo.gif", { caption = "Lua" }))
sent("video", whatsapp.send_video(to, { id = "1013859600285441" }, { caption = "A short video" }))
sent("audio", whatsapp.send_audio(to, { id = "1013859600285442" }))
sent("voice note", whatsapp.send_audio(to, { id = "1013859600285443" }, { voice = true }))
sent("document", whatsapp.send_document(to, { link = "https://www.lua.org/manual/5.4/manual.html" },
  { filename = "manual.html", caption = "The manual" }))
sent("sticker", whatsapp.send_sticker(to, { id = "1013859600285444" }))
sent("location", whatsapp.send_location(to, { latitude = -22.9794, longitude = -43.2330,
  name = "PUC-Rio", address = "Rua Marquês de São Vicente, 225, Rio de Janeiro" }))
sent("contacts", whatsapp.send_contacts(to, {
  name = { formatted_name = "Roberto Ierusalimschy", first_name = "Roberto", last_name = "Ierusalimschy" },
  org = { company = "PUC-Rio" },
  urls = { { url = "https://www.lua.org", type = "WORK" } },
}))
-- reactions and read receipts refer to a received message (its wamid)
local wamid = os.getenv("WHATSAPP_REPLY_TO") or "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
sent("reply", whatsapp.send_text(to, "This answers your message", { reply_to = wamid }))
sent("reaction", whatsapp.send_reaction(to, wamid, "👍"))
sent("read receipt", whatsapp.mark_read(wamid, { typing = true }))

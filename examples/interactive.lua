-- Sends one message of each interactive kind and prints their messageIds.
--   lua5.4 examples/interactive.lua [TO]
-- Configuration comes from the environment, as in examples/send_text.lua.
-- Catalog, product and flow ids are placeholders for your own.
local whatsapp = require "whatsapp"

local to = arg[1] or os.getenv("WHATSAPP_TO") or "+14255550123"
local catalog = os.getenv("WHATSAPP_CATALOG_ID") or "367025965434465"

local function sent(kind, id, err)
  if not id then
    io.stderr:write(kind, " failed: ", tostring(err), "\n")
    os.exit(1)
  end
  print(kind .. ": " .. id)
end

sent("buttons", whatsapp.send_buttons(to, "Shall we ship order 8841 today?",
  { { id = "ship-now", title = "Yes, today" }, { id = "ship-later", title = "Tomorrow" } },
  { header = "Order 8841", footer = "Reply with a button" }))
sent("buttons with an image", whatsapp.send_buttons(to, "Like it?", { "Yes", "No" },
  { header = { image = "https://www.lua.org/images/lua-logo.gif" } }))
sent("list", whatsapp.send_list(to, "Pick a delivery option", "Options", {
  { title = "Fast", rows = { { id = "priority", title = "Priority", description = "Next business day" } } },
  { title = "Cheap", rows = { { id = "ground", title = "Ground", description = "3 to 5 days" },
    { id = "pickup", title = "Pick up in store" } } },
}, { header = "Delivery" }))
sent("cta_url", whatsapp.send_cta_url(to, "The Lua 5.4 manual is online.", "Read it",
  "https://www.lua.org/manual/5.4/"))
sent("flow", whatsapp.send_flow(to, "Book your table in two taps", {
  id = "1234567890123456", cta = "Book", token = "booking-8841", screen = "WELCOME", data = { party = 2 },
}))
sent("flow by name", whatsapp.send_flow(to, "Sign up", { name = "signup_flow", cta = "Start",
  action = "data_exchange", mode = "draft" }))
sent("product", whatsapp.send_product(to, catalog, "SKU-ESPRESSO", { body = "Back in stock" }))
sent("product list", whatsapp.send_product_list(to, "Coffee", "Our beans this week", catalog, {
  { title = "Light", product_items = { "SKU-ETHIOPIA", "SKU-KENYA" } },
  { title = "Dark", product_items = { "SKU-SUMATRA" } },
}))
sent("catalog", whatsapp.send_catalog(to, "Browse everything we sell", { thumbnail = "SKU-ESPRESSO" }))
sent("location request", whatsapp.send_location_request(to, "Where should we deliver?"))

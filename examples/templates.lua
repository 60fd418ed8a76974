-- Sends template messages of each shape and prints their messageIds. The
-- templates must exist and be approved in your WhatsApp Business Account;
-- the names below are examples.
--   lua5.4 examples/templates.lua [TO]
-- Configuration comes from the environment, as in examples/send_text.lua.
local whatsapp = require "whatsapp"

local to = arg[1] or os.getenv("WHATSAPP_TO") or "+14255550123"

local function sent(kind, id, err)
  if not id then
    io.stderr:write(kind, " failed: ", tostring(err), "\n")
    os.exit(1)
  end
  print(kind .. ": " .. id)
end

sent("no parameters", whatsapp.send_template(to, "hello_world", "en_US"))
sent("header, body and buttons", whatsapp.send_template(to, "order_update", "en_US", {
  header = { image = "https://www.lua.org/images/lua-logo.gif" },
  body = {
    "Jane",
    { currency = { fallback_value = "$100.99", code = "USD", amount_1000 = 100990 } },
    { date_time = { fallback_value = "February 25, 1977" } },
  },
  buttons = { { quick_reply = "ORDER_OK" }, { url = "track/8841" } },
}))
sent("named parameters", whatsapp.send_template(to, "welcome_named", "en", {
  header = { order_id = "8841" }, -- a header text parameter named order_id
  body = { first_name = "Jane", city = "Rio" },
}))
sent("copy code", whatsapp.send_template(to, "coupon", "en", {
  body = { "20%" }, buttons = { { copy_code = "SAVE20" } },
}))
sent("authentication", whatsapp.send_template(to, "login_code", "en_US", { otp = "482913" }))
sent("limited-time offer", whatsapp.send_template(to, "flash_sale", "en_US", {
  header = { image = "https://www.lua.org/images/lua-logo.gif" },
  limited_time_offer = 1893456000000, -- expiry, ms since the epoch
  body = { "Jane" },
  buttons = { { copy_code = "FLASH10" }, { url = "sale" } },
}))
sent("flow button", whatsapp.send_template(to, "book_table", "en", {
  buttons = { { flow = { flow_token = "booking-8841", flow_action_data = { party = 2 } } } },
}))
sent("catalog button", whatsapp.send_template(to, "catalog_promo", "en", {
  body = { "10%" }, buttons = { { catalog = "SKU-ESPRESSO" } },
}))
sent("multi-product button", whatsapp.send_template(to, "new_arrivals", "en", {
  header = "Coffee", buttons = { { mpm = { thumbnail_product_retailer_id = "SKU-ESPRESSO",
    sections = { { title = "New", product_items = { { product_retailer_id = "SKU-KENYA" } } } } } } },
}))
sent("carousel", whatsapp.send_template(to, "summer_picks", "en_US", {
  body = { "Jane" },
  carousel = {
    { header = { image = "https://www.lua.org/images/lua-logo.gif" }, body = { "15%" },
      buttons = { { quick_reply = "more-1" }, { url = "picks/1" } } },
    { header = { video = { id = "1013859600285441" } }, body = { "20%" },
      buttons = { { quick_reply = "more-2" }, { url = "picks/2" } } },
  },
}))

-- whatsapp.message builders: each output is the exact JSON of
-- Meta's message reference (docs/REFERENCES.md), compared as decoded tables and
-- as the core's sorted-key encoding (which also tells 1 from 1.0).
local core = require "whatsapp.core"
local message = require "whatsapp.message"

local TO = "+16505551234"

-- want: the JSON of the reference example (type and its object); the
-- envelope members every builder adds are put in here.
local function same_json(json, msg, err, envelope)
  assert.is_nil(err)
  assert.is_table(msg)
  local want = assert(core.decode(json))
  want.messaging_product = "whatsapp"
  if envelope ~= false then want.to = want.to or TO end
  assert.are.same(want, msg)
  assert.are.equal(core.encode(want), core.encode(msg))
end

describe("whatsapp.message builds the exact JSON of", function()
  it("the envelope: recipient_type, context (reply_to), biz_opaque_callback_data", function()
    same_json([[{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234",
      "type":"text","text":{"body":"Hi"},"context":{"message_id":"wamid.HBgL..."},
      "biz_opaque_callback_data":"order-8841"}]],
      message.text(TO, "Hi", { recipient_type = "individual", reply_to = "wamid.HBgL...",
        callback_data = "order-8841" }))
  end)

  it("text with preview_url, in the short and the table form", function()
    local json = [[{"type":"text","text":{"body":"Hi https://example.com","preview_url":true}}]]
    same_json(json, message.text(TO, "Hi https://example.com", { preview_url = true }))
    same_json(json, message.text(TO, { body = "Hi https://example.com", preview_url = true }))
    same_json([[{"type":"text","text":{"body":"plain"}}]], message.text(TO, "plain"))
  end)

  it("image by id with a caption, and by link", function()
    same_json([[{"type":"image","image":{"id":"1013859600285441","caption":"The best succulent ever?"}}]],
      message.image(TO, { id = "1013859600285441" }, { caption = "The best succulent ever?" }))
    same_json([[{"type":"image","image":{"link":"https://example.com/a.png","caption":"…"}}]],
      message.image(TO, "https://example.com/a.png", { caption = "…" }))
    same_json([[{"type":"image","image":{"link":"https://example.com/a.png","caption":"…"}}]],
      message.image(TO, { link = "https://example.com/a.png", caption = "…" }))
  end)

  it("video, document with filename, audio, voice note, sticker", function()
    same_json([[{"type":"video","video":{"id":"123","caption":"…"}}]],
      message.video(TO, { id = "123" }, { caption = "…" }))
    same_json([[{"type":"document","document":{"id":"456","caption":"Invoice","filename":"lucky-shrub-invoice.pdf"}}]],
      message.document(TO, { id = "456" }, { caption = "Invoice", filename = "lucky-shrub-invoice.pdf" }))
    same_json([[{"type":"audio","audio":{"id":"789"}}]], message.audio(TO, { id = "789" }))
    same_json([[{"type":"audio","audio":{"id":"789","voice":true}}]],
      message.audio(TO, { id = "789" }, { voice = true }))
    same_json([[{"type":"sticker","sticker":{"id":"321"}}]], message.sticker(TO, { id = "321" }))
    same_json([[{"type":"sticker","sticker":{"link":"https://example.com/s.webp"}}]],
      message.sticker(TO, "https://example.com/s.webp"))
  end)

  it("location", function()
    same_json([[{"type":"location","location":{"latitude":37.44216251868683,"longitude":-122.16153582049394,
      "name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301"}}]],
      message.location(TO, { latitude = 37.44216251868683, longitude = -122.16153582049394,
        name = "Philz Coffee", address = "101 Forest Ave, Palo Alto, CA 94301" }))
  end)

  it("contacts: the full card, alone or in a list", function()
    local json = [[{"type":"contacts","contacts":[{
      "name":{"formatted_name":"John Smith","first_name":"John","last_name":"Smith",
              "middle_name":"D.","prefix":"Dr","suffix":"Jr"},
      "birthday":"2012-08-18",
      "phones":[{"phone":"+1 (650) 555-1234","type":"WORK","wa_id":"16505551234"}],
      "emails":[{"email":"test@whatsapp.com","type":"HOME"}],
      "addresses":[{"street":"1 Hacker Way","city":"Menlo Park","state":"CA","zip":"94025",
                    "country":"United States","country_code":"us","type":"WORK"}],
      "org":{"company":"WhatsApp","department":"Design","title":"Manager"},
      "urls":[{"url":"https://www.whatsapp.com","type":"HOME"}]}]}]]
    local card = core.decode(json).contacts[1]
    same_json(json, message.contacts(TO, card))
    same_json(json, message.contacts(TO, { card }))
  end)

  it("a reaction and its removal", function()
    same_json([[{"type":"reaction","reaction":{"message_id":"wamid.HBgL...","emoji":"\uD83D\uDE00"}}]],
      message.reaction(TO, "wamid.HBgL...", "😀"))
    same_json([[{"type":"reaction","reaction":{"message_id":"wamid.HBgL...","emoji":""}}]],
      message.remove_reaction(TO, "wamid.HBgL..."))
  end)

  describe("interactive", function()
    it("reply buttons, with a text or media header and a footer", function()
      local json = [[{"type":"interactive","interactive":{"type":"button",
        "header":{"type":"text","text":"Order 8841"},"body":{"text":"Confirm?"},"footer":{"text":"Lucky Shrub"},
        "action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},
                             {"type":"reply","reply":{"id":"no","title":"No"}}]}}}]]
      same_json(json, message.buttons(TO, "Confirm?", { { id = "yes", title = "Yes" }, { id = "no", title = "No" } },
        { header = "Order 8841", footer = "Lucky Shrub" }))
      same_json([[{"type":"interactive","interactive":{"type":"button",
        "header":{"type":"image","image":{"link":"https://example.com/a.png"}},"body":{"text":"Pick"},
        "action":{"buttons":[{"type":"reply","reply":{"id":"A","title":"A"}}]}}}]],
        message.buttons(TO, "Pick", { "A" }, { header = { image = "https://example.com/a.png" } }))
      same_json([[{"type":"interactive","interactive":{"type":"button",
        "header":{"type":"document","document":{"id":"77"}},"body":{"text":"Pick"},
        "action":{"buttons":[{"type":"reply","reply":{"id":"A","title":"A"}}]}}}]],
        message.buttons(TO, "Pick", { "A" }, { header = { type = "document", document = { id = "77" } } }))
    end)

    it("a list, with sections or with rows directly", function()
      same_json([[{"type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"Shipping"},
        "body":{"text":"Choose"},"footer":{"text":"f"},
        "action":{"button":"Shipping Options","sections":[
          {"title":"Fast","rows":[{"id":"priority","title":"Priority","description":"Next day"}]},
          {"title":"Cheap","rows":[{"id":"ground","title":"Ground"}]}]}}}]],
        message.list(TO, "Choose", "Shipping Options", {
          { title = "Fast", rows = { { id = "priority", title = "Priority", description = "Next day" } } },
          { title = "Cheap", rows = { { id = "ground", title = "Ground" } } },
        }, { header = "Shipping", footer = "f" }))
      same_json([[{"type":"interactive","interactive":{"type":"list","body":{"text":"Choose"},
        "action":{"button":"Open","sections":[{"rows":[{"id":"a","title":"A"},{"id":"b","title":"B"}]}]}}}]],
        message.list(TO, "Choose", "Open", { { id = "a", title = "A" }, { id = "b", title = "B" } }))
    end)

    it("cta_url", function()
      same_json([[{"type":"interactive","interactive":{"type":"cta_url","header":{"type":"text","text":"Tour"},
        "body":{"text":"Tap to see dates"},
        "action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://example.com/tour"}}}}]],
        message.cta_url(TO, "Tap to see dates", "See Dates", "https://example.com/tour", { header = "Tour" }))
    end)

    it("flow by id (navigate, with a first screen) and by name (data_exchange)", function()
      same_json([[{"type":"interactive","interactive":{"type":"flow","header":{"type":"text","text":"Booking"},
        "body":{"text":"Book a table"},
        "action":{"name":"flow","parameters":{"flow_message_version":"3","flow_token":"TOKEN","flow_id":"1234",
          "flow_cta":"Book!","flow_action":"navigate","flow_action_payload":{"screen":"WELCOME","data":{"n":1}},
          "mode":"published"}}}}]],
        message.flow(TO, "Book a table", { id = "1234", token = "TOKEN", cta = "Book!", action = "navigate",
          screen = "WELCOME", data = { n = 1 }, mode = "published" }, { header = "Booking" }))
      same_json([[{"type":"interactive","interactive":{"type":"flow","body":{"text":"Sign up"},
        "action":{"name":"flow","parameters":{"flow_message_version":"3","flow_name":"signup",
          "flow_cta":"Go","flow_action":"data_exchange","mode":"draft"}}}}]],
        message.flow(TO, "Sign up", { flow_name = "signup", flow_cta = "Go", flow_action = "data_exchange",
          mode = "draft" }))
    end)

    it("product, product_list, catalog_message, location_request_message", function()
      same_json([[{"type":"interactive","interactive":{"type":"product","body":{"text":"Look"},
        "action":{"catalog_id":"367025965434465","product_retailer_id":"SKU1"}}}]],
        message.product(TO, "367025965434465", "SKU1", { body = "Look" }))
      same_json([[{"type":"interactive","interactive":{"type":"product_list","header":{"type":"text","text":"Menu"},
        "body":{"text":"Pick"},"action":{"catalog_id":"367","sections":[
          {"title":"Hot","product_items":[{"product_retailer_id":"a"},{"product_retailer_id":"b"}]},
          {"title":"Cold","product_items":[{"product_retailer_id":"c"}]}]}}}]],
        message.product_list(TO, "Menu", "Pick", "367", {
          { title = "Hot", product_items = { "a", { product_retailer_id = "b" } } },
          { title = "Cold", product_items = { "c" } },
        }))
      same_json([[{"type":"interactive","interactive":{"type":"catalog_message","body":{"text":"Our catalog"},
        "action":{"name":"catalog_message","parameters":{"thumbnail_product_retailer_id":"2lc20305pt"}}}}]],
        message.catalog(TO, "Our catalog", { thumbnail = "2lc20305pt" }))
      same_json([[{"type":"interactive","interactive":{"type":"location_request_message",
        "body":{"text":"Where are you?"},"action":{"name":"send_location"}}}]],
        message.location_request(TO, "Where are you?"))
    end)

    it("call_permission_request: Meta's example, a body only, or none", function()
      same_json([[{"type":"interactive","interactive":{"type":"call_permission_request",
        "action":{"name":"call_permission_request"},
        "body":{"text":"We would like to call you to help support your query on Order No: ON-12853."}}}]],
        message.call_permission_request(TO,
          "We would like to call you to help support your query on Order No: ON-12853."))
      same_json([[{"type":"interactive","interactive":{"type":"call_permission_request",
        "action":{"name":"call_permission_request"},"body":{"text":"Call?"}},"context":{"message_id":"wamid.A"}}]],
        message.call_permission_request(TO, { text = "Call?" }, { reply_to = "wamid.A" }))
      same_json([[{"type":"interactive","interactive":{"type":"call_permission_request",
        "action":{"name":"call_permission_request"}}}]], message.call_permission_request(TO))
      local _, err = message.call_permission_request(TO, string.rep("é", 1025))
      assert.are.equal("interactive.body.text: at most 1024 characters (got 1025)", err.message)
      assert.has_error(function() message.call_permission_request(TO, "b", { header = "h" }) end,
        "whatsapp.message.call_permission_request: unknown option 'header'")
      assert.has_error(function() message.call_permission_request(TO, "b", { footer = "f" }) end,
        "whatsapp.message.call_permission_request: unknown option 'footer'")
      assert.has_error(function() message.call_permission_request(TO, 5) end,
        "whatsapp.message.call_permission_request: body must be a string or table or nil (got number)")
      assert.are.equal(2, message.arity.call_permission_request)
    end)

    it("any interactive object given whole", function()
      local json = [[{"type":"interactive","interactive":{"type":"location_request_message",
        "body":{"text":"Where?"},"action":{"name":"send_location"}}}]]
      same_json(json, message.interactive(TO, core.decode(json).interactive))
    end)
  end)

  describe("template", function()
    it("the reference example, from the short form and from the full form", function()
      local json = [[{"type":"template","template":{
        "name":"order_update",
        "language":{"code":"en_US"},
        "components":[
          {"type":"header","parameters":[{"type":"image","image":{"id":"<MEDIA_ID>"}}]},
          {"type":"body","parameters":[
            {"type":"text","text":"Jane"},
            {"type":"currency","currency":{"fallback_value":"$100.99","code":"USD","amount_1000":100990}},
            {"type":"date_time","date_time":{"fallback_value":"February 25, 1977"}}]},
          {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"ORDER_OK"}]},
          {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"track/8841"}]}]}}]]
      same_json(json, message.template(TO, "order_update", "en_US", {
        header = { image = { id = "<MEDIA_ID>" } },
        body = { "Jane", { currency = { fallback_value = "$100.99", code = "USD", amount_1000 = 100990 } },
          { date_time = { fallback_value = "February 25, 1977" } } },
        buttons = { { quick_reply = "ORDER_OK" }, { url = "track/8841" } },
      }))
      local tpl = core.decode(json).template
      same_json(json, message.template(TO, tpl.name, tpl.language, tpl.components))
      same_json(json, message.template(TO, tpl))
    end)

    it("without components, and with a language table", function()
      same_json([[{"type":"template","template":{"name":"simple_template","language":{"code":"en_US"}}}]],
        message.template(TO, "simple_template", "en_US"))
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"pt_BR","policy":"deterministic"}}}]],
        message.template(TO, "t", { code = "pt_BR", policy = "deterministic" }))
    end)

    it("the short form: a string body, text/video/document/location headers", function()
      same_json([[{"type":"template","template":{"name":"statement","language":{"code":"en_US"},
        "components":[{"type":"body","parameters":[{"type":"text","text":"1000"}]}]}}]],
        message.template(TO, "statement", "en_US", { body = "1000" }))
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},
        "components":[{"type":"header","parameters":[{"type":"text","text":"Hi"}]}]}}]],
        message.template(TO, "t", "en", { header = "Hi" }))
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},
        "components":[{"type":"header","parameters":[{"type":"video","video":{"link":"https://x.test/v.mp4"}}]}]}}]],
        message.template(TO, "t", "en", { header = { video = "https://x.test/v.mp4" } }))
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},
        "components":[{"type":"header","parameters":[{"type":"document",
          "document":{"id":"9","filename":"a.pdf"}}]}]}}]],
        message.template(TO, "t", "en", { header = { document = { id = "9", filename = "a.pdf" } } }))
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},
        "components":[{"type":"header","parameters":[{"type":"location","location":{"latitude":37.48,
          "longitude":-122.14,"name":"Shop","address":"1 Hacker Way"}}]}]}}]],
        message.template(TO, "t", "en", { header = { location = { latitude = 37.48, longitude = -122.14,
          name = "Shop", address = "1 Hacker Way" } } }))
    end)

    it("named parameters (parameter_name), from a map sorted by name", function()
      same_json([[{"type":"template","template":{"name":"order_update","language":{"code":"en_US"},
        "components":[
          {"type":"header","parameters":[{"type":"text","parameter_name":"order_id","text":"8841"}]},
          {"type":"body","parameters":[
          {"type":"currency","parameter_name":"amount",
            "currency":{"fallback_value":"$5","code":"USD","amount_1000":5000}},
          {"type":"text","parameter_name":"first_name","text":"Jane"}]}]}}]],
        message.template(TO, "order_update", "en_US", {
          header = { order_id = "8841" },
          body = { first_name = "Jane",
            amount = { currency = { fallback_value = "$5", code = "USD", amount_1000 = 5000 } } },
        }))
    end)

    it("every button sub_type: quick_reply, url, copy_code, flow, catalog, mpm", function()
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},"components":[
        {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"P"}]},
        {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"track/1"}]},
        {"type":"button","sub_type":"copy_code","index":"2",
          "parameters":[{"type":"coupon_code","coupon_code":"SAVE20"}]},
        {"type":"button","sub_type":"flow","index":"3","parameters":[{"type":"action",
          "action":{"flow_token":"FT","flow_action_data":{"k":"v"}}}]},
        {"type":"button","sub_type":"catalog","index":"4","parameters":[{"type":"action",
          "action":{"thumbnail_product_retailer_id":"sku1"}}]},
        {"type":"button","sub_type":"mpm","index":"5","parameters":[{"type":"action",
          "action":{"thumbnail_product_retailer_id":"sku1","sections":[{"title":"All",
            "product_items":[{"product_retailer_id":"sku1"},{"product_retailer_id":"sku2"}]}]}}]}]}}]],
        message.template(TO, "t", "en", { buttons = {
          { quick_reply = "P" }, { url = "track/1" }, { copy_code = "SAVE20" },
          { flow = { flow_token = "FT", flow_action_data = { k = "v" } } },
          { catalog = "sku1" },
          { mpm = { thumbnail_product_retailer_id = "sku1", sections = { { title = "All",
            product_items = { { product_retailer_id = "sku1" }, { product_retailer_id = "sku2" } } } } } },
        } }))
    end)

    it("buttons keep their template positions: false skips one, index overrides", function()
      same_json([[{"type":"template","template":{"name":"t","language":{"code":"en"},"components":[
        {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"x"}]},
        {"type":"button","sub_type":"quick_reply","index":"5","parameters":[{"type":"payload","payload":"Q"}]}]}}]],
        message.template(TO, "t", "en", { buttons = { false, { url = "x" }, { quick_reply = "Q", index = 5 } } }))
    end)

    it("a button index given as a number is sent as a string, in every form, leaving the caller's tables", function()
      local function url_button(i) return { type = "button", sub_type = "url", index = i,
        parameters = { { type = "text", text = "x" } } } end
      local given = { url_button(0), url_button("1") }
      local msg = assert(message.template(TO, "t", "en", given))
      assert.are.equal("0", msg.template.components[1].index)
      assert.are.equal("1", msg.template.components[2].index)
      assert.are.equal(0, given[1].index) -- the caller's component is copied, not changed
      local encoded = core.encode(msg)
      assert.matches('"index":"0"', encoded, 1, true)
      assert.is_nil(encoded:find('"index":%d'))
      -- the short form with a full component in its buttons, and with index = n
      msg = assert(message.template(TO, "t", "en", { buttons = { url_button(2), { url = "y", index = 3 } } }))
      assert.are.equal("2", msg.template.components[1].index)
      assert.are.equal("3", msg.template.components[2].index)
      -- the whole template object, with a carousel whose cards hold buttons
      local card_button = { type = "button", sub_type = "quick_reply", index = 0,
        parameters = { { type = "payload", payload = "p" } } }
      local whole = { name = "t", language = { code = "en" }, components = { { type = "carousel", cards = {
        { card_index = 0, components = { { type = "header", parameters = { { type = "image", image = { id = "1" } } } },
          card_button } } } } } }
      msg = assert(message.template(TO, whole))
      assert.are.equal("0", msg.template.components[1].cards[1].components[2].index)
      assert.are.equal(0, card_button.index)
      assert.are.equal(0, whole.components[1].cards[1].components[2].index)
      -- short-form carousel cards too; and validate = false sends "4" as well
      msg = assert(message.template(TO, "t", "en", { carousel = { { header = { image = { id = "1" } },
        buttons = { { quick_reply = "a", index = 1 } } } } }))
      assert.are.equal("1", msg.template.components[1].cards[1].components[2].index)
      msg = assert(message.template(TO, "t", "en", { url_button(4) }, { validate = false }))
      assert.are.equal("4", msg.template.components[1].index)
      -- what is no index 0..9 is left for validation to name
      local _, err = message.template(TO, "t", "en", { url_button(10) })
      assert.are.equal("template.components[1].index", err.field)
      assert.matches("must be 0%.%.9 %(got 10%)", err.message)
    end)

    it("an authentication (OTP) template: the code in the body and in url button 0", function()
      same_json([[{"type":"template","template":{"name":"auth","language":{"code":"en_US"},"components":[
        {"type":"body","parameters":[{"type":"text","text":"J$FpnYnP"}]},
        {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"J$FpnYnP"}]}]}}]],
        message.template(TO, "auth", "en_US", { otp = "J$FpnYnP" }))
    end)

    it("a limited-time offer", function()
      same_json([[{"type":"template","template":{"name":"lto","language":{"code":"en_US"},"components":[
        {"type":"header","parameters":[{"type":"image","image":{"link":"https://x.test/p.png"}}]},
        {"type":"limited_time_offer","parameters":[{"type":"limited_time_offer",
          "limited_time_offer":{"expiration_time_ms":1704881963523}}]},
        {"type":"body","parameters":[{"type":"text","text":"Pablo"}]},
        {"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"SAVE"}]},
        {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"n3mtql"}]}]}}]],
        message.template(TO, "lto", "en_US", {
          header = { image = "https://x.test/p.png" }, limited_time_offer = 1704881963523, body = { "Pablo" },
          buttons = { { copy_code = "SAVE" }, { url = "n3mtql" } },
        }))
    end)

    it("a carousel of cards, each with its header, body and buttons", function()
      same_json([[{"type":"template","template":{"name":"carousel","language":{"code":"en_US"},"components":[
        {"type":"body","parameters":[{"type":"text","text":"20OFF"}]},
        {"type":"carousel","cards":[
          {"card_index":0,"components":[
            {"type":"header","parameters":[{"type":"image","image":{"id":"111"}}]},
            {"type":"body","parameters":[{"type":"text","text":"10"}]},
            {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"more-1"}]},
            {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"p/1"}]}]},
          {"card_index":1,"components":[
            {"type":"header","parameters":[{"type":"video","video":{"link":"https://x.test/v.mp4"}}]},
            {"type":"button","sub_type":"quick_reply","index":"0",
             "parameters":[{"type":"payload","payload":"more-2"}]}]}
        ]}]}}]],
        message.template(TO, "carousel", "en_US", {
          body = { "20OFF" },
          carousel = {
            { header = { image = { id = "111" } }, body = { "10" },
              buttons = { { quick_reply = "more-1" }, { url = "p/1" } } },
            { header = { video = "https://x.test/v.mp4" }, buttons = { { quick_reply = "more-2" } } },
          },
        }))
    end)
  end)

  it("mark_read, with and without the typing indicator", function()
    local msg, err = message.mark_read("wamid.HBgL...")
    same_json([[{"messaging_product":"whatsapp","status":"read","message_id":"wamid.HBgL..."}]], msg, err, false)
    msg, err = message.mark_read("wamid.HBgL...", { typing = true })
    same_json([[{"messaging_product":"whatsapp","status":"read","message_id":"wamid.HBgL...",
      "typing_indicator":{"type":"text"}}]], msg, err, false)
  end)
end)

describe("whatsapp.message arguments", function()
  it("raises for wrong argument types and unknown or mistyped options", function()
    assert.has_error(function() message.text(16505551234, "x") end,
      "whatsapp.message.text: to must be a string (got number)")
    assert.has_error(function() message.text(TO, 5) end,
      "whatsapp.message.text: body must be a string or table (got number)")
    assert.has_error(function() message.text(TO, "x", { previewurl = true }) end,
      "whatsapp.message.text: unknown option 'previewurl'")
    assert.has_error(function() message.text(TO, "x", { preview_url = "yes" }) end,
      "whatsapp.message.text: option 'preview_url' must be a boolean (got string)")
    assert.has_error(function() message.text(TO, "x", "opts") end,
      "whatsapp.message.text: opts must be a table (got string)")
    assert.has_error(function() message.audio(TO, { id = "1" }, { caption = "c" }) end,
      "whatsapp.message.audio: unknown option 'caption'")
    assert.has_error(function() message.mark_read("w", { reply_to = "x" }) end,
      "whatsapp.message.mark_read: unknown option 'reply_to'")
    assert.has_error(function() message.template(TO, "t", 5) end,
      "whatsapp.message.template: language must be a string or table (got number)")
  end)

  it("refuses a value given twice instead of dropping one", function()
    local msg, err = message.image(TO, { id = "1", caption = "a" }, { caption = "b" })
    assert.is_nil(msg)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("image.caption", err.field)
    assert.matches("given twice", err.message)
    msg, err = message.flow(TO, "b", { id = "1", flow_id = "2", cta = "Go" })
    assert.is_nil(msg)
    assert.are.equal("interactive.action.parameters.flow_id", err.field)
  end)

  it("passes unknown keys of data tables on, where validation names them", function()
    local msg, err = message.buttons(TO, "b", { { id = "a", title = "A", colour = "red" } })
    assert.is_nil(msg)
    assert.are.equal("interactive.action.buttons[1].reply.colour", err.field)
    assert.matches("unknown field", err.message)
    msg, err = message.template(TO, "t", "en", { buttons = { { url = "x", colour = "red" } } })
    assert.is_nil(msg)
    assert.are.equal("template.components[1].colour", err.field)
    msg, err = message.template(TO, "t", "en", { bdy = { "x" } })
    assert.is_nil(msg)
    assert.are.equal("template.components.bdy", err.field)
    assert.matches("unknown component", err.message)
  end)

  it("validate = false builds without checking", function()
    local msg = assert(message.text("not a number", "x", { validate = false }))
    assert.are.equal("not a number", msg.to)
    assert.is_nil((message.text("not a number", "x")))
  end)

  it("does not change the caller's tables", function()
    local media = { id = "1" }
    assert(message.image(TO, media, { caption = "c" }))
    assert.are.same({ id = "1" }, media)
    local body = { first_name = "Jane" }
    assert(message.template(TO, "t", "en", { body = body }))
    assert.are.same({ first_name = "Jane" }, body)
  end)

  it("refuses an OTP code over 15 characters and an OTP with its own body", function()
    local _, err = message.template(TO, "auth", "en", { otp = string.rep("1", 16) })
    assert.are.equal("template.components.otp", err.field)
    assert.matches("at most 15 characters %(got 16%)", err.message)
    _, err = message.template(TO, "auth", "en", { otp = "1", body = { "x" } })
    assert.are.equal("template.components.otp", err.field)
  end)
end)

describe("whatsapp.message without the C core", function()
  local H = require "spec.support.helper"
  it("loads and builds with package.cpath empty and whatsapp.core unavailable", function()
    local script = [[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      package.cpath = ""
      assert(not pcall(require, "whatsapp.core"), "whatsapp.core should not load here")
      local message = require "whatsapp.message"
      assert(package.loaded["whatsapp.core"] == nil, "whatsapp.message loaded the C core")
      local msg = assert(message.template("+16505551234", "t", "en", { body = { "Jane" } }))
      assert(msg.template.components[1].parameters[1].text == "Jane")
      local bad, err = message.text("+1", string.rep("é", 4097))
      assert(bad == nil and err.field == "text.body", tostring(err))
      io.write("ok ", tostring(err))
    ]]
    local out = H.run(H.runtime .. " -e '" .. script:gsub("'", "'\\''") .. "'")
    assert.matches("ok ParamValidationError: text.body: at most 4096 characters %(got 4097%)", out)
    assert.matches("exit=0", out)
  end)
end)

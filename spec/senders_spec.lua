-- client:send_* and whatsapp.send_*: one message of each kind through the
-- stand-in (which checks the signature with botocore and records the decoded
-- WhatsApp JSON), option routing, and validation of hand-built tables.
local H = require "spec.support.helper"
local message = require "whatsapp.message"
local senders = require "whatsapp.senders"
local whatsapp = require "whatsapp"

local unpack = rawget(table, "unpack") or rawget(_G, "unpack")

local TO = "+14255550123"
local CARD = { name = { formatted_name = "John Smith", first_name = "John" },
  phones = { { phone = "+1 (650) 555-1234", type = "WORK", wa_id = "16505551234" } } }

-- method, builder, arguments (builder options only, so the same call builds
-- the expected table)
local KINDS = {
  { "send_text", "text", { TO, "Hello https://example.com",
    { preview_url = true, reply_to = "wamid.A", callback_data = "cb-1" } } },
  { "send_image", "image", { TO, "https://example.com/a.png", { caption = "A" } } },
  { "send_video", "video", { TO, { id = "1013859600285441" }, { caption = "V" } } },
  { "send_audio", "audio", { TO, { id = "55" }, { voice = true } } },
  { "send_document", "document", { TO, { link = "https://example.com/i.pdf" },
    { filename = "i.pdf", caption = "I" } } },
  { "send_sticker", "sticker", { TO, { id = "66" } } },
  { "send_location", "location", { TO, { latitude = 37.44216251868683, longitude = -122.16153582049394,
    name = "Philz Coffee" } } },
  { "send_contacts", "contacts", { TO, CARD } },
  { "send_reaction", "reaction", { TO, "wamid.B", "👍" } },
  { "send_remove_reaction", "remove_reaction", { TO, "wamid.B" } },
  { "send_interactive", "interactive", { TO, { type = "location_request_message", body = { text = "Where?" },
    action = { name = "send_location" } } } },
  { "send_buttons", "buttons", { TO, "Confirm?", { { id = "yes", title = "Yes" }, "No" },
    { header = { image = "https://example.com/h.png" }, footer = "f" } } },
  { "send_list", "list", { TO, "Choose", "Options", {
    { title = "Fast", rows = { { id = "p", title = "Priority" } } },
    { title = "Cheap", rows = { { id = "g", title = "Ground", description = "5 days" } } },
  }, { header = "Shipping" } } },
  { "send_cta_url", "cta_url", { TO, "See the dates", "See Dates", "https://example.com/tour" } },
  { "send_flow", "flow", { TO, "Book a table", { id = "1234", cta = "Book!", token = "T", screen = "WELCOME",
    data = { party = 2 } } } },
  { "send_product", "product", { TO, "367025965434465", "SKU1", { body = "Look" } } },
  { "send_product_list", "product_list", { TO, "Menu", "Pick", "367025965434465",
    { { title = "Hot", product_items = { "a", "b" } }, { title = "Cold", product_items = { "c" } } } } },
  { "send_catalog", "catalog", { TO, "Our catalog", { thumbnail = "2lc20305pt" } } },
  { "send_location_request", "location_request", { TO, "Where are you?" } },
  { "send_call_permission_request", "call_permission_request", { TO, "May we call you about order ON-12853?" } },
  { "send_template", "template", { TO, "order_update", "en_US", {
    header = { image = { id = "MEDIA" } },
    body = { "Jane", { currency = { fallback_value = "$100.99", code = "USD", amount_1000 = 100990 } },
      { date_time = { fallback_value = "February 25, 1977" } } },
    buttons = { { quick_reply = "ORDER_OK" }, { url = "track/8841" }, { copy_code = "SAVE20" },
      { flow = { flow_token = "FT" } }, { catalog = "sku" },
      { mpm = { thumbnail_product_retailer_id = "sku", sections = { { title = "All",
        product_items = { { product_retailer_id = "sku" } } } } } } },
  } } },
  { "mark_read", "mark_read", { "wamid.C", { typing = true } } },
}

local function last_message()
  local msgs = H.messages()
  return msgs[#msgs], #msgs
end

describe("client:send_*", function()
  before_each(function() H.reset() end)

  it("covers every builder", function()
    local covered = {}
    for _, k in ipairs(KINDS) do covered[k[1]] = true end
    for _, method in pairs(senders.METHODS) do assert(covered[method], method .. " is not sent here") end
  end)

  for _, k in ipairs(KINDS) do
    local method, builder, args = k[1], k[2], k[3]
    it(method .. " sends exactly what whatsapp.message." .. builder .. " builds", function()
      local client = H.client()
      local id, err = client[method](client, unpack(args))
      assert.is_nil(err)
      assert.is_string(id)
      local rec, n = last_message()
      assert.are.equal(1, n)
      assert.are.equal(id, rec.message_id)
      assert.are.same(assert(message[builder](unpack(args))), rec.message)
    end)
  end

  it("sends templates in the named, OTP, limited-time-offer and carousel forms", function()
    local client = H.client()
    for _, components in ipairs {
      { body = { first_name = "Jane" } },
      { otp = "123456" },
      { header = { image = "https://example.com/p.png" }, limited_time_offer = 1704881963523, body = { "Pablo" },
        buttons = { { copy_code = "SAVE" } } },
      { body = { "20OFF" }, carousel = { { header = { image = { id = "1" } }, buttons = { { quick_reply = "a" } } },
        { header = { video = { id = "2" } }, buttons = { { quick_reply = "b" } } } } },
    } do
      assert.is_string((client:send_template(TO, "t", "en_US", components)))
      assert.are.same(assert(message.template(TO, "t", "en_US", components)), last_message().message)
    end
    assert.is_string((client:send_template(TO, { name = "simple_template", language = { code = "en_US" } })))
    assert.are.same({ name = "simple_template", language = { code = "en_US" } }, last_message().message.template)
  end)

  it("passes send options to client:send and message options to the builder", function()
    local other = "phone-number-id-ffffffffffffffffffffffffffffffff"
    local id = H.client():send_text(TO, "x", { phone_number_id = other, meta_api_version = "v21.0", reply_to = "w" })
    assert.is_string(id)
    local rec = last_message()
    assert.are.equal(other, rec.originationPhoneNumberId)
    assert.are.equal("v21.0", rec.metaApiVersion)
    assert.are.equal("w", rec.message.context.message_id)
    assert.is_string((H.client():mark_read("wamid.D", { meta_api_version = "v22.0" })))
    assert.are.equal("v22.0", last_message().metaApiVersion)
  end)

  it("raises for unknown or mistyped options, wherever they would go", function()
    local client = H.client()
    assert.has_error(function() client:send_text(TO, "x", { colour = "red" }) end, "send: unknown option 'colour'")
    assert.has_error(function() client:send_text(TO, "x", { phone_number_id = 5 }) end,
      "send: option 'phone_number_id' must be a string (got number)")
    assert.has_error(function() client:send_text(TO, "x", { preview_url = 1 }) end,
      "whatsapp.message.text: option 'preview_url' must be a boolean (got number)")
    assert.has_error(function() client:send_text(TO, "x", "opts") end,
      "send_text: opts must be a table (got string)")
    assert.has_error(function() client:send_text(42, "x") end,
      "whatsapp.message.text: to must be a string (got number)")
    assert.are.equal(0, H.stats().requests)
  end)

  it("returns validation errors without a request; allow_local_number and validate = false let it through", function()
    local client = H.client()
    local id, err = client:send_text("0044 20 7946 0958", "x")
    assert.is_nil(id)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("to", err.field)
    id, err = client:send_buttons(TO, "b", { "Same", "Same" })
    assert.is_nil(id)
    assert.are.equal("interactive.action.buttons[2].reply.id", err.field)
    assert.are.equal(0, H.stats().requests)
    assert.is_string((client:send_text("0044 20 7946 0958", "x", { allow_local_number = true })))
    assert.are.equal("0044 20 7946 0958", last_message().message.to)
    assert.is_string((client:send_interactive(TO, { type = "voice_call", body = { text = "Call us" },
      action = { name = "voice_call", parameters = { display_text = "Call" } } }, { validate = false })))
    assert.are.equal("voice_call", last_message().message.interactive.type)
  end)
end)

describe("client:send of a hand-built table", function()
  before_each(function() H.reset() end)

  it("is validated like a built one", function()
    local client = H.client()
    local id, err = client:send { to = TO, type = "interactive", interactive = { type = "list", body = { text = "b" },
      action = { button = "B", sections = {
        { title = "a", rows = { { id = "1", title = "x" } } },
        { title = "b", rows = { { id = "2", title = string.rep("é", 31) } } } } } } }
    assert.is_nil(id)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("interactive.action.sections[2].rows[1].title", err.field)
    assert.are.equal("interactive.action.sections[2].rows[1].title: at most 24 characters (got 31)", err.message)
    id, err = client:send { to = TO, type = "text", text = { body = "x" }, colour = "red" }
    assert.is_nil(id)
    assert.are.equal("colour", err.field)
    id, err = client:send({ to = "16505551234", type = "text", text = { body = "x" } })
    assert.is_nil(id)
    assert.are.equal("to", err.field)
    assert.are.equal(0, H.stats().requests)
  end)

  it("takes allow_local_number and validate = false", function()
    local client = H.client()
    assert.is_string((client:send({ to = "16505551234", type = "text", text = { body = "x" } },
      { allow_local_number = true })))
    assert.is_string((client:send({ to = TO, type = "text", text = { body = "x", new_field = 1 } },
      { validate = false })))
    assert.are.equal(1, last_message().message.text.new_field)
    assert.has_error(function() client:send({ to = TO }, { validate = "no" }) end,
      "send: option 'validate' must be a boolean (got string)")
  end)

  it("sends a template button index given as a number as a string, through send, send_batch and send_template",
    function()
    local client = H.client()
    local function tpl(i)
      return { to = TO, type = "template", template = { name = "t", language = { code = "en" }, components = {
        { type = "button", sub_type = "url", index = i, parameters = { { type = "text", text = "track/1" } } },
        { type = "carousel", cards = { { card_index = 0, components = {
          { type = "header", parameters = { { type = "image", image = { id = "1" } } } },
          { type = "button", sub_type = "quick_reply", index = 0,
            parameters = { { type = "payload", payload = "p" } } },
        } } } } } } }
    end
    local function sent_bytes()
      local text = last_message().message_text
      assert.is_nil(text:find('"index":%d'), text)
      return text
    end
    assert.is_string((client:send(tpl(1))))
    local text = sent_bytes()
    assert.matches('"index":"1"', text, 1, true)
    assert.matches('"index":"0"', text, 1, true)
    assert.is_string((client:send(tpl(2), { phone_number_id = H.PHONE })))
    assert.matches('"index":"2"', sent_bytes(), 1, true)
    local results, failed = client:send_batch({ tpl(3) })
    assert.are.equal(0, failed, tostring(results[1].error))
    assert.matches('"index":"3"', sent_bytes(), 1, true)
    local components = tpl(4).template.components
    assert.is_string((client:send_template(TO, "t", "en", components)))
    assert.matches('"index":"4"', sent_bytes(), 1, true)
    assert.are.equal(4, components[1].index) -- the builder copies what it changes
    -- validate = false sends the table as it is
    assert.is_string((client:send(tpl(5), { validate = false })))
    assert.matches('"index":5', last_message().message_text, 1, true)
  end)

  it("leaves JSON text alone: the C core checks it is JSON, nothing more", function()
    local json = '{"messaging_product":"whatsapp","to":"16505551234","type":"voice_call","voice_call":{}}'
    assert.is_string((H.client():send(json)))
    assert.are.equal(json, last_message().message_text)
  end)
end)

describe("whatsapp.send_* and whatsapp.message", function()
  it("exports the builders and a send_* per client method", function()
    assert.are.equal(message, whatsapp.message)
    for _, method in pairs(senders.METHODS) do assert.is_function(whatsapp[method], method) end
  end)

  it("send and send_batch on the default client made from the environment", function()
    H.require_standin()
    H.reset()
    local script = [[
      local whatsapp = require "whatsapp"
      assert(whatsapp.send_text("+14255550123", "module level", { reply_to = "wamid.E" }))
      assert(whatsapp.mark_read("wamid.E"))
      local id, err = whatsapp.send_image("+14255550123", "ftp://nope")
      io.write(tostring(id), " ", tostring(err and err.field))
      local results, failed = whatsapp.send_batch({ whatsapp.message.text("+14255550123", "batch 1"),
        whatsapp.message.text("+14255550123", "batch 2") }, { concurrency = 2 })
      io.write(" batch failed=", failed, " ", tostring(results[1].message_id ~= nil), " ",
        tostring(results[2].message_id ~= nil))
    ]]
    local out = H.run(table.concat({
      "env -u AWS_PROFILE -u AWS_SESSION_TOKEN",
      "AWS_ACCESS_KEY_ID=" .. H.creds.static.access_key_id,
      "AWS_SECRET_ACCESS_KEY='" .. H.creds.static.secret_access_key .. "'",
      "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_SOCIALMESSAGING=" .. H.http,
      "WHATSAPP_PHONE_NUMBER_ID=" .. H.PHONE,
      H.runtime, "-e", "'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path; package.cpath=\"build/"
        .. H.runtime .. "/?.so;\"..package.cpath'", "-e", "'" .. script:gsub("'", "'\\''") .. "'",
    }, " "))
    assert.matches("nil image.link batch failed=0 true true", out, 1, true)
    assert.matches("exit=0", out)
    local msgs = H.messages()
    assert.are.equal(4, #msgs)
    assert.are.equal("module level", msgs[1].message.text.body)
    assert.are.same({ messaging_product = "whatsapp", status = "read", message_id = "wamid.E" }, msgs[2].message)
  end)
end)

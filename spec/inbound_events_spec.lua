-- whatsapp.inbound parsing (docs/REFERENCES.md: WhatsApp events): Meta's
-- webhook shapes turned into events, never dropping what is not known; the
-- Meta-direct path (HMAC over the raw bytes, the GET challenge); and
-- client:reply / mark_read / get_media driven by an event (their requests
-- reach the SendWhatsAppMessage stand-in).
local core = require "whatsapp.core"
local inbound = require "whatsapp.inbound"
local H = require "spec.support.helper"

local function entry(value, field)
  return { id = "1393727385109399", changes = { { field = field or "messages", value = value } } }
end

local META = { display_phone_number = "393404534569", phone_number_id = "729155140271006" }

local function one(message, contacts)
  local events = assert(inbound.parse_entry(entry { messaging_product = "whatsapp", metadata = META,
    contacts = contacts, messages = { message } }))
  assert.are.equal(1, #events)
  return events[1]
end

local function msg(type_, body, extra)
  local m = { from = "972987654321", id = "wamid.in", timestamp = "1698266730", type = type_ }
  if body ~= nil then m[type_] = body end
  for k, v in pairs(extra or {}) do m[k] = v end
  return m
end

describe("inbound events", function()
  it("gives media events their id, type and hash, for get_media (case 33)", function()
    local e = one(msg("image", { mime_type = "image/jpeg", sha256 = "BTD0xlqSZ7l02o+/upusiNStlEZhA/urkvKf143Uqjk=",
      id = "530339869524171" }))
    assert.are.same({ kind = "image", id = "530339869524171", mime_type = "image/jpeg",
      sha256 = "BTD0xlqSZ7l02o+/upusiNStlEZhA/urkvKf143Uqjk=" }, e.media)
    e = one(msg("document", { id = "1", mime_type = "application/pdf", sha256 = "x", filename = "a.pdf",
      caption = "the file" }))
    assert.are.same({ "a.pdf", "the file", "the file" }, { e.media.filename, e.media.caption, e.text })
    e = one(msg("audio", { id = "2", mime_type = "audio/ogg; codecs=opus", sha256 = "x", voice = true }))
    assert.is_true(e.media.voice)
    e = one(msg("sticker", { id = "3", mime_type = "image/webp", sha256 = "x", animated = false }))
    assert.are.same({ "sticker", nil }, { e.media.kind, e.media.animated })
  end)

  it("gives replies their reply_id and title; nfm_reply keeps its JSON text and the table (case 34)", function()
    local ctx = { from = "1122334455667", id = "wamid.out" }
    local e = one(msg("interactive", { type = "button_reply",
      button_reply = { id = "callback_data", title = "title" } }, { context = ctx }))
    assert.are.same({ "callback_data", "title", "wamid.out" }, { e.reply_id, e.text, e.context.id })
    e = one(msg("interactive", { type = "list_reply",
      list_reply = { id = "row-1", title = "Row", description = "d" } }))
    assert.are.same({ "row-1", "Row" }, { e.reply_id, e.text })
    e = one(msg("button", { payload = "callback_data", text = "title" }))
    assert.are.same({ "callback_data", "title" }, { e.reply_id, e.text })
    local json = '{"comment_text":"Comment Text","delivery_rating":"4","flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s."}'
    e = one(msg("interactive", { type = "nfm_reply",
      nfm_reply = { name = "flow", body = "Sent", response_json = json } }))
    assert.are.equal(json, e.response_json)
    assert.are.equal("4", e.response.delivery_rating)
  end)

  it("reports a removed reaction, with emoji empty or absent (case 35)", function()
    local e = one(msg("reaction", { message_id = "wamid.out", emoji = "" }))
    assert.is_true(e.reaction.removed)
    e = one(msg("reaction", { message_id = "wamid.out" }))
    assert.is_true(e.reaction.removed)
    e = one(msg("reaction", { message_id = "wamid.out", emoji = "\240\159\145\141" }))
    assert.are.same({ false, "wamid.out" }, { e.reaction.removed, e.reaction.message_id })
  end)

  it("types locations with numbers or strings, and keeps contacts, order, system, edit, revoke, request_welcome "
    .. "(case 36)", function()
    local e = one(msg("location", { latitude = 38.9, longitude = "-77.03", name = "Place" }))
    assert.are.same({ 38.9, -77.03, "Place" }, { e.location.latitude, e.location.longitude, e.location.name })
    for _, m in ipairs {
      msg("contacts", { { name = { formatted_name = "A" }, phones = { { phone = "1" } } } }),
      msg("order", { catalog_id = "c", product_items = { { product_retailer_id = "p", quantity = 1 } } }),
      msg("system", { body = "changed", type = "user_changed_number", wa_id = "2" }),
      msg("edit", { original_message_id = "wamid.a", message = { type = "text", text = { body = "b" } } }),
      msg("revoke", { original_message_id = "wamid.a" }),
      msg("request_welcome"),
    } do
      e = one(m)
      assert.are.same({ "message", m.type }, { e.kind, e.type })
      assert.are.equal(m, e.message)
    end
  end)

  it("keeps unsupported and unknown message types as messages (case 37)", function()
    local e = one(msg("unsupported", { type = "poll" },
      { errors = { { code = 131051, title = "Message type unknown" } } }))
    assert.are.same({ "message", "unsupported", 131051 }, { e.kind, e.type, e.errors[1].code })
    e = one(msg("poll", { question = "?" }))
    assert.are.same({ "message", "poll", "?" }, { e.kind, e.type, e.message.poll.question })
  end)

  it("gives statuses their fields, errors and callback data, with or without pricing (case 38)", function()
    local statuses = {
      { id = "wamid.s", status = "sent", timestamp = "1736379042", recipient_id = "01234567890",
        conversation = { id = "c", origin = { type = "utility" } }, pricing = { billable = true, category = "utility" },
        biz_opaque_callback_data = "order-7" },
      { id = "wamid.s", status = "delivered", timestamp = "1736379043", recipient_id = "01234567890" },
      { id = "wamid.s", status = "read", timestamp = "1736379044", recipient_id = "01234567890" },
      { id = "wamid.s", status = "played", timestamp = "1736379045", recipient_id = "01234567890" },
      { id = "wamid.f", status = "failed", timestamp = "1770362427", recipient_id = "62881026697527",
        errors = { { code = 131047, title = "Re-engagement message" } } },
    }
    local events = assert(inbound.parse_entry(entry { messaging_product = "whatsapp", metadata = META,
      statuses = statuses }))
    assert.are.equal(5, #events)
    assert.are.same({ "status", "sent", "order-7", "utility", 1736379042, "01234567890" }, { events[1].kind,
      events[1].status, events[1].biz_opaque_callback_data, events[1].pricing.category, events[1].timestamp,
      events[1].recipient_id })
    assert.are.same({ "delivered", "read", "played" }, { events[2].status, events[3].status, events[4].status })
    assert.are.same({ "failed", 131047 }, { events[5].status, events[5].errors[1].code })
    assert.is_nil(events[5].contact)
  end)

  it("gives every message, status and change in document order (case 39)", function()
    local value = { messaging_product = "whatsapp", metadata = META,
      messages = { msg("text", { body = "1" }), msg("text", { body = "2" }), msg("text", { body = "3" }) },
      statuses = { { id = "a", status = "sent" }, { id = "b", status = "read" } } }
    local e = { id = "w", changes = { { field = "messages", value = value },
      { field = "messages", value = { metadata = META, messages = { msg("text", { body = "4" }) } } } } }
    local events = assert(inbound.parse_entry(e))
    local seen = {}
    for i, ev in ipairs(events) do seen[i] = ev.text or ev.status end
    assert.are.same({ "1", "2", "3", "sent", "read", "4" }, seen)
    -- Meta-direct: two entries
    local rx = assert(inbound.new { app_secret = "secret" })
    local body = core.encode { object = "whatsapp_business_account", entry = { e, entry { metadata = META,
      messages = { msg("text", { body = "5" }) } } } }
    local mac = core.hmac_sha256("secret", body):gsub(".", function(c) return ("%02x"):format(c:byte()) end)
    local status, _, list = rx:handle { body = body, headers = { ["X-Hub-Signature-256"] = "sha256=" .. mac } }
    assert.are.same({ 200, 7, "5", "meta" }, { status, #list, list[7].text, list[7].source })
  end)

  it("gives value-level errors as error events and unknown fields as unknown (case 40)", function()
    local events = assert(inbound.parse_entry(entry { messaging_product = "whatsapp", metadata = META,
      errors = { { code = 130429, title = "Rate limit hit", message = "too many" } } }))
    assert.are.same({ 1, "error", 130429, "Rate limit hit" }, { #events, events[1].kind, events[1].code,
      events[1].title })
    events = assert(inbound.parse_entry(entry({ ban_info = {} }, "account_update")))
    assert.are.same({ 1, "unknown", "account_update" }, { #events, events[1].kind, events[1].field })
    assert.truthy(events[1].value.ban_info)
  end)

  it("keeps a message's own context apart from the AWS context (case 41)", function()
    local e = one(msg("text", { body = "re" }, { context = { from = "1122334455667", id = "wamid.orig" } }))
    assert.are.equal("wamid.orig", e.context.id)
    local m = '{"context":{"MetaPhoneNumberIds":[{"metaPhoneNumberId":"729155140271006","arn":"arn:aws:social-'
      .. 'messaging:eu-west-1:1:phone-number-id/abc"}]},"whatsAppWebhookEntry":' .. core.encode(core.encode(entry {
        metadata = META, messages = { msg("text", { body = "re" }, { context = { id = "wamid.orig" } }) } })) .. "}"
    local events = assert(inbound.parse_message(m))
    assert.are.same({ "wamid.orig", "phone-number-id-abc" }, { events[1].context.id, events[1].aws_phone_number_id })
    assert.is_nil(inbound.parse_message("nope"))
    assert.are.equal("EventMalformed", select(2, inbound.parse_message('{"whatsAppWebhookEntry":"[]"}')).code)
  end)

  describe("Meta-direct webhooks", function()
    local rx = assert(inbound.new { app_secret = "app-secret", verify_token = "tok" })
    local function sign(body) return core.hmac_sha256("app-secret", body):gsub(".", function(c)
      return ("%02x"):format(c:byte()) end) end
    local body = '{"object":"whatsapp_business_account","entry":[' .. core.encode(entry { metadata = META,
      messages = { msg("text", { body = "hi" }) } }) .. "]}"

    it("checks X-Hub-Signature-256 over the raw bytes, in any hex case (case 42)", function()
      local function code(b, header)
        local status, _, _, err = rx:handle { body = b, headers = { ["x-hub-signature-256"] = header } }
        return status, err and err.code
      end
      assert.are.same({ 200 }, { code(body, "sha256=" .. sign(body)) })
      assert.are.same({ 200 }, { code(body, "sha256=" .. sign(body):upper()) })
      assert.are.same({ 403, "MetaSignature" }, { code(body:gsub("hi", "ho"), "sha256=" .. sign(body)) })
      assert.are.same({ 401, "MetaSignature" }, { code(body, nil) })
      assert.are.same({ 403, "MetaSignature" }, { code(body, "sha1=" .. sign(body)) })
      assert.are.same({ 403, "MetaSignature" }, { code(body, "sha256=" .. sign(body):sub(2)) })
      assert.are.same({ 403, "MetaSignature" }, { code(body, "sha256=" .. sign(body):sub(2) .. "g") })
    end)

    it("hashes \\u00e4 escapes and \\/ as sent (case 43)", function()
      local b = body:gsub('"hi"', '"\\u00e4\\u00f6\\u00e5 http:\\/\\/x"')
      local status, _, events = rx:handle { body = b, headers = { ["x-hub-signature-256"] = "sha256=" .. sign(b) } }
      assert.are.same({ 200, "\195\164\195\182\195\165 http://x" }, { status, events[1].text })
    end)

    it("marks a re-delivered message duplicate with dedupe_events", function()
      local once = assert(inbound.new { app_secret = "app-secret", dedupe_events = 3600 })
      local h = { ["x-hub-signature-256"] = "sha256=" .. sign(body) }
      local _, _, first = once:handle { body = body, headers = h }
      local _, _, again = once:handle { body = body, headers = h }
      assert.are.same({ nil, true }, { first[1].duplicate, again[1].duplicate })
      -- rx:nginx's dispatch skips it
      local calls = 0
      require("whatsapp.inbound.nginx").dispatch({ on_message = function() calls = calls + 1 end,
        on_event = function() calls = calls + 1 end }, { first[1], again[1] })
      assert.are.equal(2, calls)
    end)

    it("answers the verification GET with the challenge, or 403 (case 44)", function()
      local status, response = rx:handle { method = "GET", args = { ["hub.mode"] = "subscribe",
        ["hub.verify_token"] = "tok", ["hub.challenge"] = "1158201444" } }
      assert.are.same({ 200, "1158201444" }, { status, response })
      local st, _, _, err = rx:handle { method = "GET", args = { ["hub.mode"] = "subscribe",
        ["hub.verify_token"] = "bad", ["hub.challenge"] = "1158201444" } }
      assert.are.same({ 403, "MetaVerifyToken" }, { st, err.code })
      st = rx:handle { method = "GET", args = { ["hub.mode"] = "subscribe", ["hub.verify_token"] = "tok",
        ["hub.challenge"] = "<script>" } }
      assert.are.equal(400, st)
    end)
  end)

  describe("client:reply, mark_read and get_media from an event", function()
    local event
    before_each(function()
      H.require_standin()
      H.reset()
      local m = '{"context":{"MetaPhoneNumberIds":[{"metaPhoneNumberId":"729155140271006","arn":"arn:aws:social-'
        .. 'messaging:eu-west-1:533267110337:phone-number-id/5f811eaa4c81499384c496b909afbb1a"}]},'
        .. '"whatsAppWebhookEntry":' .. core.encode(core.encode(entry { metadata = META, contacts = {
          { profile = { name = "A" }, wa_id = "393462454282" } }, messages = { { from = "393462454282", id = "wamid.in",
          timestamp = "1", type = "image", image = { id = "530339869524171", mime_type = "image/jpeg" } } } })) .. "}"
      event = assert(inbound.parse_message(m))[1]
    end)

    it("replies to the sender from the receiving number, quoting the message", function()
      local client = H.client() -- its own number is H.PHONE: the event's must win
      assert.truthy(client:reply(event, "Thanks"))
      assert.truthy(client:reply(event, { type = "text", text = { body = "unquoted" } }, { quote = false }))
      local sent = H.messages()
      assert.are.equal(2, #sent)
      assert.are.equal("phone-number-id-5f811eaa4c81499384c496b909afbb1a", sent[1].originationPhoneNumberId)
      assert.are.same({ "+393462454282", "text", "Thanks", "wamid.in" }, { sent[1].message.to, sent[1].message.type,
        sent[1].message.text.body, sent[1].message.context.message_id })
      assert.is_nil(sent[2].message.context)
      local _, err = client:reply({ kind = "status", id = "x" }, "no")
      assert.are.equal("event", err.field)
      assert.has_error(function() client:reply(event, 1) end)
    end)

    it("marks the event read with the typing indicator from its number", function()
      local client = H.client() -- its own number is H.PHONE: the event's must win
      assert.truthy(client:mark_read(event, { typing = true }))
      local sent = H.messages()
      assert.are.same({ "read", "wamid.in", "text", "phone-number-id-5f811eaa4c81499384c496b909afbb1a" },
        { sent[1].message.status, sent[1].message.message_id, sent[1].message.typing_indicator.type,
          sent[1].originationPhoneNumberId })
    end)

    it("refuses an event's media id that is not the service's shape before any request", function()
      local client = H.client() -- its own number is H.PHONE: the event's must win
      event.media.id = "abc-def"
      local _, err = client:get_media(event, { metadata_only = true })
      assert.are.equal("media.id", err.field)
      event.media.id = ("1"):rep(101)
      _, err = client:get_media(event, { metadata_only = true })
      assert.are.equal("media.id", err.field)
      assert.are.same({}, H.messages())
    end)
  end)
end)

describe("README Receiving", function()
  -- the Lua blocks of the "## Receiving" section, run as written (as spec/readme_spec.lua runs the others)
  local function blocks()
    local f = assert(io.open("README.md", "rb"))
    local section = f:read("*a"):match("\n## Receiving\n(.-)\n## ")
    f:close()
    local out = {}
    for code in assert(section):gmatch("```lua\n(.-)```") do out[#out + 1] = code end
    return out
  end

  local function run(code)
    local tmp = os.tmpname()
    H.write(tmp, code)
    local out = H.run("env AWS_ENDPOINT_URL_SOCIALMESSAGING='" .. H.http .. "' AWS_ACCESS_KEY_ID='"
      .. H.creds.static.access_key_id .. "' AWS_SECRET_ACCESS_KEY='" .. H.creds.static.secret_access_key
      .. "' AWS_REGION=us-east-1 " .. H.runtime .. " -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path;"
      .. " package.cpath=\"build/" .. H.runtime .. "/?.so;\"..package.cpath' " .. tmp)
    os.remove(tmp)
    return out
  end

  it("the handlers example marks read and replies from the receiving number", function()
    H.require_standin()
    H.reset()
    local b = blocks()
    assert.are.equal(2, #b)
    local out = run(b[1])
    assert.matches("exit=0", out)
    assert.matches("text\t393462454282\tFrancesco\tPrva\tphone%-number%-id%-5f811eaa4c81499384c496b909afbb1a", out)
    local sent = H.messages()
    assert.are.equal(2, #sent)
    assert.are.same({ "read", "+393462454282", "You said: Prva" }, { sent[1].message.status, sent[2].message.to,
      sent[2].message.text.body })
    assert.are.equal("phone-number-id-5f811eaa4c81499384c496b909afbb1a", sent[2].originationPhoneNumberId)
  end)

  it("the options example makes a receiver and shows a refusal", function()
    local out = run(blocks()[2])
    assert.matches("403\ttrue\t0\tSnsRawDelivery\nexit=0", out)
  end)
end)

-- Client-side validation: every rule of whatsapp.message.rules at its limit
-- (accepted) and just past it (refused, naming the field and the rule), on
-- hand-built tables; then the rules that are not lengths.
local core = require "whatsapp.core"
local message = require "whatsapp.message"
local rules = require "whatsapp.message.rules"
local codepoints = require "whatsapp.message.codepoints"

local validate = message.validate
local TO = "+16505551234"

-- n characters, each two bytes: lengths must count code points, not bytes
local function s(n) return string.rep("é", n) end
local function fill(n, f)
  local t = {}
  for i = 1, n do t[i] = f(i) end
  return t
end

local function msg(kind, body, extra)
  local m = { messaging_product = "whatsapp", to = TO, type = kind, [kind] = body }
  for k, v in pairs(extra or {}) do m[k] = v end
  return m
end
local function text(body) return msg("text", { body = body }) end
local function inter(t) return msg("interactive", t) end
local function buttons(list, extra)
  local t = { type = "button", body = { text = "b" }, action = { buttons = list } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return inter(t)
end
local function reply(id, title) return { type = "reply", reply = { id = id, title = title or id } } end
local function list_msg(sections, body, button)
  return inter { type = "list", body = { text = body or "b" },
    action = { button = button or "Open", sections = sections } }
end
local function row(id, title, description) return { id = id, title = title or "t", description = description } end
local function flow(params)
  local p = { flow_message_version = "3", flow_id = "1", flow_cta = "Go" }
  for k, v in pairs(params) do p[k] = v end
  return inter { type = "flow", body = { text = "b" }, action = { name = "flow", parameters = p } }
end
local function product_list(sections)
  return inter { type = "product_list", header = { type = "text", text = "h" }, body = { text = "b" },
    action = { catalog_id = "c", sections = sections } }
end
local function items(n, from)
  return fill(n, function(i) return { product_retailer_id = "p" .. (i + (from or 0)) } end)
end
local function template(components)
  return msg("template", { name = "t", language = { code = "en" }, components = components })
end
local function body_params(...) return { type = "body", parameters = { ... } } end
local function tbutton(sub, param, index)
  return { type = "button", sub_type = sub, index = index or "0", parameters = { param } }
end
local function card(i) return { card_index = i, components = { { type = "header",
  parameters = { { type = "image", image = { id = "1" } } } } } } end

-- rule name -> { field, make(n) } where make builds a message whose value
-- under the rule has size n (characters, digits or entries).
-- min_field/min_rule: when the "one under" case is caught by a more specific
-- rule first (e.g. an empty section), where and what it says.
local LIMIT_CASES = {
  nonempty = { field = "context.message_id", make = function(n)
    return msg("text", { body = "x" }, { context = { message_id = s(n) } }) end },
  to_digits = { field = "to", make = function(n)
    local m = text("x"); m.to = "+" .. string.rep("1", n); return m end },
  biz_opaque_callback_data = { field = "biz_opaque_callback_data", make = function(n)
    return msg("text", { body = "x" }, { biz_opaque_callback_data = s(n) }) end },
  text_body = { field = "text.body", make = function(n) return text(s(n)) end },
  caption = { field = "image.caption", make = function(n) return msg("image", { id = "1", caption = s(n) }) end },
  contacts = { field = "contacts", make = function(n)
    return msg("contacts", fill(n, function() return { name = { formatted_name = "A" } } end)) end },
  contact_email = { field = "contacts[1].emails[1].email", make = function(n)
    local c = { name = { formatted_name = "A" }, emails = { { email = s(n - 12) .. "@example.com" } } }
    return msg("contacts", { c }) end },
  interactive_body = { field = "interactive.body.text", make = function(n)
    return buttons({ reply("a") }, { body = { text = s(n) } }) end },
  list_body = { field = "interactive.body.text", make = function(n)
    return list_msg({ { rows = { row("a") } } }, s(n)) end },
  header_text = { field = "interactive.header.text", make = function(n)
    return buttons({ reply("a") }, { header = { type = "text", text = s(n) } }) end },
  footer_text = { field = "interactive.footer.text", make = function(n)
    return buttons({ reply("a") }, { footer = { text = s(n) } }) end },
  reply_buttons = { field = "interactive.action.buttons", make = function(n)
    return buttons(fill(n, function(i) return reply("b" .. i) end)) end },
  button_id = { field = "interactive.action.buttons[1].reply.id", make = function(n)
    return buttons({ reply(s(n), "t") }) end },
  button_title = { field = "interactive.action.buttons[1].reply.title", make = function(n)
    return buttons({ reply("a", s(n)) }) end },
  list_button = { field = "interactive.action.button", make = function(n)
    return list_msg({ { rows = { row("a") } } }, "b", s(n)) end },
  list_sections = { field = "interactive.action.sections", make = function(n)
    return list_msg(fill(n, function(i) return { title = "s" .. i, rows = { row("r" .. i) } } end)) end },
  section_title = { field = "interactive.action.sections[1].title", make = function(n)
    return list_msg({ { title = s(n), rows = { row("a") } }, { title = "x", rows = { row("b") } } }) end,
    min_rule = "at least 1 character" },
  list_rows = { field = "interactive.action.sections", make = function(n)
    -- counted across sections: 5 in the first, the rest in the second
    local first = math.min(n, 5)
    local sections = { { title = "a", rows = fill(first, function(i) return row("a" .. i) end) } }
    if n > first then sections[2] = { title = "b", rows = fill(n - first, function(i) return row("b" .. i) end) } end
    return list_msg(sections) end,
    min_field = "interactive.action.sections[1].rows", min_rule = "at least 1 row per section" },
  row_id = { field = "interactive.action.sections[1].rows[1].id", make = function(n)
    return list_msg({ { rows = { row(s(n)) } } }) end },
  row_title = { field = "interactive.action.sections[1].rows[1].title", make = function(n)
    return list_msg({ { rows = { row("a", s(n)) } } }) end },
  row_description = { field = "interactive.action.sections[1].rows[1].description", make = function(n)
    return list_msg({ { rows = { row("a", "t", s(n)) } } }) end },
  cta_display_text = { field = "interactive.action.parameters.display_text", make = function(n)
    return inter { type = "cta_url", body = { text = "b" }, action = { name = "cta_url",
      parameters = { display_text = s(n), url = "https://x.test" } } } end },
  flow_cta = { field = "interactive.action.parameters.flow_cta", make = function(n)
    return flow { flow_cta = s(n) } end },
  product_sections = { field = "interactive.action.sections", make = function(n)
    return product_list(fill(n, function(i) return { title = "s" .. i, product_items = items(1, i) } end)) end },
  product_items = { field = "interactive.action.sections", make = function(n)
    local first = math.min(n, 15)
    local sections = { { title = "a", product_items = items(first) } }
    if n > first then sections[2] = { title = "b", product_items = items(n - first, 100) } end
    return product_list(sections) end,
    min_field = "interactive.action.sections[1].product_items", min_rule = "at least 1 product per section" },
  template_name = { field = "template.name", make = function(n)
    local m = template(); m.template.name = s(n); return m end },
  body_text_param = { field = "template.components[1].parameters[1].text", make = function(n)
    return template { body_params { type = "text", text = s(n) } } end },
  header_text_param = { field = "template.components[1].parameters[1].text", make = function(n)
    return template { { type = "header", parameters = { { type = "text", text = s(n) } } } } end },
  parameter_name = { field = "template.components[1].parameters[1].parameter_name", make = function(n)
    return template { body_params { type = "text", text = "x", parameter_name = string.rep("a", n) } } end },
  coupon_code = { field = "template.components[1].parameters[1].coupon_code", make = function(n)
    return template { tbutton("copy_code", { type = "coupon_code", coupon_code = s(n) }) } end },
  otp_code = { field = "template.components.otp", make = function(n)
    local m, err = message.template(TO, "auth", "en", { otp = s(n) }, { validate = false })
    return m or err end },
  url_button_text = { field = "template.components[1].parameters[1].text", make = function(n)
    return template { tbutton("url", { type = "text", text = s(n) }) } end },
  quick_reply_payload = { field = "template.components[1].parameters[1].payload", make = function(n)
    return template { tbutton("quick_reply", { type = "payload", payload = s(n) }) } end },
  carousel_cards = { field = "template.components[1].cards", make = function(n)
    return template { { type = "carousel", cards = fill(n, function(i) return card(i - 1) end) } } end },
}

-- range name -> { field, make(value) }
local RANGE_CASES = {
  button_index = { field = "template.components[1].index", make = function(v)
    return template { tbutton("url", { type = "text", text = "x" }, v) } end },
  card_index = { field = "template.components[1].cards[1].card_index", make = function(v)
    return template { { type = "carousel", cards = { card(v) } } } end },
  latitude = { field = "location.latitude", make = function(v)
    return msg("location", { latitude = v, longitude = 0 }) end },
  longitude = { field = "location.longitude", make = function(v)
    return msg("location", { latitude = 0, longitude = v }) end },
  currency_amount_1000 = { field = "template.components[1].parameters[1].currency.amount_1000", make = function(v)
    return template { body_params { type = "currency", currency = { fallback_value = "$1", code = "USD",
      amount_1000 = v } } } end },
  expiration_time_ms = { field = "template.components[1].parameters[1].limited_time_offer.expiration_time_ms",
    make = function(v) return template { { type = "limited_time_offer", parameters = { { type = "limited_time_offer",
      limited_time_offer = { expiration_time_ms = v } } } } } end },
}

-- A built message, or the error of a builder that refused it (otp_code).
local function check(m)
  if getmetatable(m) == getmetatable(require("whatsapp.errors").validation("x", "y")) then return nil, m end
  return validate(m)
end

local function accepted(m, what)
  local ok, err = check(m)
  assert(ok, what .. ": refused: " .. tostring(err))
  if type(m) == "table" and m.type == "template" then -- and the builder's own (otp) check
    assert.is_string(core.encode(m))
  end
end

local function refused(m, field, pattern, what)
  local ok, err = check(m)
  assert(not ok, what .. ": accepted")
  assert.are.equal("ParamValidationError", err.code)
  assert.are.equal(field, err.field, what)
  assert.are.equal(field .. ": " .. err.message:sub(#field + 3), err.message)
  if pattern then assert(err.message:find(pattern, 1, true), what .. ": " .. err.message .. " lacks " .. pattern) end
end

local function unit_of(l, n)
  if n == 1 then return (l.unit:gsub("s$", "")) end
  return l.unit
end

describe("every limit of the rule table", function()
  it("holds the values of the WhatsApp limits (looser side of each conflict)", function()
    local want = {
      text_body = 4096, caption = 1024, interactive_body = 1024, list_body = 4096, header_text = 60,
      footer_text = 60, reply_buttons = 3, button_title = 20, button_id = 256, list_button = 20, list_sections = 10,
      section_title = 24, list_rows = 10, row_id = 200, row_title = 24, row_description = 72,
      cta_display_text = 20, flow_cta = 30, product_sections = 10, product_items = 30, contacts = 257,
      biz_opaque_callback_data = 512, body_text_param = 32768, header_text_param = 60, parameter_name = 20,
      coupon_code = 15, otp_code = 15, url_button_text = 2000, carousel_cards = 10, contact_email = 254,
    }
    for name, max in pairs(want) do assert.are.equal(max, rules.limits[name].max, name) end
    assert.are.same({ min = 0, max = 9 }, rules.ranges.button_index)
    -- OAS v23 CurrencyObject amount_1000: integer, format int32 (signed)
    assert.are.same({ min = 1, max = 2 ^ 31 - 1 }, rules.ranges.currency_amount_1000)
  end)

  it("has a case here (a rule added to the table needs one)", function()
    for name in pairs(rules.limits) do assert(LIMIT_CASES[name], "no case for limit " .. name) end
    for name in pairs(rules.ranges) do assert(RANGE_CASES[name], "no case for range " .. name) end
    for name in pairs(LIMIT_CASES) do assert(rules.limits[name], "case for unknown limit " .. name) end
  end)

  for name, l in pairs(rules.limits) do
    local case = LIMIT_CASES[name]
    if case and l.max then
      it(name .. ": " .. l.max .. " " .. l.unit .. " accepted, " .. (l.max + 1) .. " refused", function()
        accepted(case.make(l.max), name .. " at max")
        refused(case.make(l.max + 1), case.field,
          "at most " .. l.max .. " " .. unit_of(l, l.max), name .. " over max")
        assert(select(2, check(case.make(l.max + 1))).message:find("(got " .. (l.max + 1) .. ")", 1, true))
      end)
    end
    if case and l.min and l.min > 0 then
      it(name .. ": at least " .. l.min .. " " .. l.unit, function()
        accepted(case.make(l.min), name .. " at min")
        refused(case.make(l.min - 1), case.min_field or case.field,
          case.min_rule or ("at least " .. l.min .. " " .. unit_of(l, l.min)), name .. " under min")
      end)
    end
  end

  for name, r in pairs(rules.ranges) do
    local case = RANGE_CASES[name]
    if case then
      -- integers step by 1; coordinates by a fraction
      local step = (name == "latitude" or name == "longitude") and 0.5 or 1
      it(name .. ": within " .. tostring(r.min) .. ".." .. tostring(r.max), function()
        if r.max then
          accepted(case.make(r.max), name .. " at max")
          refused(case.make(r.max + step), case.field, "must be", name .. " over max")
        end
        accepted(case.make(r.min), name .. " at min")
        refused(case.make(r.min - step), case.field, "must be", name .. " under min")
      end)
    end
  end
end)

describe("validation", function()
  local function no(m, field, pattern, opts)
    local ok, err = validate(m, opts)
    assert.is_nil(ok)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal(field, err.field)
    if pattern then assert.matches(pattern, err.message) end
    assert.are.equal(0, err.attempts)
  end
  local function yes(m, opts) assert.is_true((validate(m, opts))) end

  it("counts characters as code points, on Lua 5.4 and LuaJIT alike", function()
    assert.are.equal(3, codepoints.len("abc"))
    assert.are.equal(1, codepoints.len("é"))
    assert.are.equal(1, codepoints.len("😀"))
    assert.are.equal(4, codepoints.len("👩‍💻é")) -- woman, ZWJ, laptop, é
    yes(text(string.rep("😀", 4096)))
    no(text(string.rep("😀", 4097)), "text.body", "at most 4096 characters %(got 4097%)")
  end)

  it("refuses invalid UTF-8 with the byte offset: overlong, surrogate, truncated, beyond U+10FFFF", function()
    for _, bad in ipairs { "caf\233", "\192\175", "\224\128\175", "\237\160\128", "ok\240\159\152", "\244\144\128\128",
      "\255", "\128" } do
      assert.is_nil(codepoints.len(bad))
      assert.is_false(core.utf8_valid(bad)) -- the C core agrees
      no(text(bad), "text.body", "not valid UTF%-8 %(byte %d+%)")
    end
    assert.are.equal(3, select(2, codepoints.len("ok\240\159\152")))
  end)

  it("agrees with the C core's UTF-8 check on random bytes", function()
    math.randomseed(42)
    local pick = { 0, 0x41, 0x7F, 0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0 }
    for _ = 1, 3000 do
      local b = {}
      for i = 1, math.random(1, 6) do
        b[i] = math.random() < 0.5 and pick[math.random(#pick)] or math.random(0, 255)
      end
      local str = string.char((rawget(table, "unpack") or rawget(_G, "unpack"))(b))
      assert.are.equal(core.utf8_valid(str), codepoints.len(str) ~= nil, ("%q"):format(str))
    end
    for _, cp in ipairs { 0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF } do
      assert.are.equal(1, codepoints.len(codepoints.char(cp)))
    end
  end)

  describe("to", function()
    it("takes + and digits with spaces, -, ()", function()
      for _, to in ipairs { "+16505551234", "+1 (650) 555-1234", "+44 20 7946 0958", "+1" } do
        local m = text("x")
        m.to = to
        yes(m)
      end
    end)

    it("refuses 00 and bare digits unless allow_local_number", function()
      local m = text("x")
      m.to = "0033 6 12 34 56 78"
      no(m, "to", "starts with 00")
      yes(m, { allow_local_number = true })
      m.to = "(631) 555-1234"
      no(m, "to", 'must start with "%+" and the country code')
      yes(m, { allow_local_number = true })
      m.to = "16315551234"
      no(m, "to", "allow_local_number")
    end)

    it("refuses letters, a + inside, a country code 0, and more than 15 digits", function()
      for to, pattern in pairs { ["+1 650 CALL NOW"] = "only spaces", ["+1+650"] = "may only come first",
        ["+0 650"] = "never starts with 0", ["+1234567890123456"] = "at most 15 digits",
        ["+1\n650"] = "only spaces" } do
        local m = text("x")
        m.to = to
        no(m, "to", pattern)
      end
    end)

    it("is a group id for recipient_type group", function()
      local m = text("x")
      m.to, m.recipient_type = "120363027491234567@g.us", "group"
      yes(m)
      m.recipient_type = "everyone"
      no(m, "recipient_type", '"group", "individual"')
    end)
  end)

  it("wants exactly one of id and link, links over http(s), captions only where allowed", function()
    no(msg("image", { id = "1", link = "https://x.test/a.png" }), "image", "exactly one of id and link")
    no(msg("image", { caption = "c" }), "image", "needs id")
    no(msg("image", { link = "ftp://x.test/a.png" }), "image.link", "http:// or https://")
    no(msg("image", { link = "https://x.test/a b.png" }), "image.link", "spaces")
    yes(msg("image", { link = "HTTP://x.test/a.png" }))
    no(msg("audio", { id = "1", caption = "c" }), "audio.caption", "audio messages take no caption")
    no(msg("sticker", { id = "1", caption = "c" }), "sticker.caption", "no caption")
    no(msg("document", { id = "1", filename = "" }), "document.filename", "at least 1 character")
    no(buttons({ reply("a") }, { header = { type = "image", image = { id = "1", caption = "c" } } }),
      "interactive.header.image.caption", "take no caption")
  end)

  it("refuses unknown fields and types, and a second message object", function()
    no(msg("text", { body = "x", previewurl = true }), "text.previewurl", "unknown field")
    no(msg("text", { body = "x" }, { colour = "red" }), "colour", "unknown field")
    no(msg("text", { body = "x" }, { image = { id = "1" } }), "image", 'not allowed in a "text" message')
    no(msg("voice_call", {}), "type", "validate = false")
    no(inter { type = "carousel", body = { text = "b" }, action = {} }, "interactive.type", "validate = false")
    no({ to = TO, text = { body = "x" } }, "type", "required")
    no(msg("text", nil), "text", "required")
    no(msg("text", { body = "x" }, { messaging_product = "sms" }), "messaging_product", '"whatsapp"')
    no(msg("text", { "x" }), "text", "list entry")
  end)

  it("reactions: one emoji or none, and no reply context", function()
    for _, e in ipairs { "😀", "👍🏽", "👩‍💻", "🇫🇷", "1️⃣", "❤️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "" } do
      yes(msg("reaction", { message_id = "w", emoji = e }))
    end
    for _, e in ipairs { "😀😀", "a", "ok", "🇫", "😀 ", "1" } do
      no(msg("reaction", { message_id = "w", emoji = e }), "reaction.emoji", "one emoji")
    end
    no(msg("reaction", { message_id = "w", emoji = "😀" }, { context = { message_id = "x" } }), "context", "replies")
  end)

  it("contacts: a formatted name, the birthday format, HOME/WORK types", function()
    no(msg("contacts", { { name = { first_name = "A" } } }), "contacts[1].name.formatted_name", "required")
    no(msg("contacts", { { name = { formatted_name = "A" }, birthday = "18/08/2012" } }), "contacts[1].birthday",
      "YYYY%-MM%-DD")
    no(msg("contacts", { { name = { formatted_name = "A" }, emails = { { email = "a@b.c", type = "OFFICE" } } } }),
      "contacts[1].emails[1].type", '"HOME", "WORK"')
    no(msg("contacts", {}), "contacts", "at least 1 contact")
  end)

  local function card_with(k, v)
    return msg("contacts", { { name = { formatted_name = "A" } }, { name = { formatted_name = "B" }, [k] = v } })
  end

  it("contacts: a birthday is a day that exists (OAS format: date), leap years counted", function()
    for _, day in ipairs { "2012-08-18", "2012-02-29", "2000-02-29", "1996-02-29", "2013-02-28", "2012-12-31",
      "2012-01-31", "2012-04-30", "1604-06-01" } do
      yes(card_with("birthday", day))
    end
    for _, day in ipairs { "2012-02-30", "2013-02-29", "1900-02-29", "2100-02-29", "2012-04-31", "2012-06-31",
      "2012-09-31", "2012-11-31", "2012-13-01", "2012-00-10", "2012-01-00", "2012-01-32", "2012-1-01",
      "2012-01-01T00:00:00Z" } do
      local ok, err = validate(card_with("birthday", day))
      assert(not ok, day .. " accepted")
      assert.are.equal("contacts[2].birthday: must be a real date YYYY-MM-DD", err.message, day)
    end
  end)

  it("contacts: e-mail addresses (OAS format: email), in a pragmatic form whose rule the error names", function()
    for _, e in ipairs { "test@whatsapp.com", "first.last+tag@mail.example.co.uk", "o'brien@example.ie",
      "josé@exämple.de", "a@b.c" } do
      yes(card_with("emails", { { email = e, type = "HOME" } }))
    end
    for _, e in ipairs { "test", "test@", "@whatsapp.com", "a@b@whatsapp.com", "test@whatsapp", "a b@whatsapp.com",
      "test@whatsapp.com ", "test@whatsapp.com\n", "test@.whatsapp.com", "test@whatsapp..com", "test@whatsapp.com.",
      "test@what\0sapp.com", "" } do
      local ok, err = validate(card_with("emails", { { email = "ok@example.com" }, { email = e, type = "WORK" } }))
      assert(not ok, ("%q accepted"):format(e))
      assert.are.equal("contacts[2].emails[2].email", err.field, e)
      assert.matches('must be an e%-mail address: one "@" after a non%-empty local part, then a domain with a dot',
        err.message)
    end
    no(card_with("emails", { { type = "HOME" } }), "contacts[2].emails[1].email", "required")
    no(card_with("emails", { { email = string.rep("a", 243) .. "@example.com" } }), "contacts[2].emails[1].email",
      "at most 254 characters %(got 255%)")
  end)

  it("contacts: URLs are absolute (OAS format: uri); http(s) ones need a host", function()
    for _, u in ipairs { "https://www.whatsapp.com", "http://example.com/a?b=c#d", "HTTPS://EXAMPLE.COM",
      "mailto:test@whatsapp.com", "tel:+16505551234" } do
      yes(card_with("urls", { { url = u, type = "WORK" } }))
    end
    for u, rule in pairs { ["www.whatsapp.com"] = "absolute URL", ["whatsapp"] = "absolute URL",
      ["/path"] = "absolute URL", ["https://"] = "http:// or https://", ["http:example.com"] = "http:// or https://",
      ["https://exa mple.com"] = "spaces", ["https://example.com/\n"] = "control", ["mailto:a b@c.d"] = "spaces",
      ["1http://x.y"] = "absolute URL", ["tel:"] = "absolute URL", [""] = "absolute URL" } do
      local ok, err = validate(card_with("urls", { { url = "https://ok.example" }, { url = u } }))
      assert(not ok, ("%q accepted"):format(u))
      assert.are.equal("contacts[2].urls[2].url", err.field, u)
      assert.matches(rule, err.message, 1, true)
    end
    no(card_with("urls", { { type = "HOME" } }), "contacts[2].urls[1].url", "required")
  end)

  it("reply buttons: unique ids and titles, no spaces around ids", function()
    no(buttons({ reply("a", "A"), reply("a", "B") }), "interactive.action.buttons[2].reply.id",
      "button ids must be unique %(same as interactive.action.buttons%[1%].reply.id%)")
    no(buttons({ reply("a", "A"), reply("b", "A") }), "interactive.action.buttons[2].reply.title", "unique")
    no(buttons({ reply(" a", "A") }), "interactive.action.buttons[1].reply.id", "start or end with a space")
    no(buttons({ { type = "url", reply = { id = "a", title = "A" } } }), "interactive.action.buttons[1].type",
      '"reply"')
  end)

  it("lists: unique row ids across sections, titles when there are several sections", function()
    no(list_msg({ { title = "a", rows = { row("x") } }, { title = "b", rows = { row("x") } } }),
      "interactive.action.sections[2].rows[1].id", "row ids must be unique")
    no(list_msg({ { rows = { row("x") } }, { title = "b", rows = { row("y") } } }),
      "interactive.action.sections[1].title", "more than one section")
    yes(list_msg({ { rows = { row("x") } } }))
  end)

  it("interactive headers: allowed types per kind, required on product_list", function()
    local l = list_msg({ { rows = { row("x") } } })
    l.interactive.header = { type = "image", image = { id = "1" } }
    no(l, "interactive.header.type", '"text"')
    no(inter { type = "product", header = { type = "text", text = "h" },
      action = { catalog_id = "c", product_retailer_id = "p" } }, "interactive.header", "not allowed")
    yes(inter { type = "product", action = { catalog_id = "c", product_retailer_id = "p" } })
    local pl = product_list { { product_items = items(1) } }
    pl.interactive.header = nil
    no(pl, "interactive.header", "required")
    no(buttons({ reply("a") }, { body = false }), "interactive.body", "must be a table")
    local b = buttons({ reply("a") })
    b.interactive.body = nil
    no(b, "interactive.body", "required")
    no(buttons({ reply("a") }, { header = { type = "text", text = "h", image = { id = "1" } } }),
      "interactive.header.image", 'not allowed in a "text" header')
  end)

  it("call_permission_request: Meta's shape, the body optional, no header or footer", function()
    local function cpr(t)
      t.type, t.action = "call_permission_request", t.action or { name = "call_permission_request" }
      return inter(t)
    end
    yes(cpr { body = { text = "We would like to call you to help support your query on Order No: ON-12853." } })
    yes(cpr {})
    yes(cpr { body = { text = s(1024) } })
    no(cpr { body = { text = s(1025) } }, "interactive.body.text", "at most 1024 characters")
    no(cpr { body = { text = "" } }, "interactive.body.text", "at least 1 character")
    no(cpr { header = { type = "text", text = "h" }, body = { text = "b" } }, "interactive.header",
      'not allowed on "call_permission_request" messages')
    no(cpr { body = { text = "b" }, footer = { text = "f" } }, "interactive.footer",
      'not allowed on "call_permission_request" messages')
    no(cpr { action = { name = "voice_call" } }, "interactive.action.name", '"call_permission_request"')
    no(cpr { action = {} }, "interactive.action.name", "required")
    no(cpr { action = { name = "call_permission_request", parameters = {} } }, "interactive.action.parameters",
      "unknown field")
  end)

  it("cta_url wants an http(s) URL", function()
    no(inter { type = "cta_url", body = { text = "b" }, action = { name = "cta_url",
      parameters = { display_text = "Go", url = "javascript:alert(1)" } } },
      "interactive.action.parameters.url", "http")
  end)

  it("flows: version 3, exactly one of id and name, payload only with navigate, non-empty data", function()
    yes(flow {})
    no(flow { flow_message_version = "2" }, "interactive.action.parameters.flow_message_version", '"3"')
    no(flow { flow_name = "n" }, "interactive.action.parameters", "exactly one of flow_id and flow_name")
    no(flow { flow_id = false }, "interactive.action.parameters.flow_id", "must be a string")
    no(flow { flow_action = "data_exchange", flow_action_payload = { screen = "S" } },
      "interactive.action.parameters.flow_action_payload", "navigate")
    no(flow { flow_action_payload = { screen = "S", data = {} } },
      "interactive.action.parameters.flow_action_payload.data", "not be empty")
    no(flow { flow_action_payload = { data = { a = 1 } } },
      "interactive.action.parameters.flow_action_payload.screen", "required")
    no(flow { flow_action = "jump" }, "interactive.action.parameters.flow_action", "navigate")
    no(flow { mode = "live" }, "interactive.action.parameters.mode", '"draft", "published"')
  end)

  describe("templates", function()
    it("never mix named and positional parameters", function()
      no(template { { type = "header", parameters = { { type = "text", text = "a", parameter_name = "h" } } },
        body_params { type = "text", text = "b" } },
        "template.components[2].parameters[1]", "cannot be mixed")
      yes(template { { type = "header", parameters = { { type = "text", text = "a", parameter_name = "h" } } },
        body_params { type = "text", text = "b", parameter_name = "b" } })
      yes(template { { type = "header", parameters = { { type = "image", image = { id = "1" } } } },
        body_params { type = "text", text = "b", parameter_name = "b" } })
      no(template { body_params { type = "text", text = "b", parameter_name = "First" } },
        "template.components[1].parameters[1].parameter_name", "lowercase")
    end)

    it("parameter types per component; currency and date_time shapes", function()
      no(template { body_params { type = "image", image = { id = "1" } } },
        "template.components[1].parameters[1].type", '"currency", "date_time", "text"')
      no(template { body_params { type = "currency", currency = { fallback_value = "$1", code = "usd",
        amount_1000 = 1000 } } }, "template.components[1].parameters[1].currency.code", "ISO 4217")
      no(template { body_params { type = "currency", currency = { fallback_value = "$1", code = "USD",
        amount_1000 = 1.5 } } }, "template.components[1].parameters[1].currency.amount_1000", "integer")
      -- OAS: int32; 2^31 and beyond (the old rule had no upper bound) are refused
      for _, v in ipairs { 2 ^ 31, 2 ^ 32, 2 ^ 32 + 1000, 1e15, 2 ^ 53, 2 ^ 63 } do
        no(template { body_params { type = "currency", currency = { fallback_value = "$1", code = "USD",
          amount_1000 = v } } }, "template.components[1].parameters[1].currency.amount_1000",
          "must be 1%.%.2147483647 %(got ")
      end
      yes(template { body_params { type = "currency", currency = { fallback_value = "$2,147,483.647", code = "USD",
        amount_1000 = 2147483647 } } })
      no(template { body_params { type = "date_time", date_time = {} } },
        "template.components[1].parameters[1].date_time.fallback_value", "required")
      no(template { body_params { type = "text", text = 5 } },
        "template.components[1].parameters[1].text", "must be a string %(got number%)")
      no(template { { type = "header",
        parameters = { { type = "text", text = "a" }, { type = "text", text = "b" } } } },
        "template.components[1].parameters", "1 parameter")
      no(template {}, "template.components", "at least 1 component")
      no(template { { type = "footer" } }, "template.components[1].type", "validate = false")
    end)

    it("buttons: known sub_types, unique indexes 0..9, one copy_code, parameter shapes", function()
      no(template { tbutton("phone", { type = "text", text = "x" }) }, "template.components[1].sub_type", "catalog")
      no(template { tbutton("url", { type = "text", text = "x" }, "0"),
        tbutton("url", { type = "text", text = "y" }, 0) },
        "template.components[2].index", "button indexes must be unique")
      no(template { tbutton("url", { type = "text", text = "x" }, "one") }, "template.components[1].index", "digits")
      no(template { tbutton("copy_code", { type = "coupon_code", coupon_code = "A" }, "0"),
        tbutton("copy_code", { type = "coupon_code", coupon_code = "B" }, "1") },
        "template.components[2].sub_type", "one copy_code button")
      no(template { tbutton("url", { type = "payload", payload = "x" }) },
        "template.components[1].parameters[1].type", '"text"')
      yes(template { tbutton("quick_reply", { type = "text", text = "x" }) })
      yes(template { tbutton("CATALOG", { type = "action", action = { thumbnail_product_retailer_id = "s" } }) })
      no(template { tbutton("mpm", { type = "action", action = { thumbnail_product_retailer_id = "s" } }) },
        "template.components[1].parameters[1].action.sections", "required")
      no(template { { type = "button", sub_type = "url", index = "0", parameters = {} } },
        "template.components[1].parameters", "exactly 1 parameter")
    end)

    it("a button index given as a number passes; the message to send is a copy where it is a string", function()
      local url = tbutton("url", { type = "text", text = "x" }, 0)
      local quick = tbutton("quick_reply", { type = "payload", payload = "p" }, 1)
      local named = tbutton("url", { type = "text", text = "y" }, "2")
      local a, b = card(0), card(1)
      a.components[2] = tbutton("quick_reply", { type = "payload", payload = "p" }, 0)
      b.components[2] = tbutton("quick_reply", { type = "payload", payload = "p" }, 9)
      local m = template { url, quick, named }
      local before = core.encode(m)
      local ok, sent = validate(m)
      assert.is_true(ok)
      assert.are_not.equal(m, sent)
      assert.are.equal(before, core.encode(m)) -- the caller's message is not changed
      assert.are.equal(0, url.index)
      local comps = sent.template.components
      assert.are.equal("0", comps[1].index)
      assert.are.equal("1", comps[2].index)
      assert.are.equal(named, comps[3]) -- untouched parts are shared, not copied
      assert.matches('"index":"0"', core.encode(sent), 1, true)
      assert.is_nil(core.encode(sent):find('"index":%d'))
      local c = template { { type = "carousel", cards = { a, b } } }
      ok, sent = validate(c)
      assert.is_true(ok)
      local cards = sent.template.components[1].cards
      assert.are.equal("0", cards[1].components[2].index)
      assert.are.equal("9", cards[2].components[2].index)
      assert.are.equal(0, a.components[2].index)
      -- a float with an integer value (Lua 5.4's 3.0) is written "3", not "3.0"
      local f = tbutton("url", { type = "text", text = "x" }, 3.0)
      sent = select(2, validate(template { f }))
      assert.are.equal("3", sent.template.components[1].index)
      -- a message without a numeric index is given back as it is
      local plain = template { named }
      sent = select(2, validate(plain))
      assert.are.equal(plain, sent)
      -- a message refused is refused
      local ok_button = tbutton("url", { type = "text", text = "x" }, 4)
      no(template { ok_button, tbutton("url", { type = "text", text = "y" }, 12) }, "template.components[2].index",
        "must be 0%.%.9 %(got 12%)")
      assert.are.equal(4, ok_button.index)
    end)

    it("carousels: image or video card headers, unique card indexes, buttons indexed per card", function()
      local c = card(0)
      c.components[1].parameters[1] = { type = "text", text = "x" }
      no(template { { type = "carousel", cards = { c } } },
        "template.components[1].cards[1].components[1].parameters[1].type", '"image", "video"')
      no(template { { type = "carousel", cards = { card(0), card(0) } } },
        "template.components[1].cards[2].card_index", "unique")
      local a, b = card(0), card(1)
      a.components[2] = tbutton("quick_reply", { type = "payload", payload = "p" }, "0")
      b.components[2] = tbutton("quick_reply", { type = "payload", payload = "p" }, "0")
      yes(template { { type = "carousel", cards = { a, b } } })
      local nested = card(0)
      nested.components[2] = { type = "carousel", cards = {} }
      no(template { { type = "carousel", cards = { nested } } },
        "template.components[1].cards[1].components[2].type", '"body", "button", "header"')
    end)
  end)

  it("the read receipt: message_id, typing indicator of type text", function()
    yes { messaging_product = "whatsapp", status = "read", message_id = "w" }
    no({ status = "read" }, "message_id", "required")
    no({ status = "delivered", message_id = "w" }, "status", '"read"')
    no({ status = "read", message_id = "w", typing_indicator = { type = "audio" } }, "typing_indicator.type", '"text"')
    no({ status = "read", message_id = "w", to = TO }, "to", "unknown field")
  end)

  it("lists must be sequences", function()
    no(buttons({ [1] = reply("a"), [3] = reply("b") }), "interactive.action.buttons", "holes")
    no(buttons({ x = reply("a") }), "interactive.action.buttons", "must be a list")
  end)

  it("a builder and a hand-built table get the same error", function()
    local _, built = message.text(TO, s(4097))
    local _, hand = validate(text(s(4097)))
    assert.are.equal(hand.message, built.message)
    assert.are.equal("text.body: at most 4096 characters (got 4097)", built.message)
    local _, err = message.list(TO, "b", "Open", {
      { title = "a", rows = { row("1") } },
      { title = "b", rows = { row("2", s(31)) } },
    })
    assert.are.equal("interactive.action.sections[2].rows[1].title", err.field)
    assert.are.equal("interactive.action.sections[2].rows[1].title: at most 24 characters (got 31)", err.message)
  end)

  it("raises for a message that is not a table", function()
    assert.has_error(function() validate("{}") end, "validate: message must be a table (got string)")
  end)
end)

--- Builders of WhatsApp message objects (docs/REFERENCES.md: WhatsApp messages): each
-- returns a plain Lua table, the exact JSON Meta takes, already validated
-- against whatsapp.message.rules; or nil and a ParamValidationError naming the
-- field and the rule. Pure Lua: no C core needed, so OpenResty code and tests
-- can build messages alone.
--
--   local message = require "whatsapp.message"
--   local msg, err = message.text("+14255550123", "Hello", { preview_url = true })
--
-- Every builder but mark_read takes these options (the last argument):
--   reply_to            wamid of the message this one answers (context.message_id)
--   callback_data       biz_opaque_callback_data, echoed in status events
--   recipient_type      "individual" (Meta's default) or "group"
--   allow_local_number  accept a `to` without "+" (Meta re-prefixes it)
--   validate            false: build without checking (for fields Meta added lately)
-- Wrong argument types raise; bad data returns nil, err. Unknown options raise.
-- Nothing handed over is dropped: an unknown key in a data table reaches the
-- message, where validation refuses it by name.
local validate = require "whatsapp.message.validate"
local errors = require "whatsapp.errors"
local codepoints = require "whatsapp.message.codepoints"
local C = require "whatsapp.message.checks"
local fail, join, at = C.fail, C.join, C.at

local M = {}

--- Options each builder takes: name -> { option = "type|type" }. The client's
-- send_* methods use it to tell builder options from send options.
M.options = {}
--- How many positional arguments come before opts, per builder (a function
-- for template, whose short and table forms differ).
M.arity = {}

local COMMON = {
  reply_to = "string", callback_data = "string", recipient_type = "string",
  allow_local_number = "boolean", validate = "boolean",
}

local function raise(name, text) error("whatsapp.message." .. name .. ": " .. text, 0) end

local function typed(v, want)
  return ("|" .. want .. "|"):find("|" .. type(v) .. "|", 1, true) ~= nil
end

local function check_arg(name, what, v, want)
  if not typed(v, want) then
    raise(name, what .. " must be a " .. want:gsub("|", " or ") .. " (got " .. type(v) .. ")")
  end
end

local function check_opts(name, opts)
  if opts == nil then return {} end
  check_arg(name, "opts", opts, "table")
  local known = M.options[name]
  for k, v in pairs(opts) do
    local want = known[k]
    if want == nil then raise(name, "unknown option '" .. tostring(k) .. "'") end
    if not typed(v, want) then
      raise(name, "option '" .. k .. "' must be a " .. want:gsub("|", " or ") .. " (got " .. type(v) .. ")")
    end
  end
  return opts
end

-- Defines builder `name`: records its options and arity, checks opts, and
-- turns check Failures raised while building into nil, err.
local function builder(name, arity, extra, fn)
  local known = {}
  for k, v in pairs(extra or {}) do known[k] = v end
  if name ~= "mark_read" then
    for k, v in pairs(COMMON) do known[k] = v end
  else
    known.validate = COMMON.validate
  end
  M.options[name] = known
  M.arity[name] = arity
  M[name] = function(...)
    local n = type(arity) == "function" and arity(...) or arity
    local opts = check_opts(name, (select(n + 1, ...)))
    local ok, msg, err = pcall(fn, opts, ...)
    if ok then return msg, err end
    if getmetatable(msg) == C.Failure then return nil, errors.validation(msg.path, msg.rule) end
    error(msg, 0)
  end
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Sets t[key] from an option, refusing a value given in both places.
local function put(t, key, value, path)
  if value == nil then return end
  if t[key] ~= nil then fail(join(path, key), "given twice (in the table and in opts)") end
  t[key] = value
end

-- Length of a Lua sequence handed to a builder; a table with holes or other
-- keys would lose entries on the way, so it is refused.
local function seq(t, path)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then fail(path, "must be a list") end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then fail(path, "must be a list without holes (no entry [" .. i .. "])") end
  end
  return n
end

local function envelope(to, kind, body, o)
  local msg = { messaging_product = "whatsapp", to = to, type = kind, [kind] = body }
  msg.recipient_type = o.recipient_type
  if o.reply_to ~= nil then msg.context = { message_id = o.reply_to } end
  msg.biz_opaque_callback_data = o.callback_data
  return msg
end

local function finish(msg, o)
  if o.validate == false then return msg end
  -- (what validation gives back: msg, or a copy with template button
  -- indexes as strings, for a template whose components came whole)
  local ok, checked = validate.message(msg, { allow_local_number = o.allow_local_number })
  if not ok then return nil, checked end
  return checked
end

--- Checks a message object built by hand, with the rules the builders use.
-- @tparam table msg a WhatsApp message object
-- @tparam[opt] table opts `allow_local_number`
-- @return true and the message to send (msg, or a copy of it where a
-- template button index given as a number is a string), or nil and a
-- ParamValidationError
M.validate = validate.message

-- text and media -------------------------------------------------------------

--- A text message.
-- @tparam string to recipient, "+" and the country code ("+1 (650) 555-1234" is fine)
-- @tparam string|table body the text, or the whole `text` object `{body=…, preview_url=…}`
-- @tparam[opt] table opts `preview_url` (boolean) and the common options
-- @return the message table, or nil and an error
builder("text", 2, { preview_url = "boolean" }, function(o, to, body)
  check_arg("text", "to", to, "string")
  check_arg("text", "body", body, "string|table")
  local text = type(body) == "string" and { body = body } or copy(body)
  put(text, "preview_url", o.preview_url, "text")
  return finish(envelope(to, "text", text, o), o)
end)

local MEDIA_OPTIONS = {
  image = { caption = "string" },
  video = { caption = "string" },
  document = { caption = "string", filename = "string" },
  audio = { voice = "boolean" },
  sticker = {},
}

--- Media messages: image, video, audio, document, sticker. Each takes
-- (to, media, opts) where media is a link (an http(s) URL string), or a table
-- `{id = "<uploaded media id>"}` or `{link = "https://…"}` that may also hold
-- the fields below. opts: `caption` (image, video, document), `filename`
-- (document), `voice` (audio: a voice note, OGG/OPUS), and the common options.
-- @function image
-- @tparam string to recipient
-- @tparam string|table media link, or `{id=…}` / `{link=…}`
-- @tparam[opt] table opts
-- @return the message table, or nil and an error
for kind, extra in pairs(MEDIA_OPTIONS) do
  builder(kind, 2, extra, function(o, to, media)
    check_arg(kind, "to", to, "string")
    check_arg(kind, "media", media, "string|table")
    local obj = type(media) == "string" and { link = media } or copy(media)
    for k in pairs(extra) do put(obj, k, o[k], kind) end
    return finish(envelope(to, kind, obj, o), o)
  end)
end

--- A location pin.
-- @tparam string to recipient
-- @tparam table location `{latitude=…, longitude=…, name=…, address=…}` (name and address optional)
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("location", 2, nil, function(o, to, location)
  check_arg("location", "to", to, "string")
  check_arg("location", "location", location, "table")
  return finish(envelope(to, "location", copy(location), o), o)
end)

--- Contact cards.
-- @tparam string to recipient
-- @tparam table contacts one card `{name={formatted_name=…}, phones={…}, …}` or a list of cards
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("contacts", 2, nil, function(o, to, contacts)
  check_arg("contacts", "to", to, "string")
  check_arg("contacts", "contacts", contacts, "table")
  local list = contacts[1] == nil and next(contacts) ~= nil and { contacts } or contacts
  return finish(envelope(to, "contacts", list, o), o)
end)

--- A reaction to a message (reactions cannot carry reply_to).
-- @tparam string to recipient
-- @tparam string message_id the wamid reacted to
-- @tparam string emoji one emoji; "" removes the reaction
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("reaction", 3, nil, function(o, to, message_id, emoji)
  check_arg("reaction", "to", to, "string")
  check_arg("reaction", "message_id", message_id, "string")
  check_arg("reaction", "emoji", emoji, "string")
  return finish(envelope(to, "reaction", { message_id = message_id, emoji = emoji }, o), o)
end)

--- Removes this business's reaction from a message (a reaction with emoji "").
-- @tparam string to recipient
-- @tparam string message_id the wamid
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("remove_reaction", 2, nil, function(o, to, message_id)
  check_arg("remove_reaction", "to", to, "string")
  check_arg("remove_reaction", "message_id", message_id, "string")
  return finish(envelope(to, "reaction", { message_id = message_id, emoji = "" }, o), o)
end)

-- interactive ----------------------------------------------------------------

--- Any interactive message from its full `interactive` object
-- (`{type=…, header=…, body={text=…}, footer=…, action=…}`).
-- @tparam string to recipient
-- @tparam table interactive the interactive object
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("interactive", 2, nil, function(o, to, interactive)
  check_arg("interactive", "to", to, "string")
  check_arg("interactive", "interactive", interactive, "table")
  return finish(envelope(to, "interactive", copy(interactive), o), o)
end)

local HEADER_MEDIA = { image = true, video = true, document = true }

-- opts.header: "text", a full header object, or {image = link|{id=…}|{link=…}}
local function header_of(h)
  if type(h) == "string" then return { type = "text", text = h } end
  if h.type ~= nil then return h end
  local kind, n = nil, 0
  for k in pairs(h) do kind, n = k, n + 1 end
  if n ~= 1 or not (HEADER_MEDIA[kind] or kind == "text") then return h end -- validation names what is wrong
  local v = h[kind]
  if HEADER_MEDIA[kind] and type(v) == "string" then v = { link = v } end
  return { type = kind, [kind] = v }
end

local function text_of(v)
  if v == nil or type(v) == "table" then return v end
  return { text = v }
end

local HEADER_FOOTER = { header = "string|table", footer = "string|table" }

local function interactive(to, kind, body, action, o)
  local obj = {
    type = kind,
    header = o.header ~= nil and header_of(o.header) or nil,
    body = text_of(body),
    footer = text_of(o.footer),
    action = action,
  }
  return finish(envelope(to, "interactive", obj, o), o)
end

--- Reply buttons (1 to 3).
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam table buttons list of `{id=…, title=…}`, or of strings used as both id and title
-- @tparam[opt] table opts `header` (text, or `{image=link}` / video / document), `footer`, common options
-- @return the message table, or nil and an error
builder("buttons", 3, HEADER_FOOTER, function(o, to, body, buttons)
  check_arg("buttons", "to", to, "string")
  check_arg("buttons", "body", body, "string|table")
  check_arg("buttons", "buttons", buttons, "table")
  local out = {}
  for i = 1, seq(buttons, "interactive.action.buttons") do
    local b = buttons[i]
    if type(b) == "string" then
      out[i] = { type = "reply", reply = { id = b, title = b } }
    elseif type(b) == "table" and b.type == nil and b.reply == nil then
      out[i] = { type = "reply", reply = copy(b) }
    else
      out[i] = b -- a full button object, or something validation refuses by name
    end
  end
  return interactive(to, "button", body, { buttons = out }, o)
end)

--- A list message: a button that opens sections of rows (at most 10 rows in all).
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam string button the label of the button that opens the list
-- @tparam table sections list of `{title=…, rows={{id=…, title=…, description=…}, …}}`,
--   or directly a list of rows for one untitled section
-- @tparam[opt] table opts `header` (text only), `footer`, common options
-- @return the message table, or nil and an error
builder("list", 4, HEADER_FOOTER, function(o, to, body, button, sections)
  check_arg("list", "to", to, "string")
  check_arg("list", "body", body, "string|table")
  check_arg("list", "button", button, "string")
  check_arg("list", "sections", sections, "table")
  local first = sections[1]
  if type(first) == "table" and first.rows == nil and first.id ~= nil then
    sections = { { rows = sections } } -- rows given directly
  end
  return interactive(to, "list", body, { button = button, sections = sections }, o)
end)

--- A call-to-action URL button.
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam string display_text the button label
-- @tparam string url what the button opens (http or https)
-- @tparam[opt] table opts `header`, `footer`, common options
-- @return the message table, or nil and an error
builder("cta_url", 4, HEADER_FOOTER, function(o, to, body, display_text, url)
  check_arg("cta_url", "to", to, "string")
  check_arg("cta_url", "body", body, "string|table")
  check_arg("cta_url", "display_text", display_text, "string")
  check_arg("cta_url", "url", url, "string")
  return interactive(to, "cta_url", body,
    { name = "cta_url", parameters = { display_text = display_text, url = url } }, o)
end)

-- short names of the flow parameters
local FLOW_KEYS = {
  id = "flow_id", name = "flow_name", cta = "flow_cta", token = "flow_token", action = "flow_action",
}

--- A WhatsApp Flow.
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam table flow `id` or `name` (the flow), `cta` (button label), `token`, `action`
--   ("navigate", the default, or "data_exchange"), `screen` and `data` (first screen, navigate only),
--   `mode` ("draft"/"published"); the JSON names (flow_id, flow_cta, …) are accepted too
-- @tparam[opt] table opts `header`, `footer`, common options
-- @return the message table, or nil and an error
builder("flow", 3, HEADER_FOOTER, function(o, to, body, flow)
  check_arg("flow", "to", to, "string")
  check_arg("flow", "body", body, "string|table")
  check_arg("flow", "flow", flow, "table")
  local path = "interactive.action.parameters"
  local params = { flow_message_version = "3" }
  local payload
  for k, v in pairs(flow) do
    if k == "screen" or k == "data" then
      payload = payload or {}
      payload[k] = v
    else
      local key = FLOW_KEYS[k] or k -- other keys pass on: validation names unknown ones
      if key ~= "flow_message_version" and params[key] ~= nil then fail(join(path, key), "given twice") end
      params[key] = v
    end
  end
  put(params, "flow_action_payload", payload, path)
  return interactive(to, "flow", body, { name = "flow", parameters = params }, o)
end)

--- A single product from a catalog.
-- @tparam string to recipient
-- @tparam string catalog_id the catalog
-- @tparam string product_retailer_id the product's SKU
-- @tparam[opt] table opts `body`, `footer`, common options (no header on product messages)
-- @return the message table, or nil and an error
builder("product", 3, { body = "string|table", footer = "string|table" }, function(o, to, catalog_id, sku)
  check_arg("product", "to", to, "string")
  check_arg("product", "catalog_id", catalog_id, "string")
  check_arg("product", "product_retailer_id", sku, "string")
  return interactive(to, "product", o.body, { catalog_id = catalog_id, product_retailer_id = sku }, o)
end)

--- Several products from a catalog, in sections (at most 30 in all).
-- @tparam string to recipient
-- @tparam string|table header the header text (required on product lists)
-- @tparam string body the message text
-- @tparam string catalog_id the catalog
-- @tparam table sections list of `{title=…, product_items={"sku1", "sku2"}}` (SKU strings or
--   `{product_retailer_id=…}`), or directly a list of SKUs for one untitled section
-- @tparam[opt] table opts `footer`, common options
-- @return the message table, or nil and an error
builder("product_list", 5, { footer = "string|table" }, function(o, to, header, body, catalog_id, sections)
  check_arg("product_list", "to", to, "string")
  check_arg("product_list", "header", header, "string|table")
  check_arg("product_list", "body", body, "string|table")
  check_arg("product_list", "catalog_id", catalog_id, "string")
  check_arg("product_list", "sections", sections, "table")
  local first = sections[1]
  if type(first) == "string" or (type(first) == "table" and first.product_retailer_id ~= nil) then
    sections = { { product_items = sections } } -- SKUs given directly
  end
  local out = {}
  for i = 1, seq(sections, "interactive.action.sections") do
    local s = sections[i]
    if type(s) == "table" and type(s.product_items) == "table" then
      s = copy(s)
      local items = {}
      for j = 1, seq(s.product_items, at("interactive.action.sections", i) .. ".product_items") do
        local it = s.product_items[j]
        items[j] = type(it) == "string" and { product_retailer_id = it } or it
      end
      s.product_items = items
    end
    out[i] = s
  end
  local obj = { header = header }
  for k, v in pairs(o) do obj[k] = v end
  return interactive(to, "product_list", body, { catalog_id = catalog_id, sections = out }, obj)
end)

--- The business's whole catalog.
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam[opt] table opts `thumbnail` (product_retailer_id of the thumbnail), `footer`, common options
-- @return the message table, or nil and an error
builder("catalog", 2, { thumbnail = "string", footer = "string|table" }, function(o, to, body)
  check_arg("catalog", "to", to, "string")
  check_arg("catalog", "body", body, "string|table")
  local action = { name = "catalog_message" }
  if o.thumbnail ~= nil then action.parameters = { thumbnail_product_retailer_id = o.thumbnail } end
  return interactive(to, "catalog_message", body, action, o)
end)

--- Asks the user to share their location.
-- @tparam string to recipient
-- @tparam string body the message text
-- @tparam[opt] table opts `footer`, common options
-- @return the message table, or nil and an error
builder("location_request", 2, { footer = "string|table" }, function(o, to, body)
  check_arg("location_request", "to", to, "string")
  check_arg("location_request", "body", body, "string|table")
  return interactive(to, "location_request_message", body, { name = "send_location" }, o)
end)

--- Asks the user for permission to call them (WhatsApp Business Calling).
-- Meta lets the business set only the body: no header, no footer. The body
-- is optional, though Meta advises one that says why you want to call.
-- @tparam string to recipient
-- @tparam[opt] string|table body the message text (nil: none)
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("call_permission_request", 2, nil, function(o, to, body)
  check_arg("call_permission_request", "to", to, "string")
  check_arg("call_permission_request", "body", body, "string|table|nil")
  return interactive(to, "call_permission_request", body, { name = "call_permission_request" }, o)
end)

-- template -------------------------------------------------------------------

local PARAM_KINDS = { "text", "currency", "date_time", "image", "video", "document", "location", "product" }
local IS_PARAM_KEY = { type = true, parameter_name = true }
for _, k in ipairs(PARAM_KINDS) do IS_PARAM_KEY[k] = true end

-- One parameter: a string (text), a full parameter object, or a table with
-- one parameter key whose type is then implied: {currency = {…}},
-- {image = "https://…"} (a link), {text = "…", parameter_name = "…"}.
local function param(p)
  if type(p) ~= "table" then return { type = "text", text = p } end
  if p.type ~= nil then return p end
  local kind
  for _, k in ipairs(PARAM_KINDS) do
    if p[k] ~= nil then
      if kind then return p end -- two kinds: validation says type is required
      kind = k
    end
  end
  if not kind then return p end
  local out = copy(p)
  out.type = kind
  if HEADER_MEDIA[kind] and type(p[kind]) == "string" then out[kind] = { link = p[kind] } end
  return out
end

-- Is t one parameter rather than a list or a map of named parameters?
local function single_param(t)
  for k in pairs(t) do
    if not IS_PARAM_KEY[k] then return false end
  end
  return next(t) ~= nil
end

-- The parameters of a header or body: one value, a list (positional), or a
-- map name -> value (named parameters, sorted by name for stable output).
local function params(v, path)
  if type(v) ~= "table" or single_param(v) then return { param(v) } end
  if v[1] ~= nil then
    local out = {}
    for i = 1, seq(v, path) do out[i] = param(v[i]) end
    return out
  end
  local names = {}
  for k in pairs(v) do
    if type(k) ~= "string" then fail(path, "must be a list of parameters or a map of named ones, not both") end
    names[#names + 1] = k
  end
  table.sort(names)
  local out = {}
  for i, name in ipairs(names) do
    local p = param(v[name])
    if p == v[name] then p = copy(p) end
    if p.parameter_name ~= nil and p.parameter_name ~= name then
      fail(join(path, name), "parameter_name differs from its key")
    end
    p.parameter_name = name
    out[i] = p
  end
  return out
end

local SUB_TYPES = { "quick_reply", "url", "copy_code", "flow", "catalog", "mpm" }

-- A template button: a full component, or {<sub_type> = value, index = n}
-- with index defaulting to its position (0-based).
local function button(b, i, path)
  if type(b) ~= "table" then
    fail(path, 'must be a table such as {quick_reply = "PAYLOAD"} or {url = "suffix"}, or false to skip an index')
  end
  if b.type ~= nil then return b end
  local sub
  for _, s in ipairs(SUB_TYPES) do
    if b[s] ~= nil then
      if sub then fail(path, "one sub_type per button (got " .. sub .. " and " .. s .. ")") end
      sub = s
    end
  end
  if not sub then fail(path, "needs one of " .. table.concat(SUB_TYPES, ", ")) end
  local v = b[sub]
  local p
  if sub == "quick_reply" then
    p = { type = "payload", payload = v }
  elseif sub == "url" then
    p = { type = "text", text = v }
  elseif sub == "copy_code" then
    p = { type = "coupon_code", coupon_code = v }
  elseif sub == "catalog" and type(v) == "string" then
    p = { type = "action", action = { thumbnail_product_retailer_id = v } }
  elseif sub == "flow" and type(v) == "string" then
    p = { type = "action", action = { flow_token = v } }
  else
    p = { type = "action", action = v }
  end
  local out = { type = "button", sub_type = sub, index = tostring(i - 1), parameters = { p } }
  for k, x in pairs(b) do
    if k ~= sub then out[k] = x end -- index, and unknown keys for validation to name
  end
  return out
end

local function buttons(list, path, out)
  for i = 1, seq(list, path) do
    if list[i] ~= false then out[#out + 1] = button(list[i], i, at(path, i)) end
  end
end

local SHORT_COMPONENTS = {
  header = true, body = true, buttons = true, limited_time_offer = true, carousel = true, otp = true,
}

local components -- cards hold components too

local function card(c, i, path)
  if type(c) ~= "table" then fail(path, "must be a table {header=…, body=…, buttons=…}") end
  if c.components ~= nil then
    if c.card_index ~= nil then return c end
    local out = copy(c)
    out.card_index = i - 1
    return out
  end
  local short, rest = {}, {}
  for k, v in pairs(c) do
    if k == "header" or k == "body" or k == "buttons" then short[k] = v else rest[k] = v end
  end
  rest.card_index = c.card_index or (i - 1)
  rest.components = components(short, path)
  return rest
end

-- The short form {header=…, body=…, buttons=…, limited_time_offer=…,
-- carousel=…, otp=…} as the list of component objects Meta takes.
function components(c, path)
  for k in pairs(c) do
    if not SHORT_COMPONENTS[k] then
      fail(join(path, tostring(k)), "unknown component (header, body, buttons, limited_time_offer, carousel, otp)")
    end
  end
  local out = {}
  if c.header ~= nil then out[#out + 1] = { type = "header", parameters = params(c.header, join(path, "header")) } end
  if c.limited_time_offer ~= nil then
    local lto = c.limited_time_offer
    if type(lto) ~= "table" then lto = { expiration_time_ms = lto } end
    out[#out + 1] = { type = "limited_time_offer",
      parameters = { { type = "limited_time_offer", limited_time_offer = lto } } }
  end
  if c.otp ~= nil then
    -- authentication templates: the code fills the body and the copy-code /
    -- one-tap button (a url button at index 0)
    local op = join(path, "otp")
    if c.body ~= nil or c.buttons ~= nil then fail(op, "fills the body and button 0: give no body or buttons") end
    if type(c.otp) ~= "string" then fail(op, "must be a string (got " .. type(c.otp) .. ")") end
    local n = codepoints.len(c.otp)
    if not n then fail(op, "not valid UTF-8") end
    local rule = validate.limit_rule("otp_code", n)
    if rule then fail(op, rule) end
    out[#out + 1] = { type = "body", parameters = { { type = "text", text = c.otp } } }
    out[#out + 1] = { type = "button", sub_type = "url", index = "0", parameters = { { type = "text", text = c.otp } } }
  end
  if c.body ~= nil then out[#out + 1] = { type = "body", parameters = params(c.body, join(path, "body")) } end
  if c.carousel ~= nil then
    local cp = join(path, "carousel")
    if type(c.carousel) ~= "table" then fail(cp, "must be a list of cards") end
    local cards = {}
    for i = 1, seq(c.carousel, cp) do cards[i] = card(c.carousel[i], i, at(cp, i)) end
    out[#out + 1] = { type = "carousel", cards = cards }
  end
  if c.buttons ~= nil then
    if type(c.buttons) ~= "table" then fail(join(path, "buttons"), "must be a list of buttons") end
    buttons(c.buttons, join(path, "buttons"), out)
  end
  if #out == 0 then return nil end
  return out
end

-- t, or a copy of t with t[key] = v when that changes it
local function with(t, key, v)
  if t[key] == v then return t end
  local out = copy(t)
  out[key] = v
  return out
end

-- Meta types a template button's index as a string: a number given for
-- one (an integer 0..9; anything else is left for validation to name) is
-- sent as its digits, also with validate = false. What changes is copied:
-- the caller's tables stay as they are.
local function index_string(v)
  if type(v) == "number" and v % 1 == 0 and v >= 0 and v <= 9 then return string.format("%d", v) end
  return v
end

local string_indexes -- carousel cards hold components too

local function card_string_indexes(c)
  if type(c) ~= "table" then return c end
  return with(c, "components", string_indexes(c.components))
end

local function component_string_index(c)
  if type(c) ~= "table" then return c end
  if c.type == "button" then return with(c, "index", index_string(c.index)) end
  if c.type == "carousel" and type(c.cards) == "table" then
    local cards
    for k, entry in pairs(c.cards) do
      local fixed = card_string_indexes(entry)
      if fixed ~= entry then
        cards = cards or copy(c.cards)
        cards[k] = fixed
      end
    end
    if cards then return with(c, "cards", cards) end
  end
  return c
end

function string_indexes(list)
  if type(list) ~= "table" then return list end
  local out
  for k, c in pairs(list) do
    local fixed = component_string_index(c)
    if fixed ~= c then
      out = out or copy(list)
      out[k] = fixed
    end
  end
  return out or list
end

local function template_arity(_, name) return type(name) == "table" and 2 or 4 end

--- A template message.
--   message.template(to, "order_update", "en_US", { body = { "Jane" } })
--   message.template(to, { name = …, language = { code = … }, components = { … } })  -- the JSON object
-- components: the list of component objects Meta takes, or the short form
--   header = a parameter (string, {image = link}, {location = {…}}, …)
--   body = list of parameters, or a map name -> value for named parameters
--   buttons = list of {quick_reply = payload} / {url = suffix} / {copy_code = code} / {flow = {…}} /
--             {catalog = sku} / {mpm = {…}}, index = position unless given; false skips an index
-- A button index given as a number is sent as a string ("0"), in every form.
--   limited_time_offer = expiration time in ms;  carousel = list of {header=, body=, buttons=}
--   otp = code (authentication templates: body text and the url button 0)
-- A parameter is a string (text), `{currency = {fallback_value=, code=, amount_1000=}}`,
-- `{date_time = {fallback_value=}}`, `{image|video|document = link or {id=…}}`,
-- `{location = {…}}`, or a full parameter object.
-- @tparam string to recipient
-- @tparam string|table name template name, or the whole template object
-- @tparam string|table language code ("en_US") or `{code=…, policy=…}`
-- @tparam[opt] table components as above
-- @tparam[opt] table opts the common options
-- @return the message table, or nil and an error
builder("template", template_arity, nil, function(o, to, name, language, components_in)
  check_arg("template", "to", to, "string")
  check_arg("template", "name", name, "string|table")
  if type(name) == "table" then
    local tpl = copy(name)
    tpl.components = string_indexes(tpl.components)
    return finish(envelope(to, "template", tpl, o), o)
  end
  check_arg("template", "language", language, "string|table")
  check_arg("template", "components", components_in, "table|nil")
  local tpl = { name = name, language = type(language) == "string" and { code = language } or language }
  local c = components_in
  if c ~= nil and next(c) ~= nil then
    -- a list is the full form; a map the short form
    tpl.components = string_indexes(c[1] ~= nil and c or components(c, "template.components"))
  end
  return finish(envelope(to, "template", tpl, o), o)
end)

-- mark as read ---------------------------------------------------------------

--- Marks a received message (and those before it) as read, optionally with
-- a typing indicator. No `to`, no `type`; none of the common options
-- but `validate` apply.
-- @tparam string message_id the wamid received
-- @tparam[opt] table opts `typing = true` shows "typing…" for up to 25 s
-- @return the payload table, or nil and an error
builder("mark_read", 1, { typing = "boolean" }, function(o, message_id)
  check_arg("mark_read", "message_id", message_id, "string")
  local msg = { messaging_product = "whatsapp", status = "read", message_id = message_id }
  if o.typing then msg.typing_indicator = { type = "text" } end
  if o.validate == false then return msg end
  local ok, err = validate.message(msg)
  if not ok then return nil, err end
  return msg
end)

return M

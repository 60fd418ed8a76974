--- Client-side validation of WhatsApp message objects (plain Lua tables)
-- against whatsapp.message.rules, so that a malformed message is refused
-- here, naming the field and the rule, instead of failing at Meta later.
-- Pure Lua: usable without the C core.
--
-- Paths read like the JSON with 1-based Lua list indexes:
-- `interactive.action.sections[2].rows[1].title`.
local rules = require "whatsapp.message.rules"
local errors = require "whatsapp.errors"
local single_emoji = require "whatsapp.message.emoji"
local interactive = require("whatsapp.message.interactive").interactive
local template = require "whatsapp.message.template"
local C = require "whatsapp.message.checks"
local codepoints = require "whatsapp.message.codepoints"
local fail, join, at, check_limit, str = C.fail, C.join, C.at, C.check_limit, C.str
local required, object, fields, set, list = C.required, C.object, C.fields, C.set, C.list
local boolean, one_of, constant, media, location = C.boolean, C.one_of, C.constant, C.media, C.location
local http_url = C.http_url
local MEDIA_FIELDS, UNKNOWN, Failure, limit_rule = C.MEDIA_FIELDS, C.UNKNOWN, C.Failure, C.limit_rule

local M = {}

-- phone numbers --------------------------------------------------------------

local function phone_number(v, path, allow_local)
  -- the common case, "+" and digits, in one match
  if type(v) == "string" and v:find("^%+[1-9]%d*$") then
    check_limit(path, "to_digits", #v - 1)
    return
  end
  str(v, path)
  if v:find("[^%d %-%(%)%+]") then
    fail(path, 'must be "+" and the country code and number, with only spaces, "-" or "()" between digits')
  end
  if v:find("+", 2, true) then fail(path, '"+" may only come first') end
  local digits = v:gsub("%D", "")
  check_limit(path, "to_digits", #digits)
  if v:sub(1, 1) == "+" then
    if digits:sub(1, 1) == "0" then fail(path, "a country code never starts with 0") end
  elseif not allow_local then
    if digits:sub(1, 2) == "00" then
      fail(path, 'starts with 00: write the number as "+" and the country code '
        .. "(allow_local_number = true sends it as it is)")
    end
    fail(path, 'must start with "+" and the country code: Meta prefixes a number without "+" with the '
      .. "business number's country code (allow_local_number = true sends it as it is)")
  end
end

-- a contact card part whose members are all plain strings; a `type` marked
-- "HOME|WORK" in allowed is that enum (OAS)
local function strings(v, path, allowed)
  object(v, path)
  fields(v, path, allowed)
  for k, s in pairs(v) do
    if allowed[k] == "HOME|WORK" then
      one_of(s, join(path, k), rules.CONTACT_TYPES)
    else
      str(s, join(path, k))
    end
  end
end

local CARD_FIELDS = set("name", "birthday", "phones", "emails", "addresses", "org", "urls")
local NAME_FIELDS = set("formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix")
local PHONE_FIELDS = set("phone", "type", "wa_id")
local EMAIL_FIELDS = { email = true, type = "HOME|WORK" }
local ADDRESS_FIELDS = { street = true, city = true, state = true, zip = true, country = true,
  country_code = true, type = "HOME|WORK" }
local URL_FIELDS = { url = true, type = "HOME|WORK" }
local ORG_FIELDS = set("company", "department", "title")

-- contact card e-mail addresses: OAS EmailObject, `email` required and
-- `format: email`, checked in the pragmatic form of rules.EMAIL_RULE
local function email(e, path)
  local p = join(path, "email")
  local v = str(required(e, "email", path), p, "contact_email")
  local at_sign = v:find("@", 1, true)
  local domain = at_sign and v:sub(at_sign + 1) or ""
  if v:find("[%z\1-\32\127]") or not at_sign or at_sign == 1 or domain:find("@", 1, true)
    or not domain:find("^[^.]+%.[^.]") or domain:find("..", 1, true) or domain:sub(-1) == "." then
    fail(p, rules.EMAIL_RULE)
  end
end

-- contact card URLs: OAS UrlObject, `url` required and `format: uri` (RFC
-- 3986: a scheme, ":" and the rest); an http(s) one also needs its host
local function url(u, path)
  local p = join(path, "url")
  local v = str(required(u, "url", path), p)
  if v:find("^[Hh][Tt][Tt][Pp][Ss]?:") then return http_url(v, p) end
  if not v:find(rules.URI) or v:find("[%z\1-\32\127]") then fail(p, rules.URI_RULE) end
end

local function contact_list(card, key, path, allowed, check)
  local v = card[key]
  if v == nil then return end
  local p = join(path, key)
  local n = list(v, p)
  for i = 1, n do
    strings(v[i], at(p, i), allowed)
    if check then check(v[i], at(p, i)) end
  end
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- OAS ContactObject birthday `format: date` (RFC 3339 full-date): a day
-- that exists, leap years counted
local function birthday(v, path)
  str(v, path)
  local y, m, d = v:match(rules.BIRTHDAY)
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  local leap = y and (y % 4 == 0 and y % 100 ~= 0 or y % 400 == 0)
  local last = m and DAYS_IN_MONTH[m] and (m == 2 and leap and 29 or DAYS_IN_MONTH[m])
  if not last or d < 1 or d > last then fail(path, "must be a real date YYYY-MM-DD") end
end

local function contact(card, path)
  object(card, path)
  fields(card, path, CARD_FIELDS)
  local name = required(card, "name", path)
  strings(name, join(path, "name"), NAME_FIELDS)
  str(required(name, "formatted_name", join(path, "name")), join(path, "name.formatted_name"), "nonempty")
  if card.birthday ~= nil then birthday(card.birthday, join(path, "birthday")) end
  contact_list(card, "phones", path, PHONE_FIELDS)
  contact_list(card, "emails", path, EMAIL_FIELDS, email)
  contact_list(card, "addresses", path, ADDRESS_FIELDS)
  contact_list(card, "urls", path, URL_FIELDS, url)
  if card.org ~= nil then strings(card.org, join(path, "org"), ORG_FIELDS) end
end

-- the envelope ---------------------------------------------------------------

local TEXT_FIELDS = set("body", "preview_url")
local function text(v, path)
  object(v, path)
  fields(v, path, TEXT_FIELDS)
  str(required(v, "body", path), join(path, "body"), "text_body")
  if v.preview_url ~= nil then boolean(v.preview_url, join(path, "preview_url")) end
end

local function contacts(v, path)
  local n = list(v, path, "contacts")
  for i = 1, n do contact(v[i], at(path, i)) end
end

local function reaction(v, path)
  object(v, path)
  fields(v, path, set("message_id", "emoji"))
  str(required(v, "message_id", path), join(path, "message_id"), "nonempty")
  local e = str(required(v, "emoji", path), join(path, "emoji"))
  if not single_emoji(e) then fail(join(path, "emoji"), 'must be one emoji, or "" to remove the reaction') end
end

local BODIES = {
  text = text,
  image = function(v, p) media("image", v, p, MEDIA_FIELDS.image) end,
  video = function(v, p) media("video", v, p, MEDIA_FIELDS.video) end,
  audio = function(v, p) media("audio", v, p, MEDIA_FIELDS.audio) end,
  document = function(v, p) media("document", v, p, MEDIA_FIELDS.document) end,
  sticker = function(v, p) media("sticker", v, p, MEDIA_FIELDS.sticker) end,
  location = location,
  contacts = contacts,
  reaction = reaction,
  interactive = interactive,
  template = template,
}

local ENVELOPE = set("messaging_product", "recipient_type", "to", "recipient", "type", "context",
  "biz_opaque_callback_data", "recipient_identity_key_hash")

-- The read receipt (with an optional typing indicator) has no to/type
local function read_receipt(msg)
  fields(msg, "", set("messaging_product", "status", "message_id", "typing_indicator"))
  constant(msg.status, "status", "read")
  str(required(msg, "message_id", ""), "message_id", "nonempty")
  if msg.typing_indicator ~= nil then
    object(msg.typing_indicator, "typing_indicator")
    fields(msg.typing_indicator, "typing_indicator", set("type"))
    constant(msg.typing_indicator.type, "typing_indicator.type", "text")
  end
end

local function message(msg, opts)
  if msg.messaging_product ~= nil then constant(msg.messaging_product, "messaging_product", "whatsapp") end
  if msg.status ~= nil then return read_receipt(msg) end
  local t = required(msg, "type", "")
  if not BODIES[t] then
    one_of(t, "type", rules.MESSAGE_TYPES, "validate = false sends types this module does not know")
  end
  for k in pairs(msg) do
    if not ENVELOPE[k] and k ~= t then
      if BODIES[k] then fail(k, 'not allowed in a "' .. t .. '" message') end
      fail(tostring(k), UNKNOWN)
    end
  end
  if msg.recipient_type ~= nil then one_of(msg.recipient_type, "recipient_type", rules.RECIPIENT_TYPES) end
  if msg.to == nil and msg.recipient == nil then fail("to", "required") end
  if msg.to ~= nil then
    if msg.recipient_type == "group" then
      str(msg.to, "to", "nonempty") -- a group id, not a phone number
    else
      phone_number(msg.to, "to", opts.allow_local_number)
    end
  end
  if msg.recipient ~= nil then str(msg.recipient, "recipient", "nonempty") end
  if msg.recipient_identity_key_hash ~= nil then str(msg.recipient_identity_key_hash, "recipient_identity_key_hash") end
  if msg.context ~= nil then
    if t == "reaction" then fail("context", "reactions cannot be replies (Meta refuses context on them)") end
    object(msg.context, "context")
    fields(msg.context, "context", set("message_id"))
    str(required(msg.context, "message_id", "context"), "context.message_id", "nonempty")
  end
  if msg.biz_opaque_callback_data ~= nil then
    str(msg.biz_opaque_callback_data, "biz_opaque_callback_data", "biz_opaque_callback_data")
  end
  local body = required(msg, t, "")
  -- last: a template's numeric button indexes are returned only once all else passed
  if t == "template" then return template(body, t) end
  BODIES[t](body, t)
end

local with_string_indexes -- (below)

local function shallow_copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return setmetatable(c, getmetatable(t))
end

-- t with every component of the set `numeric` replaced by a copy whose
-- index is a string, and the tables on the way to it copied: the caller's
-- tables are never changed. (A checked message has no cycle and nests a few
-- levels; depth bounds the walk anyway.)
local function rewrite(t, numeric, depth)
  if depth > 32 then return t end
  local out
  for k, v in pairs(t) do
    local nv = v
    if numeric[v] then
      nv = shallow_copy(v)
      nv.index = string.format("%d", v.index)
    elseif type(v) == "table" then
      nv = rewrite(v, numeric, depth + 1)
    end
    if nv ~= v then
      out = out or shallow_copy(t)
      out[k] = nv
    end
  end
  return out or t
end

function with_string_indexes(msg, components)
  local numeric = {}
  for _, c in ipairs(components) do numeric[c] = true end
  return rewrite(msg, numeric, 0)
end

--- Checks a WhatsApp message object (a table: any message type of the message reference, or
-- a read receipt).
-- @tparam table msg the message
-- @tparam[opt] table opts `allow_local_number`: accept a `to` without "+"
-- @return true, or nil and a ParamValidationError whose `field` is the path
-- @return (when it passes) the message to send: msg itself, or, when a
-- template button `index` is given as a number, a copy of msg where it is
-- its string ("0"), the type Meta takes (msg is never changed).
-- The shape most messages have, {to = "+<digits>", type = "text", text =
-- {body = ..., preview_url = ...}} (messaging_product "whatsapp" allowed),
-- checked in one pass: true only when the full rules above would pass it;
-- anything else (or anything wrong) goes through them for the error.
local QUICK_ENVELOPE = { messaging_product = true, to = true, type = true, text = true }
local TEXT_BODY = rules.limits.text_body
-- The envelope of plain_text: messaging_product, a "+<digits>" to, a text
-- table, no other member and no metatable. -> msg.text | false
local function quick_envelope(msg)
  local product, to, t = msg.messaging_product, msg.to, msg.text
  if (product ~= nil and product ~= "whatsapp") or type(to) ~= "string" or type(t) ~= "table"
    or #to > 16 or not to:find("^%+[1-9]%d*$") or getmetatable(msg) or getmetatable(t) then
    return false
  end
  for k in next, msg do
    if not QUICK_ENVELOPE[k] then return false end
  end
  return t
end

-- The text member of plain_text: a body within its limit, a boolean
-- preview_url or none, nothing else. -> boolean
local function quick_text(t)
  local body, preview = t.body, t.preview_url
  if type(body) ~= "string" or (preview ~= nil and type(preview) ~= "boolean") then return false end
  for k in next, t do
    if k ~= "body" and k ~= "preview_url" then return false end
  end
  local n = #body <= TEXT_BODY.max * 4 and codepoints.len(body)
  return n and n >= TEXT_BODY.min and n <= TEXT_BODY.max or false
end

local function plain_text(msg)
  if msg.type ~= "text" then return false end
  local t = quick_envelope(msg)
  if not t then return false end
  return quick_text(t)
end

function M.message(msg, opts)
  if type(msg) ~= "table" then error("validate: message must be a table (got " .. type(msg) .. ")", 2) end
  if plain_text(msg) then return true, msg end
  local ok, e = pcall(message, msg, opts or {})
  if ok then
    -- Meta types a template button's index as a string ("0"); one given as a
    -- number (checked: an integer 0..9) is sent as its digits: the second
    -- result is the message to send, a copy where it differs
    if e and e[1] then return true, with_string_indexes(msg, e) end
    return true, msg
  end
  if getmetatable(e) ~= Failure then error(e, 0) end -- a bug here, not bad data: let it show
  return nil, errors.validation(e.path == "" and "message" or e.path, e.rule)
end

--- The rule `name` of whatsapp.message.rules applied to a string or a count:
-- nil when n is within it, else the rule text (for the builders' own checks).
M.limit_rule = limit_rule

return M

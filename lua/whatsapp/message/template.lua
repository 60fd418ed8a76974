--- Validation of `template` objects: header/body/button components, every
-- parameter type, named parameters, button sub_types, limited-time offers and
-- carousels (docs/REFERENCES.md: WhatsApp messages; limits in whatsapp.message.rules).
local rules = require "whatsapp.message.rules"
local product_sections = require("whatsapp.message.interactive").product_sections
local C = require "whatsapp.message.checks"
local fail, join, at, str, required = C.fail, C.join, C.at, C.str, C.required
local object, fields, set, list, one_of = C.object, C.fields, C.set, C.list, C.one_of
local constant, integer, unique, free_object, media = C.constant, C.integer, C.unique, C.free_object, C.media
local location, BARE_MEDIA_FIELDS = C.location, C.BARE_MEDIA_FIELDS

-- Tracks named vs positional parameters over a whole template: Meta takes
-- one style per template, and a mix fails with "(#100) Invalid parameter".
local function naming(tpl_state, p, path)
  local style = p.parameter_name ~= nil and "named" or "positional"
  if tpl_state.style and tpl_state.style ~= style then
    fail(path, "named and positional parameters cannot be mixed in one template ("
      .. tpl_state.first .. " is " .. tpl_state.style .. ")")
  end
  tpl_state.style, tpl_state.first = style, tpl_state.first or path
  if p.parameter_name ~= nil then
    local np = join(path, "parameter_name")
    str(p.parameter_name, np, "parameter_name")
    if not p.parameter_name:find(rules.PARAMETER_NAME) then
      fail(np, "must be lowercase letters and underscores")
    end
  end
end

local DATE_TIME_FIELDS = set("fallback_value", "day_of_week", "year", "month", "day_of_month", "hour",
  "minute", "calendar")
local CURRENCY_FIELDS = set("fallback_value", "code", "amount_1000")

-- one header or body parameter; allowed: the set of parameter types
local function parameter(p, path, allowed, state, text_limit)
  object(p, path)
  local t = required(p, "type", path)
  one_of(t, join(path, "type"), allowed)
  local nameable = t == "text" or t == "currency" or t == "date_time"
  fields(p, path, nameable and set("type", t, "parameter_name") or set("type", t))
  local vp = join(path, t)
  local v = required(p, t, path)
  if nameable then naming(state, p, path) end
  if t == "text" then
    str(v, vp, text_limit)
  elseif t == "currency" then
    object(v, vp)
    fields(v, vp, CURRENCY_FIELDS)
    str(required(v, "fallback_value", vp), join(vp, "fallback_value"), "nonempty")
    local code = str(required(v, "code", vp), join(vp, "code"))
    if not code:find(rules.CURRENCY_CODE) then fail(join(vp, "code"), "must be an ISO 4217 code such as USD") end
    integer(required(v, "amount_1000", vp), join(vp, "amount_1000"), "currency_amount_1000")
  elseif t == "date_time" then
    object(v, vp)
    fields(v, vp, DATE_TIME_FIELDS)
    str(required(v, "fallback_value", vp), join(vp, "fallback_value"), "nonempty")
  elseif t == "location" then
    location(v, vp)
  elseif t == "product" then
    object(v, vp)
    fields(v, vp, set("product_retailer_id", "catalog_id"))
    str(required(v, "product_retailer_id", vp), join(vp, "product_retailer_id"), "nonempty")
    str(required(v, "catalog_id", vp), join(vp, "catalog_id"), "nonempty")
  else
    media(t, v, vp, BARE_MEDIA_FIELDS[t])
  end
end

local function parameters(c, path, allowed, state, text_limit)
  local pp = join(path, "parameters")
  local n = list(required(c, "parameters", path), pp)
  if n == 0 then fail(pp, "at least 1 parameter (leave the component out instead)") end
  for i = 1, n do parameter(c.parameters[i], at(pp, i), allowed, state, text_limit) end
  return n
end

-- button parameters: exactly one, its shape set by the sub_type
local function single_param(c, path, ptype)
  local pp = join(path, "parameters")
  local n = list(required(c, "parameters", path), pp)
  if n ~= 1 then fail(pp, "must hold exactly 1 parameter (got " .. n .. ")") end
  local p, ip = object(c.parameters[1], at(pp, 1)), at(pp, 1)
  local t = required(p, "type", ip)
  if type(ptype) == "table" then one_of(t, join(ip, "type"), ptype) else constant(t, join(ip, "type"), ptype) end
  fields(p, ip, set("type", t))
  return required(p, t, ip), join(ip, t)
end

local ACTION_FIELDS = {
  flow = set("flow_token", "flow_action_data"),
  catalog = set("thumbnail_product_retailer_id"),
  mpm = set("thumbnail_product_retailer_id", "sections"),
}

local BUTTON_COMPONENT_FIELDS = set("type", "sub_type", "index", "parameters")
local function button_component(c, path, state)
  fields(c, path, BUTTON_COMPONENT_FIELDS)
  local sp = join(path, "sub_type")
  local sub = str(required(c, "sub_type", path), sp)
  sub = sub:lower() -- Meta's own catalog example spells it "CATALOG"
  one_of(sub, sp, rules.BUTTON_SUB_TYPES)
  local index = integer(required(c, "index", path), join(path, "index"), "button_index", true)
  unique(state.indexes, index, join(path, "index"), "button indexes")
  if type(c.index) == "number" then state.numeric[#state.numeric + 1] = c end
  if sub == "quick_reply" then
    local v, vp = single_param(c, path, set("payload", "text"))
    str(v, vp, "quick_reply_payload")
  elseif sub == "url" then
    local v, vp = single_param(c, path, "text")
    str(v, vp, "url_button_text")
  elseif sub == "copy_code" then
    if state.copy_code then fail(sp, "one copy_code button per template (" .. state.copy_code .. " is one)") end
    state.copy_code = path
    local v, vp = single_param(c, path, "coupon_code")
    str(v, vp, "coupon_code")
  else -- flow, catalog, mpm: an action object
    local v, vp = single_param(c, path, "action")
    object(v, vp)
    fields(v, vp, ACTION_FIELDS[sub])
    if sub == "flow" then
      if v.flow_token ~= nil then str(v.flow_token, join(vp, "flow_token")) end
      if v.flow_action_data ~= nil then free_object(v.flow_action_data, join(vp, "flow_action_data")) end
    else
      local tp = join(vp, "thumbnail_product_retailer_id")
      if sub == "mpm" then required(v, "thumbnail_product_retailer_id", vp) end
      if v.thumbnail_product_retailer_id ~= nil then
        str(v.thumbnail_product_retailer_id, tp, "nonempty")
      end
      if sub == "mpm" then product_sections(required(v, "sections", vp), join(vp, "sections")) end
    end
  end
end

local LTO_FIELDS = set("expiration_time_ms")
local function lto_component(c, path, state)
  fields(c, path, set("type", "parameters"))
  if state.lto then fail(join(path, "type"), "one limited_time_offer component per template") end
  state.lto = true
  local v, vp = single_param(c, path, "limited_time_offer")
  object(v, vp)
  fields(v, vp, LTO_FIELDS)
  integer(required(v, "expiration_time_ms", vp), join(vp, "expiration_time_ms"), "expiration_time_ms")
end

local component -- carousel cards hold components themselves

local CARD_COMPONENTS = set("header", "body", "button")
local TOP_COMPONENTS = set("header", "body", "button", "limited_time_offer", "carousel")
local function carousel_component(c, path, state)
  fields(c, path, set("type", "cards"))
  local cp = join(path, "cards")
  local n = list(required(c, "cards", path), cp, "carousel_cards")
  local card_indexes = {}
  for i = 1, n do
    local card, kp = c.cards[i], at(cp, i)
    object(card, kp)
    fields(card, kp, set("card_index", "components"))
    local idx = integer(required(card, "card_index", kp), join(kp, "card_index"), "card_index", true)
    unique(card_indexes, idx, join(kp, "card_index"), "card indexes")
    local comp_p = join(kp, "components")
    local m = list(required(card, "components", kp), comp_p)
    -- each card has its own buttons, indexed from 0 again
    local card_state = { indexes = {}, in_card = true, names = state.names, numeric = state.numeric }
    for j = 1, m do
      component(card.components[j], at(comp_p, j), card_state)
    end
  end
end

function component(c, path, state)
  object(c, path)
  local t = required(c, "type", path)
  if t == "header" then
    fields(c, path, set("type", "parameters"))
    if state.header then fail(join(path, "type"), "one header component per template") end
    state.header = true
    local allowed = state.in_card and rules.CARD_HEADER_PARAMS or rules.HEADER_PARAMS
    local n = parameters(c, path, allowed, state.names, "header_text_param")
    if n > 1 then fail(join(path, "parameters"), "a header takes 1 parameter (got " .. n .. ")") end
  elseif t == "body" then
    fields(c, path, set("type", "parameters"))
    if state.body then fail(join(path, "type"), "one body component per template") end
    state.body = true
    parameters(c, path, rules.BODY_PARAMS, state.names, "body_text_param")
  elseif t == "button" then
    button_component(c, path, state)
  elseif t == "limited_time_offer" and not state.in_card then
    lto_component(c, path, state)
  elseif t == "carousel" and not state.in_card then
    carousel_component(c, path, state)
  else
    local allowed = state.in_card and CARD_COMPONENTS or TOP_COMPONENTS
    one_of(t, join(path, "type"), allowed, "validate = false sends components this module does not know")
    fail(join(path, "type"), "not allowed here") -- unreachable: every allowed type is handled above
  end
end

local TEMPLATE_FIELDS = set("name", "language", "components")
local LANGUAGE_FIELDS = set("code", "policy")
--- Checks a template object at path; raises a check Failure. Returns the
-- button components whose index is a number (Meta types it as a string:
-- whatsapp.message.validate gives back a copy where each is its digits, once all is checked).
local function template(v, path)
  object(v, path)
  fields(v, path, TEMPLATE_FIELDS)
  str(required(v, "name", path), join(path, "name"), "template_name")
  local lp = join(path, "language")
  local lang = object(required(v, "language", path), lp)
  fields(lang, lp, LANGUAGE_FIELDS)
  str(required(lang, "code", lp), join(lp, "code"), "nonempty")
  if lang.policy ~= nil then constant(lang.policy, join(lp, "policy"), "deterministic") end
  if v.components ~= nil then
    local cp = join(path, "components")
    local n = list(v.components, cp)
    if n == 0 then fail(cp, "at least 1 component (leave components out instead)") end
    local state = { indexes = {}, names = {}, numeric = {} }
    for i = 1, n do component(v.components[i], at(cp, i), state) end
    return state.numeric
  end
end

return template

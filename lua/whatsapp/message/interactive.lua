--- Validation of `interactive` objects: reply buttons, list, cta_url, flow,
-- product, product_list, catalog_message, location_request_message,
-- call_permission_request (docs/REFERENCES.md: WhatsApp messages; limits and sources in
-- whatsapp.message.rules).
local rules = require "whatsapp.message.rules"
local C = require "whatsapp.message.checks"
local fail, join, at, check_limit, str = C.fail, C.join, C.at, C.check_limit, C.str
local required, object, fields, set, list = C.required, C.object, C.fields, C.set, C.list
local one_of, constant, http_url, unique, free_object = C.one_of, C.constant, C.http_url, C.unique, C.free_object
local text_object, media, BARE_MEDIA_FIELDS = C.text_object, C.media, C.BARE_MEDIA_FIELDS

local M = {}

local HEADER_FIELDS = set("type", "text", "image", "video", "document")

local function header(v, path, allowed_types)
  object(v, path)
  fields(v, path, HEADER_FIELDS)
  local allowed = {}
  for _, t in ipairs(allowed_types) do allowed[t] = true end
  local t = required(v, "type", path)
  one_of(t, join(path, "type"), allowed)
  for k in pairs(v) do
    if k ~= "type" and k ~= t then fail(join(path, k), 'not allowed in a "' .. t .. '" header') end
  end
  if t == "text" then
    str(required(v, "text", path), join(path, "text"), "header_text")
  else
    media(t, required(v, t, path), join(path, t), BARE_MEDIA_FIELDS[t])
  end
end

local BUTTON_FIELDS = set("type", "reply")
local REPLY_FIELDS = set("id", "title")
local function action_button(a, path)
  fields(a, path, set("buttons"))
  local p = join(path, "buttons")
  local n = list(required(a, "buttons", path), p, "reply_buttons")
  local ids, titles = {}, {}
  for i = 1, n do
    local b, bp = a.buttons[i], at(p, i)
    object(b, bp)
    fields(b, bp, BUTTON_FIELDS)
    constant(required(b, "type", bp), join(bp, "type"), "reply")
    local r, rp = object(required(b, "reply", bp), join(bp, "reply")), join(bp, "reply")
    fields(r, rp, REPLY_FIELDS)
    local id = str(required(r, "id", rp), join(rp, "id"), "button_id")
    if id:find("^%s") or id:find("%s$") then fail(join(rp, "id"), "must not start or end with a space") end
    unique(ids, id, join(rp, "id"), "button ids")
    unique(titles, str(required(r, "title", rp), join(rp, "title"), "button_title"), join(rp, "title"), "button titles")
  end
end

-- One section of a list or a product list (sp its path, n how many there
-- are): its fields, its title (required when there are several sections)
-- and its list under key, of at least one noun. -> the list's length and path
local function section(s, sp, n, allowed, key, noun)
  object(s, sp)
  fields(s, sp, allowed)
  if s.title ~= nil then
    str(s.title, join(sp, "title"), "section_title")
  elseif n > 1 then
    fail(join(sp, "title"), "required when there is more than one section")
  end
  local kp = join(sp, key)
  local count = list(required(s, key, sp), kp)
  if count == 0 then fail(kp, "at least 1 " .. noun .. " per section (got 0)") end
  return count, kp
end

local SECTION_FIELDS = set("title", "rows")
local ROW_FIELDS = set("id", "title", "description")
local function action_list(a, path)
  fields(a, path, set("button", "sections"))
  str(required(a, "button", path), join(path, "button"), "list_button")
  local p = join(path, "sections")
  local n = list(required(a, "sections", path), p, "list_sections")
  local total, ids = 0, {}
  for i = 1, n do
    local s = a.sections[i]
    local rows, rp = section(s, at(p, i), n, SECTION_FIELDS, "rows", "row")
    total = total + rows
    for j = 1, rows do
      local r, rowp = s.rows[j], at(rp, j)
      object(r, rowp)
      fields(r, rowp, ROW_FIELDS)
      unique(ids, str(required(r, "id", rowp), join(rowp, "id"), "row_id"), join(rowp, "id"), "row ids")
      str(required(r, "title", rowp), join(rowp, "title"), "row_title")
      if r.description ~= nil then str(r.description, join(rowp, "description"), "row_description") end
    end
  end
  check_limit(p, "list_rows", total, "across all sections")
end

local function action_cta_url(a, path)
  fields(a, path, set("name", "parameters"))
  constant(required(a, "name", path), join(path, "name"), "cta_url")
  local pp = join(path, "parameters")
  local params = object(required(a, "parameters", path), pp)
  fields(params, pp, set("display_text", "url"))
  str(required(params, "display_text", pp), join(pp, "display_text"), "cta_display_text")
  http_url(required(params, "url", pp), join(pp, "url"))
end

local FLOW_FIELDS = set("flow_message_version", "flow_token", "flow_id", "flow_name", "flow_cta",
  "flow_action", "flow_action_payload", "mode")
local function action_flow(a, path)
  fields(a, path, set("name", "parameters"))
  constant(required(a, "name", path), join(path, "name"), "flow")
  local pp = join(path, "parameters")
  local p = object(required(a, "parameters", path), pp)
  fields(p, pp, FLOW_FIELDS)
  constant(required(p, "flow_message_version", pp), join(pp, "flow_message_version"), rules.FLOW_MESSAGE_VERSION)
  if p.flow_id ~= nil and p.flow_name ~= nil then fail(pp, "give exactly one of flow_id and flow_name (got both)") end
  if p.flow_id == nil and p.flow_name == nil then fail(pp, "needs flow_id or flow_name") end
  if p.flow_id ~= nil then str(p.flow_id, join(pp, "flow_id"), "nonempty") end
  if p.flow_name ~= nil then str(p.flow_name, join(pp, "flow_name"), "nonempty") end
  if p.flow_token ~= nil then str(p.flow_token, join(pp, "flow_token")) end
  str(required(p, "flow_cta", pp), join(pp, "flow_cta"), "flow_cta")
  if p.flow_action ~= nil then one_of(p.flow_action, join(pp, "flow_action"), rules.FLOW_ACTIONS) end
  if p.mode ~= nil then one_of(p.mode, join(pp, "mode"), rules.FLOW_MODES) end
  if p.flow_action_payload ~= nil then
    local fp = join(pp, "flow_action_payload")
    if p.flow_action == "data_exchange" then
      fail(fp, 'only with flow_action "navigate" (a data_exchange flow asks the endpoint for its first screen)')
    end
    object(p.flow_action_payload, fp)
    fields(p.flow_action_payload, fp, set("screen", "data"))
    str(required(p.flow_action_payload, "screen", fp), join(fp, "screen"), "nonempty")
    if p.flow_action_payload.data ~= nil then free_object(p.flow_action_payload.data, join(fp, "data")) end
  end
end

local function action_product(a, path)
  fields(a, path, set("catalog_id", "product_retailer_id"))
  str(required(a, "catalog_id", path), join(path, "catalog_id"), "nonempty")
  str(required(a, "product_retailer_id", path), join(path, "product_retailer_id"), "nonempty")
end

-- product_list sections, also inside template mpm buttons
local PRODUCT_SECTION_FIELDS = set("title", "product_items")
local ITEM_FIELDS = set("product_retailer_id")
--- product_list sections (also used by template mpm buttons).
function M.product_sections(sections, p)
  local n = list(sections, p, "product_sections")
  local total = 0
  for i = 1, n do
    local s = sections[i]
    local items, ip = section(s, at(p, i), n, PRODUCT_SECTION_FIELDS, "product_items", "product")
    total = total + items
    for j = 1, items do
      local it, itp = s.product_items[j], at(ip, j)
      object(it, itp)
      fields(it, itp, ITEM_FIELDS)
      str(required(it, "product_retailer_id", itp), join(itp, "product_retailer_id"), "nonempty")
    end
  end
  check_limit(p, "product_items", total, "across all sections")
end

local function action_product_list(a, path)
  fields(a, path, set("catalog_id", "sections"))
  str(required(a, "catalog_id", path), join(path, "catalog_id"), "nonempty")
  M.product_sections(required(a, "sections", path), join(path, "sections"))
end

local function action_catalog(a, path)
  fields(a, path, set("name", "parameters"))
  constant(required(a, "name", path), join(path, "name"), "catalog_message")
  if a.parameters ~= nil then
    local pp = join(path, "parameters")
    object(a.parameters, pp)
    fields(a.parameters, pp, set("thumbnail_product_retailer_id"))
    if a.parameters.thumbnail_product_retailer_id ~= nil then
      str(a.parameters.thumbnail_product_retailer_id, join(pp, "thumbnail_product_retailer_id"), "nonempty")
    end
  end
end

local function action_location_request(a, path)
  fields(a, path, set("name"))
  constant(required(a, "name", path), join(path, "name"), "send_location")
end

local function action_call_permission(a, path)
  fields(a, path, set("name"))
  constant(required(a, "name", path), join(path, "name"), "call_permission_request")
end

local ACTIONS = {
  button = action_button, list = action_list, cta_url = action_cta_url, flow = action_flow,
  product = action_product, product_list = action_product_list, catalog_message = action_catalog,
  location_request_message = action_location_request, call_permission_request = action_call_permission,
}

local INTERACTIVE_FIELDS = set("type", "header", "body", "footer", "action")
--- Checks an interactive object at path; raises a check Failure.
function M.interactive(v, path)
  object(v, path)
  fields(v, path, INTERACTIVE_FIELDS)
  local t = required(v, "type", path)
  local spec = rules.INTERACTIVE[t]
  if not spec then
    one_of(t, join(path, "type"), rules.INTERACTIVE,
      "validate = false sends types this module does not know")
  end
  if v.header ~= nil then
    if not spec.header then fail(join(path, "header"), 'not allowed on "' .. t .. '" messages') end
    header(v.header, join(path, "header"), spec.header)
  elseif spec.header_required then
    fail(join(path, "header"), 'required on "' .. t .. '" messages')
  end
  if v.body ~= nil then
    text_object(v.body, join(path, "body"), spec.body)
  elseif spec.body_required then
    fail(join(path, "body"), "required")
  end
  if v.footer ~= nil then
    if spec.footer == false then fail(join(path, "footer"), 'not allowed on "' .. t .. '" messages') end
    text_object(v.footer, join(path, "footer"), "footer_text")
  end
  local ap = join(path, "action")
  ACTIONS[t](object(required(v, "action", path), ap), ap)
end

return M

--- The limits WhatsApp (Meta Cloud API) puts on message objects, as data:
-- when Meta changes a limit, the change is one line here. whatsapp.message.validate
-- reads this table; nothing else holds a number.
-- Sources: docs/REFERENCES.md (WhatsApp messages, WhatsApp OpenAPI, WhatsApp limits).
-- Lengths are in Unicode code points ("characters": Meta never defines the
-- unit; code points are what Python counts and what the reference advises).
-- Where the sources disagree (the limits noted as conflicting) the looser documented limit is
-- kept, so no limit is stricter here than one Meta documents; each such line says so.
local M = {}

--- Lengths and counts: name = { min = , max = , unit = }.
-- unit "characters" counts code points of a string, "digits" the digits of a
-- phone number, any other unit (buttons, rows…) the entries of a list.
M.limits = {
  -- ids, names and other strings that only must not be empty
  nonempty = { min = 1, unit = "characters" },

  -- envelope
  to_digits = { min = 1, max = 15, unit = "digits" },          -- E.164: at most 15 digits
  biz_opaque_callback_data = { max = 512, unit = "characters" }, -- wajs, pywa

  -- text, media
  text_body = { min = 1, max = 4096, unit = "characters" },    -- M:text
  caption = { max = 1024, unit = "characters" },               -- image, video, document (M:image, M:doc)

  -- contacts
  -- conflict: M:contacts says up to 257 contacts, OAS maxItems 5; the looser 257 is kept
  contacts = { min = 1, max = 257, unit = "contacts" },
  -- RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its "<>" (characters here: no stricter)
  contact_email = { max = 254, unit = "characters" },

  -- interactive
  interactive_body = { min = 1, max = 1024, unit = "characters" }, -- button, cta_url, flow, product…
  -- conflict: M:list says 4096, OAS v23 BodyObject and the Node SDK say 1024; the looser 4096 is kept
  list_body = { min = 1, max = 4096, unit = "characters" },
  header_text = { min = 1, max = 60, unit = "characters" },     -- OAS HeaderObject
  footer_text = { min = 1, max = 60, unit = "characters" },     -- OAS FooterObject
  reply_buttons = { min = 1, max = 3, unit = "buttons" },         -- M:buttons
  button_id = { min = 1, max = 256, unit = "characters" },
  button_title = { min = 1, max = 20, unit = "characters" },
  list_button = { min = 1, max = 20, unit = "characters" },     -- M:list
  list_sections = { min = 1, max = 10, unit = "sections" },
  -- section titles: M:list says required, OAS/wajs only when there is more than one
  -- section (conflict: the looser "only with 2+ sections" is kept)
  section_title = { min = 1, max = 24, unit = "characters" },
  list_rows = { min = 1, max = 10, unit = "rows" },            -- counted across all sections
  row_id = { min = 1, max = 200, unit = "characters" },
  row_title = { min = 1, max = 24, unit = "characters" },
  row_description = { max = 72, unit = "characters" },
  cta_display_text = { min = 1, max = 20, unit = "characters" }, -- M:cta
  -- conflict: OAS "advised" ≤30, wajs 1..20 without emoji; the looser 30 is kept
  flow_cta = { min = 1, max = 30, unit = "characters" },
  product_sections = { min = 1, max = 10, unit = "sections" },     -- product_list and mpm
  product_items = { min = 1, max = 30, unit = "products" },        -- counted across all sections

  -- template
  template_name = { min = 1, max = 512, unit = "characters" }, -- Meta's template name limit
  -- conflict: OAS TextParameter ≤32768, wajs ≤1024 when the template has other
  -- components; the looser 32768 is kept (Meta answers 132005 if the result is too long)
  body_text_param = { min = 1, max = 32768, unit = "characters" },
  header_text_param = { min = 1, max = 60, unit = "characters" }, -- wajs HeaderParameter
  parameter_name = { min = 1, max = 20, unit = "characters" },  -- and PARAMETER_NAME below
  coupon_code = { min = 1, max = 15, unit = "characters" },     -- copy_code buttons
  otp_code = { min = 1, max = 15, unit = "characters" },        -- authentication templates
  url_button_text = { min = 1, max = 2000, unit = "characters" }, -- pywa URLButton
  quick_reply_payload = { min = 1, max = 256, unit = "characters" }, -- pywa QuickReplyButton
  carousel_cards = { min = 1, max = 10, unit = "cards" },       -- wajs CarouselComponent
}

--- Value ranges: name = { min = , max = }.
M.ranges = {
  button_index = { min = 0, max = 9 },       -- OAS: template button position
  card_index = { min = 0, max = 9 },         -- one card per index, ≤10 cards
  latitude = { min = -90, max = 90 },
  longitude = { min = -180, max = 180 },
  -- wajs: amount × 1000, greater than 0; OAS v23 CurrencyObject: `type: integer,
  -- format: int32` (signed, so at most 2^31 - 1 = 2147483647, i.e. 2,147,483.647 units)
  currency_amount_1000 = { min = 1, max = 2147483647 },
  expiration_time_ms = { min = 1 },          -- limited-time offer, Unix epoch in ms
}

--- Named template parameters: lowercase letters and underscores (wajs types.ts).
M.PARAMETER_NAME = "^[a-z_]+$"
--- ISO 4217 currency codes.
M.CURRENCY_CODE = "^%u%u%u$"
--- Contact birthdays: YYYY-MM-DD (OAS ContactObject `format: date`); the
-- validator also checks the day exists (no 2012-02-30).
M.BIRTHDAY = "^(%d%d%d%d)%-(%d%d)%-(%d%d)$"
--- Contact e-mail addresses: OAS EmailObject `format: email` (RFC 5321), checked
-- in this pragmatic form (the length is the limit contact_email).
M.EMAIL_RULE = 'must be an e-mail address: one "@" after a non-empty local part, then a domain '
  .. 'with a dot (no empty labels), no spaces or control characters'
--- Contact URLs: OAS UrlObject `format: uri`, an absolute URI (RFC 3986: a
-- scheme, ":" and the rest); http(s) ones must also have a host (the
-- http_url check media links use).
M.URI = "^%a[%w+.%-]*:."
M.URI_RULE = "must be an absolute URL with its scheme, such as https://example.com, "
  .. "with no spaces or control characters"

M.RECIPIENT_TYPES = { individual = true, group = true }
M.MESSAGE_TYPES = {
  text = true, image = true, video = true, audio = true, document = true, sticker = true,
  location = true, contacts = true, reaction = true, interactive = true, template = true,
}
M.CONTACT_TYPES = { HOME = true, WORK = true }
M.FLOW_ACTIONS = { navigate = true, data_exchange = true }
M.FLOW_MODES = { draft = true, published = true }
M.FLOW_MESSAGE_VERSION = "3"

--- Interactive types: which headers each takes and which body limit applies.
-- header: list of allowed header types, or false (none allowed);
-- header_required, footer = false (no footer allowed), body = limit name, body_required.
local MEDIA_HEADERS = { "text", "image", "video", "document" }
M.INTERACTIVE = {
  button = { header = MEDIA_HEADERS, body = "interactive_body", body_required = true },
  list = { header = { "text" }, body = "list_body", body_required = true },
  cta_url = { header = MEDIA_HEADERS, body = "interactive_body", body_required = true },
  flow = { header = MEDIA_HEADERS, body = "interactive_body", body_required = true },
  product = { header = false, body = "interactive_body", body_required = false },
  product_list = { header = { "text" }, header_required = true, body = "interactive_body", body_required = true },
  catalog_message = { header = false, body = "interactive_body", body_required = true },
  location_request_message = { header = false, body = "interactive_body", body_required = true },
  -- Meta's Cloud API Calling page "Obtain User Call Permissions" (updated
  -- 2025-11-13), "Send free form call permission request message": action
  -- {name = "call_permission_request"}, "only the message body can be
  -- customized", the body optional (recommended), "header and footer sections
  -- are not supported"; OAS v23 InteractiveObject type enum (L2296),
  -- ActionObject name (L2513), BodyObject ≤1024. conflict: OAS BodyObject says
  -- "required for other interactive types"; the looser "optional" is kept
  call_permission_request = { header = false, footer = false, body = "interactive_body", body_required = false },
}

--- Template parameter types allowed per component (OAS ParameterObject).
M.HEADER_PARAMS = { text = true, image = true, video = true, document = true, location = true, product = true }
M.BODY_PARAMS = { text = true, currency = true, date_time = true }
M.BUTTON_SUB_TYPES = {
  quick_reply = true, url = true, copy_code = true, flow = true, catalog = true, mpm = true,
}
--- Carousel card headers (wajs): image or video only.
M.CARD_HEADER_PARAMS = { image = true, video = true }

--- Code point ranges that start an emoji (Unicode Extended_Pictographic, and
-- the keycap bases), for the reaction check. Sorted, inclusive.
M.EMOJI_RANGES = {
  { 0x00A9, 0x00A9 }, { 0x00AE, 0x00AE }, { 0x203C, 0x203C }, { 0x2049, 0x2049 },
  { 0x2122, 0x2122 }, { 0x2139, 0x2139 }, { 0x2194, 0x2199 }, { 0x21A9, 0x21AA },
  { 0x231A, 0x231B }, { 0x2328, 0x2328 }, { 0x2388, 0x2388 }, { 0x23CF, 0x23CF },
  { 0x23E9, 0x23F3 }, { 0x23F8, 0x23FA }, { 0x24C2, 0x24C2 }, { 0x25AA, 0x25AB },
  { 0x25B6, 0x25B6 }, { 0x25C0, 0x25C0 }, { 0x25FB, 0x25FE }, { 0x2600, 0x27BF },
  { 0x2934, 0x2935 }, { 0x2B05, 0x2B07 }, { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 },
  { 0x2B55, 0x2B55 }, { 0x3030, 0x3030 }, { 0x303D, 0x303D }, { 0x3297, 0x3297 },
  { 0x3299, 0x3299 }, { 0x1F000, 0x1F1E5 }, { 0x1F200, 0x1F3FA }, { 0x1F400, 0x1FAFF },
  { 0x1FC00, 0x1FFFD },
}

return M

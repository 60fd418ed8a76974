--- Meta webhook entries (as AWS End User Messaging Social relays them inside
-- an SNS message, or as Meta posts them) turned into a flat list of events,
-- one per message, status and error, in document order (entries, changes,
-- then messages, statuses, errors, echoes). Nothing that parsed is dropped:
-- a message type this module does not know keeps kind "message" and its
-- type; a change it does not know becomes kind "unknown". The raw tables
-- are always there (event.message, event.value, event.entry).
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"

local M = {}

-- JSON null is core.null (a light userdata): anything but the wanted type is absent.
local function str(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  return nil
end
local function tbl(v)
  return type(v) == "table" and v or nil
end
local function list(v)
  return type(v) == "table" and v or {}
end

M.MEDIA = { image = true, video = true, audio = true, document = true, sticker = true }

local function media_of(kind, m)
  return { kind = kind, id = str(m.id), mime_type = str(m.mime_type), sha256 = str(m.sha256),
    caption = str(m.caption), filename = str(m.filename), voice = m.voice == true or nil,
    animated = m.animated == true or nil }
end

-- interactive replies: text = the title, reply_id = the id the business gave
local function interactive(e, i)
  local kind = str(i.type)
  e.interactive_type = kind
  local reply = kind and tbl(i[kind])
  if not reply then return end
  if kind == "button_reply" or kind == "list_reply" then
    e.text, e.reply_id = str(reply.title), str(reply.id)
  elseif kind == "nfm_reply" then
    e.text = str(reply.body)
    e.response_json = str(reply.response_json)
    if e.response_json then e.response = tbl(core.decode(e.response_json)) end
  end
end

-- The typed fields of one message, by its type; the raw table stays in e.message.
local function typed(e, m, kind)
  local body = kind and tbl(m[kind])
  if kind == "text" then
    e.text = body and str(body.body)
  elseif M.MEDIA[kind] then
    if body then
      e.media = media_of(kind, body)
      e.text = e.media.caption
    end
  elseif kind == "button" then
    if body then e.text, e.reply_id = str(body.text), str(body.payload) end
  elseif kind == "interactive" then
    if body then interactive(e, body) end
  elseif kind == "reaction" then
    if body then
      local emoji = str(body.emoji)
      e.reaction = { message_id = str(body.message_id), emoji = emoji, removed = emoji == nil or emoji == "" }
    end
  elseif kind == "location" then
    if body then
      e.location = { latitude = tonumber(body.latitude), longitude = tonumber(body.longitude), name = str(body.name),
        address = str(body.address), url = str(body.url) }
    end
  end
end

-- The contact whose wa_id (or user_id) is the sender's; the only one when none says.
local function contact_of(value, from, user_id)
  local contacts = list(value.contacts)
  local found
  for _, c in ipairs(contacts) do
    if type(c) == "table" and ((from and str(c.wa_id) == from) or (user_id and str(c.user_id) == user_id)) then
      found = c
      break
    end
  end
  if not found and #contacts == 1 and type(contacts[1]) == "table" then found = contacts[1] end
  if not found then return nil end
  local profile = tbl(found.profile) or {}
  return { name = str(profile.name), username = str(profile.username), wa_id = str(found.wa_id),
    user_id = str(found.user_id) }
end

-- The fields every event of a change shares.
local function base(kind, ctx)
  return {
    kind = kind, source = ctx.source, field = ctx.field, waba_id = ctx.waba_id,
    phone_number_id = ctx.phone_number_id, display_phone_number = ctx.display_phone_number,
    aws_phone_number_id = ctx.aws_phone_number_id, value = ctx.value, entry = ctx.entry,
    aws = ctx.aws, sns = ctx.sns,
  }
end

local function message_event(ctx, m, echo)
  local e = base("message", ctx)
  e.message = m
  e.echo = echo or nil
  e.id, e.from, e.from_user_id = str(m.id), str(m.from), str(m.from_user_id)
  e.to = echo and str(m.to) or nil
  e.timestamp = tonumber(m.timestamp)
  e.type = str(m.type)
  e.context = tbl(m.context) -- the message's own reply/forward context, never the AWS one
  e.errors = tbl(m.errors)
  e.referral = tbl(m.referral)
  typed(e, m, e.type)
  if not echo then e.contact = contact_of(ctx.value, e.from, e.from_user_id) end
  return e
end

local function status_event(ctx, s)
  local e = base("status", ctx)
  e.message = s
  e.id, e.status, e.timestamp = str(s.id), str(s.status), tonumber(s.timestamp)
  e.recipient_id, e.errors = str(s.recipient_id), tbl(s.errors)
  e.conversation, e.pricing = tbl(s.conversation), tbl(s.pricing)
  e.biz_opaque_callback_data = str(s.biz_opaque_callback_data)
  return e
end

local function error_event(ctx, err)
  local e = base("error", ctx)
  e.message = err
  e.errors = { err }
  e.code, e.title = tonumber(err.code), str(err.title)
  e.text = str(err.message)
  return e
end

local function add_all(out, ctx, items, make, flag)
  for _, item in ipairs(list(items)) do
    if type(item) == "table" then out[#out + 1] = make(ctx, item, flag) end
  end
end

-- The AWS id ("phone-number-id-<hex>") of the number whose Meta id is meta_id,
-- from the EUM header's ARNs (".../phone-number-id/<hex>").
local function aws_phone_number_id(aws, meta_id)
  local ids = aws and list(aws.phone_numbers)
  if not ids then return nil end
  local only = #ids == 1 and ids[1] or nil
  for _, p in ipairs(ids) do
    if type(p) == "table" and (str(p.metaPhoneNumberId) == meta_id or (meta_id == nil and p == only)) then
      local hex = str(p.arn) and p.arn:match(":phone%-number%-id/(%w+)$")
      return hex and "phone-number-id-" .. hex or nil
    end
  end
  return nil
end

local function parse_change(out, change, entry, source)
  local value = tbl(change.value)
  local field = str(change.field)
  local metadata = value and tbl(value.metadata) or {}
  local ctx = {
    source = source.source or "aws", field = field, waba_id = str(entry.id), entry = entry, value = value or change,
    phone_number_id = str(metadata.phone_number_id), display_phone_number = str(metadata.display_phone_number),
    aws = source.aws, sns = source.sns,
  }
  ctx.aws_phone_number_id = aws_phone_number_id(source.aws, ctx.phone_number_id)
  local before = #out
  if value and field == "messages" then
    add_all(out, ctx, value.messages, message_event)
    add_all(out, ctx, value.statuses, status_event)
    add_all(out, ctx, value.errors, error_event)
    add_all(out, ctx, value.message_echoes, message_event, true)
  end
  if #out == before then out[#out + 1] = base("unknown", ctx) end
end

--- The events of one Meta webhook entry ({id =, changes = {...}}). source:
-- { source = "aws" | "meta", aws = {...}, sns = {...} } (optional).
-- -> events | nil, err (EventMalformed)
function M.parse_entry(entry, source, out)
  if type(entry) ~= "table" or type(entry.changes) ~= "table" then
    return nil, errors.new { code = "EventMalformed", status = 400, attempts = 0,
      message = "the webhook entry has no changes list" }
  end
  out = out or {}
  for _, change in ipairs(entry.changes) do
    if type(change) == "table" then parse_change(out, change, entry, source or {}) end
  end
  return out
end

local function malformed(message)
  return nil, errors.new { code = "EventMalformed", status = 400, attempts = 0, message = message }
end

--- The events of an EUM Social event (the SNS `Message`), already trusted.
-- -> events | nil, err (EventMalformed)
function M.parse_message(text, sns)
  if type(text) ~= "string" then return malformed("the SNS message is not a string") end
  local event = core.decode(text)
  if type(event) ~= "table" then return malformed("the SNS message is not a JSON object") end
  local entry = event.whatsAppWebhookEntry
  if type(entry) == "string" then entry = core.decode(entry) end
  if type(entry) ~= "table" then
    return malformed("the SNS message has no whatsAppWebhookEntry (a JSON object or its text)")
  end
  local context = tbl(event.context) or {}
  local aws = {
    account_id = str(event.aws_account_id), message_timestamp = str(event.message_timestamp),
    message_id = str(event.messageId), waba_ids = tbl(context.MetaWabaIds),
    phone_numbers = tbl(context.MetaPhoneNumberIds),
  }
  local out, err = M.parse_entry(entry, { source = "aws", aws = aws, sns = sns })
  if out then out.aws = aws end -- (also when the entry holds no event)
  return out, err
end

--- The events of a Meta webhook body ({object =, entry = {...}}), already verified.
function M.parse_meta(body)
  if type(body) ~= "table" or type(body.entry) ~= "table" then
    return malformed("the webhook body has no entry list")
  end
  local out = {}
  for _, entry in ipairs(body.entry) do
    local _, err = M.parse_entry(entry, { source = "meta" }, out)
    if err then return nil, err end
  end
  return out
end

return M

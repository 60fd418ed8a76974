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
local C = require "whatsapp.message.checks"
local options = require "whatsapp.options"
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
  return options.check("whatsapp.message." .. name, opts, M.options[name], 0) or {}
end

-- "string|table" -> { "string", "table" } (the form whatsapp.options checks)
local function types(want)
  local list = {}
  for t in want:gmatch("[^|]+") do list[#list + 1] = t end
  return #list == 1 and list[1] or list
end

-- Defines builder `name`: records its options and arity, checks opts, and
-- turns check Failures raised while building into nil, err.
local function builder(name, arity, extra, fn)
  local known = {}
  for k, v in pairs(extra or {}) do known[k] = types(v) end
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

-- text, location, contacts, reactions ----------------------------------------

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

-- Header media kinds, shared by interactive headers and template parameters.
local HEADER_MEDIA = { image = true, video = true, document = true }

-- The families of builders in their own files, given the helpers above.
local B = {
  builder = builder, check_arg = check_arg, copy = copy, put = put, seq = seq,
  envelope = envelope, finish = finish, fail = fail, join = join, at = at,
  HEADER_MEDIA = HEADER_MEDIA,
}
require "whatsapp.message.media"(B)
require "whatsapp.message.interactive_builders"(B)
require "whatsapp.message.template_builders"(B)

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

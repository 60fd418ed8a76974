--- Answering an inbound event with a client: client:reply(event, message,
-- opts) sends to the event's sender from the number that received it (the
-- AWS phone-number-id taken from the event's ARN), quoting it; and
-- client:mark_read and client:get_media accept an event (or its media) too.
-- Installed on the client class by whatsapp.client (one line there).
local errors = require "whatsapp.errors"

local M = {}

local function raise(method, text) error(method .. ": " .. text, 3) end

-- The AWS phone number id to answer from: opts.phone_number_id, else the event's.
local function from_number(event, opts)
  return opts.phone_number_id or event.aws_phone_number_id
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

--- client:reply(event, message_or_text, opts) -> message id | nil, err
-- opts: quote (default true), and client:send's options.
function M.reply(client, event, message, opts)
  if type(event) ~= "table" then raise("reply", "event must be a table (got " .. type(event) .. ")") end
  if type(message) ~= "string" and type(message) ~= "table" then
    raise("reply", "message must be a table or a string (got " .. type(message) .. ")")
  end
  if opts ~= nil and type(opts) ~= "table" then raise("reply", "opts must be a table (got " .. type(opts) .. ")") end
  opts = opts and copy(opts) or {}
  if event.kind ~= "message" or event.echo or type(event.from) ~= "string" then
    return nil, errors.validation("event", "must be an inbound message event (kind \"message\" with a sender)")
  end
  local quote = opts.quote
  opts.quote = nil
  opts.phone_number_id = from_number(event, opts)
  local msg = type(message) == "string" and { type = "text", text = { body = message } } or copy(message)
  msg.to = event.from:find("^%+") and event.from or "+" .. event.from
  if quote ~= false and type(event.id) == "string" and msg.context == nil then
    msg.context = { message_id = event.id }
  end
  return client:send(msg, opts)
end

--- Wraps client:mark_read so it takes an event: its id, and the number that
-- received it unless opts.phone_number_id says otherwise.
function M.mark_read(original)
  return function(client, message_id, opts)
    if type(message_id) == "table" then
      local event = message_id
      if opts ~= nil and type(opts) ~= "table" then raise("mark_read", "opts must be a table") end
      opts = opts and copy(opts) or {}
      opts.phone_number_id = from_number(event, opts)
      message_id = event.id
      if type(message_id) ~= "string" then
        return nil, errors.validation("event.id", "must be the received message's id")
      end
    end
    return original(client, message_id, opts)
  end
end

--- Wraps client:get_media so args may be an event (with media) or an
-- event's media table: its id (and the receiving number) are used, with
-- the destination in opts.s3 / opts.presigned_url / opts.metadata_only.
function M.get_media(original)
  return function(client, args, opts)
    if type(args) == "table" and (args.kind == "message" or (args.kind and args.media_id == nil and args.id)) then
      local event = args.kind == "message" and args or nil
      local media = event and event.media or args
      if type(media) ~= "table" or type(media.id) ~= "string" then
        return nil, errors.validation("event.media", "the event carries no media")
      end
      if not media.id:find("^[%w]+$") or #media.id > 100 then
        return nil, errors.validation("media.id", "must be 1 to 100 letters and digits")
      end
      opts = opts and copy(opts) or {}
      local dest = { media_id = media.id, s3 = opts.s3, presigned_url = opts.presigned_url,
        metadata_only = opts.metadata_only }
      opts.s3, opts.presigned_url, opts.metadata_only = nil, nil, nil
      if event and opts.phone_number_id == nil then opts.phone_number_id = event.aws_phone_number_id end
      return original(client, dest, opts)
    end
    return original(client, args, opts)
  end
end

--- Adds reply, and the event-taking mark_read and get_media, to a client class.
function M.install(class)
  class.reply = M.reply
  class.mark_read = M.mark_read(class.mark_read)
  class.get_media = M.get_media(class.get_media)
end

return M

--- The send_* methods: build with whatsapp.message, then client:send. Each
-- takes the builder's arguments; its opts may mix message options (reply_to,
-- caption, …, validate, allow_local_number) with send options
-- (phone_number_id, meta_api_version, and whatever else client:send takes),
-- and each kind goes where it belongs. The media kinds also take upload =
-- true with media { s3 = {bucket_name =, key =}, caption = … } (or
-- presigned_url): the file is uploaded first (client:upload_media), then sent
-- by its media id.
local media = require "whatsapp.service.media"
local message = require "whatsapp.message"

local unpack = rawget(table, "unpack") or rawget(_G, "unpack") -- 5.4: table.unpack; LuaJIT: the 5.1 global

local M = {}

--- builder name -> method name, for every builder.
M.METHODS = { mark_read = "mark_read" }
for _, name in ipairs { "text", "image", "video", "audio", "document", "sticker", "location", "contacts",
  "reaction", "remove_reaction", "interactive", "buttons", "list", "cta_url", "flow", "product",
  "product_list", "catalog", "location_request", "call_permission_request", "template" } do
  M.METHODS[name] = "send_" .. name
end

-- Builder options go to the builder, the rest to client:send (which raises
-- on what it does not know). The builder has validated already, or was told
-- not to: client:send does not check the table again.
local function split(name, opts)
  local known = message.options[name]
  local build, send = {}, { validate = false }
  for k, v in pairs(opts) do
    if known[k] then build[k] = v else send[k] = v end
  end
  return build, send
end

-- Media kinds take `upload`, which is neither a builder nor a send option:
-- returns opts without it, and its value.
local function take_upload(method, opts)
  if opts.upload == nil then return opts, nil end
  if type(opts.upload) ~= "boolean" then
    error(method .. ": option 'upload' must be a boolean (got " .. type(opts.upload) .. ")", 3)
  end
  local rest = {}
  for k, v in pairs(opts) do
    if k ~= "upload" then rest[k] = v end
  end
  return rest, opts.upload
end

local function sender(name, method)
  local build, arity = message[name], message.arity[name]
  local can_upload = media.KINDS[name]
  return function(self, ...)
    local n = type(arity) == "function" and arity(...) or arity
    local args = { ... }
    local opts = args[n + 1]
    if opts ~= nil and type(opts) ~= "table" then
      error(method .. ": opts must be a table (got " .. type(opts) .. ")", 2)
    end
    local upload, source, send_opts, err
    opts = opts or {}
    if can_upload then opts, upload = take_upload(method, opts) end
    args[n + 1], send_opts = split(name, opts)
    if can_upload then
      -- (to, media): media from S3 builds with a placeholder id, so a message
      -- that cannot be sent is refused before anything is uploaded
      args[2], source = media.for_send(name, args[2], upload)
      if args[2] == nil then return nil, source end
    end
    local msg
    msg, err = build(unpack(args, 1, n + 1))
    if not msg then return nil, err end
    if source then
      -- uploaded from the number that sends it: media only works from there
      local id
      id, err = self:upload_media(source, { phone_number_id = send_opts.phone_number_id,
        deadline = send_opts.deadline })
      if not id then return nil, err end
      msg[name].id = id
    end
    return self:send(msg, send_opts)
  end
end

--- Adds the send_* methods (and mark_read) to a client class whose instances
-- have send(message, opts).
function M.install(class)
  for name, method in pairs(M.METHODS) do class[method] = sender(name, method) end
end

--- Adds module-level send_* functions that use get_client() (which returns a
-- client, or nil and an error).
function M.install_module(mod, get_client)
  for _, method in pairs(M.METHODS) do
    mod[method] = function(...)
      local c, err = get_client()
      if not c then return nil, err end
      return c[method](c, ...)
    end
  end
end

return M

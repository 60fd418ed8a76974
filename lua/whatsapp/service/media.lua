--- Media of the origination phone number: upload from S3
-- (PostWhatsAppMessageMedia), fetch into S3 or read its metadata
-- (GetWhatsAppMessageMedia), delete (DeleteWhatsAppMessageMedia). The Lua
-- names (s3 = {bucket_name, key}, presigned_url = {url, headers}) map to the
-- model's members; validation errors name the model's members.
local errors = require "whatsapp.errors"
local options = require "whatsapp.options"

local M = {}

local function raise(method, text) error(method .. ": " .. text, 0) end

local function check_type(method, what, v, want)
  if type(v) ~= want then raise(method, what .. " must be a " .. want .. " (got " .. type(v) .. ")") end
end

-- opts of every media method: phone_number_id (else the client's), deadline
local SCHEMA = { phone_number_id = "string", deadline = "number" }

local function check_opts(method, opts)
  return options.check(method, opts, SCHEMA, 0) or {}
end

local function phone_number_id(client, opts)
  local id = opts.phone_number_id or client.phone_number_id
  if id == nil then
    return nil, errors.validation("originationPhoneNumberId", "no origination phone number id: pass "
      .. "phone_number_id to whatsapp.new or in opts, or set WHATSAPP_PHONE_NUMBER_ID")
  end
  return id
end

-- {s3 = {bucket_name, key}} or {presigned_url = {url, headers}} -> the S3File
-- or S3PresignedUrl member (only the keys given are copied: the model check
-- refuses what is missing, and raises nothing on data)
local function location(method, where, t, prefix)
  local s3, url = t.s3, t.presigned_url
  if s3 ~= nil and url ~= nil then
    return nil, errors.validation(prefix .. "S3File", "give " .. where .. " as s3 or presigned_url, not both")
  end
  if s3 ~= nil then
    check_type(method, where .. ".s3", s3, "table")
    for k in pairs(s3) do
      if k ~= "bucket_name" and k ~= "key" then raise(method, where .. ".s3: unknown field '" .. tostring(k) .. "'") end
    end
    return prefix .. "S3File", { bucketName = s3.bucket_name, key = s3.key }
  elseif url ~= nil then
    check_type(method, where .. ".presigned_url", url, "table")
    for k in pairs(url) do
      if k ~= "url" and k ~= "headers" then
        raise(method, where .. ".presigned_url: unknown field '" .. tostring(k) .. "'")
      end
    end
    return prefix .. "S3PresignedUrl", { url = url.url, headers = url.headers }
  end
  return false
end

--- Uploads a file to WhatsApp for sending: source is {s3 = {bucket_name =,
-- key =}} (read by the service with its own permissions) or {presigned_url
-- = {url =, headers =}} (a presigned S3 GET; headers may be {}).
-- opts: phone_number_id (the number that will send it: media only works from
-- the number that uploaded it), deadline. Returns the media id, or nil, err.
function M.upload_media(client, source, opts)
  check_type("upload_media", "source", source, "table")
  for k in pairs(source) do
    if k ~= "s3" and k ~= "presigned_url" then raise("upload_media", "unknown field '" .. tostring(k) .. "'") end
  end
  opts = check_opts("upload_media", opts)
  local id, err = phone_number_id(client, opts)
  if not id then return nil, err end
  local member, value = location("upload_media", "source", source, "source")
  if member == nil then return nil, value end
  if not member then
    return nil, errors.validation("sourceS3File", "give the file as s3 = {bucket_name =, key =} "
      .. "or presigned_url = {url =, headers =}")
  end
  local out
  out, err = client:call("PostWhatsAppMessageMedia", { originationPhoneNumberId = id, [member] = value },
    { deadline = opts.deadline })
  if not out then return nil, err end
  if type(out.mediaId) ~= "string" then
    return nil, errors.new { code = "ResponseError", message = "the answer has no mediaId" }
  end
  return out.mediaId
end

--- Copies uploaded media into S3, or with metadata_only = true only reads
-- what it is. args: media_id, and s3 = {bucket_name =, key =} or
-- presigned_url = {url =, headers =} (a presigned S3 PUT) unless
-- metadata_only. opts as for upload_media. Returns the answer
-- ({mimeType =, fileSize =}), or nil, err.
function M.get_media(client, args, opts)
  check_type("get_media", "args", args, "table")
  for k in pairs(args) do
    if k ~= "media_id" and k ~= "s3" and k ~= "presigned_url" and k ~= "metadata_only" then
      raise("get_media", "unknown field '" .. tostring(k) .. "'")
    end
  end
  check_type("get_media", "args.media_id", args.media_id, "string")
  if args.metadata_only ~= nil then check_type("get_media", "args.metadata_only", args.metadata_only, "boolean") end
  opts = check_opts("get_media", opts)
  local id, err = phone_number_id(client, opts)
  if not id then return nil, err end
  local input = { mediaId = args.media_id, originationPhoneNumberId = id, metadataOnly = args.metadata_only }
  local member, value = location("get_media", "args", args, "destination")
  if member == nil then return nil, value end
  if member then
    input[member] = value
  elseif not args.metadata_only then
    return nil, errors.validation("destinationS3File", "say where to put the file (s3 = {bucket_name =, key =} "
      .. "or presigned_url = {url =, headers =}), or ask for metadata_only = true")
  end
  return client:call("GetWhatsAppMessageMedia", input, { deadline = opts.deadline })
end

--- Deletes uploaded media. opts as for upload_media. Returns true, or nil, err.
function M.delete_media(client, media_id, opts)
  check_type("delete_media", "media_id", media_id, "string")
  opts = check_opts("delete_media", opts)
  local id, err = phone_number_id(client, opts)
  if not id then return nil, err end
  local out
  out, err = client:call("DeleteWhatsAppMessageMedia", { mediaId = media_id, originationPhoneNumberId = id },
    { deadline = opts.deadline })
  if not out then return nil, err end
  if out.success ~= true then
    return nil, errors.new { code = "ResponseError", message = "the service did not confirm the deletion" }
  end
  return true
end

--- The kinds of message whose media send_<kind> may upload first.
M.KINDS = { image = true, video = true, audio = true, document = true, sticker = true }

--- For send_<kind>(to, media, {upload = true}): when media holds s3 or
-- presigned_url, returns a copy of media that builds (a placeholder id in
-- place of the file) and the source to upload; the caller builds, uploads
-- and puts the media id in. Else returns media unchanged. Or nil, err.
function M.for_send(kind, media, upload)
  local is_source = type(media) == "table" and (media.s3 ~= nil or media.presigned_url ~= nil)
  if not is_source then
    if upload then
      return nil, errors.validation(kind .. ".s3", "upload = true needs the media as "
        .. "{ s3 = {bucket_name =, key =} } or { presigned_url = {url =, headers =} }")
    end
    return media
  end
  if not upload then
    return nil, errors.validation(kind .. (media.s3 ~= nil and ".s3" or ".presigned_url"),
      "a file in S3 is sent by uploading it first: pass upload = true (or upload it with upload_media "
      .. "and send { id = media_id })")
  end
  if media.id ~= nil or media.link ~= nil then
    return nil, errors.validation(kind, "give one of s3, presigned_url, id and link")
  end
  local copy = {}
  for k, v in pairs(media) do copy[k] = v end
  copy.s3, copy.presigned_url, copy.id = nil, nil, "0"
  return copy, { s3 = media.s3, presigned_url = media.presigned_url }
end

--- Adds upload_media, get_media and delete_media to a client class.
function M.install(class)
  class.upload_media, class.get_media, class.delete_media = M.upload_media, M.get_media, M.delete_media
end

return M

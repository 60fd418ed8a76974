--- The media builders of whatsapp.message: image, video, audio, document,
-- sticker. Installed by message/init.lua, which hands over its shared helpers
-- (B: builder, check_arg, copy, put, envelope, finish).
return function(B)
  local builder, check_arg, copy, put, envelope, finish =
    B.builder, B.check_arg, B.copy, B.put, B.envelope, B.finish

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
end

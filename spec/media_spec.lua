-- Media through the stand-in: upload from S3 or a presigned URL, read and copy
-- back, delete (a DELETE with query members, signed and checked by botocore),
-- and send_<kind>{ s3 = … } with upload = true: upload, then send by media id.
local H = require "spec.support.helper"

local S3 = { bucket_name = "my-bucket", key = "photos/cat.png" }
local PRESIGNED = {
  url = "https://my-bucket.s3.us-east-1.amazonaws.com/docs/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    .. "&X-Amz-Credential=ASIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0123456789abcdef",
  headers = { ["Content-Type"] = "application/pdf" },
}

-- A client of the stand-in with no phone number of its own.
local function numberless()
  return assert(require("whatsapp").new { region = "us-east-1", endpoint = H.http, credentials = H.creds.static })
end

local function records(operation)
  local out = {}
  for _, r in ipairs(H.messages()) do
    if r.operation == operation then out[#out + 1] = r end
  end
  return out
end

describe("media", function()
  before_each(function() H.reset() end)

  it("uploads from S3 and returns the media id; the body is the model's, signed", function()
    local client = H.client()
    local id, err = client:upload_media { s3 = S3 }
    assert.is_nil(err)
    assert.matches("^%d+$", id)
    local rec = records("PostWhatsAppMessageMedia")[1]
    assert.are.equal(id, rec.mediaId)
    assert.are.equal(H.PHONE, rec.originationPhoneNumberId)
    assert.are.equal('{"originationPhoneNumberId":"' .. H.PHONE .. '","sourceS3File":{"bucketName":"my-bucket",'
      .. '"key":"photos/cat.png"}}', rec.body)
    assert.are.same({ "content-type", "host", "x-amz-date" }, rec.signed_headers)
    assert.are.equal("application/json", rec.headers["content-type"])
  end)

  it("uploads from a presigned URL, with another phone number per call", function()
    local client = numberless()
    local other = "phone-number-id-22222222222222222222222222222222"
    local id = assert(client:upload_media({ presigned_url = PRESIGNED }, { phone_number_id = other }))
    local rec = records("PostWhatsAppMessageMedia")[1]
    assert.are.equal(id, rec.mediaId)
    assert.are.equal(other, rec.originationPhoneNumberId)
    assert.are.same({ sourceS3PresignedUrl = PRESIGNED }, rec.source)
    assert.are.equal("application/pdf", rec.mimeType)
  end)

  it("reads metadata, copies into S3 and deletes, each as the number that uploaded", function()
    local client = H.client()
    local id = assert(client:upload_media { s3 = S3 })
    local meta = assert(client:get_media { media_id = id, metadata_only = true })
    assert.are.equal("image/png", meta.mimeType)
    assert.is_number(meta.fileSize)
    meta = assert(client:get_media { media_id = id, s3 = { bucket_name = "backup-bucket", key = "cat.png" } })
    assert.are.equal("image/png", meta.mimeType)
    local got = records("GetWhatsAppMessageMedia")
    assert.are.same({ destinationS3File = { bucketName = "backup-bucket", key = "cat.png" } }, got[2].destination)
    assert.is_true(assert(client:delete_media(id)))
    local del = records("DeleteWhatsAppMessageMedia")[1]
    -- the query string as signed and sent; botocore recomputed the signature from it
    assert.are.equal("mediaId=" .. id .. "&originationPhoneNumberId=" .. H.PHONE, del.query)
    assert.are.same({ "host", "x-amz-date" }, del.signed_headers)
    assert.is_nil(del.headers["content-type"])
    -- gone now
    local ok, err = client:delete_media(id)
    assert.is_nil(ok)
    assert.are.equal("ResourceNotFoundException", err.code)
    assert.are.equal(404, err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("signs a query whose values need encoding (an ARN as the phone number)", function()
    local client = H.client()
    local arn = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef"
    local ok, err = client:delete_media("123", { phone_number_id = arn })
    assert.is_nil(ok)
    assert.are.equal("ResourceNotFoundException", err.code) -- signature accepted, media unknown
    assert.matches("arn:aws:social%-messaging:us%-east%-1:123456789012:phone%-number%-id/", err.message)
  end)

  it("refuses bad input before sending, naming the model's member", function()
    local client = H.client()
    local _, err = client:upload_media { s3 = { bucket_name = "Bad_Bucket", key = "a.png" } }
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("sourceS3File.bucketName", err.field)
    _, err = client:upload_media { s3 = { bucket_name = "bkt" } }
    assert.are.equal("sourceS3File.key", err.field)
    _, err = client:upload_media {}
    assert.are.equal("sourceS3File", err.field)
    _, err = client:upload_media { s3 = S3, presigned_url = PRESIGNED }
    assert.are.equal("sourceS3File", err.field)
    _, err = client:upload_media { presigned_url = { url = "https://example.com/a.png", headers = {} } }
    assert.are.equal("sourceS3PresignedUrl.url", err.field)
    _, err = client:get_media { media_id = "1" }
    assert.are.equal("destinationS3File", err.field)
    _, err = client:get_media { media_id = "not an id", metadata_only = true }
    assert.are.equal("mediaId", err.field)
    _, err = client:delete_media("")
    assert.are.equal("mediaId", err.field)
    _, err = numberless():upload_media { s3 = S3 }
    assert.are.equal("originationPhoneNumberId", err.field)
    assert.matches("WHATSAPP_PHONE_NUMBER_ID", err.message)
    assert.are.equal(0, H.stats().requests)
  end)

  it("raises on wrong argument types and unknown options", function()
    local client = H.client()
    assert.has_error(function() client:upload_media("s3://b/k") end)
    assert.has_error(function() client:upload_media { s3 = "s3://b/k" } end)
    assert.has_error(function() client:upload_media { s3 = { bucket = "b", key = "k" } } end)
    assert.has_error(function() client:upload_media({ s3 = S3 }, { phone = H.PHONE }) end)
    assert.has_error(function() client:upload_media({ s3 = S3 }, { deadline = "5" }) end)
    assert.has_error(function() client:get_media { media_id = 5 } end)
    assert.has_error(function() client:get_media { media_id = "1", metadata = true } end)
    assert.has_error(function() client:delete_media(123) end)
  end)

  describe("upload then send", function()
    it("send_image with { s3 = … } and upload = true uploads, then sends the media id", function()
      local client = H.client()
      local message_id, err = client:send_image("+14255550123", { s3 = S3, caption = "The cat" }, { upload = true })
      assert.is_nil(err)
      assert.is_string(message_id)
      local msgs = H.messages()
      assert.are.equal(2, #msgs)
      assert.are.equal("PostWhatsAppMessageMedia", msgs[1].operation)
      assert.are.equal("SendWhatsAppMessage", msgs[2].operation)
      assert.are.equal(message_id, msgs[2].message_id)
      assert.are.same({ id = msgs[1].mediaId, caption = "The cat" }, msgs[2].message.image)
      assert.are.equal(msgs[1].originationPhoneNumberId, msgs[2].originationPhoneNumberId)
    end)

    it("uses the send's phone number for the upload, for every media kind", function()
      local client = numberless()
      local other = "phone-number-id-44444444444444444444444444444444"
      for _, kind in ipairs { "video", "audio", "document", "sticker" } do
        local opts = { upload = true, phone_number_id = other }
        if kind == "document" then opts.filename = "a.pdf" end
        assert(client["send_" .. kind](client, "+14255550123", { presigned_url = PRESIGNED }, opts))
      end
      local msgs = H.messages()
      assert.are.equal(8, #msgs)
      for i = 1, 8, 2 do
        assert.are.equal(other, msgs[i].originationPhoneNumberId)
        assert.are.equal(other, msgs[i + 1].originationPhoneNumberId)
        local kind = msgs[i + 1].message.type
        assert.are.equal(msgs[i].mediaId, msgs[i + 1].message[kind].id)
      end
      assert.are.equal("a.pdf", msgs[6].message.document.filename)
    end)

    it("uploads nothing when the message cannot be sent", function()
      local client = H.client()
      local _, err = client:send_image("not a number", { s3 = S3 }, { upload = true })
      assert.are.equal("ParamValidationError", err.code)
      assert.are.equal("to", err.field)
      _, err = client:send_image("+14255550123", { s3 = S3, caption = string.rep("x", 1025) }, { upload = true })
      assert.are.equal("image.caption", err.field)
      _, err = client:send_image("+14255550123", { s3 = S3 })
      assert.are.equal("image.s3", err.field)
      assert.matches("upload = true", err.message)
      _, err = client:send_image("+14255550123", { s3 = S3, link = "https://example.com/a.png" }, { upload = true })
      assert.are.equal("image", err.field)
      _, err = client:send_image("+14255550123", "https://example.com/a.png", { upload = true })
      assert.are.equal("image.s3", err.field)
      _, err = client:send_image("+14255550123", { s3 = { bucket_name = "B", key = "k" } }, { upload = true })
      assert.are.equal("sourceS3File.bucketName", err.field)
      assert.are.equal(0, H.stats().requests)
      assert.has_error(function() client:send_image("+14255550123", { s3 = S3 }, { upload = "yes" }) end)
      assert.has_error(function() client:send_text("+14255550123", "hi", { upload = true }) end)
    end)

    it("returns the upload's error and sends nothing after a failed upload", function()
      local client = H.client { max_attempts = 1 }
      H.inject { code = "AccessDeniedByMetaException" }
      local id, err = client:send_image("+14255550123", { s3 = S3 }, { upload = true })
      assert.is_nil(id)
      assert.are.equal("AccessDeniedByMetaException", err.code)
      assert.are.equal(403, err.status)
      assert.are.equal(1, H.stats().requests)
      assert.are.equal(0, #H.messages())
    end)
  end)
end)

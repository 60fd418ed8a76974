--- The service's operations other than SendWhatsAppMessage (which the C core
-- builds itself), as data taken from the service model
-- (docs/REFERENCES.md: service model; botocore's service-2.json):
-- method, URI, input members with their location, required members, and the
-- shapes with their lengths, ranges and patterns. spec/operations_spec.lua
-- checks every entry against the model, so calling another operation is one
-- more entry here; whatsapp.service.model checks and serializes input from it and
-- whatsapp.service.call sends it.
--
-- A member is { shape = <name>, query = <query-string name> } (no query: a
-- JSON body member). A shape's `pattern` is the model's (a Java regex);
-- `lua` holds Lua patterns of which a value must match one, standing for it
-- (the spec runs both over the same samples), and `says` is the rule in words.
local M = {}

local PHONE_NUMBER_ID = ".*(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$).*"
local WABA_ID = ".*(^waba-.*$)|(^arn:.*:waba/[0-9a-zA-Z]+$).*"

M.shapes = {
  String = { type = "string" },
  Boolean = { type = "boolean" },
  WhatsAppPhoneNumberId = {
    type = "string", min = 1, max = 115, pattern = PHONE_NUMBER_ID,
    lua = { "^phone%-number%-id%-", "^arn:.*:phone%-number%-id/[0-9a-zA-Z]+$" },
    says = 'must look like "phone-number-id-…" or "arn:…:phone-number-id/…"',
  },
  LinkedWhatsAppBusinessAccountId = {
    type = "string", min = 1, max = 115, pattern = WABA_ID,
    lua = { "^waba%-", "^arn:.*:waba/[0-9a-zA-Z]+$" },
    says = 'must look like "waba-…" or "arn:…:waba/…"',
  },
  WhatsAppMediaId = {
    type = "string", min = 1, max = 100, pattern = "[A-Za-z0-9]+",
    lua = { "^[A-Za-z0-9]+$" }, says = "must be ASCII letters and digits",
  },
  S3File = {
    type = "structure", sensitive = true, required = { "bucketName", "key" },
    members = { bucketName = { shape = "S3FileBucketNameString" }, key = { shape = "S3FileKeyString" } },
  },
  S3FileBucketNameString = {
    type = "string", min = 3, max = 63, pattern = "[a-z0-9][a-z0-9.-]*[a-z0-9]",
    lua = { "^[a-z0-9][a-z0-9.%-]*[a-z0-9]$" },
    says = 'must be lowercase letters, digits, "." and "-", starting and ending with a letter or digit',
  },
  S3FileKeyString = { type = "string", min = 0, max = 1024 },
  S3PresignedUrl = {
    type = "structure", sensitive = true, required = { "url", "headers" },
    members = { url = { shape = "S3PresignedUrlUrlString" }, headers = { shape = "Headers" } },
  },
  S3PresignedUrlUrlString = {
    type = "string", min = 1, max = 2000, pattern = "https://(.*)s3(.*).amazonaws.com/(.*)",
    lua = { "^https://.*s3.*.amazonaws.com/.*$" }, says = "must be an https:// URL of Amazon S3",
  },
  Headers = { type = "map", key = "String", value = "String" },
  NextToken = { type = "string", min = 1, max = 600 },
  MaxResults = { type = "integer", min = 1, max = 100 },
}

local COMMON_ERRORS = { "ValidationException", "AccessDeniedException", "InvalidParametersException",
  "ResourceNotFoundException", "ThrottledRequestException", "InternalServiceException" }
local MEDIA_ERRORS = { "ValidationException", "AccessDeniedException", "ResourceNotFoundException",
  "InvalidParametersException", "AccessDeniedByMetaException", "ThrottledRequestException",
  "InternalServiceException", "DependencyException" }
local function with(list, ...)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  for i = 1, select("#", ...) do out[#out + 1] = select(i, ...) end
  return out
end

M.operations = {
  PostWhatsAppMessageMedia = {
    method = "POST", uri = "/v1/whatsapp/media",
    required = { "originationPhoneNumberId" },
    members = {
      originationPhoneNumberId = { shape = "WhatsAppPhoneNumberId" },
      sourceS3PresignedUrl = { shape = "S3PresignedUrl" },
      sourceS3File = { shape = "S3File" },
    },
    errors = MEDIA_ERRORS,
  },
  GetWhatsAppMessageMedia = {
    method = "POST", uri = "/v1/whatsapp/media/get",
    required = { "mediaId", "originationPhoneNumberId" },
    members = {
      mediaId = { shape = "WhatsAppMediaId" },
      originationPhoneNumberId = { shape = "WhatsAppPhoneNumberId" },
      metadataOnly = { shape = "Boolean" },
      destinationS3PresignedUrl = { shape = "S3PresignedUrl" },
      destinationS3File = { shape = "S3File" },
    },
    errors = MEDIA_ERRORS,
  },
  DeleteWhatsAppMessageMedia = {
    method = "DELETE", uri = "/v1/whatsapp/media", idempotent = true,
    required = { "mediaId", "originationPhoneNumberId" },
    members = {
      mediaId = { shape = "WhatsAppMediaId", query = "mediaId" },
      originationPhoneNumberId = { shape = "WhatsAppPhoneNumberId", query = "originationPhoneNumberId" },
    },
    errors = MEDIA_ERRORS,
  },
  ListLinkedWhatsAppBusinessAccounts = {
    method = "GET", uri = "/v1/whatsapp/waba/list",
    required = {},
    members = {
      nextToken = { shape = "NextToken", query = "nextToken" },
      maxResults = { shape = "MaxResults", query = "maxResults" },
    },
    errors = COMMON_ERRORS,
    -- paginators-1.json
    paginator = { input_token = "nextToken", output_token = "nextToken", limit_key = "maxResults",
      result_key = "linkedAccounts" },
  },
  GetLinkedWhatsAppBusinessAccount = {
    method = "GET", uri = "/v1/whatsapp/waba/details",
    required = { "id" },
    members = { id = { shape = "LinkedWhatsAppBusinessAccountId", query = "id" } },
    errors = with(COMMON_ERRORS, "DependencyException"),
  },
  GetLinkedWhatsAppBusinessAccountPhoneNumber = {
    method = "GET", uri = "/v1/whatsapp/waba/phone/details",
    required = { "id" },
    members = { id = { shape = "WhatsAppPhoneNumberId", query = "id" } },
    errors = with(COMMON_ERRORS, "DependencyException"),
  },
}

return M

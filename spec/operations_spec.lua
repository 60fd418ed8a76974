-- whatsapp.service.operations is the service model's data: every entry is checked
-- against service-2.json (and paginators-1.json), every Lua stand-in for a
-- model pattern against the Java semantics of the pattern (the stand-in's
-- java_regex, in Python), and whatsapp.service.model's checks and serialization.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local model = require "whatsapp.service.model"
local operations = require "whatsapp.service.operations"

local DIR = (os.getenv("WA_SHARED") or "spec/fixtures") .. "/aws/socialmessaging-model/"

local function read_json(path)
  local f = assert(io.open(path, "rb"), "cannot read " .. path)
  local v = assert(core.decode(f:read("*a")))
  f:close()
  return v
end

local function sorted(list)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = v end
  table.sort(out)
  return out
end

local function keys(t)
  local out = {}
  for k in pairs(t or {}) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("operations data", function()
  local service = read_json(DIR .. "service-2.json")
  local paginators = read_json(DIR .. "paginators-1.json").pagination
  local SHAPES = operations.shapes

  it("has the operations the module calls", function()
    assert.are.same({ "DeleteWhatsAppMessageMedia", "GetLinkedWhatsAppBusinessAccount",
      "GetLinkedWhatsAppBusinessAccountPhoneNumber", "GetWhatsAppMessageMedia",
      "ListLinkedWhatsAppBusinessAccounts", "PostWhatsAppMessageMedia" }, keys(operations.operations))
  end)

  for name, op in pairs(operations.operations) do
    it(name .. " is the model's: method, URI, members, locations, required, errors, paginator", function()
      local m = service.operations[name]
      assert.is_table(m, name .. " is not in the model")
      assert.are.equal(m.http.method, op.method)
      assert.are.equal(m.http.requestUri, op.uri)
      assert.are.equal(m.idempotent == true, op.idempotent == true)
      local input = service.shapes[m.input.shape]
      assert.are.same(keys(input.members), keys(op.members))
      assert.are.same(sorted(input.required), sorted(op.required))
      for member, spec in pairs(input.members) do
        local mine = op.members[member]
        assert.are.equal(spec.shape, mine.shape, name .. "." .. member)
        if spec.location == "querystring" then
          assert.are.equal(spec.locationName, mine.query, name .. "." .. member)
        else
          assert.is_nil(spec.location, name .. "." .. member .. " is in " .. tostring(spec.location))
          assert.is_nil(mine.query, name .. "." .. member)
        end
      end
      local errs = {}
      for i, e in ipairs(m.errors) do errs[i] = e.shape end
      assert.are.same(errs, op.errors)
      assert.are.same(paginators[name], op.paginator)
    end)
  end

  it("has every shape the operations use, each as the model has it", function()
    local reached = {}
    local function visit(shape_name)
      if reached[shape_name] then return end
      reached[shape_name] = true
      local mine, theirs = SHAPES[shape_name], service.shapes[shape_name]
      assert.is_table(mine, "no shape " .. shape_name)
      assert.is_table(theirs, "the model has no shape " .. shape_name)
      assert.are.equal(theirs.type, mine.type, shape_name)
      assert.are.equal(theirs.min, mine.min, shape_name .. ".min")
      assert.are.equal(theirs.max, mine.max, shape_name .. ".max")
      assert.are.equal(theirs.pattern, mine.pattern, shape_name .. ".pattern")
      assert.are.equal(theirs.sensitive == true, mine.sensitive == true, shape_name .. ".sensitive")
      if mine.pattern then
        assert.is_table(mine.lua, shape_name .. " has no Lua patterns")
        assert.is_string(mine.says, shape_name .. " has no rule in words")
      end
      if theirs.type == "structure" then
        assert.are.same(sorted(theirs.required), sorted(mine.required), shape_name .. ".required")
        assert.are.same(keys(theirs.members), keys(mine.members), shape_name .. ".members")
        for member, spec in pairs(theirs.members) do
          assert.are.equal(spec.shape, mine.members[member].shape, shape_name .. "." .. member)
          assert.is_nil(spec.location)
          visit(spec.shape)
        end
      elseif theirs.type == "map" then
        assert.are.equal(theirs.key.shape, mine.key)
        assert.are.equal(theirs.value.shape, mine.value)
        visit(mine.key)
        visit(mine.value)
      end
    end
    for _, op in pairs(operations.operations) do
      for _, member in pairs(op.members) do visit(member.shape) end
    end
    assert.are.same(keys(reached), keys(SHAPES)) -- and nothing unused
  end)

  it("matches strings as Java matches the model's patterns", function()
    local samples = {
      "", "a", "phone-number-id-", "phone-number-id-abc", "phone-number-id-abc\n", "\nphone-number-id-abc",
      "xphone-number-id-abc", "phone-number-id-x\r", "phone-number-id-x\226\128\168", "phone-number-id-\t1",
      "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/abc123",
      "arn:aws:x:phone-number-id/abc-123", "arn::phone-number-id/A", "arn:aws:phone-number-id/",
      "arn:aws:a:phone-number-id/abc\n", "Arn:aws:a:phone-number-id/abc",
      "waba-1", "waba-", "waba-\194\133", "arn:aws:social-messaging:us-east-1:123:waba/abc", "arn:x:waba/ab c",
      "arn:x:waba/", "abc123", "ABCxyz09", "abc_123", "abc 1", "é", "my-bucket", "my.bucket.1", "-bucket",
      "bucket-", "ab", "a.b", "My-Bucket", "Mybucket", "a..b", "b_", "9.9",
      "https://my-bucket.s3.amazonaws.com/key.png?X-Amz-Signature=1", "https://s3.us-east-1.amazonaws.com/b/k",
      "http://my-bucket.s3.amazonaws.com/k", "https://example.com/s3/amazonaws.com/x", "https://s3xamazonaws.com/",
      "https://bucket.s3.amazonaws.com", "https://b.s3.amazonaws.com/\n", "https://b.s3.amazonawsXcom/k",
      "HTTPS://b.s3.amazonaws.com/k", "https://s3.amazonaws.com/",
    }
    local cases, shapes = {}, {}
    for name, shape in pairs(SHAPES) do
      if shape.pattern then
        for _, s in ipairs(samples) do
          cases[#cases + 1] = { shape.pattern, s }
          shapes[#cases] = name
        end
      end
    end
    assert.is_true(#cases > 5 * #samples - 1)
    local input = os.tmpname()
    H.write(input, core.encode(cases))
    local out = H.run("cd spec/support && /usr/bin/python3 -c '"
      .. "import json, sys; from standin import java_regex; "
      .. "cases = json.load(open(sys.argv[1], encoding=\"utf-8\")); "
      .. "print(json.dumps([java_regex(p).fullmatch(s) is not None for p, s in cases]))' " .. input)
    os.remove(input)
    local java = core.decode(out:match("^(%b[])"))
    assert.is_table(java, out)
    local mismatches = {}
    for i, case in ipairs(cases) do
      local lua = model.matches(SHAPES[shapes[i]], case[2])
      if lua ~= java[i] then
        mismatches[#mismatches + 1] = string.format("%s %q: Java %s, Lua %s", shapes[i], case[2], tostring(java[i]),
          tostring(lua))
      end
    end
    assert.are.same({}, mismatches)
  end)
end)

describe("model.request", function()
  local PHONE = H.PHONE

  local function refused(name, input)
    local req, err = model.request(name, input)
    assert.is_nil(req)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal(0, err.attempts)
    return err
  end

  it("puts query members in the query string, encoded, and sends no body without body members", function()
    local req = assert(model.request("DeleteWhatsAppMessageMedia",
      { mediaId = "123", originationPhoneNumberId = PHONE }))
    assert.are.equal("mediaId=123&originationPhoneNumberId=" .. PHONE, req.query)
    assert.is_nil(req.body)
    req = assert(model.request("ListLinkedWhatsAppBusinessAccounts", { nextToken = "a b/c+=é", maxResults = 7 }))
    assert.are.equal("maxResults=7&nextToken=a%20b%2Fc%2B%3D%C3%A9", req.query)
    req = assert(model.request("ListLinkedWhatsAppBusinessAccounts", {}))
    assert.are.equal("", req.query)
    assert.is_nil(req.body)
  end)

  it("puts body members in sorted JSON, {} when none is set", function()
    local req = assert(model.request("GetWhatsAppMessageMedia", { mediaId = "9", originationPhoneNumberId = PHONE,
      metadataOnly = false, destinationS3File = { bucketName = "my-bucket", key = "" } }))
    assert.are.equal('{"destinationS3File":{"bucketName":"my-bucket","key":""},"mediaId":"9","metadataOnly":false,'
      .. '"originationPhoneNumberId":"' .. PHONE .. '"}', req.body)
    assert.are.equal("", req.query)
    req = assert(model.request("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3PresignedUrl = { url = "https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123", headers = {} } }))
    assert.are.equal('{"originationPhoneNumberId":"' .. PHONE .. '","sourceS3PresignedUrl":{"headers":{},'
      .. '"url":"https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123"}}', req.body)
    -- a presigned URL carries credentials: kept out of error messages
    assert.are.same({ "https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123" }, req.secrets)
  end)

  it("names the member as the model does, with the rule", function()
    local err = refused("DeleteWhatsAppMessageMedia", { originationPhoneNumberId = PHONE })
    assert.are.equal("mediaId", err.field)
    assert.are.equal("mediaId: required", err.message)
    err = refused("DeleteWhatsAppMessageMedia", { mediaId = "12-3", originationPhoneNumberId = PHONE })
    assert.are.equal("mediaId", err.field)
    assert.matches("ASCII letters and digits %(the model's pattern %[A%-Za%-z0%-9%]%+%)", err.message)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3File = { bucketName = "My_Bucket", key = "a.png" } })
    assert.are.equal("sourceS3File.bucketName", err.field)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE, sourceS3File = { bucketName = "b" } })
    assert.are.equal("sourceS3File.bucketName", err.field)
    assert.matches("must be 3..63 characters long %(got 1%)", err.message)
    err = refused("PostWhatsAppMessageMedia",
      { originationPhoneNumberId = PHONE, sourceS3File = { bucketName = "bkt" } })
    assert.are.equal("sourceS3File.key", err.field)
    assert.are.equal("sourceS3File.key: required", err.message)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3File = { bucketName = "bkt", key = "k", region = "x" } })
    assert.are.equal("sourceS3File.region", err.field)
    assert.matches("unknown member %(known: bucketName, key%)", err.message)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE, sourceS3File = "s3://b/k" })
    assert.are.equal("sourceS3File", err.field)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = "waba-1" })
    assert.are.equal("originationPhoneNumberId", err.field)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3PresignedUrl = { url = "https://example.com/a.png", headers = {} } })
    assert.are.equal("sourceS3PresignedUrl.url", err.field)
    assert.matches("https:// URL of Amazon S3", err.message)
    assert.not_matches("example%.com", tostring(err)) -- a sensitive member is never shown
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3PresignedUrl = { url = "https://b.s3.amazonaws.com/k", headers = { ["Content-Type"] = 5 } } })
    assert.are.equal('sourceS3PresignedUrl.headers["Content-Type"]', err.field)
    err = refused("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
      sourceS3PresignedUrl = { url = "https://b.s3.amazonaws.com/k", headers = { "x" } } })
    assert.are.equal("sourceS3PresignedUrl.headers", err.field)
    err = refused("GetWhatsAppMessageMedia", { mediaId = "1", originationPhoneNumberId = PHONE, metadataOnly = "yes" })
    assert.are.equal("metadataOnly", err.field)
    for _, bad in ipairs { 0, 101, 1.5 } do
      err = refused("ListLinkedWhatsAppBusinessAccounts", { maxResults = bad })
      assert.are.equal("maxResults", err.field)
    end
    err = refused("ListLinkedWhatsAppBusinessAccounts", { nextToken = "" })
    assert.are.equal("nextToken", err.field)
    err = refused("ListLinkedWhatsAppBusinessAccounts", { next_token = "x" })
    assert.are.equal("next_token", err.field)
    err = refused("GetLinkedWhatsAppBusinessAccount", { id = H.PHONE })
    assert.are.equal("id", err.field)
    assert.matches('"waba%-…"', err.message)
  end)

  it("counts lengths in UTF-16 units, as the model does, and wants UTF-8", function()
    local function with_key(key)
      return model.request("PostWhatsAppMessageMedia", { originationPhoneNumberId = PHONE,
        sourceS3File = { bucketName = "bkt", key = key } })
    end
    assert.is_table(with_key(string.rep("é", 1024)))
    assert.is_table(with_key(string.rep("𝄞", 512)))       -- 2 units each
    local _, err = with_key(string.rep("𝄞", 512) .. "a")
    assert.matches("got 1025", err.message)
    _, err = with_key("a\255b")
    assert.are.equal("sourceS3File.key", err.field)
    assert.matches("not valid UTF%-8", err.message)
  end)

  it("raises on an unknown operation or input that is not a table", function()
    assert.has_error(function() model.request("SendWhatsAppMessages", {}) end)
    assert.has_error(function() model.request("GetLinkedWhatsAppBusinessAccount", "waba-1") end)
  end)
end)

-- The `whatsapp` command (bin/whatsapp), run as a user runs it, in a clean
-- environment against the stand-in: usage errors, --help, --json, exit codes
-- 0/1/2, a message read from stdin, and the library's configuration chain.
local H = require "spec.support.helper"
local core = require "whatsapp.core"

local BUILD = (os.getenv("WA_BUILD") or "build") .. "/" .. H.runtime

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The usual environment: the stand-in's keys, region, endpoint and number.
local function standard_env()
  return {
    AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
    AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
    AWS_REGION = "us-east-1",
    AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http,
    WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
  }
end

local home -- an empty HOME: no ~/.aws of this machine

--- Runs `whatsapp args...` with env (nothing else of ours: env -i); stdin
-- text optional. Returns exit status, stdout, stderr.
local function whatsapp(args, env, stdin)
  env = env or standard_env()
  local vars = { "PATH=/usr/bin:/bin", "HOME=" .. quote(env.HOME or home), "AWS_EC2_METADATA_DISABLED=true",
    "LUA_PATH=" .. quote("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. quote(BUILD .. "/?.so;;") }
  for _, pass in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS" } do -- make check's sanitizer run
    if os.getenv(pass) then vars[#vars + 1] = pass .. "=" .. quote(os.getenv(pass)) end
  end
  for k, v in pairs(env) do
    if k ~= "HOME" then vars[#vars + 1] = k .. "=" .. quote(v) end
  end
  local words = {}
  for i, a in ipairs(args) do words[i] = quote(a) end
  local err_file, in_file = os.tmpname(), os.tmpname()
  H.write(in_file, stdin or "")
  local p = assert(io.popen("env -i " .. table.concat(vars, " ") .. " " .. H.runtime .. " bin/whatsapp "
    .. table.concat(words, " ") .. " <" .. in_file .. " 2>" .. err_file .. "; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local f = assert(io.open(err_file))
  local err = f:read("*a")
  f:close()
  os.remove(err_file)
  os.remove(in_file)
  local status = tonumber(out:match("exit=(%d+)\n$"))
  return status, (out:gsub("exit=%d+\n$", "")), err
end

local function last_record()
  local msgs = H.messages()
  return msgs[#msgs], #msgs
end

describe("whatsapp command", function()
  setup(function()
    H.require_standin()
    home = H.home()
  end)
  teardown(function() H.rmrf(home) end)
  before_each(function() H.reset() end)

  describe("help and usage", function()
    it("--help lists the commands and options on stdout", function()
      for _, args in ipairs { { "--help" }, { "-h" }, { "help" } } do
        local status, out, err = whatsapp(args)
        assert.are.equal(0, status)
        assert.are.equal("", err)
        for _, word in ipairs { "send-text TO BODY", "send FILE.json|-", "send-template TO NAME LANG",
          "upload s3://BUCKET/KEY", "numbers", "--profile", "--region", "--endpoint-url", "--phone-number-id",
          "--json", "Exit status" } do
          assert.matches(word, out, 1, true)
        end
      end
    end)

    it("--help after a command (or help COMMAND) explains that command and runs nothing", function()
      for _, args in ipairs { { "send-text", "--help" }, { "--help", "send-text", "+1", "x" },
        { "help", "send-text" } } do
        local status, out = whatsapp(args)
        assert.are.equal(0, status)
        assert.matches("^Usage: whatsapp %[options%] send%-text TO BODY\n\nSends a text message", out)
      end
      for _, name in ipairs { "send", "send-template", "upload", "numbers" } do
        local status, out = whatsapp { name, "--help" }
        assert.are.equal(0, status)
        assert.matches("Usage: whatsapp [options] " .. name, out, 1, true)
      end
      assert.are.equal(0, H.stats().requests)
    end)

    it("--version prints the module's version", function()
      local status, out = whatsapp { "--version" }
      assert.are.equal(0, status)
      assert.are.equal(require("whatsapp")._VERSION .. "\n", out)
    end)

    it("exits 2 on usage errors, saying what is wrong on stderr", function()
      local cases = {
        { {}, "no command given" },
        { { "bogus" }, "unknown command 'bogus'" },
        { { "send-text", "+14255550123" }, "send-text: expected TO BODY, got 1 argument" },
        { { "send-text", "+14255550123", "a", "b" }, "send-text: expected TO BODY, got 3 arguments" },
        { { "send-template", "+14255550123", "hello" },
          "send-template: expected TO NAME LANG [PARAM...], got 2 arguments" },
        { { "numbers", "extra" }, "numbers: expected no arguments, got 1 argument" },
        { { "--colour", "numbers" }, "unknown option --colour" },
        { { "-x", "numbers" }, "unknown option -x" },
        { { "numbers", "--region" }, "option --region needs a value" },
        { { "numbers", "--region=" }, "option --region needs a value" },
        { { "numbers", "--json=yes" }, "option --json takes no value" },
        { { "upload", "my-bucket/a.png" }, "upload: expected s3://BUCKET/KEY, got my-bucket/a.png" },
        { { "upload", "s3://my-bucket" }, "upload: expected s3://BUCKET/KEY" },
        { { "send", "/nonexistent/message.json" }, "cannot read /nonexistent/message.json" },
      }
      for _, case in ipairs(cases) do
        local status, out, err = whatsapp(case[1])
        assert.are.equal(2, status, case[2])
        assert.are.equal("", out, case[2])
        assert.matches("whatsapp: " .. case[2], err, 1, true)
      end
      assert.are.equal(0, H.stats().requests)
    end)

    it("with --json, a usage error is JSON on stderr", function()
      local status, out, err = whatsapp { "--json", "bogus" }
      assert.are.equal(2, status)
      assert.are.equal("", out)
      assert.are.same({ error = { code = "UsageError", message = "unknown command 'bogus'" } }, core.decode(err))
    end)

    it("exits 2 when a command needs the origination number and none is set", function()
      local env = standard_env()
      env.WHATSAPP_PHONE_NUMBER_ID = nil
      local status, _, err = whatsapp({ "send-text", "+14255550123", "hi" }, env)
      assert.are.equal(2, status)
      assert.matches("--phone-number-id", err, 1, true)
      assert.are.equal(0, H.stats().requests)
    end)
  end)

  describe("commands", function()
    it("send-text prints the message id; --json prints it as JSON", function()
      local status, out, err = whatsapp { "send-text", "+14255550123", "Hello from the shell" }
      assert.are.equal(0, status, err)
      local rec = last_record()
      assert.are.equal(rec.message_id .. "\n", out)
      assert.are.equal("Hello from the shell", rec.message.text.body)
      assert.are.equal(H.PHONE, rec.originationPhoneNumberId)
      status, out = whatsapp { "send-text", "--json", "+14255550123", "again" } -- options anywhere
      assert.are.equal(0, status)
      assert.are.same({ messageId = last_record().message_id }, core.decode(out))
      status = whatsapp { "send-text", "+14255550123", "--", "--not an option" }
      assert.are.equal(0, status)
      assert.are.equal("--not an option", last_record().message.text.body)
    end)

    it("send - reads the message from stdin and sends its JSON as it is", function()
      local text = '{"to":"+14255550123","type":"text","text":{"body":"from stdin"},"biz_opaque_callback_data":"7"}'
      local status, out, err = whatsapp({ "send", "-" }, nil, text)
      assert.are.equal(0, status, err)
      local rec = last_record()
      assert.are.equal(rec.message_id .. "\n", out)
      assert.are.equal('{"messaging_product":"whatsapp",' .. text:sub(2), rec.message_text)
    end)

    it("send FILE.json reads a file", function()
      local file = os.tmpname()
      H.write(file, '{"messaging_product":"whatsapp","to":"+14255550123","type":"text","text":{"body":"file"}}')
      local status, out = whatsapp { "--json", "send", file }
      os.remove(file)
      assert.are.equal(0, status)
      assert.are.equal(last_record().message_id, core.decode(out).messageId)
      assert.are.equal("file", last_record().message.text.body)
    end)

    it("send - refuses what is not JSON with exit 2, sending nothing", function()
      for _, bad in ipairs { "", "{not json", '{"to": "+1"} trailing' } do
        local status, out, err = whatsapp({ "send", "-" }, nil, bad)
        assert.are.equal(2, status, bad)
        assert.are.equal("", out)
        assert.matches("ParamValidationError", err)
      end
      assert.are.equal(0, H.stats().requests)
    end)

    it("send-template fills the body's parameters in order", function()
      local status, _, err = whatsapp { "send-template", "+14255550123", "order_update", "en_US", "Jane", "8841" }
      assert.are.equal(0, status, err)
      local t = last_record().message.template
      assert.are.equal("order_update", t.name)
      assert.are.equal("en_US", t.language.code)
      assert.are.same({ { type = "body", parameters = { { type = "text", text = "Jane" },
        { type = "text", text = "8841" } } } }, t.components)
      status = whatsapp { "send-template", "+14255550123", "hello_world", "en_US" }
      assert.are.equal(0, status)
      assert.is_nil(last_record().message.template.components)
    end)

    it("upload s3://BUCKET/KEY prints the media id", function()
      local status, out, err = whatsapp { "upload", "s3://my-bucket/photos/cat 1.png" }
      assert.are.equal(0, status, err)
      local rec = last_record()
      assert.are.equal("PostWhatsAppMessageMedia", rec.operation)
      assert.are.equal(rec.mediaId .. "\n", out)
      assert.are.same({ sourceS3File = { bucketName = "my-bucket", key = "photos/cat 1.png" } }, rec.source)
      status, out = whatsapp { "upload", "--json", "s3://my-bucket/a.pdf" }
      assert.are.equal(0, status)
      assert.are.same({ mediaId = last_record().mediaId }, core.decode(out))
      local _
      status, _, err = whatsapp { "upload", "s3://Bad_Bucket/a.pdf" }
      assert.are.equal(2, status)
      assert.matches("sourceS3File.bucketName", err, 1, true)
    end)

    it("numbers lists every phone number id, one a line, or as JSON", function()
      local status, out, err = whatsapp { "numbers" }
      assert.are.equal(0, status, err)
      local lines = {}
      for line in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
      assert.are.equal(6, #lines)
      assert.matches("^" .. H.PHONE:gsub("%-", "%%-") .. "\t%+14255550123\tLucky Shrub\tGREEN\twaba%-1+$", lines[1])
      status, out = whatsapp { "numbers", "--json" }
      assert.are.equal(0, status)
      local numbers = core.decode(out).phoneNumbers
      assert.are.equal(6, #numbers)
      assert.are.equal(H.PHONE, numbers[1].phoneNumberId)
      -- no origination number is needed to find one
      local env = standard_env()
      env.WHATSAPP_PHONE_NUMBER_ID = nil
      assert.are.equal(0, (whatsapp({ "numbers" }, env)))
    end)
  end)

  describe("failures", function()
    it("exits 1 on a service error, with the error on stderr", function()
      H.inject { code = "AccessDeniedException", message = "no sending for you" }
      local status, out, err = whatsapp { "send-text", "+14255550123", "hi" }
      assert.are.equal(1, status)
      assert.are.equal("", out)
      assert.matches("^whatsapp: AccessDeniedException %(HTTP 403%): no sending for you %[request id [%x-]+%]\n$", err)
      H.inject { code = "ResourceNotFoundException" }
      status, out, err = whatsapp { "--json", "numbers" }
      assert.are.equal(1, status)
      assert.are.equal("", out)
      local e = core.decode(err).error
      assert.are.equal("ResourceNotFoundException", e.code)
      assert.are.equal(404, e.status)
      assert.are.equal(1, e.attempts)
      assert.is_false(e.retryable)
      assert.is_string(e.request_id)
    end)

    it("exits 1 when the endpoint cannot be reached or the credentials are refused", function()
      local status, _, err = whatsapp { "--endpoint-url", "http://127.0.0.1:1", "numbers" }
      assert.are.equal(1, status)
      assert.matches("ConnectionError", err)
      local env = standard_env()
      env.AWS_SECRET_ACCESS_KEY = "wrong/secret+KEY"
      status, _, err = whatsapp({ "send-text", "+14255550123", "hi" }, env)
      assert.are.equal(1, status)
      assert.matches("InvalidSignatureException", err)
      assert.is_nil(err:find("wrong/secret+KEY", 1, true))
      env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = nil, nil
      status, _, err = whatsapp({ "numbers" }, env)
      assert.are.equal(1, status)
      assert.matches("CredentialsError", err)
    end)

    it("exits 2 when input is refused before sending", function()
      local status, _, err = whatsapp { "send-text", "0044 20 7183 8750", "hi" }
      assert.are.equal(2, status)
      assert.matches("ParamValidationError: to:", err, 1, true)
      status, _, err = whatsapp { "--phone-number-id", "waba-1", "send-text", "+14255550123", "hi" }
      assert.are.equal(2, status)
      assert.matches("phone_number_id", err)
      assert.matches("--phone-number-id", err, 1, true)
      local env = standard_env()
      env.AWS_REGION = nil
      status, _, err = whatsapp({ "numbers" }, env)
      assert.are.equal(2, status)
      assert.matches("no region", err)
      assert.matches("--region", err, 1, true)
      assert.are.equal(0, H.stats().requests)
    end)
  end)

  describe("configuration", function()
    it("options win over the environment", function()
      local other = "phone-number-id-22222222222222222222222222222222"
      local env = standard_env()
      env.AWS_ENDPOINT_URL_SOCIALMESSAGING = "http://127.0.0.1:1"
      env.AWS_REGION = "eu-west-1"
      local status, _, err = whatsapp({ "--endpoint-url", H.http, "--region=us-east-1", "--phone-number-id", other,
        "send-text", "+14255550123", "hi" }, env)
      assert.are.equal(0, status, err)
      assert.are.equal(other, last_record().originationPhoneNumberId)
    end)

    it("--profile reads ~/.aws as the library does", function()
      local dir = H.home()
      H.write(dir .. "/.aws/config", "[profile cli]\nregion = us-east-1\nendpoint_url = " .. H.http .. "\n")
      H.write(dir .. "/.aws/credentials", "[cli]\naws_access_key_id = " .. H.creds.temp.access_key_id
        .. "\naws_secret_access_key = " .. H.creds.temp.secret_access_key
        .. "\naws_session_token = " .. H.creds.temp.session_token .. "\n")
      local env = { HOME = dir, WHATSAPP_PHONE_NUMBER_ID = H.PHONE }
      local status, _, err = whatsapp({ "--profile", "cli", "send-text", "+14255550123", "from a profile" }, env)
      assert.are.equal(0, status, err)
      local rec = last_record()
      assert.are.equal(H.creds.temp.access_key_id, rec.access_key_id)
      env.AWS_PROFILE = "cli" -- the same through the environment
      status = whatsapp({ "numbers" }, env)
      assert.are.equal(0, status)
      status, _, err = whatsapp({ "--profile", "missing", "numbers" }, { HOME = dir, AWS_REGION = "us-east-1" })
      assert.are.equal(1, status)
      assert.matches("missing", err)
      H.rmrf(dir)
    end)
  end)
end)

-- whatsapp.new: options, environment fallbacks, validation, module-level send.
local H = require "spec.support.helper"
local whatsapp = require "whatsapp"
local config = require "whatsapp.config"
local credentials = require "whatsapp.credentials"

local function env(t) return function(name) return t[name] end end

describe("configuration", function()
  it("falls back to the environment for every option", function()
    local cfg = assert(config.resolve({}, env {
      AWS_REGION = "eu-west-1", WHATSAPP_PHONE_NUMBER_ID = H.PHONE, WHATSAPP_META_API_VERSION = "v21.0",
      AWS_MAX_ATTEMPTS = "5", AWS_PROFILE = "work",
    }))
    assert.are.equal("eu-west-1", cfg.region)
    assert.are.equal("https://social-messaging.eu-west-1.amazonaws.com", cfg.endpoint)
    assert.are.equal("social-messaging.eu-west-1.amazonaws.com", cfg.host)
    assert.are.equal("https://social-messaging.eu-west-1.amazonaws.com/v1/whatsapp/send", cfg.url)
    assert.are.equal(H.PHONE, cfg.phone_number_id)
    assert.are.equal("v21.0", cfg.meta_api_version)
    assert.are.equal(5, cfg.max_attempts)
    assert.are.equal("work", cfg.profile)
  end)

  it("prefers options to the environment, and AWS_REGION to AWS_DEFAULT_REGION", function()
    assert.are.equal("ap-south-1", config.resolve({ region = "ap-south-1" }, env { AWS_REGION = "x-y-1" }).region)
    assert.are.equal("us-west-2", config.resolve({}, env { AWS_REGION = "us-west-2", AWS_DEFAULT_REGION = "b" }).region)
    assert.are.equal("eu-north-1", config.resolve({}, env { AWS_DEFAULT_REGION = "eu-north-1" }).region)
  end)

  it("defaults meta_api_version to v20.0 and timeouts to 3 s and 10 s", function()
    local cfg = config.resolve({ region = "us-east-1" }, env {})
    assert.are.equal("v20.0", cfg.meta_api_version)
    assert.are.equal(3, cfg.connect_timeout)
    assert.are.equal(10, cfg.timeout)
    assert.are.equal(3, cfg.max_attempts)
  end)

  it("picks the endpoint: option, AWS_ENDPOINT_URL_SOCIALMESSAGING, AWS_ENDPOINT_URL, region", function()
    local e = { AWS_ENDPOINT_URL_SOCIALMESSAGING = "http://127.0.0.1:9", AWS_ENDPOINT_URL = "http://127.0.0.1:8" }
    local with_option = config.resolve({ region = "us-east-1", endpoint = "https://x.test" }, env(e))
    assert.are.equal("https://x.test", with_option.endpoint)
    assert.are.equal("http://127.0.0.1:9", config.resolve({ region = "us-east-1" }, env(e)).endpoint)
    e.AWS_ENDPOINT_URL_SOCIALMESSAGING = nil
    assert.are.equal("http://127.0.0.1:8", config.resolve({ region = "us-east-1" }, env(e)).endpoint)
    assert.are.equal("https://social-messaging.cn-north-1.amazonaws.com.cn",
      config.resolve({ region = "cn-north-1" }, env {}).endpoint)
  end)

  it("signs the host as it goes on the wire", function()
    local function host(url) return config.parse_endpoint(url).host_header end
    assert.are.equal("127.0.0.1:8080", host("http://127.0.0.1:8080"))
    assert.are.equal("example.com", host("https://Example.com:443/"))
    assert.are.equal("example.com:8443", host("https://example.com:8443"))
    assert.are.equal("[::1]:9000", host("http://[::1]:9000"))
    assert.are.equal("/base/v1/whatsapp/send", config.parse_endpoint("https://h/base/").path)
  end)

  it("returns ParamValidationError naming the option for bad values", function()
    local cases = {
      { {}, "region" },
      { { region = "US East" }, "region" },
      { { region = "us-east-1\r\n" }, "region" },
      { { region = "us-east-1", endpoint = "ftp://x" }, "endpoint" },
      { { region = "us-east-1", endpoint = "https://u:p@x" }, "endpoint" },
      { { region = "us-east-1", endpoint = "https://x:99999" }, "endpoint" },
      { { region = "us-east-1", endpoint = "https://x/a b" }, "endpoint" },
      { { region = "us-east-1", phone_number_id = "1234" }, "phone_number_id" },
      { { region = "us-east-1", meta_api_version = "20" }, "meta_api_version" },
      { { region = "us-east-1", ca_file = "/nonexistent/ca.pem" }, "ca_file" },
      { { region = "us-east-1", timeout = 0 }, "timeout" },
      { { region = "us-east-1", connect_timeout = -1 }, "connect_timeout" },
      { { region = "us-east-1", max_attempts = 0 }, "max_attempts" },
      { { region = "us-east-1", user_agent = "x\r\nX-Injected: 1" }, "user_agent" },
      { { region = "us-east-1", transport = "resty" }, "transport" },
    }
    for _, case in ipairs(cases) do
      local cfg, err = config.resolve(case[1], env {})
      assert.is_nil(cfg)
      assert.are.equal("ParamValidationError", err.code)
      assert.are.equal(case[2], err.field)
      assert.matches("^" .. case[2] .. ": ", err.message)
    end
    local _, err = config.resolve({ region = "us-east-1" }, env { AWS_MAX_ATTEMPTS = "many" })
    assert.are.equal("max_attempts", err.field)
  end)

  it("raises for options of the wrong type or unknown options", function()
    assert.has_error(function() whatsapp.new { region = 5 } end,
      "whatsapp.new: option 'region' must be a string (got number)")
    assert.has_error(function() whatsapp.new { regoin = "us-east-1" } end, "whatsapp.new: unknown option 'regoin'")
    assert.has_error(function() whatsapp.new "us-east-1" end)
  end)
end)

describe("credentials", function()
  it("come from the option, a function, or the environment", function()
    local c = assert(credentials.resolve({ access_key_id = "A", secret_access_key = "S" }, env {}))
    assert.are.equal("A", c.access_key_id)
    c = assert(credentials.resolve(function() return { access_key_id = "F", secret_access_key = "S" } end, env {}))
    assert.are.equal("F", c.access_key_id)
    c = assert(credentials.resolve(nil, env {
      AWS_ACCESS_KEY_ID = "E", AWS_SECRET_ACCESS_KEY = "S", AWS_SESSION_TOKEN = "T" }))
    assert.are.equal("E", c.access_key_id)
    assert.are.equal("T", c.session_token)
    assert.are.equal("environment", c.source)
  end)

  it("give a CredentialsError saying what was tried", function()
    local c, err = credentials.resolve(nil, env { AWS_EC2_METADATA_DISABLED = "true" })
    assert.is_nil(c)
    assert.are.equal("CredentialsError", err.code)
    assert.matches("AWS_ACCESS_KEY_ID", err.message)
    c, err = credentials.resolve(nil, env { AWS_ACCESS_KEY_ID = "A", AWS_EC2_METADATA_DISABLED = "true" })
    assert.is_nil(c)
    assert.matches("AWS_SECRET_ACCESS_KEY is not", err.message)
    c, err = credentials.resolve(function() error("vault down") end, env {})
    assert.is_nil(c)
    assert.matches("vault down", err.message)
    c, err = credentials.resolve({ access_key_id = "A" }, env {})
    assert.is_nil(c)
    assert.are.equal("credentials.secret_access_key", err.field)
  end)

  it("are resolved when sending, so a client without them fails with CredentialsError", function()
    local client = assert(whatsapp.new { region = "us-east-1", endpoint = "http://127.0.0.1:1",
      phone_number_id = H.PHONE, credentials = function() return nil end })
    local id, err = client:send { to = "+1", type = "text", text = { body = "x" } }
    assert.is_nil(id)
    assert.are.equal("CredentialsError", err.code)
  end)
end)

describe("client", function()
  it("needs a phone number id somewhere", function()
    local client = assert(whatsapp.new { region = "us-east-1", endpoint = "http://127.0.0.1:1",
      credentials = H.creds.static })
    local id, err = client:send { to = "+1", type = "text", text = { body = "x" } }
    assert.is_nil(id)
    assert.are.equal("phone_number_id", err.field)
  end)

  it("raises for a message that is neither a table nor a string, and for bad send options", function()
    local client = H.client()
    assert.has_error(function() client:send(42) end, "send: message must be a table or a JSON string (got number)")
    assert.has_error(function() client:send({}, "opts") end, "send: opts must be a table (got string)")
    assert.has_error(function() client:send({}, { phone_number_id = 5 }) end,
      "send: option 'phone_number_id' must be a string (got number)")
    assert.has_error(function() client:send({}, { phone_id = "x" }) end, "send: unknown option 'phone_id'")
  end)

  it("knows its transports: curl outside nginx, resty only inside", function()
    assert.are.equal("curl", H.client().transport)
    local c, err = whatsapp.new { region = "us-east-1", transport = "resty" }
    assert.is_nil(c)
    assert.are.equal("transport", err.field)
    assert.matches("needs nginx", err.message)
    c, err = whatsapp.new { region = "us-east-1", transport = "pigeon" }
    assert.is_nil(c)
    assert.matches('must be "curl" or "resty"', err.message)
    -- a table called ngx is not nginx: no cosockets, so still curl
    rawset(_G, "ngx", {})
    local ok, client = pcall(whatsapp.new, { region = "us-east-1" })
    rawset(_G, "ngx", nil)
    assert.is_true(ok)
    assert.are.equal("curl", client.transport)
    local _, later_err = client:send_later { to = "+14255550123", type = "text", text = { body = "x" } }
    assert.are.equal("TransportUnavailable", later_err.code)
  end)

  it("closes idempotently", function()
    local client = H.client()
    client:close()
    client:close()
    -- (a valid message: an invalid one is refused by validation before the transport is reached)
    assert.has_error(function() client:send { to = "+1", type = "text", text = { body = "x" } } end,
      "whatsapp client is closed")
  end)

  it("reads credentials and settings from the real environment, for whatsapp.send too", function()
    H.require_standin()
    H.reset()
    local script = [[
      local whatsapp = require "whatsapp"
      local id, err = whatsapp.send { to = "+14255550123", type = "text", text = { body = "from env" } }
      io.write(tostring(id), " ", tostring(err))
    ]]
    local cmd = table.concat({
      "AWS_ACCESS_KEY_ID=" .. H.creds.temp.access_key_id,
      "AWS_SECRET_ACCESS_KEY='" .. H.creds.temp.secret_access_key .. "'",
      "AWS_SESSION_TOKEN='" .. H.creds.temp.session_token .. "'",
      "AWS_REGION=us-east-1",
      "AWS_ENDPOINT_URL_SOCIALMESSAGING=" .. H.http,
      "WHATSAPP_PHONE_NUMBER_ID=" .. H.PHONE,
      H.runtime, "-e", "'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path;"
        .. "package.cpath=\"build/" .. H.runtime .. "/?.so;\"..package.cpath'",
      "-e", "'" .. script:gsub("'", "'\\''") .. "'",
    }, " ")
    local p = assert(io.popen(cmd .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    local msgs = H.messages()
    assert.are.equal(1, #msgs, out)
    assert.are.equal(msgs[1].message_id .. " nil", out)
    assert.are.equal("from env", msgs[1].message.text.body)
    assert.are.equal(H.creds.temp.access_key_id, msgs[1].access_key_id)
  end)
end)

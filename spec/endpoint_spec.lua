-- Region and endpoint the way the SDKs settle them: every case of the
-- service's endpoint rule tests (spec/fixtures/aws/socialmessaging-model), the
-- environment and the profile of a real config file in a temporary HOME.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local config = require "whatsapp.config"

local TESTS = (os.getenv("WA_SHARED") or "spec/fixtures") .. "/aws/socialmessaging-model/endpoint-tests-1.json"

describe("endpoint rules", function()
  local f = assert(io.open(TESTS, "rb"), "cannot read " .. TESTS)
  local cases = core.decode(f:read("*a")).testCases
  f:close()

  it("has the model's test cases", function() assert.is_true(#cases >= 21) end)

  for _, case in ipairs(cases) do
    it(case.documentation, function()
      local p = case.params or {}
      local url, err = config.endpoint_rules {
        region = p.Region, use_fips = p.UseFIPS == true, use_dualstack = p.UseDualStack == true,
        endpoint = p.Endpoint,
      }
      if case.expect.error then
        assert.is_nil(url)
        assert.are.equal(case.expect.error, err)
      else
        assert.are.equal(case.expect.endpoint.url, url)
      end
    end)
  end

  it("are what whatsapp.new uses, from options and from the environment", function()
    local cfg = assert(config.resolve({ region = "us-gov-east-1", use_fips = true, use_dualstack = true }, H.env {}))
    assert.are.equal("https://social-messaging-fips.us-gov-east-1.api.aws", cfg.endpoint)
    cfg = assert(config.resolve({ region = "cn-north-1" }, H.env {
      AWS_USE_FIPS_ENDPOINT = "TRUE", AWS_USE_DUALSTACK_ENDPOINT = "true" }))
    assert.are.equal("https://social-messaging-fips.cn-north-1.api.amazonwebservices.com.cn", cfg.endpoint)
    assert.are.equal("social-messaging-fips.cn-north-1.api.amazonwebservices.com.cn", cfg.host)
    cfg = assert(config.resolve({ region = "eu-west-1", use_fips = false }, H.env { AWS_USE_FIPS_ENDPOINT = "true" }))
    assert.are.equal("https://social-messaging.eu-west-1.amazonaws.com", cfg.endpoint)
    local _, err = config.resolve({ region = "us-east-1", endpoint = "https://example.com", use_fips = true }, H.env {})
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("endpoint: Invalid Configuration: FIPS and custom endpoint are not supported", err.message)
    _, err = config.resolve({ region = "us-east-1" }, H.env {
      AWS_ENDPOINT_URL = "https://example.com", AWS_USE_DUALSTACK_ENDPOINT = "true" })
    assert.are.equal("endpoint: Invalid Configuration: Dualstack and custom endpoint are not supported", err.message)
    assert.has_error(function() config.resolve({ region = "us-east-1", use_fips = "yes" }, H.env {}) end,
      "whatsapp.new: option 'use_fips' must be a boolean (got string)")
  end)
end)

describe("settings from the config file", function()
  local home
  before_each(function() home = H.home() end)
  after_each(function() H.rmrf(home) end)

  it("region, endpoint_url, max_attempts and ca_bundle come from the profile", function()
    H.write(home .. "/.aws/config", table.concat({
      "[default]",
      "region = eu-central-1",
      "max_attempts = 7",
      "[profile work]",
      "region = ap-south-1 ; the office",
      "endpoint_url = http://127.0.0.1:9/base",
      "ca_bundle = " .. home .. "/ca.pem",
      "[profile svc]",
      "region = us-west-2",
      "endpoint_url = http://127.0.0.1:8",
      "services = local",
      "[services local]",
      "socialmessaging =",
      "  endpoint_url = http://127.0.0.1:7",
      "sts =",
      "  endpoint_url = http://127.0.0.1:6",
    }, "\n") .. "\n")
    H.write(home .. "/ca.pem", "not really a CA\n")
    local cfg = assert(config.resolve({}, H.env { HOME = home }))
    assert.are.equal("eu-central-1", cfg.region)
    assert.are.equal(7, cfg.max_attempts)
    assert.are.equal("https://social-messaging.eu-central-1.amazonaws.com", cfg.endpoint)
    assert.are.equal("default", cfg.profile)

    cfg = assert(config.resolve({}, H.env { HOME = home, AWS_PROFILE = "work" }))
    assert.are.equal("ap-south-1", cfg.region)
    assert.are.equal("http://127.0.0.1:9/base", cfg.endpoint)
    assert.are.equal("/base/v1/whatsapp/send", cfg.path)
    assert.are.equal(home .. "/ca.pem", cfg.ca_file)
    assert.are.equal(3, cfg.max_attempts)

    cfg = assert(config.resolve({ profile = "svc" }, H.env { HOME = home, AWS_PROFILE = "work" }))
    assert.are.equal("http://127.0.0.1:7", cfg.endpoint) -- the services section wins over endpoint_url
    assert.is_true(cfg.profile_explicit)
    cfg = assert(config.resolve({ profile = "svc" },
      H.env { HOME = home, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }))
    assert.are.equal("https://social-messaging.us-west-2.amazonaws.com", cfg.endpoint)
  end)

  it("options and the environment come before the profile", function()
    H.write(home .. "/.aws/config",
      "[default]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9\nmax_attempts = 7\n")
    local cfg = assert(config.resolve({ region = "us-east-2", max_attempts = 2 }, H.env {
      HOME = home, AWS_ENDPOINT_URL = "http://127.0.0.1:5" }))
    assert.are.equal("us-east-2", cfg.region)
    assert.are.equal("http://127.0.0.1:5", cfg.endpoint)
    assert.are.equal(2, cfg.max_attempts)
    cfg = assert(config.resolve({}, H.env { HOME = home, AWS_REGION = "sa-east-1", AWS_DEFAULT_REGION = "x",
      AWS_MAX_ATTEMPTS = "4" }))
    assert.are.equal("sa-east-1", cfg.region)
    assert.are.equal(4, cfg.max_attempts)
    cfg = assert(config.resolve({}, H.env { HOME = home, AWS_DEFAULT_REGION = "me-south-1" }))
    assert.are.equal("me-south-1", cfg.region)
    -- AWS_CONFIG_FILE moves the file
    H.write(home .. "/elsewhere", "[profile x]\nregion = af-south-1\n")
    cfg = assert(config.resolve({ profile = "x" }, H.env { HOME = home, AWS_CONFIG_FILE = home .. "/elsewhere" }))
    assert.are.equal("af-south-1", cfg.region)
  end)

  it("no region anywhere is a clear error", function()
    H.write(home .. "/.aws/config", "[default]\noutput = json\n")
    local cfg, err = config.resolve({}, H.env { HOME = home })
    assert.is_nil(cfg)
    assert.are.equal("ParamValidationError", err.code)
    assert.are.equal("region", err.field)
    assert.matches('no region: pass region = "us%-east%-1", set AWS_REGION, or set region in the profile "default"',
      err.message)
  end)

  it("a broken config file is a CredentialsError naming the file and line, not the text", function()
    H.write(home .. "/.aws/config", "[default]\nregion = us-east-1\naws_secret_access_key: s3cr3t-value\n")
    local cfg, err = config.resolve({}, H.env { HOME = home })
    assert.is_nil(cfg)
    assert.are.equal("CredentialsError", err.code)
    assert.matches('shared files %(profile "default"%): .*/%.aws/config line 3: ', err.message)
    assert.is_nil(tostring(err):find("s3cr3t", 1, true))
    -- nothing is read when options and environment settle everything
    assert.is_table(config.resolve({ region = "us-east-1", max_attempts = 3, ca_file = H.ca,
      endpoint = "https://example.com", use_fips = false, use_dualstack = false }, H.env { HOME = home }))
  end)

  it("a bad value from the profile names the setting", function()
    H.write(home .. "/.aws/config",
      "[default]\nregion = Not A Region\n[profile b]\nregion = us-east-1\nmax_attempts = lots\n")
    local _, err = config.resolve({}, H.env { HOME = home })
    assert.are.equal("region", err.field)
    _, err = config.resolve({ profile = "b" }, H.env { HOME = home })
    assert.are.equal("max_attempts", err.field)
  end)
end)

-- The credential chain against real sources on loopback: IMDS, a container
-- endpoint and STS (spec/support/credsrv.py, AssumeRole signatures checked
-- with botocore), real ~/.aws files in temporary HOME folders, real
-- credential_process programs. The environment is a table (H.env): nothing
-- here reads this machine's environment or ~/.aws.
local H = require "spec.support.helper"
local whatsapp = require "whatsapp"
local credentials = require "whatsapp.credentials"

local TEXT = { to = "+14255550123", type = "text", text = { body = "signed by the chain" } }
local TEMP = H.creds.temp
local STATIC = H.creds.static

-- Every secret a message must never show.
local SECRETS = {
  STATIC.secret_access_key, TEMP.secret_access_key, TEMP.session_token,
  H.creds.expired.secret_access_key, "process/Secret+Key/never-shown", "jwt-web-identity-token-A",
  "container-auth-token-secret",
}
local function assert_clean(err)
  local text = tostring(err) .. " " .. tostring(err and err.message)
  for _, s in ipairs(SECRETS) do
    assert(not text:find(s, 1, true), "a secret shows in: " .. text)
  end
end

local home
local function file(rel, text, mode) H.write(home .. "/" .. rel, text, mode) end

-- The environment of a machine where only the given sources are set up:
-- STS and IMDS point at credsrv, IMDS is off unless asked for.
local function env(extra)
  local e = { HOME = home, AWS_ENDPOINT_URL_STS = H.credsrv, AWS_EC2_METADATA_DISABLED = "true" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function imds_on(extra)
  local e = { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = H.credsrv }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function provider(e, opts)
  local o = { getenv = H.env(e), region = "us-east-1" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return credentials.provider(o)
end

local function resolve(e, opts)
  local c, err = provider(e, opts):get()
  if err then assert_clean(err) end
  return c, err
end

local function client(e, hooks, opts)
  local h = { getenv = H.env(e) }
  for k, v in pairs(hooks or {}) do h[k] = v end
  local o = { region = "us-east-1", endpoint = H.http, phone_number_id = H.PHONE }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(whatsapp.new(o, h))
end

-- Sends; asserts the stand-in accepted it, signed with akid (and the
-- session token signed too for temporary keys).
local function send_ok(c, akid)
  local id, err = c:send(TEXT)
  assert(id, "send failed: " .. tostring(err))
  local msgs = H.messages()
  local last = msgs[#msgs]
  assert.are.equal(id, last.message_id)
  assert.are.equal(akid, last.access_key_id)
  local signed = table.concat(last.signed_headers, ";")
  if akid == TEMP.access_key_id then
    assert.are.equal("content-type;host;x-amz-date;x-amz-security-token", signed)
  else
    assert.are.equal("content-type;host;x-amz-date", signed)
  end
end

local function count(name) return H.creds_stats()[name] or 0 end

local function json_process(doc, extra)
  -- a credential_process program printing doc and counting its runs
  file("bin/creds", "#!/bin/sh\necho run >> '" .. home .. "/runs'\ncat <<'EOF'\n" .. doc .. "\nEOF\n"
    .. (extra or ""), "755")
  return home .. "/bin/creds"
end

local function runs()
  local f = io.open(home .. "/runs", "rb")
  if not f then return 0 end
  local n = select(2, f:read("*a"):gsub("\n", ""))
  f:close()
  return n
end

local function temp_json(expiration)
  return string.format('{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s"%s}',
    TEMP.access_key_id, TEMP.secret_access_key, TEMP.session_token,
    expiration and (', "Expiration": "' .. expiration .. '"') or "")
end

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

before_each(function()
  H.require_standin()
  H.require_credsrv()
  H.reset()
  H.creds_reset()
  home = H.home()
end)
after_each(function() H.rmrf(home) end)

describe("the chain", function()
  -- every source configured at once; removing them front to back shows the order
  local function everything()
    file(".aws/credentials", "[default]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. STATIC.secret_access_key .. "\n")
    file("token", "jwt-web-identity-token-A")
    return env(imds_on {
      AWS_ACCESS_KEY_ID = STATIC.access_key_id, AWS_SECRET_ACCESS_KEY = STATIC.secret_access_key,
      AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/web",
      AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials",
    })
  end

  it("is option, environment, web identity, shared files, container, IMDS: the first hit wins", function()
    local e = everything()
    local function source(opts)
      local c, err = resolve(e, opts)
      assert(c, tostring(err))
      return c.source
    end
    assert.are.equal("credentials option", source { option = STATIC })
    assert.are.equal("credentials function", source { option = function() return TEMP end })
    assert.are.same({}, H.creds_stats()) -- nothing further down was asked
    assert.are.equal("environment", source())
    assert.are.same({}, H.creds_stats())
    e.AWS_ACCESS_KEY_ID, e.AWS_SECRET_ACCESS_KEY = false, false
    assert.are.equal("web identity", source())
    assert.are.same({ sts_AssumeRoleWithWebIdentity = 1 }, H.creds_stats())
    e.AWS_WEB_IDENTITY_TOKEN_FILE = false
    assert.are.equal('shared files (profile "default")', source())
    H.rmrf(home)
    home = H.home()
    assert.are.equal("container", source())
    e.AWS_CONTAINER_CREDENTIALS_FULL_URI = false
    assert.are.equal("instance metadata (IMDS)", source())
    assert.are.same({ sts_AssumeRoleWithWebIdentity = 1, container = 1, imds_token = 1, imds_role = 1,
      imds_credentials = 1 }, H.creds_stats())
  end)

  it("ends, when nothing is found, with a CredentialsError listing each provider and why it passed", function()
    H.creds_set { imds = { mode = "no-role" } }
    local c, err = resolve(env(imds_on()))
    assert.is_nil(c)
    assert.are.equal("CredentialsError", err.code)
    local pos = 0
    for _, p in ipairs {
      "no AWS credentials found; tried, in order: ",
      "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; ",
      "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set; ",
      'shared files: no profile "default" in ' .. home .. "/.aws/credentials (missing) and " .. home
        .. "/.aws/config (missing); ",
      "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set; ",
      "instance metadata (IMDS): no IAM role is attached to the instance (HTTP 404)",
    } do
      local at = err.message:find(p, 1, true)
      assert(at and at > pos, "not next: " .. p .. " in " .. err.message)
      pos = at
    end
  end)

  it("skips the environment when the profile option names a profile (as botocore)", function()
    file(".aws/config", "[profile work]\naws_access_key_id = " .. TEMP.access_key_id
      .. "\naws_secret_access_key = " .. TEMP.secret_access_key .. "\naws_session_token = " .. TEMP.session_token)
    local e = env { AWS_ACCESS_KEY_ID = STATIC.access_key_id, AWS_SECRET_ACCESS_KEY = STATIC.secret_access_key }
    assert.are.equal('shared files (profile "work")', resolve(e, { profile = "work" }).source)
    e.AWS_PROFILE = "work"
    assert.are.equal("environment", resolve(e).source) -- AWS_PROFILE does not
  end)
end)

describe("a send signed with credentials from", function()
  it("the option: a table, or a function", function()
    send_ok(client(env(), nil, { credentials = STATIC }), STATIC.access_key_id)
    send_ok(client(env(), nil, { credentials = function() return TEMP end }), TEMP.access_key_id)
  end)

  it("the environment, with and without a session token", function()
    send_ok(client(env { AWS_ACCESS_KEY_ID = STATIC.access_key_id, AWS_SECRET_ACCESS_KEY = STATIC.secret_access_key }),
      STATIC.access_key_id)
    send_ok(client(env { AWS_ACCESS_KEY_ID = TEMP.access_key_id, AWS_SECRET_ACCESS_KEY = TEMP.secret_access_key,
      AWS_SESSION_TOKEN = TEMP.session_token, AWS_CREDENTIAL_EXPIRATION = iso(os.time() + 3600) }),
      TEMP.access_key_id)
  end)

  it("web identity (STS AssumeRoleWithWebIdentity, unsigned)", function()
    file("token", "jwt-web-identity-token-A\n")
    send_ok(client(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
      AWS_ROLE_SESSION_NAME = "pod-1" }), TEMP.access_key_id)
    local r = H.creds_requests()
    assert.are.equal(1, #r)
    assert.are.equal("AssumeRoleWithWebIdentity", r[1].Action)
    assert.are.equal("jwt-web-identity-token-A", r[1].WebIdentityToken)
    assert.are.equal("arn:aws:iam::1:role/web", r[1].RoleArn)
    assert.are.equal("pod-1", r[1].RoleSessionName)
    assert.are.equal(require("whatsapp.core").null, r[1].authorization)
    assert.are.equal("application/x-www-form-urlencoded; charset=utf-8", r[1].content_type)
  end)

  it("shared files: [default] and [x] in credentials, [profile x] in config, credentials winning", function()
    file(".aws/credentials", table.concat({
      "# keys", "[default]", "aws_access_key_id = " .. STATIC.access_key_id,
      "aws_secret_access_key = " .. STATIC.secret_access_key,
      "[temp]", "aws_access_key_id=" .. TEMP.access_key_id, "aws_secret_access_key=" .. TEMP.secret_access_key,
      "aws_session_token=" .. TEMP.session_token,
      "[both]", "aws_access_key_id = " .. STATIC.access_key_id, "aws_secret_access_key = " .. STATIC.secret_access_key,
    }, "\n"))
    file(".aws/config", table.concat({
      "[profile cfg]", "aws_access_key_id = " .. TEMP.access_key_id,
      "aws_secret_access_key = " .. TEMP.secret_access_key, "aws_session_token = " .. TEMP.session_token,
      "[profile both]", "aws_access_key_id = " .. TEMP.access_key_id,
      "aws_secret_access_key = " .. TEMP.secret_access_key,
    }, "\n"))
    send_ok(client(env()), STATIC.access_key_id)
    send_ok(client(env { AWS_PROFILE = "temp" }), TEMP.access_key_id)
    send_ok(client(env(), nil, { profile = "cfg" }), TEMP.access_key_id)
    send_ok(client(env { AWS_PROFILE = "both" }), STATIC.access_key_id)
    -- the files can be elsewhere
    H.write(home .. "/other/creds", "[default]\naws_access_key_id = " .. TEMP.access_key_id
      .. "\naws_secret_access_key = " .. TEMP.secret_access_key .. "\naws_session_token = " .. TEMP.session_token)
    send_ok(client(env { AWS_SHARED_CREDENTIALS_FILE = home .. "/other/creds" }), TEMP.access_key_id)
  end)

  it("credential_process, Version 1", function()
    local cmd = json_process(temp_json(iso(os.time() + 3600)))
    file(".aws/config", "[default]\ncredential_process = " .. cmd .. " --profile x\n")
    local c = client(env())
    send_ok(c, TEMP.access_key_id)
    send_ok(c, TEMP.access_key_id)
    assert.are.equal(1, runs()) -- kept until close to its Expiration
  end)

  it("role_arn + source_profile: STS AssumeRole signed with the source's keys (checked with botocore)", function()
    file(".aws/credentials", "[base]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. STATIC.secret_access_key .. "\n")
    file(".aws/config", table.concat({
      "[default]", "role_arn = arn:aws:iam::123456789012:role/app", "source_profile = base",
      "role_session_name = whatsapp-test", "external_id = ext-42", "duration_seconds = 1800",
      "[profile chained]", "role_arn = arn:aws:iam::123456789012:role/second", "source_profile = default",
    }, "\n"))
    send_ok(client(env()), TEMP.access_key_id)
    local r = H.creds_requests()
    assert.are.equal(1, #r)
    assert.are.same({ "AssumeRole", "ok", "arn:aws:iam::123456789012:role/app", "whatsapp-test", "ext-42", "1800" },
      { r[1].Action, r[1].signature, r[1].RoleArn, r[1].RoleSessionName, r[1].ExternalId, r[1].DurationSeconds })
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=" .. STATIC.access_key_id .. "/%d+/us%-east%-1/sts/aws4_request",
      r[1].authorization)
    -- a chain of roles: the second AssumeRole is signed with the first one's temporary keys and token
    H.creds_reset()
    send_ok(client(env { AWS_PROFILE = "chained" }), TEMP.access_key_id)
    r = H.creds_requests()
    assert.are.equal(2, #r)
    assert.are.same({ "ok", "ok" }, { r[1].signature, r[2].signature })
    assert.are.equal("arn:aws:iam::123456789012:role/second", r[2].RoleArn)
    assert.are.equal(TEMP.session_token, r[2].security_token)
    assert.matches("SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token,", r[2].authorization)
  end)

  it("role_arn + credential_source = Environment", function()
    file(".aws/config", "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n")
    send_ok(client(env { AWS_ACCESS_KEY_ID = STATIC.access_key_id, AWS_SECRET_ACCESS_KEY = STATIC.secret_access_key },
      nil, { profile = "ci" }), TEMP.access_key_id)
    assert.are.equal("ok", H.creds_requests()[1].signature)
  end)

  it("the container endpoint, with its authorization token or token file", function()
    H.creds_set { container = { token = "container-auth-token-secret" } }
    local full = H.credsrv .. "/container/credentials"
    send_ok(client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full,
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth-token-secret" }), TEMP.access_key_id)
    file("ecs-token", "container-auth-token-secret\n")
    send_ok(client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full, AWS_CONTAINER_AUTHORIZATION_TOKEN = "ignored",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = home .. "/ecs-token" }), TEMP.access_key_id)
    local r = H.creds_requests()
    assert.are.same({ "container-auth-token-secret", "container-auth-token-secret" },
      { r[1].authorization, r[2].authorization })
    assert.are.equal("application/json", r[1].accept)
  end)

  it("the container endpoint named by a relative URI (on 169.254.170.2)", function()
    local asked
    local function http(method, url)
      asked = method .. " " .. url
      return 200, string.format('{"AccessKeyId":"%s","SecretAccessKey":"%s","Token":"%s","Expiration":"%s"}',
        TEMP.access_key_id, TEMP.secret_access_key, TEMP.session_token, iso(os.time() + 3600)), {}
    end
    send_ok(client(env { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/abc",
      AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:1/not-used" }, { http = http }), TEMP.access_key_id)
    assert.are.equal("GET http://169.254.170.2/v2/credentials/abc", asked)
  end)

  it("IMDSv2: token, role, credentials", function()
    send_ok(client(env(imds_on())), TEMP.access_key_id)
    assert.are.same({ imds_token = 1, imds_role = 1, imds_credentials = 1 }, H.creds_stats())
  end)

  it("IMDSv1 when the token request is refused, unless v1 is disabled", function()
    H.creds_set { imds = { mode = "v1" } }
    send_ok(client(env(imds_on())), TEMP.access_key_id)
    local c, err = resolve(env(imds_on { AWS_EC2_METADATA_V1_DISABLED = "true" }))
    assert.is_nil(c)
    assert.are.equal("instance metadata (IMDS): the token request was answered HTTP 403 and IMDSv1 is disabled",
      err.message)
    assert.are.equal("instance metadata (IMDS)", err.provider)
  end)
end)

describe("refresh", function()
  -- a clock the specs move: now() = real time + skew
  local skew = 0
  local function now() return os.time() + skew end
  before_each(function() skew = 0 end)

  it("fetches expiring credentials again 15 minutes before they expire, once for many sends", function()
    local c = client(env(imds_on()), { now = now })
    for _ = 1, 5 do send_ok(c, TEMP.access_key_id) end
    assert.are.equal(1, count("imds_credentials"))
    skew = 3600 - 14 * 60 -- 14 minutes left: advisory refresh
    H.creds_set { imds = { ttl = 3600 + skew } }
    for _ = 1, 10 do send_ok(c, TEMP.access_key_id) end
    assert.are.equal(2, count("imds_credentials"))
    assert.is_true(math.abs(os.time() + 3600 + skew - c:credentials().expiration) <= 2)
  end)

  it("keeps still-valid credentials when an advisory refresh fails; fails when a mandatory one does", function()
    local c = client(env(imds_on()), { now = now })
    send_ok(c, TEMP.access_key_id)
    local first = c:credentials().expiration
    H.creds_set { imds = { mode = "error" } }
    skew = 3600 - 14 * 60 -- advisory: the refresh fails, the send goes out with the old keys
    send_ok(c, TEMP.access_key_id)
    send_ok(c, TEMP.access_key_id)
    assert.are.equal(3, count("imds_credentials")) -- each send in the window tries again
    assert.are.equal(first, c:credentials().expiration)
    skew = 3600 - 9 * 60 -- mandatory: now it is an error naming the provider
    local id, err = c:send(TEXT)
    assert.is_nil(id)
    assert.are.equal("CredentialsError", err.code)
    assert.are.equal("instance metadata (IMDS): the credentials request was answered HTTP 500", err.message)
    H.creds_set { imds = { mode = "ok", ttl = 3600 + skew } }
    send_ok(c, TEMP.access_key_id) -- and it recovers
    assert.is_true(math.abs(os.time() + 3600 + skew - c:credentials().expiration) <= 2)
  end)

  it("reads the web identity token file again on every refresh", function()
    file("token", "jwt-web-identity-token-A")
    local c = client(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::1:role/w" },
      { now = now })
    send_ok(c, TEMP.access_key_id)
    file("token", "jwt-web-identity-token-B")
    skew = 3600 - 5 * 60
    H.creds_set { sts = { ttl = 3600 + skew } }
    send_ok(c, TEMP.access_key_id)
    send_ok(c, TEMP.access_key_id)
    local r = H.creds_requests()
    assert.are.same({ "jwt-web-identity-token-A", "jwt-web-identity-token-B" },
      { r[1].WebIdentityToken, r[2].WebIdentityToken })
  end)

  it("runs credential_process, assumes the role, asks the container and re-reads the environment again", function()
    -- credential_process
    file(".aws/config", "[default]\ncredential_process = " .. json_process(temp_json(iso(os.time() + 1200))) .. "\n")
    local c = client(env(), { now = now })
    send_ok(c, TEMP.access_key_id)
    send_ok(c, TEMP.access_key_id) -- 20 minutes left: kept
    assert.are.equal(1, runs())
    skew = 600 -- 10 minutes left: mandatory refresh; the program is run again
    json_process(temp_json(iso(os.time() + 7200)))
    send_ok(c, TEMP.access_key_id)
    send_ok(c, TEMP.access_key_id)
    assert.are.equal(2, runs())
    -- assume role
    skew = 0
    file(".aws/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = s\n[profile s]\n"
      .. "aws_access_key_id = " .. STATIC.access_key_id .. "\naws_secret_access_key = " .. STATIC.secret_access_key)
    c = client(env(), { now = now })
    send_ok(c, TEMP.access_key_id)
    skew = 3000
    H.creds_set { sts = { ttl = 3600 + skew } }
    for _ = 1, 5 do send_ok(c, TEMP.access_key_id) end
    assert.are.equal(2, count("sts_AssumeRole"))
    -- container (the profile above would come first in the chain)
    os.remove(home .. "/.aws/config")
    skew = 0
    c = client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials" }, { now = now })
    send_ok(c, TEMP.access_key_id)
    skew = 3000
    H.creds_set { container = { ttl = 3600 + skew } }
    for _ = 1, 5 do send_ok(c, TEMP.access_key_id) end
    assert.are.equal(2, count("container"))
    -- the environment, with AWS_CREDENTIAL_EXPIRATION
    skew = 0
    local e = env { AWS_ACCESS_KEY_ID = TEMP.access_key_id, AWS_SECRET_ACCESS_KEY = TEMP.secret_access_key,
      AWS_SESSION_TOKEN = TEMP.session_token, AWS_CREDENTIAL_EXPIRATION = iso(os.time() + 1000) }
    c = client(e, { now = now })
    send_ok(c, TEMP.access_key_id)
    skew = 500 -- 500 s left: mandatory; the environment still says the same, so that is still what we use
    local expiration = os.time() + 5000 -- read once: the clock may pass a second before the check
    e.AWS_CREDENTIAL_EXPIRATION = iso(expiration)
    send_ok(c, TEMP.access_key_id)
    assert.are.equal(expiration, c:credentials().expiration)
    skew = 6000 -- expired, and the environment has nothing newer
    local id, err = c:send(TEXT)
    assert.is_nil(id)
    assert.matches("^environment: handed out credentials that expired at ", err.message)
  end)

  describe("one refresh at a time", function()
    -- A credentials function that yields in the middle (as a non-blocking
    -- fetch would), and sends running in coroutines, resumed round-robin:
    -- the sends really interleave with the refresh.
    local calls, skew_fn, suspended, broken
    local function fetcher()
      calls = calls + 1
      suspended = true
      coroutine.yield() -- the fetch is "in flight"; the scheduler runs other sends
      suspended = false
      if broken then error("the vault is sealed", 0) end
      return { access_key_id = TEMP.access_key_id, secret_access_key = TEMP.secret_access_key,
        session_token = TEMP.session_token, expiration = os.time() + skew_fn + 3600 }
    end
    local function run_all(c, n, failing)
      local cos, results, during = {}, {}, 0
      for i = 1, n do
        cos[i] = coroutine.create(function()
          local id, err = c:send(TEXT)
          if suspended then during = during + 1 end
          results[i] = id or tostring(err)
        end)
      end
      local alive = n
      while alive > 0 do
        alive = 0
        for i = 1, n do
          if coroutine.status(cos[i]) == "suspended" then
            assert(coroutine.resume(cos[i]))
            if coroutine.status(cos[i]) ~= "dead" then alive = alive + 1 end
          end
        end
      end
      for i = 1, n do assert.matches(failing or "^%x+%-%x+%-", results[i]) end
      return during
    end

    it("first fetch, advisory and mandatory windows: 8 interleaved sends, one call each time", function()
      calls, skew_fn, suspended, broken = 0, 0, false, false
      local c = client(env(), { now = function() return os.time() + skew_fn end },
        { credentials = fetcher })
      -- nothing yet: one caller fetches, the 7 others wait for it
      assert.are.equal(0, run_all(c, 8))
      assert.are.equal(1, calls)
      assert.are.equal(8, #H.messages())
      -- 14 minutes left: one caller refreshes; the others send with the current keys meanwhile
      skew_fn = 3600 - 14 * 60
      assert.are.equal(7, run_all(c, 8))
      assert.are.equal(2, calls)
      -- 9 minutes left: one caller refreshes, the others wait for the new keys
      skew_fn = skew_fn + 3600 - 9 * 60
      assert.are.equal(0, run_all(c, 8))
      assert.are.equal(3, calls)
      assert.are.equal(24, #H.messages())
      -- and nothing more while the keys are fresh
      assert.are.equal(0, run_all(c, 8))
      assert.are.equal(3, calls)
    end)

    it("a refresh that fails fails the sends that waited for it, after one call", function()
      calls, skew_fn, suspended, broken = 0, 0, false, false
      local c = client(env(), { now = function() return os.time() + skew_fn end }, { credentials = fetcher })
      run_all(c, 4)
      broken = true
      skew_fn = 3600 - 14 * 60 -- advisory: the failure leaves the current keys in use
      assert.are.equal(7, run_all(c, 8))
      assert.are.equal(2, calls)
      skew_fn = 3600 - 9 * 60 -- mandatory: all 8 sends fail with the one refresh's error
      run_all(c, 8, "^CredentialsError: the credentials function failed: the vault is sealed$")
      assert.are.equal(3, calls)
      assert.are.equal(12, #H.messages())
    end)

    it("a caller that cannot wait uses keys still valid, else gets a CredentialsError", function()
      calls, skew_fn, suspended, broken = 0, 0, false, false
      local p = credentials.provider { option = fetcher, now = function() return os.time() + skew_fn end }
      local co = coroutine.create(function() return p:get() end)
      assert(coroutine.resume(co)) -- the first fetch is in flight
      local c, err = p:get()       -- the main thread cannot yield
      assert.is_nil(c)
      assert.are.equal("CredentialsError", err.code)
      assert.matches("cannot wait", err.message)
      assert(coroutine.resume(co))
      skew_fn = 3600 - 9 * 60
      co = coroutine.create(function() return p:get() end)
      assert(coroutine.resume(co)) -- a mandatory refresh is in flight
      assert.are.equal(TEMP.access_key_id, p:get().access_key_id) -- 9 minutes are still 9 minutes
      assert(coroutine.resume(co))
      assert.are.equal(2, calls)
    end)
  end)

  it("a function without an expiration is called for every send, as before", function()
    local n = 0
    local c = client(env(), nil, { credentials = function()
      n = n + 1
      return STATIC
    end })
    for _ = 1, 3 do send_ok(c, STATIC.access_key_id) end
    assert.are.equal(3, n)
  end)
end)

describe("errors name the provider and the cause, never a secret", function()
  local function fails(e, opts, name, pattern)
    local c, err = resolve(e, opts)
    assert.is_nil(c)
    assert.are.equal("CredentialsError", err.code)
    if name then assert.are.equal(name, err.provider) end
    assert.matches(pattern, err.message)
    return err
  end

  it("a broken line in a shared file", function()
    file(".aws/credentials", "[default]\naws_access_key_id = " .. STATIC.access_key_id .. "\n"
      .. STATIC.secret_access_key .. "\n")
    fails(env(), nil, 'shared files (profile "default")',
      '^shared files %(profile "default"%): .*/%.aws/credentials line 3: expected')
    file(".aws/credentials", "[default\n")
    fails(env(), nil, nil, "line 1: a section header has no closing")
  end)

  it("half a key pair, a missing profile, a role without a source, a circle, MFA", function()
    fails(env { AWS_SECRET_ACCESS_KEY = STATIC.secret_access_key }, nil, "environment",
      "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
    file(".aws/credentials", "[half]\naws_secret_access_key = " .. STATIC.secret_access_key .. "\n")
    fails(env { AWS_PROFILE = "half" }, nil, nil, "has aws_secret_access_key without aws_access_key_id")
    fails(env { AWS_PROFILE = "nope" }, nil, 'shared files (profile "nope")', 'the profile "nope" is in neither')
    fails(env(), { profile = "nope" }, nil, 'the profile "nope" is in neither')
    file(".aws/config", table.concat({
      "[profile r]", "role_arn = arn:aws:iam::1:role/r",
      "[profile a]", "role_arn = arn:aws:iam::1:role/a", "source_profile = b",
      "[profile b]", "role_arn = arn:aws:iam::1:role/b", "source_profile = a",
      "[profile m]", "role_arn = arn:aws:iam::1:role/m", "source_profile = half", "mfa_serial = arn:aws:iam::1:mfa/x",
      "[profile s]", "role_arn = arn:aws:iam::1:role/s", "credential_source = Ec2InstanceMetadata",
      "[profile d]", "role_arn = arn:aws:iam::1:role/d", "source_profile = half", "duration_seconds = 5",
    }, "\n"))
    fails(env { AWS_PROFILE = "r" }, nil, 'assume role (profile "r")', "neither source_profile nor credential_source")
    fails(env { AWS_PROFILE = "a" }, nil, nil, 'leads around in a circle')
    fails(env { AWS_PROFILE = "m" }, nil, nil, "mfa_serial")
    fails(env { AWS_PROFILE = "s" }, nil, nil, "credential_source Ec2InstanceMetadata found nothing: disabled")
    fails(env { AWS_PROFILE = "d" }, nil, nil, "duration_seconds must be")
    fails(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/t" }, nil, "web identity", "AWS_ROLE_ARN is not")
    fails(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/missing", AWS_ROLE_ARN = "arn:aws:iam::1:role/w" }, nil,
      "web identity", "the token file %(AWS_WEB_IDENTITY_TOKEN_FILE%) .*/missing cannot be read: ")
    assert.are.same({}, H.creds_stats())
  end)

  it("a credential_process that fails or lies", function()
    local function with(cmd) file(".aws/config", "[default]\ncredential_process = " .. cmd .. "\n") end
    local P = 'credential_process (profile "default")'
    with("sh -c 'echo \"vault is sealed\" >&2; exit 3'")
    fails(env(), nil, P, "^credential_process %(profile \"default\"%): exited with status 3: vault is sealed$")
    with(home .. "/bin/missing")
    fails(env(), nil, P, "exited with status 127")
    local secret = "process/Secret+Key/never-shown"
    with(json_process('{"Version": 2, "AccessKeyId": "AKIDX", "SecretAccessKey": "' .. secret .. '"}'))
    fails(env(), nil, P, "printed 2 as Version; only Version 1 is known")
    with(json_process('{"AccessKeyId": "AKIDX", "SecretAccessKey": "' .. secret .. '"}'))
    fails(env(), nil, P, "printed no Version as Version")
    with(json_process("AccessKeyId=AKIDX SecretAccessKey=" .. secret))
    fails(env(), nil, P, "did not print a JSON object")
    with(json_process('{"Version": 1, "AccessKeyId": "AKIDX"}'))
    fails(env(), nil, P, "SecretAccessKey is missing")
    with(json_process('{"Version": 1, "AccessKeyId": "AKIDX", "SecretAccessKey": "' .. secret .. '\\r\\nX: y"}'))
    fails(env(), nil, P, "SecretAccessKey must not contain CR, LF")
    with(json_process('{"Version": 1, "AccessKeyId": "AKIDX", "SecretAccessKey": "' .. secret
      .. '", "Expiration": "tomorrow"}'))
    fails(env(), nil, P, "Expiration is not an ISO 8601 time")
    with(json_process(temp_json(iso(os.time() - 60))))
    fails(env(), nil, P, "handed out credentials that expired at ")
  end)

  it("an IMDS that times out (1 s) passes with that reason; one that answers nonsense is an error", function()
    H.creds_set { imds = { mode = "hang" } }
    local t0 = os.time()
    local err = fails(env(imds_on()), nil, nil, "instance metadata %(IMDS%): no metadata service at "
      .. H.credsrv:gsub("%p", "%%%0") .. ": no answer within 1 s")
    assert.matches("^no AWS credentials found", err.message)
    assert.is_true(os.time() - t0 <= 3)
    local I = "instance metadata (IMDS)"
    for mode, pattern in pairs {
      garbage = "the credentials request was answered 200 without a JSON object",
      error = "the credentials request was answered HTTP 500",
      code = "the credentials answer says Code AssumeRoleUnauthorizedAccess: EC2 cannot assume the role",
      ["hang-credentials"] = "the credentials request: no answer within 1 s",
    } do
      H.creds_set { imds = { mode = mode } }
      fails(env(imds_on()), nil, I, pattern:gsub("%p", "%%%0"))
    end
    -- an unreachable endpoint (nothing listens) also passes
    err = fails(env(imds_on { AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:1" }), nil, nil,
      "no metadata service at http://127%.0%.0%.1:1: connect")
    assert.matches("^no AWS credentials found", err.message)
  end)

  it("STS errors: denied, garbage, a missing field, expired keys, a bad signature, no STS", function()
    file(".aws/credentials", "[base]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. STATIC.secret_access_key
      .. "\n[wrong]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. H.creds.expired.secret_access_key .. "\n")
    local function role(name, source)
      file(".aws/config", "[default]\nrole_arn = arn:aws:iam::123456789012:role/" .. name .. "\nsource_profile = "
        .. (source or "base") .. "\n")
    end
    local A = 'assume role (profile "default")'
    role("denied")
    fails(env(), nil, A, "^assume role %(profile \"default\"%): STS AssumeRole failed: HTTP 403 AccessDenied: User: "
      .. "arn:aws:iam::123456789012:user/standin is not authorized to perform: sts:AssumeRole on resource: "
      .. "arn:aws:iam::123456789012:role/denied %[request id %x+%-")
    role("garbage")
    fails(env(), nil, A, "STS AssumeRole answered with malformed XML: ")
    role("malformed")
    fails(env(), nil, A, "STS's SecretAccessKey is missing")
    role("expired")
    fails(env(), nil, A, "handed out credentials that expired at")
    role("app", "wrong")
    fails(env(), nil, A, "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match")
    assert.are.equal("bad", H.creds_requests()[5].signature)
    role("app")
    fails(env { AWS_ENDPOINT_URL_STS = "http://127.0.0.1:1" }, nil, A, "STS AssumeRole at http://127.0.0.1:1: connect")
    file("token", "bad-token")
    fails(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::1:role/w" }, nil,
      "web identity", "HTTP 400 InvalidIdentityToken: The ID token is not valid for the role.")
  end)

  it("a container endpoint that is not allowed, refuses, or answers nonsense", function()
    local C = "container"
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://192.0.2.1/creds" }, nil, C,
      "FULL_URI uses http to 192.0.2.1; http is only allowed to a loopback address")
    fails(env { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "creds" }, nil, C, "must start with '/'")
    local full = H.credsrv .. "/container/credentials"
    H.creds_set { container = { token = "container-auth-token-secret" } }
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full, AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong" }, nil, C,
      "answered HTTP 401 Unauthorized: bad authorization token")
    file("tok", "container-auth-token-secret\r\nX-Injected: 1")
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = home .. "/tok" },
      nil, C, "the authorization token holds CR or LF")
    H.creds_set { container = { token = require("whatsapp.core").null, mode = "error" } }
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full }, nil, C, "answered HTTP 500 InternalError: the agent")
    H.creds_set { container = { mode = "garbage" } }
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = full }, nil, C, "answered 200 without a JSON object")
    -- https to any host is allowed (and fails here only because nothing listens)
    fails(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = "https://127.0.0.1:1/creds" }, nil, C, "connect")
  end)

  it("reach the caller of send as CredentialsError, and tostring shows no secret", function()
    file(".aws/credentials", "[default]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. STATIC.secret_access_key .. "\nbroken line\n")
    local id, err = client(env()):send(TEXT)
    assert.is_nil(id)
    assert.are.equal("CredentialsError", err.code)
    assert.are.equal(0, err.attempts)
    assert_clean(err)
    assert.are.equal(0, H.stats().requests)
  end)
end)

-- The credential chain against hostile sources and files, on the runtime
-- busted runs (Lua 5.4 and LuaJIT): sources that hang (spec/support/credsrv.py),
-- a credential_process that never exits or prints 100 MB, a caller that never
-- comes back from a fetch, and files named by configuration that are FIFOs,
-- devices, too large or built to make a parser quadratic. Cases that would
-- hang or eat memory if they regressed run in a child process under
-- `timeout` and a memory limit, so a regression fails instead of hanging.
local H = require "spec.support.helper"
local core = require "whatsapp.core"
local credentials = require "whatsapp.credentials"
local ini = require "whatsapp.credentials.ini"
local shared = require "whatsapp.credentials.files"
local whatsapp = require "whatsapp"

local TEXT = { to = "+14255550123", type = "text", text = { body = "hostile credentials" } }
local TEMP, STATIC = H.creds.temp, H.creds.static
local SECRETS = { STATIC.secret_access_key, TEMP.secret_access_key, TEMP.session_token }

local home
local function file(rel, text, mode) H.write(home .. "/" .. rel, text, mode) end

local function env(extra)
  local e = { HOME = home, AWS_ENDPOINT_URL_STS = H.credsrv, AWS_EC2_METADATA_DISABLED = "true" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function client(e, opts, hooks)
  local h = { getenv = H.env(e) }
  for k, v in pairs(hooks or {}) do h[k] = v end
  local o = { region = "us-east-1", endpoint = H.http, phone_number_id = H.PHONE, max_attempts = 1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(whatsapp.new(o, h))
end

local function assert_clean(err)
  local text = tostring(err) .. " " .. tostring(err and err.message)
  for _, s in ipairs(SECRETS) do assert(not text:find(s, 1, true), "a secret shows in: " .. text) end
end

-- Sends with opts; returns the error, and the seconds the send took.
local function timed_send(c, opts)
  local t0 = core.monotonic()
  local id, err = c:send(TEXT, opts)
  local took = core.monotonic() - t0
  assert.is_nil(id, "the send went through")
  assert_clean(err)
  return err, took
end

-- A send that a 1 s deadline cut while fetching credentials: a TimeoutError
-- saying so and that nothing was sent, well before the source's own timeout.
local function deadline_hit(err, took, provider)
  assert.are.equal("TimeoutError", err.code, tostring(err))
  assert.matches("deadline passed while fetching credentials", err.message)
  assert.matches("nothing was sent", err.message)
  assert.are.equal(0, err.attempts)
  if provider then assert.are.equal(provider, err.provider) end
  assert.is_true(took < 3, "the send took " .. took .. " s past a 1 s deadline")
  assert.are.equal(0, H.stats().requests)
end

before_each(function()
  H.require_standin()
  H.require_credsrv()
  H.reset()
  H.creds_reset()
  home = H.home()
end)
after_each(function()
  H.creds_reset()
  H.rmrf(home)
end)

describe("a deadline bounds fetching credentials", function()
  it("from STS AssumeRole that hangs (client timeout 10 s)", function()
    H.creds_set { sts = { mode = "hang", delay_ms = 8000 } }
    file(".aws/credentials", "[base]\naws_access_key_id = " .. STATIC.access_key_id
      .. "\naws_secret_access_key = " .. STATIC.secret_access_key .. "\n")
    file(".aws/config", "[default]\nrole_arn = arn:aws:iam::1:role/app\nsource_profile = base\n")
    local err, took = timed_send(client(env(), { deadline = 1 }))
    deadline_hit(err, took, 'assume role (profile "default")')
    assert.matches("STS AssumeRole", err.message)
  end)

  it("from STS AssumeRoleWithWebIdentity that hangs, with a per-send deadline", function()
    H.creds_set { sts = { mode = "hang", delay_ms = 8000 } }
    file("token", "jwt-web-identity-token-A")
    local c = client(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::1:role/w" })
    deadline_hit(timed_send(c, { deadline = 1 }))
  end)

  it("from instance metadata that hangs on the token or on the credentials", function()
    for _, mode in ipairs { "hang", "hang-credentials" } do
      H.creds_set { imds = { mode = mode, delay_ms = 8000 } }
      local c = client(env { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = H.credsrv,
        AWS_METADATA_SERVICE_TIMEOUT = "5" }, { deadline = 1 })
      deadline_hit(timed_send(c))
    end
  end)

  it("from a container endpoint that hangs", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    local c = client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials" },
      { deadline = 1 })
    local err, took = timed_send(c)
    deadline_hit(err, took, "container")
  end)

  it("from a credential_process that never exits: it is killed at the deadline", function()
    file("bin/slow", "#!/bin/sh\necho $$ > '" .. home .. "/pid'\nexec sleep 20\n", "755")
    file(".aws/config", "[default]\ncredential_process = " .. home .. "/bin/slow\n")
    local err, took = timed_send(client(env(), { deadline = 1 }))
    deadline_hit(err, took, 'credential_process (profile "default")')
    assert.matches("did not finish within", err.message)
    local pid = assert(io.open(home .. "/pid")):read("*l")
    local state
    for _ = 1, 30 do -- gone (or a zombie: killed, not yet reaped by whoever adopted it)
      local f = io.open("/proc/" .. pid .. "/stat")
      state = f and f:read("*a"):match("^%d+ %b() (%u)")
      if f then f:close() end
      if not state or state == "Z" then break end
      core.sleep(0.1)
    end
    assert.is_true(not state or state == "Z", "the process is still there: " .. tostring(state))
  end)

  it("and without a deadline, credential_process gets the client's timeout", function()
    file(".aws/config", "[default]\ncredential_process = sleep 20\n")
    local err, took = timed_send(client(env(), { timeout = 1 }))
    assert.are.equal("CredentialsError", err.code)
    assert.are.equal('credential_process (profile "default"): did not finish within 1 s, and was killed',
      err.message)
    assert.is_true(took < 3, "took " .. took .. " s")
  end)

  it("for the other operations too (client:call)", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    local c = client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials" })
    local t0 = core.monotonic()
    local out, err = c:call("ListLinkedWhatsAppBusinessAccounts", { maxResults = 10 }, { deadline = 1 })
    local took = core.monotonic() - t0
    assert.is_nil(out)
    deadline_hit(err, took, "container")
  end)

  it("in a batch: every item fails at the deadline, the fetch tried once", function()
    H.creds_set { container = { mode = "hang", delay_ms = 8000 } }
    local c = client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials" })
    local t0 = core.monotonic()
    local results, failed = c:send_batch({ TEXT, TEXT, TEXT }, { deadline = 1, concurrency = 3 })
    local took = core.monotonic() - t0
    assert.are.equal(3, failed)
    for i = 1, 3 do
      assert.are.equal("TimeoutError", results[i].err.code, tostring(results[i].err))
      assert.matches("deadline passed while fetching credentials", results[i].err.message)
    end
    assert.is_true(took < 3, "the batch took " .. took .. " s past a 1 s deadline")
    assert.are.equal(1, H.creds_stats().container)
  end)

  it("a deadline that leaves enough time changes nothing", function()
    H.creds_set { container = { mode = "hang", delay_ms = 300 } }
    local c = client(env { AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials" },
      { deadline = 10 })
    assert(c:send(TEXT))
    assert.are.equal(TEMP.access_key_id, H.messages()[1].access_key_id)
  end)
end)

describe("one fetch at a time, with deadlines", function()
  -- a credentials function that yields until told to answer
  local release, calls
  local function fetcher()
    calls = calls + 1
    while not release do coroutine.yield() end
    return { access_key_id = TEMP.access_key_id, secret_access_key = TEMP.secret_access_key,
      session_token = TEMP.session_token, expiration = os.time() + 3600 }
  end
  before_each(function() release, calls = false, 0 end)

  it("a waiter stops waiting at its own deadline", function()
    local p = credentials.provider { option = fetcher }
    local holder = coroutine.create(function() return p:get() end)
    assert(coroutine.resume(holder)) -- fetching, for as long as it likes
    local result
    local waiter = coroutine.create(function() result = { p:get(0.3) } end)
    local t0 = core.monotonic()
    while coroutine.status(waiter) ~= "dead" and core.monotonic() - t0 < 5 do
      assert(coroutine.resume(waiter))
      core.sleep(0.005)
    end
    assert.is_nil(result[1])
    assert.are.equal("TimeoutError", result[2].code)
    assert.matches("deadline passed while another caller was fetching credentials; nothing was sent",
      result[2].message)
    assert.is_true(core.monotonic() - t0 < 2)
    release = true
    assert(coroutine.resume(holder))
    assert.are.equal(1, calls)
  end)

  it("a fetch whose caller is gone is taken over at once", function()
    local p = credentials.provider { option = fetcher }
    local holder = coroutine.create(function() return p:get() end)
    assert(coroutine.resume(holder))
    -- the holder never comes back: closed (Lua 5.4) or dropped and collected
    local close = rawget(coroutine, "close")
    if close then close(holder) end
    holder = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    release = true
    local got
    local waiter = coroutine.create(function() got = p:get() end)
    for _ = 1, 3 do
      if coroutine.status(waiter) ~= "dead" then assert(coroutine.resume(waiter)) end
    end
    assert.are.equal("dead", coroutine.status(waiter), "the next caller still waits")
    assert.are.equal(TEMP.access_key_id, got.access_key_id)
    assert.are.equal(2, calls)
  end)

  it("a fetch whose caller had a deadline is taken over once that deadline (and a grace second) passed", function()
    local p = credentials.provider { option = fetcher }
    local holder = coroutine.create(function() return p:get(0.2) end)
    assert(coroutine.resume(holder)) -- still referenced, never resumed again
    release = true
    local got
    local waiter = coroutine.create(function() got = p:get() end)
    local t0 = core.monotonic()
    while coroutine.status(waiter) ~= "dead" and core.monotonic() - t0 < 10 do
      assert(coroutine.resume(waiter))
      core.sleep(0.005)
    end
    local took = core.monotonic() - t0
    assert.are.equal(TEMP.access_key_id, got.access_key_id)
    assert.is_true(took < 3, "took over after " .. took .. " s")
    assert.are.equal("suspended", coroutine.status(holder))
  end)
end)

describe("credential_process output", function()
  it("100 MB on stdout: killed past 1 MiB, a CredentialsError saying so, memory bounded", function()
    local function peak_kib()
      local f = io.open("/proc/self/status")
      local kib = tonumber(f:read("*a"):match("VmHWM:%s*(%d+)"))
      f:close()
      return kib
    end
    file(".aws/config", "[default]\ncredential_process = yes x | head -c 100000000\n")
    collectgarbage()
    local before = peak_kib()
    local err, took = timed_send(client(env()))
    assert.are.equal("CredentialsError", err.code)
    assert.are.equal('credential_process (profile "default"): printed more than 1024 KiB on stdout, which is '
      .. "too large for credentials, and was killed", err.message)
    local grew = peak_kib() - before
    assert.is_true(grew < 40 * 1024, "the peak memory grew by " .. grew .. " KiB")
    assert.is_true(took < 10, "took " .. took .. " s")
  end)

  it("a flood on stderr is cut to its first 64 KiB, and the command still counts", function()
    file(".aws/config", "[default]\ncredential_process = sh -c 'yes e | head -c 10000000 >&2; exit 4'\n")
    local err = timed_send(client(env()))
    assert.matches('^credential_process %(profile "default"%): exited with status 4: e e e e', err.message)
    assert.is_true(#err.message < 400)
  end)

  it("still runs programs as before: status, stderr, JSON", function()
    file(".aws/config", "[default]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", "
      .. "\"SecretAccessKey\": \"%s\"}' " .. STATIC.access_key_id .. " '" .. STATIC.secret_access_key .. "'\n")
    assert(client(env()):send(TEXT))
    assert.are.equal(STATIC.access_key_id, H.messages()[1].access_key_id)
  end)
end)

describe("files named by configuration", function()
  -- Runs a Lua chunk in a child process of this runtime, under `timeout 10`
  -- and a 1 GiB address-space limit: a FIFO that blocks or a device read
  -- whole fails the spec rather than hanging or exhausting the machine.
  -- Returns what the chunk printed, and the exit status line.
  local function child(chunk)
    local script = home .. "/child.lua"
    H.write(script, 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path\n'
      .. 'package.cpath = "' .. (os.getenv("WA_BUILD") or "build") .. "/" .. H.runtime .. '/?.so;" .. package.cpath\n'
      .. "local whatsapp = require 'whatsapp'\n" .. chunk)
    local t0 = core.monotonic()
    -- (no address-space limit under make check's preloaded sanitizers: ASan reserves terabytes)
    local limit = (os.getenv("LD_PRELOAD") or "") == "" and "ulimit -v 1048576; " or ""
    local out = H.run(limit .. "timeout -k 1 10 " .. H.runtime .. " " .. script)
    return out, core.monotonic() - t0
  end

  -- whatsapp.new (or a send) with the given environment in a child; returns
  -- its printed error, and the seconds it took.
  local function new_in_child(e, send)
    local lines = {}
    for k, v in pairs(e) do lines[#lines + 1] = string.format("[%q] = %q,", k, v) end
    local out, took = child("local vars = {" .. table.concat(lines, " ") .. "}\n"
      .. "local c, err = whatsapp.new({ endpoint = " .. string.format("%q", H.http) .. ", max_attempts = 1, "
      .. "phone_number_id = " .. string.format("%q", H.PHONE)
      .. (send and ", region = 'us-east-1'" or "") .. " }, { getenv = function(n) return vars[n] end })\n"
      .. (send and "local id; id, err = c:send({ to = '+14255550123', type = 'text', text = { body = 'x' } })\n"
        or "")
      .. "print(err and (err.code .. ': ' .. err.message) or 'no error')\n")
    return out, took
  end

  local function mkfifo(rel)
    local path = home .. "/" .. rel
    assert.matches("exit=0", H.run("mkfifo '" .. path .. "'"))
    return path
  end

  it("a FIFO as ~/.aws/config: whatsapp.new says so at once (it used to block for good)", function()
    mkfifo(".aws/config")
    local out, took = new_in_child { HOME = home }
    assert.matches('CredentialsError: shared files %(profile "default"%): the config file '
      .. home:gsub("%p", "%%%0") .. "/%.aws/config is a FIFO %(named pipe%); it must be a regular file", out)
    assert.matches("exit=0", out)
    assert.is_true(took < 5, "took " .. took .. " s")
  end)

  it("/dev/zero as AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE is refused before a byte is read", function()
    local out = new_in_child { HOME = home, AWS_CONFIG_FILE = "/dev/zero" }
    assert.matches("the config file /dev/zero is a character device; it must be a regular file", out)
    assert.matches("exit=0", out)
    out = new_in_child({ HOME = home, AWS_SHARED_CREDENTIALS_FILE = "/dev/zero" }, true)
    assert.matches("CredentialsError: shared files %(profile \"default\"%): the credentials file /dev/zero is a "
      .. "character device; it must be a regular file", out)
    assert.matches("exit=0", out)
  end)

  it("/dev/zero or a FIFO as a web identity or container token file", function()
    local fifo = mkfifo("token-fifo")
    for _, path in ipairs { "/dev/zero", fifo } do
      local what = path == fifo and "a FIFO %(named pipe%)" or "a character device"
      local out = new_in_child({ HOME = home, AWS_WEB_IDENTITY_TOKEN_FILE = path,
        AWS_ROLE_ARN = "arn:aws:iam::1:role/w", AWS_ENDPOINT_URL_STS = H.credsrv }, true)
      assert.matches("CredentialsError: web identity: the token file %(AWS_WEB_IDENTITY_TOKEN_FILE%) "
        .. path:gsub("%p", "%%%0") .. " is " .. what .. "; it must be a regular file", out)
      assert.matches("exit=0", out)
      out = new_in_child({ HOME = home, AWS_CONTAINER_CREDENTIALS_FULL_URI = H.credsrv .. "/container/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = path, AWS_EC2_METADATA_DISABLED = "true" }, true)
      assert.matches("CredentialsError: container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " .. path:gsub("%p", "%%%0")
        .. " is " .. what .. "; it must be a regular file", out)
      assert.matches("exit=0", out)
    end
    assert.are.same({}, H.creds_stats()) -- nothing was asked with a token read from there
  end)

  it("files over their cap (1 MiB for config files, 64 KiB for tokens) are refused, not read whole", function()
    file(".aws/config", "[default]\nregion = us-east-1\n# " .. string.rep("x", 1024 * 1024) .. "\n")
    local c, err = whatsapp.new({ endpoint = H.http }, { getenv = H.env { HOME = home } })
    assert.is_nil(c)
    assert.are.equal("CredentialsError", err.code)
    assert.matches("the config file .*/%.aws/config is larger than 1 MiB; it must be a regular file of at most 1 MiB$",
      err.message)
    H.run("rm '" .. home .. "/.aws/config'")
    file("token", string.rep("t", 64 * 1024 + 1))
    local id
    id, err = client(env { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token", AWS_ROLE_ARN = "arn:aws:iam::1:role/w" })
      :send(TEXT)
    assert.is_nil(id)
    assert.matches("is larger than 64 KiB; it must be a regular file of at most 64 KiB$", err.message)
    assert.is_nil(err.message:find("tttt", 1, true)) -- never the content
  end)

  it("a directory, or a FIFO as ca_file, is refused with the rule", function()
    H.run("mkdir -p '" .. home .. "/dir'")
    local c, err = whatsapp.new({ region = "us-east-1" }, { getenv = H.env { HOME = home,
      AWS_CONFIG_FILE = home .. "/dir" } })
    assert.is_nil(c)
    assert.matches("the config file .*/dir is a directory; it must be a regular file", err.message)
    local fifo = mkfifo("ca-fifo")
    local out, took = child("local c, err = whatsapp.new { region = 'us-east-1', ca_file = "
      .. string.format("%q", fifo) .. " }\nprint(err and (err.code .. ': ' .. err.message) or 'no error')\n")
    assert.matches("ParamValidationError: ca_file: .*ca%-fifo is a FIFO %(named pipe%); it must be a regular file", out)
    assert.is_true(took < 5)
  end)

  it("a missing file is still an empty one", function()
    local sections = assert(shared.read(home .. "/nope", "config"))
    assert.are.same({}, sections.profiles)
  end)
end)

describe("the INI parser is linear", function()
  it("in continuation lines: a 1 MiB config file of them, and 2 MiB of them, each parse in under 3 s", function()
    -- (in a child under timeout 10: the quadratic parser this replaced took
    -- 2 s and 9 s here on Lua 5.4, and minutes on LuaJIT)
    local dir = H.home()
    local lines = { "[default]", "key = start" }
    for _ = 1, 1024 * 1024 / 4 - 10 do lines[#lines + 1] = "  x" end
    H.write(dir .. "/config", table.concat(lines, "\n"))
    H.write(dir .. "/ini.lua", table.concat({
      'package.path = "lua/?.lua;" .. package.path',
      'package.cpath = "' .. (os.getenv("WA_BUILD") or "build") .. "/" .. H.runtime .. '/?.so;" .. package.cpath',
      'local ini, shared = require "whatsapp.credentials.ini", require "whatsapp.credentials.files"',
      "local t0 = os.clock()",
      'local data = assert(shared.read("' .. dir .. '/config", "config"))',
      'print(string.format("file: %.3f s, %d lines", os.clock() - t0,',
      '  select(2, data.profiles.default.key:gsub("\\n", "")) + 1))',
      'local lines = { "[default]", "key = start" }',
      'for _ = 1, 2 * 1024 * 1024 / 4 do lines[#lines + 1] = "  x" end',
      'local text = table.concat(lines, "\\n")',
      "t0 = os.clock()",
      "local sections = assert(ini.parse(text))",
      'print(string.format("text: %.3f s, %d bytes", os.clock() - t0, #sections[1].props.key))',
    }, "\n"))
    local out = H.run("timeout -k 1 10 " .. H.runtime .. " " .. dir .. "/ini.lua")
    H.rmrf(dir)
    assert.matches("exit=0", out)
    assert.matches("file: [%d.]+ s, " .. (#lines - 1) .. " lines", out)
    assert.matches("text: [%d.]+ s, " .. string.format("%d", 5 + 2 * (2 * 1024 * 1024 / 4)) .. " bytes", out)
    for _, what in ipairs { "file", "text" } do
      local took = tonumber(out:match(what .. ": ([%d.]+) s"))
      assert.is_true(took < 3, out)
    end
  end)

  it("in long runs of spaces in names, values and headers (in a child, under timeout 10)", function()
    -- 64 Ki spaces: the backtracking patterns this replaced took about 40 s
    -- each on the first two, and far longer on the last (cubic)
    local dir = H.home()
    local script = dir .. "/ini.lua"
    H.write(script, table.concat({
      'package.path = "lua/?.lua;" .. package.path',
      'local ini = require "whatsapp.credentials.ini"',
      'local run = string.rep(" ", 64 * 1024)',
      "for i, text in ipairs {",
      '  "[default]\\nk" .. run .. "x\\n",',
      '  "[default]\\nk = a" .. run .. "b" .. run .. "\\n",',
      '  "[default" .. run .. "]\\nk" .. run .. "= v\\n",',
      '  "[default]\\ns3 =\\n" .. run .. "sub" .. run .. "x\\n",',
      "} do",
      "  local t0 = os.clock()",
      "  ini.parse(text)",
      '  print(string.format("case %d: %.3f s", i, os.clock() - t0))',
      "end",
    }, "\n"))
    local out = H.run("timeout -k 1 10 " .. H.runtime .. " " .. script)
    H.rmrf(dir)
    assert.matches("exit=0", out)
    for i = 1, 4 do
      local took = tonumber(out:match("case " .. i .. ": ([%d.]+) s"))
      assert.is_true(took < 3, out)
    end
  end)

  it("still parses as before", function()
    local sections = assert(ini.parse("\239\187\191[default] # c\r\nk = v ; c\r\n  more\n\n  last\n"
      .. "s3 =\n  a = 1\n[profile x]\nbad name = 1\n  skipped\nk=2\n"))
    assert.are.same({ k = "v\nmore\nlast", s3 = { a = "1" } }, sections[1].props)
    assert.are.same({ k = "2" }, sections[2].props)
  end)
end)

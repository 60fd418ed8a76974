-- The cosocket transport inside a real nginx against hostile answers from a
-- local server this spec starts (spec/support/hostile.py): answers without
-- an end, in the head or the body, are cut at the caps (64 KiB of head, the
-- transport's max of body) with a ResponseError and the worker unharmed; a
-- dripping answer keeps to the send's timeout; 100 Continue and 103 Early
-- Hints are read past; credential endpoints in schemes but http and https
-- are refused before anything is sent.
local H = require "spec.support.helper"
local N = require "spec.support.nginx_lua"
local core = require "whatsapp.core"

local MiB = 1024 * 1024

describe("OpenResty transport against hostile answers", function()
  local dir, hostile, hostile_pid, nginx, probe, control, pid

  local function hostile_control(path)
    local status, body = control:request(path == "/_hostile/reset" and "POST" or "GET", hostile .. path)
    assert(status == 200, "hostile control " .. path .. ": " .. tostring(status) .. " " .. tostring(body))
    return core.decode(body)
  end

  -- GET a location of the nginx; the decoded JSON answer
  local function get(path)
    local status, body = probe:request("GET", nginx.url .. path)
    assert.are.equal(200, status, body)
    return core.decode(body)
  end

  -- the hostile server's record of its endless or dripping answer to path
  local function stream_of(path)
    for _ = 1, 50 do
      for _, s in ipairs(hostile_control("/_hostile/log").streams) do
        if s.path == path then return s end
      end
      os.execute("sleep 0.1")
    end
    error("no stream was recorded for " .. path)
  end

  local function escape(s)
    return (s:gsub("[^%w%-._~]", function(c) return string.format("%%%02X", c:byte()) end))
  end

  setup(function()
    dir = H.run("mktemp -d /tmp/whatsapp-hostile.XXXXXX"):match("^(%S+)")
    os.execute("/usr/bin/python3 spec/support/hostile.py --ready-file " .. dir .. "/ready.json --lifetime 900 2>"
      .. dir .. "/hostile.log &")
    local ready
    for _ = 1, 100 do
      local f = io.open(dir .. "/ready.json")
      if f then
        ready = core.decode(f:read("*a"))
        f:close()
        break
      end
      os.execute("sleep 0.05")
    end
    assert(ready, "the hostile server did not start")
    hostile, hostile_pid = "http://127.0.0.1:" .. math.floor(ready.port), math.floor(ready.pid)
    control = core.new_client { connect_timeout_ms = 2000, timeout_ms = 10000 }
    nginx = N.start {
      env = {
        AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
        AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
        WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
        WA_HOSTILE = hostile,
      },
      server = [[
        location = /__ready { return 200 "ready"; }
        location /h/ { content_by_lua_block { require("nginx_hostile")[ngx.var.uri:sub(4)]() } }
      ]],
    }
    probe = core.new_client { connect_timeout_ms = 2000, timeout_ms = 60000 }
    pid = get("/h/pid").pid
  end)

  teardown(function()
    if probe then probe:close() end
    if control then control:close() end
    N.stop(nginx)
    if hostile_pid then os.execute("kill " .. hostile_pid .. " 2>/dev/null") end
    H.rmrf(dir)
  end)

  before_each(function() hostile_control("/_hostile/reset") end)

  -- the worker that answered is the one that started: it did not crash
  local function same_worker(r)
    assert.are.equal(pid, r.pid, "the nginx worker was replaced (it crashed)")
    assert.are.equal(pid, get("/h/pid").pid)
  end

  it("cuts an answer that does not end at the caps: a ResponseError in bounded time, the worker unharmed", function()
    for _, case in ipairs {
      { mode = "endless-body", words = "the answer is larger than 4194304 bytes" },
      { mode = "endless-header", words = "the answer's head is larger than 65536 bytes" },
      { mode = "endless-chunked", words = "the answer is larger than 4194304 bytes" },
      { mode = "endless-chunk-line", words = "a chunk%-size line of the answer is larger than 4096 bytes" },
      { mode = "endless-trailer", words = "the answer's trailer fields are larger than 65536 bytes" },
    } do
      local r = get("/h/send?timeout=20&mode=" .. case.mode)
      assert.are.equal("ResponseError", r.code, case.mode .. ": " .. tostring(r.message))
      assert.matches(case.words, r.message)
      assert.is_true(r.elapsed < 5, case.mode .. " took " .. r.elapsed .. " s")
      same_worker(r)
      -- the transport hung up at the cap, before the server's 64 MiB were out (what
      -- it got out past the cap sits in socket buffers: up to tcp_rmem's and
      -- tcp_wmem's maxima, 32 and 4 MiB on Debian 12)
      local s = stream_of("/" .. case.mode .. "/v1/whatsapp/send")
      assert.are.equal("peer", s.ended, case.mode)
      assert.is_true(s.sent < 48 * MiB, case.mode .. ": the server got " .. s.sent .. " bytes out")
      assert.is_true(r.hwm_growth_kb < 64 * 1024, case.mode .. ": the worker's peak grew by "
        .. r.hwm_growth_kb .. " KiB")
    end
    -- and the worker goes on: a following send works
    local r = get("/h/send?mode=interim")
    assert.are.equal("id-hostile-interim", r.id, r.message)
    same_worker(r)
  end)

  it("cuts an unbounded answer of the instance metadata service", function()
    local r = get("/h/creds?source=imds&url=" .. escape(hostile .. "/endless-body"))
    assert.are.equal("CredentialsError", r.code, r.message)
    assert.matches("larger than 1048576 bytes", r.message)
    assert.is_true(r.elapsed < 5, "took " .. r.elapsed .. " s")
    same_worker(r)
    local s = stream_of("/endless-body/latest/api/token")
    assert.are.equal("peer", s.ended)
    assert.is_true(s.sent < 48 * MiB, "the server got " .. s.sent .. " bytes out")
  end)

  it("keeps to the send's timeout when the answer drips", function()
    for _, mode in ipairs { "drip", "drip-body", "drip-chunked" } do
      local r = get("/h/send?timeout=2&mode=" .. mode)
      assert.are.equal("TimeoutError", r.code, mode .. ": " .. tostring(r.message))
      assert.is_true(r.elapsed < 5, mode .. ": a 2 s timeout took " .. r.elapsed .. " s")
      assert.is_true(r.elapsed > 1.5, mode .. ": gave up after " .. r.elapsed .. " s")
      same_worker(r)
    end
  end)

  it("reads past 100 Continue and 103 Early Hints: 16 sends in a batch each get their own messageId", function()
    local r = get("/h/batch?n=16&concurrency=4")
    assert.is_nil(r.err, r.err)
    assert.are.equal(0, r.failed, core.encode(r.results))
    for i = 1, 16 do assert.are.equal("id-batch-" .. i, r.results[i]) end
    local log = hostile_control("/_hostile/log")
    assert.are.equal(16, #log.requests)
    -- connections went back to the pool after each 1xx-then-200 exchange
    assert.is_true(log.connections <= 4, log.connections .. " connections for 16 sends, 4 at a time")
  end)

  it("reads past interim answers one send after another on one kept-alive connection", function()
    local r = get("/h/sequence?n=6")
    assert.are.same({ "id-seq-1", "id-seq-2", "id-seq-3", "id-seq-4", "id-seq-5", "id-seq-6" }, r.results)
    -- one connection (pooled by an earlier test, or new), reused by each next send
    assert.is_true(r.stats.connections <= 1, r.stats.connections .. " connections")
    assert.are.equal(6, r.stats.connections + r.stats.reused)
    assert.is_true(hostile_control("/_hostile/log").connections <= 1)
  end)

  it("refuses endpoints in schemes but http and https, as libcurl does, sending nothing", function()
    local port = hostile:match(":(%d+)$")
    local libcurl = require("whatsapp.transport.http").new {}
    for _, scheme in ipairs { "gopher", "ftp", "dict", "svn+ssh" } do
      local url = scheme .. "://127.0.0.1:" .. port .. "/latest/api/token"
      for _, via in ipairs { "http", "transport" } do
        local r = get("/h/http?via=" .. via .. "&url=" .. escape(url))
        assert.are.equal(core.null, r.status, url .. " was answered")
        assert.are.equal("transport", r.kind, url)
        assert.matches('Protocol "' .. scheme:gsub("%+", "%%+") .. '" not supported', r.message)
      end
      -- the libcurl path's kind and words, outside nginx
      local status, kind, message = libcurl("GET", url, nil, nil, 1)
      if scheme ~= "svn+ssh" then -- (libcurl reads that one as no URL at all)
        assert.is_nil(status)
        assert.are.equal("transport", kind)
        assert.matches('Protocol "' .. scheme .. '" not supported', message)
      end
    end
    -- the credential sources inside nginx: a CredentialsError naming the scheme
    local r = get("/h/creds?source=imds&url=" .. escape("gopher://127.0.0.1:" .. port))
    assert.are.equal("CredentialsError", r.code, r.message)
    assert.matches('Protocol "gopher" not supported', r.message)
    for _, scheme in ipairs { "gopher", "ftp" } do
      r = get("/h/creds?source=container&url=" .. escape(scheme .. "://127.0.0.1:" .. port .. "/creds"))
      assert.are.equal("CredentialsError", r.code, r.message)
      assert.matches("http or https", r.message)
    end
    assert.are.equal(0, hostile_control("/_hostile/log").connections, "something was sent to the port")
  end)

  it("logs no error of its own", function()
    for line in N.log(nginx):gmatch("[^\n]+") do
      assert.is_nil(line:find("%[alert%]") or line:find("%[crit%]") or line:find("%[emerg%]"), line)
      assert.is_nil(line:find("signal %d+"), line)
    end
  end)
end)

-- The head parser the transport uses, outside nginx (so the sanitizer and
-- valgrind runs of the suite cover it too).
describe("core.parse_head", function()
  local parse = core.parse_head

  it("reads a whole head: status, lower-cased fields, the length it took, the minor version", function()
    local head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  a \r\nx-a: b\r\nFold: one \r\n   two\r\n\t three\r\n"
      .. "Empty:\r\nLater:\r\n  folded in\r\n\r\n"
    local status, headers, used, minor = parse(head .. "hello")
    assert.are.equal(200, status)
    assert.are.equal(#head, used)
    assert.are.equal(1, minor)
    assert.are.same({ ["content-length"] = "5", ["x-a"] = "a, b", fold = "one      two    three", empty = "",
      later = "folded in" }, headers)
    status, headers, used, minor = parse("HTTP/1.0 103\n\n")
    assert.are.same({ 103, {}, 14, 0 }, { status, headers, used, minor })
  end)

  it("asks for more until the blank line, and refuses what is not an answer at once", function()
    for _, partial in ipairs { "", "H", "HTTP/", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK\r\nA: b\r\n",
      "HTTP/1.1 200 OK\r\n\r" } do
      assert.are.equal(false, parse(partial), partial)
    end
    for bytes, why in pairs {
      ["220 smtp"] = "status", ["HTTP/2 200\r\n\r\n"] = "status", ["HTTP/1.1 20 OK\r\n\r\n"] = "status",
      ["HTTP/1.1 200OK\r\n"] = "status", ["HTTP/1.1 099 x\r\n\r\n"] = "status",
      ["HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"] = "header", ["HTTP/1.1 200 OK\r\n fold\r\n\r\n"] = "header",
      ["HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"] = "header", ["HTTP/1.1 200 OK\r\nA: b\0\r\n\r\n"] = "header",
      ["HTTP/1.1 200 OK\r\nnocolon\r\n"] = "header", ["HTTP/1.1 200 OK\r\n: x\r\n"] = "header",
    } do
      local status, err = parse(bytes)
      assert.is_nil(status, bytes)
      assert.are.equal("malformed " .. why .. " line", err)
    end
  end)

  it("joins thousands of repeated fields in order", function()
    local lines = { "HTTP/1.1 200 OK" }
    for i = 1, 8000 do lines[#lines + 1] = (i % 2 == 0 and "A" or "a") .. ": " .. i end
    lines[#lines + 1] = "B: last\r\n\r\n"
    local status, headers = parse(table.concat(lines, "\r\n"))
    assert.are.equal(200, status)
    local want = {}
    for i = 1, 8000 do want[i] = tostring(i) end
    assert.are.equal(table.concat(want, ", "), headers.a)
    assert.are.equal("last", headers.b)
  end)
end)

-- A client used on both sides of fork() (a prefork server, a job runner, a
-- client made in nginx's init_by_lua and used in its workers): each process
-- must talk over connections of its own. Sharing the parent's pooled
-- connection (and its TLS state), the two processes read each other's
-- answers: messageIds went to the wrong message and messages were sent
-- twice (issue 19, item 5). fork() comes from a small C module built here
-- for the runtime under test (spec/support/fork.c).
local H = require "spec.support.helper"

local function build_fork_module()
  local dir = H.run("mktemp -d /tmp/whatsapp-fork.XXXXXX"):match("^(%S+)")
  local inc = H.runtime == "luajit" and "/usr/include/luajit-2.1" or "/usr/include/lua5.4"
  local out = H.run(string.format("env -u LD_PRELOAD cc -std=c99 -D_POSIX_C_SOURCE=200809L -shared -fPIC -Wall "
    .. "-Werror -I%s -o %s/wafork.so spec/support/fork.c", inc, dir))
  assert(out:match("exit=0\n$"), out)
  return dir, package.loadlib(dir .. "/wafork.so", "luaopen_wafork")()
end

local function text(body) return { to = "+14255550123", type = "text", text = { body = body } } end

describe("a client used on both sides of fork()", function()
  local dir, fork

  setup(function()
    H.require_standin()
    dir, fork = build_fork_module()
  end)

  teardown(function() H.rmrf(dir) end)

  -- Sends n single messages and a batch of m, all with bodies "<tag>-<i>";
  -- returns {body = messageId | "error: ..."}.
  local function sends(client, tag, n, m)
    local got = {}
    for i = 1, n do
      local body = tag .. "-" .. i
      local id, err = client:send(text(body))
      got[body] = id or ("error: " .. tostring(err))
    end
    local batch = {}
    for i = 1, m do batch[i] = text(tag .. "-b" .. i) end
    local results = client:send_batch(batch, { concurrency = 4 })
    for i = 1, m do got[tag .. "-b" .. i] = results[i].message_id or ("error: " .. tostring(results[i].err)) end
    return got
  end

  local function check(endpoint)
    H.reset()
    local client = H.client { endpoint = endpoint, max_attempts = 1 }
    -- before the fork: a pooled connection, and a batch's pool kept for the next batch
    assert(client:send(text("warm")))
    assert.are.equal(0, select(2, client:send_batch({ text("warm-b1"), text("warm-b2") }, { concurrency = 2 })))
    local file = dir .. "/child-" .. tostring(endpoint:match("^%a+"))
    local pid = fork.fork()
    if pid == 0 then -- the child: never returns into busted
      local ok = pcall(function()
        local got = sends(client, "child", 300, 60)
        client:close() -- closing in the child must not end the parent's connection either
        local f = assert(io.open(file, "wb"))
        for body, id in pairs(got) do f:write(body, "\t", id, "\n") end
        f:close()
      end)
      fork.exit(ok and 0 or 1)
    end
    local got = sends(client, "parent", 300, 60)
    assert.are.equal(0, fork.wait(pid))
    for line in io.lines(file) do
      local body, id = line:match("^([^\t]+)\t(.*)$")
      got[body] = id
    end
    os.remove(file)
    -- every messageId is that of its own message, and every message arrived once
    local by_id, seen = {}, {}
    for _, rec in ipairs(H.messages()) do
      local body = rec.message.text.body
      by_id[rec.message_id] = body
      seen[body] = (seen[body] or 0) + 1
    end
    local n = 0
    for body, id in pairs(got) do
      n = n + 1
      assert.are.equal(body, by_id[id], body .. " got " .. id)
      assert.are.equal(1, seen[body], body .. " arrived " .. tostring(seen[body]) .. " times")
    end
    assert.are.equal(720, n)
    -- the parent still works on its connections after the child closed its copy
    assert.is_string((client:send(text("after"))))
    client:close()
  end

  it("over HTTP: each process has its own connections, every messageId is its message's", function()
    check(H.http)
  end)

  it("over HTTPS: the same, with the TLS state never shared", function()
    check(H.https)
  end)

  it("in the middle of a batch: the process that goes on hears of every send in flight, none is another's", function()
    H.reset()
    local client = H.client { endpoint = H.http, max_attempts = 1 }
    local batch = {}
    for i = 1, 40 do batch[i] = text("mid-" .. i) end
    local pid = fork.fork()
    if pid == 0 then -- a child runs the batch and forks again when 10 are done
      local ok = pcall(function()
        local inner
        local results = client:send_batch(batch, { concurrency = 8, progress = function(done)
          if done == 10 and inner == nil then
            inner = fork.fork()
            if inner == 0 then fork.alarm(20) end -- a batch that never ends fails, it does not hang
          end
        end })
        local f = assert(io.open(dir .. "/mid-" .. (inner == 0 and "grandchild" or "child"), "wb"))
        for i, r in ipairs(results) do
          f:write(i, "\t", r.message_id or ("error: " .. tostring(r.err and r.err.message)), "\n")
        end
        f:close()
        if inner ~= 0 and fork.wait(inner) ~= 0 then error("the grandchild failed") end
      end)
      fork.exit(ok and 0 or 1)
    end
    assert.are.equal(0, fork.wait(pid))
    local by_id = {}
    for _, rec in ipairs(H.messages()) do by_id[rec.message_id] = rec.message.text.body end
    for _, who in ipairs { "child", "grandchild" } do
      local n, lost = 0, 0
      for line in io.lines(dir .. "/mid-" .. who) do
        local i, id = line:match("^(%d+)\t(.*)$")
        n = n + 1
        if id:find("^error: ") then
          assert.matches("forked", id, 1, false, who .. " mid-" .. i)
          lost = lost + 1
        else
          assert.are.equal("mid-" .. i, by_id[id], who .. ": mid-" .. i .. " got " .. id)
        end
      end
      assert.are.equal(40, n, who)
      if who == "child" then assert.are.equal(0, lost) end
    end
    client:close()
  end)
end)

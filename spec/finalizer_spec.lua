-- A finalizer may run during any allocation the C core makes, and may close
-- the very client that is in the middle of a call. That must neither crash
-- nor free what the call still uses, nor leak what it no longer uses (proven
-- under ASan by `make check`, whose sanitizer runtime the child process
-- inherits, and under valgrind by `make valgrind`; here it must at least
-- survive, leave the client closed and no connection open).
local H = require "spec.support.helper"

-- Runs spec/support/<script> <mode> in a process of its own, with this
-- checkout's modules and build; returns its output and "exit=<status>".
local function child(script, mode)
  H.require_standin()
  -- WA_CHILD_WRAP: a command prefix for the child (`make valgrind` runs it under memcheck)
  local runtime = (os.getenv("WA_CHILD_WRAP") or "") .. " " .. H.runtime
  return H.run(string.format("%s -e %q spec/support/%s %s", runtime,
    "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path; package.cpath = " ..
    string.format("%q", package.cpath), script, mode))
end

describe("a finalizer closing a client mid-call", function()
  local function hammer(mode)
    local out = child("finalizer_hammer.lua", mode)
    assert.matches("exit=0\n$", out)
    -- every call either returned or was refused cleanly, and the hammer hit
    -- calls in flight (a close that only ever came between calls proves nothing)
    for line in out:gmatch("[^\n]+") do
      if line ~= "exit=0" then assert.matches("^[%a_]+ %d+$", line) end
    end
    -- a client closed mid-call is still released: its handle and connection
    -- went (it used to keep both when the close came during the call)
    assert.are.equal("0", out:match("leaked_fds (%-?%d+)"))
    local inside = tonumber(out:match("closed_inside (%d+)"))
    assert.is_true(inside and inside >= 10, "too few closes came mid-call: " .. tostring(inside))
  end

  it("during send", function() hammer("send") end)
  it("during send with arguments that need converting", function() hammer("convert") end)
  it("during prepare", function() hammer("prepare") end)
  it("during request", function() hammer("request") end)
  it("during a batch (the client closed)", function() hammer("batch") end)
  it("during a batch (the batch closed)", function() hammer("batch_close") end)
end)

-- LuaJIT (and Lua 5.1-5.3) pass a finalizer's error on to the allocation
-- that ran the collector, also one the C core makes in the middle of a
-- call: the client (or batch) must not be left "busy" for the rest of the
-- process (issue 19, item 12). Lua 5.4 makes such errors warnings: there
-- the calls simply never raise.
describe("a finalizer raising inside a call of the core", function()
  local function survive(mode)
    local out = child("finalizer_raise.lua", mode)
    assert.matches("after returned\nexit=0\n$", out)
    local raised = tonumber(out:match("raised (%d+)"))
    if H.runtime == "luajit" then assert.is_true(raised > 10, out) else assert.are.equal(0, raised) end
  end

  it("leaves the client usable after send", function() survive("send") end)
  it("leaves the client usable after prepare", function() survive("prepare") end)
  it("leaves the client usable after request", function() survive("request") end)
  it("leaves the batch usable after add and result", function() survive("batch") end)
end)

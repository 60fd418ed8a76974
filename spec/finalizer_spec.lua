-- A finalizer may run during any allocation the C core makes, and may close
-- the very client that is in the middle of a call. That must neither crash
-- nor free what the call still uses (proven under ASan by `make check`,
-- whose sanitizer runtime the child process inherits; here it must at least
-- survive and leave the client closed).
local H = require "spec.support.helper"

describe("a finalizer closing a client mid-call", function()
  local function hammer(mode)
    H.require_standin()
    local out = H.run(string.format("%s -e %q spec/support/finalizer_hammer.lua %s", H.runtime,
      "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path; package.cpath = " ..
      string.format("%q", package.cpath), mode))
    assert.matches("exit=0\n$", out)
    -- every call either returned or was refused cleanly, and the hammer hit
    -- calls in flight (a close that only ever came between calls proves nothing)
    for line in out:gmatch("[^\n]+") do
      if line ~= "exit=0" then assert.matches("^[%a_]+ %d+$", line) end
    end
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

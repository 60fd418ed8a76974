-- A finalizer may run during any allocation the C core makes, and may close
-- the very client that is in the middle of a call. That must neither crash
-- nor free what the call still uses (proven under ASan by the sanitizer run;
-- here it must at least survive and leave the client closed).
local H = require "spec.support.helper"
local core = require "whatsapp.core"

local newproxy = newproxy -- luacheck: ignore 113 (LuaJIT / 5.1 only)

local function finalizable(f)
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = f
    return p
  end
  return setmetatable({}, { __gc = f })
end

describe("a finalizer closing a client mid-call", function()
  local c, armed, countdown
  local chaining = false
  local function chain(self_fn)
    -- keep one finalizer pending every cycle, until hammer() ends: a chain
    -- left running would make every later full collection spin
    if not chaining then return end
    local _ = finalizable(function() self_fn(self_fn) end)
    if armed then
      countdown = countdown - 1
      if countdown <= 0 then
        armed = false
        c:close()
      end
    end
  end

  local function hammer(call)
    H.require_standin()
    local cfg = {
      url = H.http .. "/v1/whatsapp/send", path = "/v1/whatsapp/send", host = H.http:match("//(.*)"),
      region = "us-east-1", service = "social-messaging", connect_timeout_ms = 2000, timeout_ms = 5000,
      max_message_bytes = 2048000,
    }
    if jit then
      collectgarbage("setpause", 1)
      collectgarbage("setstepmul", 100000)
    else
      collectgarbage("incremental", 1, 1000, 1)
    end
    chaining = true
    chain(chain)
    local outcomes = {}
    for i = 1, 300 do
      c = core.new_client(cfg)
      armed, countdown = true, i % 12 + 1
      local ok, err = pcall(call, c)
      armed = false
      local key = ok and "returned" or tostring(err):match("closed") or tostring(err):match("busy") or tostring(err)
      outcomes[key] = (outcomes[key] or 0) + 1
      c:close()
      assert.has_error(function() c:request("GET", H.http .. "/_standin/stats") end, "whatsapp client is closed")
    end
    if jit then
      collectgarbage("setpause", 200)
      collectgarbage("setstepmul", 200)
    else
      collectgarbage("incremental", 200, 100, 0)
    end
    armed, chaining = false, false
    collectgarbage()
    collectgarbage()
    for key in pairs(outcomes) do
      assert.is_truthy(key == "returned" or key == "closed" or key == "busy", key)
    end
  end

  local msg = { to = "+14255550123", type = "text", text = { body = "gc" } }
  local akid, secret = H.creds.static.access_key_id, H.creds.static.secret_access_key

  it("during send", function()
    hammer(function(cl) return cl:send(msg, "whatsapp", H.PHONE, "v20.0", akid, secret) end)
  end)

  it("during send with arguments that need converting", function()
    hammer(function(cl) return cl:send(msg, "whatsapp", 123456789, 20.5, akid, secret) end)
  end)

  it("during request", function()
    hammer(function(cl) return cl:request("GET", H.http .. "/_standin/stats", { ["X-A"] = "1" }) end)
  end)
end)

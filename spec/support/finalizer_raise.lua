-- Run by spec/finalizer_spec.lua in a process of its own: finalizers that
-- raise. LuaJIT (and Lua 5.1-5.3) pass a finalizer's error on to whatever
-- allocation ran the collector, so a call of the C core may raise midway,
-- from inside one of its own allocations (Lua 5.4 turns such errors into
-- warnings). The client, and a batch, must not stay "busy" after that: the
-- next call works.
-- Usage: <runtime> finalizer_raise.lua send|prepare|request|batch
-- Prints "raised N" (calls a finalizer's error ended) and "after <outcome>"
-- (what a call with the finalizers disarmed gives), and exits 0.
local core = require "whatsapp.core"

local http = assert(os.getenv("WA_STANDIN_HTTP"), "WA_STANDIN_HTTP is not set")
local mode = arg[1]
if rawget(_G, "jit") then jit.off() end -- finalizers do not run on a trace: keep the odds the same

local newproxy = rawget(_G, "newproxy") -- LuaJIT / 5.1 only
local armed = true
local function boom() if armed then error("boom from a finalizer", 0) end end
local function bomb()
  if newproxy then
    getmetatable(newproxy(true)).__gc = boom
  else
    setmetatable({}, { __gc = boom })
  end
end

local JSON = '{"to":"+14255550123","type":"text","text":{"body":"gc"}}'
local creds = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" }
local phone = "phone-number-id-0123456789abcdef"
local c = core.new_client { url = http .. "/v1/whatsapp/send", path = "/v1/whatsapp/send", host = "127.0.0.1",
  region = "us-east-1", service = "social-messaging", max_message_bytes = 2048000, product = "whatsapp",
  connect_timeout_ms = 5000, timeout_ms = 10000 }
local b = c:batch(1)

local calls = {
  send = function() return c:send(JSON, phone, "v20.0", creds) end,
  prepare = function() return c:prepare(JSON, phone, "v20.0", creds) end,
  request = function() return c:request("GET", http .. "/_standin/stats") end,
  batch = function()
    if not b:result() then -- nothing pending from a call a finalizer ended
      local running = b:stats().running
      if running == 0 then assert(b:add(c, 1, JSON, phone, "v20.0", creds)) end
      b:poll(5000)
      return b:result()
    end
    return true
  end,
}
local call = assert(calls[mode], "unknown mode")

-- The loop runs under pcall as a whole (a closure made per call would
-- allocate outside it, where a raise would end this script).
local i, raised, N = 0, 0, 400
local function loop()
  while i < N do
    i = i + 1
    bomb()
    bomb()
    call()
  end
end
while i < N do
  if not pcall(loop) then raised = raised + 1 end
end
armed = false
collectgarbage()
collectgarbage()
local ok, first, second = pcall(call)
io.stdout:write("raised ", raised, "\n")
if not ok then
  io.stdout:write("after raised: ", tostring(first), "\n")
elseif first == nil then
  io.stdout:write("after failed: ", tostring(second), "\n")
else
  io.stdout:write("after returned\n")
end
b:close()
c:close()

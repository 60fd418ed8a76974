-- Run by spec/finalizer_spec.lua in a process of its own: with the
-- collector forced to run at every allocation, a small heap keeps that fast
-- (inside busted, with every spec loaded, it would crawl under ASan).
-- Usage: <runtime> finalizer_hammer.lua send|convert|prepare|request|batch|batch_close
-- (batch: a batch's add, poll and result while the client is closed;
-- batch_close: the same while the batch itself is closed)
-- Prints one line per outcome kind, "returned N" / "closed N" / "busy N",
-- then "closed_inside N" (closes that came while the call was running) and
-- "leaked_fds N" (sockets left open once every client was closed), and
-- exits non-zero on any other outcome.
local core = require "whatsapp.core"

local http = assert(os.getenv("WA_STANDIN_HTTP"), "WA_STANDIN_HTTP is not set")
local mode = arg[1]

local newproxy = newproxy -- luacheck: ignore 113 (LuaJIT / 5.1 only)

local function finalizable(f)
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = f
    return p
  end
  return setmetatable({}, { __gc = f })
end

local c, b, armed, countdown
local inside, closed_inside = false, 0
local function chain(self_fn)
  -- keep one finalizer pending every cycle; the countdown decides in which
  -- collection (so at which allocation of the call) the client is closed
  local _ = finalizable(function() self_fn(self_fn) end)
  if armed then
    countdown = countdown - 1
    if countdown <= 0 then
      armed = false
      if inside then closed_inside = closed_inside + 1 end
      if mode == "batch_close" then
        if b then b:close() end
      else
        c:close()
      end
    end
  end
end

local msg = { to = "+14255550123", type = "text", text = { body = "gc" } }
local creds = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" }
local phone = "phone-number-id-0123456789abcdef"
local calls = {
  send = function(cl) return cl:send(msg, phone, "v20.0", creds) end,
  convert = function(cl) return cl:send(msg, 123456789, 20.5, creds) end,
  prepare = function(cl) return cl:prepare(msg, phone, "v20.0", creds) end,
  request = function(cl) return cl:request("GET", http .. "/_standin/stats", { ["X-A"] = "1" }) end,
  batch = function(cl)
    b = cl:batch(2)
    assert(b:add(cl, 1, msg, phone, "v20.0", creds))
    assert(b:add(cl, 2, '{"to":"+14255550123","type":"text","text":{"body":"gc"}}', phone, "v20.0",
      creds, 0, 5000))
    local got = 0
    while got < 2 do
      b:poll(2000)
      while b:result() do got = got + 1 end
    end
    return got
  end,
}
calls.batch_close = calls.batch
local call = assert(calls[mode], "mode must be send, convert, prepare, request, batch or batch_close")

local cfg = {
  url = http .. "/v1/whatsapp/send", path = "/v1/whatsapp/send", host = http:match("//(.*)"),
  region = "us-east-1", service = "social-messaging", connect_timeout_ms = 2000, timeout_ms = 5000,
  max_message_bytes = 2048000, product = "whatsapp",
}
if jit then
  collectgarbage("setpause", 1)
  collectgarbage("setstepmul", 100000)
else
  collectgarbage("incremental", 1, 1000, 1)
end
-- Open sockets of this process (the shell's parent): a client that is not
-- released keeps its connection, so a leaked handle shows up here. (Sockets
-- only, and quietly: valgrind opens and closes files of its own meanwhile.)
local function open_fds()
  local p = assert(io.popen("ls -l /proc/$PPID/fd 2>/dev/null | grep -c 'socket:'"))
  local n = tonumber(p:read("*a"))
  p:close()
  return n
end

chain(chain)
local fds_before = open_fds()
local outcomes = {}
for i = 1, 300 do
  c = core.new_client(cfg)
  armed, countdown = true, i % 12 + 1
  inside = true
  local ok, err = pcall(call, c)
  inside, armed = false, false
  local key = ok and "returned" or tostring(err):match("closed") or tostring(err):match("busy") or tostring(err)
  if b then
    b:close()
    b = nil
  end
  outcomes[key] = (outcomes[key] or 0) + 1
  c:close()
  local closed_ok, closed_err = pcall(c.request, c, "GET", http .. "/_standin/stats")
  if closed_ok or not tostring(closed_err):find("whatsapp client is closed", 1, true) then
    io.stderr:write("a closed client still answered: ", tostring(closed_err), "\n")
    os.exit(1)
  end
end
collectgarbage()
collectgarbage()
print("closed_inside " .. closed_inside)
print("leaked_fds " .. (open_fds() - fds_before))
local bad = false
for key, n in pairs(outcomes) do
  print(key .. " " .. n)
  if key ~= "returned" and key ~= "closed" and key ~= "busy" then bad = true end
end
os.exit(bad and 1 or 0, true) -- close the state: valgrind then sees every leak

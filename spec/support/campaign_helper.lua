-- What the campaign specs share: running `whatsapp send-batch` as a user
-- does (a clean environment against the stand-in), in the foreground or in
-- the background (to kill or interrupt it), input files, the journal read
-- back, what the stand-in accepted per campaign line.
local H = require "spec.support.helper"
local core = require "whatsapp.core"

local C = {}

local BUILD = (os.getenv("WA_BUILD") or "build") .. "/" .. H.runtime

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
C.quote = quote

function C.env()
  return {
    AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
    AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
    AWS_REGION = "us-east-1",
    AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http,
    WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
  }
end

-- The command line of `whatsapp args...` in a clean environment.
function C.command(args, home, env)
  env = env or C.env()
  local vars = { "PATH=/usr/bin:/bin", "HOME=" .. quote(home), "AWS_EC2_METADATA_DISABLED=true",
    "LUA_PATH=" .. quote("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. quote(BUILD .. "/?.so;;") }
  for _, pass in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS" } do
    if os.getenv(pass) then vars[#vars + 1] = pass .. "=" .. quote(os.getenv(pass)) end
  end
  for k, v in pairs(env) do vars[#vars + 1] = k .. "=" .. quote(v) end
  local words = {}
  for i, a in ipairs(args) do words[i] = quote(a) end
  return "env -i " .. table.concat(vars, " ") .. " " .. H.runtime .. " bin/whatsapp " .. table.concat(words, " ")
end

function C.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

--- Runs the command; returns exit status, stdout, stderr.
function C.run(args, home, stdin, env)
  local dir = home .. "/run"
  os.execute("mkdir -p " .. quote(dir))
  H.write(dir .. "/in", stdin or "")
  local p = assert(io.popen(C.command(args, home, env) .. " <" .. quote(dir .. "/in") .. " >" .. quote(dir .. "/out")
    .. " 2>" .. quote(dir .. "/err") .. "; echo $?"))
  local status = tonumber(p:read("*a"):match("(%d+)"))
  p:close()
  return status, C.read(dir .. "/out"), C.read(dir .. "/err")
end

--- Starts the command in the background; returns a handle: pid, and
-- wait() -> exit status, stdout, stderr.
function C.start(args, home, tag)
  local dir = home .. "/bg-" .. tag
  os.execute("rm -rf " .. quote(dir) .. " && mkdir -p " .. quote(dir))
  -- sh execs env, which execs the runtime: $$ is the command's own pid
  os.execute("(sh -c 'echo $$ >" .. dir .. "/pid; exec " .. C.command(args, home):gsub("'", "'\\''")
    .. "' </dev/null >" .. quote(dir .. "/out") .. " 2>" .. quote(dir .. "/err") .. "; echo $? >"
    .. quote(dir .. "/status") .. ") &")
  local pid
  for _ = 1, 200 do
    pid = tonumber(C.read(dir .. "/pid") or "")
    if pid then break end
    core.sleep(0.01)
  end
  local h = { pid = assert(pid, "the command did not start") }
  function h.wait(limit)
    for _ = 1, (limit or 60) * 20 do
      local s = tonumber(C.read(dir .. "/status") or "")
      if s then return s, C.read(dir .. "/out"), C.read(dir .. "/err") end
      core.sleep(0.05)
    end
    error("the command did not end in time")
  end
  return h
end

--- A JSON lines campaign of n texts "campaign <tag> line <i>" to distinct numbers.
function C.jsonl(n, tag)
  local lines = {}
  for i = 1, n do
    lines[i] = string.format('{"to":"+1425%07d","type":"text","text":{"body":"campaign %s line %d"}}', i, tag, i)
  end
  return table.concat(lines, "\n") .. "\n"
end

--- line number -> how many times the stand-in accepted it (texts of C.jsonl).
function C.accepted(tag)
  local counts = {}
  for _, m in ipairs(H.messages()) do
    local body = m.message and m.message.text and m.message.text.body
    local line = body and body:match("^campaign " .. tag .. " line (%d+)$")
    if line then
      line = tonumber(line)
      counts[line] = (counts[line] or 0) + 1
    end
  end
  return counts
end

--- The journal's records, decoded.
function C.journal(path)
  local records = {}
  for line in (C.read(path) or ""):gmatch("([^\n]*)\n") do records[#records + 1] = assert(core.decode(line)) end
  return records
end

--- The results file (JSON lines) decoded.
function C.results(path)
  local rows = {}
  for line in assert(C.read(path)):gmatch("([^\n]*)\n") do rows[#rows + 1] = assert(core.decode(line)) end
  return rows
end

return C

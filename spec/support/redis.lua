-- Starts and stops a real redis-server (Debian) for a spec, on a free
-- loopback port, saving nothing to disk.
local H = require "spec.support.helper"

local R = {}

function R.start()
  local dir = H.run("mktemp -d /tmp/whatsapp-redis.XXXXXX"):match("^(%S+)")
  local port = tonumber(H.run("/usr/bin/python3 -c 'import socket; s=socket.socket(); "
    .. "s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'"):match("(%d+)"))
  os.execute("env -u LD_PRELOAD redis-server --port " .. port .. " --bind 127.0.0.1 --save '' --appendonly no"
    .. " --dir " .. dir .. " --pidfile " .. dir .. "/redis.pid --daemonize yes >/dev/null 2>&1")
  for _ = 1, 100 do
    if H.run("redis-cli -p " .. port .. " ping 2>/dev/null"):find("PONG") then
      return { port = port, dir = dir }
    end
    os.execute("sleep 0.05")
  end
  error("redis-server did not start on port " .. port)
end

--- Stops the server at once (as a crash or a network cut would look to a client).
function R.stop(r)
  if not r then return end
  local f = io.open(r.dir .. "/redis.pid")
  if f then
    local pid = f:read("*l")
    f:close()
    os.execute("kill -KILL " .. pid .. " 2>/dev/null")
  end
  os.execute("rm -rf " .. r.dir)
end

return R

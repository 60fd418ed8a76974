-- Starts and stops Debian's nginx with ngx_lua for the specs: one worker (or more) on
-- a free loopback port, this checkout's Lua files and LuaJIT build, and the
-- given server-level configuration. The test run owns its life: start() in
-- setup, stop() in teardown.
local H = require "spec.support.helper"

local N = {}

local function free_port()
  local out = H.run("/usr/bin/python3 -c 'import socket; s=socket.socket(); "
    .. "s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")
  return assert(tonumber(out:match("^(%d+)")), out)
end

--- opts.http: lines for the http block; opts.server: lines for the server
-- block; opts.env: {NAME = value} passed to nginx and named in `env`
-- directives (nginx clears its workers' environment); opts.workers: how
-- many worker processes (default 1). Returns {url=, dir=, log=}.
function N.start(opts)
  local root = assert(io.popen("pwd")):read("*l")
  local dir = assert(io.popen("mktemp -d /tmp/whatsapp-nginx.XXXXXX")):read("*l")
  local port = free_port()
  local env, assign = {}, {}
  for name, value in pairs(opts.env or {}) do
    env[#env + 1] = "env " .. name .. ";"
    assign[#assign + 1] = name .. "='" .. value .. "'"
  end
  local conf = table.concat({
    "load_module /usr/lib/nginx/modules/ndk_http_module.so;",
    "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;",
    H.run("id -u"):match("^0\n") and "user root;" or "",
    "worker_processes " .. (opts.workers or 1) .. ";",
    "daemon off;",
    "pid " .. dir .. "/nginx.pid;",
    "error_log " .. dir .. "/error.log info;",
    table.concat(env, "\n"),
    "events { worker_connections 512; }",
    "http {",
    "  access_log off;",
    "  client_body_temp_path " .. dir .. "/body; proxy_temp_path " .. dir .. "/proxy;",
    "  fastcgi_temp_path " .. dir .. "/fcgi; uwsgi_temp_path " .. dir .. "/uwsgi;",
    "  scgi_temp_path " .. dir .. "/scgi;",
    '  lua_package_path "' .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root
      .. "/examples/nginx/?.lua;" .. root .. '/spec/support/?.lua;;";',
    '  lua_package_cpath "' .. root .. '/build/luajit/?.so;;";',
    opts.http or "",
    "  server {",
    "    listen 127.0.0.1:" .. port .. ";",
    "    listen [::1]:" .. port .. ";",
    opts.server or "",
    "  }",
    "}",
  }, "\n")
  local f = assert(io.open(dir .. "/nginx.conf", "wb"))
  f:write(conf)
  f:close()
  -- (not under `make check`'s preloaded sanitizer: nginx loads the plain build)
  os.execute("env -u LD_PRELOAD " .. table.concat(assign, " ") .. " nginx -p " .. dir .. " -c " .. dir
    .. "/nginx.conf -e " .. dir .. "/error.log >" .. dir .. "/stdout.log 2>&1 &")
  local url = "http://127.0.0.1:" .. port
  local core = require "whatsapp.core"
  local probe = core.new_client { connect_timeout_ms = 200, timeout_ms = 2000 }
  for _ = 1, 100 do
    if probe:request("GET", url .. "/__ready") then break end
    os.execute("sleep 0.05")
  end
  probe:close()
  local started = probe and io.open(dir .. "/nginx.pid")
  if not started then
    local log = io.open(dir .. "/error.log")
    error("nginx did not start:\n" .. (log and log:read("*a") or "(no log)"))
  end
  started:close()
  return { url = url, dir = dir, log = dir .. "/error.log" }
end

--- The error log so far.
function N.log(ngx_)
  local f = io.open(ngx_.log)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

function N.stop(ngx_)
  if not ngx_ then return end
  local f = io.open(ngx_.dir .. "/nginx.pid")
  if f then
    local pid = f:read("*l")
    f:close()
    os.execute("kill -QUIT " .. pid .. " 2>/dev/null; for i in $(seq 1 50); do kill -0 " .. pid
      .. " 2>/dev/null || break; sleep 0.1; done; kill -KILL " .. pid .. " 2>/dev/null")
  end
  os.execute("rm -rf " .. ngx_.dir)
end

return N

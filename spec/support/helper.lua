-- Shared by the specs: where the stand-in listens (spec/run.sh starts it), the
-- credentials it knows, and a small client for its control API.
local core = require "whatsapp.core"

local H = {}

H.http = os.getenv("WA_STANDIN_HTTP")
H.https = os.getenv("WA_STANDIN_HTTPS")
H.h2 = os.getenv("WA_STANDIN_H2") -- nginx speaking HTTP/2 in front of the stand-in
H.ca = os.getenv("WA_STANDIN_CA")
H.other_ca = os.getenv("WA_STANDIN_OTHER_CA")
H.runtime = os.getenv("WA_RUNTIME") or (jit and "luajit" or "lua5.4")

-- The stand-in's known credentials (spec/support/STANDIN.md).
H.creds = {
  static = { access_key_id = "AKIDSTANDINEXAMPLE", secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" },
  temp = {
    access_key_id = "ASIASTANDINTEMPKEY",
    secret_access_key = "standin/Temp+Secret/0123456789EXAMPLEKEY",
    session_token = "standin-session-token/EXAMPLE+token==",
  },
  expired = {
    access_key_id = "ASIASTANDINEXPIRED",
    secret_access_key = "standin/Expired+Secret/0123456789EXAMPLE",
    session_token = "standin-expired-token",
  },
  denied = { access_key_id = "AKIDSTANDINDENIED", secret_access_key = "standin/Denied+Secret/0123456789EXAMPLEKEY" },
}

H.PHONE = "phone-number-id-0123456789abcdef0123456789abcdef"

function H.require_standin()
  assert(H.http and H.https and H.ca, "the stand-in is not running: run the suite with `make test`")
end

local control
local function ctl()
  control = control or core.new_client { connect_timeout_ms = 5000, timeout_ms = 60000,
    max_response_bytes = 256 * 1024 * 1024,
  }
  return control
end

--- Calls the stand-in's control API; returns the decoded answer.
function H.control(method, path, body)
  local status, text = ctl():request(method, H.http .. path,
    body and { ["Content-Type"] = "application/json" } or nil,
    body and core.encode(body) or nil)
  assert(status == 200, "stand-in control " .. path .. " failed: " .. tostring(status) .. " " .. tostring(text))
  return core.decode(text)
end

function H.reset() return H.control("POST", "/_standin/reset", {}) end
function H.inject(rule) return H.control("POST", "/_standin/inject", rule) end
function H.messages() return H.control("GET", "/_standin/messages").messages end
function H.stats() return H.control("GET", "/_standin/stats") end

--- A client of the stand-in; overrides replace any option.
function H.client(overrides)
  H.require_standin()
  local whatsapp = require "whatsapp"
  local opts = {
    region = "us-east-1",
    endpoint = H.http,
    phone_number_id = H.PHONE,
    credentials = H.creds.static,
  }
  for k, v in pairs(overrides or {}) do opts[k] = v end
  if (opts.endpoint == H.https or opts.endpoint == H.h2) and opts.ca_file == nil then opts.ca_file = H.ca end
  return assert(whatsapp.new(opts))
end

--- Runs a shell command; returns its output (stderr included) followed by
-- a line "exit=<status>".
function H.run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  return out
end

--- A getenv function over a table: specs never read the real environment.
-- A false value reads as unset.
function H.env(t)
  return function(name)
    local v = t[name]
    if v == false then return nil end
    return v
  end
end

--- Writes text to path, making the directories on the way.
function H.write(path, text, mode)
  os.execute("mkdir -p '" .. path:match("^(.*)/[^/]*$") .. "'")
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then os.execute("chmod " .. mode .. " '" .. path .. "'") end
end

--- A fresh temporary HOME (with an empty .aws folder).
function H.home()
  local dir = H.run("mktemp -d /tmp/whatsapp-home.XXXXXX"):match("^(%S+)")
  os.execute("mkdir -p '" .. dir .. "/.aws'")
  return dir
end

function H.rmrf(dir)
  if dir and dir:find("^/tmp/whatsapp%-") then os.execute("rm -rf '" .. dir .. "'") end
end

-- The credential sources (spec/support/credsrv.py): IMDS, container, STS.
H.credsrv = os.getenv("WA_CREDSRV")

function H.require_credsrv()
  assert(H.credsrv, "the credential sources are not running: run the suite with `make test`")
end

--- Calls the credential sources' control API; returns the decoded answer.
function H.creds_control(method, path, body)
  H.require_credsrv()
  local status, text = ctl():request(method, H.credsrv .. path,
    body and { ["Content-Type"] = "application/json" } or nil,
    body and core.encode(body) or nil)
  assert(status == 200, "credsrv control " .. path .. " failed: " .. tostring(status) .. " " .. tostring(text))
  return core.decode(text)
end

function H.creds_reset() return H.creds_control("POST", "/_creds/reset", {}) end
function H.creds_set(t) return H.creds_control("POST", "/_creds/set", t) end
function H.creds_stats() return H.creds_control("GET", "/_creds/stats") end
function H.creds_requests() return H.creds_control("GET", "/_creds/requests").requests end

return H

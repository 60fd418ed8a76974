-- Test material for the inbound specs, made at test time with the openssl
-- command: an RSA-2048 signing key and its self-signed certificate (the
-- "SNS" certificate), a second key that SNS never used, an EC certificate,
-- and a local HTTPS stand-in of the SNS host (spec/support/certsrv.py,
-- TLS from spec/support/mkcerts.sh) serving the certificates. sign() builds
-- SNS bodies (SignatureVersion 1 or 2) with the string to sign of
-- docs/REFERENCES.md (SNS signatures), computed here independently of the module's.
local core = require "whatsapp.core"
local H = require "spec.support.helper"

local F = {}

F.TOPIC = "arn:aws:sns:eu-west-1:533267110337:whatsapp-events"
F.PEM_NAME = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"

-- A captured AWS End User Messaging Social event (its shape: docs/REFERENCES.md, WhatsApp events), as the SNS Message.
F.MESSAGE = '{"context":{"MetaWabaIds":[{"wabaId":"1393727385109399","arn":"arn:aws:social-messaging:eu-west-1:'
  .. '533267110337:waba/a9a6973db0a54c8285f8d4e76df62869"}],"MetaPhoneNumberIds":[{"metaPhoneNumberId":'
  .. '"729155140271006","arn":"arn:aws:social-messaging:eu-west-1:533267110337:phone-number-id/'
  .. '5f811eaa4c81499384c496b909afbb1a"}]},"whatsAppWebhookEntry":"{\\"id\\":\\"1393727385109399\\",\\"changes\\":'
  .. '[{\\"value\\":{\\"messaging_product\\":\\"whatsapp\\",\\"metadata\\":{\\"display_phone_number\\":'
  .. '\\"393404534569\\",\\"phone_number_id\\":\\"729155140271006\\"},\\"contacts\\":[{\\"profile\\":{\\"name\\":'
  .. '\\"Francesco\\\\ud83d\\\\udcbb\\"},\\"wa_id\\":\\"393462454282\\"}],\\"messages\\":[{\\"from\\":'
  .. '\\"393462454282\\",\\"id\\":\\"wamid.HBgMMzkzNDYyNDU0MjgyFQIAEhgUM0E2RDRCN0Y5NURBRTM3OEJBN0IA\\",'
  .. '\\"timestamp\\":\\"1758171394\\",\\"text\\":{\\"body\\":\\"Prva\\"},\\"type\\":\\"text\\"}]},\\"field\\":'
  .. '\\"messages\\"}]}","aws_account_id":"533267110337","message_timestamp":"2025-09-18T04:56:36.684321927Z"}'
F.WAMID = "wamid.HBgMMzkzNDYyNDU0MjgyFQIAEhgUM0E2RDRCN0Y5NURBRTM3OEJBN0IA"
F.AWS_PHONE = "phone-number-id-5f811eaa4c81499384c496b909afbb1a"

-- (openssl, curl and python run natively: under `make asan` the sanitizer
-- runtimes are preloaded for the Lua runtime only, as nginx_lua.lua does)
local function sh(cmd)
  local out = H.run("unset LD_PRELOAD; " .. cmd)
  assert(out:find("exit=0\n$"), cmd .. "\n" .. out)
  return out:gsub("exit=0\n$", "")
end

--- Makes the keys, certificates and the HTTPS stand-in. -> F (with dir, port, base, pem, ca)
function F.setup()
  F.dir = sh("mktemp -d /tmp/whatsapp-inbound.XXXXXX"):match("^(%S+)")
  local d = F.dir
  sh("sh spec/support/mkcerts.sh " .. d .. "/tls")
  os.execute("mkdir -p " .. d .. "/pems")
  local req = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sns.amazonaws.com "
  sh(req .. "-keyout " .. d .. "/sns.key -out " .. d .. "/pems/" .. F.PEM_NAME)
  sh(req .. "-keyout " .. d .. "/other.key -out " .. d .. "/other.pem")
  sh("cp " .. d .. "/pems/" .. F.PEM_NAME .. " " .. d .. "/pems/SimpleNotificationService-copy.pem")
  sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=x -keyout "
    .. d .. "/ec.key -out " .. d .. "/pems/SimpleNotificationService-ec.pem")
  sh("head -c 12000 /dev/zero | tr '\\0' A > " .. d .. "/pems/SimpleNotificationService-big.pem; "
    .. "echo 'not a certificate' > " .. d .. "/pems/SimpleNotificationService-junk.pem")
  local p = assert(io.popen("unset LD_PRELOAD; python3 spec/support/certsrv.py " .. d .. "/tls/server.pem " .. d
    .. "/tls/server.key " .. d .. "/pems 2>" .. d .. "/certsrv.log & echo $! > " .. d .. "/certsrv.pid", "r"))
  F.port = assert(tonumber(p:read("*l")), "certsrv did not start")
  F.server = p
  F.ca = d .. "/tls/ca.pem"
  F.base = "https://localhost:" .. F.port
  F.cert_url = F.base .. "/" .. F.PEM_NAME
  local f = assert(io.open(d .. "/pems/" .. F.PEM_NAME, "rb"))
  F.pem = f:read("*a")
  f:close()
  return F
end

function F.teardown()
  if not F.dir then return end
  local f = io.open(F.dir .. "/certsrv.pid")
  if f then
    local pid = f:read("*l")
    f:close()
    os.execute("kill " .. pid .. " 2>/dev/null")
  end
  if F.server then F.server:close() end
  H.rmrf(F.dir)
  F.dir = nil
end

--- The paths the stand-in was asked for since the last reset.
function F.log()
  local out = sh("curl -s --max-time 10 --cacert " .. F.ca .. " " .. F.base .. "/log")
  local paths = {}
  for line in out:gmatch("[^\n]+") do paths[#paths + 1] = line end
  return paths
end

function F.reset()
  sh("curl -s --max-time 10 --cacert " .. F.ca .. " " .. F.base .. "/reset")
end

local SIGNED = {
  Notification = { "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type" },
  SubscriptionConfirmation = { "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type" },
  UnsubscribeConfirmation = { "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type" },
}

--- The string to sign of t, with the keys of keys (default: the type's).
function F.string_to_sign(t, keys)
  local s = {}
  for _, k in ipairs(keys or SIGNED[t.Type] or SIGNED.Notification) do
    if type(t[k]) == "string" then s[#s + 1] = k .. "\n" .. t[k] .. "\n" end
  end
  return table.concat(s)
end

--- base64 of the openssl signature of data with key (a file), SHA-1 or SHA-256.
function F.rsa_sign(data, version, key)
  local file = F.dir .. "/data"
  local f = assert(io.open(file, "wb"))
  f:write(data)
  f:close()
  local sig = sh("openssl dgst -" .. (version == "1" and "sha1" or "sha256") .. " -sign "
    .. (key or (F.dir .. "/sns.key")) .. " " .. file .. " | base64 -w0")
  return sig
end

local seq = 0
--- An SNS Notification as a table, signed (opts.version "1"/"2", opts.key,
-- opts.keys: the signed key list, opts.now: epoch seconds of Timestamp).
function F.notification(fields, opts)
  opts = opts or {}
  seq = seq + 1
  local t = {
    Type = "Notification", MessageId = string.format("0f2c6a3e-1111-5b2c-9d7e-%012d", seq), TopicArn = F.TOPIC,
    Message = F.MESSAGE, Timestamp = os.date("!%Y-%m-%dT%H:%M:%S.123Z", opts.now or os.time()),
    SignatureVersion = opts.version or "2", SigningCertURL = F.cert_url,
    UnsubscribeURL = F.base .. "/?Action=Unsubscribe&SubscriptionArn=" .. F.TOPIC .. ":x",
  }
  for k, v in pairs(fields or {}) do t[k] = v end
  if t.Signature == nil then
    t.Signature = F.rsa_sign(F.string_to_sign(t, opts.keys), t.SignatureVersion, opts.key)
  end
  return t
end

--- A SubscriptionConfirmation (or opts.type) as a table, signed.
function F.confirmation(fields, opts)
  opts = opts or {}
  local t = {
    Type = opts.type or "SubscriptionConfirmation",
    Token = ("2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"):rep(2),
    MessageId = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", TopicArn = F.TOPIC,
    Message = "You have chosen to subscribe to the topic " .. F.TOPIC
      .. ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
    Timestamp = os.date("!%Y-%m-%dT%H:%M:%S.751Z", opts.now or os.time()), SignatureVersion = opts.version or "2",
    SigningCertURL = F.cert_url,
  }
  t.SubscribeURL = F.base .. "/?Action=ConfirmSubscription&TopicArn=" .. F.TOPIC .. "&Token=" .. t.Token
  for k, v in pairs(fields or {}) do t[k] = v end
  if t.Signature == nil then
    t.Signature = F.rsa_sign(F.string_to_sign(t, opts.keys), t.SignatureVersion, opts.key)
  end
  return t
end

--- The JSON body of t.
function F.body(t)
  return assert(core.encode(t))
end

--- A receiver for the stand-in (localhost with its port, the test CA); overrides replace any option.
function F.receiver(overrides)
  local inbound = require "whatsapp.inbound"
  local opts = { topic_arns = { F.TOPIC }, cert_host_pattern = "^localhost:%d+$", ca_file = F.ca }
  for k, v in pairs(overrides or {}) do opts[k] = v end
  return assert(inbound.new(opts))
end

return F

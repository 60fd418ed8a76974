--- Receiving: WhatsApp events from AWS End User Messaging Social, delivered
-- by Amazon SNS over HTTPS (or posted by Meta directly), verified before
-- anything is parsed and turned into typed events.
--
--   local inbound = require "whatsapp.inbound"
--   local rx = assert(inbound.new { topic_arns = { "arn:aws:sns:…:whatsapp-events" } })
--   local status, body, events, err = rx:handle { method = "POST", headers = h, body = b }
--
-- handle is transport-free (what tests and any HTTP server call); rx:nginx
-- is the OpenResty content handler (whatsapp.inbound.nginx).
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local cert = require "whatsapp.inbound.cert"
local dedupe = require "whatsapp.inbound.dedupe"
local events = require "whatsapp.inbound.events"
local sns = require "whatsapp.inbound.sns"

local M = {}

M.parse_entry = events.parse_entry
M.parse_message = events.parse_message

local Receiver = {}
Receiver.__index = Receiver

local OPTION_TYPES = {
  topic_arns = "table", min_signature_version = "number", max_age = "number", max_skew = "number",
  confirm = "string", max_body = "number", dedupe = "string|function", fetch_cert = "function",
  cert_host_pattern = "string", cert_path_pattern = "string", ca_file = "string", clock = "function",
  app_secret = "string", verify_token = "string", expect = "table", dedupe_events = "boolean|number",
  cert_cache = "string",
}

local function invalid(field, rule)
  return nil, errors.validation(field, rule)
end

local function check_types(opts)
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k]
    if not want then error("inbound.new: unknown option '" .. tostring(k) .. "'", 3) end
    if not want:find(type(v), 1, true) then
      error("inbound.new: option '" .. k .. "' must be a " .. want:gsub("|", " or ") .. " (got " .. type(v) .. ")", 3)
    end
  end
end

local function topic_set(list)
  local set, n = {}, 0
  for i, arn in ipairs(list or {}) do
    if type(arn) ~= "string" or not arn:find("^arn:[%w-]+:sns:[%w-]+:%d+:[%w_-]+$") then
      return nil, "topic_arns[" .. i .. "]"
    end
    set[arn] = true
    n = n + 1
  end
  return set, n
end

local function default_clock()
  local ngx = rawget(_G, "ngx")
  if ngx and type(ngx.time) == "function" then return ngx.time end
  return os.time
end

local function check_values(o)
  if o.min_signature_version ~= 1 and o.min_signature_version ~= 2 then
    return invalid("min_signature_version", "must be 1 or 2")
  end
  for _, k in ipairs { "max_age", "max_skew", "max_body" } do
    if not (o[k] >= 0 and o[k] < math.huge) then return invalid(k, "must be a number of at least 0") end
  end
  if o.confirm ~= "auto" and o.confirm ~= "manual" then return invalid("confirm", 'must be "auto" or "manual"') end
  if type(o.dedupe_events) == "number" and not (o.dedupe_events > 0 and o.dedupe_events < math.huge) then
    return invalid("dedupe_events", "must be true or a number of seconds above 0")
  end
  if o.app_secret == "" then return invalid("app_secret", "must not be empty") end
  if o.verify_token == "" then return invalid("verify_token", "must not be empty") end
  return true
end

-- The receiver's fields: opts with the defaults filled in.
local function fields(opts, topics)
  return {
    topics = topics,
    min_signature_version = opts.min_signature_version or 1,
    max_age = opts.max_age or 3600, max_skew = opts.max_skew or 300,
    confirm = opts.confirm or "auto", max_body = opts.max_body or 1024 * 1024,
    cert_host_patterns = opts.cert_host_pattern and { opts.cert_host_pattern } or cert.DEFAULT_HOST_PATTERNS,
    cert_path_pattern = opts.cert_path_pattern or cert.DEFAULT_PATH_PATTERN,
    ca_file = opts.ca_file, clock = opts.clock or default_clock(),
    app_secret = opts.app_secret, verify_token = opts.verify_token, expect = opts.expect,
    dedupe_events = opts.dedupe_events == true and 86400 or opts.dedupe_events or nil,
    cert_cache = cert.new_cache(), cert_fetches = 0, cert_dict = opts.cert_cache,
  }
end

--- opts: see the README section "Receiving". -> receiver | nil, err
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then error("inbound.new: opts must be a table", 2) end
  opts = opts or {}
  check_types(opts)
  local topics, n = topic_set(opts.topic_arns)
  if not topics then return invalid(n, "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)") end
  if n == 0 and not opts.app_secret then
    return invalid("topic_arns", "must list at least one topic (or give app_secret for Meta webhooks)")
  end
  local rx = setmetatable(fields(opts, topics), Receiver)
  local ok, err = check_values(rx)
  if not ok then return nil, err end
  rx.fetch_cert = opts.fetch_cert or cert.default_fetch(rx)
  rx.get = cert.default_fetch(rx) -- the SubscribeURL GET: same transport, same rules
  rx.seen = dedupe.new(opts.dedupe, rx.clock)
  return rx
end

local function refused(err)
  return err.status, err.code .. "\n", {}, err
end

local function lower_headers(h)
  local out = {}
  for k, v in pairs(h or {}) do
    if type(k) == "string" then
      if type(v) == "table" then v = v[1] end -- a repeated header: the first
      out[k:lower()] = v
    end
  end
  return out
end

-- The expect.* consistency checks on the EUM header. -> true | nil, err
local function check_expect(expect, list)
  if not expect then return true end
  local aws = list.aws
  local function foreign(what) return nil, errors.new { code = "EventForeign", status = 403, attempts = 0,
    message = "the event's " .. what .. " is not the expected one" } end
  if expect.account_id and (not aws or aws.account_id ~= expect.account_id) then return foreign("aws_account_id") end
  for _, e in ipairs(list) do
    local ok_waba = not expect.waba_ids
    for _, id in ipairs(expect.waba_ids or {}) do ok_waba = ok_waba or id == e.waba_id end
    if not ok_waba then return foreign("WABA id") end
    local ok_phone = not expect.phone_number_ids
    for _, id in ipairs(expect.phone_number_ids or {}) do ok_phone = ok_phone or id == e.phone_number_id end
    if not ok_phone then return foreign("phone number id") end
  end
  return true
end

-- The second layer (dedupe_events): Meta re-delivers, and EUM then publishes
-- the same message or status under a new MessageId. A message is known by
-- its wamid, a status by (wamid, status); one seen before is marked
-- duplicate = true (and rx:nginx does not dispatch it). A store that fails
-- here lets the event through: the MessageId layer already answered for the
-- delivery, and a 503 now would lose it (its retry would be a duplicate).
local function mark_seen_events(rx, list)
  for _, e in ipairs(list) do
    local key
    if e.kind == "message" and e.id then
      key = "wamid:" .. e.id
    elseif e.kind == "status" and e.id and e.status then
      key = "status:" .. e.id .. ":" .. e.status
    end
    if key and rx.seen(key, rx.dedupe_events) == false then e.duplicate = true end
  end
end

local function sns_info(t)
  return { type = t.Type, message_id = t.MessageId, topic_arn = t.TopicArn, timestamp = t.Timestamp,
    subject = t.Subject, signature_version = t.SignatureVersion }
end

-- A verified Notification: its events, unless its MessageId was seen.
function Receiver:notification(t)
  local info = sns_info(t)
  local list, err = events.parse_message(t.Message, info)
  if not list then return refused(err) end
  local ok
  ok, err = check_expect(self.expect, list)
  if not ok then return refused(err) end
  local first, why = self.seen("sns:" .. t.MessageId, self.max_age + self.max_skew)
  if first == nil then
    return refused(errors.new { code = "DedupeUnavailable", status = 503, retryable = true, attempts = 0,
      message = "the dedupe store failed: " .. errors.printable(tostring(why), 200) })
  end
  if not first then
    return 200, "", { duplicate = true, sns = info }, nil
  end
  list.sns = info
  if self.dedupe_events then mark_seen_events(self, list) end
  return 200, "", list, nil
end

-- A verified SubscriptionConfirmation or UnsubscribeConfirmation.
function Receiver:confirmation(t)
  local out = { sns = sns_info(t), subscribe_url = t.SubscribeURL, token = t.Token, confirmed = false }
  if t.Type == "UnsubscribeConfirmation" then return 200, "", out, nil end
  local ok, err = sns.check_subscribe_url(self, t)
  if not ok then return refused(err) end
  if self.confirm == "auto" then
    local done, body, why = pcall(self.get, t.SubscribeURL)
    if not (done and body) then
      return refused(errors.new { code = "SnsConfirmFailed", status = 503, retryable = true, attempts = 0,
        message = "the SubscribeURL GET failed: " .. errors.printable(tostring(done and why or body), 200) })
    end
    out.confirmed = true
  end
  return 200, "", out, nil
end

local function malformed(message, status)
  return refused(errors.new { code = "SnsMalformed", status = status or 400, attempts = 0, message = message })
end

function Receiver:handle_sns(body, headers)
  if headers["x-amz-sns-rawdelivery"] == "true" then
    return refused(errors.new { code = "SnsRawDelivery", status = 403, attempts = 0,
      message = "raw message delivery cannot be authenticated; turn RawMessageDelivery off" })
  end
  local t = core.decode(body)
  if type(t) ~= "table" or getmetatable(t) ~= nil then return malformed("the body is not a JSON object") end
  if t.Type == nil and t.Signature == nil and headers["x-amz-sns-message-type"] then
    return refused(errors.new { code = "SnsRawDelivery", status = 403, attempts = 0,
      message = "the body is not an SNS envelope (raw message delivery?)" })
  end
  local ok, err = sns.verify(self, t, headers)
  if not ok then return refused(err) end
  if t.Type == "Notification" then return self:notification(t) end
  return self:confirmation(t)
end

local function meta_refusal(status, message)
  return refused(errors.new { code = "MetaSignature", status = status, attempts = 0, message = message })
end

function Receiver:handle_meta(body, header)
  if header == nil then return meta_refusal(401, "the X-Hub-Signature-256 header is missing") end
  local hex = type(header) == "string" and header:match("^sha256=(%x+)$")
  if not hex or #hex ~= 64 then return meta_refusal(403, "X-Hub-Signature-256 must be sha256=<64 hex digits>") end
  local mac = core.hmac_sha256(self.app_secret, body)
  local want = mac:gsub(".", function(c) return string.format("%02x", c:byte()) end)
  if not core.equal(hex:lower(), want) then return meta_refusal(403, "the body's HMAC does not match") end
  local t = core.decode(body)
  local list, err = events.parse_meta(t)
  if not list then return refused(err) end
  if self.dedupe_events then mark_seen_events(self, list) end
  return 200, "", list, nil
end

-- Meta's subscription check: GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…
function Receiver:meta_challenge(args)
  args = args or {}
  local token, challenge = args["hub.verify_token"], args["hub.challenge"]
  if not self.verify_token or args["hub.mode"] ~= "subscribe" or type(token) ~= "string"
    or not core.equal(token, self.verify_token) then
    return refused(errors.new { code = "MetaVerifyToken", status = 403, attempts = 0,
      message = "hub.mode or hub.verify_token is wrong" })
  end
  if type(challenge) ~= "string" or not challenge:find("^[%w._~-]+$") or #challenge > 256 then
    return refused(errors.new { code = "MetaVerifyToken", status = 400, attempts = 0,
      message = "hub.challenge is missing or not a plain token" })
  end
  return 200, challenge, {}, nil
end

--- req: { method = "POST" | "GET", headers = {...}, body = "...", args = {...} }
-- -> status, response_body, events, err
function Receiver:handle(req)
  if type(req) ~= "table" then error("handle: req must be a table (got " .. type(req) .. ")", 2) end
  local method = req.method or "POST"
  if method == "GET" then return self:meta_challenge(req.args) end
  if method ~= "POST" then
    return refused(errors.new { code = "MethodNotAllowed", status = 405, attempts = 0, message = "POST or GET only" })
  end
  local body = req.body
  if type(body) ~= "string" or body == "" then return malformed("the body is empty") end
  if #body > self.max_body then return malformed("the body is larger than max_body", 413) end
  local headers = lower_headers(req.headers)
  if self.app_secret and (headers["x-hub-signature-256"] ~= nil or not next(self.topics)) then
    return self:handle_meta(body, headers["x-hub-signature-256"])
  end
  return self:handle_sns(body, headers)
end

--- The OpenResty content handler: see whatsapp.inbound.nginx.
function Receiver:nginx(handlers, opts)
  return require("whatsapp.inbound.nginx").serve(self, handlers, opts)
end

--- How many certificate fetches this receiver made (tests, monitoring).
function Receiver:stats()
  return { cert_fetches = self.cert_fetches, cached_certs = self.cert_cache.n }
end

return M

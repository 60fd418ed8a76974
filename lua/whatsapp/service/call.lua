--- Calls one operation of whatsapp.service.operations on a client: the input checked
-- and serialized by whatsapp.service.model, signed by the C signer (core.sign),
-- sent over the client's transport (libcurl, or cosockets inside nginx: both
-- have request()), inside the client's retry loop (retries, quota, clock
-- skew, deadline), and the answer parsed as restJson1 (errors by
-- errors.from_response). SendWhatsAppMessage keeps its own path in the core.
local config = require "whatsapp.config"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local model = require "whatsapp.service.model"
local options = require "whatsapp.options"
local operations = require "whatsapp.service.operations"
local time = require "whatsapp.time"

local M = {}

local EFFECT = { name = "call", sent = "the request may have been carried out", unsent = "nothing was sent",
  field = "request" }

-- The signed request's headers: for the wire {name = value}, and the list
-- the signer takes. A body is JSON; without one there is no Content-Type.
local function signed_headers(route, op, req, creds, offset)
  local amz_date = time.amz_date(time.now() + offset)
  local wire = { Host = route.host, ["X-Amz-Date"] = amz_date }
  local list = { { "host", route.host }, { "x-amz-date", amz_date } }
  if req.body then
    wire["Content-Type"] = "application/json"
    list[#list + 1] = { "content-type", "application/json" }
  end
  if creds.session_token then
    wire["X-Amz-Security-Token"] = creds.session_token
    list[#list + 1] = { "x-amz-security-token", creds.session_token }
  end
  local signed, _, why = core.sign {
    method = op.method, path = route.base_path .. op.uri, query = req.query, headers = list,
    body = req.body or "", region = route.region, service = config.SERVICE,
    access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key, amz_date = amz_date,
  }
  if not signed then return nil, why end
  wire.Authorization = signed.authorization
  return wire
end

-- One attempt (call: see whatsapp.attempts): the decoded answer, or nil,
-- err; then the answer's Date and x-amz-retry-after headers (nil when there
-- was no answer).
local function attempt(call, route, op, req, url)
  local creds = call.creds
  local headers, why = signed_headers(route, op, req, creds, call.offset)
  if not headers then return nil, errors.validation("credentials", "cannot sign: " .. tostring(why)) end
  local status, body, answer = route.transport:request(op.method, url, headers, req.body, call.limit_ms)
  if not status then -- body: the kind, answer: the words
    return nil, errors.from_transport(body, answer, nil, route, call.dl, EFFECT)
  end
  local request_id, date = answer["x-amzn-requestid"], answer["date"]
  local value = body ~= "" and core.decode(body) or nil
  if status >= 200 and status < 300 then
    if type(value) == "table" then return value, nil, date end
    return nil, errors.new {
      code = "ResponseError", status = status, retryable = false,
      request_id = errors.clean_request_id(request_id, { creds.secret_access_key, creds.session_token }),
      message = "the answer is not a JSON object",
    }, date
  end
  local secrets = { creds.secret_access_key, creds.session_token }
  for _, s in ipairs(req.secrets) do secrets[#secrets + 1] = s end
  return nil, errors.from_response(status, value or body, request_id, answer["x-amzn-errortype"], secrets),
    date, answer["x-amz-retry-after"]
end

local DEADLINE_ONLY = { deadline = "number" }

--- Calls operation `name` with input (a table keyed by the model's member
-- names) over route (the client's: see whatsapp.client). opts: deadline
-- (seconds for the call, retries included; else deadline, the client's).
-- Returns the answer as a table keyed by the model's output member names,
-- or nil and an error object.
function M.invoke(route, name, input, opts, deadline)
  options.check(name, opts, DEADLINE_ONLY, 3)
  local req, err = model.request(name, input)
  if not req then return nil, err end
  if opts and opts.deadline ~= nil then
    local bad = options.seconds(opts.deadline)
    if bad then return nil, errors.validation("deadline", bad) end
    deadline = opts.deadline
  end
  local op = operations.operations[name]
  local url = route.base_url .. op.uri .. (req.query ~= "" and "?" .. req.query or "")
  -- a call for an origination number keeps its pace (the client's rate)
  local key = type(input) == "table" and input.originationPhoneNumberId or nil
  return route.attempts:run(deadline, key, nil, nil, attempt, route, op, req, url)
end

return M

--- Handlers for examples/nginx/nginx.conf: WhatsApp sends from inside nginx,
-- through the cosocket transport (the default inside OpenResty/ngx_lua), so
-- a send waiting on AWS never holds up the other requests of the worker.
--
--   POST /whatsapp/send        {"to":"+14255550123","text":"Hello"} -> 200 {"messageId":"…"}
--   POST /whatsapp/send-later  same body -> 202 at once; the send runs in a timer
local whatsapp = require "whatsapp"

local _M = {}

-- One client per worker, made on first use (the environment is read then:
-- nginx passes only the variables its `env` directives name).
local client
local function get_client()
  if not client then
    local c, err = whatsapp.new { timeout = 10, max_attempts = 3 }
    if not c then return nil, err end
    client = c
  end
  return client
end

local function reply(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(whatsapp.encode(value))
  return ngx.exit(status)
end

-- The request body as {to=, text=}, or nil after answering 400.
local function read_request()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local req = body and whatsapp.decode(body)
  if type(req) ~= "table" or type(req.to) ~= "string" or type(req.text) ~= "string" then
    reply(400, { error = 'expected a JSON body {"to":"+<digits>","text":"…"}' })
    return nil
  end
  return { to = req.to, type = "text", text = { body = req.text } }
end

local function failure(err)
  -- 502: AWS or Meta said no; 503: we could not reach them; 500: our setup
  local status = err.status and 502 or (err.code == "ParamValidationError" or err.code == "CredentialsError") and 500
    or 503
  return reply(status, { error = err.code, message = err.message, request_id = err.request_id })
end

function _M.send()
  local message = read_request()
  if not message then return end
  local c, err = get_client()
  if not c then return failure(err) end
  local id, send_err = c:send(message)
  if not id then return failure(send_err) end
  return reply(200, { messageId = id })
end

function _M.send_later()
  local message = read_request()
  if not message then return end
  local c, err = get_client()
  if not c then return failure(err) end
  local ok, later_err = c:send_later(message, nil, function(id, send_err)
    if id then
      ngx.log(ngx.INFO, "whatsapp: sent ", id)
    else
      ngx.log(ngx.ERR, "whatsapp: background send failed: ", tostring(send_err))
    end
  end)
  if not ok then return failure(later_err) end
  return reply(202, { queued = true })
end

return _M

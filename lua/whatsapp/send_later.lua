--- client:send_later, for OpenResty: a send from a 0-delay ngx.timer.at.
-- Installed on the client class by whatsapp.client; checks options and
-- messages as send does (whatsapp.service.send).
local config = require "whatsapp.config"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local send = require "whatsapp.service.send"

local M = {}

local PRODUCT = config.MESSAGING_PRODUCT

--- OpenResty: sends in the background, from a 0-delay ngx.timer.at, for
-- fire-and-forget use and for phases without cosockets (log, header and
-- body filters, init_worker). A table message is encoded now, so changing
-- it afterwards changes nothing and a bad one is refused at once.
-- callback(message_id, err), when given, runs in the timer; without one a
-- failure is logged at ngx.ERR. Returns true, or nil and an error.
local function send_later(self, message, opts, callback)
  local mt = type(message)
  if mt ~= "table" and mt ~= "string" then
    error("send_later: message must be a table or a JSON string (got " .. mt .. ")", 2)
  end
  if callback ~= nil and type(callback) ~= "function" then
    error("send_later: callback must be a function (got " .. type(callback) .. ")", 2)
  end
  local ngx = rawget(_G, "ngx")
  if not (ngx and ngx.timer and ngx.timer.at) then
    return nil, errors.new { code = "TransportUnavailable", message = "send_later needs nginx (ngx.timer.at)",
      attempts = 0 }
  end
  local id, version = send.settings(self, opts)
  if not id then return nil, version end
  if mt == "table" then
    -- checked and encoded now: in the timer it is JSON text, which send does not validate
    local fine, checked = send.check_message(message, opts)
    if not fine then return nil, checked end
    message = checked
    local text, _, why, field = core.encode(message, PRODUCT)
    if not text then return nil, errors.validation(field ~= "" and field or "message", why) end
    message = text
  end
  local ok, err = ngx.timer.at(0, function()
    local message_id, send_err = self:send(message, opts)
    if callback then
      local fine, cerr = pcall(callback, message_id, send_err)
      if not fine then ngx.log(ngx.ERR, "whatsapp: send_later callback failed: ", tostring(cerr)) end
    elseif not message_id then
      ngx.log(ngx.ERR, "whatsapp: background send failed: ", tostring(send_err))
    end
  end)
  if not ok then
    return nil, errors.new { code = "TransportUnavailable", message = "cannot start a timer: " .. tostring(err),
      attempts = 0 }
  end
  return true
end

--- Puts send_later on the client class.
function M.install(class)
  class.send_later = send_later
end

return M

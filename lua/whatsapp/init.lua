--- whatsapp: send WhatsApp messages through AWS End User Messaging Social.
--
--   local whatsapp = require "whatsapp"
--   local client = assert(whatsapp.new{ region = "us-east-1", phone_number_id = "phone-number-id-…" })
--   local id, err = client:send{ to = "+14255550123", type = "text", text = { body = "Hello" } }
local core = require "whatsapp.core"
local array = require "whatsapp.array"

-- A C module built against the wrong Lua headers must fail here, loudly,
-- instead of corrupting memory later.
do
  local major, minor = _VERSION:match("^Lua (%d+)%.(%d+)$")
  local running = tonumber(major) * 100 + tonumber(minor)
  if core._LUA_VERSION_NUM ~= running then
    error(string.format("whatsapp.core was built for Lua API %d but this is %s%s: rebuild it for this runtime",
      core._LUA_VERSION_NUM, _VERSION, jit and (" (" .. jit.version .. ")") or ""), 0)
  end
end
core.set_array_mt(array.mt)

local client = require "whatsapp.client"
local errors = require "whatsapp.errors"
local builders = require "whatsapp.message"
local senders = require "whatsapp.senders"

local M = {
  --- The module's version: the release rockspec's (rockspecs/), "scm" for a
  -- build of the scm rockspec. _VERSION is the same (the older name).
  VERSION = core._VERSION,
  _VERSION = core._VERSION,
  array = array.array,
  null = core.null,
  errors = errors,
  --- JSON as this module writes and reads it (sorted keys, integers kept,
  -- whatsapp.array / whatsapp.null): encode(value) -> text | nil, "invalid", message, field;
  -- decode(text) -> value | nil, "invalid", message.
  encode = core.encode,
  decode = core.decode,
}

--- Makes a client. Returns the client, or nil and an error object when the
-- configuration (options, then environment) is not usable.
M.new = client.new

local default_client
--- The module-level client, made on first use from the environment.
function M.default_client()
  if not default_client then
    local c, err = client.new()
    if not c then return nil, err end
    default_client = c
  end
  return default_client
end

--- Sends a message (table or JSON text) on the default client; see client:send.
function M.send(message, opts)
  local c, err = M.default_client()
  if not c then return nil, err end
  return c:send(message, opts)
end

--- The builders (pure Lua): whatsapp.message.text(to, body, opts) … return
-- message tables without sending.
M.message = builders

-- whatsapp.send_text(to, body, opts), send_image, …, mark_read: the client
-- methods of the same names, on the default client.
senders.install_module(M, M.default_client)

-- whatsapp.send_batch, upload_media, get_media, delete_media, get_account,
-- get_phone_number, phone_numbers, call: the client methods, on the default client.
for _, name in ipairs { "send_batch", "upload_media", "get_media", "delete_media", "get_account",
  "get_phone_number", "phone_numbers", "call" } do
  M[name] = function(...)
    local c, err = M.default_client()
    if not c then return nil, err end
    return c[name](c, ...)
  end
end

--- for account, err in whatsapp.list_accounts() do … end, on the default
-- client (a client that cannot be made is the loop's one error).
function M.list_accounts(opts)
  local c, err = M.default_client()
  if c then return c:list_accounts(opts) end
  local told = false
  return function()
    if told then return nil end
    told = true
    return false, err
  end
end

return M

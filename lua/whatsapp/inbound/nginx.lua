--- The OpenResty content handler of a receiver (rx:nginx(handlers)): reads
-- the body (from memory, or from the temporary file nginx spooled it to),
-- calls rx:handle, answers at once (SNS waits 15 s at most and retries
-- what fails), and then runs the handlers for each event in a timer
-- (ngx.timer.at(0, ...)), where cosockets, and so client:send, work.
--
--   content_by_lua_block { require("bot").rx:nginx { on_message = function(event) ... end } }
--
-- handlers: on_event(event) for every event, then on_message, on_status,
-- on_error or on_unknown by event.kind; on_refusal(err) when a request was
-- refused (inside the request, before the answer). An error a handler
-- raises is logged and the next event goes on. opts.sync = true runs the
-- handlers in the request instead of a timer (after the answer was sent).
local M = {}

local ngx = rawget(_G, "ngx")

local BY_KIND = { message = "on_message", status = "on_status", error = "on_error", unknown = "on_unknown" }
local HANDLERS = { on_event = true, on_message = true, on_status = true, on_error = true, on_unknown = true,
  on_refusal = true }

local function check_handlers(handlers)
  if type(handlers) ~= "table" then error("nginx: handlers must be a table", 3) end
  for k, v in pairs(handlers) do
    if not HANDLERS[k] then error("nginx: unknown handler '" .. tostring(k) .. "'", 3) end
    if type(v) ~= "function" then error("nginx: handler '" .. k .. "' must be a function", 3) end
  end
end

local function call(fn, name, event)
  local ok, err = pcall(fn, event)
  if not ok then ngx.log(ngx.ERR, "whatsapp.inbound: ", name, " raised: ", tostring(err)) end
end

--- Runs the handlers for each event, in order (not for those dedupe_events
-- marked duplicate).
function M.dispatch(handlers, events)
  for _, event in ipairs(events) do
    if not event.duplicate then -- (seen before under another SNS MessageId: dedupe_events)
      if handlers.on_event then call(handlers.on_event, "on_event", event) end
      local name = BY_KIND[event.kind]
      local fn = name and handlers[name]
      if fn then call(fn, name, event) end
    end
  end
end

-- The request body: in memory, or read back from the file nginx spooled it
-- to. -> body | nil, status, message
local function read_body(max)
  local length = tonumber(ngx.var.http_content_length)
  if length and length > max then return nil, 413, "the body is larger than max_body" end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local file = ngx.req.get_body_file()
  if not file then return "" end
  local f, err = io.open(file, "rb")
  if not f then return nil, 500, "cannot read the spooled body: " .. tostring(err) end
  body = f:read(max + 1)
  f:close()
  if body and #body > max then return nil, 413, "the body is larger than max_body" end
  return body or ""
end

local function timer(premature, handlers, events)
  if premature then return end
  M.dispatch(handlers, events)
end

--- Serves the current request with rx. -> the status answered
function M.serve(rx, handlers, opts)
  check_handlers(handlers)
  local body, status, why = read_body(rx.max_body)
  local response, events, err
  if body then
    status, response, events, err = rx:handle { method = ngx.req.get_method(), headers = ngx.req.get_headers(),
      body = body, args = ngx.req.get_uri_args() }
  else
    response, events = why .. "\n", {}
  end
  if err then
    ngx.log(ngx.WARN, "whatsapp.inbound: refused (", err.status, " ", err.code, "): ", err.message)
    if handlers.on_refusal then call(handlers.on_refusal, "on_refusal", err) end
  end
  ngx.status = status
  ngx.header["Content-Type"] = "text/plain"
  ngx.print(response)
  ngx.eof()
  if #events > 0 then
    if opts and opts.sync then
      M.dispatch(handlers, events)
    else
      local ok, terr = ngx.timer.at(0, timer, handlers, events)
      if not ok then ngx.log(ngx.ERR, "whatsapp.inbound: cannot start the handlers' timer: ", terr) end
    end
  end
  return status
end

return M

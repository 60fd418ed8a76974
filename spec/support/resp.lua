-- A small Redis client over nginx cosockets with the API of lua-resty-redis
-- that the rate limiter uses (connect, eval, set_keepalive, close): Debian
-- ships no lua-resty-redis, and the specs stand in for a user's connection
-- with this. Replies: integers, bulk and status strings, errors, arrays.
local R = {}
R.__index = R

function R.connect(host, port)
  local sock = ngx.socket.tcp()
  sock:settimeout(1000)
  local ok, err = sock:connect(host, port)
  if not ok then return nil, err end
  return setmetatable({ sock = sock }, R)
end

local function read_reply(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local kind, rest = line:sub(1, 1), line:sub(2)
  if kind == ":" then return tonumber(rest) end
  if kind == "+" then return rest end
  if kind == "-" then return nil, rest end
  if kind == "$" then
    local n = tonumber(rest)
    if n < 0 then return ngx.null end
    local data, derr = sock:receive(n + 2)
    if not data then return nil, derr end
    return data:sub(1, n)
  end
  if kind == "*" then
    local out = {}
    for i = 1, tonumber(rest) do
      local v, verr = read_reply(sock)
      if v == nil then return nil, verr end
      out[i] = v
    end
    return out
  end
  return nil, "bad reply: " .. line
end

function R:eval(...)
  local args = { "EVAL", ... }
  local parts = { "*" .. #args .. "\r\n" }
  for _, a in ipairs(args) do
    a = tostring(a)
    parts[#parts + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
  end
  local ok, err = self.sock:send(table.concat(parts))
  if not ok then return nil, err end
  return read_reply(self.sock)
end

function R:set_keepalive(timeout, size)
  return self.sock:setkeepalive(timeout, size)
end

function R:close()
  return self.sock:close()
end

return R

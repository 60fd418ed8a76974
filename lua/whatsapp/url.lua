--- The one URL parser (RFC 3986's generic syntax, for http and https URLs):
-- the endpoint option (config), the STS endpoint, the container credentials
-- URL and the cosocket transport all read URLs through it, each keeping its
-- own rules on the parts.
local M = {}

local DEFAULT_PORT = { http = 80, https = 443 }

--- Splits url. -> parts, or nil when it is not an absolute URL. parts:
-- scheme (lowercased), userinfo (nil when absent), host (lowercased; an IPv6
-- address without its brackets), ipv6 (true when bracketed), port (a number,
-- nil when absent or empty), port_text (as written after ':', nil when
-- absent), path ("" when absent), query and fragment (nil when absent),
-- authority (as written), default_port (80 or 443 for http and https).
function M.parse(url)
  local scheme, rest = url:match("^(%a[%w+.-]*):(.*)$")
  if not scheme or rest:sub(1, 2) ~= "//" then return nil end
  local authority, tail = rest:match("^//([^/?#]*)(.*)$")
  local path, query, fragment = tail:match("^([^?#]*)(.*)$")
  if query ~= "" then
    local q, f = query:match("^%?([^#]*)(.*)$")
    if q then query, fragment = q, f else query, fragment = nil, query end
    fragment = fragment ~= "" and fragment:sub(2) or nil
  else
    query = nil
  end
  local userinfo, hostport = authority:match("^(.*)@(.*)$")
  if not userinfo then hostport = authority end
  local host, after = hostport:match("^%[([^%]]*)%](.*)$")
  local ipv6, port_text = host ~= nil, nil
  if ipv6 then
    if after ~= "" then
      port_text = after:match("^:(.*)$")
      if not port_text then return nil end -- "[::1]x"
    end
  else
    host, port_text = hostport:match("^([^:]*):(.*)$")
    if not host then host = hostport end
  end
  scheme = scheme:lower()
  return {
    scheme = scheme, userinfo = userinfo, host = host:lower(), ipv6 = ipv6,
    port = port_text and port_text:find("^%d+$") and tonumber(port_text) or nil, port_text = port_text,
    path = path, query = query, fragment = fragment, authority = authority,
    default_port = DEFAULT_PORT[scheme],
  }
end

--- Whether the port is absent, or digits in 1..65535 (an empty one, as in
-- "http://h:/", is refused: no user of this module writes one).
function M.good_port(parts)
  if parts.port_text == nil then return true end
  return parts.port ~= nil and parts.port >= 1 and parts.port <= 65535
end

--- The Host header of a parsed http(s) URL: the host (an IPv6 address in
-- brackets), and the port unless it is the scheme's.
function M.host_header(parts)
  local h = parts.ipv6 and "[" .. parts.host .. "]" or parts.host
  if parts.port and parts.port ~= parts.default_port then h = h .. ":" .. parts.port end
  return h
end

return M

-- luacheck: std lua54
-- Writes the seed corpora in fuzz/corpus/<target>/ (committed; rerun after
-- changing an input format):
--   lua5.4 -e 'package.cpath="build/lua5.4/?.so"' fuzz/mkseeds.lua [path/to/fixtures]
-- response: answers as the service and the stand-in send them; encode:
-- programs building real messages and hostile tables; json_text: message
-- texts; sigv4: the aws-c-auth SigV4 vectors' requests and our own send.
local core = require "whatsapp.core"

local shared = arg[1] or "spec/fixtures"
local root = "fuzz/corpus/"

local function write(target, name, bytes)
  os.execute("mkdir -p " .. root .. target)
  local f = assert(io.open(root .. target .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- response -----------------------------------------------------------------

local RID = "x-amzn-RequestId: 5f0c3a52-3b8e-4f43-9d7e-2a4c1b1c0e11\r\n"
local DATE = "Date: Mon, 30 Sep 2024 12:00:00 GMT\r\n"
local function answer(status, headers, body)
  return "HTTP/1.1 " .. status .. "\r\n" .. DATE .. "Content-Type: application/json\r\n" .. headers
    .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
end
write("response", "ok", answer("200 OK", RID, '{"messageId":"9b2f1c4e-0d3a-4c2b-8e6f-1a2b3c4d5e6f"}'))
write("response", "error-header", answer("429 Too Many Requests", RID
  .. "x-amzn-ErrorType: ThrottledRequestException:http://internal.amazon.com/coral/com.amazonaws.socialmessaging/\r\n"
  .. "x-amz-retry-after: 1500\r\n", '{"message":"Rate exceeded"}'))
write("response", "error-body-type", answer("400 Bad Request", RID,
  '{"__type":"com.amazonaws.socialmessaging#ValidationException","message":"1 validation error detected"}'))
write("response", "error-body-code", answer("403 Forbidden", RID,
  '{"code":"AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/x is not authorized"}'))
write("response", "continue", "HTTP/1.1 100 Continue\r\n\r\n" .. answer("200 OK", RID, '{"messageId":"m"}'))
write("response", "h2", "HTTP/2 200\r\ncontent-type: application/json\r\nx-amzn-requestid: r\r\n"
  .. "date: Mon, 30 Sep 2024 12:00:00 GMT\r\n\r\n{\"messageId\":\"m\"}")
write("response", "values", answer("200 OK", "X-Odd:\t spaced value \t\r\nNoValue:\r\n",
  '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\ud83d\\udc4b"],"b":{"c":{}},"d":[]}'))
write("response", "garbage", answer("502 Bad Gateway", "", "<html>this is not JSON {"))
write("response", "bare-lf", "HTTP/1.1 200 OK\nx-amzn-RequestId: r\n\n{\"messageId\":\"m\"}")

-- encode ---------------------------------------------------------------------

local P = {}
function P.str(s) assert(#s < 256) return string.char(0, #s) .. s end
function P.big(k, c) return string.char(1, k, 0, c:byte()) end -- k * 256 bytes of c
function P.int(n) return string.char(2) .. string.pack("<i8", n) .. "\0" end
function P.float(d) return string.char(3) .. string.pack("<d", d) end
function P.bool(b) return string.char(4, b and 1 or 0) end
P.null = string.char(5)
P.table = string.char(6, 0)
P.array = string.char(6, 1)
P.set = string.char(7)
P.append = string.char(8)
function P.seti(i) return string.char(9, i & 255) end
P.self = string.char(10, 0, 1)
function P.nest(k) return string.char(11, k) end
P.pop = string.char(12)
P.func = string.char(14, 0)
function P.floatkey(d) return string.char(15) .. string.pack("<d", d) end
function P.keys(k) return string.char(17, k) end

local function field(k, v) return P.str(k) .. v .. P.set end
local text = P.table .. field("to", P.str("+14255550123")) .. field("type", P.str("text"))
  .. P.str("text") .. P.table .. field("body", P.str("Hello")) .. field("preview_url", P.bool(false)) .. P.set
write("encode", "text", "\1" .. text)
write("encode", "interactive", "\1" .. P.table .. field("to", P.str("+1")) .. field("type", P.str("interactive"))
  .. P.str("interactive") .. P.table .. P.str("action") .. P.table .. P.str("buttons") .. P.array
  .. P.table .. field("id", P.str("b1")) .. field("title", P.str("Yes \u{1F44D}")) .. P.append
  .. P.table .. field("id", P.str("b2")) .. field("title", P.str("No")) .. P.append
  .. P.set .. P.set .. P.set)
write("encode", "numbers", "\0" .. P.array .. P.int(0) .. P.append .. P.int(-1) .. P.append
  .. P.int(math.maxinteger) .. P.append .. P.float(0.5) .. P.append .. P.float(-0.0) .. P.append
  .. P.float(1e300) .. P.append .. P.float(2 ^ 53) .. P.append .. P.float(5e-324) .. P.append)
write("encode", "nan-inf", "\0" .. P.table .. field("n", P.float(0 / 0)) .. P.array .. P.float(math.huge) .. P.append)
write("encode", "cycle", "\1" .. P.table .. P.str("text") .. P.table .. P.self .. P.set)
write("encode", "deep", "\1" .. P.str("x") .. P.nest(255))
write("encode", "deep-64", "\0" .. P.str("x") .. P.nest(1) .. P.nest(1) .. string.rep(P.nest(0), 60))
write("encode", "bytes", "\1" .. P.table .. field("nul", P.str("a\0b")) .. field("bad", P.str("caf\233"))
  .. field("surrogate", P.str("\237\160\128")) .. field("ctl", P.str("\1\31\127\"\\")) .. P.str("k\255") .. P.int(1)
  .. P.set)
write("encode", "big", "\1" .. P.table .. P.str("body") .. P.big(255, "a") .. P.set)
write("encode", "holes-mixed", "\0" .. P.table .. P.int(1) .. P.seti(3) .. P.table .. P.int(1) .. P.append
  .. field("k", P.int(2)) .. P.table .. P.int(1) .. P.floatkey(1.5) .. P.table .. P.int(1) .. P.seti(-1)
  .. P.array .. field("k", P.int(1)) .. P.table .. P.str("f") .. P.func .. P.set)
write("encode", "many-keys", "\1" .. P.table .. P.keys(255))

-- json_text ------------------------------------------------------------------

local texts = {
  text = '{"to":"+14255550123","type":"text","text":{"body":"Hello","preview_url":false}}',
  product = '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1","type":"text",'
    .. '"text":{"body":"caf\\u00e9 \\ud83d\\udc4b \\" \\\\ \\/ \\b\\f\\n\\r\\t"}}',
  template = '{ "to" : "+1", "type" : "template", "template" : { "name" : "hello_world",\n'
    .. '  "language" : { "code" : "en_US" }, "components" : [ { "type" : "body", "parameters" :'
    .. ' [ { "type" : "text", "text" : "x" }, { "type" : "currency", "currency" : { "amount_1000" : 100990,'
    .. ' "fallback_value" : "$100.99" } } ] } ] } }',
  numbers = '{"a":[0,-0,1.5,-2e10,3E+2,4e-3,12345678901234567890],"b":true,"c":false,"d":null,"e":{},"f":[]}',
  empty = "{}",
  spaces = ' \t\r\n{ \t\r\n} \t\r\n',
  utf8 = '{"to":"+1","type":"text","text":{"body":"olá 👋 \u{10FFFF}"}}',
}
for name, t in pairs(texts) do
  write("json_text", name, "\1" .. t)
  write("json_text", name .. "-as-is", "\0" .. t)
end
write("json_text", "deep", "\1" .. string.rep('{"a":', 64) .. "1" .. string.rep("}", 64))

-- sigv4 ------------------------------------------------------------------------

local function lp(s)
  assert(#s < 256, "field too long for the seed format")
  return string.char(#s) .. s
end

-- the request parser of spec/sigv4_spec.lua
local function parse_request(t)
  local lines, body = {}, ""
  local head, rest = t:match("^(.-)\r?\n\r?\n(.*)$")
  if head then body = rest else head = t end
  for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  local path, query = target:match("^([^?]*)%?(.*)$")
  if not path then path = target end
  local headers = {}
  for i = 2, #lines do
    local line = lines[i]
    if line:find("^%s") and #headers > 0 then
      headers[#headers][2] = headers[#headers][2] .. "\n" .. line
    elseif line ~= "" then
      local name, value = line:match("^([^:]+):(.*)$")
      headers[#headers + 1] = { name, value }
    end
  end
  return method, path, query or "", headers, body
end

local function sigv4_seed(flags, method, path, query, headers, body)
  local s = string.char(flags) .. lp(method) .. lp(path) .. lp(query) .. lp(core.sha256_hex(body))
    .. string.char(#headers)
  for _, h in ipairs(headers) do s = s .. lp(h[1]) .. lp(h[2]) end
  return s
end

local suite = shared .. "/aws/sigv4-testsuite/aws-c-auth/v4/"
local p = assert(io.popen('ls -1 "' .. suite .. '"'))
local count = 0
for case in p:lines() do
  local req = read(suite .. case .. "/request.txt")
  local ctx = read(suite .. case .. "/context.json") or ""
  if req then
    local method, path, query, headers, body = parse_request(req)
    local normalize = ctx:find('"normalize"%s*:%s*false') and 0 or 1
    table.insert(headers, { "X-Amz-Date", "20150830T123600Z" })
    write("sigv4", case, sigv4_seed(normalize | 2, method, path, query, headers, body))
    count = count + 1
  end
end
p:close()
assert(count >= 30, "no SigV4 vectors under " .. suite)
local body = '{"message":"e30=","metaApiVersion":"v20.0","originationPhoneNumberId":"phone-number-id-1"}'
write("sigv4", "send", sigv4_seed(1 | 2 | 4, "POST", "/v1/whatsapp/send", "", {
  { "content-type", "application/json" }, { "host", "social-messaging.us-east-1.amazonaws.com" },
  { "x-amz-date", "20150830T123600Z" }, { "x-amz-security-token", "token/EXAMPLE+token==" },
}, body))
-- with its own credentials, scope and timestamp (flag 0x10)
write("sigv4", "credentials", sigv4_seed(0x10 | 3, "GET", "/", "a=1&b", { { "Host", "x" } }, "")
  .. lp("AKIDEXAMPLE") .. lp("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") .. lp("eu-west-1") .. lp("social-messaging")
  .. lp("20240930T120000Z"))
-- head -------------------------------------------------------------------------
-- what the OpenResty transport has read off a cosocket when it asks core.parse_head

local OK = answer("200 OK", RID, '{"messageId":"m"}')
write("head", "ok", OK)
write("head", "interim", "HTTP/1.1 100 Continue\r\n\r\n"
  .. "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" .. OK)
write("head", "fold-repeat", "HTTP/1.0 200 OK\nX-A: one\r\n  two\r\n\tthree\r\nx-a: b\r\nEmpty:\r\nX-A:c \r\n\r\n")
write("head", "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
  .. '7\r\n{"a":1}\r\n0\r\n\r\n')
write("head", "partial", "HTTP/1.1 200 OK\r\nContent-Len")
write("head", "bad-field", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n")
write("head", "not-http", "220 smtp.example.com ESMTP\r\n")

print("seeds written under " .. root)

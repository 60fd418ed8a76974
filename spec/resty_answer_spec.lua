-- The cosocket transport's two readers inside a real nginx: a send's common
-- answer is taken whole from the first read (core.send_answer), anything
-- else by the general reader, starting from the bytes already read. The
-- same nginx plays the service (locations under /svc/) and sends to it from
-- a handler (/send?mode=...&n=...).
local N = require "spec.support.nginx_lua"
local core = require "whatsapp.core"

local ID = "4d9a2c1e-7b3f-4e5a-8c6d-1f2e3d4c5b6a"

describe("OpenResty transport, the common answer and the general reader", function()
  local nginx, probe

  setup(function()
    nginx = N.start {
      server = [[
        location = /__ready { return 200 "ready"; }
        # the common answer, on a kept-alive connection
        location = /svc/keep/v1/whatsapp/send {
          default_type application/json;
          return 200 '{"messageId":"]] .. ID .. [["}';
        }
        # the common answer, then the connection closed (Connection: close)
        location = /svc/close/v1/whatsapp/send {
          keepalive_requests 1;
          default_type application/json;
          return 200 '{"messageId":"]] .. ID .. [["}';
        }
        # the head first, the body a moment later: the first read holds no whole answer
        location = /svc/split/v1/whatsapp/send { content_by_lua_block {
          ngx.req.discard_body()
          ngx.header["Content-Type"] = "application/json"
          ngx.header["Content-Length"] = 52
          ngx.send_headers()
          ngx.flush(true)
          ngx.sleep(0.05)
          ngx.print('{"messageId":"]] .. ID .. [["}')
        } }
        # chunked, and an id among other members: not the common answer
        location = /svc/chunked/v1/whatsapp/send { content_by_lua_block {
          ngx.req.discard_body()
          ngx.header["Content-Type"] = "application/json"
          ngx.print('{"messageId":')
          ngx.flush(true)
          ngx.print('"]] .. ID .. [["}')
        } }
        location = /svc/members/v1/whatsapp/send {
          default_type application/json;
          return 200 '{"other":[1,2],"messageId":"]] .. ID .. [["}';
        }
        # a throttled answer: status, code and request id come through the general reader
        location = /svc/throttled/v1/whatsapp/send {
          default_type application/json;
          add_header x-amzn-RequestId req-0123 always;
          add_header x-amzn-ErrorType ThrottledRequestException always;
          return 429 '{"message":"slow down"}';
        }
        location = /send { content_by_lua_block {
          local whatsapp = require "whatsapp"
          local args = ngx.req.get_uri_args()
          local client = assert(whatsapp.new {
            transport = "resty", region = "us-east-1", max_attempts = 1, timeout = 5,
            endpoint = "http://127.0.0.1:" .. ngx.var.server_port .. "/svc/" .. args.mode,
            phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef",
            credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret/EXAMPLE/key" },
          })
          local ids, codes = {}, {}
          for i = 1, tonumber(args.n) do
            local id, err = client:send { to = "+14255550123", type = "text", text = { body = "hi" } }
            ids[i] = id or whatsapp.null
            codes[i] = err and (err.code .. " " .. err.status .. " " .. tostring(err.request_id)) or whatsapp.null
          end
          local st = client:stats()
          ngx.say(whatsapp.encode { ids = ids, codes = codes, connections = st.connections, reused = st.reused })
        } }
      ]],
    }
    probe = core.new_client { connect_timeout_ms = 2000, timeout_ms = 30000 }
  end)

  teardown(function()
    if probe then probe:close() end
    N.stop(nginx)
  end)

  local function sends(mode, n)
    local status, body = probe:request("GET", nginx.url .. "/send?mode=" .. mode .. "&n=" .. n)
    assert.are.equal(200, status, body)
    return core.decode(body)
  end

  local function ids(n)
    local t = {}
    for i = 1, n do t[i] = ID end
    return t
  end

  -- (every /send makes a client, but the worker's pool is per host and port:
  -- a client's first send may take a connection an earlier one kept)
  local function one_connection(r, n, what)
    assert.is_true(r.connections <= 1, what .. ": " .. r.connections .. " connections")
    assert.are.equal(n, r.connections + r.reused, what)
  end

  it("takes the common answer and keeps the connection: one connection for every send", function()
    local r = sends("keep", 5)
    assert.are.same(ids(5), r.ids)
    one_connection(r, 5, "keep")
  end)

  it("closes a connection the common answer says is closing (Connection: close)", function()
    local r = sends("close", 4)
    assert.are.same(ids(4), r.ids)
    assert.are.equal(4, r.connections + r.reused)
    assert.is_true(r.reused <= 1, r.reused .. " reused") -- a pooled one for the first, then a new one each
  end)

  it("reads on from the first bytes when the answer comes in pieces, and keeps the connection", function()
    for _, mode in ipairs { "split", "chunked", "members" } do
      local r = sends(mode, 3)
      assert.are.same(ids(3), r.ids, mode)
      one_connection(r, 3, mode)
    end
  end)

  it("gives other answers to the general reader: status, error type and request id", function()
    local r = sends("throttled", 2)
    assert.are.same({ "ThrottledRequestException 429 req-0123", "ThrottledRequestException 429 req-0123" },
      r.codes)
    one_connection(r, 2, "throttled")
  end)

  it("logs no error of its own", function()
    for line in N.log(nginx):gmatch("[^\n]+") do
      assert.is_nil(line:find("%[alert%]") or line:find("%[crit%]") or line:find("%[emerg%]"), line)
      assert.is_nil(line:find("%[error%]"), line)
    end
  end)
end)

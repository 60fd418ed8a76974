-- The one URL parser (lua/whatsapp/url.lua) and the rules its users keep on
-- the parts: the endpoint option, the STS endpoint, the container
-- credentials URL.
local urls = require "whatsapp.url"
local config = require "whatsapp.config"
local container = require "whatsapp.credentials.container"

describe("url.parse", function()
  it("splits an http(s) URL into its parts", function()
    local u = assert(urls.parse("HTTPS://User:Pw@Example.COM:8443/a/b?x=1&y#frag"))
    assert.are.same({
      scheme = "https", userinfo = "User:Pw", host = "example.com", ipv6 = false, port = 8443, port_text = "8443",
      path = "/a/b", query = "x=1&y", fragment = "frag", authority = "User:Pw@Example.COM:8443", default_port = 443,
    }, u)
  end)

  it("reads IPv6 hosts, absent and empty ports, and empty paths", function()
    local u = assert(urls.parse("http://[::1]:8080"))
    assert.are.same({ "::1", true, 8080, "" }, { u.host, u.ipv6, u.port, u.path })
    u = assert(urls.parse("http://[FD00:EC2::23]/x"))
    assert.are.same({ "fd00:ec2::23", true, nil, nil }, { u.host, u.ipv6, u.port, u.port_text })
    u = assert(urls.parse("http://h:/"))
    assert.are.same({ "h", "", nil }, { u.host, u.port_text, u.port })
    assert.is_false(urls.good_port(u))
    u = assert(urls.parse("http://h?q"))
    assert.are.same({ "", "q" }, { u.path, u.query })
    assert.is_nil(urls.parse("http://[::1]x/"))
    assert.is_nil(urls.parse("no-scheme/path"))
    assert.is_nil(urls.parse("mailto:someone@example.com"))
  end)

  it("keeps the port in the Host header only when it is not the scheme's", function()
    assert.are.equal("h", urls.host_header(urls.parse("https://h:443/")))
    assert.are.equal("h:80", urls.host_header(urls.parse("https://h:80/")))
    assert.are.equal("[::1]:8080", urls.host_header(urls.parse("http://[::1]:8080/")))
    assert.is_false(urls.good_port(urls.parse("http://h:65536/")))
    assert.is_false(urls.good_port(urls.parse("http://h:x/")))
  end)
end)

describe("the URL rules of each user", function()
  it("the endpoint option", function()
    local function rule(s) return select(2, config.parse_endpoint(s)) end
    assert.are.equal("must use http or https", rule("ftp://h"))
    assert.are.equal("must not contain user information", rule("https://u@h"))
    assert.matches("no query or fragment", rule("https://h/?x"))
    assert.matches("no query or fragment", rule("https://h/#x"))
    assert.are.equal("has no host", rule("https://:443"))
    assert.are.equal("has a bad port", rule("https://h:0"))
    assert.are.equal("has a bad port", rule("https://h:"))
    assert.matches("character no host name holds", rule("https://h_x"))
    local ep = assert(config.parse_endpoint("HTTPS://[::1]:8443/base//"))
    assert.are.same({ "https", "[::1]:8443", "/base/v1/whatsapp/send", "https://[::1]:8443/base/v1/whatsapp/send" },
      { ep.scheme, ep.host_header, ep.path, ep.url })
  end)

  it("the container credentials URL", function()
    assert.is_nil(container.check_full_uri("http://[::1]:80/creds"))
    assert.is_nil(container.check_full_uri("https://anywhere.example/creds"))
    assert.is_nil(container.check_full_uri("http://127.0.0.9/creds"))
    assert.are.equal("must not hold user information", container.check_full_uri("http://a@127.0.0.1/"))
    assert.are.equal("is not a URL", container.check_full_uri("127.0.0.1/creds"))
    assert.matches("only allowed to a loopback", container.check_full_uri("http://example.com/"))
  end)
end)

describe("a plain HTTP handle of the core (made without a url)", function()
  local H = require "spec.support.helper"
  local core = require "whatsapp.core"

  it("makes requests, and refuses to send a message with an error that says why", function()
    local h = core.new_client { connect_timeout_ms = 2000, timeout_ms = 5000 }
    local status, body = h:request("GET", H.http .. "/_standin/stats")
    assert.are.equal(200, status)
    assert.is_table(core.decode(body))
    local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
    local msg = { to = "+14255550123", type = "text", text = { body = "x" } }
    for _, send in ipairs {
      function() return h:send(msg, H.PHONE, "v20.0", creds) end,
      function() return h:prepare(msg, H.PHONE, "v20.0", creds) end,
    } do
      local ok, err = pcall(send)
      assert.is_false(ok)
      assert.matches("made without a url: it only makes requests", err)
    end
    h:close()
    assert.has_error(function() h:request("GET", H.http .. "/_standin/stats") end, "whatsapp client is closed")
  end)
end)

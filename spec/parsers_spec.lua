-- The small parsers under the credential chain: the AWS shared-file INI
-- dialect (cases from the SDKs' common profile-parser tests), the XML of STS
-- answers, and ISO 8601 expirations.
local ini = require "whatsapp.credentials.ini"
local time = require "whatsapp.time"
local xml = require "whatsapp.credentials.xml"

local function profiles(config_text, credentials_text)
  local out = {}
  for _, pair in ipairs { { config_text, "config" }, { credentials_text, "credentials" } } do
    if pair[1] then
      local sections, err = ini.parse(pair[1])
      if not sections then return nil, err end
      for name, props in pairs(ini.profiles(sections, pair[2]).profiles) do
        out[name] = out[name] or {}
        for k, v in pairs(props) do out[name][k] = v end
      end
    end
  end
  return out
end

describe("shared-file INI", function()
  it("reads profiles, properties, comments and continuations", function()
    local cases = {
      { "", {} },
      { "[profile foo]", { foo = {} } },
      { "[profile \tfoo \t]", { foo = {} } },
      { "[profile\tfoo]", { foo = {} } },
      { "[profile foo]\r\nname = value", { foo = { name = "value" } } },
      { "[profile foo]\nname = val=ue", { foo = { name = "val=ue" } } },
      { "[profile foo]\nname \t=  \tvalue \t", { foo = { name = "value" } } },
      { "[profile foo]\nname =", { foo = { name = "" } } },
      { "\t \n[profile foo]\n\t\n \nname = value\n\t \n[profile bar]\n \t",
        { foo = { name = "value" }, bar = {} } },
      { "# Comment\n[profile foo] # Comment\nname = value # Comment with # sign", { foo = { name = "value" } } },
      { "; Comment\n[profile foo] ; Comment\nname = value ; Comment with ; sign", { foo = { name = "value" } } },
      { "[profile foo]; Adjacent semicolons\n[profile bar]# Adjacent pound signs", { foo = {}, bar = {} } },
      { "[profile foo]\nname = value; Adjacent semicolons\nname2 = value# Adjacent pound signs",
        { foo = { name = "value; Adjacent semicolons", name2 = "value# Adjacent pound signs" } } },
      { "[profile foo]\nname = value\n -continued\n -and-continued",
        { foo = { name = "value\n-continued\n-and-continued" } } },
      { "[profile foo]\nname = value\n \t -continued # Comment \t ",
        { foo = { name = "value\n-continued # Comment" } } },
      { "[profile foo]\nname = value\n[profile foo]\nname2 = value2", { foo = { name = "value", name2 = "value2" } } },
      { "[profile foo]\nname = value\nname = value2", { foo = { name = "value2" } } },
      { "[profile default]\nname = value\n[default]\nname2 = value2", { default = { name = "value" } } },
      { "[default]\nname2 = value2\n[profile default]\nname = value", { default = { name = "value" } } },
      { "[profile in valid]\nname = value", {} },
      { "[profile foo]\nin valid = value\n  more", { foo = {} } },
      { "[profile foo]\ns3 =\n name = value\n\t \n name2 = value2",
        { foo = { s3 = { name = "value", name2 = "value2" } } } },
      { "[profile foo]\ns3 =\n in valid = value\n valid = value", { foo = { s3 = { valid = "value" } } } },
      { "[foo]\nname = value", {} },
      { "\239\187\191[default]\nregion = x", { default = { region = "x" } } },
    }
    for i, case in ipairs(cases) do
      assert.are.same(case[2], assert(profiles(case[1])), "case " .. i)
    end
    assert.are.same({ foo = { name = "value", name2 = "value2" } },
      profiles("[profile foo]\nname = value", "[foo]\nname2 = value2"))
    assert.are.same({ foo = { name = "value2" } }, profiles("[profile foo]\nname = value", "[foo]\nname = value2"))
    assert.are.same({}, profiles(nil, "[profile foo]\nname = value"))
  end)

  it("refuses broken lines, naming the line but not its text", function()
    local cases = {
      { "[profile foo", 1 },
      { "name = value", 1 },
      { "[profile foo]\n= value", 2 },
      { "[profile foo]\nkey : secretvalue", 2 },
      { " -continued", 1 },
      { "[profile foo]\n -continued", 2 },
      { "[profile foo]\nname = value\n[profile foo]\n -continued", 4 },
      { "[profile foo]\ns3 =\n invalid", 3 },
      { "[profile foo]\ns3 =\n = value", 3 },
      { "[profile foo] trailing", 1 },
    }
    for _, case in ipairs(cases) do
      local sections, err = ini.parse(case[1])
      assert.is_nil(sections, case[1])
      assert.matches("^line " .. case[2] .. ": ", err)
      assert.is_nil(err:find("secretvalue", 1, true))
    end
  end)

  it("keeps other config sections apart", function()
    local p = ini.profiles(assert(ini.parse("[services s]\nsts =\n  endpoint_url = http://x\n[sso-session a]\nk = v")),
      "config")
    assert.are.same({ sts = { endpoint_url = "http://x" } }, p.sections.services.s)
    assert.are.same({ k = "v" }, p.sections["sso-session"].a)
  end)
end)

describe("XML of query-protocol answers", function()
  it("reads elements, text, entities, CDATA and namespaces", function()
    local doc = assert(xml.parse([==[<?xml version="1.0" encoding="UTF-8"?>
<sts:R xmlns:sts="https://sts.amazonaws.com/doc/2011-06-15/" a='1'>
  <!-- a comment -->
  <Result><Credentials>
    <AccessKeyId>ASIA&amp;&#65;&#x42;</AccessKeyId><Token><![CDATA[a<b>&c]]></Token><Empty/>
  </Credentials></Result>
</sts:R>]==]))
    assert.are.equal("R", doc.name)
    assert.are.equal("ASIA&AB", xml.find(doc, "Result", "Credentials", "AccessKeyId").text)
    assert.are.equal("a<b>&c", xml.find(doc, "Result", "Credentials", "Token").text)
    assert.are.equal("", xml.find(doc, "Result", "Credentials", "Empty").text)
    assert.is_nil(xml.find(doc, "Result", "Nope"))
  end)

  it("refuses what is not well-formed, without quoting it", function()
    for _, bad in ipairs {
      "", "not xml at all", "<a>", "<a></b>", "<a><b></a></b>", "<a>x</a><b/>", "<a>&bogus;</a>", "<a>&amp</a>",
      "<a>&#0;</a>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "<a b=c/>", "<a><!-- open</a>",
      "<a><![CDATA[open</a>", "<html><body>Service Unavailable", "<a>1 < 2</a>", string.rep("<a>", 100),
      "</a>", "<1a/>",
    } do
      local doc, why = xml.parse(bad)
      assert.is_nil(doc, bad)
      assert.is_string(why)
      assert.is_nil(why:find("Service Unavailable", 1, true))
    end
    assert.is_nil(xml.parse(string.rep(" ", 1024 * 1024 + 1)))
    assert.is_nil(xml.parse(42))
  end)
end)

describe("ISO 8601 times", function()
  it("parse to epoch seconds in UTC whatever the local zone", function()
    assert.are.equal(0, time.parse_iso8601("1970-01-01T00:00:00Z"))
    assert.are.equal(1700000000, time.parse_iso8601("2023-11-14T22:13:20Z"))
    assert.are.equal(1700000000, time.parse_iso8601("2023-11-14T22:13:20.123456Z"))
    assert.are.equal(1700000000, time.parse_iso8601("2023-11-15T00:13:20+02:00"))
    assert.are.equal(1700000000, time.parse_iso8601("2023-11-14T17:13:20-0500"))
    assert.are.equal(951782400, time.parse_iso8601("2000-02-29T00:00:00Z"))
    assert.are.equal(4102444800, time.parse_iso8601("2100-01-01T00:00:00Z"))
    for _, bad in ipairs { "2023-11-14", "2023-13-01T00:00:00Z", "2023-11-14T22:13:20", "soon", "", 5,
      "2023-02-30T00:00:00Z", "2023-11-14T25:00:00Z" } do
      assert.is_nil(time.parse_iso8601(bad), tostring(bad))
    end
    assert.are.equal("2023-11-14T22:13:20Z", time.iso8601(1700000000))
    assert.are.equal("20231114T221320Z", time.amz_date(1700000000))
  end)
end)

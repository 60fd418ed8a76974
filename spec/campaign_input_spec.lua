-- whatsapp.campaign.input: JSON lines and CSV read into items (line
-- numbers of the file, the message bytes and their hash, or the error
-- naming the field), and the journal read back (torn tail, decisions).
local input = require "whatsapp.campaign.input"
local journal = require "whatsapp.campaign.journal"
local core = require "whatsapp.core"

describe("campaign input", function()
  local T = { template = "order_update", language = "en_US" }

  it("numbers CSV records by the line they start on (quoted line breaks, CRLF, a byte order mark)", function()
    local items = assert(input.read("\239\187\191to,body.1\r\n+14255550123,\"two\nlines\"\r\n\r\n+14255550124,x\r\n",
      "csv", T))
    assert.are.same({ 2, 5 }, { items[1].line, items[2].line })
    local msg = core.decode(items[1].json)
    assert.are.equal("two\nlines", msg.template.components[1].parameters[1].text)
    assert.are.equal(core.sha256_hex(items[1].json), items[1].hash)
  end)

  it("hashes the same message to the same bytes, whatever the key order of a JSON line", function()
    local a = assert(input.read('{"to":"+14255550123","type":"text","text":{"body":"hi"}}\n', "jsonl"))[1]
    local b = assert(input.read('{"text":{"body":"hi"},"type":"text", "to":"+14255550123"}', "jsonl"))[1]
    assert.are.equal(a.json, b.json)
    assert.are.equal(a.hash, b.hash)
  end)

  it("leaves out empty button cells (false keeps the index) and fills missing positions", function()
    local items = assert(input.read("to,body.1,button.0,button.1.quick_reply\n+14255550123,a,,YES\n", "csv", T))
    local c = core.decode(items[1].json).template.components
    assert.are.same({ "body", "button" }, { c[1].type, c[2].type })
    assert.are.same({ "quick_reply", "1" }, { c[2].sub_type, c[2].index })
  end)

  it("reports a row with the wrong number of fields, and a broken quote for the whole file", function()
    local items = assert(input.read("to,body.1\n+14255550123,a,b\n", "csv", T))
    assert.are.same({ "line", 2 }, { items[1].err.field, items[1].line })
    local none, why = input.read('to,body.1\n+14255550123,"open\n', "csv", T)
    assert.is_nil(none)
    assert.matches("line 2: a quoted field is not closed", why, 1, true)
    assert.is_nil((input.read("", "csv", T)))
    assert.is_nil((input.read("to\n", "jsonl", T))) -- --template is for CSV
    assert.is_nil((input.read("a,b\n1,2\n", "csv", T)))
  end)

  it("reads a journal back: last state per line, decisions, a torn tail dropped", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write('{"attempt":1,"event":"start","hash":"aa","line":1}\n',
      '{"attempt":1,"event":"start","hash":"bb","line":2}\n',
      '{"attempt":1,"event":"start","hash":"cc","line":3}\n',
      '{"event":"sent","hash":"aa","line":1,"message_id":"m-1"}\n',
      '{"code":"ThrottledRequestException","event":"failed","hash":"bb","line":2,"retry":true}\n',
      '{"event":"sent","hash":"cc","li')
    f:close()
    local j = assert(journal.open(path))
    assert.is_true(j.torn)
    assert.are.same({ "done", "send", "ambiguous", "resend", "send" }, { journal.decide(j.states[1]),
      journal.decide(j.states[2]), journal.decide(j.states[3]), journal.decide(j.states[3], true),
      journal.decide(j.states[4]) })
    assert.are.equal("m-1", j.states[1].message_id)
    assert.are.equal(3, (j:changed_line { { line = 1, hash = "aa" }, { line = 2, hash = "bb" },
      { line = 3, hash = "zz" } }))
    j:close()
    f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    assert.are.equal("\n", text:sub(-1))
    assert.is_nil(text:find("li$"))
    os.remove(path)
  end)
end)

-- Lua value -> JSON (cJSON) and back, and the rules a message must follow.
local whatsapp = require "whatsapp"
local core = require "whatsapp.core"

local math_type = math.type -- luacheck: ignore 143 (Lua 5.3+ only)
local maxinteger = math.maxinteger -- luacheck: ignore 143

local function enc(v, product) return core.encode(v, product) end

describe("JSON encoding", function()
  it("keeps integers integers and floats exact", function()
    assert.are.equal('{"a":1,"b":-7,"c":0.5,"d":1e+300}', enc { a = 1, b = -7, c = 0.5, d = 1e300 })
    assert.are.equal("[9007199254740991]", enc { 9007199254740991 })
    if math_type then -- Lua 5.3+: 64-bit integers survive whole
      assert.are.equal("[9223372036854775807]", enc { maxinteger })
    end
  end)

  it("writes the largest doubles with the digits that read back as them, not as infinity", function()
    local max = 1.7976931348623157e308
    assert.are.equal("[1.7976931348623157e+308,-1.7976931348623157e+308]", enc { max, -max })
    assert.are.equal(max, core.decode(enc { max })[1])
  end)

  it("turns sequences into arrays and string keys into sorted objects", function()
    assert.are.equal('[1,"two",true,false]', enc { 1, "two", true, false })
    assert.are.equal('{"a":{"x":[1,2]},"m":"y","z":1}', enc { z = 1, m = "y", a = { x = { 1, 2 } } })
  end)

  it("sorts keys, whatever order the table was built in", function()
    local up, down, expected = {}, {}, {}
    for i = 1, 50 do up[string.format("k%02d", i)] = i end
    for i = 50, 1, -1 do down[string.format("k%02d", i)] = i end
    for i = 1, 50 do expected[i] = string.format('"k%02d":%d', i, i) end
    expected = "{" .. table.concat(expected, ",") .. "}"
    assert.are.equal(expected, enc(up))
    assert.are.equal(expected, enc(down))
  end)

  it("says an empty array with whatsapp.array, and {} is an object", function()
    assert.are.equal("{}", enc {})
    assert.are.equal("[]", enc(whatsapp.array {}))
    assert.are.equal('{"rows":[]}', enc { rows = whatsapp.array() })
    assert.are.equal("[1,2]", enc(whatsapp.array { 1, 2 }))
  end)

  it("escapes strings and keeps UTF-8 as it is", function()
    assert.are.equal('["a\\"b\\\\c\\n\\u0001"]', enc { 'a"b\\c\n\1' })
    assert.are.equal('["olá 👋"]', enc { "olá 👋" })
  end)

  it("encodes whatsapp.null as null", function()
    assert.are.equal('{"a":null}', enc { a = whatsapp.null })
  end)

  it("adds messaging_product only when asked and missing", function()
    assert.are.equal('{"messaging_product":"whatsapp","to":"1"}', enc({ to = "1" }, "whatsapp"))
    assert.are.equal('{"messaging_product":"other"}', enc({ messaging_product = "other" }, "whatsapp"))
    assert.are.equal('{"a":1,"messaging_product":"whatsapp","z":2}', enc({ z = 2, a = 1 }, "whatsapp"))
  end)

  local function refuses(value, field, pattern)
    local out, kind, msg, f = core.encode(value)
    assert.is_nil(out)
    assert.are.equal("invalid", kind)
    assert.are.equal(field, f)
    assert.matches(pattern, msg)
  end

  it("refuses cycles with the field named", function()
    local t = { text = {} }
    t.text.self = t
    refuses(t, "text.self", "cycle")
    local a = {}
    a[1] = a
    refuses(a, "[1]", "cycle")
  end)

  it("refuses NaN and infinity", function()
    refuses({ n = 0 / 0 }, "n", "NaN")
    refuses({ x = { 1, math.huge } }, "x[2]", "infinity")
    refuses({ -math.huge }, "[1]", "infinity")
  end)

  it("refuses functions, userdata and coroutines", function()
    refuses({ f = print }, "f", "function")
    refuses({ u = io.stdout }, "u", "userdata")
    refuses({ c = coroutine.create(print) }, "c", "thread")
  end)

  it("refuses mixed keys, holes and odd keys", function()
    refuses({ 1, 2, x = 3 }, "", "mixes")
    refuses({ [1] = 1, [3] = 3 }, "", "holes")
    refuses({ [1.5] = 1 }, "", "number key")
    refuses({ [true] = 1 }, "", "boolean key")
    refuses({ a = whatsapp.array { x = 1 } }, "a", "marked as an array")
  end)

  it("refuses nesting deeper than 64 levels, without a crash even at 10,000", function()
    local t = {}
    local cur = t
    for _ = 1, 63 do cur.n = {} cur = cur.n end
    assert.is_string(core.encode(t))
    for _ = 1, 10000 do cur.n = {} cur = cur.n end
    local out, _, msg = core.encode(t)
    assert.is_nil(out)
    assert.matches("nesting deeper than 64", msg)
  end)

  it("refuses strings that are not UTF-8, naming the field", function()
    refuses({ text = { body = "ok \255 no" } }, "text.body", "not valid UTF%-8")
    refuses({ "\237\160\128" }, "[1]", "not valid UTF%-8") -- a surrogate
    refuses({ "\192\175" }, "[1]", "not valid UTF%-8") -- overlong '/'
    refuses({ ["k\255"] = 1 }, '["k?"]', "key is not valid UTF%-8")
    refuses({ a = { ["x y"] = { "\255" } } }, 'a["x y"][1]', "UTF%-8")
  end)

  it("refuses NUL bytes instead of cutting the string short", function()
    refuses({ body = "a\0b" }, "body", "NUL")
  end)

  it("handles a 2 MB string", function()
    local big = string.rep("é", 1000000)
    local out = assert(core.encode { s = big })
    assert.are.equal(#big + 8, #out)
  end)
end)

describe("JSON decoding", function()
  it("gives tables, integers, booleans and null", function()
    local v = core.decode('{"a":[1,2.5,"x",true,null],"b":{"c":false}}')
    assert.are.equal(1, v.a[1])
    assert.are.equal(2.5, v.a[2])
    assert.are.equal("x", v.a[3])
    assert.is_true(v.a[4])
    assert.are.equal(whatsapp.null, v.a[5])
    assert.is_false(v.b.c)
    if math_type then assert.are.equal("integer", math_type(v.a[1])) end
  end)

  it("keeps arrays arrays when encoded again", function()
    assert.are.equal('{"a":[]}', core.encode(core.decode('{"a":[]}')))
  end)

  it("returns nil for text that is not JSON", function()
    local v, kind = core.decode("{oops")
    assert.is_nil(v)
    assert.are.equal("invalid", kind)
  end)
end)

describe("crypto helpers", function()
  it("hashes, MACs and base64s through OpenSSL", function()
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256_hex(""))
    -- RFC 4231 test case 2
    local mac = core.hmac_sha256("Jefe", "what do ya want for nothing?")
    assert.are.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      (mac:gsub(".", function(c) return string.format("%02x", c:byte()) end)))
    assert.are.equal("", core.base64(""))
    assert.are.equal("Zg==", core.base64("f"))
    assert.are.equal("Zm8=", core.base64("fo"))
    assert.are.equal("Zm9vYmFy", core.base64("foobar"))
  end)
end)

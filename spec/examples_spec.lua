-- The examples/ scripts run against the stand-in, configured through the
-- environment as in production, and everything they send arrives.
local H = require "spec.support.helper"

local function run_example(file)
  local cmd = table.concat({
    "env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u WHATSAPP_TO -u WHATSAPP_REPLY_TO -u WHATSAPP_CATALOG_ID",
    "AWS_ACCESS_KEY_ID=" .. H.creds.static.access_key_id,
    "AWS_SECRET_ACCESS_KEY='" .. H.creds.static.secret_access_key .. "'",
    "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_SOCIALMESSAGING=" .. H.http,
    "WHATSAPP_PHONE_NUMBER_ID=" .. H.PHONE,
    H.runtime, "-e", "'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path; package.cpath=\"build/"
      .. H.runtime .. "/?.so;\"..package.cpath'", file,
  }, " ")
  return H.run(cmd)
end

local function kinds(msgs)
  local seen = {}
  for _, m in ipairs(msgs) do
    local msg = m.message
    local kind = msg.status and "read" or msg.type
    if msg.type == "interactive" then kind = "interactive." .. msg.interactive.type end
    seen[kind] = (seen[kind] or 0) + 1
  end
  return seen
end

describe("examples", function()
  before_each(function()
    H.require_standin()
    H.reset()
  end)

  local function check(file, want)
    local out = run_example(file)
    assert.matches("exit=0", out)
    local printed = 0
    for _ in out:gmatch(": %x+%-%x+%-%x+%-%x+%-%x+\n") do printed = printed + 1 end
    local msgs = H.messages()
    assert.are.equal(printed, #msgs)
    local seen = kinds(msgs)
    for kind, n in pairs(want) do assert.are.equal(n, seen[kind], kind) end
    return msgs
  end

  it("text_media.lua sends text, every media kind, location, contacts, a reaction and a read receipt", function()
    local msgs = check("examples/text_media.lua", { text = 2, image = 1, video = 1, audio = 2, document = 1,
      sticker = 1, location = 1, contacts = 1, reaction = 1, read = 1 })
    assert.is_true(msgs[#msgs].message.typing_indicator ~= nil)
  end)

  it("interactive.lua sends every interactive kind", function()
    check("examples/interactive.lua", { ["interactive.button"] = 2, ["interactive.list"] = 1,
      ["interactive.cta_url"] = 1, ["interactive.flow"] = 2, ["interactive.product"] = 1,
      ["interactive.product_list"] = 1, ["interactive.catalog_message"] = 1,
      ["interactive.location_request_message"] = 1 })
  end)

  it("templates.lua sends every template shape", function()
    local msgs = check("examples/templates.lua", { template = 10 })
    local subs = {}
    for _, m in ipairs(msgs) do
      for _, c in ipairs(m.message.template.components or {}) do
        subs[c.sub_type or c.type] = true
      end
    end
    for _, kind in ipairs { "header", "body", "quick_reply", "url", "copy_code", "flow", "catalog", "mpm",
      "limited_time_offer", "carousel" } do
      assert.is_true(subs[kind], kind)
    end
  end)
end)

-- The README's Lua examples run as written (against the stand-in, whose
-- address comes from the environment as it would in production).
local H = require "spec.support.helper"

-- The Lua blocks in order, and those of each "## " section by its title.
local function lua_blocks()
  local f = assert(io.open("README.md", "rb"))
  local text = f:read("*a")
  f:close()
  local blocks, by_section = {}, {}
  for code in text:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
  local title, parts = "", {}
  local function flush()
    local list = by_section[title] or {}
    for code in table.concat(parts, "\n"):gmatch("```lua\n(.-)```") do list[#list + 1] = code end
    by_section[title] = list
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local heading = line:match("^## (.+)$")
    if heading then
      flush()
      title, parts = heading, {}
    else
      parts[#parts + 1] = line
    end
  end
  flush()
  return blocks, by_section
end

local function run_block(code, env)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(code)
  f:close()
  local vars = {}
  for k, v in pairs(env) do vars[#vars + 1] = k .. "='" .. v .. "'" end
  local cmd = "env -u AWS_PROFILE " .. table.concat(vars, " ") .. " " .. H.runtime
    .. " -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path; package.cpath=\"build/"
    .. H.runtime .. "/?.so;\"..package.cpath' " .. tmp .. " 2>&1; echo \"exit=$?\""
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  os.remove(tmp)
  return out
end

describe("README", function()
  local blocks, sections = lua_blocks()
  local env = {
    AWS_ENDPOINT_URL_SOCIALMESSAGING = H.http or "",
    AWS_ACCESS_KEY_ID = H.creds.static.access_key_id,
    AWS_SECRET_ACCESS_KEY = H.creds.static.secret_access_key,
    AWS_REGION = "us-east-1",
    WHATSAPP_PHONE_NUMBER_ID = H.PHONE,
  }

  it("has Lua examples", function() assert.is_true(#blocks >= 2) end)

  it("quick example runs and reports the service's answer", function()
    H.require_standin()
    -- its placeholder keys are unknown to the service: it must print the failure
    local out = run_block(blocks[1], env)
    assert.matches("failed\tUnrecognizedClientException", out)
    assert.matches("exit=0", out)
  end)

  it("API example runs: explicit options fail at the service, the default client sends", function()
    H.require_standin()
    H.reset()
    local out = run_block(blocks[2], env)
    assert.matches("exit=0", out)
    assert.matches("nil\tUnrecognizedClientException", out) -- placeholder keys
    assert.are.equal(1, #H.messages()) -- whatsapp.send with the environment's keys
  end)

  local function block_with(text)
    for _, b in ipairs(blocks) do
      if b:find(text, 1, true) then return b end
    end
    error("no README Lua block holds " .. text)
  end

  it("retries example logs the retry of a throttled send, then sends", function()
    H.require_standin()
    H.reset()
    H.inject { status = 429 }
    local out = run_block(block_with("on_retry = function"), env)
    assert.matches("exit=0", out)
    assert.matches("attempt 1 failed %(ThrottledRequestException%), retrying in %d%.%d%d s", out)
    assert.are.equal(1, #H.messages())
    assert.matches(H.messages()[1].message_id, out, 1, true)
  end)

  it("Phone numbers examples: three lines find the number and send an image from S3; every call runs", function()
    H.require_standin()
    H.reset()
    local mine = sections["Phone numbers, media and the command line"] or {}
    assert.are.equal(2, #mine)
    local lines = 0
    for _ in mine[1]:gmatch("[^\n]+") do lines = lines + 1 end
    assert.are.equal(3, lines)
    local no_number = {}
    for k, v in pairs(env) do no_number[k] = v end
    no_number.WHATSAPP_PHONE_NUMBER_ID = nil -- the number found is the one used
    local out = run_block(mine[1], no_number)
    assert.matches("exit=0", out)
    local msgs = H.messages()
    local upload, send = msgs[#msgs - 1], msgs[#msgs]
    assert.are.equal("PostWhatsAppMessageMedia", upload.operation)
    assert.are.equal("SendWhatsAppMessage", send.operation)
    assert.are.equal(H.PHONE, upload.originationPhoneNumberId)
    assert.are.equal(H.PHONE, send.originationPhoneNumberId)
    assert.are.equal(upload.mediaId, send.message.image.id)
    assert.are.equal(send.message_id .. "\n", out:match("([^\n]*\n)exit="))

    H.reset()
    out = run_block(mine[2], env)
    assert.matches("exit=0", out)
    assert.matches("Lucky Shrub\t" .. H.PHONE:gsub("%-", "%%-") .. "\t%+14255550123", out)
    assert.matches("Coupons\tphone%-number%-id%-6+\t", out)
    assert.matches("application/pdf\t%d+", out)
    assert.matches("nil\tParamValidationError: sourceS3File.bucketName: ", out, 1, true)
    local ops = {}
    for _, m in ipairs(H.messages()) do ops[m.operation] = (ops[m.operation] or 0) + 1 end
    assert.are.same({ ListLinkedWhatsAppBusinessAccounts = 3, GetLinkedWhatsAppBusinessAccount = 5,
      GetLinkedWhatsAppBusinessAccountPhoneNumber = 1, PostWhatsAppMessageMedia = 1, SendWhatsAppMessage = 1,
      GetWhatsAppMessageMedia = 2, DeleteWhatsAppMessageMedia = 1 }, ops)
  end)

  it("batch example sends three messages, refuses the fourth, and reports each", function()
    H.require_standin()
    H.reset()
    local out = run_block(block_with("client:send_batch(messages"), env)
    assert.matches("exit=0", out)
    assert.matches("3 sent, 1 failed", out)
    assert.matches("4\tto\tto: must start with", out)
    for k = 1, 4 do assert.matches(k .. "/4: message %d ", out) end
    assert.are.equal(3, #H.messages())
  end)

  it("Messages examples run as one script and every send reaches the service", function()
    H.require_standin()
    H.reset()
    local mine = sections.Messages or {}
    assert.is_true(#mine >= 2)
    local script = table.concat(mine, "\n")
    local sends = 0
    for _ in script:gmatch("assert%(whatsapp%.send_") do sends = sends + 1 end
    for _ in script:gmatch("assert%(whatsapp%.mark_read") do sends = sends + 1 end
    assert.is_true(sends >= 20)
    local out = run_block(script, env)
    assert.matches("exit=0", out)
    assert.matches("text\tHello", out)
    assert.matches("nil\ttext.body\ttext.body: at most 4096 characters %(got 4097%)", out)
    assert.matches("nil\tinteractive.action.sections%[2%].rows%[1%].title", out)
    assert.are.equal(sends, #H.messages())
  end)
end)

-- bench/campaign.sh runs it: N lines at RATE through whatsapp.campaign
-- (reading and validating the file, journal with fsync, results file) and
-- through one client:send_batch of the same JSON messages (no journal);
-- prints messages/s of each.
local whatsapp = require "whatsapp"
local campaign = require "whatsapp.campaign"
local core = require "whatsapp.core"

local n, rate, dir = tonumber(arg[1]) or 20000, tonumber(arg[2]) or 1000, assert(arg[3], "a work directory")
os.execute("mkdir -p '" .. dir .. "'")
local function client()
  return assert(whatsapp.new {
    region = "us-east-1", max_attempts = 1,
    endpoint = assert(os.getenv("WA_STANDIN_HTTP"), "run through bench/campaign.sh"),
    phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef",
    credentials = { access_key_id = "AKIDSTANDINEXAMPLE",
      secret_access_key = "standin/Secret+Key/0123456789EXAMPLEKEY" },
  })
end

local lines, messages = {}, {}
for i = 1, n do
  lines[i] = string.format('{"to":"+1425%07d","type":"text","text":{"body":"bench line %d"}}', i, i)
  messages[i] = lines[i]
end
local path = dir .. "/campaign.jsonl"
local f = assert(io.open(path, "wb"))
f:write(table.concat(lines, "\n"), "\n")
f:close()

local runtime = jit and jit.version or _VERSION
local c = client()
assert(c:send(messages[1]))
local t0 = core.monotonic()
local s = assert(campaign.run(c, { path = path, rate = rate, concurrency = 16 }))
local with_journal = core.monotonic() - t0
assert(s.sent == n, "campaign: " .. s.sent .. " of " .. n .. " sent")
c:close()

c = client()
assert(c:send(messages[1]))
t0 = core.monotonic()
local sent = 0
local results = assert(c:send_batch(messages, { rate = rate, concurrency = 16 }))
for _, r in ipairs(results) do if r.message_id then sent = sent + 1 end end
local plain = core.monotonic() - t0
c:close()
print(string.format("%s: %d lines at --rate %g: campaign (journal, fsync, results) %.0f msg/s (%.1f s); "
  .. "send_batch without a journal %.0f msg/s (%.1f s, %d sent); ratio %.2f", runtime, n, rate, n / with_journal,
  with_journal, n / plain, plain, sent, plain / with_journal))

-- `whatsapp send-batch` and whatsapp.campaign against the stand-in: dry run,
-- invalid lines, CSV mapping, the results file, exit codes, the journal
-- (changed input refused, torn record tolerated), SIGINT, the progress line
-- under a pseudo-terminal. The crash test is in campaign_crash_spec.lua.
local H = require "spec.support.helper"
local C = require "spec.support.campaign_helper"
local core = require "whatsapp.core"

local null = core.null

describe("whatsapp send-batch", function()
  local home
  setup(function()
    H.require_standin()
    home = H.home()
  end)
  teardown(function() H.rmrf(home) end)
  before_each(function() H.reset() end)

  local function file(name, text)
    local path = home .. "/" .. name
    os.remove(path .. ".journal")
    os.remove(path .. ".results.jsonl")
    H.write(path, text)
    return path
  end

  it("--help documents the CSV mapping, the options and the exit codes", function()
    local status, out = C.run({ "send-batch", "--help" }, home)
    assert.are.equal(0, status)
    for _, word in ipairs { "body.1", "body.NAME", "header.image", "button.N", "--template", "--language", "--text",
      "--rate", "--concurrency", "--journal", "--results", "--resend-ambiguous", "--dry-run", "Exit status",
      "3 interrupted" } do
      assert.matches(word, out, 1, true)
    end
    status, out = C.run({ "--help" }, home)
    assert.are.equal(0, status)
    assert.matches("send-batch FILE|-", out, 1, true)
  end)

  it("--dry-run validates every line, reports each invalid one with its line and field, sends nothing", function()
    local path = file("dry.jsonl", table.concat({
      '{"to":"+14255550123","type":"text","text":{"body":"fine"}}',
      '{"to":"+14255550124","type":"text","text":{"body":""}}',
      '',
      'not json',
      '{"to":"14255550125","type":"text","text":{"body":"no plus"}}',
      '{"to":"+14255550126","type":"text","text":{"body":"fine too"}}',
    }, "\n") .. "\n")
    local status, out, err = C.run({ "send-batch", "--dry-run", path }, home)
    assert.are.equal(1, status)
    assert.matches("line 2: invalid: text.body:", err, 1, true)
    assert.matches("line 4: invalid: message: is not JSON", err, 1, true)
    assert.matches("line 5: invalid: to:", err, 1, true)
    assert.not_matches("line [136]:", err)
    assert.matches("dry run: 5 lines, 2 valid, 3 invalid; nothing sent", out, 1, true)
    assert.are.equal(0, H.stats().requests)
    assert.is_nil(C.read(path .. ".journal"))
    -- all valid: 0; none valid: 2
    path = file("dry_ok.jsonl", C.jsonl(3, "dry"))
    assert.are.equal(0, (C.run({ "send-batch", "--dry-run", path }, home)))
    path = file("dry_bad.jsonl", "x\n{}\n")
    assert.are.equal(2, (C.run({ "send-batch", "--dry-run", path }, home)))
    assert.are.equal(0, H.stats().requests)
  end)

  it("sends the valid lines, skips the invalid ones, writes the results file in input order, exits 1", function()
    local path = file("mixed.jsonl", '{"to":"+14255550123","type":"text","text":{"body":"campaign mx line 1"}}\n'
      .. '{"to":"+14255550124","type":"text"}\n'
      .. '{"to":"+14255550125","type":"text","text":{"body":"campaign mx line 3"}}\n')
    local status, out, err = C.run({ "send-batch", path }, home)
    assert.are.equal(1, status, err)
    assert.matches("line 2: invalid: text:", err, 1, true)
    assert.matches("sent 2, failed 0, invalid 1, ambiguous 0, pending 0, of 3 lines", out, 1, true)
    local accepted = C.accepted("mx")
    assert.are.same({ 1, 1 }, { accepted[1], accepted[3] })
    local rows = C.results(path .. ".results.jsonl")
    assert.are.equal(3, #rows)
    assert.are.same({ 1, "+14255550123", "sent", null, null, null }, { rows[1].line, rows[1].to, rows[1].status,
      rows[1].error_code, rows[1].error_field, rows[1].error_message })
    assert.matches("^[%w-]+$", rows[1].message_id)
    assert.are.same({ 2, "invalid", null, "ParamValidationError", "text" },
      { rows[2].line, rows[2].status, rows[2].message_id, rows[2].error_code, rows[2].error_field })
    assert.are.equal("sent", rows[3].status)
    -- the message ids are the stand-in's
    local ids = {}
    for _, m in ipairs(H.messages()) do ids[m.message_id] = true end
    assert.is_true(ids[rows[1].message_id] and ids[rows[3].message_id])
  end)

  it("exits 0 when all are sent, 1 when some failed (by error code in the summary), 2 on usage errors", function()
    local path = file("ok.jsonl", C.jsonl(4, "ok"))
    local status, out = C.run({ "--json", "send-batch", path }, home)
    assert.are.equal(0, status)
    local s = core.decode(out).summary
    assert.are.same({ 4, 4, 0, 0, 4 }, { s.lines, s.sent, s.failed, s.ambiguous, s.sent_now })
    -- a ValidationException is a failure for good: reported, not retried on a rerun
    H.inject { every = 3, code = "ValidationException", message = "bad" }
    path = file("fail.jsonl", C.jsonl(6, "fail"))
    status, out = C.run({ "send-batch", path }, home)
    assert.are.equal(1, status)
    assert.matches("sent 4, failed 2 (ValidationException 2)", out, 1, true)
    status, out = C.run({ "send-batch", path }, home)
    assert.are.equal(1, status)
    assert.matches("sent 4, failed 2 (ValidationException 2)", out, 1, true)
    assert.matches("(0 sent now)", out, 1, true)
    for _, case in ipairs {
      { { "send-batch" }, "expected FILE|-" },
      { { "send-batch", home .. "/none.jsonl" }, "cannot read" },
      { { "send-batch", "--rate", "fast", path }, "--rate needs a number" },
      { { "send-batch", "--bogus", path }, "unknown option --bogus" },
      { { "send-batch", "-" }, "needs --journal" },
      { { "send-batch", "--template", "t", path }, "--template needs --language" },
      { { "send-batch", "--rate", "0", path }, "rate: must be a positive number" },
      { { "send-batch", file("x.csv", "to,body.1\n+14255550123,a\n") }, "--template NAME --language CODE" },
    } do
      local st, _, err = C.run(case[1], home)
      assert.are.equal(2, st, case[2])
      assert.matches(case[2], err, 1, true)
    end
  end)

  it("maps CSV columns onto the template: positional body, header, buttons; and named parameters", function()
    local path = file("pos.csv", "to,header.image,body.1,body.2,button.0,button.1.quick_reply\r\n"
      .. '+14255550123,https://example.com/a.png,Jane,"8,841",track/8841,OK-1\r\n'
      .. "+14255550124,,Ann,7,,\r\n")
    local status, _, err = C.run({ "send-batch", "--template", "order_update", "--language", "en_US", path }, home)
    assert.are.equal(0, status, err)
    local msgs = H.messages()
    assert.are.equal(2, #msgs)
    local t = msgs[1].message.template
    assert.are.same({ "order_update", "en_US" }, { t.name, t.language.code })
    assert.are.same({ type = "header",
      parameters = { { type = "image", image = { link = "https://example.com/a.png" } } } }, t.components[1])
    assert.are.same({ type = "body",
      parameters = { { type = "text", text = "Jane" }, { type = "text", text = "8,841" } } }, t.components[2])
    assert.are.same({ type = "button", sub_type = "url", index = "0",
      parameters = { { type = "text", text = "track/8841" } } }, t.components[3])
    assert.are.same({ type = "button", sub_type = "quick_reply", index = "1",
      parameters = { { type = "payload", payload = "OK-1" } } }, t.components[4])
    assert.are.equal("+14255550124", msgs[2].message.to)
    assert.are.same({ { type = "body",
      parameters = { { type = "text", text = "Ann" }, { type = "text", text = "7" } } } },
      msgs[2].message.template.components)

    H.reset()
    path = file("named.csv", "to,body.first_name,body.order\n+14255550123,Jane,8841\n")
    status = C.run({ "send-batch", "--template", "welcome", "--language", "en", path }, home)
    assert.are.equal(0, status)
    assert.are.same({ { type = "body", parameters = {
      { type = "text", text = "Jane", parameter_name = "first_name" },
      { type = "text", text = "8841", parameter_name = "order" } } } }, H.messages()[1].message.template.components)

    H.reset()
    path = file("texts.csv", "to,text\n+14255550123,\"Hello, \"\"you\"\"\"\n+14255550124,\n")
    local err2
    status, _, err2 = C.run({ "send-batch", "--text", "--results", home .. "/texts.results.csv", path }, home)
    assert.are.equal(1, status)
    assert.matches("line 3: invalid: text.body", err2, 1, true)
    assert.are.equal('Hello, "you"', H.messages()[1].message.text.body)
    local csv = C.read(home .. "/texts.results.csv")
    assert.matches("^line,to,status,message_id,error_code,error_field,error_message\r\n"
      .. "2,%+14255550123,sent,[%w-]+,,,\r\n3,%+14255550124,invalid,,ParamValidationError,text%.body,", csv)

    local st, _, e = C.run({ "send-batch", "--template", "t", "--language", "en",
      file("bad.csv", "to,bdy.1\n+14255550123,a\n") }, home)
    assert.are.equal(2, st)
    assert.matches("unknown column 'bdy.1'", e, 1, true)
    st, _, e = C.run({ "send-batch", "--template", "t", "--language", "en",
      file("mix.csv", "to,body.1,body.name\n+14255550123,a,b\n") }, home)
    assert.are.equal(2, st)
    assert.matches("all positional", e, 1, true)
  end)

  it("refuses to run when the file changed under its journal, naming the line", function()
    local path = file("changed.jsonl", C.jsonl(5, "chg"))
    assert.are.equal(0, (C.run({ "send-batch", path }, home)))
    local text = C.jsonl(5, "chg"):gsub("line 3", "line three")
    H.write(path, text)
    local status, _, err = C.run({ "send-batch", path }, home)
    assert.are.equal(2, status)
    assert.matches("line 3 of the input: its message differs", err, 1, true)
    -- a line taken away is a change too
    H.write(path, C.jsonl(4, "chg"))
    status, _, err = C.run({ "send-batch", path }, home)
    assert.are.equal(2, status)
    assert.matches("line 5 of the input", err, 1, true)
    assert.are.equal(5, #H.messages())
  end)

  it("refuses a second run on a journal in use; reads standard input with --journal", function()
    H.inject { every = 1, delay_ms = 1500 }
    local path = file("busy.jsonl", C.jsonl(4, "busy"))
    local h = C.start({ "send-batch", path }, home, "busy")
    core.sleep(0.7)
    local status, _, err = C.run({ "send-batch", path }, home)
    assert.are.equal(2, status)
    assert.matches("is in use by another run of this campaign", err, 1, true)
    assert.are.equal(0, (h.wait(20)))
    assert.are.equal(4, #H.messages())
    H.reset()
    local journal = home .. "/stdin.journal"
    os.remove(journal)
    status, _, err = C.run({ "send-batch", "--journal", journal, "--results", home .. "/stdin.results.jsonl", "-" },
      home, C.jsonl(3, "stdin"))
    assert.are.equal(0, status, err)
    assert.are.equal(3, #H.messages())
    assert.are.equal(3, #C.results(home .. "/stdin.results.jsonl"))
    status = C.run({ "send-batch", "--journal", journal, "-" }, home, C.jsonl(3, "stdin"))
    assert.are.equal(0, status)
    assert.are.equal(3, #H.messages())
  end)

  it("tolerates a torn last journal record and refuses a damaged one in the middle", function()
    local path = file("torn.jsonl", C.jsonl(3, "torn"))
    H.write(path .. ".journal", '{"attempt":1,"event":"start","hash":"00","li')
    local status, out = C.run({ "send-batch", path }, home)
    assert.are.equal(0, status)
    assert.matches("sent 3", out, 1, true)
    local records = C.journal(path .. ".journal") -- every line whole again
    assert.are.equal(6, #records)
    -- a crash mid-write of an outcome: the line is ambiguous, not resent
    local text = C.read(path .. ".journal")
    local cut = text:match("^(.*)\n[^\n]*\n$") .. "\n" .. '{"event":"sent","hash'
    H.write(path .. ".journal", cut)
    status, out = C.run({ "send-batch", path }, home)
    assert.are.equal(1, status)
    assert.matches("sent 2, failed 0, invalid 0, ambiguous 1", out, 1, true)
    assert.are.equal(3, #H.messages())
    H.write(path .. ".journal", "garbage\n" .. text)
    local err
    status, out, err = C.run({ "send-batch", path }, home)
    assert.are.equal(2, status, out)
    assert.matches("is damaged: its line 1", err, 1, true)
  end)

  it("retries throttling and 503s within the run; a 500 is ambiguous and sent again only when asked", function()
    H.inject { { every = 7, status = 429 }, { every = 11, status = 503 } }
    local path = file("retry.jsonl", C.jsonl(20, "rt"))
    local status, out = C.run({ "send-batch", path }, home)
    assert.are.equal(0, status, out)
    local accepted = C.accepted("rt")
    for i = 1, 20 do assert.are.equal(1, accepted[i], "line " .. i) end
    H.reset()
    H.inject { { action = "garbage" } } -- accepted, but the answer is unreadable: it may have been delivered
    path = file("amb.jsonl", C.jsonl(3, "amb"))
    status, out = C.run({ "send-batch", "--concurrency", "1", path }, home)
    assert.are.equal(1, status)
    assert.matches("ambiguous 1", out, 1, true)
    status = C.run({ "send-batch", path }, home)
    assert.are.equal(1, status)
    assert.are.equal(3, #H.messages())
    status, out = C.run({ "send-batch", "--resend-ambiguous", path }, home)
    assert.are.equal(0, status, out)
    assert.are.equal(2, C.accepted("amb")[1])
    local resent = 0
    for _, r in ipairs(C.journal(path .. ".journal")) do if r.resend then resent = resent + 1 end end
    assert.are.equal(1, resent)
  end)

  it("SIGINT stops starting sends, lets those in flight finish, writes the results and exits 3", function()
    H.inject { every = 1, delay_ms = 300 }
    local path = file("int.jsonl", C.jsonl(400, "int"))
    local h = C.start({ "send-batch", "--rate", "200", "--concurrency", "16", path }, home, "int")
    core.sleep(1.2)
    os.execute("kill -INT " .. h.pid)
    local status, out, err = h.wait(30)
    assert.are.equal(3, status, err)
    assert.matches("interrupted: run the same command again", out, 1, true)
    -- every attempt started has its outcome: nothing ambiguous, nothing lost
    local open, sent = {}, 0
    for _, r in ipairs(C.journal(path .. ".journal")) do
      if r.event == "start" then open[r.line] = true else open[r.line] = nil end
      if r.event == "sent" then sent = sent + 1 end
    end
    assert.is_nil(next(open))
    assert.is_true(sent > 0 and sent < 400)
    assert.are.equal(sent, #H.messages())
    local rows = C.results(path .. ".results.jsonl")
    assert.are.equal(400, #rows)
    assert.are.equal("pending", rows[400].status)
    -- the rerun sends the rest, each once
    H.reset()
    status = C.run({ "send-batch", "--rate", "1000", path }, home)
    assert.are.equal(0, status)
    assert.are.equal(400 - sent, #H.messages())
  end)

  it("a second SIGINT exits at once, the journal whole (what was in flight reads as ambiguous)", function()
    H.inject { every = 1, delay_ms = 2000 }
    local path = file("int2.jsonl", C.jsonl(100, "int2"))
    local h = C.start({ "send-batch", "--rate", "20", path }, home, "int2") -- chunks of 16
    core.sleep(0.8)
    os.execute("kill -INT " .. h.pid)
    core.sleep(0.2)
    local t0 = core.monotonic()
    os.execute("kill -INT " .. h.pid)
    local status = h.wait(10)
    assert.are.equal(3, status)
    assert.is_true(core.monotonic() - t0 < 1.5, "did not exit at once")
    assert.matches("\n$", C.read(path .. ".journal"))
    local records = C.journal(path .. ".journal") -- every record decodes
    assert.is_true(#records >= 16)
    H.reset()
    local _, out = C.run({ "send-batch", path }, home)
    assert.matches("ambiguous 16,", out, 1, true)
  end)

  it("draws one progress line on a terminal, redrawn at most 10 times a second", function()
    local path = file("tty.jsonl", C.jsonl(600, "tty"))
    local cmd = C.command({ "send-batch", "--rate", "300", path }, home)
    local started = core.monotonic()
    local out = H.run("/usr/bin/python3 -c "
      .. "'import pty,sys; sys.exit(pty.spawn([\"/bin/sh\",\"-c\",sys.argv[1]]) >> 8)' " .. C.quote(cmd))
    local elapsed = core.monotonic() - started
    assert.matches("exit=0\n$", out)
    local draws = select(2, out:gsub("\r", "\r")) - select(2, out:gsub("\r\n", "\r\n"))
    assert.is_true(draws >= 5, out)
    assert.is_true(draws <= elapsed * 10 + 3, draws .. " redraws in " .. elapsed .. " s")
    assert.matches("\rsent %d+  failed 0  left %d+  [%d.]+/s  elapsed 0:0%d  remaining [%d:?]+  %[[#-]+%]\27%[K", out)
    assert.matches("sent 600, failed 0", out, 1, true)
    -- without a terminal: plain lines every --progress-interval seconds
    local status, _, err = C.run({ "send-batch", "--rate", "300", "--progress-interval", "0.5",
      file("plain.jsonl", C.jsonl(600, "plain")) }, home)
    assert.are.equal(0, status)
    assert.not_matches("\r", err)
    assert.matches("^sent %d+  failed 0  left %d+  [%d.]+/s  elapsed 0:0%d  remaining [%d:?]+\n", err)
    status, _, err = C.run({ "--json", "send-batch", "--rate", "300", "--progress-interval", "0.5",
      file("json.jsonl", C.jsonl(300, "json")) }, home)
    assert.are.equal(0, status)
    local p = core.decode(err:match("^([^\n]+)\n"))
    assert.are.equal("number", type(p.progress.sent))
    assert.are.equal("number", type(p.progress.left))
  end)

  it("is a library call: whatsapp.campaign.run", function()
    local campaign = require "whatsapp.campaign"
    local client = H.client()
    local journal = home .. "/lib.journal"
    os.remove(journal)
    local seen = 0
    local s = assert(campaign.run(client, { input = C.jsonl(10, "lib") .. "{}\n", journal = journal, rate = 100,
      progress = function(c) seen = c.sent end }))
    assert.are.same({ 11, 10, 1, 0, 10 }, { s.total, s.sent, s.invalid, s.failed, seen })
    assert.are.equal(3, client.max_attempts) -- the client's own stay (the campaign's sends ask for one attempt)
    s = assert(campaign.run(client, { input = C.jsonl(10, "lib") .. "{}\n", journal = journal }))
    assert.are.equal(0, s.sent_now)
    local _, err = campaign.run(client, { input = "x\n" })
    assert.are.equal("journal", err.field)
    assert.has_error(function() campaign.run(client, { input = "", bogus = 1 }) end)
    client:close()
  end)
end)

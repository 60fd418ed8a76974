--- `whatsapp send-batch FILE`: the campaign command (whatsapp.cli hands
-- it the whole command line). Parses its options, makes the client as the
-- other commands do, runs whatsapp.campaign with the progress on stderr,
-- SIGINT/SIGTERM caught, and prints the summary. Exit status: 0 all sent;
-- 1 some failed (or invalid, or ambiguous); 2 usage, or nothing valid;
-- 3 interrupted.
local argv_parser = require "whatsapp.argv"
local campaign = require "whatsapp.campaign"
local core = require "whatsapp.core"
local errors = require "whatsapp.errors"
local progress_mod = require "whatsapp.campaign.progress"
local whatsapp = require "whatsapp"

local M = {}

local OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 3

M.HELP = [[
Usage: whatsapp [options] send-batch FILE|-

Sends every message of FILE: JSON lines (one WhatsApp message object a line, as
'whatsapp send' takes), or CSV (a name ending in .csv) with a header row. Every
line is validated first; an invalid line is reported with its line number and
field, and the others go on. A journal beside FILE records every attempt and
its outcome (synced to the disk), so running the same command again after a
crash, Ctrl-C or a failure sends what is left, and never a line twice.

CSV columns (one row, one message):
  to                   the recipient (required)
  with --template NAME --language CODE:
  body.1, body.2, ...  the body's positional parameters {{1}}, {{2}}, ...
  body.NAME            the body's named parameters {{NAME}} (not with body.1)
  header.text          a text header parameter; header.image, header.video,
                       header.document: the header's media link
  button.N             the URL suffix of the template's button N (0, 1, ...);
  button.N.quick_reply, button.N.copy_code, button.N.url: that button's payload
                       (an empty cell leaves the button out)
  with --text:
  text                 the text message's body
  e.g.  to,body.1,body.2,button.0
        +14255550123,Jane,8841,track/8841

Options:
  --template NAME      the approved template of every CSV row
  --language CODE      its language (en_US, ...)
  --text               CSV rows are texts (columns to, text)
  --rate N             messages per second for the origination number (default 20)
  --concurrency N      sends in flight at once (default 16)
  --journal PATH       the journal (default FILE.journal; required with -)
  --results PATH       the results file (default FILE.results.jsonl, none for -;
                       .csv gives CSV):
                       one record per line in input order: line, to, status (sent,
                       failed, invalid, ambiguous, pending), message_id, error_code,
                       error_field, error_message
  --resend-ambiguous   send again the lines whose attempt may have been delivered
                       (the process ended mid-send, a timeout or a 5xx after the
                       request went out); without it they are reported, not sent
  --dry-run            validate every line, report the invalid ones, send nothing
  --progress-interval S  seconds between progress lines when stderr is not a terminal (5)
  --profile, --region, --endpoint-url, --phone-number-id, --json: as for every command
                       (--json: progress, invalid lines and the summary as JSON)

A rerun with the same FILE and journal never resends a line the journal has as
sent, sends the lines never attempted, retries those that failed with a
retryable error (throttling, 503, no connection), reports ambiguous ones, and
refuses to run when FILE changed under the journal (naming the line), or while
another run holds the journal.
Ctrl-C (SIGINT, SIGTERM) stops starting sends, lets those in flight finish and
exits 3; a second one exits at once (the journal stays consistent).

Exit status: 0 all sent; 1 some failed, invalid or ambiguous; 2 usage error or
no valid line; 3 interrupted.
]]

local VALUED = { profile = true, region = true, ["endpoint-url"] = true, ["phone-number-id"] = true,
  template = true, language = true, rate = true, concurrency = true, journal = true, results = true,
  ["progress-interval"] = true }
local FLAGS = { json = true, help = true, text = true, ["resend-ambiguous"] = true, ["dry-run"] = true }
local NUMBERS = { rate = true, concurrency = true, ["progress-interval"] = true }

--- Is argv a send-batch command line? (its first word that is not an
-- option or an option's value; or "help send-batch")
function M.is_send_batch(argv)
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "--" then return argv[i + 1] == "send-batch" end
    if a:sub(1, 2) == "--" then
      local name = a:match("^%-%-([^=]+)")
      if VALUED[name] and not a:find("=", 1, true) then i = i + 1 end
    elseif a:sub(1, 1) ~= "-" or a == "-" then
      if a == "help" then return argv[i + 1] == "send-batch" end
      return a == "send-batch"
    end
    i = i + 1
  end
  return false
end

-- opts, positionals (after the command word) | nil, problem
local function parse(argv)
  local seen_command = false
  return argv_parser.parse(argv, { valued = VALUED, flags = FLAGS, numbers = NUMBERS, word = function(a, opts)
    if seen_command or (a ~= "send-batch" and a ~= "help") then return false end
    seen_command = a == "send-batch"
    opts.help = opts.help or a == "help"
    return true
  end })
end

local function emit_error(err_out, json, code, message, extra)
  if json then
    local e = { code = code, message = message }
    for k, v in pairs(extra or {}) do e[k] = v end
    err_out:write(whatsapp.encode { error = e }, "\n")
  else
    err_out:write("whatsapp: ", errors.printable(message, 4000), "\n")
  end
end

local function usage(err_out, json, problem)
  emit_error(err_out, json, "UsageError", "send-batch: " .. problem)
  if not json then err_out:write("Run 'whatsapp send-batch --help' for more.\n") end
  return USAGE
end

local function report_invalid(err_out, json, item)
  local err = item.err
  if json then
    err_out:write(whatsapp.encode { invalid = { line = item.line, field = err.field, message = err.message } }, "\n")
  else
    err_out:write("whatsapp: line ", item.line, ": invalid: ", errors.printable(err.message, 1000), "\n")
  end
end

local function summary_text(s, dry)
  if dry then
    return string.format("dry run: %d lines, %d valid, %d invalid; nothing sent", s.total, s.valid, s.invalid)
  end
  local codes = {}
  for code, n in pairs(s.by_code) do codes[#codes + 1] = code .. " " .. n end
  table.sort(codes)
  local text = string.format("sent %d, failed %d%s, invalid %d, ambiguous %d, pending %d, of %d lines in %.1f s"
    .. " (%d sent now)", s.sent, s.failed, #codes > 0 and " (" .. table.concat(codes, ", ") .. ")" or "", s.invalid,
    s.ambiguous, s.pending, s.total, s.elapsed, s.sent_now)
  if s.interrupted then text = text .. "; interrupted: run the same command again to send the rest" end
  if s.results then text = text .. "\nresults: " .. s.results end
  return text
end

local function exit_status(s, dry)
  if s.valid == 0 then return USAGE end
  if s.interrupted then return INTERRUPTED end
  if dry then return s.invalid == 0 and OK or FAILED end
  return s.sent == s.total and OK or FAILED
end

local function print_summary(out, json, s, dry)
  if json then
    out:write(whatsapp.encode { summary = { lines = s.total, valid = s.valid, sent = s.sent, failed = s.failed,
      invalid = s.invalid, ambiguous = s.ambiguous, pending = s.pending, sent_now = s.sent_now,
      failed_by_code = next(s.by_code) and s.by_code or nil, seconds = math.floor(s.elapsed * 1000 + 0.5) / 1000,
      interrupted = s.interrupted, dry_run = dry or nil, results = s.results } }, "\n")
  else
    out:write(summary_text(s, dry), "\n")
  end
end

local function campaign_options(opts, args, io_)
  local path = args[1]
  local o = {
    template = opts.template, language = opts.language, text = opts.text, rate = opts.rate,
    concurrency = opts.concurrency, journal = opts.journal, results = opts.results,
    resend_ambiguous = opts["resend-ambiguous"], dry_run = opts["dry-run"],
  }
  if path == "-" then
    if not opts.journal and not opts["dry-run"] then return nil, "reading standard input (-) needs --journal PATH" end
    o.input = io_.stdin:read("*a") or ""
    o.format = (opts.template or opts.text) and "csv" or "jsonl"
  else
    o.path = path
  end
  if opts.template and not opts.language then return nil, "--template needs --language CODE" end
  if opts.language and not opts.template then return nil, "--language needs --template NAME" end
  if opts.text and opts.template then return nil, "--text and --template exclude each other" end
  return o
end

local function make_client(opts, err_out, json)
  local client, cerr = whatsapp.new { profile = opts.profile, region = opts.region, endpoint = opts["endpoint-url"],
    phone_number_id = opts["phone-number-id"], max_attempts = 1 }
  if not client then
    emit_error(err_out, json, cerr.code, tostring(cerr), { field = cerr.field })
    return nil, cerr.code == "ParamValidationError" and USAGE or FAILED
  end
  if client.phone_number_id == nil then
    client:close()
    return nil, usage(err_out, json, "no origination phone number: give --phone-number-id ID or set "
      .. "WHATSAPP_PHONE_NUMBER_ID ('whatsapp numbers' lists yours)")
  end
  return client
end

--- Runs the command line argv; io_ holds stdin, stdout, stderr. Returns
-- the exit status.
function M.main(argv, io_)
  local out, err_out = io_.stdout, io_.stderr
  local opts, rest = parse(argv)
  local json = opts and opts.json or false
  if not opts then return usage(err_out, json, rest) end
  if opts.help then
    out:write(M.HELP)
    return OK
  end
  if #rest ~= 1 then return usage(err_out, json, "expected FILE|-, got " .. #rest .. " arguments") end
  local o, problem = campaign_options(opts, rest, io_)
  if not o then return usage(err_out, json, problem) end
  local client, status = make_client(opts, err_out, json)
  if not client then return status end
  local tty = not json and io_.stderr == io.stderr and core.isatty(2)
  local bar
  o.on_invalid = function(item) report_invalid(err_out, json, item) end
  if not o.dry_run then
    bar = progress_mod.new { out = err_out, tty = tty, json = json, interval = opts["progress-interval"] }
    o.progress = function(c) bar:update(c) end
    o.stop = function() return core.signals_caught() ~= false end
    core.signals_catch()
  end
  local fine, s, err = pcall(campaign.run, client, o)
  core.signals_release()
  client:close()
  if not fine then error(s, 0) end
  if bar and s then bar:finish { sent = s.sent_now, failed = s.failed, left = s.pending } end
  if not s then
    emit_error(err_out, json, err.code, tostring(err), { field = err.field, line = err.line })
    return err.code == "ParamValidationError" and USAGE or FAILED
  end
  if s.valid == 0 then emit_error(err_out, json, "UsageError", "send-batch: no valid line to send") end
  print_summary(out, json, s, o.dry_run)
  return exit_status(s, o.dry_run)
end

return M

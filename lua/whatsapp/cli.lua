--- The `whatsapp` command line (bin/whatsapp): parses the arguments, makes a
-- client with the library's configuration chain (options, then environment,
-- then the AWS profile), runs one command, prints its result. main returns
-- the exit status: 0 done, 1 the service, the network or the credentials
-- failed, 2 a usage error or input refused before anything was sent.
local argv_parser = require "whatsapp.argv"
local errors = require "whatsapp.errors"
local whatsapp = require "whatsapp"

local unpack = rawget(table, "unpack") or rawget(_G, "unpack") -- 5.4: table.unpack; LuaJIT: the 5.1 global

local M = {}

local OK, FAILED, USAGE = 0, 1, 2

local COMMANDS = {
  ["send-text"] = {
    args = "TO BODY", min = 2, max = 2, summary = "send a text message",
    about = "Sends a text message; prints its message id.",
  },
  send = {
    args = "FILE.json|-", min = 1, max = 1, summary = "send a message object (JSON) from a file or stdin",
    about = "Sends a WhatsApp message object, as JSON, from FILE or from standard input (-), as it is;\n"
      .. "\"messaging_product\" may be left out. Prints the message id.",
  },
  ["send-template"] = {
    args = "TO NAME LANG [PARAM...]", min = 3, max = math.huge, summary = "send a template",
    about = "Sends the approved template NAME in language LANG (e.g. en_US); each PARAM fills the next\n"
      .. "body variable ({{1}}, {{2}}, ...). Prints the message id.",
  },
  upload = {
    args = "s3://BUCKET/KEY", min = 1, max = 1, summary = "upload media from S3, print its id",
    about = "Uploads a file from Amazon S3 to WhatsApp from the origination number; prints its media id.\n"
      .. "The service reads the object with its own permissions.",
  },
  numbers = {
    args = "", min = 0, max = 0, summary = "list your phone number ids", any_number = true,
    about = "Lists the phone numbers of every linked WhatsApp Business Account, one a line:\n"
      .. "phone number id, display number, name, quality rating, account id.",
  },
}
-- send-batch is listed here; whatsapp.campaign.command parses and runs it
COMMANDS["send-batch"] = { args = "FILE|-", summary = "send a campaign (CSV or JSON lines), journaled" }
local ORDER = { "send-text", "send", "send-template", "send-batch", "upload", "numbers" }

local OPTIONS_HELP = [[
Options (anywhere on the line):
  --profile NAME          AWS profile (else AWS_PROFILE, else "default")
  --region REGION         else AWS_REGION, AWS_DEFAULT_REGION, the profile's region
  --endpoint-url URL      else AWS_ENDPOINT_URL_SOCIALMESSAGING, AWS_ENDPOINT_URL, the profile's
  --phone-number-id ID    origination number (else WHATSAPP_PHONE_NUMBER_ID)
  --json                  results as JSON on stdout, errors as JSON on stderr
  -h, --help              this help; after a command, the command's
  --version               the module's version
Credentials come from the AWS chain (environment, web identity, ~/.aws, container, EC2).
Exit status: 0 done; 1 the service, the network or the credentials failed;
2 usage error, or input refused before anything was sent.
]]

-- the option that sets a whatsapp.new option, for its errors
local OPTION_OF = { region = "--region", endpoint = "--endpoint-url", phone_number_id = "--phone-number-id",
  profile = "--profile" }

local VALUED = { profile = true, region = true, ["endpoint-url"] = true, ["phone-number-id"] = true }
local FLAGS = { json = true, help = true, version = true }

-- Text for a terminal: what the service sent (names, messages) may hold
-- control characters; none but the line breaks of our own layout is
-- written (no terminal escape, no carriage return).
local function terminal_safe(text)
  return (text:gsub("[%z\1-\8\11-\31\127]", "?"):gsub("\194[\128-\159]", "?"))
end

local function usage_text()
  local lines = { "Usage: whatsapp [options] COMMAND [ARGUMENTS]", "", "Commands:" }
  for _, name in ipairs(ORDER) do
    local c = COMMANDS[name]
    lines[#lines + 1] = string.format("  %-38s %s", name .. (c.args ~= "" and " " .. c.args or ""), c.summary)
  end
  lines[#lines + 1] = ""
  return table.concat(lines, "\n") .. "\n" .. OPTIONS_HELP
end

local function command_help(name)
  local c = COMMANDS[name]
  return "Usage: whatsapp [options] " .. name .. (c.args ~= "" and " " .. c.args or "") .. "\n\n"
    .. c.about .. "\n\n" .. OPTIONS_HELP
end

--- Splits argv into options and positional arguments. Returns opts,
-- positionals, or nil and what is wrong.
local function parse(argv)
  return argv_parser.parse(argv, { valued = VALUED, flags = FLAGS })
end

-- The error object as JSON fields (no metatable, no nils).
local function error_fields(err)
  return { error = { code = err.code, message = err.message, status = err.status, request_id = err.request_id,
    field = err.field, attempts = err.attempts, retryable = err.retryable } }
end

local function read_message(path, stdin)
  if path == "-" then return stdin:read("*a") end
  local f, why = io.open(path, "rb")
  if not f then return nil, "cannot read " .. path .. ": " .. tostring(why) end
  local text = f:read("*a")
  f:close()
  return text
end

-- Each command: (client, args, io_) -> the result for the JSON output and
-- its text form (nil: nothing to print) | nil, err | nil, nil, a usage problem.
local RUN = {}

RUN["send-text"] = function(client, args)
  local id, err = client:send_text(args[1], args[2])
  if not id then return nil, err end
  return { messageId = id }, id
end

RUN.send = function(client, args, io_)
  local text, why = read_message(args[1], io_.stdin)
  if not text then return nil, nil, why end
  local id, err = client:send(text)
  if not id then return nil, err end
  return { messageId = id }, id
end

RUN["send-template"] = function(client, args)
  local components
  if #args > 3 then components = { body = { unpack(args, 4) } } end
  local id, err = client:send_template(args[1], args[2], args[3], components)
  if not id then return nil, err end
  return { messageId = id }, id
end

RUN.upload = function(client, args)
  local bucket, key = args[1]:match("^s3://([^/]+)/(.+)$")
  if not bucket then return nil, nil, "upload: expected s3://BUCKET/KEY, got " .. args[1] end
  local id, err = client:upload_media { s3 = { bucket_name = bucket, key = key } }
  if not id then return nil, err end
  return { mediaId = id }, id
end

RUN.numbers = function(client)
  local numbers, err = client:phone_numbers()
  if not numbers then return nil, err end
  local lines = {}
  for i, n in ipairs(numbers) do
    -- each field as the service sent it, made one printable, bounded cell:
    -- a tab or line break in a name would forge columns and rows
    local fields = { n.phoneNumberId, n.displayPhoneNumber, n.displayPhoneNumberName, n.qualityRating,
      n.linkedWhatsAppBusinessAccountId }
    local cells = {}
    for j = 1, 5 do cells[j] = errors.printable(tostring(fields[j]), 200) end
    lines[i] = table.concat(cells, "\t")
  end
  return { phoneNumbers = whatsapp.array(numbers) }, #lines > 0 and table.concat(lines, "\n") or nil
end

-- Reports a usage problem on err_out (as JSON with --json); returns USAGE.
local function usage(err_out, json, problem, help)
  if json then
    err_out:write(whatsapp.encode { error = { code = "UsageError", message = problem } }, "\n")
  else
    err_out:write("whatsapp: ", problem, "\n", help or "Run 'whatsapp --help' for the commands.", "\n")
  end
  return USAGE
end

-- Reports an error of the library on err_out; returns the exit status.
local function failed(err_out, json, err)
  if json then
    err_out:write(whatsapp.encode(error_fields(err)), "\n")
  else
    err_out:write("whatsapp: ", terminal_safe(tostring(err)), "\n")
  end
  return err.code == "ParamValidationError" and USAGE or FAILED
end

-- The command the line names and its arguments; or nil and the exit status
-- when there is nothing to run (help was asked for, or a usage problem).
local function pick_command(opts, rest, out, err_out, json)
  local name = rest[1]
  if name == "help" then
    name = rest[2]
    opts.help = true
  end
  if name == nil then
    if opts.help then
      out:write(usage_text())
      return nil, OK
    end
    return nil, usage(err_out, json, "no command given", usage_text())
  end
  local command = COMMANDS[name]
  if not command then return nil, usage(err_out, json, "unknown command '" .. name .. "'") end
  if opts.help then
    out:write(command_help(name))
    return nil, OK
  end
  local args = { unpack(rest, 2) }
  if #args < command.min or #args > command.max then
    return nil, usage(err_out, json, name .. ": expected " .. (command.args ~= "" and command.args or "no arguments")
      .. ", got " .. #args .. " argument" .. (#args == 1 and "" or "s"),
      "Run 'whatsapp " .. name .. " --help' for more.")
  end
  return name, args
end

-- Makes the client, runs the command and prints its result; returns the exit status.
local function run_command(name, args, opts, io_, json)
  local out, err_out = io_.stdout, io_.stderr
  local client, cerr = whatsapp.new { profile = opts.profile, region = opts.region,
    endpoint = opts["endpoint-url"], phone_number_id = opts["phone-number-id"] }
  if not client then
    local option = cerr.field and OPTION_OF[cerr.field]
    if option then cerr.message = cerr.message .. " (on the command line: " .. option .. ")" end
    return failed(err_out, json, cerr)
  end
  if not COMMANDS[name].any_number and client.phone_number_id == nil then
    client:close()
    return usage(err_out, json, name .. ": no origination phone number: give --phone-number-id ID or set "
      .. "WHATSAPP_PHONE_NUMBER_ID ('whatsapp numbers' lists yours)")
  end
  local result, second, problem = RUN[name](client, args, io_)
  client:close()
  if problem then return usage(err_out, json, problem) end
  if not result then return failed(err_out, json, second) end
  if json then
    out:write(whatsapp.encode(result), "\n")
  elseif second then
    out:write(terminal_safe(second), "\n")
  end
  return OK
end

--- Runs the command line argv (a list of strings, as `arg`); io_ holds
-- stdin, stdout and stderr (file handles). Returns the exit status.
function M.main(argv, io_)
  local send_batch = require "whatsapp.campaign.command"
  if send_batch.is_send_batch(argv) then return send_batch.main(argv, io_) end
  local out, err_out = io_.stdout, io_.stderr
  local opts, rest = parse(argv)
  local json = opts and opts.json or false
  if not opts then return usage(err_out, json, rest) end
  if opts.version then
    out:write(json and whatsapp.encode { version = whatsapp.VERSION } or whatsapp.VERSION, "\n")
    return OK
  end
  local name, args = pick_command(opts, rest, out, err_out, json)
  if not name then return args end
  return run_command(name, args, opts, io_, json)
end

return M

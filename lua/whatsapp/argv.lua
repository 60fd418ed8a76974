--- The one option parser of the whatsapp command and its subcommands:
-- --name value, --name=value, -h (help), flags, "--" ending the options,
-- and "-" as a positional (standard input).
local M = {}

-- The name of an option word and its =value (nil: not an option).
local function option_name(a)
  if a == "-h" then return "help" end
  local name, value = a:match("^%-%-([^=]+)=(.*)$")
  if name then return name, value end
  if a:sub(1, 2) == "--" then return a:sub(3) end
  return nil
end

-- An option's value (a number for spec.numbers), or nil and what is wrong;
-- i: where the option word is; returns the new i.
local function option_value(argv, i, name, value, numbers)
  if value == nil then
    i = i + 1
    value = argv[i]
  end
  if value == nil or value == "" then return nil, "option --" .. name .. " needs a value", i end
  if numbers and numbers[name] then
    local n = tonumber(value)
    if not n then return nil, "option --" .. name .. " needs a number, got " .. value, i end
    value = n
  end
  return value, nil, i
end

--- Splits argv into options and positional arguments. spec: valued
-- ({name = true}: options that take a value), flags ({name = true}),
-- numbers (valued options whose value must be a number), word (optional:
-- function(a, opts) -> true when it takes the positional word a, e.g. a
-- subcommand's name). -> opts, positionals | nil, what is wrong
function M.parse(argv, spec)
  local opts, rest = {}, {}
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    local name, value = option_name(a)
    if a == "--" then
      for j = i + 1, n do rest[#rest + 1] = argv[j] end
      break
    elseif name and spec.valued[name] then
      local v, problem
      v, problem, i = option_value(argv, i, name, value, spec.numbers)
      if problem then return nil, problem end
      opts[name] = v
    elseif name and spec.flags[name] then
      if value ~= nil then return nil, "option --" .. name .. " takes no value" end
      opts[name] = true
    elseif name or (a:sub(1, 1) == "-" and a ~= "-") then
      return nil, "unknown option " .. a
    elseif not (spec.word and spec.word(a, opts)) then
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

return M

--- The WhatsApp Business Accounts linked to the AWS account and their phone
-- numbers: where a sender finds its `phone-number-id-…`. Answers are the
-- service's objects, keyed as the model names them (id, wabaName,
-- phoneNumbers[i].phoneNumberId, displayPhoneNumber, …).
local errors = require "whatsapp.errors"
local operations = require "whatsapp.service.operations"
local options = require "whatsapp.options"

local M = {}

local LIST = "ListLinkedWhatsAppBusinessAccounts"

local function raise(method, text) error(method .. ": " .. text, 0) end

-- opts: deadline (per request), and for list_accounts max_results
local SCHEMA = { deadline = "number" }
local LIST_SCHEMA = { deadline = "number", max_results = "number" }

local function check_opts(method, opts, schema)
  return options.check(method, opts, schema or SCHEMA, 0) or {}
end

local function no_member(name)
  return errors.new { code = "ResponseError", message = "the answer has no " .. name }
end

--- Every linked account, page after page (the model's paginator:
-- nextToken in, nextToken out, results in linkedAccounts):
--   for account, err in client:list_accounts() do ... end
-- yields each account; a failed page yields false and the error once, then
-- the loop ends. opts: max_results (page size, 1..100), deadline (per page).
function M.list_accounts(client, opts)
  opts = check_opts("list_accounts", opts, LIST_SCHEMA)
  local pager = operations.operations[LIST].paginator
  local page, i, token, done = {}, 0, nil, false
  local seen = {}
  return function()
    while true do
      if i < #page then
        i = i + 1
        return page[i]
      end
      if done then return nil end
      local out, err = client:call(LIST,
        { [pager.input_token] = token, [pager.limit_key] = opts.max_results }, { deadline = opts.deadline })
      if not out then
        done = true
        return false, err
      end
      local results = out[pager.result_key]
      page, i = type(results) == "table" and results or {}, 0
      token = out[pager.output_token]
      if type(token) ~= "string" or token == "" then
        done = true
      elseif seen[token] then -- botocore stops the same way: the pages would repeat for ever
        done, page = true, {}
        return false, errors.new { code = "ResponseError", message = "the service sent the same nextToken twice" }
      else
        seen[token] = true
      end
    end
  end
end

--- One linked account, with its phoneNumbers. id: "waba-…" or its ARN.
-- Returns the account table, or nil, err.
function M.get_account(client, id, opts)
  if type(id) ~= "string" then raise("get_account", "id must be a string (got " .. type(id) .. ")") end
  opts = check_opts("get_account", opts)
  local out, err = client:call("GetLinkedWhatsAppBusinessAccount", { id = id }, opts)
  if not out then return nil, err end
  if type(out.account) ~= "table" then return nil, no_member("account") end
  return out.account
end

--- One phone number: id is its "phone-number-id-…" (or ARN). Returns the
-- phone number table with linkedWhatsAppBusinessAccountId (its account)
-- added, or nil, err.
function M.get_phone_number(client, id, opts)
  if type(id) ~= "string" then raise("get_phone_number", "id must be a string (got " .. type(id) .. ")") end
  opts = check_opts("get_phone_number", opts)
  local out, err = client:call("GetLinkedWhatsAppBusinessAccountPhoneNumber", { id = id }, opts)
  if not out then return nil, err end
  if type(out.phoneNumber) ~= "table" then return nil, no_member("phoneNumber") end
  out.phoneNumber.linkedWhatsAppBusinessAccountId = out.linkedWhatsAppBusinessAccountId
  return out.phoneNumber
end

--- Every phone number of every linked account, in one list, each with
-- linkedWhatsAppBusinessAccountId (its account's id). opts: deadline (per
-- request). Returns the list, or nil, err.
function M.phone_numbers(client, opts)
  opts = check_opts("phone_numbers", opts)
  local numbers = {}
  for account, err in M.list_accounts(client, opts) do
    if not account then return nil, err end
    if type(account.id) ~= "string" then return nil, no_member("linkedAccounts[].id") end
    local full
    full, err = M.get_account(client, account.id, opts)
    if not full then return nil, err end
    for _, number in ipairs(type(full.phoneNumbers) == "table" and full.phoneNumbers or {}) do
      number.linkedWhatsAppBusinessAccountId = full.id
      numbers[#numbers + 1] = number
    end
  end
  return numbers
end

--- Adds list_accounts, get_account, get_phone_number and phone_numbers to a
-- client class.
function M.install(class)
  for _, name in ipairs { "list_accounts", "get_account", "get_phone_number", "phone_numbers" } do
    class[name] = M[name]
  end
end

return M

-- Linked WhatsApp Business Accounts and phone numbers through the stand-in:
-- five accounts in three pages (the model's paginator), one account with its
-- phone numbers, one phone number, and every number of every account.
local H = require "spec.support.helper"

local function records(operation)
  local out = {}
  for _, r in ipairs(H.messages()) do
    if r.operation == operation then out[#out + 1] = r end
  end
  return out
end

local function collect(iter)
  local items, errs = {}, {}
  for item, err in iter do
    if item then items[#items + 1] = item else errs[#errs + 1] = err end
  end
  return items, errs
end

describe("linked accounts", function()
  before_each(function() H.reset() end)

  it("lists every account over three pages, following nextToken", function()
    local client = H.client()
    local accounts, errs = collect(client:list_accounts())
    assert.are.same({}, errs)
    assert.are.equal(5, #accounts)
    assert.are.equal("Lucky Shrub", accounts[1].wabaName)
    assert.matches("^waba%-", accounts[1].id)
    assert.are.equal("COMPLETE", accounts[1].registrationStatus)
    assert.is_number(accounts[1].linkDate) -- restJson1 timestamps: epoch seconds
    assert.are.equal("Coupons", accounts[5].wabaName)
    local pages = records("ListLinkedWhatsAppBusinessAccounts")
    assert.are.equal(3, #pages)
    assert.are.equal("", pages[1].query)
    assert.are.equal("nextToken=standin-page-2", pages[2].query)
    assert.are.equal("nextToken=standin-page-4", pages[3].query)
    assert.are.same({ "host", "x-amz-date" }, pages[1].signed_headers)
    assert.is_nil(pages[1].headers["content-type"])
    assert.are.equal("", pages[1].body)
  end)

  it("asks for the page size given, and fetches a page only when the loop needs it", function()
    local client = H.client()
    local accounts = collect(client:list_accounts { max_results = 4 })
    assert.are.equal(5, #accounts)
    local pages = records("ListLinkedWhatsAppBusinessAccounts")
    assert.are.equal(2, #pages)
    assert.are.equal("maxResults=4", pages[1].query)
    assert.are.equal("maxResults=4&nextToken=standin-page-4", pages[2].query)
    H.reset()
    local next_account = client:list_accounts()
    assert.is_string(next_account().id) -- and the loop stops here
    assert.are.equal(1, #records("ListLinkedWhatsAppBusinessAccounts"))
  end)

  it("ends the loop with false and the error when a page fails", function()
    local client = H.client { max_attempts = 1 }
    H.inject { { delay_ms = 0 }, { code = "ThrottledRequestException" } } -- the second page fails
    local accounts, errs = collect(client:list_accounts())
    assert.are.equal(2, #accounts)
    assert.are.equal(1, #errs)
    assert.are.equal("ThrottledRequestException", errs[1].code)
    assert.are.equal(429, errs[1].status)
    assert.is_true(errs[1].retryable)
  end)

  it("retries a throttled page like a send", function()
    local client = H.client { backoff = { throttling_base = 0.01, base = 0.01 } }
    H.inject { code = "ThrottledRequestException" }
    local accounts, errs = collect(client:list_accounts())
    assert.are.same({}, errs)
    assert.are.equal(5, #accounts)
    assert.are.equal(4, H.stats().requests)
  end)

  it("refuses a bad page size before asking", function()
    local _, errs = collect(H.client():list_accounts { max_results = 500 })
    assert.are.equal("maxResults", errs[1].field)
    assert.are.equal(0, H.stats().requests)
    assert.has_error(function() H.client():list_accounts { max_results = "5" } end)
    assert.has_error(function() H.client():list_accounts { page_size = 5 } end)
  end)

  it("gets one account with its phone numbers, by id or ARN", function()
    local client = H.client()
    local first = collect(client:list_accounts())[1]
    local account, err = client:get_account(first.id)
    assert.is_nil(err)
    assert.are.equal(first.id, account.id)
    assert.are.equal(2, #account.phoneNumbers)
    assert.are.equal(H.PHONE, account.phoneNumbers[1].phoneNumberId)
    assert.are.equal("+14255550123", account.phoneNumbers[1].displayPhoneNumber)
    assert.are.equal(first.id, assert(client:get_account(first.arn)).id)
    local rec = records("GetLinkedWhatsAppBusinessAccount")[2]
    assert.are.equal("id=" .. first.arn:gsub(":", "%%3A"):gsub("/", "%%2F"), rec.query)
    local _, missing = client:get_account("waba-0")
    assert.are.equal("ResourceNotFoundException", missing.code)
    _, missing = client:get_account(H.PHONE)
    assert.are.equal("ParamValidationError", missing.code)
    assert.are.equal("id", missing.field)
    assert.has_error(function() client:get_account() end)
  end)

  it("gets one phone number with its account", function()
    local client = H.client()
    local number, err = client:get_phone_number(H.PHONE)
    assert.is_nil(err)
    assert.are.equal(H.PHONE, number.phoneNumberId)
    assert.are.equal("Lucky Shrub", number.displayPhoneNumberName)
    assert.matches("^waba%-", number.linkedWhatsAppBusinessAccountId)
    local _, missing = client:get_phone_number("phone-number-id-nope")
    assert.are.equal("ResourceNotFoundException", missing.code)
    _, missing = client:get_phone_number("waba-1")
    assert.are.equal("id", missing.field)
    assert.has_error(function() client:get_phone_number(1) end)
  end)

  it("lists every phone number of every account", function()
    local numbers, err = H.client():phone_numbers()
    assert.is_nil(err)
    assert.are.equal(6, #numbers)
    assert.are.equal(H.PHONE, numbers[1].phoneNumberId)
    for _, n in ipairs(numbers) do
      assert.matches("^phone%-number%-id%-", n.phoneNumberId)
      assert.matches("^waba%-", n.linkedWhatsAppBusinessAccountId)
    end
    assert.are.equal(3, #records("ListLinkedWhatsAppBusinessAccounts"))
    assert.are.equal(5, #records("GetLinkedWhatsAppBusinessAccount"))
    H.inject { { delay_ms = 0 }, { delay_ms = 0 }, { code = "AccessDeniedException" } }
    numbers, err = H.client():phone_numbers()
    assert.is_nil(numbers)
    assert.are.equal("AccessDeniedException", err.code)
  end)
end)

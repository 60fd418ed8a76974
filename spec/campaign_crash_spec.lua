-- The crash test of `whatsapp send-batch`: a 2,000-line campaign against
-- the stand-in injecting throttling, 5xx, connection resets, slow answers
-- and lost answers, killed with SIGKILL at five random moments and run again
-- each time until it finishes. Every line is accepted exactly once by the
-- stand-in, except lines the journal reported ambiguous: those at most once
-- until --resend-ambiguous is given, then at most twice.
local H = require "spec.support.helper"
local C = require "spec.support.campaign_helper"
local core = require "whatsapp.core"

local N = 2000

describe("whatsapp send-batch after SIGKILL", function()
  local home
  setup(function()
    H.require_standin()
    home = H.home()
  end)
  teardown(function() H.rmrf(home) end)

  -- lines the journal ever had as ambiguous: an "ambiguous" outcome, or a
  -- start without an outcome (seen as one that was sent again: resend)
  local function ambiguous_lines(path)
    local set = {}
    for _, r in ipairs(C.journal(path)) do
      if r.event == "ambiguous" or r.resend then set[r.line] = true end
    end
    return set
  end

  -- lines whose last record is a start (their attempt has no outcome)
  local function open_lines(path)
    local open = {}
    for _, r in ipairs(C.journal(path)) do
      if r.event == "start" then open[r.line] = true else open[r.line] = nil end
    end
    return open
  end

  -- every line accepted once, but an ambiguous one lo to hi times
  local function check_counts(counts, ambiguous, lo, hi)
    for i = 1, N do
      local n = counts[i] or 0
      if ambiguous[i] then
        assert.is_true(n >= lo and n <= hi, "ambiguous line " .. i .. ": accepted " .. n .. " times")
      else
        assert.are.equal(1, n, "line " .. i)
      end
    end
  end

  it("sends every line exactly once, except ambiguous ones (at most twice, only with --resend-ambiguous)", function()
    H.reset()
    H.inject {
      { every = 7, status = 429 }, { every = 11, status = 503 }, { every = 13, action = "reset" },
      { every = 17, delay_ms = 150 }, { every = 97, status = 500 }, { every = 89, action = "garbage" },
    }
    local path = home .. "/crash.jsonl"
    H.write(path, C.jsonl(N, "crash"))
    local args = { "send-batch", "--rate", "800", "--concurrency", "32", path }
    local math_random = math.random
    math.randomseed(os.time())
    local killed_open = {}
    for k = 1, 5 do
      local h = C.start(args, home, "kill" .. k)
      core.sleep(0.3 + math_random() * 1.2)
      os.execute("kill -KILL " .. h.pid)
      h.wait(30)
      for line in pairs(open_lines(path .. ".journal")) do killed_open[line] = true end
      -- so far nothing was sent twice: ambiguous lines are held back
      for line, n in pairs(C.accepted("crash")) do assert.are.equal(1, n, "line " .. line .. " after kill " .. k) end
    end
    assert.is_not_nil(next(killed_open), "no kill landed mid-send")
    -- run again until nothing but ambiguous lines is left
    local status, out, err
    for _ = 1, 6 do -- a line throttled on each of its 3 attempts of a run is retried by the next run
      status, out, err = C.run(args, home)
      if status ~= 3 and out:find("failed 0, invalid 0, ambiguous %d+, pending 0") then break end
    end
    assert.are.equal(1, status, err)
    assert.matches("failed 0, invalid 0, ambiguous %d+, pending 0", out)
    local before = C.accepted("crash")
    local ids = {}
    for _, m in ipairs(H.messages()) do ids[m.message_id] = true end
    local ambiguous = ambiguous_lines(path .. ".journal")
    for line in pairs(open_lines(path .. ".journal")) do ambiguous[line] = true end
    check_counts(before, ambiguous, 0, 1)
    -- with --resend-ambiguous the rest goes, and the campaign is done (the
    -- stand-in starts afresh: only faults after which nothing was delivered)
    H.reset()
    H.inject { { every = 7, status = 429 }, { every = 11, status = 503 }, { every = 17, delay_ms = 150 } }
    for _ = 1, 5 do
      status, out, err = C.run({ "send-batch", "--resend-ambiguous", "--rate", "800", "--concurrency", "32", path },
        home)
      if status == 0 then break end
    end
    assert.are.equal(0, status, err)
    assert.matches("sent " .. N .. ", failed 0, invalid 0, ambiguous 0, pending 0", out, 1, true)
    local after = C.accepted("crash")
    for i = 1, N do after[i] = (after[i] or 0) + (before[i] or 0) end
    ambiguous = ambiguous_lines(path .. ".journal")
    for line in pairs(killed_open) do assert.is_true(ambiguous[line], "line " .. line .. " open at a kill") end
    check_counts(after, ambiguous, 1, 2)
    local rows = C.results(path .. ".results.jsonl")
    assert.are.equal(N, #rows)
    for _, m in ipairs(H.messages()) do ids[m.message_id] = true end
    for i, row in ipairs(rows) do
      assert.are.same({ i, "sent" }, { row.line, row.status })
      assert.is_true(ids[row.message_id], "line " .. i .. "'s message id is one the stand-in gave")
    end
  end)
end)

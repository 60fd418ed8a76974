-- bench/report_resty.lua, the OpenResty table of make bench: each sender's
-- best round, every round's ratio to the same round's ceiling, and the
-- targets judged on the median of those paired ratios.
local H = require "spec.support.helper"

describe("bench/report_resty.lua", function()
  local path

  before_each(function() path = os.tmpname() end)
  after_each(function() os.remove(path) end)

  local function report(lines, base)
    local f = assert(io.open(path, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    return H.run("lua5.4 bench/report_resty.lua " .. path .. " 16 50 8 4 " .. (base or "") .. " 2>&1")
  end

  -- a round: the ceiling at 1000 requests/s and 10 µs per request, the module as given
  local function round(w, rate, cpu_us)
    return {
      w .. "|ceiling|n=3000 wall=3 cpu=0.03 requests=3000",
      string.format("%s|module|n=%d wall=3 cpu=%.6f requests=%d", w, rate * 3, cpu_us * rate * 3 / 1e6, rate * 3),
    }
  end

  local function rounds(w, list)
    local lines = {}
    for _, r in ipairs(list) do
      for _, l in ipairs(round(w, r[1], r[2])) do lines[#lines + 1] = l end
    end
    return lines
  end

  it("judges the targets on the median of the rounds' ratios, not on a lucky round", function()
    -- HTTP: rates 0.70, 0.80, 0.95 of the ceiling (median 0.80), CPU 1.2x, 1.4x, 1.5x (median 1.4x)
    local out = report(rounds("resty-http", { { 700, 12 }, { 800, 14 }, { 950, 15 } }))
    assert.matches("| HTTP: requests/s ≥ 0.85x the ceiling's | 0.80x **not met** |", out, 1, true)
    assert.matches("| HTTP: worker CPU per request ≤ 1.3x the ceiling's | 1.40x **not met** |", out, 1, true)
    -- the table: the best round's rate, the least CPU, and each round's ratios
    assert.matches("| 950 | 950 | 12.0 | 0.95x | 1.20x | 0.70, 0.80, 0.95 | 1.20, 1.40, 1.50 |", out, 1, true)
    out = report(rounds("resty-https", { { 900, 12 }, { 860, 11 } }))
    assert.matches("| HTTPS: requests/s ≥ 0.85x the ceiling's | 0.88x met |", out, 1, true)
    assert.matches("| HTTPS: worker CPU per request ≤ 1.3x the ceiling's | 1.15x met |", out, 1, true)
    assert.is_nil(out:find("HTTP: requests", 1, true)) -- no HTTP rounds: no HTTP row
  end)

  it("puts a base commit's module beside this tree's", function()
    local lines = rounds("resty-http", { { 900, 11 } })
    lines[#lines + 1] = "resty-http|base|n=1500 wall=3 cpu=0.03 requests=1500"
    local out = report(lines, "abc1234")
    assert.matches("| target (issue 15), median of the rounds' ratios | this tree | at abc1234 |", out, 1, true)
    assert.matches("| HTTP: requests/s ≥ 0.85x the ceiling's | 0.90x met | 0.50x **not met** |", out, 1, true)
    assert.matches("| the same, whatsapp at abc1234 | 500 | 500 | 20.0 | 0.50x | 2.00x |", out, 1, true)
  end)
end)

-- The OpenResty table of make bench (bench/resty.sh collects the lines
-- "workload|sender|n= wall= cpu= requests=", one per sender and round; cpu is
-- the front worker's). For each workload: requests/s, messages/s and worker
-- CPU per message of each sender, the best of its rounds (highest rate, least
-- CPU per message), each as a ratio to the ceiling's best; then the ratio of each round to the same round's ceiling
-- (the spread of this machine), and the targets of issue 15.
-- Usage: lua5.4 bench/report_resty.lua RESULTS CONNECTIONS BATCH_N INFLIGHT BATCH_CONNECTIONS [BASE]
local function report(path, conns, batch_n, inflight, bconns, base)
  local rounds = {} -- rounds[workload][sender] = { m, m, ... } in round order
  for line in io.lines(path) do
    local workload, sender, rest = line:match("^([^|]+)|([^|]+)|(.*)$")
    if workload then
      local m = {}
      for k, v in rest:gmatch("(%w+)=([%d.]+)") do m[k] = tonumber(v) end
      rounds[workload] = rounds[workload] or {}
      local list = rounds[workload][sender] or {}
      list[#list + 1] = m
      rounds[workload][sender] = list
    end
  end

  local function rate(m) return m.n / m.wall end
  local function cpu_us(m) return m.cpu / m.n * 1e6 end
  local function ratio(x) return string.format("%.2fx", x) end
  -- the best round of a sender: its highest rate, and its least CPU per
  -- message (other work on the machine only ever adds to either)
  local function best(w, s)
    local list = rounds[w] and rounds[w][s]
    if not list then return nil end
    local b, least = list[1], cpu_us(list[1])
    for i = 2, #list do
      local m = list[i]
      if rate(m) > rate(b) then b = m end
      if cpu_us(m) < least then least = cpu_us(m) end
    end
    return { n = b.n, wall = b.wall, requests = b.requests, cpu = least * b.n / 1e6 }
  end

  local NAMES = {
    ceiling = "handler posting one constant pre-signed request, pooled cosocket (ceiling)",
    module = "handler sending through whatsapp (transport resty)",
    base = "the same, whatsapp at " .. tostring(base),
    proxy = "nginx proxy_pass, upstream keepalive (C floor)",
    transport = "whatsapp.transport.resty's send alone (encode, sign, exchange)",
    prepare = "encode + sign alone (no network)",
  }
  local TITLES = {
    ["resty-http"] = "one text per request, HTTP (wrk, " .. conns .. " connections)",
    ["resty-https"] = "one text per request, HTTPS (wrk, " .. conns .. " connections)",
    ["resty-loop-http"] = "sequential sends inside one request, HTTP (no wrk: CPU by os.clock)",
    ["resty-loop-https"] = "sequential sends inside one request, HTTPS (no wrk: CPU by os.clock)",
    ["resty-batch"] = "send_batch of " .. batch_n .. " texts per request, " .. inflight .. " in flight, HTTP (wrk, "
      .. bconns .. " connections)",
  }
  local BATCH_NAMES = {
    ceiling = batch_n .. " constant pre-signed requests, " .. inflight .. " light threads (ceiling)",
    module = "client:send_batch (transport resty)",
    base = "client:send_batch, whatsapp at " .. tostring(base),
  }

  local out = {}
  local function say(s) out[#out + 1] = s end
  say("| nginx, one worker | requests/s | messages/s | worker CPU µs/message | messages/s vs ceiling "
    .. "| CPU vs ceiling | messages/s vs ceiling, each round | CPU vs ceiling, each round |")
  say("|---|---:|---:|---:|---:|---:|---|---|")
  for _, w in ipairs { "resty-http", "resty-https", "resty-batch", "resty-loop-http", "resty-loop-https" } do
    local ceil = best(w, "ceiling")
    if ceil then
      say("| **" .. TITLES[w] .. "** | | | | | | | |")
      for _, s in ipairs { "ceiling", "module", "base", "proxy", "transport", "prepare" } do
        local m = best(w, s)
        if m then
          local each, each_cpu, list, clist = {}, {}, rounds[w][s], rounds[w].ceiling
          for i = 1, math.min(#list, #clist) do
            each[i] = string.format("%.2f", rate(list[i]) / rate(clist[i]))
            each_cpu[i] = string.format("%.2f", cpu_us(list[i]) / cpu_us(clist[i]))
          end
          local name = (w == "resty-batch" and BATCH_NAMES[s]) or NAMES[s]
          say(string.format("| %s | %.0f | %.0f | %.1f | %s | %s | %s | %s |", name, m.requests / m.wall, rate(m),
            cpu_us(m), ratio(rate(m) / rate(ceil)), ratio(cpu_us(m) / cpu_us(ceil)), table.concat(each, ", "),
            table.concat(each_cpu, ", ")))
        end
      end
    end
  end

  -- the targets, judged on the median over the rounds of each round's ratio
  -- to the same round's ceiling (the best rounds above can pair a lucky
  -- round of one sender with an unlucky one of the other)
  local function check(ok) return ok and "met" or "**not met**" end
  local function median_ratio(w, s, f)
    local list, clist, xs = rounds[w] and rounds[w][s], rounds[w] and rounds[w].ceiling, {}
    if not (list and clist) then return nil end
    for i = 1, math.min(#list, #clist) do xs[i] = f(list[i]) / f(clist[i]) end
    table.sort(xs)
    local k = #xs
    return k % 2 == 1 and xs[(k + 1) / 2] or (xs[k / 2] + xs[k / 2 + 1]) / 2
  end
  say("")
  say("| target (issue 15), median of the rounds' ratios | this tree" .. (base and " | at " .. base or "") .. " |")
  say("|---|---|" .. (base and "---|" or ""))
  local function row(name, w, f, ok)
    local cells = {}
    for _, s in ipairs { "module", base and "base" or nil } do
      local x = median_ratio(w, s, f)
      if x then cells[#cells + 1] = ratio(x) .. " " .. check(ok(x)) end
    end
    if #cells > 0 then say("| " .. name .. " | " .. table.concat(cells, " | ") .. " |") end
  end
  local function at_least(x) return x >= 0.85 end
  local function at_most(x) return x <= 1.3 end
  row("HTTP: requests/s ≥ 0.85x the ceiling's", "resty-http", rate, at_least)
  row("HTTP: worker CPU per request ≤ 1.3x the ceiling's", "resty-http", cpu_us, at_most)
  row("HTTPS: requests/s ≥ 0.85x the ceiling's", "resty-https", rate, at_least)
  row("HTTPS: worker CPU per request ≤ 1.3x the ceiling's", "resty-https", cpu_us, at_most)
  row("(sequential inside one request, HTTP: CPU per send ≤ 1.3x)", "resty-loop-http", cpu_us, at_most)
  row("(sequential inside one request, HTTPS: CPU per send ≤ 1.3x)", "resty-loop-https", cpu_us, at_most)
  return table.concat(out, "\n")
end

print(report(assert(arg[1], "usage: report_resty.lua RESULTS CONNECTIONS BATCH_N INFLIGHT BATCH_CONNECTIONS [BASE]"),
  arg[2], arg[3], arg[4], arg[5], arg[6] ~= "" and arg[6] or nil))

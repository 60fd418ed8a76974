-- Turns the lines bench/run.sh collected ("workload|sender|n= wall= cpu= ...")
-- into the table of BENCHMARKS.md: for each workload the messages/s and
-- client CPU per message of each sender, each as a ratio to its peer from
-- the same run, then the targets of issue 9 and whether this run meets them.
-- Usage: lua5.4 bench/report.lua RESULTS SEQ_N BATCH_N INFLIGHT BIG_N RSS_N
local path = assert(arg[1], "usage: report.lua RESULTS SEQ_N BATCH_N INFLIGHT BIG_N RSS_N")
local seq_n, batch_n, inflight, rss_n = arg[2], arg[3], arg[4], arg[6]

-- best[workload][sender] = the fastest of the repeats: {n, wall, cpu, rss0, max, last}
local best = {}
for line in io.lines(path) do
  local workload, sender, rest = line:match("^([^|]+)|([^|]+)|(.*)$")
  if workload then
    local m = {}
    for k, v in rest:gmatch("(%w+)=([%d.]+)") do m[k] = tonumber(v) end
    best[workload] = best[workload] or {}
    local b = best[workload][sender]
    if not b or m.wall < b.wall then best[workload][sender] = m end
  end
end

local function get(w, s)
  local m = best[w] and best[w][s]
  if not m then error("no figure for " .. s .. " on " .. w) end
  return m
end
local function rate(m) return m.n / m.wall end
local function cpu_us(m) return m.cpu / m.n * 1e6 end
local function ratio(x) return string.format("%.2fx", x) end

local NAMES = {
  ceiling = "libcurl loop, one constant pre-signed request (ceiling)",
  ["lua5.4"] = "whatsapp, Lua 5.4", luajit = "whatsapp, LuaJIT 2.1",
  jssdk = "AWS SDK for JavaScript v3 (Node " .. (io.popen("node --version"):read("*l") or "?") .. ")",
  openssl = "OpenSSL alone: SHA-256 + base64 of the 2,000,000 bytes",
}
local out = {}
local function say(s) out[#out + 1] = s end

local TITLES = {
  ["seq-http"] = seq_n .. " sequential text sends, HTTP (one keep-alive connection)",
  ["seq-https"] = seq_n .. " sequential text sends, HTTPS",
  batch = batch_n .. " text sends, " .. inflight .. " in flight, HTTP (libcurl: multi handle)",
}

say("| sender | messages/s | client CPU µs/message | messages/s vs ceiling | CPU vs ceiling | messages/s vs JS SDK |")
say("|---|---:|---:|---:|---:|---:|")
for _, w in ipairs { "seq-http", "seq-https", "batch" } do
  local ceil, js = get(w, "ceiling"), get(w, "jssdk")
  local ceiling_name = w == "batch" and "libcurl multi loop, " .. inflight .. " in flight (ceiling)" or NAMES.ceiling
  say("| **" .. TITLES[w] .. "** | | | | | |")
  for _, s in ipairs { "ceiling", "lua5.4", "luajit", "jssdk" } do
    local m = get(w, s)
    say(string.format("| %s | %.0f | %.1f | %s | %s | %s |", s == "ceiling" and ceiling_name or NAMES[s],
      rate(m), cpu_us(m), ratio(rate(m) / rate(ceil)), ratio(cpu_us(m) / cpu_us(ceil)), ratio(rate(m) / rate(js))))
  end
end
say("")
say("| 2,000,000-byte message | sender | ms/message (CPU) | vs OpenSSL alone |")
say("|---|---|---:|---:|")
local ossl = get("big", "openssl")
for _, s in ipairs { "openssl", "lua5.4", "luajit", "jssdk" } do
  local m = get("big", s)
  local what = s == "openssl" and "hash + base64" or s == "jssdk" and "build + sign + a canned answer"
    or "encode + base64 + sign (client:prepare)"
  local x = (m.cpu / m.n) / (ossl.cpu / ossl.n)
  say(string.format("| %s | %s | %.2f | %s |", what, NAMES[s], m.cpu / m.n * 1e3, ratio(x)))
end
say("")
say("| resident memory across " .. rss_n .. " sends (after 20,000 to warm up) | at start | highest | at the end "
  .. "| growth |")
say("|---|---:|---:|---:|---:|")
for _, s in ipairs { "lua5.4", "luajit" } do
  local m = get("rss", s)
  say(string.format("| %s | %d KiB | %d KiB | %d KiB | %+d KiB |", NAMES[s], m.rss0, m.max, m.last, m.max - m.rss0))
end

-- the targets of issue 9, for this run
local function check(ok) return ok and "met" or "**not met**" end
say("")
say("| target | Lua 5.4 | LuaJIT |")
say("|---|---|---|")
local function row(name, f)
  local a, b = f("lua5.4"), f("luajit")
  say(string.format("| %s | %s | %s |", name, a, b))
end
row("sequential HTTP ≥ 0.90x the ceiling's messages/s", function(s)
  local x = rate(get("seq-http", s)) / rate(get("seq-http", "ceiling"))
  return ratio(x) .. " " .. check(x >= 0.90)
end)
row("sequential HTTP client CPU ≤ 1.5x the ceiling's", function(s)
  local x = cpu_us(get("seq-http", s)) / cpu_us(get("seq-http", "ceiling"))
  return ratio(x) .. " " .. check(x <= 1.5)
end)
row("sequential HTTPS ≥ 0.85x the ceiling's messages/s", function(s)
  local x = rate(get("seq-https", s)) / rate(get("seq-https", "ceiling"))
  return ratio(x) .. " " .. check(x >= 0.85)
end)
row("batch at " .. inflight .. " in flight ≥ 0.80x the multi ceiling", function(s)
  local x = rate(get("batch", s)) / rate(get("batch", "ceiling"))
  return ratio(x) .. " " .. check(x >= 0.80)
end)
row("2,000,000-byte message within 3x OpenSSL alone", function(s)
  local m = get("big", s)
  local x = (m.cpu / m.n) / (ossl.cpu / ossl.n)
  return ratio(x) .. " " .. check(x <= 3)
end)
row("resident memory flat (within 1 MiB) after warm-up", function(s)
  local m = get("rss", s)
  return string.format("%+d KiB ", m.max - m.rss0) .. check(m.max - m.rss0 <= 1024)
end)
print(table.concat(out, "\n"))

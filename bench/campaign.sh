#!/usr/bin/env bash
# The journal's cost, issue 17: a campaign of N lines (default 20,000) at
# --rate 1000 through `whatsapp send-batch` (journal with fsync, results file)
# next to client:send_batch of the same messages without a journal, in one
# run against the stand-in, on Lua 5.4 and LuaJIT. Not a timed test: the
# stand-in (botocore in Python) and the machine set the pace; compare the two.
set -u
cd "$(dirname "$0")/.."
n=${1:-20000}
rate=${2:-1000}
work=$(mktemp -d /tmp/whatsapp-bench.XXXXXX)
standin_pid=""
trap '[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null; rm -rf "$work"' EXIT
. spec/support/start-standin.sh
start_standin "$work" || exit 1
for rt in lua5.4 luajit; do
  LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/$rt/?.so;;" \
    $rt bench/campaign.lua "$n" "$rate" "$work/$rt" || exit 1
done

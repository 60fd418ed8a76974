#!/usr/bin/env bash
# The record figure of the end-to-end issue: N sequential sends against the
# stand-in's HTTP port, this module (Lua 5.4 and LuaJIT) next to a botocore
# peer in the same run. The stand-in verifies every signature with botocore in
# Python, so it, not the client, sets the pace: compare ratios, and CPU per send.
set -u
cd "$(dirname "$0")/.."
n=${1:-10000}
work=$(mktemp -d /tmp/whatsapp-bench.XXXXXX)
standin_pid=""
trap '[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null; rm -rf "$work"' EXIT
. spec/support/start-standin.sh
start_standin "$work" || exit 1
for rt in lua5.4 luajit; do
  $rt -e "package.path='lua/?.lua;lua/?/init.lua;'..package.path; package.cpath='build/$rt/?.so;'..package.cpath" \
    bench/standin_loop.lua "$n" || exit 1
done
/usr/bin/python3 bench/peer_botocore.py "$n" || exit 1

#!/usr/bin/env bash
# `make soak`: N sends (default 100,000) through one client to the stand-in, on
# Lua 5.4 and on LuaJIT (or the runtimes in SOAK_RUNTIMES), each failing when
# its resident memory grows by more than 1 MiB after the warm-up. The stand-in
# checks every signature with botocore, so it sets the pace (~3,000 sends/s).
set -u
cd "$(dirname "$0")/.."
n=${1:-100000}
work=$(mktemp -d /tmp/whatsapp-soak.XXXXXX)
standin_pid=""
trap '[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null; rm -rf "$work"' EXIT
. spec/support/start-standin.sh
start_standin "$work" || exit 1
failed=0
for rt in ${SOAK_RUNTIMES:-lua5.4 luajit}; do
  echo "== $rt"
  $rt -e "package.path='lua/?.lua;lua/?/init.lua;'..package.path; package.cpath='build/$rt/?.so;'..package.cpath" \
    bench/soak.lua "$n" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ]

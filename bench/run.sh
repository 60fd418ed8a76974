#!/usr/bin/env bash
# make bench: one run of every workload against an instant local endpoint
# (bench/endpoint.sh), printing a table of messages/s and client CPU per
# message with each figure as a ratio to its peer from the same run
# (bench/report.lua). Senders: this module on Lua 5.4 and LuaJIT
# (bench/module.lua), a plain libcurl loop posting one constant pre-signed
# request (bench/ceiling.c: the ceiling of any libcurl sender; with 64
# transfers in flight, the batch ceiling), the AWS SDK for JavaScript v3
# (bench/peer_sdk.mjs), and OpenSSL alone for the 2,000,000-byte message;
# then the OpenResty section (bench/resty.sh: nginx driven by wrk).
#
# The machine should be quiet: every figure is a ratio to a peer measured
# minutes apart on the same cores. Sizes and repeats can be made smaller
# while iterating:
#   BENCH_SEQ=20000 BENCH_BATCH=50000 BENCH_INFLIGHT=64 BENCH_BIG=100 BENCH_RSS=100000
#   BENCH_REPEAT=2 (each measure is taken that many times, the fastest kept)
set -u
cd "$(dirname "$0")/.."
root=$PWD
seq_n=${BENCH_SEQ:-20000}
batch_n=${BENCH_BATCH:-50000}
inflight=${BENCH_INFLIGHT:-64}
big_n=${BENCH_BIG:-100}
rss_n=${BENCH_RSS:-100000}
repeat=${BENCH_REPEAT:-2}

work=$(mktemp -d /tmp/whatsapp-bench.XXXXXX)
endpoint_pid=""
cleanup() {
  [ -n "$endpoint_pid" ] && { kill "$endpoint_pid" 2>/dev/null; wait "$endpoint_pid" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -d bench/node_modules/@aws-sdk/client-socialmessaging ]; then
  echo "installing the JS SDK peer (npm ci in bench/)" >&2
  (cd bench && npm ci --no-audit --no-fund >/dev/null) || { echo "npm ci failed" >&2; exit 1; }
fi

# shellcheck source=bench/endpoint.sh
. bench/endpoint.sh
start_endpoint "$work" || exit 1

results=$work/results.txt
: >"$results"
lua_run() { # runtime args...
  local rt=$1
  shift
  "$rt" -e "package.path='$root/lua/?.lua;$root/lua/?/init.lua;'..package.path; package.cpath='$root/build/$rt/?.so;'..package.cpath" \
    bench/module.lua "$@"
}
# measure WORKLOAD SENDER command...: runs it $repeat times, keeps each line
measure() {
  local workload=$1 sender=$2 i line
  shift 2
  for i in $(seq 1 "$repeat"); do
    line=$("$@") || { echo "bench: $sender on $workload failed" >&2; exit 1; }
    echo "$workload|$sender|$line" >>"$results"
  done
  echo "  $workload / $sender done" >&2
}
export NODE_NO_WARNINGS=1
ceiling=build/bench/ceiling
echo "make bench: sequential $seq_n, batch $batch_n at $inflight in flight, 2 MB x $big_n, memory over $rss_n sends" >&2

for proto in http https; do
  if [ $proto = http ]; then url=$BENCH_HTTP ca=""; else url=$BENCH_HTTPS ca=$BENCH_CA; fi
  measure "seq-$proto" ceiling $ceiling seq "$url" "$seq_n" $ca
  measure "seq-$proto" lua5.4 lua_run lua5.4 seq "$url" "$seq_n" $ca
  measure "seq-$proto" luajit lua_run luajit seq "$url" "$seq_n" $ca
  measure "seq-$proto" jssdk node bench/peer_sdk.mjs seq "$url" "$seq_n" $ca
done
measure batch ceiling $ceiling multi "$BENCH_HTTP" "$batch_n" "$inflight"
measure batch lua5.4 lua_run lua5.4 batch "$BENCH_HTTP" "$batch_n" "$inflight"
measure batch luajit lua_run luajit batch "$BENCH_HTTP" "$batch_n" "$inflight"
measure batch jssdk node bench/peer_sdk.mjs batch "$BENCH_HTTP" "$batch_n" "$inflight"
measure big openssl $ceiling hash 2000000 "$big_n"
measure big lua5.4 lua_run lua5.4 big "$big_n"
measure big luajit lua_run luajit big "$big_n"
measure big jssdk node bench/peer_sdk.mjs big "$big_n"
repeat=1 measure rss lua5.4 lua_run lua5.4 rss "$BENCH_HTTP" "$rss_n"
repeat=1 measure rss luajit lua_run luajit rss "$BENCH_HTTP" "$rss_n"

echo >&2
lua5.4 bench/report.lua "$results" "$seq_n" "$batch_n" "$inflight" "$big_n" "$rss_n"

# the OpenResty section (its own endpoint and nginx; bench/resty.sh)
echo >&2
echo "OpenResty (bench/resty.sh)" >&2
echo
bash bench/resty.sh || exit 1

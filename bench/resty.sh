#!/usr/bin/env bash
# make bench's OpenResty section (also on its own: make bench-resty). A front
# nginx (Debian's nginx + libnginx-mod-http-lua, one worker, as
# spec/support/nginx_lua.lua starts it) serves handlers (bench/resty_handlers.lua)
# that each send to the instant endpoint (bench/endpoint.sh) behind it; wrk
# drives the front. For each workload, requests/s (wrk) and the front worker's
# CPU per request (utime+stime of /proc/<worker>/stat before and after) of:
#   ceiling   the handler posting one constant pre-signed request over a pooled cosocket
#   module    the handler sending one text through this module (transport "resty")
#   proxy     nginx's own proxy_pass with upstream keep-alive (the C floor)
#   base      (BENCH_RESTY_BASE=<git rev>) the module as at that commit, in a second front
#             nginx with the same C build: before/after from one run
# over HTTP and HTTPS, and send_batch inside a handler against the same
# ceiling with as many light threads; then, without wrk, BENCH_RESTY_LOOP
# sequential exchanges inside one request (the worker's CPU per exchange by
# os.clock, steadier on a busy machine): the ceiling, client:send, the
# transport's send alone and encode + sign alone. bench/report_resty.lua
# prints every figure as a ratio to the ceiling of the same run.
#   BENCH_RESTY_SECONDS=5 (each measure) BENCH_RESTY_CONNECTIONS=16 (wrk's)
#   BENCH_RESTY_REPEAT=3 (rounds, the senders interleaved; the best round kept)
#   BENCH_RESTY_BATCH=50 (messages per batch request) BENCH_RESTY_INFLIGHT=8 (send_batch's concurrency)
#   BENCH_RESTY_RESULTS=FILE (append the raw lines there too)
set -u
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_RESTY_SECONDS:-5}
conns=${BENCH_RESTY_CONNECTIONS:-16}
rounds=${BENCH_RESTY_REPEAT:-3}
batch_n=${BENCH_RESTY_BATCH:-50}
inflight=${BENCH_RESTY_INFLIGHT:-8}
base=${BENCH_RESTY_BASE:-}
callgrind=${BENCH_RESTY_CALLGRIND:-}

command -v wrk >/dev/null || { echo "bench/resty.sh: wrk is missing (make bench-resty installs it)" >&2; exit 1; }

work=$(mktemp -d /tmp/whatsapp-bench-resty.XXXXXX)
endpoint_pid=""
fronts=""
cleanup() {
  local p
  for p in $fronts; do kill -QUIT "$p" 2>/dev/null; done
  for p in $fronts; do wait "$p" 2>/dev/null; done
  [ -n "$endpoint_pid" ] && { kill "$endpoint_pid" 2>/dev/null; wait "$endpoint_pid" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/endpoint.sh
. bench/endpoint.sh
start_endpoint "$work" || exit 1
ep_http=${BENCH_HTTP#http://}
ep_https=${BENCH_HTTPS#https://}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_front NAME LUA_ROOT: a front nginx whose handlers load the Lua files
# under LUA_ROOT; sets front_port and front_worker
start_front() {
  local name=$1 lua=$2 dir=$work/$1 user="" i
  mkdir -p "$dir/tmp"
  front_port=$(free_port)
  [ "$(id -u)" -eq 0 ] && user="user root;"
  local h=$BENCH_HTTP s=https://localhost:${ep_https#*:} # (ngx_lua checks names, not IP addresses)
  cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
$user
${callgrind:+master_process off;}
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi; uwsgi_temp_path $dir/tmp/uwsgi; scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  lua_package_path "$lua/?.lua;$lua/?/init.lua;$root/bench/?.lua;;";
  lua_package_cpath "$root/build/luajit/?.so;;";
  lua_ssl_trusted_certificate $BENCH_CA;
  lua_ssl_verify_depth 2;
  lua_socket_log_errors off;
  upstream endpoint_http { server $ep_http; keepalive 32; }
  upstream endpoint_https { server $ep_https; keepalive 32; }
  server {
    listen 127.0.0.1:$front_port;
    location = /ready { return 200 "ready"; }
    location = /module-http { content_by_lua_block { require("resty_handlers").module("$h") } }
    location = /module-https { content_by_lua_block { require("resty_handlers").module("$s") } }
    location = /ceiling-http { content_by_lua_block { require("resty_handlers").ceiling("$h") } }
    location = /ceiling-https { content_by_lua_block { require("resty_handlers").ceiling("$s") } }
    location = /batch-http { content_by_lua_block { require("resty_handlers").batch("$h", $batch_n, $inflight) } }
    location = /ceiling-batch-http {
      content_by_lua_block { require("resty_handlers").ceiling_batch("$h", $batch_n, $inflight) }
    }
    location = /loop { content_by_lua_block {
      local a = ngx.req.get_uri_args()
      require("resty_handlers").loop(a.https and "$s" or "$h", a.what, tonumber(a.n))
    } }
    location = /proxy-http {
      proxy_pass http://endpoint_http/v1/whatsapp/send;
      include $work/proxy.conf;
    }
    location = /proxy-https {
      proxy_pass https://endpoint_https/v1/whatsapp/send;
      proxy_ssl_trusted_certificate $BENCH_CA;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      include $work/proxy.conf;
    }
  }
}
CONF
  if [ -n "$callgrind" ]; then
    valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$dir/callgrind.out" \
      nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/valgrind.log" &
  else
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  fi
  local master=$!
  fronts="$fronts $master"
  for i in $(seq 1 600); do
    curl -s -o /dev/null "http://127.0.0.1:$front_port/ready" && break
    kill -0 "$master" 2>/dev/null || { cat "$dir/error.log" >&2; return 1; }
    sleep 0.1
  done
  front_worker=$(ps -o pid= --ppid "$master" | tr -d ' ' | head -1)
  [ -n "$callgrind" ] && front_worker=$master # (no master process: the one process serves)
  [ -n "$front_worker" ] || { echo "bench/resty.sh: no worker for $name" >&2; return 1; }
}

# proxy_pass's request: what a send posts (a body and signed headers of the
# same sizes; the endpoint checks no signature)
cat >"$work/proxy.conf" <<'CONF'
proxy_http_version 1.1;
proxy_method POST;
proxy_pass_request_headers off;
proxy_pass_request_body off;
proxy_set_header Connection "";
proxy_set_header Content-Type application/json;
proxy_set_header X-Amz-Date 20260101T000000Z;
proxy_set_header Authorization "AWS4-HMAC-SHA256 Credential=AKIDSTANDINEXAMPLE/20260101/us-east-1/social-messaging/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";
proxy_set_body '{"message":"eyJtZXNzYWdpbmdfcHJvZHVjdCI6IndoYXRzYXBwIiwidGV4dCI6eyJib2R5IjoiYmVuY2htYXJrIn0sInRvIjoiKzE0MjU1NTUwMTIzIiwidHlwZSI6InRleHQifQ==","metaApiVersion":"v20.0","originationPhoneNumberId":"phone-number-id-0123456789abcdef0123456789abcdef"}';
CONF

start_front main "$root/lua" || exit 1
main_port=$front_port main_worker=$front_worker
if [ -n "$base" ]; then
  mkdir -p "$work/base"
  git archive "$base" lua | tar -x -C "$work/base" || { echo "bench/resty.sh: no tree at $base" >&2; exit 1; }
  start_front base "$work/base/lua" || exit 1
  base_port=$front_port base_worker=$front_worker
fi

results=$work/resty.txt
: >"$results"
hz=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# run WORKLOAD SENDER PORT WORKER PATH MESSAGES_PER_REQUEST CONNECTIONS
run() {
  local workload=$1 sender=$2 port=$3 worker=$4 path=$5 per=$6 c=$7 out c0 c1 reqs dur bad
  local url=http://127.0.0.1:$port$path
  wrk -t1 -c"$c" -d1s "$url" >/dev/null 2>&1 # warm: connections, JIT, pools
  c0=$(cpu_ticks "$worker")
  out=$(wrk -t1 -c"$c" -d"${secs}s" "$url" 2>&1) || { echo "$out" >&2; exit 1; }
  c1=$(cpu_ticks "$worker")
  bad=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
  if [ -n "$bad" ] || echo "$out" | grep -q "Socket errors"; then
    echo "bench/resty.sh: $sender on $workload had failures:" >&2
    echo "$out" >&2
    curl -s "$url" >&2
    exit 1
  fi
  reqs=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)\(m*s\).*/\1/p')
  dur=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)\(m*s\).*/\2 \3/p' |
    awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }')
  [ -n "$reqs" ] && [ -n "$dur" ] || { echo "bench/resty.sh: cannot read wrk's output:" >&2; echo "$out" >&2; exit 1; }
  echo "$workload|$sender|n=$((reqs * per)) wall=$dur cpu=$(awk "BEGIN { print ($c1 - $c0) / $hz }") requests=$reqs" \
    | tee -a "$results" >>"${BENCH_RESTY_RESULTS:-/dev/null}"
}

# BENCH_RESTY_CALLGRIND=1: instead of the table, instructions per exchange
# (the steadiest figure on a shared machine): the front nginx runs as one
# process under valgrind's callgrind; for each loop of above, the
# instructions of 2,000 exchanges inside one request (counters zeroed
# before, dumped after), divided by 2,000.
if [ -n "$callgrind" ]; then
  cg() { # PORT WHAT [https] -> instructions per exchange
    local port=$1 what=$2 https=${3:-} pid=$4 out f
    curl -s -m 600 "http://127.0.0.1:$port/loop?what=$what&n=200${https:+&https=1}" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1
    out=$(curl -s -m 600 "http://127.0.0.1:$port/loop?what=$what&n=2000${https:+&https=1}")
    case $out in n=*) ;; *) echo "bench/resty.sh: callgrind $what failed: $out" >&2; exit 1 ;; esac
    callgrind_control -d "$pid" >/dev/null 2>&1
    f=$(ls -t "$work"/*/callgrind.out.* 2>/dev/null | head -1)
    awk '/^(summary|totals):/ { print int($2 / 2000); exit }' "$f"
    rm -f "$f"
  }
  printf '| instructions per exchange (callgrind) | HTTP | HTTPS |\n|---|---:|---:|\n'
  for what in ceiling module transport prepare; do
    printf '| %s | %s | %s |\n' "$what" "$(cg "$main_port" $what "" "$main_worker")" \
      "$(cg "$main_port" $what 1 "$main_worker")"
  done
  if [ -n "$base" ]; then
    printf '| module at %s | %s | %s |\n' "$base" "$(cg "$base_port" module "" "$base_worker")" \
      "$(cg "$base_port" module 1 "$base_worker")"
  fi
  exit 0
fi

# BENCH_RESTY_PROFILE=/module-http (any path above): instead of the table, the
# front worker under perf (cpu-clock) while wrk drives that path; perf report's top
if [ -n "${BENCH_RESTY_PROFILE:-}" ]; then
  url=http://127.0.0.1:$main_port$BENCH_RESTY_PROFILE
  wrk -t1 -c"$conns" -d1s "$url" >/dev/null 2>&1
  perf record -q -e cpu-clock -o "$work/perf.data" -p "$main_worker" -- sleep "$secs" >/dev/null 2>&1 &
  perf_pid=$!
  wrk -t1 -c"$conns" -d"${secs}s" "$url" | grep -E "requests in|Non-2xx"
  wait "$perf_pid"
  perf report -n -i "$work/perf.data" --no-children --sort "${BENCH_RESTY_SORT:-dso,symbol}" --stdio 2>/dev/null \
    | grep -v "^#" | grep -v "^$" | grep "%" | head -"${BENCH_RESTY_TOP:-40}"
  exit 0
fi

# loop WORKLOAD SENDER PORT WHAT [https]: BENCH_RESTY_LOOP sequential exchanges inside one request
loop_n=${BENCH_RESTY_LOOP:-5000}
loop() {
  local out
  out=$(curl -s -m 120 "http://127.0.0.1:$3/loop?what=$4&n=$loop_n${5:+&https=1}")
  case $out in n=*) ;; *) echo "bench/resty.sh: $2 on $1 failed: $out" >&2; exit 1 ;; esac
  echo "$1|$2|$out requests=$loop_n" | tee -a "$results" >>"${BENCH_RESTY_RESULTS:-/dev/null}"
}

echo "bench/resty.sh: ${secs}s per measure, $conns connections, $rounds rounds; batch of $batch_n at $inflight in flight" >&2
bconns=$(( conns / 4 > 0 ? conns / 4 : 1 ))
for r in $(seq 1 "$rounds"); do
  for proto in http https; do
    run "resty-$proto" ceiling "$main_port" "$main_worker" "/ceiling-$proto" 1 "$conns"
    run "resty-$proto" module "$main_port" "$main_worker" "/module-$proto" 1 "$conns"
    [ -n "$base" ] && run "resty-$proto" base "$base_port" "$base_worker" "/module-$proto" 1 "$conns"
    run "resty-$proto" proxy "$main_port" "$main_worker" "/proxy-$proto" 1 "$conns"
  done
  run resty-batch ceiling "$main_port" "$main_worker" /ceiling-batch-http "$batch_n" "$bconns"
  run resty-batch module "$main_port" "$main_worker" /batch-http "$batch_n" "$bconns"
  [ -n "$base" ] && run resty-batch base "$base_port" "$base_worker" /batch-http "$batch_n" "$bconns"
  for proto in http https; do
    https=""; [ $proto = https ] && https=1
    for what in ceiling module transport prepare; do loop "resty-loop-$proto" $what "$main_port" $what $https; done
    [ -n "$base" ] && loop "resty-loop-$proto" base "$base_port" module $https
  done
  echo "  round $r done" >&2
done
for f in "$work"/main/error.log "$work"/base/error.log; do
  [ -f "$f" ] && grep -E '\[(error|crit|alert|emerg)\]' "$f" | head -5 >&2
done
echo >&2
lua5.4 bench/report_resty.lua "$results" "$conns" "$batch_n" "$inflight" "$bconns" "$base"

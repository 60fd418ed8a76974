# Sourced by bench/run.sh: an instant local endpoint for the benchmark. nginx
# (one worker) answers every request at once with {"messageId":"…"} over HTTP
# and HTTPS (the test certificate of spec/support/mkcerts.sh; HTTP/1.1 only,
# as the stand-in). It checks no signature: the benchmark measures the
# client, and every sender posts the same kind of request.
#   start_endpoint DIR   sets endpoint_pid and exports BENCH_HTTP, BENCH_HTTPS, BENCH_CA
start_endpoint() {
  local dir=$1/endpoint http https i user=""
  mkdir -p "$dir/tmp"
  bash spec/support/mkcerts.sh "$dir/certs" || return 1
  http=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  https=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  [ "$(id -u)" -eq 0 ] && user="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi; uwsgi_temp_path $dir/tmp/uwsgi; scgi_temp_path $dir/tmp/scgi;
  client_max_body_size 20m;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$http;
    listen 127.0.0.1:$https ssl;
    ssl_certificate $dir/certs/server.pem;
    ssl_certificate_key $dir/certs/server.key;
    location / {
      default_type application/json;
      add_header x-amzn-RequestId 6f8c1a52-3b1e-4c4f-9a53-0d1c2b3a4f5e;
      return 200 '{"messageId":"4d9a2c1e-7b3f-4e5a-8c6d-1f2e3d4c5b6a"}';
    }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  endpoint_pid=$!
  for i in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$http/" && break
    kill -0 "$endpoint_pid" 2>/dev/null || { cat "$dir/error.log" >&2; return 1; }
    sleep 0.1
  done
  export BENCH_HTTP="http://127.0.0.1:$http" BENCH_HTTPS="https://127.0.0.1:$https" BENCH_CA="$dir/certs/ca.pem"
}

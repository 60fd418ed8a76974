# Sourced by spec/run.sh and examples/demo.sh: makes a test CA, starts the
# stand-in on free loopback ports and exports where it listens.
#   start_standin DIR   sets standin_pid and exports WA_STANDIN_HTTP, WA_STANDIN_HTTPS,
#                       WA_STANDIN_CA (the CA that signed its certificate),
#                       WA_STANDIN_OTHER_CA (an unrelated CA)
start_standin() {
  local dir=$1 i
  bash spec/support/mkcerts.sh "$dir/certs" || return 1
  /usr/bin/python3 spec/support/standin.py --ready-file "$dir/standin.json" \
    --cert "$dir/certs/server.pem" --key "$dir/certs/server.key" --lifetime 3600 \
    2>"$dir/standin.log" &
  standin_pid=$!
  for i in $(seq 1 100); do
    [ -s "$dir/standin.json" ] && break
    if ! kill -0 "$standin_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ ! -s "$dir/standin.json" ]; then
    echo "the stand-in did not start:" >&2
    cat "$dir/standin.log" >&2
    return 1
  fi
  local http https
  http=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$dir/standin.json")
  https=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["https_port"])' "$dir/standin.json")
  export WA_STANDIN_HTTP="http://127.0.0.1:$http"
  export WA_STANDIN_HTTPS="https://127.0.0.1:$https"
  export WA_STANDIN_CA="$dir/certs/ca.pem"
  export WA_STANDIN_OTHER_CA="$dir/certs/other-ca.pem"
}

# start_h2_front DIR: nginx on a free loopback port speaking HTTP/2 over TLS
# (the test certificate) in front of the stand-in's HTTP port, passing the
# Host through so signatures still check out, and telling the stand-in the
# client connection (X-Front-Connection) and protocol (X-Front-Protocol) of
# each request. Needs start_standin first. Sets
# h2_pid and exports WA_STANDIN_H2.
start_h2_front() {
  local dir=$1/h2 port i user=""
  mkdir -p "$dir/tmp"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  [ "$(id -u)" -eq 0 ] && user="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 64; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi; uwsgi_temp_path $dir/tmp/uwsgi; scgi_temp_path $dir/tmp/scgi;
  client_max_body_size 20m;
  server {
    listen 127.0.0.1:$port ssl http2;
    ssl_certificate $1/certs/server.pem;
    ssl_certificate_key $1/certs/server.key;
    location / {
      proxy_pass ${WA_STANDIN_HTTP};
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
      # which client connection and protocol a request came on (the stand-in records headers)
      proxy_set_header X-Front-Connection \$connection;
      proxy_set_header X-Front-Protocol \$server_protocol;
    }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  h2_pid=$!
  for i in $(seq 1 50); do
    /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$port" \
      2>/dev/null && break
    kill -0 "$h2_pid" 2>/dev/null || { cat "$dir/error.log" >&2; return 1; }
    sleep 0.1
  done
  export WA_STANDIN_H2="https://127.0.0.1:$port"
}

# start_credsrv DIR: the credential sources (IMDS, container endpoint, STS) on
# a free loopback port. Sets credsrv_pid and exports WA_CREDSRV.
start_credsrv() {
  local dir=$1 i port
  /usr/bin/python3 spec/support/credsrv.py --ready-file "$dir/credsrv.json" --lifetime 3600 \
    2>"$dir/credsrv.log" &
  credsrv_pid=$!
  for i in $(seq 1 100); do
    [ -s "$dir/credsrv.json" ] && break
    kill -0 "$credsrv_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$dir/credsrv.json" ]; then
    echo "the credential sources did not start:" >&2
    cat "$dir/credsrv.log" >&2
    return 1
  fi
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$dir/credsrv.json")
  export WA_CREDSRV="http://127.0.0.1:$port"
}

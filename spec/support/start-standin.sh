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

#!/usr/bin/env bash
# make demo: send one text message.
# With AWS credentials, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TO set, it goes to
# AWS for real. Otherwise it goes to the local stand-in, which checks the
# signature with botocore, and the demo shows what the endpoint received.
set -u
cd "$(dirname "$0")/.."
export LUA_PATH_5_4="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
export LUA_CPATH_5_4="$PWD/build/lua5.4/?.so;;"

if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${WHATSAPP_PHONE_NUMBER_ID:-}" ] && [ -n "${WHATSAPP_TO:-}" ]; then
  echo "sending for real to $WHATSAPP_TO from $WHATSAPP_PHONE_NUMBER_ID (region ${AWS_REGION:-${AWS_DEFAULT_REGION:-unset}})"
  exec lua5.4 examples/send_text.lua "$WHATSAPP_TO" "Hello from the whatsapp Lua module"
fi

echo "no AWS credentials with WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TO: using the local stand-in"
work=$(mktemp -d /tmp/whatsapp-demo.XXXXXX)
standin_pid=""
trap '[ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null; rm -rf "$work"' EXIT
. spec/support/start-standin.sh
start_standin "$work" || exit 1
echo "stand-in listening on $WA_STANDIN_HTTP and $WA_STANDIN_HTTPS"

# the stand-in's test credentials (spec/support/STANDIN.md), through the same
# environment variables a real deployment uses; HTTPS with the test CA
env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
  AWS_ACCESS_KEY_ID=AKIDSTANDINEXAMPLE \
  AWS_SECRET_ACCESS_KEY='standin/Secret+Key/0123456789EXAMPLEKEY' \
  AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL_SOCIALMESSAGING="$WA_STANDIN_HTTPS" \
  AWS_CA_BUNDLE="$WA_STANDIN_CA" \
  WHATSAPP_PHONE_NUMBER_ID=phone-number-id-0123456789abcdef0123456789abcdef \
  lua5.4 examples/send_text.lua "+14255550123" "Hello from the whatsapp Lua module" || exit 1

echo "what the endpoint received (signature checked by botocore):"
/usr/bin/python3 - "$WA_STANDIN_HTTP" <<'PY'
import json, sys, urllib.request
rec = json.load(urllib.request.urlopen(sys.argv[1] + "/_standin/messages"))["messages"][-1]
print("  POST /v1/whatsapp/send over", rec["scheme"])
print("  originationPhoneNumberId:", rec["originationPhoneNumberId"])
print("  metaApiVersion:", rec["metaApiVersion"])
print("  signed headers:", ";".join(rec["signed_headers"]))
print("  message (decoded from base64):", json.dumps(rec["message"], ensure_ascii=False))
PY

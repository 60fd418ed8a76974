#!/bin/sh
# mkcerts.sh DIR -- throwaway TLS material for the test stand-in (spec/support/standin.py).
#
# Creates in DIR:
#   ca.pem, ca.key          test CA (EC P-256, self-signed, 2 days)
#   server.pem, server.key  server cert signed by ca.pem; SAN IP:127.0.0.1, IP:::1, DNS:localhost;
#                           valid 2 days; EKU serverAuth
#   other-ca.pem            an unrelated CA (its key is discarded), for "wrong CA is refused" tests
# Quiet on success; any failure aborts with openssl's message and a non-zero status.
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkcerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ossl() {
    # openssl is chatty on stderr even on success; show its output only when it fails.
    if ! openssl "$@" >"$tmp/log" 2>&1; then
        cat "$tmp/log" >&2
        echo "mkcerts.sh: openssl $1 failed" >&2
        exit 1
    fi
}

newkey() {
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

mkca() { # key cert cn
    newkey "$1"
    ossl req -x509 -new -key "$1" -sha256 -days 2 -subj "/O=standin test/CN=$3" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$2"
}

mkca "$tmp/ca.key" "$tmp/ca.pem" "standin test CA"
mkca "$tmp/other-ca.key" "$tmp/other-ca.pem" "standin unrelated CA"

newkey "$tmp/server.key"
ossl req -new -key "$tmp/server.key" -subj "/O=standin test/CN=localhost" -out "$tmp/server.csr"
cat >"$tmp/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
ossl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
    -days 2 -sha256 -extfile "$tmp/server.ext" -out "$tmp/server.pem"
ossl verify -CAfile "$tmp/ca.pem" "$tmp/server.pem"

chmod 600 "$tmp/ca.key" "$tmp/server.key"
for f in ca.pem ca.key server.pem server.key other-ca.pem; do
    mv -f "$tmp/$f" "$dir/$f"
done

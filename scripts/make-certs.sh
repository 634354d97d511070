#!/usr/bin/env bash
# Makes a throw-away CA and a server certificate for localhost/127.0.0.1 in DIR (default: certs).
#   scripts/make-certs.sh [DIR]   → DIR/ca.crt, DIR/server.crt, DIR/server.key
set -euo pipefail
dir=${1:-certs}
mkdir -p "$dir"
cd "$dir"
[ -f server.crt ] && [ -f server.key ] && [ -f ca.crt ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout ca.key -out ca.crt -subj "/CN=modelgate demo CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key

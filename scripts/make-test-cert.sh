#!/usr/bin/env bash
# Generates the TEST-ONLY TLS material used by the Realtime emulator (fixtures/tls/):
# a throwaway CA and a localhost server certificate signed by it (SAN DNS:localhost, IP:127.0.0.1),
# valid for 20 years so committed fixtures do not expire under CI. Never use these keys outside tests.
set -euo pipefail
out="${1:-$(cd "$(dirname "$0")/.." && pwd)/fixtures/tls}"
days=7305
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -subj "/CN=audiohook-realtime test CA (not for production)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$work/ca-key.pem" -out "$out/ca.pem"

openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
  -keyout "$out/server-key.pem" -out "$work/server.csr"

cat >"$work/ext.cnf" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT

openssl x509 -req -in "$work/server.csr" -CA "$out/ca.pem" -CAkey "$work/ca-key.pem" -CAcreateserial \
  -days "$days" -sha256 -extfile "$work/ext.cnf" -out "$out/server.pem"

# The CA key is deliberately discarded: nobody can mint further certs trusted by this CA.
echo "wrote $out/ca.pem $out/server.pem $out/server-key.pem"

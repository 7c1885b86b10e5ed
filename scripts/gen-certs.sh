#!/usr/bin/env bash
# Generates the test certificates in configs/certs/ (or in the directory given as $1).
#
# The outputs are committed so the tests never need openssl; run this again only to change or
# renew them (the good certificates last 10 years from the day they are made). Every certificate
# goes through `openssl ca` rather than `openssl x509 -req` or `openssl req -x509`, because
# OpenSSL 3.0 (the version on our machines) has no `-not_before`/`-not_after` there (added in 3.4),
# and the expired certificate and the 2020 start dates need explicit dates; one signing path for
# all keeps them alike.
#
# The CA is valid from 2020 so that the expired certificate was once valid under it: a verifier
# then rejects it for being expired, which is the case the tests mean to exercise, not for
# predating its issuer.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../configs/certs}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Every certificate starts on 2020-01-01 rather than now: a certificate made on a machine whose
# clock runs ahead would otherwise be "not yet valid" wherever the tests run next.
start=20200101000000Z
# The good ones end 10 years from today (GNU date, else BSD date).
end="$(date -u -d '+3650 days' +%Y%m%d%H%M%SZ 2>/dev/null || date -u -v+3650d +%Y%m%d%H%M%SZ)"
subj_prefix="/C=US/ST=California/L=San Francisco/O=NATS Test"

# Extension sections for every kind of certificate made here. SANs matter: rustls (Deno's TLS)
# ignores the common name and matches host names only against subjectAltName.
cat >"$tmp/ext.cnf" <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost, email:client@nats.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[client_selfsigned]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost, email:client@nats.test
subjectKeyIdentifier = hash

[route]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
# A route both accepts and solicits connections, so its certificate serves as either end.
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

# A throwaway `openssl ca` database; nothing of it is kept.
mkdir -p "$tmp/db"
: >"$tmp/db/index.txt"
echo 1000 >"$tmp/db/serial"
cat >"$tmp/ca.cnf" <<EOF
[ca]
default_ca = test_ca

[test_ca]
dir = $tmp/db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no

[policy_any]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
EOF

# new_key NAME: an RSA 2048 key, PKCS#8 PEM, readable by Go, node:tls and Deno alike.
new_key() {
  openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/$1"
}

# csr KEY CN -> path of a CSR in the temp dir
csr() {
  openssl req -new -key "$out/$1" -subj "$subj_prefix/CN=$2" -out "$tmp/$2.csr"
  echo "$tmp/$2.csr"
}

# sign CSR EXT_SECTION OUT CA_CERT|- CA_KEY [START END]
# CA_CERT "-" self-signs with CA_KEY. Without START/END: $start .. $end.
sign() {
  local csr="$1" ext="$2" cert="$3" ca_cert="$4" ca_key="$5"
  local dates=(-startdate "${6:-$start}" -enddate "${7:-$end}")
  local signer=(-cert "$ca_cert" -keyfile "$ca_key")
  if [[ "$ca_cert" == "-" ]]; then signer=(-selfsign -keyfile "$ca_key"); fi
  openssl ca -batch -notext -config "$tmp/ca.cnf" -rand_serial \
    "${signer[@]}" "${dates[@]}" \
    -extfile "$tmp/ext.cnf" -extensions "$ext" \
    -in "$csr" -out "$out/$cert" >"$tmp/ca.log" 2>&1 || {
    cat "$tmp/ca.log" >&2
    return 1
  }
}

echo "CA (valid 2020-01-01 .. 2045-12-31)"
new_key ca-key.pem
sign "$(csr ca-key.pem "NATS Test CA")" ca ca.pem - "$out/ca-key.pem" \
  20200101000000Z 20451231235959Z

echo "server certificate for localhost, 127.0.0.1, ::1"
new_key server-key.pem
sign "$(csr server-key.pem localhost)" server server-cert.pem "$out/ca.pem" "$out/ca-key.pem"

echo "client certificate"
new_key client-key.pem
sign "$(csr client-key.pem "NATS Test Client")" client client-cert.pem \
  "$out/ca.pem" "$out/ca-key.pem"

echo "route certificate for localhost, 127.0.0.1, ::1"
new_key route-key.pem
sign "$(csr route-key.pem "NATS Test Route")" route route-cert.pem "$out/ca.pem" "$out/ca-key.pem"

echo "self-signed client certificate"
new_key client-selfsigned-key.pem
sign "$(csr client-selfsigned-key.pem "NATS Test Self-Signed Client")" client_selfsigned \
  client-selfsigned-cert.pem - "$out/client-selfsigned-key.pem"

echo "other CA and a client certificate it signed"
new_key other-ca-key.pem
sign "$(csr other-ca-key.pem "NATS Other Test CA")" ca other-ca.pem - "$out/other-ca-key.pem" \
  20200101000000Z 20451231235959Z
new_key client-otherca-key.pem
sign "$(csr client-otherca-key.pem "NATS Test Client Other CA")" client client-otherca-cert.pem \
  "$out/other-ca.pem" "$out/other-ca-key.pem"

echo "expired client certificate (2020-01-01 .. 2021-01-01)"
new_key client-expired-key.pem
sign "$(csr client-expired-key.pem "NATS Test Expired Client")" client client-expired-cert.pem \
  "$out/ca.pem" "$out/ca-key.pem" 20200101000000Z 20210101000000Z

# The checks a TLS stack will make, so a bad generation fails here and not in a test.
echo "verifying"
v() { openssl verify "$@" 2>&1; }
v -CAfile "$out/ca.pem" "$out"/{server,client,route}-cert.pem >/dev/null
v -CAfile "$out/other-ca.pem" "$out/client-otherca-cert.pem" >/dev/null
# `! cmd` would not stop a `set -e` script, hence the explicit ifs.
for untrusted in client-otherca client-selfsigned; do
  if v -CAfile "$out/ca.pem" "$out/$untrusted-cert.pem" >/dev/null; then
    echo "$untrusted-cert.pem must not verify against ca.pem" >&2
    exit 1
  fi
done
expired="$(v -CAfile "$out/ca.pem" "$out/client-expired-cert.pem" || true)"
[[ "$expired" == *"certificate has expired"* ]]
for pair in server route client client-selfsigned client-otherca client-expired; do
  [[ "$(openssl x509 -noout -pubkey -in "$out/$pair-cert.pem")" == \
    "$(openssl pkey -pubout -in "$out/$pair-key.pem")" ]]
done
# The gnatsd README's cluster TLS example names the route pair srva-*.pem.
cp "$out/route-cert.pem" "$out/srva-cert.pem"
cp "$out/route-key.pem" "$out/srva-key.pem"
chmod 644 "$out"/*.pem
echo "certificates written to $out"

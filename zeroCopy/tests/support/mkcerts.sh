#!/usr/bin/env bash
# mkcerts.sh DIR: the certificates and keys the TLS tests and benchmark use, made fresh in
# DIR with the openssl CLI (no private key is ever committed). EC P-256 keys, PKCS#8 PEM
# (what Kafka's PEM key stores require).
#
#   ca.pem            the test CA (the trust store)
#   server.pem        broker key + certificate (CN=localhost, SAN IP:127.0.0.1 DNS:localhost)
#                     + the CA certificate: one file, as ssl.keystore.location wants it
#   server-enc.pem    the same with the key encrypted (ssl.key.password=key-secret)
#   client.pem        client key + certificate (subject O=acme, OU=eng, CN=alice) for mTLS
#   expired.pem       a broker certificate whose notAfter is a day ago
#   other-ca.pem      an unrelated CA
#   rogue-server.pem  a broker certificate signed by the other CA
#   rogue-client.pem  a client certificate signed by the other CA
set -euo pipefail
dir=$1
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -key "$1.key" -out "$1.pem" -days 2 -subj "$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}

cert() { # out-name ca-name subject days extensions...
    local out=$1 issuer=$2 subj=$3 days=$4
    shift 4
    key "$out.key"
    openssl req -new -key "$out.key" -out "$out.csr" -subj "$subj" 2>/dev/null
    printf '%s\n' "$@" >"$out.ext"
    openssl x509 -req -in "$out.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial \
        -out "$out.crt" -days "$days" -extfile "$out.ext" 2>/dev/null
    cat "$out.key" "$out.crt" "$issuer.pem" >"$out.pem"
    rm -f "$out.csr" "$out.ext"
}

server_ext=("subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth")
client_ext=("extendedKeyUsage=clientAuth")

ca ca /CN=kafka-c-test-ca
ca other-ca /CN=some-other-ca
cert server ca /CN=localhost 2 "${server_ext[@]}"
cert expired ca /CN=localhost -1 "${server_ext[@]}"
cert client ca /O=acme/OU=eng/CN=alice 2 "${client_ext[@]}"
cert rogue-server other-ca /CN=localhost 2 "${server_ext[@]}"
cert rogue-client other-ca /CN=mallory 2 "${client_ext[@]}"
openssl pkcs8 -topk8 -in server.key -v2 aes-256-cbc -passout pass:key-secret -out server-enc.key
cat server-enc.key server.crt ca.pem >server-enc.pem

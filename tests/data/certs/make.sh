#!/bin/sh
# Regenerates the test PKI used by tests/verify.rs (and any TLS test that needs a
# server certificate). Needs only the openssl command line (OpenSSL 3.0 or later).
#
#   sh tests/data/certs/make.sh
#
# Keys are random, so every run gives new bytes; the output is committed and tests
# use the committed files. Validity periods are fixed dates, not "now + N days",
# so that the tests never rot: the good certificates are valid 2025-01-01 to
# 2125-01-01, the CAs 2000-01-01 to 2125-01-01.
#
# Everything here is TEST material: the private keys are published on purpose.
set -eu
cd "$(dirname "$0")"
OUT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/new"
: >"$WORK/index.txt"
echo 1000 >"$WORK/serial"

cat >"$WORK/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca

[ test_ca ]
database = $WORK/index.txt
new_certs_dir = $WORK/new
serial = $WORK/serial
default_md = sha256
policy = any_name
unique_subject = no
email_in_dn = no
copy_extensions = none

[ any_name ]
commonName = supplied

[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ wrong_host ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ cn_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# An ordinary server certificate (CA:FALSE) that is then (mis)used to sign another.
[ not_a_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:innocent.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

CA_START=20000101000000Z
CA_END=21250101000000Z
START=20250101000000Z
END=21250101000000Z

# key NAME ALGORITHM: writes NAME.key.pem and NAME.key.der (PKCS#8).
key() {
    case $2 in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/$1.key.pem" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$OUT/$1.key.pem" ;;
    rsa2048) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$OUT/$1.key.pem" ;;
    rsa4096) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$OUT/$1.key.pem" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$OUT/$1.key.pem" ;;
    esac
    openssl pkcs8 -topk8 -nocrypt -in "$OUT/$1.key.pem" -outform DER -out "$OUT/$1.key.der"
}

# cert NAME CN ISSUER EXTENSIONS START END [extra openssl-ca options]:
# writes NAME.pem and NAME.der, signed by ISSUER (or self-signed if ISSUER is "self").
cert() {
    name=$1 cn=$2 issuer=$3 ext=$4 start=$5 end=$6
    shift 6
    openssl req -new -key "$OUT/$name.key.pem" -subj "/CN=$cn" -out "$WORK/$name.csr"
    if [ "$issuer" = self ]; then
        set -- -selfsign -keyfile "$OUT/$name.key.pem" "$@"
    else
        set -- -cert "$OUT/$issuer.pem" -keyfile "$OUT/$issuer.key.pem" "$@"
    fi
    openssl ca -batch -notext -config "$WORK/ca.cnf" -extensions "$ext" \
        -startdate "$start" -enddate "$end" -in "$WORK/$name.csr" -out "$OUT/$name.pem" "$@" \
        2>"$WORK/ca.log" || { cat "$WORK/ca.log" >&2; exit 1; }
    openssl x509 -in "$OUT/$name.pem" -outform DER -out "$OUT/$name.der"
}

# The trusted PKI: root -> intermediate -> server leaves.
key root-ca p256
cert root-ca "embedded-smtp test root CA" self root $CA_START $CA_END
key intermediate-ca p256
cert intermediate-ca "embedded-smtp test intermediate CA" root-ca intermediate $CA_START $CA_END

key leaf-ecdsa p256
cert leaf-ecdsa localhost intermediate-ca server $START $END
key leaf-rsa rsa2048
cert leaf-rsa localhost intermediate-ca server $START $END
key leaf-p384 p384
cert leaf-p384 localhost intermediate-ca server $START $END
key leaf-ed25519 ed25519
cert leaf-ed25519 localhost intermediate-ca server $START $END

# An RSA intermediate whose certificate signatures are RSA: PKCS#1 v1.5 and PSS.
key rsa-ca rsa2048
cert rsa-ca "embedded-smtp test RSA intermediate CA" root-ca intermediate $CA_START $CA_END
key leaf-rsa-pkcs1 p256
cert leaf-rsa-pkcs1 localhost rsa-ca server $START $END
key leaf-rsa-pss p256
cert leaf-rsa-pss localhost rsa-ca server $START $END \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256

# The shape of the big providers' chains: an RSA-2048 leaf under an RSA-4096
# intermediate (PKCS#1 v1.5 SHA-256), as the firmware's RSA session replays it.
key rsa4096-ca rsa4096
cert rsa4096-ca "embedded-smtp test RSA-4096 intermediate CA" root-ca intermediate $CA_START $CA_END
key leaf-rsa-by-rsa4096 rsa2048
cert leaf-rsa-by-rsa4096 localhost rsa4096-ca server $START $END

# Negative material.
key other-root-ca p256
cert other-root-ca "unrelated test root CA" self root $CA_START $CA_END
key leaf-wrong-host p256
cert leaf-wrong-host other.example intermediate-ca wrong_host $START $END
key leaf-cn-only p256
cert leaf-cn-only localhost intermediate-ca cn_only $START $END
key leaf-expired p256
cert leaf-expired localhost intermediate-ca server 20190101000000Z 20200101000000Z
key leaf-not-yet-valid p256
cert leaf-not-yet-valid localhost intermediate-ca server 21000101000000Z $END
key leaf-client-only p256
cert leaf-client-only localhost intermediate-ca client_only $START $END
key not-a-ca p256
cert not-a-ca innocent.example root-ca not_a_ca $START $END
key leaf-by-not-a-ca p256
cert leaf-by-not-a-ca localhost not-a-ca server $START $END

# SHA-256 of each server key's SubjectPublicKeyInfo (what `Verifier::with_pins` and
# curl's --pinnedpubkey compare), computed by openssl as a cross-check for the tests.
for name in leaf-ecdsa leaf-rsa leaf-p384 leaf-ed25519; do
    printf '%s %s\n' "$name" "$(openssl pkey -in "$OUT/$name.key.pem" -pubout -outform DER |
        openssl dgst -sha256 -r | cut -d' ' -f1)"
done >"$OUT/spki-sha256.txt"

echo "wrote $(ls "$OUT"/*.der | wc -l) DER files to $OUT"

#!/usr/bin/env python3
"""Writes the `rsa` target's seeds into fuzz/corpus/rsa/ (format: fuzz/corpus/README.md).

Run from the repository's root: python3 fuzz/data/make_rsa_seeds.py
Needs openssl (the 2048-bit test key's public half) and nothing else: the
encoded messages (PKCS#1 v1.5 and PSS, RFC 8017 §9.2 and §9.1.1) are built here.
"""

import hashlib
import os
import struct
import subprocess

OUT = "fuzz/corpus/rsa"
KEY = "tests/data/certs/leaf-rsa.key.der"
MSG = b"TLS 1.3, server CertificateVerify\x00" + b"\xa5" * 32
NAMES = ["pkcs1_sha256", "pkcs1_sha384", "pkcs1_sha512", "pss_sha256", "pss_sha384", "pss_sha512"]
HASHES = [hashlib.sha256, hashlib.sha384, hashlib.sha512] * 2
PREFIX = [bytes.fromhex(h) for h in (
    "3031300d060960864801650304020105000420",
    "3041300d060960864801650304020205000430",
    "3051300d060960864801650304020305000440",
)]
K = 256  # the 2048-bit modulus, in bytes


def signed(alg, corruption=0, pos=0, mask=1, big=False, message=MSG):
    head = alg | ((2 if big else 0) << 3)
    return bytes([head, corruption]) + struct.pack(">H", pos) + bytes([mask]) + b"saltseed" + message


def encoded(alg, em, message=MSG):
    return bytes([alg | (1 << 3), len(message)]) + message + em


def pkcs1_em(alg, message=MSG):
    t = PREFIX[alg] + HASHES[alg](message).digest()
    return b"\x00\x01" + b"\xff" * (K - len(t) - 3) + b"\x00" + t


def mgf1(seed, length, h):
    out = b""
    for c in range((length + h().digest_size - 1) // h().digest_size):
        out += h(seed + struct.pack(">I", c)).digest()
    return out[:length]


def pss_em(alg, message=MSG, salt=None):
    h = HASHES[alg]
    hlen = h().digest_size
    salt = salt if salt is not None else bytes(range(hlen))
    m_hash = h(message).digest()
    H = h(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (K - len(salt) - hlen - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, mgf1(H, K - hlen - 1, h)))
    masked = bytes([masked[0] & 0x7F]) + masked[1:]  # emBits = 2047
    return masked + H + b"\xbc"


def raw(alg, key, sig, message=MSG):
    return bytes([alg | (3 << 3)]) + struct.pack(">H", len(key)) + key + struct.pack(">H", len(sig)) + sig + message


def main():
    public = subprocess.run(
        ["openssl", "rsa", "-inform", "DER", "-in", KEY, "-RSAPublicKey_out", "-outform", "DER"],
        check=True, capture_output=True).stdout
    seeds = {}
    for alg, name in enumerate(NAMES):
        seeds[f"seed_signed_2048_{name}"] = signed(alg)
        em = pkcs1_em(alg) if alg < 3 else pss_em(alg)
        seeds[f"seed_encoded_{name}"] = encoded(alg, em)
    seeds["seed_signed_4096_pkcs1_sha256"] = signed(0, big=True)
    seeds["seed_signed_4096_pss_sha512"] = signed(5, big=True)
    seeds["seed_signed_2048_empty_message"] = signed(0, message=b"")
    # Refusals.
    seeds["seed_signed_2048_pss_sha256_signature_flipped"] = signed(3, 1, pos=100, mask=0x80)
    seeds["seed_signed_2048_pkcs1_sha256_message_changed"] = signed(0, 2, pos=3)
    seeds["seed_signed_2048_pkcs1_sha384_key_changed"] = signed(1, 3, pos=40, mask=4)
    seeds["seed_signed_2048_pss_sha384_signature_cut"] = signed(4, 4)
    seeds["seed_signed_2048_pkcs1_sha512_leading_zero"] = signed(2, 5)
    seeds["seed_signed_4096_pss_sha256_signature_flipped"] = signed(3, 1, pos=7, big=True)
    t = PREFIX[0] + hashlib.sha256(MSG).digest()
    # The DigestInfo without its NULL parameters (RFC 8017 §9.2 note 1: refused).
    no_null = bytes([0x30, 0x2F, 0x30, 0x0B]) + PREFIX[0][4:15] + PREFIX[0][17:] + hashlib.sha256(MSG).digest()
    seeds["seed_encoded_pkcs1_sha256_digest_info_without_null"] = encoded(
        0, b"\x00\x01" + b"\xff" * (K - len(no_null) - 3) + b"\x00" + no_null)
    # Short padding and garbage after the hash: the e = 3 forgery's shape.
    seeds["seed_encoded_pkcs1_sha256_garbage_after_hash"] = encoded(
        0, b"\x00\x01" + b"\xff" * 8 + b"\x00" + t + b"\x42" * (K - 11 - len(t)))
    seeds["seed_encoded_pkcs1_sha256_block_type_2"] = encoded(0, b"\x00\x02" + pkcs1_em(0)[2:])
    seeds["seed_encoded_pkcs1_sha256_padding_byte_fe"] = encoded(0, pkcs1_em(0)[:20] + b"\xfe" + pkcs1_em(0)[21:])
    seeds["seed_encoded_pss_sha256_trailer_bc_missing"] = encoded(3, pss_em(3)[:-1] + b"\xcc")
    seeds["seed_encoded_pss_sha256_salt_short"] = encoded(3, pss_em(3, salt=bytes(20)))
    seeds["seed_encoded_pss_sha256_top_bit_set"] = encoded(3, bytes([pss_em(3)[0] | 0x80]) + pss_em(3)[1:])
    seeds["seed_encoded_pss_sha384_other_message"] = encoded(4, pss_em(4), message=b"another message")
    seeds["seed_raw_key_random_signature"] = raw(0, public, bytes((i * 37 + 11) & 255 for i in range(K)))
    seeds["seed_raw_key_signature_all_ones"] = raw(3, public, b"\xff" * K)
    seeds["seed_raw_truncated_key"] = raw(1, public[:100], b"\x01" * K)
    seeds["seed_raw_empty"] = bytes([3 << 3])
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()

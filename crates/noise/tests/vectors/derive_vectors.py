#!/usr/bin/env python3
"""Independent reference of WireGuard's handshake cryptography, used to derive the known-answer vectors in
crates/noise/tests/handshake_kat.rs and cookie_kat.rs.

Written from the WireGuard whitepaper (section 5.4) using only Python's hashlib/hmac and the `cryptography`
package (X25519, ChaCha20-Poly1305); XChaCha20-Poly1305 is HChaCha20 (below, checked against the published
draft-irtf-cfrg-xchacha vector) followed by `cryptography`'s ChaCha20-Poly1305. Nothing here shares code with the
Rust implementation.

Run: python3 derive_vectors.py   (prints Rust constants to paste into the tests)
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, *parts):
    return hashlib.blake2s(b"".join(parts), key=key, digest_size=16).digest()


def HMAC(key, *parts):
    # hmac with blake2s uses its 64-byte block size, as RFC 2104 requires.
    return hmac.new(key, b"".join(parts), hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev, bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plaintext, ad):
    return ChaCha20Poly1305(key).encrypt(b"\x00" * 4 + struct.pack("<Q", counter), plaintext, ad)


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + list(
        struct.unpack("<4I", nonce16))
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12); _quarter(s, 1, 5, 9, 13); _quarter(s, 2, 6, 10, 14); _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15); _quarter(s, 1, 6, 11, 12); _quarter(s, 2, 7, 8, 13); _quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def XAEAD(key, nonce24, plaintext, ad):
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])).encrypt(b"\x00" * 4 + nonce24[16:], plaintext, ad)


def public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(private, public_bytes):
    return X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public_bytes))


def tai64n(secs, nanos):
    return struct.pack(">QI", 0x400000000000000A + secs, nanos)


# --- Sanity checks of the building blocks against published vectors ---------------------------------------------
# RFC 7693 Appendix B: BLAKE2s-256("abc").
assert HASH(b"abc").hex() == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
# draft-irtf-cfrg-xchacha-03 section 2.2.1: HChaCha20 test vector.
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")).hex() == \
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"

# --- Fixed inputs (mirrored in the Rust tests) -----------------------------------------------------------------------
def key_from(label):
    # Deterministic "random-looking" 32-byte values; the label documents which key is which.
    return hashlib.sha256(label.encode()).digest()


S_PRIV_I = key_from("wgxdp initiator static")
S_PRIV_R = key_from("wgxdp responder static")
E_PRIV_I = key_from("wgxdp initiator ephemeral")
E_PRIV_R = key_from("wgxdp responder ephemeral")
PSK = key_from("wgxdp preshared key")
SENDER_I = 0x11223344
SENDER_R = 0x55667788
TIMESTAMP = tai64n(1_700_000_000, 123_456_789)
COOKIE_SECRET = key_from("wgxdp cookie secret")
COOKIE_NONCE = key_from("wgxdp cookie nonce")[:24]
SOURCE = bytes([192, 0, 2, 1]) + struct.pack(">H", 51820)

S_PUB_I, S_PUB_R = public(S_PRIV_I), public(S_PRIV_R)
E_PUB_I, E_PUB_R = public(E_PRIV_I), public(E_PRIV_R)

# --- Initiation (whitepaper 5.4.2) --------------------------------------------------------------------------------
C = HASH(CONSTRUCTION)
H = HASH(C, IDENTIFIER)
H = HASH(H, S_PUB_R)
(C,) = KDF(1, C, E_PUB_I)
H = HASH(H, E_PUB_I)
C, k = KDF(2, C, DH(E_PRIV_I, S_PUB_R))
enc_static = AEAD(k, 0, S_PUB_I, H)
H = HASH(H, enc_static)
C, k = KDF(2, C, DH(S_PRIV_I, S_PUB_R))
enc_time = AEAD(k, 0, TIMESTAMP, H)
H = HASH(H, enc_time)
init_body = struct.pack("<I", 1) + struct.pack("<I", SENDER_I) + E_PUB_I + enc_static + enc_time
init_mac1 = MAC(HASH(LABEL_MAC1, S_PUB_R), init_body)
initiation = init_body + init_mac1 + bytes(16)
assert len(initiation) == 148

# --- Response (whitepaper 5.4.3) -----------------------------------------------------------------------------------
(C,) = KDF(1, C, E_PUB_R)
H = HASH(H, E_PUB_R)
(C,) = KDF(1, C, DH(E_PRIV_R, E_PUB_I))
(C,) = KDF(1, C, DH(E_PRIV_R, S_PUB_I))
C, tau, k = KDF(3, C, PSK)
H = HASH(H, tau)
enc_empty = AEAD(k, 0, b"", H)
H = HASH(H, enc_empty)
resp_body = struct.pack("<I", 2) + struct.pack("<I", SENDER_R) + struct.pack("<I", SENDER_I) + E_PUB_R + enc_empty
resp_mac1 = MAC(HASH(LABEL_MAC1, S_PUB_I), resp_body)
response = resp_body + resp_mac1 + bytes(16)
assert len(response) == 92

# --- Transport keys (whitepaper 5.4.5) -----------------------------------------------------------------------------
T_SEND_I, T_RECV_I = KDF(2, C, b"")

# --- Cookie reply and mac2 (whitepaper 5.4.7) --------------------------------------------------------------------
cookie = MAC(COOKIE_SECRET, SOURCE)
reply = struct.pack("<I", 3) + struct.pack("<I", SENDER_I) + COOKIE_NONCE + XAEAD(
    HASH(LABEL_COOKIE, S_PUB_R), COOKIE_NONCE, cookie, init_mac1)
assert len(reply) == 64
initiation_mac2 = MAC(cookie, initiation[:132])

# --- Primitive vectors -------------------------------------------------------------------------------------------
KDF_KEY = key_from("wgxdp kdf key")
KDF_INPUT = b"wgxdp kdf input"
HMAC_KEY = bytes(range(32))
HMAC_MSG = b"The quick brown fox jumps over the lazy dog"


def const(name, value):
    print(f'const {name}: &str = "{value.hex()}";')


for name, value in [
    ("S_PRIV_I", S_PRIV_I), ("S_PRIV_R", S_PRIV_R), ("E_PRIV_I", E_PRIV_I), ("E_PRIV_R", E_PRIV_R), ("PSK", PSK),
    ("TIMESTAMP", TIMESTAMP), ("COOKIE_SECRET", COOKIE_SECRET), ("COOKIE_NONCE", COOKIE_NONCE), ("SOURCE", SOURCE),
    ("S_PUB_I", S_PUB_I), ("S_PUB_R", S_PUB_R),
    ("HMAC_KEY", HMAC_KEY), ("HMAC_OUT", HMAC(HMAC_KEY, HMAC_MSG)),
    ("MAC_OUT", MAC(HMAC_KEY, HMAC_MSG)), ("MAC_SHORT_KEY_OUT", MAC(HMAC_KEY[:16], HMAC_MSG)),
    ("KDF_KEY", KDF_KEY), ("KDF1_OUT", KDF(1, KDF_KEY, KDF_INPUT)[0]),
    ("KDF2_OUT", b"".join(KDF(2, KDF_KEY, KDF_INPUT))), ("KDF3_OUT", b"".join(KDF(3, KDF_KEY, KDF_INPUT))),
    ("KDF3_EMPTY_OUT", b"".join(KDF(3, KDF_KEY, b""))),
    ("INITIATION", initiation), ("RESPONSE", response), ("T_SEND_I", T_SEND_I), ("T_RECV_I", T_RECV_I),
    ("COOKIE", cookie), ("COOKIE_REPLY", reply), ("INITIATION_MAC2", initiation_mac2),
]:
    const(name, value)
print(f"// KDF_INPUT = {KDF_INPUT!r}, HMAC_MSG = {HMAC_MSG!r}, SENDER_I = {SENDER_I:#x}, SENDER_R = {SENDER_R:#x}")

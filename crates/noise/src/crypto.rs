//! The primitives of WireGuard's `Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s` (whitepaper section 5.4): HASH, MAC,
//! HMAC, KDF1/2/3, AEAD, XAEAD, DH and the protocol's fixed labels. Everything above this module speaks only these
//! names, so the handshake code reads like the whitepaper.

use core::fmt;

use blake2::digest::consts::U16;
use blake2::digest::{Digest, KeyInit, Mac};
use blake2::{Blake2s256, Blake2sMac};
use chacha20::cipher::consts::U10;
use chacha20::cipher::generic_array::GenericArray;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::keys::{PrivateKey, PublicKey};

/// Noise protocol name; its hash is the initial chaining key.
pub const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// WireGuard's prologue, mixed into the initial handshake hash.
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
/// Prefix of the mac1 key: `HASH(LABEL_MAC1 || receiver's static public key)`.
pub const LABEL_MAC1: &[u8] = b"mac1----";
/// Prefix of the cookie-reply key: `HASH(LABEL_COOKIE || cookie sender's static public key)`.
pub const LABEL_COOKIE: &[u8] = b"cookie--";

/// Output size of HASH, HMAC and each KDF output.
pub const HASH_LEN: usize = 32;
/// Output size of MAC (mac1, mac2 and the cookie itself).
pub const MAC_LEN: usize = wgxdp_wire::wg_layout::MAC_LEN;
/// Size of an AEAD authentication tag.
pub const TAG_LEN: usize = wgxdp_wire::wg_layout::AEAD_TAG_LEN;
/// Size of an XAEAD nonce.
pub const XNONCE_LEN: usize = 24;
/// BLAKE2s block size: HMAC pads its key to this.
const BLAKE2S_BLOCK_LEN: usize = 64;
/// The largest key keyed BLAKE2s accepts.
const BLAKE2S_MAX_KEY_LEN: usize = 32;

/// A primitive refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// AEAD authentication failed: wrong key, wrong associated data or modified ciphertext.
    Unauthentic,
    /// A Diffie-Hellman result was all zero: the peer's public key is a low-order point.
    NonContributory,
    /// Output buffer size does not match the input (a programming error, never caused by packet contents).
    BufferSize,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthentic => f.write_str("authenticated decryption failed"),
            Self::NonContributory => f.write_str("Diffie-Hellman with a low-order public key"),
            Self::BufferSize => f.write_str("output buffer has the wrong size"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// `HASH(parts[0] || parts[1] || ...)`: unkeyed BLAKE2s-256.
pub fn hash(parts: &[&[u8]]) -> [u8; HASH_LEN] {
    let mut hasher = Blake2s256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `MAC(key, parts...)`: keyed BLAKE2s with a 16-byte output. Keys are 32 bytes (mac1 key, cookie secret) or
/// 16 bytes (a cookie used as the mac2 key).
pub fn mac<const N: usize>(key: &[u8; N], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    const {
        assert!(
            N <= BLAKE2S_MAX_KEY_LEN,
            "keyed BLAKE2s keys are at most 32 bytes"
        )
    };
    // The length check inside `new_from_slice` is the only failure and the assertion above already proves it
    // passes for every instantiation, at compile time.
    let mut state = <Blake2sMac<U16> as KeyInit>::new_from_slice(key)
        .expect("key length checked at compile time");
    for part in parts {
        Mac::update(&mut state, part);
    }
    state.finalize().into_bytes().into()
}

/// `HMAC(key, parts...)`: RFC 2104 over BLAKE2s-256 with its 64-byte block. (Not keyed BLAKE2s: WireGuard's KDF
/// is HKDF, which is defined over HMAC.)
pub fn hmac(key: &[u8; HASH_LEN], parts: &[&[u8]]) -> Zeroizing<[u8; HASH_LEN]> {
    const IPAD: u8 = 0x36;
    const OPAD: u8 = 0x5c;
    let mut pad = Zeroizing::new([0u8; BLAKE2S_BLOCK_LEN]);
    for (padded, byte) in pad.iter_mut().zip(key) {
        *padded = *byte;
    }
    pad.iter_mut().for_each(|byte| *byte ^= IPAD);
    let mut inner = Blake2s256::new();
    inner.update(pad.as_ref());
    for part in parts {
        inner.update(part);
    }
    let inner = Zeroizing::new(<[u8; HASH_LEN]>::from(inner.finalize()));
    // Turn the inner pad into the outer pad without re-reading the key.
    pad.iter_mut().for_each(|byte| *byte ^= IPAD ^ OPAD);
    let mut outer = Blake2s256::new();
    outer.update(pad.as_ref());
    outer.update(inner.as_ref());
    Zeroizing::new(outer.finalize().into())
}

/// HKDF's extract step followed by `N` expand steps: `t0 = HMAC(key, input)`, `t1 = HMAC(t0, 0x1)`,
/// `ti = HMAC(t0, t(i-1) || i)`.
fn kdf<const N: usize>(key: &[u8; HASH_LEN], input: &[u8]) -> [Zeroizing<[u8; HASH_LEN]>; N] {
    let extracted = hmac(key, &[input]);
    let mut previous: Option<Zeroizing<[u8; HASH_LEN]>> = None;
    core::array::from_fn(|index| {
        // N is 1..=3, so the counter byte never wraps.
        let counter = [u8::try_from(index + 1).unwrap_or(u8::MAX)];
        let next = match &previous {
            None => hmac(&extracted, &[&counter]),
            Some(previous) => hmac(&extracted, &[previous.as_ref(), &counter]),
        };
        previous = Some(next.clone());
        next
    })
}

/// `KDF1(key, input)`.
pub fn kdf1(key: &[u8; HASH_LEN], input: &[u8]) -> Zeroizing<[u8; HASH_LEN]> {
    let [first] = kdf::<1>(key, input);
    first
}

/// `KDF2(key, input)`.
pub fn kdf2(
    key: &[u8; HASH_LEN],
    input: &[u8],
) -> (Zeroizing<[u8; HASH_LEN]>, Zeroizing<[u8; HASH_LEN]>) {
    let [first, second] = kdf::<2>(key, input);
    (first, second)
}

/// Three outputs of `KDF3(key, input)`.
pub type Kdf3 = (
    Zeroizing<[u8; HASH_LEN]>,
    Zeroizing<[u8; HASH_LEN]>,
    Zeroizing<[u8; HASH_LEN]>,
);

/// `KDF3(key, input)`.
pub fn kdf3(key: &[u8; HASH_LEN], input: &[u8]) -> Kdf3 {
    let [first, second, third] = kdf::<3>(key, input);
    (first, second, third)
}

/// The 96-bit ChaCha20-Poly1305 nonce WireGuard uses: 32 zero bits, then the 64-bit little-endian counter.
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

fn aead_key(key: &[u8; HASH_LEN]) -> Result<LessSafeKey, CryptoError> {
    // ring only fails here on a key of the wrong length, which the array type rules out.
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::BufferSize)
}

/// `AEAD(key, counter, plaintext, ad)` into `out`, which must be exactly `plaintext.len() + 16` bytes.
pub fn aead_seal(
    key: &[u8; HASH_LEN],
    counter: u64,
    plaintext: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if out.len() != plaintext.len() + TAG_LEN {
        return Err(CryptoError::BufferSize);
    }
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let tag = aead_key(key)?
        .seal_in_place_separate_tag(nonce(counter), Aad::from(ad), body)
        .map_err(|_| CryptoError::BufferSize)?;
    tag_out.copy_from_slice(tag.as_ref());
    Ok(())
}

/// Inverse of [`aead_seal`]: authenticates `ciphertext` (body then tag) and writes the plaintext into `out`,
/// which must be exactly `ciphertext.len() - 16` bytes. `out` is left zeroed when authentication fails.
pub fn aead_open(
    key: &[u8; HASH_LEN],
    counter: u64,
    ciphertext: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let Some(body_len) = ciphertext.len().checked_sub(TAG_LEN) else {
        return Err(CryptoError::Unauthentic);
    };
    if out.len() != body_len {
        return Err(CryptoError::BufferSize);
    }
    let (body, tag) = ciphertext.split_at(body_len);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| CryptoError::Unauthentic)?;
    out.copy_from_slice(body);
    let opened = aead_key(key)?.open_in_place_separate_tag(
        nonce(counter),
        Aad::from(ad),
        ring::aead::Tag::from(tag),
        out,
        0..,
    );
    if opened.is_err() {
        out.fill(0);
        return Err(CryptoError::Unauthentic);
    }
    Ok(())
}

/// XChaCha20-Poly1305 as its definition (draft-irtf-cfrg-xchacha, section 2.3) builds it: HChaCha20 of the key
/// and the nonce's first 16 bytes gives a subkey, used for ChaCha20-Poly1305 with the nonce's last 8 bytes
/// behind four zero bytes. The AEAD is ring's (as for transport data), HChaCha20 the `chacha20` crate's: a
/// cookie reply costs a fraction of the all-in-one XChaCha20-Poly1305 of `chacha20poly1305`, whose runtime-
/// dispatched SIMD Poly1305 has a large fixed cost per message (what a flood of cookie requests is made of).
fn xaead_key_nonce(
    key: &[u8; HASH_LEN],
    nonce: &[u8; XNONCE_LEN],
) -> Result<(LessSafeKey, Nonce), CryptoError> {
    let (head, tail) = nonce.split_at(16);
    let subkey = Zeroizing::new(<[u8; HASH_LEN]>::from(chacha20::hchacha::<U10>(
        key.into(),
        GenericArray::from_slice(head),
    )));
    let mut short = [0u8; 12];
    short[4..].copy_from_slice(tail);
    Ok((aead_key(&subkey)?, Nonce::assume_unique_for_key(short)))
}

/// `XAEAD(key, nonce, plaintext, ad)` (XChaCha20-Poly1305) into `out`, exactly `plaintext.len() + 16` bytes.
pub fn xaead_seal(
    key: &[u8; HASH_LEN],
    nonce: &[u8; XNONCE_LEN],
    plaintext: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if out.len() != plaintext.len() + TAG_LEN {
        return Err(CryptoError::BufferSize);
    }
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let (key, nonce) = xaead_key_nonce(key, nonce)?;
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(ad), body)
        .map_err(|_| CryptoError::BufferSize)?;
    tag_out.copy_from_slice(tag.as_ref());
    Ok(())
}

/// Inverse of [`xaead_seal`]; `out` is exactly `ciphertext.len() - 16` bytes and left zeroed on failure.
pub fn xaead_open(
    key: &[u8; HASH_LEN],
    nonce: &[u8; XNONCE_LEN],
    ciphertext: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let Some(body_len) = ciphertext.len().checked_sub(TAG_LEN) else {
        return Err(CryptoError::Unauthentic);
    };
    if out.len() != body_len {
        return Err(CryptoError::BufferSize);
    }
    let (body, tag) = ciphertext.split_at(body_len);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| CryptoError::Unauthentic)?;
    out.copy_from_slice(body);
    let (key, nonce) = xaead_key_nonce(key, nonce)?;
    let opened =
        key.open_in_place_separate_tag(nonce, Aad::from(ad), ring::aead::Tag::from(tag), out, 0..);
    if opened.is_err() {
        out.fill(0);
        return Err(CryptoError::Unauthentic);
    }
    Ok(())
}

/// `DH(private, public)`: X25519, refusing the all-zero result of a low-order public key.
pub fn dh(
    private: &PrivateKey,
    public: &PublicKey,
) -> Result<Zeroizing<[u8; HASH_LEN]>, CryptoError> {
    private
        .diffie_hellman(public)
        .ok_or(CryptoError::NonContributory)
}

/// Constant-time equality, for MACs and keys compared against attacker-chosen bytes.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

//! Curve25519 key types and their text encodings (base64 as in `wg(8)` configs, lowercase hex as in the UAPI).
//!
//! Secrets are zeroized when dropped and never printed by `Debug`; public keys compare in constant time so a
//! lookup by key leaks nothing about how many leading bytes matched.

use core::fmt;
use core::hash::{Hash, Hasher};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Length in bytes of every key type in this module.
pub const KEY_LEN: usize = 32;
/// Length of a 32-byte key in padded base64.
const BASE64_LEN: usize = 44;
/// Length of a 32-byte key in hex.
const HEX_LEN: usize = 64;

/// Why a textual key could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The text is not valid padded standard base64 of exactly 32 bytes.
    InvalidBase64,
    /// The text is not exactly 64 hex digits.
    InvalidHex,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBase64 => {
                f.write_str("key is not 44 characters of base64 encoding 32 bytes")
            }
            Self::InvalidHex => f.write_str("key is not 64 hexadecimal digits"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A Curve25519 private key (static or ephemeral).
pub struct PrivateKey(x25519_dalek::StaticSecret);

impl PrivateKey {
    /// Wraps raw key bytes. Clamping is applied by X25519 itself at every scalar multiplication, so any 32 bytes
    /// are a usable key and round-trip unchanged through [`PrivateKey::to_bytes`].
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(x25519_dalek::StaticSecret::from(bytes))
    }

    /// Draws a fresh key from a cryptographically secure generator.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(x25519_dalek::StaticSecret::random_from_rng(rng))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// The raw key bytes, wiped when the returned value is dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// Padded standard base64, the form `wg genkey` prints.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.to_bytes().as_ref()))
    }

    /// Parses padded standard base64.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        decode_base64(text).map(|bytes| Self::from_bytes(*bytes))
    }

    /// Lowercase hex, the form the UAPI uses.
    pub fn to_hex(&self) -> Zeroizing<String> {
        encode_hex(&self.to_bytes())
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex(text).map(|bytes| Self::from_bytes(*bytes))
    }

    /// Curve25519 Diffie-Hellman. Returns `None` when the result is all zero, i.e. `public` is a low-order point
    /// that would make the shared secret independent of our key (WireGuard rejects such keys).
    pub(crate) fn diffie_hellman(&self, public: &PublicKey) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(public.0));
        if shared.was_contributory() {
            Some(Zeroizing::new(shared.to_bytes()))
        } else {
            None
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// A Curve25519 public key.
#[derive(Clone, Copy)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// Wraps raw key bytes. Any 32 bytes are accepted; a low-order point is only detected when a handshake
    /// computes an all-zero shared secret with it.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Padded standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses padded standard base64.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        decode_base64(text).map(|bytes| Self(*bytes))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        encode_hex(&self.0).to_string()
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex(text).map(|bytes| Self(*bytes))
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for PublicKey {}

// Written by hand only because PartialEq is; hashing the bytes is exactly what a derive would do.
impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The optional symmetric key mixed into the handshake (`psk` in the whitepaper). Absent means all zero.
#[derive(Clone)]
pub struct PresharedKey(Zeroizing<[u8; KEY_LEN]>);

impl PresharedKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The all-zero key the protocol uses when no preshared key is configured.
    pub fn zero() -> Self {
        Self::from_bytes([0; KEY_LEN])
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Padded standard base64.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// Parses padded standard base64.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        decode_base64(text).map(Self)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> Zeroizing<String> {
        encode_hex(&self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex(text).map(Self)
    }
}

impl fmt::Debug for PresharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresharedKey(..)")
    }
}

fn decode_base64(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    // Checking the length first bounds the work on arbitrary input and rules out every other decoded size.
    if text.len() != BASE64_LEN {
        return Err(KeyError::InvalidBase64);
    }
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    match STANDARD.decode_slice(text, bytes.as_mut()) {
        Ok(KEY_LEN) => Ok(bytes),
        _ => Err(KeyError::InvalidBase64),
    }
}

fn encode_hex(bytes: &[u8; KEY_LEN]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = Zeroizing::new(String::with_capacity(HEX_LEN));
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            text.push(char::from(DIGITS[usize::from(nibble)]));
        }
    }
    text
}

fn decode_hex(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    if text.len() != HEX_LEN {
        return Err(KeyError::InvalidHex);
    }
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let (Some(high), Some(low)) = (
            pair.first().copied().and_then(nibble),
            pair.get(1).copied().and_then(nibble),
        ) else {
            bytes.zeroize();
            return Err(KeyError::InvalidHex);
        };
        *byte = (high << 4) | low;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_encodings_round_trip() {
        let private = PrivateKey::from_bytes([7; KEY_LEN]);
        let again = PrivateKey::from_base64(&private.to_base64()).expect("own base64 parses");
        assert_eq!(*again.to_bytes(), [7; KEY_LEN]);
        let again = PrivateKey::from_hex(&private.to_hex()).expect("own hex parses");
        assert_eq!(*again.to_bytes(), [7; KEY_LEN]);
        let public = private.public_key();
        assert_eq!(PublicKey::from_base64(&public.to_base64()), Ok(public));
        assert_eq!(
            PublicKey::from_hex(&public.to_hex().to_uppercase()),
            Ok(public)
        );
        let psk = PresharedKey::from_bytes([0xa5; KEY_LEN]);
        assert_eq!(
            PresharedKey::from_hex(&psk.to_hex()).map(|k| *k.as_bytes()),
            Ok([0xa5; KEY_LEN])
        );
        assert_eq!(
            PresharedKey::from_base64(&psk.to_base64()).map(|k| *k.as_bytes()),
            Ok([0xa5; KEY_LEN])
        );
    }

    #[test]
    fn malformed_text_is_rejected() {
        // 43 characters, a non-canonical final character (stray low bits), wrong alphabet, and 33 bytes' worth.
        for text in [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                PublicKey::from_base64(text),
                Err(KeyError::InvalidBase64),
                "{text}"
            );
        }
        assert_eq!(
            PublicKey::from_hex(&"0".repeat(63)),
            Err(KeyError::InvalidHex)
        );
        assert_eq!(
            PublicKey::from_hex(&"g".repeat(64)),
            Err(KeyError::InvalidHex)
        );
        // Multi-byte UTF-8 of the right byte length must not be split mid-character into a panic.
        assert_eq!(
            PublicKey::from_hex(&"é".repeat(32)),
            Err(KeyError::InvalidHex)
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let private = PrivateKey::from_bytes([0x42; KEY_LEN]);
        assert_eq!(format!("{private:?}"), "PrivateKey(..)");
        let psk = PresharedKey::from_bytes([0x42; KEY_LEN]);
        assert_eq!(format!("{psk:?}"), "PresharedKey(..)");
        let public = PublicKey::from_bytes([0; KEY_LEN]);
        assert_eq!(
            format!("{public:?}"),
            format!("PublicKey({})", "A".repeat(43) + "=")
        );
    }

    #[test]
    fn low_order_public_key_gives_no_shared_secret() {
        let private = PrivateKey::from_bytes([9; KEY_LEN]);
        assert!(private
            .diffie_hellman(&PublicKey::from_bytes([0; KEY_LEN]))
            .is_none());
        let other = PrivateKey::from_bytes([3; KEY_LEN]);
        let ours = private
            .diffie_hellman(&other.public_key())
            .expect("ordinary key");
        let theirs = other
            .diffie_hellman(&private.public_key())
            .expect("ordinary key");
        assert_eq!(*ours, *theirs);
    }
}

//! 32-byte WireGuard keys (private, public and preshared) and their text forms.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length in bytes of every WireGuard key.
pub const KEY_LEN: usize = 32;
/// Length of a key in the UAPI hex form.
pub const KEY_HEX_LEN: usize = 2 * KEY_LEN;
/// Length of a key in the config-file base64 form (always ends in one `=`).
pub const KEY_BASE64_LEN: usize = 44;

/// A 32-byte key: private, public or preshared.
///
/// The bytes are wiped when the value is dropped, `Debug` never prints them,
/// and there is deliberately no `Display`: text forms must be asked for
/// explicitly (`write_hex`, `to_base64`, ...) so a key cannot leak through a
/// stray `{}` in a log line.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; KEY_LEN]);

/// Why a key's text form was rejected. Never contains the key text itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The text has the wrong number of characters for the encoding.
    WrongLength {
        /// Characters the encoding requires.
        expected: usize,
        /// Characters given.
        found: usize,
    },
    /// A character is not a hex digit.
    InvalidHex,
    /// Not canonical standard base64 of exactly 32 bytes.
    InvalidBase64,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::WrongLength { expected, found } => {
                write!(f, "key must be {expected} characters, got {found}")
            }
            KeyError::InvalidHex => f.write_str("key contains a character that is not a hex digit"),
            KeyError::InvalidBase64 => f.write_str("key is not valid base64 of 32 bytes"),
        }
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Key(bytes)
    }

    /// The all-zero key, which UAPI uses to mean "no key".
    pub fn zero() -> Self {
        Key([0; KEY_LEN])
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// True when every byte is zero. Setting `private_key` or `preshared_key`
    /// to the zero key clears it. Runs in time independent of the key bytes.
    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |acc, b| acc | b) == 0
    }

    /// Decodes the 64-character UAPI hex form (either letter case).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        if text.len() != KEY_HEX_LEN {
            return Err(KeyError::WrongLength {
                expected: KEY_HEX_LEN,
                found: text.len(),
            });
        }
        let mut key = Key::zero();
        // On error the partially written bytes are wiped by Key's Drop.
        hex::decode_to_slice(text, &mut key.0).map_err(|_| KeyError::InvalidHex)?;
        Ok(key)
    }

    /// Decodes the 44-character base64 form used by config files and `wg`.
    ///
    /// Like wireguard-tools, only the canonical encoding is accepted: exactly
    /// one trailing `=` and zero padding bits.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        if text.len() != KEY_BASE64_LEN {
            return Err(KeyError::WrongLength {
                expected: KEY_BASE64_LEN,
                found: text.len(),
            });
        }
        let mut key = Key::zero();
        match STANDARD.decode_slice(text, &mut key.0) {
            Ok(KEY_LEN) => Ok(key),
            _ => Err(KeyError::InvalidBase64),
        }
    }

    /// Appends the lowercase hex form to `out`.
    pub fn write_hex(&self, out: &mut String) {
        let mut buf = Zeroizing::new([0u8; KEY_HEX_LEN]);
        // Cannot fail: the buffer is exactly twice the key length.
        if hex::encode_to_slice(self.0, buf.as_mut_slice()).is_ok() {
            // hex output is ASCII, so each byte is one char.
            out.extend(buf.iter().map(|&b| char::from(b)));
        }
    }

    /// Appends the base64 form to `out`.
    pub fn write_base64(&self, out: &mut String) {
        STANDARD.encode_string(self.0, out);
    }

    /// The lowercase hex form, wiped from memory when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(KEY_HEX_LEN));
        self.write_hex(&mut out);
        out
    }

    /// The base64 form, wiped from memory when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(KEY_BASE64_LEN));
        self.write_base64(&mut out);
        out
    }
}

/// Appends `name=HEX\n`, the UAPI line for a key.
pub(crate) fn write_hex_line(out: &mut String, name: &str, key: &Key) {
    out.push_str(name);
    out.push('=');
    key.write_hex(out);
    out.push('\n');
}

impl PartialEq for Key {
    /// Compares without an early exit, so timing does not reveal how many
    /// leading bytes of a secret matched.
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// A change to an optional key (`private_key`, `preshared_key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUpdate {
    /// Install this key. Never the zero key.
    Set(Key),
    /// Remove the key (UAPI sends the all-zero key for this).
    Clear,
}

impl KeyUpdate {
    /// `Clear` for the zero key, `Set` otherwise: the UAPI meaning of a key value.
    pub fn from_key(key: Key) -> Self {
        if key.is_zero() {
            KeyUpdate::Clear
        } else {
            KeyUpdate::Set(key)
        }
    }

    /// The key to install, or `None` when clearing.
    pub fn key(&self) -> Option<&Key> {
        match self {
            KeyUpdate::Set(key) => Some(key),
            KeyUpdate::Clear => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a";
    const B64: &str = "6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno=";

    #[test]
    fn hex_and_base64_agree() {
        let from_hex = Key::from_hex(HEX).unwrap();
        let from_b64 = Key::from_base64(B64).unwrap();
        assert_eq!(from_hex, from_b64);
        assert_eq!(from_hex.to_hex().as_str(), HEX);
        assert_eq!(from_hex.to_base64().as_str(), B64);
        assert_eq!(Key::from_hex(&HEX.to_uppercase()).unwrap(), from_hex);
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(
            Key::from_hex(&HEX[..62]),
            Err(KeyError::WrongLength {
                expected: 64,
                found: 62
            })
        );
        let bad = format!("{}g", &HEX[..63]);
        assert_eq!(Key::from_hex(&bad), Err(KeyError::InvalidHex));
        assert_eq!(
            Key::from_base64(&B64[..43]),
            Err(KeyError::WrongLength {
                expected: 44,
                found: 43
            })
        );
        // Non-zero padding bits: 'o' instead of 'n' before '='.
        let noncanonical = B64.replace("Ano=", "Anp=");
        assert_eq!(
            Key::from_base64(&noncanonical),
            Err(KeyError::InvalidBase64)
        );
        let two_pad = format!("{}==", &B64[..42]);
        assert_eq!(Key::from_base64(&two_pad), Err(KeyError::InvalidBase64));
        let no_pad = format!("{}A", &B64[..43]);
        assert_eq!(Key::from_base64(&no_pad), Err(KeyError::InvalidBase64));
        // Multi-byte characters must not panic on length or slicing.
        assert!(Key::from_hex(&"é".repeat(32)).is_err());
        assert!(Key::from_base64(&"é".repeat(22)).is_err());
    }

    #[test]
    fn zero_detection_and_redaction() {
        assert!(Key::zero().is_zero());
        assert!(!Key::from_hex(HEX).unwrap().is_zero());
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(!Key::from_bytes(one).is_zero());
        let debug = format!("{:?}", Key::from_hex(HEX).unwrap());
        assert!(!debug.contains("e84b"));
        assert_eq!(KeyUpdate::from_key(Key::zero()), KeyUpdate::Clear);
    }
}

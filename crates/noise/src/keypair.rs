//! Transport keypair: in-place sealing and opening of WireGuard transport data messages (whitepaper 5.4.6).
//!
//! A message is `type (4, LE u32) | receiver index (LE u32) | counter (LE u64) | ChaCha20-Poly1305(payload)`,
//! encrypted under the nonce `0u32 || counter (LE u64)` with empty associated data. Everything here works on
//! the caller's buffer in place: the hot path never copies the payload and never allocates.

use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wgxdp_wire::wg_layout::{
    transport, AEAD_TAG_LEN, MSG_TRANSPORT, TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN, TYPE_OFFSET,
};

use crate::constants::{PADDING_MULTIPLE, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME};
use crate::replay::ReplayWindow;
use crate::timers::KeypairInfo;

/// The four-byte type word of a transport message: type 4 followed by three reserved zero bytes.
const TRANSPORT_TYPE_WORD: [u8; 4] = [MSG_TRANSPORT, 0, 0, 0];

/// Why sealing or opening a transport message failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// Sealing: the buffer cannot hold header, padded payload and tag.
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// Sealing: this keypair has used every counter it may ([`REJECT_AFTER_MESSAGES`]); a new handshake is needed.
    CountersExhausted,
    /// Opening: shorter than a header plus a tag.
    Truncated,
    /// Opening: the type word is not a transport message's `04 00 00 00`.
    WrongType,
    /// Opening: the receiver index is not this keypair's local index.
    WrongReceiver,
    /// Opening: the counter is at or past [`REJECT_AFTER_MESSAGES`].
    CounterTooLarge,
    /// Opening: authentication failed (wrong key, corrupted or forged message).
    Decrypt,
    /// Opening: the counter was already accepted, or is too far behind the replay window.
    Replay,
    /// Sealing: the AEAD refused the input (only possible for payloads far beyond any MTU).
    Encrypt,
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "buffer too small for transport message: need {needed} bytes, have {available}"
                )
            }
            Self::CountersExhausted => f.write_str("sending counters exhausted on this keypair"),
            Self::Truncated => f.write_str("transport message truncated"),
            Self::WrongType => f.write_str("not a transport data message"),
            Self::WrongReceiver => {
                f.write_str("transport message addressed to another receiver index")
            }
            Self::CounterTooLarge => f.write_str("transport counter at or past the message limit"),
            Self::Decrypt => f.write_str("transport message failed authentication"),
            Self::Replay => f.write_str("transport counter replayed or outside the replay window"),
            Self::Encrypt => f.write_str("transport payload could not be encrypted"),
        }
    }
}

impl std::error::Error for TransportError {}

/// A successfully opened transport message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The message's counter (already recorded in the replay window).
    pub counter: u64,
    /// Where the decrypted plaintext lies within the message buffer, padding included. Empty for a keepalive.
    pub plaintext: Range<usize>,
}

/// One direction pair of transport keys derived by a handshake, with its counters.
///
/// `Send + Sync`: meant to be shared (e.g. in an `Arc`) by all worker threads. The sending counter is an atomic
/// and the replay window is lock-free, so no method takes a lock.
pub struct Keypair {
    sending: LessSafeKey,
    receiving: LessSafeKey,
    /// Next counter to send with; never exceeds [`REJECT_AFTER_MESSAGES`].
    sending_counter: AtomicU64,
    replay: ReplayWindow,
    local_index: u32,
    remote_index: u32,
    is_initiator: bool,
    birth: Duration,
}

impl Keypair {
    /// Keys as derived by the handshake; `now` (caller's monotonic time) becomes the keypair's birth.
    pub fn new(
        sending: &[u8; 32],
        receiving: &[u8; 32],
        local_index: u32,
        remote_index: u32,
        is_initiator: bool,
        now: Duration,
    ) -> Self {
        Self {
            sending: aead_key(sending),
            receiving: aead_key(receiving),
            sending_counter: AtomicU64::new(0),
            replay: ReplayWindow::new(),
            local_index,
            remote_index,
            is_initiator,
            birth: now,
        }
    }

    /// Our index: peers address transport messages for this keypair to it.
    pub fn local_index(&self) -> u32 {
        self.local_index
    }

    /// The peer's index: written into every message we seal.
    pub fn remote_index(&self) -> u32 {
        self.remote_index
    }

    /// Whether we initiated the handshake that produced this keypair (only the initiator rekeys on age).
    pub fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    /// When the keypair was created, on the caller's monotonic clock.
    pub fn birth(&self) -> Duration {
        self.birth
    }

    /// Next counter [`seal`](Self::seal) will use (equals the number of messages sealed so far).
    pub fn sending_counter(&self) -> u64 {
        self.sending_counter.load(Ordering::Relaxed)
    }

    /// Whether the keypair is [`REJECT_AFTER_TIME`] old or older at `now`: it must then neither send nor receive.
    pub fn is_expired(&self, now: Duration) -> bool {
        now.saturating_sub(self.birth) >= REJECT_AFTER_TIME
    }

    /// What the timers need to know about this keypair (see [`crate::timers::SessionView`]).
    pub fn info(&self) -> KeypairInfo {
        KeypairInfo {
            birth: self.birth,
            is_initiator: self.is_initiator,
            sending_counter: self.sending_counter(),
        }
    }

    /// Encrypt in place. The payload must already be at `buf[16..16 + payload_len]`; the 16-byte header is
    /// written in front of it, zero padding after it up to a multiple of 16 bytes (but never making the padded
    /// plaintext longer than `mtu`, and never shorter than the payload), and the tag after the padding.
    ///
    /// Returns the length of the whole message, `buf[..len]`. A payload longer than `mtu` is sealed unpadded:
    /// the MTU caps padding, it does not limit the payload. No counter is used up when an error is returned.
    pub fn seal(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        mtu: usize,
    ) -> Result<usize, TransportError> {
        let available = buf.len();
        let padded_len = padded_length(payload_len, mtu);
        // Saturating: an absurd payload length then simply cannot fit any buffer.
        let needed = padded_len.saturating_add(TRANSPORT_MIN_LEN);
        let message = buf
            .get_mut(..needed)
            .ok_or(TransportError::BufferTooSmall { needed, available })?;
        let counter = self.next_sending_counter()?;

        let (header, body) = message.split_at_mut(TRANSPORT_HEADER_LEN);
        header[TYPE_OFFSET..TYPE_OFFSET + 4].copy_from_slice(&TRANSPORT_TYPE_WORD);
        header[transport::RECEIVER..transport::RECEIVER + 4]
            .copy_from_slice(&self.remote_index.to_le_bytes());
        header[transport::COUNTER..transport::COUNTER + 8].copy_from_slice(&counter.to_le_bytes());

        let (plaintext, tag_out) = body.split_at_mut(padded_len);
        plaintext[payload_len..].fill(0);
        let tag = self
            .sending
            .seal_in_place_separate_tag(nonce(counter), Aad::empty(), plaintext)
            .map_err(|_| TransportError::Encrypt)?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(needed)
    }

    /// Decrypt in place a whole transport message addressed to [`local_index`](Self::local_index).
    ///
    /// The message is authenticated and decrypted FIRST and only then recorded in the replay window, so forged
    /// messages cannot move the window. (An already-seen counter is refused before decrypting, as an
    /// optimisation; that check is read-only.) On success the plaintext is at `msg[opened.plaintext]`.
    pub fn open(&self, msg: &mut [u8]) -> Result<Opened, TransportError> {
        if msg.len() < TRANSPORT_MIN_LEN {
            return Err(TransportError::Truncated);
        }
        let (header, sealed) = msg.split_at_mut(TRANSPORT_HEADER_LEN);
        if header[TYPE_OFFSET..TYPE_OFFSET + 4] != TRANSPORT_TYPE_WORD {
            return Err(TransportError::WrongType);
        }
        if read_u32(header, transport::RECEIVER) != self.local_index {
            return Err(TransportError::WrongReceiver);
        }
        let counter = read_u64(header, transport::COUNTER);
        if counter >= REJECT_AFTER_MESSAGES {
            return Err(TransportError::CounterTooLarge);
        }
        if !self.replay.would_accept(counter) {
            return Err(TransportError::Replay);
        }
        let plaintext_len = self
            .receiving
            .open_in_place(nonce(counter), Aad::empty(), sealed)
            .map_err(|_| TransportError::Decrypt)?
            .len();
        if !self.replay.check_and_update(counter) {
            return Err(TransportError::Replay);
        }
        Ok(Opened {
            counter,
            plaintext: TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + plaintext_len,
        })
    }

    /// Claim the next sending counter, refusing (without advancing) once [`REJECT_AFTER_MESSAGES`] is reached.
    ///
    /// A compare-and-swap loop rather than `fetch_add`: failed calls must not keep incrementing, or enough of
    /// them would wrap the counter to zero and reuse a nonce.
    fn next_sending_counter(&self) -> Result<u64, TransportError> {
        self.sending_counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < REJECT_AFTER_MESSAGES).then_some(n + 1)
            })
            .map_err(|_| TransportError::CountersExhausted)
    }

    /// Test hook: jump the sending counter (e.g. to just below [`REJECT_AFTER_MESSAGES`]). Not for production:
    /// moving the counter backwards would reuse nonces, so this only ever moves it forward.
    #[doc(hidden)]
    pub fn advance_sending_counter_for_tests(&self, to: u64) {
        self.sending_counter
            .fetch_max(to.min(REJECT_AFTER_MESSAGES), Ordering::Relaxed);
    }
}

impl core::fmt::Debug for Keypair {
    /// Never prints key material.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keypair")
            .field("local_index", &self.local_index)
            .field("remote_index", &self.remote_index)
            .field("is_initiator", &self.is_initiator)
            .field("birth", &self.birth)
            .field("sending_counter", &self.sending_counter())
            .finish_non_exhaustive()
    }
}

/// Plaintext length after padding: the next multiple of [`PADDING_MULTIPLE`], capped at `mtu`, never shrinking.
pub fn padded_length(payload_len: usize, mtu: usize) -> usize {
    let rounded = payload_len
        .checked_next_multiple_of(PADDING_MULTIPLE)
        .unwrap_or(payload_len);
    rounded.min(mtu).max(payload_len)
}

fn aead_key(bytes: &[u8; 32]) -> LessSafeKey {
    // ChaCha20-Poly1305 accepts every 32-byte key; ring only errors on a wrong key length, impossible here.
    let key =
        UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("a 32-byte key fits ChaCha20-Poly1305");
    LessSafeKey::new(key)
}

/// WireGuard's nonce: 32 zero bits, then the counter as 64-bit little endian.
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    // Uniqueness is guaranteed by the counter discipline (sending: atomic claim; receiving: replay window).
    Nonce::assume_unique_for_key(bytes)
}

fn read_u32(header: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&header[at..at + 4]);
    u32::from_le_bytes(bytes)
}

fn read_u64(header: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&header[at..at + 8]);
    u64::from_le_bytes(bytes)
}

// The header layout this module writes must be the one the wire crate describes.
const _: () = assert!(transport::PAYLOAD == TRANSPORT_HEADER_LEN);
const _: () = assert!(TRANSPORT_MIN_LEN == TRANSPORT_HEADER_LEN + AEAD_TAG_LEN);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Keypair>();
    }

    #[test]
    fn padding_rounds_up_caps_at_mtu_and_never_shrinks() {
        assert_eq!(padded_length(0, 1420), 0);
        assert_eq!(padded_length(1, 1420), 16);
        assert_eq!(padded_length(16, 1420), 16);
        assert_eq!(padded_length(17, 1420), 32);
        assert_eq!(padded_length(1419, 1420), 1420);
        assert_eq!(padded_length(1415, 1420), 1420);
        assert_eq!(padded_length(1500, 1420), 1500);
        assert_eq!(padded_length(usize::MAX, usize::MAX), usize::MAX);
        assert_eq!(padded_length(5, 0), 5);
    }

    #[test]
    fn nonce_is_zero_prefix_then_little_endian_counter() {
        let n = nonce(0x0102_0304_0506_0708);
        assert_eq!(n.as_ref(), &[0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
    }
}

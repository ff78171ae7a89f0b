//! Protocol constants from the WireGuard whitepaper, section 6.1 ("Preliminaries" of "Timers & Stateless UX").
//!
//! Times are [`Duration`]s so they compose directly with the caller-supplied monotonic `now`. Derived values are
//! computed from their parts (not written out) so a change to one constant cannot leave a derived one stale.

use core::time::Duration;

/// After this many messages sent on one keypair, either side initiates a new handshake (2^60).
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;

/// A keypair must never send or accept a message with a counter at or past this value (2^64 - 2^13 - 1).
///
/// The margin below 2^64 is the replay window's size rounded up, so the receiver's window arithmetic can never
/// overflow and a sender can never wrap its nonce.
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);

/// The initiator of the current keypair starts a new handshake when it sends on a keypair this old.
pub const REKEY_AFTER_TIME: Duration = Duration::from_secs(120);

/// A keypair older than this must neither send nor receive.
pub const REJECT_AFTER_TIME: Duration = Duration::from_secs(180);

/// Retransmitting initiations stops once a handshake attempt has been going on for this long.
pub const REKEY_ATTEMPT_TIME: Duration = Duration::from_secs(90);

/// An unanswered initiation is retransmitted after this long (plus jitter).
pub const REKEY_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound (exclusive) of the random jitter added to [`REKEY_TIMEOUT`], so peers that lost their handshakes
/// at the same moment do not retry in lock step.
pub const REKEY_TIMEOUT_JITTER_MAX: Duration = Duration::from_millis(333);

/// A peer that received data and sent nothing for this long sends an empty keepalive message.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A cookie (and the responder's cookie secret) is only valid for this long.
pub const COOKIE_REFRESH_TIME: Duration = Duration::from_secs(120);

/// At most this many handshake initiations per second are accepted from one peer.
pub const INITIATIONS_PER_SECOND: u32 = 50;

/// Minimum spacing between two accepted initiations from one peer (1 s / [`INITIATIONS_PER_SECOND`] = 20 ms):
/// the flood guard against replayed initiations carrying fresh-looking timestamps.
pub const INITIATION_MIN_INTERVAL: Duration =
    Duration::from_millis(1000 / INITIATIONS_PER_SECOND as u64);

/// Number of counters behind the highest one received that are still accepted (once each).
///
/// 8192 bits of bitmap minus one 64-bit word of slack, as in the Linux implementation: the slack lets the window
/// slide by clearing whole words without ever discarding a counter that is still inside the window.
pub const REPLAY_WINDOW: u64 = 8192 - 64;

/// The initiator starts a "last minute" handshake when it receives on a keypair this old (165 s), so a fresh
/// keypair exists before this one hits [`REJECT_AFTER_TIME`] even if the responder never sends first.
pub const REKEY_ON_RECEIVE_AGE: Duration = Duration::from_secs(
    REJECT_AFTER_TIME.as_secs() - KEEPALIVE_TIMEOUT.as_secs() - REKEY_TIMEOUT.as_secs(),
);

/// "New handshake" timer: sent data but heard nothing for this long (15 s, plus jitter).
pub const NEW_HANDSHAKE_TIMEOUT: Duration =
    Duration::from_secs(KEEPALIVE_TIMEOUT.as_secs() + REKEY_TIMEOUT.as_secs());

/// All key material of a peer is erased when no new session has been derived for this long (540 s).
pub const ZERO_KEYS_AFTER: Duration = Duration::from_secs(3 * REJECT_AFTER_TIME.as_secs());

/// Transport plaintexts are zero-padded to a multiple of this many bytes (capped at the MTU) to blur lengths.
pub const PADDING_MULTIPLE: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_match_the_whitepaper() {
        assert_eq!(REJECT_AFTER_MESSAGES, u64::MAX - 8192);
        assert_eq!(REJECT_AFTER_MESSAGES, 18_446_744_073_709_543_423);
        assert_eq!(REKEY_ON_RECEIVE_AGE, Duration::from_secs(165));
        assert_eq!(NEW_HANDSHAKE_TIMEOUT, Duration::from_secs(15));
        assert_eq!(ZERO_KEYS_AFTER, Duration::from_secs(540));
        assert_eq!(INITIATION_MIN_INTERVAL, Duration::from_millis(20));
        assert_eq!(REPLAY_WINDOW, 8128);
    }
}

//! TAI64N timestamps, the replay protection of handshake initiations (whitepaper section 5.1).
//!
//! The responder remembers the newest timestamp it accepted from each peer and drops any initiation that is not
//! strictly newer. The 12 bytes are big-endian, so comparing them as bytes compares them as times and the derived
//! `Ord` is the protocol's ordering.

/// Seconds label of 1970-01-01 00:00:00 TAI: `2^62 + 10` (the 10 s TAI-UTC offset as TAI64 conventionally counts
/// it, matching what other WireGuard implementations send).
const TAI64_EPOCH_LABEL: u64 = 0x4000_0000_0000_000a;
const NANOS_PER_SEC: u32 = 1_000_000_000;
/// Granularity of [`Tai64N::from_unix_coarse`]: the power of two just below 1 s / 50 initiations per second.
const COARSE_NANOS: u32 = 1 << 24;

/// A 12-byte TAI64N label: 8 bytes of seconds then 4 bytes of nanoseconds, both big-endian.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Tai64N([u8; 12]);

impl Tai64N {
    /// Size of the encoded timestamp.
    pub const LEN: usize = 12;

    /// Timestamp of `secs` seconds and `nanos` nanoseconds after the Unix epoch. Nanoseconds of a second or more
    /// carry into `secs` (saturating), so the result is always a well-formed label.
    pub fn from_unix(secs: u64, nanos: u32) -> Self {
        let secs = secs.saturating_add(u64::from(nanos / NANOS_PER_SEC));
        let nanos = nanos % NANOS_PER_SEC;
        let mut bytes = [0u8; Self::LEN];
        bytes[..8].copy_from_slice(&TAI64_EPOCH_LABEL.saturating_add(secs).to_be_bytes());
        bytes[8..].copy_from_slice(&nanos.to_be_bytes());
        Self(bytes)
    }

    /// Like [`Tai64N::from_unix`] with the nanoseconds rounded down to a multiple of 2^24 ns (about 16.8 ms).
    ///
    /// This is what initiators should send: a precise clock reading tells an observer who can decrypt nothing
    /// else about the sender's clock, and the responder's 20 ms flood guard already refuses initiations closer
    /// together than this granularity, so nothing is lost (the Linux and Go implementations do the same).
    pub fn from_unix_coarse(secs: u64, nanos: u32) -> Self {
        let secs = secs.saturating_add(u64::from(nanos / NANOS_PER_SEC));
        let nanos = nanos % NANOS_PER_SEC;
        Self::from_unix(secs, nanos - nanos % COARSE_NANOS)
    }

    /// Wraps 12 received bytes; every byte string is a comparable label, so this cannot fail.
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }

    /// The 12 encoded bytes.
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_label_seconds_and_nanos_big_endian() {
        let stamp = Tai64N::from_unix(1, 2);
        assert_eq!(
            stamp.as_bytes(),
            &[0x40, 0, 0, 0, 0, 0, 0, 0x0b, 0, 0, 0, 2]
        );
    }

    #[test]
    fn orders_chronologically() {
        assert!(Tai64N::from_unix(5, 999_999_999) < Tai64N::from_unix(6, 0));
        assert!(Tai64N::from_unix(6, 0) < Tai64N::from_unix(6, 1));
        assert_eq!(
            Tai64N::from_unix(5, NANOS_PER_SEC + 3),
            Tai64N::from_unix(6, 3)
        );
    }

    #[test]
    fn coarse_rounds_nanos_down_to_granularity() {
        assert_eq!(
            Tai64N::from_unix_coarse(9, COARSE_NANOS + 5),
            Tai64N::from_unix(9, COARSE_NANOS)
        );
        assert_eq!(
            Tai64N::from_unix_coarse(9, COARSE_NANOS - 1),
            Tai64N::from_unix(9, 0)
        );
        // Whole seconds in the nanoseconds carry before rounding, as in `from_unix`.
        let carried = u64::from(u32::MAX / NANOS_PER_SEC);
        assert_eq!(
            Tai64N::from_unix_coarse(9, u32::MAX),
            Tai64N::from_unix_coarse(9 + carried, u32::MAX % NANOS_PER_SEC)
        );
    }
}

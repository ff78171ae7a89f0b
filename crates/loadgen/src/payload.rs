//! The load's own payload, the first bytes of every inner UDP datagram: who sent it, its place in the stream and a
//! timestamp, so the sink can tell loss, reordering and latency from a sample. The rest of the datagram is a fill
//! pattern up to the packet size under test.
//!
//! ```text
//!  0  magic     u32 LE  "WGLG"
//!  4  flags     u32 LE  bit 0: sample (the sink's XDP program passes it up instead of dropping it)
//!  8  peer      u32 LE  index of the emulated peer
//! 12  seq       u32 LE  per-peer, per-direction sequence number
//! 16  position  u64 LE  place in the whole send order of the test
//! 24  timestamp u64 LE  ns: egress, the send time on the load generator's clock; ingress, the scheduled send time
//!                       from the start of the test (0 when sending flat out)
//! ```

/// Bytes of the payload header.
pub const PAYLOAD_LEN: usize = 32;
/// The first payload word, `"WGLG"` on the wire.
pub const MAGIC: u32 = u32::from_le_bytes(*b"WGLG");
/// Flag: this datagram is a sample.
pub const FLAG_SAMPLE: u32 = 1;
/// Offset of the fields written at send time (seq, position, timestamp): even, so checksums can be patched.
pub const SEND_FIELDS: core::ops::Range<usize> = 12..32;

/// One payload header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Flag bits ([`FLAG_SAMPLE`]).
    pub flags: u32,
    /// The emulated peer.
    pub peer: u32,
    /// Per-peer sequence number.
    pub seq: u32,
    /// Place in the test's send order.
    pub position: u64,
    /// Nanoseconds, see the module documentation.
    pub timestamp: u64,
}

impl Payload {
    /// Whether the sink should pass this datagram up.
    pub fn is_sample(&self) -> bool {
        self.flags & FLAG_SAMPLE != 0
    }

    /// Writes the header into `out[..PAYLOAD_LEN]` and the fill pattern after it; `false` if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> bool {
        let Some((head, fill)) = out.split_first_chunk_mut::<PAYLOAD_LEN>() else {
            return false;
        };
        head[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        head[4..8].copy_from_slice(&self.flags.to_le_bytes());
        head[8..12].copy_from_slice(&self.peer.to_le_bytes());
        self.write_send_fields(head);
        for (i, byte) in fill.iter_mut().enumerate() {
            *byte = fill_byte(i);
        }
        true
    }

    /// Writes only seq, position and timestamp (what changes from one datagram of a peer to the next).
    pub fn write_send_fields(&self, head: &mut [u8; PAYLOAD_LEN]) {
        head[12..16].copy_from_slice(&self.seq.to_le_bytes());
        head[16..24].copy_from_slice(&self.position.to_le_bytes());
        head[24..32].copy_from_slice(&self.timestamp.to_le_bytes());
    }

    /// Reads a header; `None` if `bytes` is shorter than one or does not start with the magic.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let head = bytes.first_chunk::<PAYLOAD_LEN>()?;
        let word =
            |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        if word(0) != MAGIC {
            return None;
        }
        let mut position = [0u8; 8];
        position.copy_from_slice(&head[16..24]);
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&head[24..32]);
        Some(Self {
            flags: word(4),
            peer: word(8),
            seq: word(12),
            position: u64::from_le_bytes(position),
            timestamp: u64::from_le_bytes(timestamp),
        })
    }

    /// Whether the bytes after the header are the fill pattern, i.e. nothing in the datagram was altered.
    pub fn fill_ok(bytes: &[u8]) -> bool {
        bytes
            .get(PAYLOAD_LEN..)
            .is_some_and(|fill| fill.iter().enumerate().all(|(i, b)| *b == fill_byte(i)))
    }
}

/// The fill pattern: a counter, so a shifted or corrupted payload does not pass for an intact one.
fn fill_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(7).wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_magic_and_the_fill() {
        let payload = Payload {
            flags: FLAG_SAMPLE,
            peer: 7,
            seq: 0xdead_beef,
            position: 1 << 40,
            timestamp: 123_456_789,
        };
        let mut buf = [0u8; 100];
        assert!(payload.write(&mut buf));
        assert_eq!(&buf[..4], b"WGLG");
        assert_eq!(Payload::parse(&buf), Some(payload));
        assert!(payload.is_sample());
        assert!(Payload::fill_ok(&buf));
        buf[60] ^= 1;
        assert!(!Payload::fill_ok(&buf));
        buf[0] = b'X';
        assert_eq!(Payload::parse(&buf), None);
        assert_eq!(Payload::parse(&buf[..31]), None);
        assert!(!payload.write(&mut [0u8; 31]));
    }
}

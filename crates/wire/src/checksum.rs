//! The Internet checksum (RFC 1071) and the IPv4 header and UDP checksums built on it.
//!
//! Summing is done 64 bits at a time with end-around carry: a one's complement sum of 64-bit big-endian words,
//! folded down to 16 bits, equals the one's complement sum of the 16-bit words (RFC 1071 section 2(C), because
//! 2^16 - 1 divides 2^64 - 1). [`Checksum`] accumulates any number of byte slices of any length, so a checksum
//! can be taken over a header and a payload that are not contiguous, or seeded with a pseudo-header.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::field;

/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

/// A running one's complement sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Unfolded sum; carries out of bit 63 are added back in as they happen.
    sum: u64,
    /// Whether an odd number of bytes has been added so far: the next byte is then the low byte of a word.
    odd: bool,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Self { sum: 0, odd: false }
    }

    /// Seeds a sum with the IPv4 pseudo-header used by UDP and TCP (RFC 768).
    pub fn ipv4_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> Self {
        let mut sum = Self::new();
        sum.add_bytes(&src.octets());
        sum.add_bytes(&dst.octets());
        sum.add_u16(u16::from(protocol));
        sum.add_u16(len);
        sum
    }

    /// Seeds a sum with the IPv6 pseudo-header (RFC 8200 section 8.1).
    pub fn ipv6_pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> Self {
        let mut sum = Self::new();
        sum.add_bytes(&src.octets());
        sum.add_bytes(&dst.octets());
        sum.add_u32(len);
        sum.add_u16(u16::from(next_header));
        sum
    }

    /// Adds bytes that follow everything added so far; any length, any number of calls.
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        let part = fold(sum_be_words(bytes));
        // A part that starts in the middle of a 16-bit word was summed as if aligned, which swaps the role of its
        // high and low bytes; one's complement sums commute with byte swapping (RFC 1071 section 2(B)).
        let part = if self.odd { part.swap_bytes() } else { part };
        self.sum = add_carry(self.sum, u64::from(part));
        self.odd ^= bytes.len() % 2 == 1;
    }

    /// Adds a 16-bit word given in host order, as if its big-endian bytes were added.
    pub fn add_u16(&mut self, word: u16) {
        self.add_bytes(&word.to_be_bytes());
    }

    /// Adds a 32-bit word given in host order, as if its big-endian bytes were added.
    pub fn add_u32(&mut self, word: u32) {
        self.add_bytes(&word.to_be_bytes());
    }

    /// The sum folded to 16 bits, not complemented (what checksum offload expects as a seed).
    pub fn folded(&self) -> u16 {
        fold(self.sum)
    }

    /// The checksum: the complement of the folded sum. Over data that includes a correct checksum this is 0.
    pub fn finish(&self) -> u16 {
        !self.folded()
    }
}

/// The RFC 1071 Internet checksum of `bytes` (an odd trailing byte is padded with zero).
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum = Checksum::new();
    sum.add_bytes(bytes);
    sum.finish()
}

/// The IPv4 header checksum of `header` (fixed part and options), computed as if its checksum field were zero,
/// so it yields the value to store whether or not the field is filled in already.
pub fn ipv4_header_checksum(header: &[u8]) -> u16 {
    checksum_skipping_field::<10>(Checksum::new(), header)
}

/// The UDP checksum of `datagram` (header and payload) sent from `src` to `dst` over IPv4, computed as if the
/// checksum field were zero. A computed 0 is returned as 0xffff, because 0 on the wire means "no checksum"
/// (RFC 768).
pub fn udp_ipv4_checksum(src: Ipv4Addr, dst: Ipv4Addr, datagram: &[u8]) -> u16 {
    // The pseudo-header length is 16 bits; a longer slice cannot be a UDP datagram, and truncation here keeps the
    // function total rather than panicking.
    let len = datagram.len() as u16;
    nonzero(checksum_skipping_field::<6>(
        Checksum::ipv4_pseudo_header(src, dst, IPPROTO_UDP, len),
        datagram,
    ))
}

/// The UDP checksum of `datagram` sent from `src` to `dst` over IPv6, computed as if the checksum field were zero;
/// 0 is returned as 0xffff (RFC 8200 section 8.1).
pub fn udp_ipv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, datagram: &[u8]) -> u16 {
    let len = datagram.len() as u32;
    nonzero(checksum_skipping_field::<6>(
        Checksum::ipv6_pseudo_header(src, dst, IPPROTO_UDP, len),
        datagram,
    ))
}

/// Incrementally updates `checksum` after a 16-bit word of the covered data changed from `old` to `new`
/// (RFC 1624 equation 3: `HC' = ~(~HC + ~m + m')`).
pub fn update_u16(checksum: u16, old: u16, new: u16) -> u16 {
    let sum = u64::from(!checksum) + u64::from(!old) + u64::from(new);
    !fold(sum)
}

/// Incrementally updates `checksum` after the word-aligned bytes `old` of the covered data were replaced by
/// `new`, e.g. an address rewrite. `old` and `new` must have the same even length.
pub fn update_bytes(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    let sum = u64::from(!checksum)
        + u64::from(!fold(sum_be_words(old)))
        + u64::from(fold(sum_be_words(new)));
    !fold(sum)
}

/// Finishes a checksum over `bytes` added to `seed`, treating the 16-bit field at `FIELD` as zero.
fn checksum_skipping_field<const FIELD: usize>(mut seed: Checksum, bytes: &[u8]) -> u16 {
    let (before, rest) = bytes.split_at_checked(FIELD).unwrap_or((bytes, &[]));
    seed.add_bytes(before);
    if let Some((_, after)) = rest.split_first_chunk::<2>() {
        seed.add_bytes(&[0, 0]);
        seed.add_bytes(after);
    } else {
        seed.add_bytes(rest);
    }
    seed.finish()
}

/// Maps a computed 0 to its one's complement twin 0xffff, for fields where 0 means "absent".
fn nonzero(checksum: u16) -> u16 {
    if checksum == 0 {
        0xffff
    } else {
        checksum
    }
}

/// Adds with end-around carry.
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    // On overflow `sum <= 2^64 - 2`, so adding the carry back cannot overflow again.
    sum + u64::from(carry)
}

/// Folds a 64-bit one's complement sum to 16 bits (each step preserves the value modulo 2^16 - 1).
#[inline(always)]
fn fold(sum: u64) -> u16 {
    let sum = (sum >> 32) + (sum & 0xffff_ffff);
    let sum = (sum >> 32) + (sum & 0xffff_ffff);
    let sum = (sum >> 16) + (sum & 0xffff);
    let sum = (sum >> 16) + (sum & 0xffff);
    sum as u16
}

/// One's complement sum of `bytes` read as big-endian words starting at an even offset, unfolded.
fn sum_be_words(bytes: &[u8]) -> u64 {
    // Two independent accumulators halve the carry dependency chain, which is what limits the loop's speed.
    let (mut a, mut b) = (0u64, 0u64);
    let mut rest = bytes;
    while let Some((block, tail)) = rest.split_first_chunk::<16>() {
        a = add_carry(a, u64::from_be_bytes(*field::array::<0, 8, 16>(block)));
        b = add_carry(b, u64::from_be_bytes(*field::array::<8, 8, 16>(block)));
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<8>() {
        a = add_carry(a, u64::from_be_bytes(*word));
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<4>() {
        b = add_carry(b, u64::from(u32::from_be_bytes(*word)));
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<2>() {
        a = add_carry(a, u64::from(u16::from_be_bytes(*word)));
        rest = tail;
    }
    if let Some(&last) = rest.first() {
        // An odd trailing byte is the high byte of a word whose low byte is zero padding.
        b = add_carry(b, u64::from(last) << 8);
    }
    add_carry(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: 16-bit big-endian words, 32-bit accumulator, fold at the end.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        for pair in bytes.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
        while sum > 0xffff {
            sum = (sum >> 16) + (sum & 0xffff);
        }
        !(sum as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after end-around carry).
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&bytes), !0xddf2);
    }

    #[test]
    fn matches_the_definition_for_every_length_and_split() {
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(151) ^ (i >> 3)) as u8 | 0x80)
            .collect();
        for len in 0..data.len() {
            let bytes = &data[..len];
            assert_eq!(internet_checksum(bytes), reference(bytes), "len {len}");
            // Any split point, including odd ones, gives the same answer.
            for split in [0, 1, len / 3, len / 2 + 1, len] {
                let split = split.min(len);
                let mut sum = Checksum::new();
                sum.add_bytes(&bytes[..split]);
                sum.add_bytes(&bytes[split..]);
                assert_eq!(sum.finish(), reference(bytes), "len {len} split {split}");
            }
        }
    }

    #[test]
    fn all_ones_does_not_overflow() {
        let bytes = vec![0xffu8; 4096 + 7];
        assert_eq!(internet_checksum(&bytes), reference(&bytes));
    }

    #[test]
    fn incremental_update_matches_recomputation() {
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let before = ipv4_header_checksum(&header);
        // Decrement the TTL (word at offset 8 is TTL|protocol).
        let old = u16::from_be_bytes([header[8], header[9]]);
        header[8] -= 1;
        let new = u16::from_be_bytes([header[8], header[9]]);
        assert_eq!(update_u16(before, old, new), ipv4_header_checksum(&header));
        // Rewrite the destination address.
        let old_dst = [header[16], header[17], header[18], header[19]];
        let new_dst = [10, 1, 2, 3];
        let before = ipv4_header_checksum(&header);
        header[16..20].copy_from_slice(&new_dst);
        assert_eq!(
            update_bytes(before, &old_dst, &new_dst),
            ipv4_header_checksum(&header)
        );
    }

    #[test]
    fn zero_udp_checksum_is_sent_as_all_ones() {
        // Choose a payload word that makes the one's complement sum 0xffff, so the checksum computes to 0.
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let mut datagram = [0u8, 1, 0, 2, 0, 10, 0, 0, 0, 0];
        let partial = {
            let mut sum = Checksum::ipv4_pseudo_header(src, dst, IPPROTO_UDP, 10);
            sum.add_bytes(&datagram);
            sum.folded()
        };
        datagram[8..10].copy_from_slice(&(0xffff - partial).to_be_bytes());
        assert_eq!(udp_ipv4_checksum(src, dst, &datagram), 0xffff);
    }
}

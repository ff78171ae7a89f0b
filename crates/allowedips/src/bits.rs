//! Address bits of one family as a plain integer (`u32` for IPv4, `u128` for IPv6).
//!
//! The trie and the writer-side maps are written once, generic over this trait, so IPv4 lookups run on
//! 32-bit arithmetic instead of paying for 128-bit shifts.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address of one family, most significant bit first.
pub(crate) trait Bits: Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static {
    /// Number of bits in an address: 32 or 128.
    const WIDTH: u8;

    /// The leading `n` bits as an index, for 1 <= n <= 16 (the only strides the trie uses).
    fn top(self, n: u32) -> usize;
    /// Shifts left by `n` bits, for n < WIDTH, dropping the bits already consumed.
    fn shl(self, n: u32) -> Self;
    /// Keeps the leading `len` bits and clears the rest; `len` >= WIDTH keeps everything.
    fn masked(self, len: u8) -> Self;
    /// Converts to an `IpAddr` of this family.
    fn to_ip(self) -> IpAddr;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;

    #[inline(always)]
    fn top(self, n: u32) -> usize {
        (self >> (32 - n)) as usize
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        self << n
    }
    #[inline]
    fn masked(self, len: u8) -> Self {
        // checked_shl: a shift by the full width (len 0) is not allowed on integers, and means "no bits".
        self & u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(len)))
            .unwrap_or(0)
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self))
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;

    #[inline(always)]
    fn top(self, n: u32) -> usize {
        (self >> (128 - n)) as usize
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        self << n
    }
    #[inline]
    fn masked(self, len: u8) -> Self {
        self & u128::MAX
            .checked_shl(128u32.saturating_sub(u32::from(len)))
            .unwrap_or(0)
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_handles_zero_and_full_lengths() {
        assert_eq!(0xdead_beef_u32.masked(0), 0);
        assert_eq!(0xdead_beef_u32.masked(32), 0xdead_beef);
        assert_eq!(0xdead_beef_u32.masked(8), 0xde00_0000);
        assert_eq!(u128::MAX.masked(0), 0);
        assert_eq!(u128::MAX.masked(128), u128::MAX);
        assert_eq!(u128::MAX.masked(1), 1 << 127);
    }
}

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
    /// Sets the bits after the leading `len` (the last address of the `len`-bit prefix starting here).
    fn with_host_bits(self, len: u8) -> Self;
    /// The next address, `None` after the last one.
    fn successor(self) -> Option<Self>;
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
    #[inline]
    fn with_host_bits(self, len: u8) -> Self {
        self | !u32::MAX.masked(len)
    }
    #[inline]
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
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
    #[inline]
    fn with_host_bits(self, len: u8) -> Self {
        self | !u128::MAX.masked(len)
    }
    #[inline]
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
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

    #[test]
    fn host_bits_and_successors() {
        assert_eq!(0x0a00_0000_u32.with_host_bits(8), 0x0aff_ffff);
        assert_eq!(0_u32.with_host_bits(0), u32::MAX);
        assert_eq!(5_u32.with_host_bits(32), 5);
        assert_eq!(0_u128.with_host_bits(0), u128::MAX);
        assert_eq!(u32::MAX.successor(), None);
        assert_eq!(7_u128.successor(), Some(8));
    }
}

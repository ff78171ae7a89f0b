//! Fixed-offset field access into fixed-size header arrays.
//!
//! Every view in this crate keeps its header as a `&[u8; N]` obtained once, at construction, after the length
//! checks. The helpers here read and write fields at offsets that are const generic parameters, and each one
//! asserts `OFFSET + LEN <= N` in an inline `const` block, so an out-of-range field is a *compile* error. That is
//! what makes the accessors infallible: there is no runtime path where a field could lie outside the buffer, so
//! there is nothing that could panic. The `None` arms below are dead code that the optimiser removes (field reads
//! compile to plain loads at constant offsets); they exist only so the code contains no panicking construct.

use crate::error::WireError;

/// Borrows the `LEN` bytes at `OFFSET` of `bytes` as an array.
#[inline(always)]
pub(crate) fn array<const OFFSET: usize, const LEN: usize, const N: usize>(
    bytes: &[u8; N],
) -> &[u8; LEN] {
    const { assert!(OFFSET + LEN <= N, "field lies outside the header") };
    match bytes
        .get(OFFSET..OFFSET + LEN)
        .and_then(|s| <&[u8; LEN]>::try_from(s).ok())
    {
        Some(field) => field,
        None => &const { [0u8; LEN] },
    }
}

/// Mutably borrows the `LEN` bytes at `OFFSET` of `bytes` (as a slice: see the module comment for why).
#[inline(always)]
pub(crate) fn slice_mut<const OFFSET: usize, const LEN: usize, const N: usize>(
    bytes: &mut [u8; N],
) -> &mut [u8] {
    const { assert!(OFFSET + LEN <= N, "field lies outside the header") };
    bytes.get_mut(OFFSET..OFFSET + LEN).unwrap_or_default()
}

/// Overwrites the `LEN` bytes at `OFFSET` of `bytes` with `value`.
#[inline(always)]
pub(crate) fn set_array<const OFFSET: usize, const LEN: usize, const N: usize>(
    bytes: &mut [u8; N],
    value: &[u8; LEN],
) {
    const { assert!(OFFSET + LEN <= N, "field lies outside the header") };
    if let Some(field) = bytes
        .get_mut(OFFSET..OFFSET + LEN)
        .and_then(|s| <&mut [u8; LEN]>::try_from(s).ok())
    {
        *field = *value;
    }
}

/// Reads the byte at `OFFSET`.
#[inline(always)]
pub(crate) fn u8_at<const OFFSET: usize, const N: usize>(bytes: &[u8; N]) -> u8 {
    array::<OFFSET, 1, N>(bytes)[0]
}

/// Writes the byte at `OFFSET`.
#[inline(always)]
pub(crate) fn set_u8<const OFFSET: usize, const N: usize>(bytes: &mut [u8; N], value: u8) {
    set_array::<OFFSET, 1, N>(bytes, &[value]);
}

/// Reads the big-endian (network order) `u16` at `OFFSET`.
#[inline(always)]
pub(crate) fn u16_be<const OFFSET: usize, const N: usize>(bytes: &[u8; N]) -> u16 {
    u16::from_be_bytes(*array::<OFFSET, 2, N>(bytes))
}

/// Writes a big-endian `u16` at `OFFSET`.
#[inline(always)]
pub(crate) fn set_u16_be<const OFFSET: usize, const N: usize>(bytes: &mut [u8; N], value: u16) {
    set_array::<OFFSET, 2, N>(bytes, &value.to_be_bytes());
}

/// Reads the big-endian `u32` at `OFFSET`.
#[inline(always)]
pub(crate) fn u32_be<const OFFSET: usize, const N: usize>(bytes: &[u8; N]) -> u32 {
    u32::from_be_bytes(*array::<OFFSET, 4, N>(bytes))
}

/// Writes a big-endian `u32` at `OFFSET`.
#[inline(always)]
pub(crate) fn set_u32_be<const OFFSET: usize, const N: usize>(bytes: &mut [u8; N], value: u32) {
    set_array::<OFFSET, 4, N>(bytes, &value.to_be_bytes());
}

/// Reads the little-endian `u32` at `OFFSET` (WireGuard's integers are little-endian).
#[inline(always)]
pub(crate) fn u32_le<const OFFSET: usize, const N: usize>(bytes: &[u8; N]) -> u32 {
    u32::from_le_bytes(*array::<OFFSET, 4, N>(bytes))
}

/// Writes a little-endian `u32` at `OFFSET`.
#[inline(always)]
pub(crate) fn set_u32_le<const OFFSET: usize, const N: usize>(bytes: &mut [u8; N], value: u32) {
    set_array::<OFFSET, 4, N>(bytes, &value.to_le_bytes());
}

/// Reads the little-endian `u64` at `OFFSET`.
#[inline(always)]
pub(crate) fn u64_le<const OFFSET: usize, const N: usize>(bytes: &[u8; N]) -> u64 {
    u64::from_le_bytes(*array::<OFFSET, 8, N>(bytes))
}

/// Writes a little-endian `u64` at `OFFSET`.
#[inline(always)]
pub(crate) fn set_u64_le<const OFFSET: usize, const N: usize>(bytes: &mut [u8; N], value: u64) {
    set_array::<OFFSET, 8, N>(bytes, &value.to_le_bytes());
}

/// `bytes[..total]` split after its fixed `N`-byte header: the shared last step of the IP and UDP view constructors,
/// once a view's own checks have established `N <= total <= bytes.len()`. The errors are then unreachable, but are
/// reported as [`WireError::TooShort`] rather than anything that could panic.
pub(crate) fn split_header<const N: usize>(
    bytes: &[u8],
    total: usize,
) -> Result<(&[u8; N], &[u8]), WireError> {
    let available = bytes.len();
    bytes
        .get(..total)
        .ok_or(too_short(total, available))?
        .split_first_chunk::<N>()
        .ok_or(too_short(N, available))
}

/// The mutable twin of [`split_header`].
pub(crate) fn split_header_mut<const N: usize>(
    bytes: &mut [u8],
    total: usize,
) -> Result<(&mut [u8; N], &mut [u8]), WireError> {
    let available = bytes.len();
    bytes
        .get_mut(..total)
        .ok_or(too_short(total, available))?
        .split_first_chunk_mut::<N>()
        .ok_or(too_short(N, available))
}

/// The first `N` bytes of `buf`, where a header of `N` bytes followed by a `payload_len`-byte payload is about to be
/// written: the shared prologue of the header writers. Refuses a payload over `max` (what the header's length field
/// can express) and a buffer shorter than the header, in that order, before anything is written.
pub(crate) fn header_to_write<const N: usize>(
    buf: &mut [u8],
    payload_len: usize,
    max: usize,
) -> Result<&mut [u8; N], WireError> {
    if payload_len > max {
        return Err(WireError::PayloadTooLarge {
            len: payload_len,
            max,
        });
    }
    let available = buf.len();
    buf.first_chunk_mut::<N>().ok_or(WireError::BufferTooSmall {
        needed: N,
        available,
    })
}

/// The error of a buffer shorter than a view needs.
pub(crate) fn too_short(needed: usize, available: usize) -> WireError {
    WireError::TooShort { needed, available }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_at_the_given_offsets() {
        let mut bytes = [0u8; 16];
        set_u16_be::<0, 16>(&mut bytes, 0x0102);
        set_u32_le::<2, 16>(&mut bytes, 0x0605_0403);
        set_u64_le::<6, 16>(&mut bytes, 0x0e0d_0c0b_0a09_0807);
        set_u8::<14, 16>(&mut bytes, 0x0f);
        assert_eq!(
            bytes,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]
        );
        assert_eq!(u16_be::<0, 16>(&bytes), 0x0102);
        assert_eq!(u32_be::<2, 16>(&bytes), 0x0304_0506);
        assert_eq!(u32_le::<2, 16>(&bytes), 0x0605_0403);
        assert_eq!(u64_le::<6, 16>(&bytes), 0x0e0d_0c0b_0a09_0807);
        assert_eq!(u8_at::<15, 16>(&bytes), 0);
        assert_eq!(array::<12, 4, 16>(&bytes), &[13, 14, 15, 0]);
        slice_mut::<15, 1, 16>(&mut bytes).copy_from_slice(&[16]);
        assert_eq!(bytes[15], 16);
    }
}

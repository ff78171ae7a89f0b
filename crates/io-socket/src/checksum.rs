//! The Internet checksum (RFC 1071) for IP header, TCP and UDP checksums.

/// Adds `data` as big-endian 16-bit words (an odd last byte padded with zero) to `initial`,
/// folds the carries and returns the 16-bit ones-complement sum. The caller stores the
/// complement (`!checksum(..)`) in the header field.
pub fn checksum(data: &[u8], initial: u64) -> u16 {
    fold(sum(data, initial))
}

/// The TCP/UDP pseudo-header sum (addresses, protocol, transport length), unfolded, ready to be
/// passed as `initial` to [`checksum`]. `src` and `dst` are 4 (IPv4) or 16 (IPv6) bytes.
pub fn pseudo_header_sum(protocol: u8, src: &[u8], dst: &[u8], transport_len: u32) -> u64 {
    let acc = sum(src, 0);
    let acc = sum(dst, acc);
    acc + u64::from(protocol) + u64::from(transport_len)
}

/// Unfolded sum: 32-bit big-endian words summed into 64 bits is equivalent to 16-bit
/// ones-complement addition once folded, and halves the loop count.
fn sum(data: &[u8], initial: u64) -> u64 {
    let mut acc = initial;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut tail = words.remainder().chunks(2);
    for pair in &mut tail {
        let hi = pair.first().copied().unwrap_or(0);
        let lo = pair.get(1).copied().unwrap_or(0);
        acc += u64::from(u16::from_be_bytes([hi, lo]));
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data, 0), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0x12, 0x34, 0x56], 0), 0x1234 + 0x5600);
    }

    #[test]
    fn known_ipv4_header() {
        // A captured IPv4 header whose stored checksum is 0xb861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr, 0), 0xffff);
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(!checksum(&hdr, 0), 0xb861);
    }
}

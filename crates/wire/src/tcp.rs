//! TCP segments (RFC 9293): a checked view of the header, as far as the data path needs it (coalescing
//! segments of one flow before a TUN write). Options are compared as opaque bytes, never interpreted.

use crate::error::WireError;
use crate::field;

/// Length of the TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// Offset of the checksum field in the TCP header.
pub const TCP_CHECKSUM_OFFSET: usize = 16;

/// FIN flag.
pub const TCP_FIN: u8 = 0x01;
/// SYN flag.
pub const TCP_SYN: u8 = 0x02;
/// RST flag.
pub const TCP_RST: u8 = 0x04;
/// PSH flag.
pub const TCP_PSH: u8 = 0x08;
/// ACK flag.
pub const TCP_ACK: u8 = 0x10;
/// URG flag.
pub const TCP_URG: u8 = 0x20;

const LEN: usize = TCP_HEADER_LEN;

/// A checked view of a TCP segment: the fixed header, the options and the payload. The whole of `bytes` is the
/// segment (the IP layer decides where it ends).
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    header: &'a [u8; LEN],
    options: &'a [u8],
    payload: &'a [u8],
}

impl<'a> TcpSegment<'a> {
    /// Checks the fixed header is present and the data offset covers it and lies within `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        let Some(header) = bytes.first_chunk::<LEN>() else {
            return Err(WireError::TooShort {
                needed: LEN,
                available: bytes.len(),
            });
        };
        let header_len = usize::from(field::u8_at::<12, LEN>(header) >> 4) * 4;
        if header_len < LEN || header_len > bytes.len() {
            return Err(WireError::BadTcpDataOffset {
                header_len,
                available: bytes.len(),
            });
        }
        let (header, rest) = field::split_header::<LEN>(bytes, bytes.len())?;
        let (options, payload) =
            rest.split_at_checked(header_len - LEN)
                .ok_or(WireError::TooShort {
                    needed: header_len,
                    available: bytes.len(),
                })?;
        Ok(Self {
            header,
            options,
            payload,
        })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        field::u16_be::<0, LEN>(self.header)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        field::u16_be::<2, LEN>(self.header)
    }

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        field::u32_be::<4, LEN>(self.header)
    }

    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        field::u32_be::<8, LEN>(self.header)
    }

    /// Header length including options (the data offset in bytes).
    pub fn header_len(&self) -> usize {
        LEN + self.options.len()
    }

    /// The flag byte (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR).
    pub fn flags(&self) -> u8 {
        field::u8_at::<13, LEN>(self.header)
    }

    /// Receive window.
    pub fn window(&self) -> u16 {
        field::u16_be::<14, LEN>(self.header)
    }

    /// The checksum field as stored.
    pub fn checksum(&self) -> u16 {
        field::u16_be::<16, LEN>(self.header)
    }

    /// The options, as bytes.
    pub fn options(&self) -> &'a [u8] {
        self.options
    }

    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(data_offset_words: u8, total: usize) -> Vec<u8> {
        let mut s = vec![0u8; total];
        s[0..2].copy_from_slice(&1234u16.to_be_bytes());
        s[2..4].copy_from_slice(&80u16.to_be_bytes());
        s[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
        s[8..12].copy_from_slice(&0x0a0b_0c0du32.to_be_bytes());
        s[12] = data_offset_words << 4;
        s[13] = TCP_ACK | TCP_PSH;
        s[14..16].copy_from_slice(&512u16.to_be_bytes());
        s[16..18].copy_from_slice(&0xbeefu16.to_be_bytes());
        s
    }

    #[test]
    fn reads_every_field_and_splits_options_from_payload() {
        let bytes = segment(8, 32 + 100);
        let tcp = TcpSegment::new(&bytes).unwrap();
        assert_eq!(tcp.src_port(), 1234);
        assert_eq!(tcp.dst_port(), 80);
        assert_eq!(tcp.seq(), 0x0102_0304);
        assert_eq!(tcp.ack(), 0x0a0b_0c0d);
        assert_eq!(tcp.header_len(), 32);
        assert_eq!(tcp.flags(), TCP_ACK | TCP_PSH);
        assert_eq!(tcp.window(), 512);
        assert_eq!(tcp.checksum(), 0xbeef);
        assert_eq!(tcp.options().len(), 12);
        assert_eq!(tcp.payload().len(), 100);
    }

    #[test]
    fn refuses_short_headers_and_bad_data_offsets() {
        assert!(TcpSegment::new(&[0u8; 19]).is_err());
        for words in [0u8, 4] {
            assert!(matches!(
                TcpSegment::new(&segment(words, 40)),
                Err(WireError::BadTcpDataOffset { .. })
            ));
        }
        // A data offset past the end of the bytes.
        assert!(TcpSegment::new(&segment(15, 40)).is_err());
        assert!(TcpSegment::new(&segment(5, 20))
            .unwrap()
            .payload()
            .is_empty());
    }
}

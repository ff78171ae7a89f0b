//! UDP datagrams (RFC 768).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{Checksum, IPPROTO_UDP};
use crate::error::WireError;
use crate::field;

/// Length of the UDP header.
pub const UDP_HEADER_LEN: usize = 8;

const LEN: usize = UDP_HEADER_LEN;

/// Validates the UDP header and returns the datagram length declared by it, which lies within `bytes`.
fn check(bytes: &[u8]) -> Result<usize, WireError> {
    let Some(header) = bytes.first_chunk::<LEN>() else {
        return Err(WireError::TooShort {
            needed: LEN,
            available: bytes.len(),
        });
    };
    let declared = usize::from(field::u16_be::<4, LEN>(header));
    if declared < LEN || declared > bytes.len() {
        return Err(WireError::BadUdpLength {
            declared,
            available: bytes.len(),
        });
    }
    Ok(declared)
}

/// The checksum a datagram with this header and payload should carry, 0 mapped to 0xffff.
fn datagram_checksum(mut seed: Checksum, header: &[u8; LEN], payload: &[u8]) -> u16 {
    seed.add_bytes(field::array::<0, 6, LEN>(header));
    seed.add_bytes(payload);
    match seed.finish() {
        0 => 0xffff,
        sum => sum,
    }
}

/// Pseudo-header length of a datagram; the length field is 16 bits, so this never truncates for a checked view.
fn datagram_len(payload: &[u8]) -> usize {
    LEN + payload.len()
}

/// A checked view of a UDP datagram. Bytes after the declared UDP length are ignored.
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    header: &'a [u8; LEN],
    payload: &'a [u8],
}

impl<'a> UdpDatagram<'a> {
    /// Checks the header is present and the length field is at least 8 and within the buffer. The checksum is
    /// not checked here: see [`Self::checksum_ok_ipv4`] and [`Self::checksum_ok_ipv6`].
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (header, payload) = field::split_header::<LEN>(bytes, check(bytes)?)?;
        Ok(Self { header, payload })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        field::u16_be::<0, LEN>(self.header)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        field::u16_be::<2, LEN>(self.header)
    }

    /// Datagram length (header and payload) as declared by the length field.
    pub fn datagram_len(&self) -> usize {
        usize::from(field::u16_be::<4, LEN>(self.header))
    }

    /// The checksum field as stored (0 over IPv4 means none was computed).
    pub fn checksum(&self) -> u16 {
        field::u16_be::<6, LEN>(self.header)
    }

    /// Whether the checksum verifies for a datagram sent over IPv4 from `src` to `dst`; a zero checksum field
    /// means the sender did not compute one, which RFC 768 allows, so it passes.
    pub fn checksum_ok_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let stored = self.checksum();
        let seed =
            Checksum::ipv4_pseudo_header(src, dst, IPPROTO_UDP, datagram_len(self.payload) as u16);
        stored == 0 || stored == datagram_checksum(seed, self.header, self.payload)
    }

    /// Whether the checksum verifies for a datagram sent over IPv6 from `src` to `dst`; zero never passes.
    pub fn checksum_ok_ipv6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let seed =
            Checksum::ipv6_pseudo_header(src, dst, IPPROTO_UDP, datagram_len(self.payload) as u32);
        self.checksum() == datagram_checksum(seed, self.header, self.payload)
    }

    /// The payload, exactly `datagram_len() - 8` bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A checked, writable view of a UDP datagram. The length field cannot be changed through it.
#[derive(Debug)]
pub struct UdpDatagramMut<'a> {
    header: &'a mut [u8; LEN],
    payload: &'a mut [u8],
}

impl<'a> UdpDatagramMut<'a> {
    /// Same checks as [`UdpDatagram::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        let declared = check(bytes)?;
        let (header, payload) = field::split_header_mut::<LEN>(bytes, declared)?;
        Ok(Self { header, payload })
    }

    /// A read-only view of the same datagram.
    pub fn as_view(&self) -> UdpDatagram<'_> {
        UdpDatagram {
            header: self.header,
            payload: self.payload,
        }
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        field::set_u16_be::<0, LEN>(self.header, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        field::set_u16_be::<2, LEN>(self.header, port);
    }

    /// Stores `checksum` in the checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        field::set_u16_be::<6, LEN>(self.header, checksum);
    }

    /// Computes and stores the checksum for sending over IPv4 from `src` to `dst` (call after writing the payload).
    pub fn fill_checksum_ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let seed =
            Checksum::ipv4_pseudo_header(src, dst, IPPROTO_UDP, datagram_len(self.payload) as u16);
        self.set_checksum(datagram_checksum(seed, self.header, self.payload));
    }

    /// Computes and stores the checksum for sending over IPv6 from `src` to `dst`.
    pub fn fill_checksum_ipv6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        let seed =
            Checksum::ipv6_pseudo_header(src, dst, IPPROTO_UDP, datagram_len(self.payload) as u32);
        self.set_checksum(datagram_checksum(seed, self.header, self.payload));
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.payload
    }
}

/// Largest payload the 16-bit UDP length field can describe.
pub const UDP_MAX_PAYLOAD: usize = u16::MAX as usize - UDP_HEADER_LEN;

/// Writes a UDP header with a zero checksum at the start of `buf`, for a payload of `payload_len` bytes right
/// after it. Fill the checksum afterwards with [`UdpDatagramMut`] or the functions in [`crate::checksum`].
pub fn write_udp_header(
    buf: &mut [u8],
    src_port: u16,
    dst_port: u16,
    payload_len: usize,
) -> Result<usize, WireError> {
    let header = field::header_to_write::<LEN>(buf, payload_len, UDP_MAX_PAYLOAD)?;
    field::set_u16_be::<0, LEN>(header, src_port);
    field::set_u16_be::<2, LEN>(header, dst_port);
    field::set_u16_be::<4, LEN>(header, (LEN + payload_len) as u16);
    field::set_u16_be::<6, LEN>(header, 0);
    Ok(LEN)
}

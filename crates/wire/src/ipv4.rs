//! IPv4 packets (RFC 791): header with options, length checks, fragment detection, checksum.

use std::net::Ipv4Addr;

use crate::checksum::{self, Checksum};
use crate::error::WireError;
use crate::field;

/// Length of an IPv4 header without options (IHL 5).
pub const IPV4_HEADER_LEN: usize = 20;
/// Largest IPv4 header: IHL 15.
pub const IPV4_MAX_HEADER_LEN: usize = 60;

const LEN: usize = IPV4_HEADER_LEN;
const FLAG_DONT_FRAGMENT: u16 = 0x4000;
const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// Validates the header of an IPv4 packet and returns (header length, total length), both within `bytes`.
fn check(bytes: &[u8]) -> Result<(usize, usize), WireError> {
    let Some(header) = bytes.first_chunk::<LEN>() else {
        return Err(WireError::TooShort {
            needed: LEN,
            available: bytes.len(),
        });
    };
    let version = field::u8_at::<0, LEN>(header) >> 4;
    if version != 4 {
        return Err(WireError::BadVersion { found: version });
    }
    let header_len = usize::from(field::u8_at::<0, LEN>(header) & 0x0f) * 4;
    if header_len < LEN {
        return Err(WireError::BadHeaderLength {
            declared: header_len,
        });
    }
    if header_len > bytes.len() {
        return Err(WireError::TooShort {
            needed: header_len,
            available: bytes.len(),
        });
    }
    let total_len = usize::from(field::u16_be::<2, LEN>(header));
    if total_len < header_len || total_len > bytes.len() {
        return Err(WireError::BadTotalLength {
            declared: total_len,
            available: bytes.len(),
        });
    }
    Ok((header_len, total_len))
}

/// A checked view of an IPv4 packet. Bytes after the declared total length (e.g. Ethernet padding) are ignored.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<'a> {
    header: &'a [u8; LEN],
    options: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Checks the version is 4, the IHL is at least 5 and within the buffer, and the total length covers the
    /// header and lies within the buffer. The header checksum is not checked here: see [`Self::checksum_ok`].
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (header_len, total_len) = check(bytes)?;
        let available = bytes.len();
        let (header, rest) = field::split_header::<LEN>(bytes, total_len)?;
        let (options, payload) = rest
            .split_at_checked(header_len - LEN)
            .ok_or(field::too_short(header_len, available))?;
        Ok(Self {
            header,
            options,
            payload,
        })
    }

    /// Always 4.
    pub fn version(&self) -> u8 {
        field::u8_at::<0, LEN>(self.header) >> 4
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        LEN + self.options.len()
    }

    /// The type-of-service byte: DSCP in the upper six bits, ECN in the lower two.
    pub fn tos(&self) -> u8 {
        field::u8_at::<1, LEN>(self.header)
    }

    /// The ECN codepoint (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total length of the packet as declared by the header.
    pub fn total_len(&self) -> usize {
        usize::from(field::u16_be::<2, LEN>(self.header))
    }

    /// Identification field.
    pub fn identification(&self) -> u16 {
        field::u16_be::<4, LEN>(self.header)
    }

    /// The DF flag.
    pub fn dont_fragment(&self) -> bool {
        field::u16_be::<6, LEN>(self.header) & FLAG_DONT_FRAGMENT != 0
    }

    /// The MF flag.
    pub fn more_fragments(&self) -> bool {
        field::u16_be::<6, LEN>(self.header) & FLAG_MORE_FRAGMENTS != 0
    }

    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> usize {
        usize::from(field::u16_be::<6, LEN>(self.header) & FRAGMENT_OFFSET_MASK) * 8
    }

    /// Whether this packet is a fragment: MF set or a nonzero offset (the first fragment has offset 0 and MF).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.fragment_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        field::u8_at::<8, LEN>(self.header)
    }

    /// Protocol of the payload (17 for UDP).
    pub fn protocol(&self) -> u8 {
        field::u8_at::<9, LEN>(self.header)
    }

    /// The header checksum field as stored.
    pub fn checksum(&self) -> u16 {
        field::u16_be::<10, LEN>(self.header)
    }

    /// Whether the header checksum verifies.
    pub fn checksum_ok(&self) -> bool {
        let mut sum = Checksum::new();
        sum.add_bytes(self.header);
        sum.add_bytes(self.options);
        sum.finish() == 0
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(*field::array::<12, 4, LEN>(self.header))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(*field::array::<16, 4, LEN>(self.header))
    }

    /// Header options (empty for IHL 5).
    pub fn options(&self) -> &'a [u8] {
        self.options
    }

    /// The payload, exactly `total_len - header_len` bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A checked, writable view of an IPv4 packet. Fields that the length checks depend on (version, IHL, total
/// length) cannot be changed through it, so the checks keep holding.
#[derive(Debug)]
pub struct Ipv4PacketMut<'a> {
    header: &'a mut [u8; LEN],
    options: &'a mut [u8],
    payload: &'a mut [u8],
}

impl<'a> Ipv4PacketMut<'a> {
    /// Same checks as [`Ipv4Packet::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        let (header_len, total_len) = check(bytes)?;
        let available = bytes.len();
        let (header, rest) = field::split_header_mut::<LEN>(bytes, total_len)?;
        let (options, payload) = rest
            .split_at_mut_checked(header_len - LEN)
            .ok_or(field::too_short(header_len, available))?;
        Ok(Self {
            header,
            options,
            payload,
        })
    }

    /// A read-only view of the same packet.
    pub fn as_view(&self) -> Ipv4Packet<'_> {
        Ipv4Packet {
            header: self.header,
            options: self.options,
            payload: self.payload,
        }
    }

    /// Sets the type-of-service byte (DSCP and ECN).
    pub fn set_tos(&mut self, tos: u8) {
        field::set_u8::<1, LEN>(self.header, tos);
    }

    /// Sets the identification field.
    pub fn set_identification(&mut self, id: u16) {
        field::set_u16_be::<4, LEN>(self.header, id);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        field::set_u8::<8, LEN>(self.header, ttl);
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: u8) {
        field::set_u8::<9, LEN>(self.header, protocol);
    }

    /// Sets the source address.
    pub fn set_src(&mut self, addr: Ipv4Addr) {
        field::set_array::<12, 4, LEN>(self.header, &addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst(&mut self, addr: Ipv4Addr) {
        field::set_array::<16, 4, LEN>(self.header, &addr.octets());
    }

    /// Stores `checksum` in the header checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        field::set_u16_be::<10, LEN>(self.header, checksum);
    }

    /// Recomputes and stores the header checksum (call after the other setters).
    pub fn fill_checksum(&mut self) {
        field::set_u16_be::<10, LEN>(self.header, 0);
        let mut sum = Checksum::new();
        sum.add_bytes(self.header);
        sum.add_bytes(self.options);
        self.set_checksum(sum.finish());
    }

    /// Header options, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        self.options
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.payload
    }
}

/// The fields of an IPv4 header to emit (without options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Fields {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Payload protocol.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// Identification field.
    pub identification: u16,
    /// Whether to set the DF flag.
    pub dont_fragment: bool,
}

/// Largest payload an IPv4 packet with a 20-byte header can carry.
pub const IPV4_MAX_PAYLOAD: usize = u16::MAX as usize - IPV4_HEADER_LEN;

/// Writes a 20-byte IPv4 header, checksum included, at the start of `buf` for a payload of `payload_len` bytes
/// that the caller places (or has placed) right after it. Returns the header length.
pub fn write_ipv4_header(
    buf: &mut [u8],
    fields: &Ipv4Fields,
    payload_len: usize,
) -> Result<usize, WireError> {
    let header = field::header_to_write::<LEN>(buf, payload_len, IPV4_MAX_PAYLOAD)?;
    let total_len = (LEN + payload_len) as u16;
    let flags = if fields.dont_fragment {
        FLAG_DONT_FRAGMENT
    } else {
        0
    };
    field::set_u8::<0, LEN>(header, 0x45);
    field::set_u8::<1, LEN>(header, fields.tos);
    field::set_u16_be::<2, LEN>(header, total_len);
    field::set_u16_be::<4, LEN>(header, fields.identification);
    field::set_u16_be::<6, LEN>(header, flags);
    field::set_u8::<8, LEN>(header, fields.ttl);
    field::set_u8::<9, LEN>(header, fields.protocol);
    field::set_array::<12, 4, LEN>(header, &fields.src.octets());
    field::set_array::<16, 4, LEN>(header, &fields.dst.octets());
    field::set_u16_be::<10, LEN>(header, checksum::ipv4_header_checksum(header));
    Ok(LEN)
}

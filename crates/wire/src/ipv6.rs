//! IPv6 packets (RFC 8200): the fixed 40-byte header.

use std::net::Ipv6Addr;

use crate::error::WireError;
use crate::field;
use crate::ipv6_ext::{self, Ipv6UpperLayer, NEXT_HEADER_FRAGMENT};

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

const LEN: usize = IPV6_HEADER_LEN;

/// Validates the fixed header and returns the packet length (header plus declared payload) within `bytes`.
fn check(bytes: &[u8]) -> Result<usize, WireError> {
    let Some(header) = bytes.first_chunk::<LEN>() else {
        return Err(WireError::TooShort {
            needed: LEN,
            available: bytes.len(),
        });
    };
    let version = field::u8_at::<0, LEN>(header) >> 4;
    if version != 6 {
        return Err(WireError::BadVersion { found: version });
    }
    let total_len = LEN + usize::from(field::u16_be::<4, LEN>(header));
    if total_len > bytes.len() {
        return Err(WireError::BadTotalLength {
            declared: total_len,
            available: bytes.len(),
        });
    }
    Ok(total_len)
}

/// A checked view of an IPv6 packet. Bytes after the declared payload length are ignored. Jumbograms (payload
/// length 0 with a hop-by-hop jumbo option) are seen as having an empty payload.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<'a> {
    header: &'a [u8; LEN],
    payload: &'a [u8],
}

impl<'a> Ipv6Packet<'a> {
    /// Checks the version is 6 and the declared payload lies within the buffer.
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (header, payload) = field::split_header::<LEN>(bytes, check(bytes)?)?;
        Ok(Self { header, payload })
    }

    /// Always 6.
    pub fn version(&self) -> u8 {
        field::u8_at::<0, LEN>(self.header) >> 4
    }

    /// Traffic class: DSCP in the upper six bits, ECN in the lower two.
    pub fn traffic_class(&self) -> u8 {
        ((field::u32_be::<0, LEN>(self.header) >> 20) & 0xff) as u8
    }

    /// The ECN codepoint (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        field::u32_be::<0, LEN>(self.header) & 0x000f_ffff
    }

    /// The payload length field (extension headers included).
    pub fn payload_len(&self) -> usize {
        usize::from(field::u16_be::<4, LEN>(self.header))
    }

    /// Length of the whole packet as declared: the fixed header plus the payload length.
    pub fn total_len(&self) -> usize {
        LEN + self.payload_len()
    }

    /// The header type that directly follows the fixed header.
    pub fn next_header(&self) -> u8 {
        field::u8_at::<6, LEN>(self.header)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        field::u8_at::<7, LEN>(self.header)
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(*field::array::<8, 16, LEN>(self.header))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(*field::array::<24, 16, LEN>(self.header))
    }

    /// Everything after the fixed header, extension headers included.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Whether a fragment header directly follows the fixed header.
    pub fn fragment_header_follows(&self) -> bool {
        self.next_header() == NEXT_HEADER_FRAGMENT
    }

    /// Walks the extension headers to the upper-layer protocol, reporting any fragment header met on the way.
    pub fn upper_layer(&self) -> Result<Ipv6UpperLayer<'a>, WireError> {
        ipv6_ext::upper_layer(self.next_header(), self.payload)
    }
}

/// A checked, writable view of an IPv6 packet. The payload length cannot be changed through it.
#[derive(Debug)]
pub struct Ipv6PacketMut<'a> {
    header: &'a mut [u8; LEN],
    payload: &'a mut [u8],
}

impl<'a> Ipv6PacketMut<'a> {
    /// Same checks as [`Ipv6Packet::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        let total_len = check(bytes)?;
        let (header, payload) = field::split_header_mut::<LEN>(bytes, total_len)?;
        Ok(Self { header, payload })
    }

    /// A read-only view of the same packet.
    pub fn as_view(&self) -> Ipv6Packet<'_> {
        Ipv6Packet {
            header: self.header,
            payload: self.payload,
        }
    }

    /// Sets the traffic class (DSCP and ECN).
    pub fn set_traffic_class(&mut self, traffic_class: u8) {
        let word = field::u32_be::<0, LEN>(self.header);
        let word = (word & !0x0ff0_0000) | (u32::from(traffic_class) << 20);
        field::set_u32_be::<0, LEN>(self.header, word);
    }

    /// Sets the flow label (only the low 20 bits of `label` are used).
    pub fn set_flow_label(&mut self, label: u32) {
        let word = field::u32_be::<0, LEN>(self.header);
        field::set_u32_be::<0, LEN>(self.header, (word & !0x000f_ffff) | (label & 0x000f_ffff));
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, next_header: u8) {
        field::set_u8::<6, LEN>(self.header, next_header);
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        field::set_u8::<7, LEN>(self.header, hop_limit);
    }

    /// Sets the source address.
    pub fn set_src(&mut self, addr: Ipv6Addr) {
        field::set_array::<8, 16, LEN>(self.header, &addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst(&mut self, addr: Ipv6Addr) {
        field::set_array::<24, 16, LEN>(self.header, &addr.octets());
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.payload
    }
}

/// The fields of an IPv6 fixed header to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fields {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next header (17 for UDP).
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow label; only the low 20 bits are used.
    pub flow_label: u32,
}

/// Largest payload the 16-bit payload length field can describe.
pub const IPV6_MAX_PAYLOAD: usize = u16::MAX as usize;

/// Writes a 40-byte IPv6 header at the start of `buf` for a payload of `payload_len` bytes that the caller places
/// (or has placed) right after it. Returns the header length.
pub fn write_ipv6_header(
    buf: &mut [u8],
    fields: &Ipv6Fields,
    payload_len: usize,
) -> Result<usize, WireError> {
    let header = field::header_to_write::<LEN>(buf, payload_len, IPV6_MAX_PAYLOAD)?;
    let word =
        (6 << 28) | (u32::from(fields.traffic_class) << 20) | (fields.flow_label & 0x000f_ffff);
    field::set_u32_be::<0, LEN>(header, word);
    field::set_u16_be::<4, LEN>(header, payload_len as u16);
    field::set_u8::<6, LEN>(header, fields.next_header);
    field::set_u8::<7, LEN>(header, fields.hop_limit);
    field::set_array::<8, 16, LEN>(header, &fields.src.octets());
    field::set_array::<24, 16, LEN>(header, &fields.dst.octets());
    Ok(LEN)
}

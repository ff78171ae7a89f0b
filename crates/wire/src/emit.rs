//! Writing Ethernet + IP + UDP headers in front of a payload that is already in the buffer.
//!
//! The data path encrypts a WireGuard message straight into a frame at a fixed offset and only then writes the
//! outer headers before it, so no byte of the payload is ever copied. The caller places the payload at
//! `buf[spec.header_len()..]`, then calls `emit`, which fills `buf[..spec.header_len()]` and returns the length of
//! the whole frame.

use std::net::{SocketAddrV4, SocketAddrV6};

use crate::checksum::{Checksum, IPPROTO_UDP};
use crate::error::WireError;
use crate::ethernet::{
    write_ethernet_header, MacAddr, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
    VLAN_TAG_LEN,
};
use crate::ipv4::{write_ipv4_header, Ipv4Fields, IPV4_HEADER_LEN};
use crate::ipv6::{write_ipv6_header, Ipv6Fields, IPV6_HEADER_LEN};
use crate::udp::{write_udp_header, UdpDatagramMut, UDP_HEADER_LEN};

/// Header bytes in front of the payload of an untagged Ethernet + IPv4 + UDP frame.
pub const IPV4_UDP_HEADERS_LEN: usize = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
/// Header bytes in front of the payload of an untagged Ethernet + IPv6 + UDP frame.
pub const IPV6_UDP_HEADERS_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + UDP_HEADER_LEN;

/// Largest UDP payload in an IPv4 packet (total length is 16 bits and covers both headers).
pub const IPV4_UDP_MAX_PAYLOAD: usize = u16::MAX as usize - IPV4_HEADER_LEN - UDP_HEADER_LEN;
/// Largest UDP payload in an IPv6 packet without jumbograms (payload length is 16 bits and covers UDP's header).
pub const IPV6_UDP_MAX_PAYLOAD: usize = u16::MAX as usize - UDP_HEADER_LEN;

/// How the UDP checksum field is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpChecksumMode {
    /// Compute the full checksum in software (one pass over the payload).
    Full,
    /// Store only the folded pseudo-header sum, not complemented: what NIC checksum offload expects as its seed.
    PseudoHeaderOnly,
    /// Store 0, meaning "no checksum". Allowed over IPv4 only (RFC 768); over IPv6 it is refused.
    None,
}

/// Layer 2 addressing of an emitted frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFields {
    /// Source MAC address.
    pub src: MacAddr,
    /// Destination MAC address (the next hop's).
    pub dst: MacAddr,
    /// An 802.1Q tag control information word, if the frame must be tagged.
    pub vlan_tci: Option<u16>,
}

impl LinkFields {
    fn header_len(&self) -> usize {
        ETHERNET_HEADER_LEN + self.vlan_tci.map_or(0, |_| VLAN_TAG_LEN)
    }
}

/// Everything needed to emit an Ethernet + IPv4 + UDP frame around a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4UdpSpec {
    /// Ethernet addressing.
    pub link: LinkFields,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// IPv4 identification.
    pub identification: u16,
    /// Whether to set DF.
    pub dont_fragment: bool,
    /// How to fill the UDP checksum.
    pub udp_checksum: UdpChecksumMode,
}

/// Everything needed to emit an Ethernet + IPv6 + UDP frame around a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6UdpSpec {
    /// Ethernet addressing.
    pub link: LinkFields,
    /// Source address and port (scope id and flow info are ignored).
    pub src: SocketAddrV6,
    /// Destination address and port.
    pub dst: SocketAddrV6,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow label (low 20 bits).
    pub flow_label: u32,
    /// How to fill the UDP checksum; [`UdpChecksumMode::None`] is refused.
    pub udp_checksum: UdpChecksumMode,
}

/// Checks the buffer holds the headers and the payload, and returns the frame length.
fn frame_len(
    buf: &[u8],
    header_len: usize,
    payload_len: usize,
    max: usize,
) -> Result<usize, WireError> {
    if payload_len > max {
        return Err(WireError::PayloadTooLarge {
            len: payload_len,
            max,
        });
    }
    let needed = header_len + payload_len;
    if buf.len() < needed {
        return Err(WireError::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    Ok(needed)
}

/// Splits `buf` at `at`, reporting a too-small buffer rather than panicking.
fn split(buf: &mut [u8], at: usize) -> Result<(&mut [u8], &mut [u8]), WireError> {
    let available = buf.len();
    buf.split_at_mut_checked(at)
        .ok_or(WireError::BufferTooSmall {
            needed: at,
            available,
        })
}

impl Ipv4UdpSpec {
    /// Offset of the payload in the frame: the length of all headers.
    pub fn header_len(&self) -> usize {
        self.link.header_len() + IPV4_HEADER_LEN + UDP_HEADER_LEN
    }

    /// Writes the headers into `buf[..self.header_len()]` around the `payload_len`-byte payload already at
    /// `buf[self.header_len()..]` and returns the frame length. Fails without writing if the buffer is too small
    /// or the payload too large.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<usize, WireError> {
        let total = frame_len(buf, self.header_len(), payload_len, IPV4_UDP_MAX_PAYLOAD)?;
        let (frame, _) = split(buf, total)?;
        let link_len = write_ethernet_header(
            frame,
            self.link.dst,
            self.link.src,
            self.link.vlan_tci,
            ETHERTYPE_IPV4,
        )?;
        let (_, packet) = split(frame, link_len)?;
        let fields = Ipv4Fields {
            src: *self.src.ip(),
            dst: *self.dst.ip(),
            protocol: IPPROTO_UDP,
            ttl: self.ttl,
            tos: self.tos,
            identification: self.identification,
            dont_fragment: self.dont_fragment,
        };
        write_ipv4_header(packet, &fields, UDP_HEADER_LEN + payload_len)?;
        let (_, datagram) = split(packet, IPV4_HEADER_LEN)?;
        write_udp_header(datagram, self.src.port(), self.dst.port(), payload_len)?;
        let mut udp = UdpDatagramMut::new(datagram)?;
        match self.udp_checksum {
            UdpChecksumMode::Full => udp.fill_checksum_ipv4(fields.src, fields.dst),
            UdpChecksumMode::PseudoHeaderOnly => {
                let len = (UDP_HEADER_LEN + payload_len) as u16;
                udp.set_checksum(
                    Checksum::ipv4_pseudo_header(fields.src, fields.dst, IPPROTO_UDP, len).folded(),
                );
            }
            UdpChecksumMode::None => udp.set_checksum(0),
        }
        Ok(total)
    }
}

impl Ipv6UdpSpec {
    /// Offset of the payload in the frame: the length of all headers.
    pub fn header_len(&self) -> usize {
        self.link.header_len() + IPV6_HEADER_LEN + UDP_HEADER_LEN
    }

    /// Writes the headers into `buf[..self.header_len()]` around the `payload_len`-byte payload already at
    /// `buf[self.header_len()..]` and returns the frame length. Fails without writing if the buffer is too small,
    /// the payload too large, or no checksum was requested.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<usize, WireError> {
        if self.udp_checksum == UdpChecksumMode::None {
            return Err(WireError::ChecksumRequired);
        }
        let total = frame_len(buf, self.header_len(), payload_len, IPV6_UDP_MAX_PAYLOAD)?;
        let (frame, _) = split(buf, total)?;
        let link_len = write_ethernet_header(
            frame,
            self.link.dst,
            self.link.src,
            self.link.vlan_tci,
            ETHERTYPE_IPV6,
        )?;
        let (_, packet) = split(frame, link_len)?;
        let fields = Ipv6Fields {
            src: *self.src.ip(),
            dst: *self.dst.ip(),
            next_header: IPPROTO_UDP,
            hop_limit: self.hop_limit,
            traffic_class: self.traffic_class,
            flow_label: self.flow_label,
        };
        write_ipv6_header(packet, &fields, UDP_HEADER_LEN + payload_len)?;
        let (_, datagram) = split(packet, IPV6_HEADER_LEN)?;
        write_udp_header(datagram, self.src.port(), self.dst.port(), payload_len)?;
        let mut udp = UdpDatagramMut::new(datagram)?;
        match self.udp_checksum {
            UdpChecksumMode::PseudoHeaderOnly => {
                let len = (UDP_HEADER_LEN + payload_len) as u32;
                udp.set_checksum(
                    Checksum::ipv6_pseudo_header(&fields.src, &fields.dst, IPPROTO_UDP, len)
                        .folded(),
                );
            }
            UdpChecksumMode::Full | UdpChecksumMode::None => {
                udp.fill_checksum_ipv6(&fields.src, &fields.dst)
            }
        }
        Ok(total)
    }
}

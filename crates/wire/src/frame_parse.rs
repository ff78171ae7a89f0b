//! The receive data path's one-call parse: from a whole Ethernet frame to the UDP endpoints and payload.

use core::ops::Range;
use std::net::{IpAddr, SocketAddr};

use crate::checksum::IPPROTO_UDP;
use crate::error::WireError;
use crate::ethernet::{EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::ipv4::Ipv4Packet;
use crate::ipv6::Ipv6Packet;
use crate::udp::{UdpDatagram, UDP_HEADER_LEN};

/// Where a UDP datagram in an Ethernet frame came from, where it goes, and where its payload lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpFrame {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The UDP payload's byte range within the frame.
    pub payload: Range<usize>,
    /// The VLAN id, if the frame carried an 802.1Q tag.
    pub vlan_id: Option<u16>,
    /// The IPv4 type-of-service byte or IPv6 traffic class (DSCP and ECN), for ECN decapsulation.
    pub traffic_class: u8,
}

impl UdpFrame {
    /// Whether the UDP checksum of this datagram verifies; `frame` must be the frame this was parsed from.
    /// Over IPv4 a zero checksum (none computed) passes. Kept out of [`parse_udp_frame`] because it reads the
    /// whole payload, which a NIC with receive checksum offload has already done.
    pub fn udp_checksum_ok(&self, frame: &[u8]) -> bool {
        let start = self.payload.start.saturating_sub(UDP_HEADER_LEN);
        let Some(Ok(udp)) = frame.get(start..self.payload.end).map(UdpDatagram::new) else {
            return false;
        };
        match (self.src.ip(), self.dst.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => udp.checksum_ok_ipv4(src, dst),
            (IpAddr::V6(src), IpAddr::V6(dst)) => udp.checksum_ok_ipv6(&src, &dst),
            _ => false,
        }
    }
}

/// Parses an Ethernet frame (at most one 802.1Q tag) down to an unfragmented UDP datagram over IPv4 or IPv6.
///
/// Checks on the way: every length field, the IPv4 header checksum (cheap, and a corrupt source address must not
/// become a peer's endpoint), no fragmentation, UDP as the protocol (after IPv6 extension headers), and a
/// nonzero UDP checksum over IPv6. The UDP checksum itself is left to [`UdpFrame::udp_checksum_ok`].
pub fn parse_udp_frame(frame: &[u8]) -> Result<UdpFrame, WireError> {
    let ethernet = EthernetFrame::new(frame)?;
    let ip_start = ethernet.header_len();
    let (src_ip, dst_ip, traffic_class, udp_offset, udp_bytes) = match ethernet.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new(ethernet.payload())?;
            if !ip.checksum_ok() {
                return Err(WireError::BadIpv4Checksum);
            }
            if ip.is_fragment() {
                return Err(WireError::Fragmented);
            }
            if ip.protocol() != IPPROTO_UDP {
                return Err(WireError::NotUdp {
                    protocol: ip.protocol(),
                });
            }
            (
                IpAddr::V4(ip.src()),
                IpAddr::V4(ip.dst()),
                ip.tos(),
                ip.header_len(),
                ip.payload(),
            )
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new(ethernet.payload())?;
            let upper = ip.upper_layer()?;
            if upper.is_fragment() {
                return Err(WireError::Fragmented);
            }
            if upper.protocol != IPPROTO_UDP {
                return Err(WireError::NotUdp {
                    protocol: upper.protocol,
                });
            }
            // The walk only ever drops a prefix of the payload, so the lengths give the offset.
            let ext_len = ip
                .payload()
                .len()
                .checked_sub(upper.payload.len())
                .ok_or(WireError::BadExtensionHeader)?;
            let offset = crate::ipv6::IPV6_HEADER_LEN + ext_len;
            (
                IpAddr::V6(ip.src()),
                IpAddr::V6(ip.dst()),
                ip.traffic_class(),
                offset,
                upper.payload,
            )
        }
        ethertype => return Err(WireError::UnsupportedEtherType { ethertype }),
    };
    let udp = UdpDatagram::new(udp_bytes)?;
    if src_ip.is_ipv6() && udp.checksum() == 0 {
        return Err(WireError::ZeroUdpChecksumOverIpv6);
    }
    let start = ip_start + udp_offset + UDP_HEADER_LEN;
    Ok(UdpFrame {
        src: SocketAddr::new(src_ip, udp.src_port()),
        dst: SocketAddr::new(dst_ip, udp.dst_port()),
        payload: start..start + udp.payload().len(),
        vlan_id: ethernet.vlan_id(),
        traffic_class,
    })
}

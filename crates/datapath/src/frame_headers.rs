//! The outer headers of an AF_XDP transmit frame: Ethernet + IPv4/IPv6 + UDP, written in front of a transport
//! message already sealed at the right offset. Over IPv4 the UDP checksum is left out (0: optional there, RFC 768,
//! and the AEAD already authenticates every byte of the message); over IPv6 it is required and computed.

use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use wgxdp_io_xdp::NextHop;
use wgxdp_wire::{
    Ipv4UdpSpec, Ipv6UdpSpec, LinkFields, UdpChecksumMode, IPV4_UDP_HEADERS_LEN,
    IPV6_UDP_HEADERS_LEN,
};

/// TTL / hop limit of the frames we build (the kernel's default).
const HOP_LIMIT: u8 = 64;

/// Header bytes in front of the message for `endpoint`'s family (untagged Ethernet).
pub(crate) fn header_len(endpoint: &SocketAddr) -> usize {
    if endpoint.is_ipv4() {
        IPV4_UDP_HEADERS_LEN
    } else {
        IPV6_UDP_HEADERS_LEN
    }
}

/// Writes the headers into `frame[..header_len(endpoint)]` for the `len`-byte message behind them; returns the
/// frame length, or `None` when the next hop has no source address of the endpoint's family.
pub(crate) fn write_headers(
    frame: &mut [u8],
    len: usize,
    hop: &NextHop,
    src_port: u16,
    endpoint: &SocketAddr,
) -> Option<usize> {
    let link = LinkFields {
        src: hop.src_mac,
        dst: hop.dst_mac,
        vlan_tci: None,
    };
    match (endpoint, hop.src_ip?) {
        (SocketAddr::V4(dst), IpAddr::V4(src)) => Ipv4UdpSpec {
            link,
            src: SocketAddrV4::new(src, src_port),
            dst: *dst,
            ttl: HOP_LIMIT,
            tos: 0,
            // DF set, so the identification carries no meaning (RFC 6864).
            identification: 0,
            dont_fragment: true,
            udp_checksum: UdpChecksumMode::None,
        }
        .emit(frame, len)
        .ok(),
        (SocketAddr::V6(dst), IpAddr::V6(src)) => Ipv6UdpSpec {
            link,
            src: SocketAddrV6::new(src, src_port, 0, 0),
            dst: *dst,
            hop_limit: HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
            udp_checksum: UdpChecksumMode::Full,
        }
        .emit(frame, len)
        .ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgxdp_wire::{parse_udp_frame, MacAddr};

    fn hop(src_ip: &str) -> NextHop {
        NextHop {
            ifindex: 2,
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            gateway: None,
            src_ip: Some(src_ip.parse().unwrap()),
        }
    }

    #[test]
    fn frames_parse_back_with_a_valid_checksum_and_none_over_ipv4() {
        for (src, dst) in [
            ("198.18.0.1", "198.18.0.2:51820"),
            ("fd00::1", "[fd00::2]:51820"),
        ] {
            let endpoint: SocketAddr = dst.parse().unwrap();
            let start = header_len(&endpoint);
            let mut frame = vec![0u8; 2048];
            frame[start..start + 100].fill(7);
            let total = write_headers(&mut frame, 100, &hop(src), 4242, &endpoint).unwrap();
            assert_eq!(total, start + 100);
            let udp = parse_udp_frame(&frame[..total]).unwrap();
            assert_eq!(udp.dst, endpoint);
            assert_eq!(udp.src, SocketAddr::new(src.parse().unwrap(), 4242));
            assert_eq!(udp.payload, start..total);
            assert!(udp.udp_checksum_ok(&frame[..total]));
            let stored = u16::from_be_bytes([frame[start - 2], frame[start - 1]]);
            assert_eq!(
                stored == 0,
                endpoint.is_ipv4(),
                "no checksum over IPv4 only"
            );
        }
    }

    #[test]
    fn a_family_mismatch_or_a_short_frame_is_refused() {
        let endpoint: SocketAddr = "198.18.0.2:51820".parse().unwrap();
        let mut frame = vec![0u8; 2048];
        assert_eq!(
            write_headers(&mut frame, 10, &hop("fd00::1"), 1, &endpoint),
            None
        );
        let mut short = vec![0u8; 50];
        assert_eq!(
            write_headers(&mut short, 10, &hop("198.18.0.1"), 1, &endpoint),
            None
        );
    }
}

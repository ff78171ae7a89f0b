//! The load's datagrams: an IPv4 or IPv6 UDP packet of an exact size carrying a [`Payload`], written with the wire
//! crate's emitters, and checked on the way back with its views.
//!
//! The emitters write Ethernet + IP + UDP headers in front of a payload already in place. A plaintext frame for the
//! LAN side is exactly that; an inner packet for a transport message is emitted the same way 14 bytes before the
//! spot where the inner packet goes, and that Ethernet header is then overwritten by the transport header that
//! sealing writes in front of the packet.

use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};

use anyhow::{anyhow, Result};
use wgxdp_wire::ethernet::ETHERNET_HEADER_LEN;
use wgxdp_wire::ipv4::IPV4_HEADER_LEN;
use wgxdp_wire::ipv6::IPV6_HEADER_LEN;
use wgxdp_wire::udp::UDP_HEADER_LEN;
use wgxdp_wire::{
    inner_packet, Ipv4Packet, Ipv4UdpSpec, Ipv6Packet, Ipv6UdpSpec, LinkFields, MacAddr,
    UdpChecksumMode, UdpDatagram,
};

use crate::payload::{Payload, PAYLOAD_LEN};

/// The addresses and ports of one flow of the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

/// IP header length of a flow's family.
fn ip_header_len(addr: IpAddr) -> usize {
    if addr.is_ipv4() {
        IPV4_HEADER_LEN
    } else {
        IPV6_HEADER_LEN
    }
}

/// The smallest IP packet that holds a payload header, for a family.
pub fn min_packet_size(ipv6: bool) -> usize {
    let ip = if ipv6 {
        IPV6_HEADER_LEN
    } else {
        IPV4_HEADER_LEN
    };
    ip + UDP_HEADER_LEN + PAYLOAD_LEN
}

/// One emitter for both families.
#[derive(Clone, Copy, Debug)]
enum Spec {
    V4(Ipv4UdpSpec),
    V6(Ipv6UdpSpec),
}

impl Spec {
    fn new(flow: &Flow, link: LinkFields) -> Result<Self> {
        match (flow.src, flow.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Ok(Self::V4(Ipv4UdpSpec {
                link,
                src: SocketAddrV4::new(src, flow.src_port),
                dst: SocketAddrV4::new(dst, flow.dst_port),
                ttl: 64,
                tos: 0,
                identification: 0,
                dont_fragment: true,
                udp_checksum: UdpChecksumMode::Full,
            })),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Ok(Self::V6(Ipv6UdpSpec {
                link,
                src: SocketAddrV6::new(src, flow.src_port, 0, 0),
                dst: SocketAddrV6::new(dst, flow.dst_port, 0, 0),
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0,
                udp_checksum: UdpChecksumMode::Full,
            })),
            _ => Err(anyhow!(
                "flow {} -> {} mixes address families",
                flow.src,
                flow.dst
            )),
        }
    }

    fn header_len(&self) -> usize {
        match self {
            Self::V4(spec) => spec.header_len(),
            Self::V6(spec) => spec.header_len(),
        }
    }

    fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<usize> {
        let len = match self {
            Self::V4(spec) => spec.emit(buf, payload_len),
            Self::V6(spec) => spec.emit(buf, payload_len),
        };
        len.map_err(|e| anyhow!("emitting a datagram: {e}"))
    }
}

/// Writes an Ethernet frame carrying an IP packet of exactly `size` bytes (headers included) for `flow` into
/// `buf`, with `payload` at the start of its UDP payload. Returns the frame length (`size` + 14).
pub fn write_frame(
    buf: &mut [u8],
    link: LinkFields,
    flow: &Flow,
    size: usize,
    payload: &Payload,
) -> Result<usize> {
    let header_ip = ip_header_len(flow.src);
    let min = header_ip + UDP_HEADER_LEN + PAYLOAD_LEN;
    if size < min {
        return Err(anyhow!(
            "a {size}-byte packet cannot carry the load's {PAYLOAD_LEN}-byte header over {} (at least {min} bytes)",
            if flow.src.is_ipv4() { "IPv4" } else { "IPv6" }
        ));
    }
    let spec = Spec::new(flow, link)?;
    let payload_len = size - header_ip - UDP_HEADER_LEN;
    let start = spec.header_len();
    let available = buf.len();
    let area = buf
        .get_mut(start..start + payload_len)
        .ok_or_else(|| anyhow!("a {size}-byte packet does not fit a {available}-byte buffer"))?;
    payload.write(area);
    spec.emit(buf, payload_len)
}

/// Writes the bare IP packet (no Ethernet header) of [`write_frame`] at `buf[at..at + size]`, using the 14 bytes
/// before `at` as scratch (they are overwritten). Returns `size`.
pub fn write_packet_at(
    buf: &mut [u8],
    at: usize,
    flow: &Flow,
    size: usize,
    payload: &Payload,
) -> Result<usize> {
    let start = at
        .checked_sub(ETHERNET_HEADER_LEN)
        .ok_or_else(|| anyhow!("no room for the emitter's scratch header before offset {at}"))?;
    let link = LinkFields {
        src: MacAddr([0; 6]),
        dst: MacAddr([0; 6]),
        vlan_tci: None,
    };
    let frame_len = write_frame(&mut buf[start..], link, flow, size, payload)?;
    Ok(frame_len - ETHERNET_HEADER_LEN)
}

/// Why a received packet is not a correct datagram of the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Not a well-formed IP packet.
    Ip,
    /// The IPv4 header checksum fails.
    IpChecksum,
    /// Not UDP.
    NotUdp,
    /// The UDP header or checksum is wrong.
    Udp,
    /// No payload header (wrong magic, too short).
    Payload,
    /// The fill after the payload header was altered.
    Fill,
    /// Source or destination is not that of the expected flow.
    Addresses,
}

/// Checks a whole IP packet (e.g. a decrypted transport payload, padding allowed after it) against the flow it
/// should belong to, and returns its payload header.
pub fn check_packet(packet: &[u8], flow: &Flow) -> Result<Payload, Defect> {
    let inner = inner_packet(packet).map_err(|_| Defect::Ip)?;
    if inner.src != flow.src || inner.dst != flow.dst {
        return Err(Defect::Addresses);
    }
    let packet = packet.get(..inner.len).ok_or(Defect::Ip)?;
    let datagram = match (inner.src, inner.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let ip = Ipv4Packet::new(packet).map_err(|_| Defect::Ip)?;
            if !ip.checksum_ok() {
                return Err(Defect::IpChecksum);
            }
            if ip.protocol() != 17 {
                return Err(Defect::NotUdp);
            }
            let udp = UdpDatagram::new(ip.payload()).map_err(|_| Defect::Udp)?;
            if !udp.checksum_ok_ipv4(src, dst) {
                return Err(Defect::Udp);
            }
            udp
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let ip = Ipv6Packet::new(packet).map_err(|_| Defect::Ip)?;
            if ip.next_header() != 17 {
                return Err(Defect::NotUdp);
            }
            let udp = UdpDatagram::new(ip.payload()).map_err(|_| Defect::Udp)?;
            if !udp.checksum_ok_ipv6(&src, &dst) {
                return Err(Defect::Udp);
            }
            udp
        }
        _ => return Err(Defect::Ip),
    };
    if datagram.src_port() != flow.src_port || datagram.dst_port() != flow.dst_port {
        return Err(Defect::Addresses);
    }
    let payload = Payload::parse(datagram.payload()).ok_or(Defect::Payload)?;
    if !Payload::fill_ok(datagram.payload()) {
        return Err(Defect::Fill);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(v6: bool) -> Flow {
        if v6 {
            Flow {
                src: "fd00:64::5".parse().unwrap(),
                dst: "fd00:19:1::2".parse().unwrap(),
                src_port: 4000,
                dst_port: 9000,
            }
        } else {
            Flow {
                src: "100.64.0.5".parse().unwrap(),
                dst: "198.19.1.2".parse().unwrap(),
                src_port: 4000,
                dst_port: 9000,
            }
        }
    }

    fn payload() -> Payload {
        Payload {
            flags: 0,
            peer: 4,
            seq: 9,
            position: 99,
            timestamp: 5,
        }
    }

    #[test]
    fn packets_have_the_exact_size_and_pass_the_checks() {
        for (v6, size) in [(false, 64), (false, 1420), (true, 80), (true, 512)] {
            let mut buf = vec![0xaa; 2048];
            let len = write_packet_at(&mut buf, 58, &flow(v6), size, &payload()).unwrap();
            assert_eq!(len, size);
            let packet = &buf[58..58 + size];
            assert_eq!(check_packet(packet, &flow(v6)), Ok(payload()));
            // WireGuard padding after the packet is ignored.
            let mut padded = packet.to_vec();
            padded.extend_from_slice(&[0; 12]);
            assert_eq!(check_packet(&padded, &flow(v6)), Ok(payload()));
        }
    }

    #[test]
    fn defects_are_named() {
        let mut buf = vec![0; 2048];
        write_packet_at(&mut buf, 58, &flow(false), 100, &payload()).unwrap();
        let good = buf[58..158].to_vec();
        let mut other = flow(false);
        other.dst = "198.19.1.3".parse().unwrap();
        assert_eq!(check_packet(&good, &other), Err(Defect::Addresses));
        let mut bad = good.clone();
        bad[99] ^= 0xff;
        assert_eq!(check_packet(&bad, &flow(false)), Err(Defect::Udp));
        let mut bad = good.clone();
        bad[10] ^= 1;
        assert_eq!(check_packet(&bad, &flow(false)), Err(Defect::IpChecksum));
        assert_eq!(check_packet(&good[..10], &flow(false)), Err(Defect::Ip));
    }

    #[test]
    fn too_small_for_the_header_is_refused() {
        let mut buf = vec![0; 256];
        assert!(write_packet_at(&mut buf, 58, &flow(true), 64, &payload()).is_err());
        assert!(write_packet_at(&mut buf, 58, &flow(false), 59, &payload()).is_err());
        assert_eq!(min_packet_size(false), 60);
        assert_eq!(min_packet_size(true), 80);
    }
}

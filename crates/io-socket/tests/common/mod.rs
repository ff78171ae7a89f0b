//! Helpers shared by the integration tests: packet builders and an independent checksum.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TUN name unique within this machine for the life of the test process.
pub fn tun_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "wgxt-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Textbook RFC 1071 checksum, 16 bits at a time: deliberately not the crate's code.
pub fn ones_complement(chunks: &[&[u8]]) -> u16 {
    let mut bytes = Vec::new();
    for c in chunks {
        bytes.extend_from_slice(c);
    }
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
        }
        _ => panic!("mixed families"),
    }
    p
}

/// Parsed view of an IP packet for assertions.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub ip_header: &'a [u8],
    pub transport: &'a [u8],
}

/// Parses an IPv4 (no options check) or IPv6 (no extension headers) packet; asserts the IP
/// length field matches the buffer.
pub fn parse(packet: &[u8]) -> Parsed<'_> {
    match packet[0] >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            assert_eq!(
                usize::from(u16::from_be_bytes([packet[2], packet[3]])),
                packet.len()
            );
            Parsed {
                src: IpAddr::V4(Ipv4Addr::new(
                    packet[12], packet[13], packet[14], packet[15],
                )),
                dst: IpAddr::V4(Ipv4Addr::new(
                    packet[16], packet[17], packet[18], packet[19],
                )),
                proto: packet[9],
                ip_header: &packet[..ihl],
                transport: &packet[ihl..],
            }
        }
        6 => {
            assert_eq!(
                usize::from(u16::from_be_bytes([packet[4], packet[5]])),
                packet.len() - 40
            );
            let src: [u8; 16] = packet[8..24].try_into().unwrap();
            let dst: [u8; 16] = packet[24..40].try_into().unwrap();
            Parsed {
                src: IpAddr::V6(Ipv6Addr::from(src)),
                dst: IpAddr::V6(Ipv6Addr::from(dst)),
                proto: packet[6],
                ip_header: &packet[..40],
                transport: &packet[40..],
            }
        }
        v => panic!("IP version {v}"),
    }
}

/// Whether the IPv4 header checksum (if IPv4) and the TCP/UDP checksum verify.
pub fn checksums_valid(packet: &[u8]) -> bool {
    let p = parse(packet);
    if p.src.is_ipv4() && ones_complement(&[p.ip_header]) != 0 {
        return false;
    }
    let ph = pseudo(p.src, p.dst, p.proto, p.transport.len());
    ones_complement(&[&ph, p.transport]) == 0
}

/// Builds an IP header (IPv4 without options / IPv6 without extensions) for `payload_len`
/// transport bytes.
fn ip_header(src: IpAddr, dst: IpAddr, proto: u8, transport_len: usize, id: u16) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + transport_len) as u16;
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = ones_complement(&[&h]);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(transport_len as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h
        }
        _ => panic!("mixed families"),
    }
}

/// A complete UDP/IP packet with valid checksums.
pub fn udp_packet(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&(len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let c = ones_complement(&[&pseudo(src, dst, 17, len), &udp]);
    let c = if c == 0 { 0xffff } else { c };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut pkt = ip_header(src, dst, 17, len, 0x1234);
    pkt.extend_from_slice(&udp);
    pkt
}

/// A TCP/IP packet; `options` pads the TCP header (multiple of 4 bytes). The TCP checksum
/// field holds the folded pseudo-header sum (CHECKSUM_PARTIAL, as the kernel hands TSO packets
/// over) when `partial`, a full valid checksum otherwise.
#[allow(clippy::too_many_arguments)]
pub fn tcp_packet(
    src: IpAddr,
    dst: IpAddr,
    seq: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
    ip_id: u16,
    partial: bool,
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let thl = 20 + options.len();
    let len = thl + payload.len();
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&40000u16.to_be_bytes());
    tcp.extend_from_slice(&443u16.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    tcp.push(((thl / 4) as u8) << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&512u16.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(options);
    tcp.extend_from_slice(payload);
    let ph = pseudo(src, dst, 6, len);
    let c = if partial {
        // Folded, not inverted, pseudo-header sum: what CHECKSUM_PARTIAL leaves in the field.
        !ones_complement(&[&ph])
    } else {
        ones_complement(&[&ph, &tcp])
    };
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let mut pkt = ip_header(src, dst, 6, len, ip_id);
    pkt.extend_from_slice(&tcp);
    pkt
}

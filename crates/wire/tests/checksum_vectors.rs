//! Checksums against vectors computed outside this crate.

use std::net::{Ipv4Addr, Ipv6Addr};

use wgxdp_wire::checksum::{
    internet_checksum, ipv4_header_checksum, udp_ipv4_checksum, udp_ipv6_checksum, update_u16,
    Checksum,
};
use wgxdp_wire::{Ipv4Packet, Ipv6Packet, UdpDatagram};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// RFC 1071 section 3: 0001 f203 f4f5 f6f7 has the one's complement sum ddf2, so the checksum is 220d.
#[test]
fn rfc1071_numerical_example() {
    assert_eq!(internet_checksum(&hex("0001 f203 f4f5 f6f7")), 0x220d);
    let mut sum = Checksum::new();
    sum.add_bytes(&hex("0001 f2"));
    sum.add_bytes(&hex("03 f4f5 f6f7"));
    assert_eq!(sum.folded(), 0xddf2);
}

/// The IPv4 header used as the worked example in Wikipedia's "Internet checksum" / IPv4 header checksum
/// article (192.168.0.1 -> 192.168.0.199, UDP, TTL 64, total length 115): its checksum is b861. Checked by hand
/// for this test: the words sum to 0x2479c, folded 0x479e, complemented 0xb861 (and reproduced with a separate
/// 16-bit-word Python loop).
#[test]
fn ipv4_header_wikipedia_example() {
    let header = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
    assert_eq!(ipv4_header_checksum(&header), 0xb861);
    // The field is ignored when computing, and the whole header sums to zero when it is right.
    let mut zeroed = header.clone();
    zeroed[10..12].fill(0);
    assert_eq!(ipv4_header_checksum(&zeroed), 0xb861);
    assert_eq!(internet_checksum(&header), 0);
    let packet: Vec<u8> = header
        .iter()
        .copied()
        .chain(std::iter::repeat(0).take(95))
        .collect();
    let ip = Ipv4Packet::new(&packet).unwrap();
    assert!(ip.checksum_ok());
    assert_eq!(ip.checksum(), 0xb861);
    assert_eq!(
        (ip.src(), ip.dst()),
        (
            Ipv4Addr::new(192, 168, 0, 1),
            Ipv4Addr::new(192, 168, 0, 199)
        )
    );
    // RFC 1624: decrementing the TTL updates the checksum to what recomputation gives.
    let updated = update_u16(0xb861, 0x4011, 0x3f11);
    let mut decremented = header.clone();
    decremented[8] = 0x3f;
    assert_eq!(updated, ipv4_header_checksum(&decremented));
    assert_eq!(updated, 0xb961);
}

/// UDP over IPv6 from a Stack Overflow question ("UDP checksum calculation for IPv6 packet", 2015), whose
/// capture shows checksum 7ed5 and whose answer derives it step by step (pseudo-header sum 0x1cb4c, UDP sum
/// 0xb5dc, total 0x28128, folded 0x821a, complemented 0x7ed5); reproduced with a separate Python loop.
#[test]
fn udp_over_ipv6_vector() {
    let packet = hex("6000 0000 000c 11fd \
         2100 0000 0000 0001 abcd 0000 0000 0001 \
         fd00 0000 0000 0000 0000 0000 0000 0160 \
         2692 2692 000c 7ed5 1234 5678");
    let ip = Ipv6Packet::new(&packet).unwrap();
    let src: Ipv6Addr = "2100::1:abcd:0:0:1".parse().unwrap();
    let dst: Ipv6Addr = "fd00::160".parse().unwrap();
    assert_eq!((ip.src(), ip.dst()), (src, dst));
    let udp = UdpDatagram::new(ip.payload()).unwrap();
    assert_eq!(udp.checksum(), 0x7ed5);
    assert!(udp.checksum_ok_ipv6(&src, &dst));
    assert_eq!(udp_ipv6_checksum(&src, &dst, ip.payload()), 0x7ed5);
    let mut pseudo = Checksum::ipv6_pseudo_header(&src, &dst, 17, 12);
    assert_eq!(pseudo.folded(), 0xcb4d, "0x1cb4c folded");
    pseudo.add_bytes(&hex("2692 2692 000c 0000 1234 5678"));
    assert_eq!(pseudo.finish(), 0x7ed5);
}

/// UDP over IPv4: 192.0.2.1:51820 -> 198.51.100.7:40000, payload "wireguard" (odd length, so the padding rule is
/// exercised). Checksum 0x962b computed independently with a 16-bit-word Python loop over pseudo-header (c000
/// 0201 c633 6407 0011 0011), header (ca6c 9c40 0011 0000) and payload padded with one zero byte.
#[test]
fn udp_over_ipv4_vector() {
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let dst = Ipv4Addr::new(198, 51, 100, 7);
    let mut datagram = hex("ca6c 9c40 0011 0000");
    datagram.extend_from_slice(b"wireguard");
    assert_eq!(udp_ipv4_checksum(src, dst, &datagram), 0x962b);
    datagram[6..8].copy_from_slice(&0x962bu16.to_be_bytes());
    assert!(UdpDatagram::new(&datagram)
        .unwrap()
        .checksum_ok_ipv4(src, dst));
}

//! `parse_udp_frame`: what it accepts and the reason it gives for what it refuses.

mod common;

use common::*;
use wgxdp_wire::checksum::ipv4_header_checksum;
use wgxdp_wire::{parse_udp_frame, Ipv6Packet, WireError};

/// Rewrites the IPv4 header checksum of an untagged frame after a test changed a header field.
fn refresh_ipv4_checksum(frame: &mut [u8]) {
    let checksum = ipv4_header_checksum(&frame[14..34]);
    frame[24..26].copy_from_slice(&checksum.to_be_bytes());
}

#[test]
fn ipv4_fragments_are_refused() {
    let frame = ipv4_frame(&ipv4_spec(None), &payload(30));
    // MF set, offset 0 (first fragment); then MF clear, offset 8 bytes (last fragment).
    for flags_offset in [0x2000u16, 0x0001, 0x4001, 0x3fff] {
        let mut fragment = frame.clone();
        fragment[20..22].copy_from_slice(&flags_offset.to_be_bytes());
        refresh_ipv4_checksum(&mut fragment);
        assert_eq!(
            parse_udp_frame(&fragment),
            Err(WireError::Fragmented),
            "{flags_offset:#x}"
        );
    }
}

#[test]
fn ipv4_header_problems() {
    let frame = ipv4_frame(&ipv4_spec(None), &payload(30));
    let mut bad = frame.clone();
    bad[25] ^= 1;
    assert_eq!(parse_udp_frame(&bad), Err(WireError::BadIpv4Checksum));

    let mut tcp = frame.clone();
    tcp[23] = 6;
    refresh_ipv4_checksum(&mut tcp);
    assert_eq!(
        parse_udp_frame(&tcp),
        Err(WireError::NotUdp { protocol: 6 })
    );

    let mut short_ihl = frame.clone();
    short_ihl[14] = 0x44;
    assert_eq!(
        parse_udp_frame(&short_ihl),
        Err(WireError::BadHeaderLength { declared: 16 })
    );

    let mut long_total = frame.clone();
    long_total[16..18].copy_from_slice(&((frame.len() - 14 + 1) as u16).to_be_bytes());
    refresh_ipv4_checksum(&mut long_total);
    assert!(matches!(
        parse_udp_frame(&long_total),
        Err(WireError::BadTotalLength { .. })
    ));

    let mut total_below_header = frame.clone();
    total_below_header[16..18].copy_from_slice(&19u16.to_be_bytes());
    refresh_ipv4_checksum(&mut total_below_header);
    assert!(matches!(
        parse_udp_frame(&total_below_header),
        Err(WireError::BadTotalLength { .. })
    ));

    let mut version = frame.clone();
    version[14] = 0x65;
    assert_eq!(
        parse_udp_frame(&version),
        Err(WireError::BadVersion { found: 6 })
    );

    let mut udp_too_long = frame.clone();
    udp_too_long[38..40].copy_from_slice(&(8u16 + 31).to_be_bytes());
    assert!(matches!(
        parse_udp_frame(&udp_too_long),
        Err(WireError::BadUdpLength { declared: 39, .. })
    ));

    let mut udp_too_short = frame.clone();
    udp_too_short[38..40].copy_from_slice(&7u16.to_be_bytes());
    assert!(matches!(
        parse_udp_frame(&udp_too_short),
        Err(WireError::BadUdpLength { declared: 7, .. })
    ));
}

#[test]
fn trailing_link_padding_is_ignored() {
    // Minimum-size Ethernet frames are padded to 60 bytes; the IP total length says where the packet ends.
    let body = payload(2);
    let mut frame = ipv4_frame(&ipv4_spec(None), &body);
    frame.resize(60, 0);
    let parsed = parse_udp_frame(&frame).unwrap();
    assert_eq!(&frame[parsed.payload.clone()], &body[..]);
    assert!(parsed.udp_checksum_ok(&frame));
    // A shorter UDP length than the IP payload leaves the rest out of the UDP payload.
    let mut frame = ipv4_frame(&ipv4_spec(None), &payload(10));
    frame[38..40].copy_from_slice(&12u16.to_be_bytes());
    assert_eq!(parse_udp_frame(&frame).unwrap().payload, 42..46);
}

#[test]
fn unsupported_ethertypes_and_double_tags() {
    let mut frame = ipv4_frame(&ipv4_spec(None), &payload(10));
    frame[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(
        parse_udp_frame(&frame),
        Err(WireError::UnsupportedEtherType { ethertype: 0x0806 })
    );
    // Only one 802.1Q tag is recognised: a second one shows up as the inner EtherType.
    let mut double = ipv4_frame(&ipv4_spec(Some(10)), &payload(10));
    double[16..18].copy_from_slice(&0x8100u16.to_be_bytes());
    assert_eq!(
        parse_udp_frame(&double),
        Err(WireError::UnsupportedEtherType { ethertype: 0x8100 })
    );
}

/// Inserts an 8-byte extension header of kind `kind` between the IPv6 header and UDP of an untagged frame.
fn with_extension_header(frame: &[u8], kind: u8, header: [u8; 8]) -> Vec<u8> {
    let mut out = frame[..54].to_vec();
    out[20] = kind;
    let payload_len = u16::from_be_bytes([out[18], out[19]]) + 8;
    out[18..20].copy_from_slice(&payload_len.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&frame[54..]);
    out
}

#[test]
fn ipv6_extension_headers_and_fragments() {
    let body = payload(20);
    let frame = ipv6_frame(&ipv6_spec(None), &body);

    // Destination options (PadN filling the 6 option bytes) are skipped: still a UDP datagram.
    let dest_opts = with_extension_header(&frame, 60, [17, 0, 1, 4, 0, 0, 0, 0]);
    let parsed = parse_udp_frame(&dest_opts).unwrap();
    assert_eq!(parsed.payload, 62 + 8..62 + 8 + 20);
    assert_eq!(&dest_opts[parsed.payload.clone()], &body[..]);
    assert!(parsed.udp_checksum_ok(&dest_opts));

    // A real fragment header (M set) is refused.
    let fragment = with_extension_header(&frame, 44, [17, 0, 0, 1, 0, 0, 0, 9]);
    assert!(Ipv6Packet::new(&fragment[14..])
        .unwrap()
        .fragment_header_follows());
    assert_eq!(parse_udp_frame(&fragment), Err(WireError::Fragmented));
    // Nonzero offset, M clear: the last fragment, refused.
    let last = with_extension_header(&frame, 44, [17, 0, 0, 8, 0, 0, 0, 9]);
    assert_eq!(parse_udp_frame(&last), Err(WireError::Fragmented));
    // An atomic fragment (offset 0, M clear) is a whole packet (RFC 6946).
    let atomic = with_extension_header(&frame, 44, [17, 0, 0, 0, 0, 0, 0, 9]);
    let upper = Ipv6Packet::new(&atomic[14..])
        .unwrap()
        .upper_layer()
        .unwrap();
    assert!(
        upper
            .fragment
            .is_some_and(|f| f.is_atomic() && f.identification == 9)
            && !upper.is_fragment()
    );
    assert_eq!(
        &atomic[parse_udp_frame(&atomic).unwrap().payload],
        &body[..]
    );

    // A hop-by-hop header claiming more bytes than the packet has is malformed.
    let truncated = with_extension_header(&frame, 0, [17, 200, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        parse_udp_frame(&truncated),
        Err(WireError::BadExtensionHeader)
    );

    let mut icmp = frame.clone();
    icmp[20] = 58;
    assert_eq!(
        parse_udp_frame(&icmp),
        Err(WireError::NotUdp { protocol: 58 })
    );
}

#[test]
fn zero_udp_checksum_over_ipv6_is_refused() {
    let mut frame = ipv6_frame(&ipv6_spec(None), &payload(20));
    frame[60..62].fill(0);
    assert_eq!(
        parse_udp_frame(&frame),
        Err(WireError::ZeroUdpChecksumOverIpv6)
    );
    let mut wrong = ipv6_frame(&ipv6_spec(None), &payload(20));
    wrong[70] ^= 0x40;
    assert!(!parse_udp_frame(&wrong).unwrap().udp_checksum_ok(&wrong));
}

#[test]
fn errors_display_something_useful() {
    let errors = [
        WireError::TooShort {
            needed: 20,
            available: 3,
        },
        WireError::Fragmented,
        WireError::UnsupportedEtherType { ethertype: 0x0806 },
        WireError::NonZeroReserved,
    ];
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(texts[0], "buffer too short: need 20 bytes, have 3");
    assert_eq!(texts[2], "unsupported EtherType 0x0806");
    let boxed: Box<dyn std::error::Error> = Box::new(WireError::Fragmented);
    assert_eq!(boxed.to_string(), "IP packet is a fragment");
}

//! Every proper prefix of every valid structure is rejected with an error (and nothing panics).

mod common;

use common::*;
use wgxdp_wire::{
    inner_packet, parse_udp_frame, CookieReply, CookieReplyMut, EthernetFrame, HandshakeInitiation,
    HandshakeInitiationMut, HandshakeResponse, HandshakeResponseMut, Ipv4Packet, Ipv4PacketMut,
    Ipv6Packet, Ipv6PacketMut, TransportData, TransportDataMut, UdpDatagram, UdpDatagramMut,
    WgMessage, WireError,
};

#[test]
fn frames_ip_packets_and_datagrams() {
    let body = payload(61);
    let frames = [
        (ipv4_frame(&ipv4_spec(None), &body), 14),
        (ipv4_frame(&ipv4_spec(Some(3)), &body), 18),
        (ipv6_frame(&ipv6_spec(None), &body), 14),
        (ipv6_frame(&ipv6_spec(Some(3)), &body), 18),
    ];
    for (frame, link_len) in &frames {
        let ip = &frame[*link_len..];
        let ip_header_len = if ip[0] >> 4 == 4 { 20 } else { 40 };
        let udp = &ip[ip_header_len..];
        for len in 0..frame.len() {
            let prefix = &frame[..len];
            assert!(parse_udp_frame(prefix).is_err(), "frame prefix {len}");
            assert_eq!(
                EthernetFrame::new(prefix).is_ok(),
                len >= *link_len,
                "ethernet prefix {len}"
            );
        }
        for len in 0..ip.len() {
            let mut prefix = ip[..len].to_vec();
            assert!(Ipv4Packet::new(&prefix).is_err(), "ip prefix {len}");
            assert!(Ipv6Packet::new(&prefix).is_err(), "ip prefix {len}");
            assert!(Ipv4PacketMut::new(&mut prefix).is_err(), "ip prefix {len}");
            assert!(Ipv6PacketMut::new(&mut prefix).is_err(), "ip prefix {len}");
            assert!(inner_packet(&prefix).is_err(), "inner prefix {len}");
        }
        for len in 0..udp.len() {
            let mut prefix = udp[..len].to_vec();
            assert!(UdpDatagram::new(&prefix).is_err(), "udp prefix {len}");
            assert!(
                UdpDatagramMut::new(&mut prefix).is_err(),
                "udp prefix {len}"
            );
        }
    }
}

#[test]
fn wireguard_messages() {
    let initiation = initiation();
    let response = response();
    let cookie = cookie_reply();
    let transport = transport(0);
    let messages: [&[u8]; 4] = [&initiation, &response, &cookie, &transport];
    for message in messages {
        for len in 0..message.len() {
            let mut prefix = message[..len].to_vec();
            assert!(
                WgMessage::parse(&prefix).is_err(),
                "prefix {len} of {}",
                message.len()
            );
            assert!(HandshakeInitiation::new(&prefix).is_err());
            assert!(HandshakeResponse::new(&prefix).is_err());
            assert!(CookieReply::new(&prefix).is_err());
            assert!(TransportData::new(&prefix).is_err());
            assert!(HandshakeInitiationMut::new(&mut prefix).is_err());
            assert!(HandshakeResponseMut::new(&mut prefix).is_err());
            assert!(CookieReplyMut::new(&mut prefix).is_err());
            assert!(TransportDataMut::new(&mut prefix).is_err());
            assert!(HandshakeInitiationMut::create(&mut prefix).is_err() || len == 148);
            assert!(TransportDataMut::create(&mut prefix).is_err() || len >= 32);
        }
    }
}

#[test]
fn fixed_size_messages_reject_extra_bytes_too() {
    for (message, expected) in [
        (initiation().to_vec(), 148),
        (response().to_vec(), 92),
        (cookie_reply().to_vec(), 64),
    ] {
        let mut longer = message.clone();
        longer.push(0);
        assert_eq!(
            WgMessage::parse(&longer).unwrap_err(),
            WireError::BadLength {
                expected,
                actual: expected + 1
            }
        );
        assert!(WgMessage::parse(&message).is_ok());
    }
}

#[test]
fn short_messages_report_useful_errors() {
    assert_eq!(
        WgMessage::parse(&[]).unwrap_err(),
        WireError::TooShort {
            needed: 4,
            available: 0
        }
    );
    let initiation = initiation();
    assert_eq!(
        HandshakeInitiation::new(&initiation[..147]).unwrap_err(),
        WireError::BadLength {
            expected: 148,
            actual: 147
        }
    );
    assert_eq!(
        TransportData::new(&transport(0)[..31]).unwrap_err(),
        WireError::TooShort {
            needed: 32,
            available: 31
        }
    );
}

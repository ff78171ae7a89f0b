//! Emit, then parse back: every view and emitter agrees with the others.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use common::*;
use wgxdp_wire::ethernet::{write_ethernet_header, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use wgxdp_wire::ipv4::write_ipv4_header;
use wgxdp_wire::ipv6::write_ipv6_header;
use wgxdp_wire::udp::write_udp_header;
use wgxdp_wire::{
    parse_udp_frame, CookieReply, CookieReplyMut, EthernetFrame, EthernetFrameMut,
    HandshakeInitiation, HandshakeInitiationMut, HandshakeResponse, HandshakeResponseMut,
    Ipv4Fields, Ipv4Packet, Ipv4PacketMut, Ipv6Fields, Ipv6Packet, Ipv6PacketMut, MacAddr,
    MessageType, TransportData, TransportDataMut, UdpChecksumMode, UdpDatagram, UdpDatagramMut,
    WgMessage,
};

#[test]
fn ipv4_udp_frame_roundtrip_with_and_without_vlan() {
    for vlan in [None, Some(0x2064)] {
        let spec = ipv4_spec(vlan);
        let body = payload(123);
        let frame = ipv4_frame(&spec, &body);

        let eth = EthernetFrame::new(&frame).unwrap();
        assert_eq!(
            (eth.src(), eth.dst(), eth.ethertype()),
            (SRC_MAC, DST_MAC, ETHERTYPE_IPV4)
        );
        assert_eq!(eth.vlan_tci(), vlan);
        assert_eq!(eth.vlan_id(), vlan.map(|tci| tci & 0xfff));
        assert_eq!(eth.header_len(), if vlan.is_some() { 18 } else { 14 });

        let ip = Ipv4Packet::new(eth.payload()).unwrap();
        assert_eq!(ip.version(), 4);
        assert_eq!(ip.header_len(), 20);
        assert_eq!(ip.total_len(), 20 + 8 + body.len());
        assert_eq!((ip.src(), ip.dst()), (*spec.src.ip(), *spec.dst.ip()));
        assert_eq!(
            (ip.ttl(), ip.tos(), ip.ecn(), ip.identification()),
            (64, 0x02, 0x02, 0x1234)
        );
        assert!(ip.dont_fragment() && !ip.more_fragments() && !ip.is_fragment());
        assert_eq!(ip.protocol(), 17);
        assert!(ip.checksum_ok());
        assert!(ip.options().is_empty());

        let udp = UdpDatagram::new(ip.payload()).unwrap();
        assert_eq!((udp.src_port(), udp.dst_port()), (51820, 40000));
        assert_eq!(udp.datagram_len(), 8 + body.len());
        assert_eq!(udp.payload(), &body[..]);
        assert!(udp.checksum_ok_ipv4(ip.src(), ip.dst()));
        assert!(!udp.checksum_ok_ipv4(ip.dst(), ip.src().to_bits().wrapping_add(1).into()));

        let parsed = parse_udp_frame(&frame).unwrap();
        assert_eq!(parsed.src, SocketAddr::V4(spec.src));
        assert_eq!(parsed.dst, SocketAddr::V4(spec.dst));
        assert_eq!(&frame[parsed.payload.clone()], &body[..]);
        assert_eq!(parsed.vlan_id, vlan.map(|tci| tci & 0xfff));
        assert_eq!(parsed.traffic_class, 0x02);
        assert!(parsed.udp_checksum_ok(&frame));
    }
}

#[test]
fn ipv6_udp_frame_roundtrip_with_and_without_vlan() {
    for vlan in [None, Some(7)] {
        let spec = ipv6_spec(vlan);
        let body = payload(77);
        let frame = ipv6_frame(&spec, &body);

        let eth = EthernetFrame::new(&frame).unwrap();
        assert_eq!(eth.ethertype(), ETHERTYPE_IPV6);
        let ip = Ipv6Packet::new(eth.payload()).unwrap();
        assert_eq!(ip.version(), 6);
        assert_eq!(
            (ip.traffic_class(), ip.ecn(), ip.flow_label()),
            (0xb8, 0, 0xabcde)
        );
        assert_eq!((ip.next_header(), ip.hop_limit()), (17, 64));
        assert_eq!(ip.payload_len(), 8 + body.len());
        assert_eq!(ip.total_len(), 40 + 8 + body.len());
        assert_eq!((ip.src(), ip.dst()), (*spec.src.ip(), *spec.dst.ip()));
        assert!(!ip.fragment_header_follows());
        let upper = ip.upper_layer().unwrap();
        assert_eq!((upper.protocol, upper.fragment), (17, None));

        let udp = UdpDatagram::new(ip.payload()).unwrap();
        assert_eq!(udp.payload(), &body[..]);
        assert!(udp.checksum_ok_ipv6(&ip.src(), &ip.dst()));
        assert!(!udp.checksum_ok_ipv6(&ip.dst(), &ip.dst()));

        let parsed = parse_udp_frame(&frame).unwrap();
        assert_eq!(parsed.src, SocketAddr::V6(spec.src));
        assert_eq!(parsed.dst, SocketAddr::V6(spec.dst));
        assert_eq!(&frame[parsed.payload.clone()], &body[..]);
        assert_eq!(parsed.traffic_class, 0xb8);
        assert!(parsed.udp_checksum_ok(&frame));
    }
}

#[test]
fn odd_and_empty_payloads_roundtrip() {
    for len in [0, 1, 2, 3, 15, 16, 17, 1399] {
        let body = payload(len);
        for frame in [
            ipv4_frame(&ipv4_spec(None), &body),
            ipv6_frame(&ipv6_spec(Some(1)), &body),
        ] {
            let parsed = parse_udp_frame(&frame).unwrap();
            assert_eq!(&frame[parsed.payload.clone()], &body[..], "len {len}");
            assert!(parsed.udp_checksum_ok(&frame), "len {len}");
        }
    }
}

#[test]
fn checksum_modes() {
    let body = payload(40);
    let mut spec = ipv4_spec(None);
    spec.udp_checksum = UdpChecksumMode::None;
    let frame = ipv4_frame(&spec, &body);
    let udp = UdpDatagram::new(&frame[34..]).unwrap();
    assert_eq!(udp.checksum(), 0);
    // Zero means "not computed" over IPv4 and passes.
    assert!(parse_udp_frame(&frame).unwrap().udp_checksum_ok(&frame));

    // Pseudo-header-only leaves what an offloading NIC completes: adding the datagram's own sum must give the
    // full checksum.
    spec.udp_checksum = UdpChecksumMode::PseudoHeaderOnly;
    let partial = ipv4_frame(&spec, &body);
    spec.udp_checksum = UdpChecksumMode::Full;
    let full = ipv4_frame(&spec, &body);
    let seed = u16::from_be_bytes([partial[40], partial[41]]);
    let mut sum = wgxdp_wire::checksum::Checksum::new();
    sum.add_u16(seed);
    sum.add_bytes(&partial[34..40]);
    sum.add_bytes(&partial[42..]);
    assert_eq!(sum.finish(), u16::from_be_bytes([full[40], full[41]]));

    let mut v6 = ipv6_spec(None);
    v6.udp_checksum = UdpChecksumMode::None;
    let mut buf = vec![0u8; 200];
    assert_eq!(
        v6.emit(&mut buf, 10),
        Err(wgxdp_wire::WireError::ChecksumRequired)
    );
}

#[test]
fn emit_refuses_small_buffers_and_huge_payloads_without_writing() {
    let spec = ipv4_spec(Some(5));
    let mut buf = vec![0xabu8; spec.header_len() + 9];
    assert!(matches!(
        spec.emit(&mut buf, 10),
        Err(wgxdp_wire::WireError::BufferTooSmall { .. })
    ));
    assert!(buf.iter().all(|&b| b == 0xab));
    assert!(matches!(
        spec.emit(&mut buf, 70_000),
        Err(wgxdp_wire::WireError::PayloadTooLarge { .. })
    ));
    let v6 = ipv6_spec(None);
    assert!(matches!(
        v6.emit(&mut buf, 65_528),
        Err(wgxdp_wire::WireError::PayloadTooLarge { .. })
    ));
    assert!(buf.iter().all(|&b| b == 0xab));
}

#[test]
fn ethernet_mut_roundtrip() {
    for vlan in [None, Some(100)] {
        let mut frame = vec![0u8; 64];
        let len = write_ethernet_header(&mut frame, DST_MAC, SRC_MAC, vlan, 0x88b5).unwrap();
        let mut eth = EthernetFrameMut::new(&mut frame).unwrap();
        eth.set_src(MacAddr([1, 2, 3, 4, 5, 6]));
        eth.set_dst(MacAddr([6, 5, 4, 3, 2, 1]));
        eth.set_ethertype(ETHERTYPE_IPV6);
        eth.payload_mut()[0] = 0x99;
        assert_eq!(eth.as_view().header_len(), len);
        let view = EthernetFrame::new(&frame).unwrap();
        assert_eq!(view.src().to_string(), "01:02:03:04:05:06");
        assert_eq!(view.dst(), MacAddr([6, 5, 4, 3, 2, 1]));
        assert_eq!(view.ethertype(), ETHERTYPE_IPV6);
        assert_eq!(view.vlan_tci(), vlan);
        assert_eq!(view.payload()[0], 0x99);
        assert_eq!(view.payload().len(), 64 - len);
    }
}

#[test]
fn ipv4_with_options_roundtrip_and_mut() {
    // IHL 6: one 4-byte option word (NOP NOP NOP EOL), then 5 payload bytes, then 3 bytes of link padding.
    let mut packet = vec![0u8; 24 + 5 + 3];
    let fields = Ipv4Fields {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
        protocol: 6,
        ttl: 9,
        tos: 0,
        identification: 1,
        dont_fragment: false,
    };
    write_ipv4_header(&mut packet, &fields, 5).unwrap();
    // Turn the written header into an IHL 6 one by hand: shift nothing, just say so and fix the total length.
    packet[0] = 0x46;
    packet[2..4].copy_from_slice(&(24u16 + 5).to_be_bytes());
    packet[20..24].copy_from_slice(&[1, 1, 1, 0]);
    packet[24..29].copy_from_slice(b"hello");
    {
        let mut ip = Ipv4PacketMut::new(&mut packet).unwrap();
        assert!(!ip.as_view().checksum_ok());
        ip.set_ttl(8);
        ip.set_tos(0xb9);
        ip.set_identification(0xbeef);
        ip.set_protocol(17);
        ip.set_src(Ipv4Addr::new(172, 16, 0, 1));
        ip.set_dst(Ipv4Addr::new(172, 16, 0, 2));
        ip.options_mut()[3] = 0;
        ip.payload_mut()[0] = b'j';
        ip.fill_checksum();
        assert!(ip.as_view().checksum_ok());
    }
    let ip = Ipv4Packet::new(&packet).unwrap();
    assert_eq!(ip.header_len(), 24);
    assert_eq!(ip.options(), &[1, 1, 1, 0]);
    assert_eq!(ip.payload(), b"jello");
    assert_eq!(
        (
            ip.ttl(),
            ip.tos(),
            ip.ecn(),
            ip.identification(),
            ip.protocol()
        ),
        (8, 0xb9, 1, 0xbeef, 17)
    );
    assert_eq!(
        (ip.src(), ip.dst()),
        (Ipv4Addr::new(172, 16, 0, 1), Ipv4Addr::new(172, 16, 0, 2))
    );
    assert!(ip.checksum_ok());
    // The header checksum over the whole header (options included) is 0 when valid.
    assert_eq!(wgxdp_wire::checksum::internet_checksum(&packet[..24]), 0);
    let mut copy = packet.clone();
    Ipv4PacketMut::new(&mut copy)
        .unwrap()
        .set_checksum(ip.checksum() ^ 1);
    assert!(!Ipv4Packet::new(&copy).unwrap().checksum_ok());
}

#[test]
fn ipv6_mut_roundtrip() {
    let mut packet = vec![0u8; 40 + 8 + 4];
    let fields = Ipv6Fields {
        src: Ipv6Addr::LOCALHOST,
        dst: Ipv6Addr::UNSPECIFIED,
        next_header: 59,
        hop_limit: 1,
        traffic_class: 0,
        flow_label: 0xfffff,
    };
    write_ipv6_header(&mut packet, &fields, 8).unwrap();
    {
        let mut ip = Ipv6PacketMut::new(&mut packet).unwrap();
        ip.set_traffic_class(0x03);
        ip.set_flow_label(0x12345);
        ip.set_hop_limit(255);
        ip.set_next_header(17);
        ip.set_src(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        ip.set_dst(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
        ip.payload_mut().fill(0x5a);
        assert_eq!(ip.as_view().flow_label(), 0x12345);
    }
    let ip = Ipv6Packet::new(&packet).unwrap();
    assert_eq!(
        (ip.version(), ip.traffic_class(), ip.ecn(), ip.flow_label()),
        (6, 0x03, 3, 0x12345)
    );
    assert_eq!(
        (ip.hop_limit(), ip.next_header(), ip.payload_len()),
        (255, 17, 8)
    );
    assert_eq!(ip.src(), Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    assert_eq!(ip.dst(), Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
    // The 4 trailing bytes are outside the declared payload.
    assert_eq!(ip.payload(), &[0x5a; 8]);
}

#[test]
fn udp_mut_roundtrip() {
    let src = Ipv4Addr::new(1, 2, 3, 4);
    let dst = Ipv4Addr::new(5, 6, 7, 8);
    let mut datagram = vec![0u8; 8 + 5];
    write_udp_header(&mut datagram, 1, 2, 5).unwrap();
    {
        let mut udp = UdpDatagramMut::new(&mut datagram).unwrap();
        udp.set_src_port(1000);
        udp.set_dst_port(2000);
        udp.payload_mut().copy_from_slice(b"abcde");
        udp.fill_checksum_ipv4(src, dst);
        assert!(udp.as_view().checksum_ok_ipv4(src, dst));
    }
    assert_eq!(
        wgxdp_wire::checksum::udp_ipv4_checksum(src, dst, &datagram),
        {
            let udp = UdpDatagram::new(&datagram).unwrap();
            udp.checksum()
        }
    );
    let udp = UdpDatagram::new(&datagram).unwrap();
    assert_eq!(
        (udp.src_port(), udp.dst_port(), udp.payload()),
        (1000, 2000, &b"abcde"[..])
    );

    let (s6, d6) = (Ipv6Addr::LOCALHOST, Ipv6Addr::new(1, 2, 3, 4, 5, 6, 7, 8));
    let mut udp = UdpDatagramMut::new(&mut datagram).unwrap();
    udp.fill_checksum_ipv6(&s6, &d6);
    assert!(udp.as_view().checksum_ok_ipv6(&s6, &d6));
    assert_eq!(
        wgxdp_wire::checksum::udp_ipv6_checksum(&s6, &d6, &datagram),
        { UdpDatagram::new(&datagram).unwrap().checksum() }
    );
}

#[test]
fn handshake_initiation_roundtrip() {
    let msg = initiation();
    let view = HandshakeInitiation::new(&msg).unwrap();
    assert_eq!(view.sender_index(), 0x0102_0304);
    assert_eq!(&msg[4..8], &[4, 3, 2, 1], "indices are little-endian");
    assert_eq!(view.ephemeral(), &[0x11; 32]);
    assert_eq!(view.encrypted_static(), &[0x22; 48]);
    assert_eq!(view.encrypted_timestamp(), &[0x33; 28]);
    assert_eq!(view.mac1(), &[0x44; 16]);
    assert_eq!(view.mac2(), &[0x55; 16]);
    assert_eq!(view.mac1_input(), &msg[..116]);
    assert_eq!(view.mac2_input(), &msg[..132]);
    assert_eq!(view.as_bytes(), &msg);
    assert!(matches!(
        WgMessage::parse(&msg),
        Ok(WgMessage::Initiation(_))
    ));

    let mut copy = msg;
    let mut edit = HandshakeInitiationMut::new(&mut copy).unwrap();
    edit.set_mac2(&[0; 16]);
    assert_eq!(edit.as_view().mac2(), &[0; 16]);
    assert_eq!(edit.into_bytes()[..132], msg[..132]);
}

#[test]
fn handshake_response_roundtrip() {
    let msg = response();
    let view = HandshakeResponse::new(&msg).unwrap();
    assert_eq!(
        (view.sender_index(), view.receiver_index()),
        (7, 0x0102_0304)
    );
    assert_eq!(view.ephemeral(), &[0x66; 32]);
    assert_eq!(view.encrypted_empty(), &[0x77; 16]);
    assert_eq!(view.mac1(), &[0x88; 16]);
    assert_eq!(view.mac2(), &[0x99; 16]);
    assert_eq!(view.mac1_input(), &msg[..60]);
    assert_eq!(view.mac2_input(), &msg[..76]);
    assert_eq!(view.as_bytes(), &msg);
    let mut copy = msg;
    let edit = HandshakeResponseMut::new(&mut copy).unwrap();
    assert_eq!(edit.as_view().receiver_index(), 0x0102_0304);
    assert_eq!(
        WgMessage::parse(&msg).unwrap().message_type(),
        MessageType::Response
    );
}

#[test]
fn cookie_reply_roundtrip() {
    let msg = cookie_reply();
    let view = CookieReply::new(&msg).unwrap();
    assert_eq!(view.receiver_index(), 0xdead_beef);
    assert_eq!(view.nonce(), &[0xaa; 24]);
    assert_eq!(view.encrypted_cookie(), &[0xbb; 32]);
    let mut copy = msg;
    let mut edit = CookieReplyMut::new(&mut copy).unwrap();
    edit.set_receiver_index(5);
    assert_eq!(edit.as_view().receiver_index(), 5);
    assert_eq!(
        WgMessage::parse(&msg).unwrap().message_type(),
        MessageType::CookieReply
    );
    let mut fresh = vec![0xffu8; 64];
    CookieReplyMut::create(&mut fresh).unwrap();
    assert_eq!(&fresh[..4], &[3, 0, 0, 0]);
}

#[test]
fn transport_roundtrip() {
    for ciphertext_len in [0, 1, 16, 1420] {
        let mut msg = transport(ciphertext_len);
        let view = TransportData::new(&msg).unwrap();
        assert_eq!(view.receiver_index(), 0x0a0b_0c0d);
        assert_eq!(view.counter(), 0x0102_0304_0506_0708);
        assert_eq!(view.ciphertext().len(), ciphertext_len);
        assert_eq!(view.tag(), &[0xcc; 16]);
        assert_eq!(view.as_bytes(), &msg[..]);
        let mut edit = TransportDataMut::new(&mut msg).unwrap();
        edit.set_counter(u64::MAX);
        edit.set_receiver_index(1);
        edit.body_mut().fill(0x01);
        let view = TransportData::new(&msg).unwrap();
        assert_eq!((view.counter(), view.receiver_index()), (u64::MAX, 1));
        assert_eq!(view.tag(), &[0x01; 16]);
        assert_eq!(
            WgMessage::parse(&msg).unwrap().message_type(),
            MessageType::Transport
        );
    }
    let mut fresh = vec![0xffu8; 40];
    let mut created = TransportDataMut::create(&mut fresh).unwrap();
    created.set_receiver_index(2);
    created.set_counter(3);
    let view = TransportData::new(&fresh).unwrap();
    assert_eq!(
        (
            view.receiver_index(),
            view.counter(),
            view.ciphertext().len()
        ),
        (2, 3, 8)
    );
}

#[test]
fn inner_packet_reports_declared_length() {
    // An IPv4 packet followed by WireGuard's zero padding.
    let mut packet = vec![0u8; 20 + 3 + 13];
    let fields = Ipv4Fields {
        src: Ipv4Addr::new(10, 9, 0, 1),
        dst: Ipv4Addr::new(10, 9, 0, 2),
        protocol: 1,
        ttl: 64,
        tos: 0,
        identification: 0,
        dont_fragment: true,
    };
    write_ipv4_header(&mut packet, &fields, 3).unwrap();
    let inner = wgxdp_wire::inner_packet(&packet).unwrap();
    assert_eq!(inner.version, wgxdp_wire::IpVersion::V4);
    assert_eq!(
        (inner.src, inner.dst, inner.len),
        (IpAddr::V4(fields.src), IpAddr::V4(fields.dst), 23)
    );

    let mut packet = vec![0u8; 40 + 10 + 6];
    let fields6 = Ipv6Fields {
        src: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        dst: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        next_header: 58,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    write_ipv6_header(&mut packet, &fields6, 10).unwrap();
    let inner = wgxdp_wire::inner_packet(&packet).unwrap();
    assert_eq!(inner.version, wgxdp_wire::IpVersion::V6);
    assert_eq!(
        (inner.src, inner.dst, inner.len),
        (IpAddr::V6(fields6.src), IpAddr::V6(fields6.dst), 50)
    );
    assert_eq!(
        wgxdp_wire::inner_packet(&[0x55; 40]),
        Err(wgxdp_wire::WireError::BadVersion { found: 5 })
    );
    assert!(wgxdp_wire::inner_packet(&[]).is_err());
}

//! Random and mutated inputs through every constructor and parser: nothing panics, and whatever is accepted
//! satisfies the invariants the accessors rely on.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_wire::ipv6_ext;
use wgxdp_wire::{
    inner_packet, parse_udp_frame, CookieReply, CookieReplyMut, EthernetFrame, EthernetFrameMut,
    HandshakeInitiation, HandshakeInitiationMut, HandshakeResponse, HandshakeResponseMut,
    Ipv4Packet, Ipv4PacketMut, Ipv6Packet, Ipv6PacketMut, TransportData, TransportDataMut,
    UdpDatagram, UdpDatagramMut, WgMessage,
};

/// Feeds `bytes` to everything and checks what comes back; returns whether a frame or a message was accepted, so
/// the tests can show the inputs reach past the first checks.
fn exercise(bytes: &[u8]) -> (bool, bool) {
    let frame_ok = parse_udp_frame(bytes).is_ok();
    let message_ok = WgMessage::parse(bytes).is_ok();
    if let Ok(frame) = parse_udp_frame(bytes) {
        assert!(frame.payload.start <= frame.payload.end && frame.payload.end <= bytes.len());
        let _ = frame.udp_checksum_ok(bytes);
    }
    if let Ok(eth) = EthernetFrame::new(bytes) {
        assert_eq!(eth.header_len() + eth.payload().len(), bytes.len());
        let _ = (eth.src(), eth.dst(), eth.ethertype(), eth.vlan_id());
    }
    if let Ok(ip) = Ipv4Packet::new(bytes) {
        assert_eq!(ip.header_len() + ip.payload().len(), ip.total_len());
        assert!(ip.total_len() <= bytes.len() && ip.header_len() >= 20);
        let _ = (
            ip.src(),
            ip.dst(),
            ip.is_fragment(),
            ip.checksum_ok(),
            ip.options(),
            ip.ecn(),
        );
    }
    if let Ok(ip) = Ipv6Packet::new(bytes) {
        assert_eq!(40 + ip.payload().len(), ip.total_len());
        assert!(ip.total_len() <= bytes.len());
        if let Ok(upper) = ip.upper_layer() {
            assert!(upper.payload.len() <= ip.payload().len());
        }
        let _ = (
            ip.src(),
            ip.dst(),
            ip.flow_label(),
            ip.traffic_class(),
            ip.fragment_header_follows(),
        );
    }
    if let Ok(upper) = ipv6_ext::upper_layer(bytes.first().copied().unwrap_or(0), bytes) {
        assert!(upper.payload.len() <= bytes.len());
    }
    if let Ok(udp) = UdpDatagram::new(bytes) {
        assert_eq!(8 + udp.payload().len(), udp.datagram_len());
        assert!(udp.datagram_len() <= bytes.len());
    }
    if let Ok(inner) = inner_packet(bytes) {
        assert!(inner.len <= bytes.len());
    }
    if let Ok(message) = WgMessage::parse(bytes) {
        match message {
            WgMessage::Initiation(m) => assert_eq!(m.as_bytes().len(), 148),
            WgMessage::Response(m) => assert_eq!(m.as_bytes().len(), 92),
            WgMessage::CookieReply(m) => assert_eq!(m.as_bytes().len(), 64),
            WgMessage::Transport(m) => assert_eq!(16 + m.ciphertext().len() + 16, bytes.len()),
        }
    }
    // The per-kind views agree with the dispatcher about what is acceptable.
    let kinds = [
        HandshakeInitiation::new(bytes).is_ok(),
        HandshakeResponse::new(bytes).is_ok(),
        CookieReply::new(bytes).is_ok(),
        TransportData::new(bytes).is_ok(),
    ];
    assert_eq!(
        kinds.iter().filter(|&&ok| ok).count(),
        usize::from(WgMessage::parse(bytes).is_ok())
    );

    let mut copy = bytes.to_vec();
    let _ = EthernetFrameMut::new(&mut copy).map(|mut f| f.set_src(SRC_MAC));
    let _ = Ipv4PacketMut::new(&mut copy).map(|mut p| p.fill_checksum());
    let _ = Ipv6PacketMut::new(&mut copy).map(|mut p| p.set_flow_label(u32::MAX));
    let _ = UdpDatagramMut::new(&mut copy)
        .map(|mut u| u.fill_checksum_ipv4([1, 2, 3, 4].into(), [5, 6, 7, 8].into()));
    let _ = HandshakeInitiationMut::new(&mut copy).map(|mut m| m.set_mac2(&[0; 16]));
    let _ = HandshakeResponseMut::new(&mut copy).map(|mut m| m.set_mac2(&[0; 16]));
    let _ = CookieReplyMut::new(&mut copy).map(|mut m| m.set_receiver_index(0));
    let _ = TransportDataMut::new(&mut copy).map(|mut m| m.set_counter(0));
    (frame_ok, message_ok)
}

#[test]
fn random_bytes() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut messages = 0;
    for _ in 0..100_000 {
        let len = rng.gen_range(0..200);
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes[..]);
        // Bias the leading bytes towards values the parsers branch on, so the random inputs get past the first check.
        if len > 0 && rng.gen_bool(0.5) {
            bytes[0] = [0x45, 0x46, 0x4f, 0x60, 1, 2, 3, 4][rng.gen_range(0..8)];
        }
        if len > 3 && rng.gen_bool(0.5) {
            bytes[1..4].fill(0);
        }
        messages += usize::from(exercise(&bytes).1);
    }
    // Transport messages of random length and content are accepted often enough to exercise that view.
    assert!(
        messages > 1_000,
        "only {messages} random inputs parsed as messages"
    );
}

#[test]
fn mutated_valid_inputs() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let body = payload(48);
    let seeds: Vec<Vec<u8>> = vec![
        ipv4_frame(&ipv4_spec(None), &body),
        ipv4_frame(&ipv4_spec(Some(9)), &body),
        ipv6_frame(&ipv6_spec(None), &body),
        ipv6_frame(&ipv6_spec(Some(9)), &body),
        initiation().to_vec(),
        response().to_vec(),
        cookie_reply().to_vec(),
        transport(32),
    ];
    let (mut frames, mut messages) = (0, 0);
    for _ in 0..60_000 {
        let mut bytes = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] = rng.gen();
        }
        if rng.gen_bool(0.3) {
            bytes.truncate(rng.gen_range(0..=bytes.len()));
        }
        let (frame_ok, message_ok) = exercise(&bytes);
        frames += usize::from(frame_ok);
        messages += usize::from(message_ok);
        // Frames also go in without their link header, to reach the IP and UDP views directly.
        if bytes.len() > 14 {
            exercise(&bytes[14..]);
        }
    }
    // Mutations that miss the checked fields leave valid inputs, so both parsers must accept a good share.
    assert!(
        frames > 5_000 && messages > 5_000,
        "accepted {frames} frames and {messages} messages"
    );
}

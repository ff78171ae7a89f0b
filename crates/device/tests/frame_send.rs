//! `Device::send_into_frame`: the AF_XDP transmit path seals a TUN packet into a frame behind room for the outer
//! headers, sized by the peer's endpoint; the message it produces is what the peer accepts.

mod common;

use std::net::SocketAddr;

use common::{ipv4, Datagram, Net};
use wgxdp_device::{DropReason, FramedOutbound, Outbound};

/// The header room the XDP worker asks for: Ethernet + IPv4/IPv6 + UDP.
fn header_len(endpoint: &SocketAddr) -> usize {
    if endpoint.is_ipv4() {
        42
    } else {
        62
    }
}

fn established() -> Net {
    let mut net = Net::pair();
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 10)),
        Outbound::Staged
    );
    net.run();
    assert_eq!(net.nodes[1].tun.len(), 1);
    net
}

#[test]
fn seals_behind_the_header_room_and_the_peer_opens_it() {
    let mut net = established();
    let packet = ipv4("10.0.0.1", "10.0.0.2", 1000);
    let mut frame = vec![0xAAu8; 2048];
    let now = net.now;
    let verdict = net.nodes[0]
        .dev
        .send_into_frame(&packet, &mut frame, now, header_len);
    let FramedOutbound::Send {
        endpoint,
        start,
        len,
    } = verdict
    else {
        panic!("not sent: {verdict:?}");
    };
    assert_eq!(endpoint, net.nodes[1].addr);
    assert_eq!(start, 42, "IPv4 endpoint: Ethernet + IPv4 + UDP");
    assert!(
        frame[..start].iter().all(|b| *b == 0xAA),
        "header room untouched"
    );
    assert_eq!(
        len,
        16 + packet.len().next_multiple_of(16) + 16,
        "header, padded payload, tag"
    );
    let from = net.nodes[0].addr;
    net.wire.push_back(Datagram {
        from,
        to: endpoint,
        payload: frame[start..start + len].to_vec(),
    });
    net.run();
    assert_eq!(net.nodes[1].tun.last(), Some(&packet));
    assert_eq!(net.nodes[0].dev.counters().tx_packets, 2);
}

#[test]
fn a_frame_too_small_drops_without_using_a_counter() {
    let mut net = established();
    let packet = ipv4("10.0.0.1", "10.0.0.2", 1400);
    let mut frame = vec![0u8; 1400];
    let now = net.now;
    let verdict = net.nodes[0]
        .dev
        .send_into_frame(&packet, &mut frame, now, header_len);
    assert_eq!(verdict, FramedOutbound::Dropped(DropReason::SealFailed));
    assert_eq!(
        net.nodes[0].dev.counters().dropped(DropReason::SealFailed),
        1
    );
    // The next packet still arrives: no sending counter was burnt on the failed one.
    let small = ipv4("10.0.0.1", "10.0.0.2", 20);
    assert!(matches!(net.ping(0, &small), Outbound::Send { .. }));
    assert_eq!(net.nodes[1].tun.last(), Some(&small));
}

#[test]
fn without_a_session_the_packet_is_staged_and_unrouted_ones_dropped() {
    let net = Net::pair();
    let mut frame = vec![0u8; 2048];
    let dev = &net.nodes[0].dev;
    let staged = dev.send_into_frame(
        &ipv4("10.0.0.1", "10.0.0.2", 50),
        &mut frame,
        net.now,
        header_len,
    );
    assert_eq!(staged, FramedOutbound::Staged);
    assert!(dev.take_handshake_wanted());
    let unrouted = dev.send_into_frame(
        &ipv4("10.0.0.1", "10.9.9.9", 50),
        &mut frame,
        net.now,
        header_len,
    );
    assert_eq!(unrouted, FramedOutbound::Dropped(DropReason::NoRoute));
    let garbage = dev.send_into_frame(&[0x45, 1, 2], &mut frame, net.now, header_len);
    assert_eq!(
        garbage,
        FramedOutbound::Dropped(DropReason::InvalidInnerPacket)
    );
}

//! `Device::rx_batch`: a batch must leave the device exactly where the same messages received one by one
//! would, with the timers, endpoints and shared counters told once at the end.

mod common;

use std::net::SocketAddr;

use common::{ipv4, Datagram, Net};
use wgxdp_device::{Device, DropReason, Inbound, MessageKind, Outbound};

/// Delivers the handshake that `node` starts to reach `peer`, holding back every transport message; returns them.
fn handshake_holding_data(net: &mut Net, node: usize, packet: &[u8]) -> Vec<Datagram> {
    assert_eq!(net.send_tun(node, packet), Outbound::Staged);
    let mut held = Vec::new();
    for _ in 0..10 {
        net.tick();
        while let Some(d) = net.wire.pop_front() {
            if Device::classify(&d.payload) == MessageKind::Transport {
                held.push(d);
            } else {
                net.deliver(d);
            }
        }
        if !held.is_empty() {
            return held;
        }
    }
    panic!("no transport message after the handshake");
}

/// Seals `count` packets from `node` and takes them off the wire.
fn sealed(net: &mut Net, node: usize, src: &str, dst: &str, count: usize) -> Vec<Datagram> {
    (0..count)
        .map(|i| {
            let verdict = net.send_tun(node, &ipv4(src, dst, 10 + i));
            assert!(matches!(verdict, Outbound::Send { .. }), "{verdict:?}");
            net.wire.pop_back().expect("sealed message on the wire")
        })
        .collect()
}

/// Receives `datagrams` at `node` as one batch.
fn receive_batch(net: &mut Net, node: usize, datagrams: &mut [Datagram]) -> Vec<Inbound> {
    let mut batch = net.nodes[node].dev.rx_batch(net.now);
    let verdicts = datagrams
        .iter_mut()
        .map(|d| batch.receive(d.from, &mut d.payload))
        .collect();
    batch.finish();
    verdicts
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn key_confirmation_inside_a_batch_then_the_rest_of_it() {
    let mut net = Net::pair();
    let mut held = handshake_holding_data(&mut net, 0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    held.extend(sealed(&mut net, 0, "10.0.0.1", "10.0.0.2", 5));
    let before = net.nodes[1].dev.counters();
    let peer_before = net.peer_state(1, 0).rx_bytes;
    let verdicts = receive_batch(&mut net, 1, &mut held);
    assert!(
        verdicts.iter().all(|v| matches!(v, Inbound::Tun(_))),
        "{verdicts:?}"
    );
    let after = net.nodes[1].dev.counters();
    // The responder confirmed its keypair with the first message of the batch.
    assert_eq!(after.handshakes_completed, before.handshakes_completed + 1);
    assert_eq!(after.rx_packets, before.rx_packets + 6);
    let bytes: usize = held.iter().map(|d| d.payload.len()).sum();
    assert_eq!(after.rx_bytes, before.rx_bytes + bytes as u64);
    assert_eq!(net.peer_state(1, 0).rx_bytes, peer_before + bytes as u64);
    // And the session works both ways afterwards.
    let reply = ipv4("10.0.0.2", "10.0.0.1", 10);
    net.ping(1, &reply);
    assert_eq!(net.nodes[0].tun.last(), Some(&reply));
}

#[test]
fn endpoint_ends_at_the_last_authenticated_source_of_the_batch() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let mut msgs = sealed(&mut net, 0, "10.0.0.1", "10.0.0.2", 4);
    let sources = [
        addr("198.51.100.1:1"),
        addr("198.51.100.2:2"),
        addr("198.51.100.3:3"),
        addr("198.51.100.4:4"),
    ];
    for (d, src) in msgs.iter_mut().zip(sources) {
        d.from = src;
    }
    // The last message is forged: it proves nothing about where the peer is.
    if let Some(byte) = msgs[3].payload.last_mut() {
        *byte ^= 1;
    }
    let verdicts = receive_batch(&mut net, 1, &mut msgs);
    assert_eq!(verdicts[3], Inbound::Dropped(DropReason::Decrypt));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(sources[2]));
}

#[test]
fn forged_only_batch_neither_roams_nor_counts_as_received() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let before = net.nodes[1].dev.counters();
    let mut msgs = sealed(&mut net, 0, "10.0.0.1", "10.0.0.2", 3);
    for d in &mut msgs {
        d.from = addr("203.0.113.66:666");
        if let Some(byte) = d.payload.get_mut(20) {
            *byte ^= 0x80;
        }
    }
    let verdicts = receive_batch(&mut net, 1, &mut msgs);
    assert!(verdicts
        .iter()
        .all(|v| *v == Inbound::Dropped(DropReason::Decrypt)));
    let after = net.nodes[1].dev.counters();
    assert_eq!(after.rx_packets, before.rx_packets);
    assert_eq!(
        after.dropped(DropReason::Decrypt),
        before.dropped(DropReason::Decrypt) + 3
    );
    assert_eq!(net.peer_state(1, 0).endpoint, Some(net.nodes[0].addr));
}

#[test]
fn replay_and_acl_are_checked_per_message_and_counted_at_the_end() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let mut msgs = sealed(&mut net, 0, "10.0.0.1", "10.0.0.2", 2);
    // 10.9.9.9 is not node 0's address on node 1: dropped by the ACL, after decryption.
    msgs.extend(sealed(&mut net, 0, "10.9.9.9", "10.0.0.2", 1));
    let replayed = msgs[0].clone();
    msgs.push(replayed);
    let before = net.nodes[1].dev.counters();
    let mut batch = net.nodes[1].dev.rx_batch(net.now);
    let verdicts: Vec<Inbound> = msgs
        .iter_mut()
        .map(|d| batch.receive(d.from, &mut d.payload))
        .collect();
    // Nothing reaches the shared counters before the batch ends.
    assert_eq!(net.nodes[1].dev.counters(), before);
    batch.finish();
    assert!(matches!(verdicts[0], Inbound::Tun(_)));
    assert!(matches!(verdicts[1], Inbound::Tun(_)));
    assert_eq!(verdicts[2], Inbound::Dropped(DropReason::Acl));
    assert_eq!(verdicts[3], Inbound::Dropped(DropReason::Replay));
    let after = net.nodes[1].dev.counters();
    assert_eq!(after.rx_packets, before.rx_packets + 3);
    assert_eq!(
        after.dropped(DropReason::Acl),
        before.dropped(DropReason::Acl) + 1
    );
    assert_eq!(
        after.dropped(DropReason::Replay),
        before.dropped(DropReason::Replay) + 1
    );
}

#[test]
fn a_batch_from_more_peers_than_report_slots_reports_every_peer() {
    const PEERS: usize = 11;
    let mut net = Net::new(PEERS + 1);
    let inner = |i: usize| format!("10.0.0.{}", i + 1);
    let allowed: Vec<String> = (0..=PEERS).map(|i| format!("{}/32", inner(i))).collect();
    let hub_peers: Vec<(usize, Vec<&str>)> = (1..=PEERS)
        .map(|i| (i, vec![allowed[i].as_str()]))
        .collect();
    let hub_peers: Vec<(usize, &[&str])> =
        hub_peers.iter().map(|(i, a)| (*i, a.as_slice())).collect();
    net.configure(0, &hub_peers);
    for i in 1..=PEERS {
        net.configure(i, &[(0, &[allowed[0].as_str()])]);
        net.ping(i, &ipv4(&inner(i), &inner(0), 10));
    }
    // Two rounds of interleaved messages from every spoke, each from a new source port.
    let mut msgs = Vec::new();
    for round in 0..2 {
        for i in 1..=PEERS {
            let mut d = sealed(&mut net, i, &inner(i), &inner(0), 1).remove(0);
            d.from = SocketAddr::new(d.from.ip(), 40_000 + (round * 100 + i) as u16);
            msgs.push(d);
        }
    }
    let verdicts = receive_batch(&mut net, 0, &mut msgs);
    assert!(
        verdicts.iter().all(|v| matches!(v, Inbound::Tun(_))),
        "{verdicts:?}"
    );
    for i in 1..=PEERS {
        let state = net.peer_state(0, i);
        let expected = SocketAddr::new(net.nodes[i].addr.ip(), 40_000 + (100 + i) as u16);
        assert_eq!(state.endpoint, Some(expected), "peer {i}");
    }
}

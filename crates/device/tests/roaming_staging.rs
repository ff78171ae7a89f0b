//! Roaming (the endpoint follows the last authenticated packet) and the bounded staging queue.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{ipv4, Net};
use wgxdp_device::{DeviceConfig, DropReason, Inbound, Outbound};

#[test]
fn endpoint_follows_authenticated_packets_even_when_the_acl_drops_them() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(net.nodes[0].addr));

    // Node 0 moves to a new underlay address.
    let moved: SocketAddr = "198.51.100.7:4444".parse().unwrap();
    net.nodes[0].addr = moved;
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(moved));
    assert_eq!(
        net.nodes[1].dev.peer_endpoint(&net.nodes[0].public),
        Some(moved)
    );
    // Replies go to the new address and arrive.
    let reply = ipv4("10.0.0.2", "10.0.0.1", 10);
    match net.ping(1, &reply) {
        Outbound::Send { endpoint, .. } => assert_eq!(endpoint, moved),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.nodes[0].tun.last(), Some(&reply));

    // Moving again, to an IPv6 underlay address.
    let again: SocketAddr = "[2001:db8::9]:5555".parse().unwrap();
    net.nodes[0].addr = again;
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let d = net.wire.pop_front().unwrap();
    assert_eq!(d.from, again);
    assert!(matches!(net.deliver(d), Some(Inbound::Tun(_))));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(again));
}

#[test]
fn acl_drop_still_roams() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let moved: SocketAddr = "198.51.100.8:4444".parse().unwrap();
    net.nodes[0].addr = moved;
    // 10.7.7.7 is not node 0's address on node 1.
    net.send_tun(0, &ipv4("10.7.7.7", "10.0.0.2", 10));
    let d = net.wire.pop_front().unwrap();
    assert_eq!(net.deliver(d), Some(Inbound::Dropped(DropReason::Acl)));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(moved));
}

#[test]
fn forged_packets_do_not_roam() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    let mut d = net.wire.pop_front().unwrap();
    let last = d.payload.len() - 1;
    d.payload[last] ^= 1;
    d.from = "203.0.113.66:666".parse().unwrap();
    assert_eq!(net.deliver(d), Some(Inbound::Dropped(DropReason::Decrypt)));
    assert_eq!(net.peer_state(1, 0).endpoint, Some(net.nodes[0].addr));
}

#[test]
fn staging_is_bounded_oldest_dropped_and_counted() {
    let config = DeviceConfig {
        max_staged_per_peer: 4,
        ..DeviceConfig::default()
    };
    let mut net = Net::with_config(2, config);
    net.configure(0, &[(1, &["10.0.0.2/32"])]);
    net.configure(1, &[(0, &["10.0.0.1/32"])]);
    let packets: Vec<Vec<u8>> = (0..7).map(|i| ipv4("10.0.0.1", "10.0.0.2", i)).collect();
    for p in &packets {
        assert_eq!(net.send_tun(0, p), Outbound::Staged);
    }
    let c = net.nodes[0].dev.counters();
    assert_eq!(c.dropped(DropReason::StagedOverflow), 3);
    assert_eq!(c.peers[0].staged, 4);
    net.run();
    // The newest four arrive, in order.
    assert_eq!(net.nodes[1].tun, packets[3..].to_vec());
    assert_eq!(net.nodes[0].dev.counters().peers[0].staged, 0);
}

#[test]
fn unanswered_handshake_is_retried_then_given_up_dropping_staged_packets() {
    let mut net = Net::pair();
    // Node 1 is unreachable.
    net.nodes[1].addr = "203.0.113.1:1".parse().unwrap();
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 2));
    net.advance(Duration::from_secs(120), Duration::from_millis(500));
    let c = net.nodes[0].dev.counters();
    // One initiation every REKEY_TIMEOUT (5 s, plus jitter) for REKEY_ATTEMPT_TIME (90 s).
    assert!((17..=20).contains(&c.initiations_sent), "{c:?}");
    assert_eq!(c.dropped(DropReason::HandshakeTimeout), 2);
    assert_eq!(c.peers[0].staged, 0);
    // The last initiation's index is still registered until keys are zeroed, never more than one.
    assert!(net.nodes[0].dev.receiver_index_count() <= 1);
}

#[test]
fn packets_for_a_peer_without_endpoint_are_counted() {
    let mut net = Net::new(2);
    net.set(
        0,
        &format!(
            "private_key={}\npublic_key={}\nallowed_ip=10.0.0.2/32\n",
            common::hex(&net.nodes[0].private),
            common::hex(net.nodes[1].public.as_bytes())
        ),
    );
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Staged
    );
    net.run();
    assert!(net.nodes[0].dev.counters().dropped(DropReason::NoEndpoint) >= 1);
    assert!(net.wire.is_empty() && net.lost.is_empty());
}

#[test]
fn without_private_key_packets_are_dropped_as_no_session() {
    let mut net = Net::new(2);
    net.set(
        0,
        &format!(
            "public_key={}\nallowed_ip=10.0.0.2/32\n",
            common::hex(net.nodes[1].public.as_bytes())
        ),
    );
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Dropped(DropReason::NoSession)
    );
}

#[test]
fn replies_leave_from_the_local_address_the_peer_sent_to_until_reconfigured() {
    use wgxdp_device::LocalAddr;
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    // A message from node 0 that arrived at node 1's second address, on interface 7.
    let local = LocalAddr {
        ip: "192.0.2.200".parse().unwrap(),
        ifindex: 7,
    };
    let (verdict, sealed) =
        common::send_one(&net.nodes[0].dev, &ipv4("10.0.0.1", "10.0.0.2", 5), net.now);
    assert!(matches!(verdict, Outbound::Send { .. }));
    let (_, mut msg) = sealed.unwrap();
    let from = net.nodes[0].addr;
    let mut batch = net.nodes[1].dev.rx_batch(net.now);
    assert!(matches!(
        batch.receive_from(from, Some(local), &mut msg),
        Inbound::Tun(_)
    ));
    batch.finish();
    // Node 1's next message to node 0 leaves from that address.
    let mut room = common::VecRoom::default();
    let mut tx = net.nodes[1].dev.tx_batch(net.now);
    assert!(matches!(
        tx.send(&ipv4("10.0.0.2", "10.0.0.1", 5), &mut room),
        Outbound::Send { .. }
    ));
    tx.finish();
    assert_eq!(room.to.unwrap().local, Some(local));
    assert_eq!(room.to.unwrap().addr, from);
    // A configured endpoint starts again from the routing choice.
    let key = common::hex(net.nodes[0].public.as_bytes());
    net.set(1, &format!("public_key={key}\nendpoint=192.0.2.1:51820\n"));
    let mut room = common::VecRoom::default();
    let mut tx = net.nodes[1].dev.tx_batch(net.now);
    assert!(matches!(
        tx.send(&ipv4("10.0.0.2", "10.0.0.1", 5), &mut room),
        Outbound::Send { .. }
    ));
    tx.finish();
    assert_eq!(room.to.unwrap().local, None);
}

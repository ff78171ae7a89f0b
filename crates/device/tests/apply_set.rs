//! `apply_set`: live reconfiguration and its all-or-nothing guarantee.

mod common;

use common::{hex, ipv4, Net};
use wgxdp_device::{ApplyErrorKind, DropReason, Inbound, Outbound, ENOSPC};

fn key(net: &Net, node: usize) -> String {
    hex(net.nodes[node].public.as_bytes())
}

#[test]
fn a_failing_request_changes_nothing() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let dev = &net.nodes[0].dev;
    let before = dev.get_state(net.now, net.wall());
    let explain_before = dev.explain_all();
    let indices_before = dev.receiver_index_count();
    dev.advance_next_peer_id_for_tests(u32::MAX - 1);

    // Private key, port, an edit of the existing peer, and two new peers: the second one has no id left.
    let body = format!(
        "private_key={}\nlisten_port=9999\nfwmark=7\npublic_key={}\nendpoint=203.0.113.9:1\nallowed_ip=10.9.0.0/16\npublic_key={}\nallowed_ip=10.0.0.0/8\npublic_key={}\nallowed_ip=10.8.0.0/16\n",
        hex(&[9; 32]),
        key(&net, 1),
        hex(common::public_key(50).as_bytes()),
        hex(common::public_key(51).as_bytes()),
    );
    let err = net.try_set(0, &body).unwrap_err();
    assert_eq!(err.errno(), ENOSPC);
    assert_eq!(err.kind(), &ApplyErrorKind::PeerIdsExhausted);
    assert!(!err.to_string().is_empty());

    let dev = &net.nodes[0].dev;
    assert_eq!(dev.get_state(net.now, net.wall()), before);
    assert_eq!(dev.explain_all(), explain_before);
    assert_eq!(dev.receiver_index_count(), indices_before);
    assert_eq!(dev.listen_port(), 51820);
    assert_eq!(dev.fwmark(), 0);
    // The session is untouched.
    assert!(matches!(
        net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Send { .. }
    ));
    assert_eq!(net.nodes[1].tun.len(), 2);
}

#[test]
fn removing_a_peer_retires_its_indices() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let peer0 = net.nodes[0].public;
    assert!(!net.nodes[1].dev.receiver_indices_of(&peer0).is_empty());
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let late = net.wire.pop_front().unwrap();

    net.set(1, &format!("public_key={}\nremove=true\n", key(&net, 0)));
    assert_eq!(net.nodes[1].dev.receiver_index_count(), 0);
    assert!(net.nodes[1]
        .dev
        .get_state(net.now, net.wall())
        .peers
        .is_empty());
    assert_eq!(
        net.deliver(late),
        Some(Inbound::Dropped(DropReason::UnknownIndex))
    );
    assert_eq!(
        net.send_tun(1, &ipv4("10.0.0.2", "10.0.0.1", 1)),
        Outbound::Dropped(DropReason::NoRoute)
    );
    assert!(net.nodes[1].dev.explain_all().is_empty());
}

#[test]
fn adding_a_peer_and_changing_allowed_ips_take_effect_live() {
    let mut net = Net::new(3);
    net.configure(0, &[(1, &["10.0.0.2/32"])]);
    net.configure(1, &[(0, &["10.0.0.1/32"])]);
    net.configure(2, &[(0, &["10.0.0.0/24"])]);
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    assert_eq!(net.nodes[1].tun.len(), 1);

    // Add node 2 and give it 10.0.0.2/32 (moving it away from node 1), without a restart.
    net.set(
        0,
        &format!(
            "public_key={}\nendpoint={}\nallowed_ip=10.0.0.2/32\n",
            key(&net, 2),
            net.nodes[2].addr
        ),
    );
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 2));
    assert_eq!(net.nodes[1].tun.len(), 1);
    assert_eq!(net.nodes[2].tun.len(), 1);
    let s = net.peer_state(0, 1);
    assert!(s.allowed_ips.is_empty(), "{s:?}");

    // replace_allowed_ips on node 2, then a removal that does not belong to the peer is ignored.
    net.set(
        0,
        &format!(
            "public_key={}\nreplace_allowed_ips=true\nallowed_ip=10.0.0.3/32\n",
            key(&net, 2)
        ),
    );
    net.set(
        0,
        &format!("public_key={}\nallowed_ip=-10.0.0.3/32\n", key(&net, 1)),
    );
    let s = net.peer_state(0, 2);
    assert_eq!(s.allowed_ips.len(), 1);
    assert_eq!(s.allowed_ips[0].to_string(), "10.0.0.3/32");
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 3)),
        Outbound::Dropped(DropReason::NoRoute)
    );
}

#[test]
fn own_key_is_ignored_and_update_only_never_creates() {
    let mut net = Net::pair();
    let own = key(&net, 0);
    let out = net.set(0, &format!("public_key={own}\nallowed_ip=10.5.0.0/16\n"));
    assert!(out.warnings.is_empty());
    let stranger = hex(common::public_key(77).as_bytes());
    net.set(
        0,
        &format!("public_key={stranger}\nupdate_only=true\nallowed_ip=10.6.0.0/16\n"),
    );
    let state = net.nodes[0].dev.get_state(net.now, net.wall());
    assert_eq!(state.peers.len(), 1);
    assert_eq!(state.peers[0].allowed_ips.len(), 2);
}

#[test]
fn replace_peers_starts_over_and_reports_port_and_mark_changes() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let out = net.set(
        0,
        &format!(
            "listen_port=51821\nfwmark=42\nreplace_peers=true\npublic_key={}\nendpoint={}\nallowed_ip=10.0.0.2/32\n",
            key(&net, 1),
            net.nodes[1].addr
        ),
    );
    assert_eq!(out.listen_port, Some(51821));
    assert_eq!(out.fwmark, Some(42));
    assert_eq!(net.nodes[0].dev.listen_port(), 51821);
    // The same port again is no change.
    let out = net.set(0, "listen_port=51821\n");
    assert_eq!(out.listen_port, None);
    // wg setconf semantics: the peer was re-created, so its session is gone and a new handshake runs.
    let state = net.peer_state(0, 1);
    assert_eq!(state.tx_bytes, 0);
    assert_eq!(state.last_handshake, None);
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Staged
    );
    // Node 1 still holds the old session and refuses an initiation with the same (coarse) timestamp as the
    // last one; the retry 5 s later carries a newer one.
    net.advance(
        std::time::Duration::from_secs(6),
        std::time::Duration::from_secs(1),
    );
    assert_eq!(net.nodes[1].tun.len(), 2);
}

#[test]
fn private_key_change_voids_sessions_but_keeps_peer_configuration() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let new_private = [99u8; 32];
    net.set(0, &format!("private_key={}\n", hex(&new_private)));
    assert_eq!(net.nodes[0].dev.receiver_index_count(), 0);
    let state = net.peer_state(0, 1);
    assert_eq!(state.endpoint, Some(net.nodes[1].addr));
    assert_eq!(state.allowed_ips.len(), 2);
    // Node 1 learns node 0's new key (same allowed IPs); then traffic flows again.
    let old = key(&net, 0);
    net.nodes[0].private = new_private;
    net.nodes[0].public = common::public_key(99);
    net.set(
        1,
        &format!(
            "public_key={old}\nremove=true\npublic_key={}\nendpoint={}\nallowed_ip=10.0.0.1/32\n",
            key(&net, 0),
            net.nodes[0].addr
        ),
    );
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Staged
    );
    net.run();
    assert_eq!(net.nodes[1].tun.len(), 2);
    // Setting the same key again changes nothing.
    net.set(0, &format!("private_key={}\n", hex(&new_private)));
    assert!(net.nodes[0].dev.receiver_index_count() > 0);
    // A peer whose key equals our new public key is dropped.
    let mut net = Net::pair();
    net.set(
        0,
        &format!("private_key={}\n", hex(&net.nodes[1].private.clone())),
    );
    assert!(net.nodes[0]
        .dev
        .get_state(net.now, net.wall())
        .peers
        .is_empty());
}

#[test]
fn preshared_keys_must_match() {
    let mut net = Net::pair();
    let psk = hex(&[5; 32]);
    net.set(
        0,
        &format!("public_key={}\npreshared_key={psk}\n", key(&net, 1)),
    );
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    assert!(net.nodes[1].tun.is_empty());
    assert!(
        net.nodes[0]
            .dev
            .counters()
            .dropped(DropReason::HandshakeFailed)
            >= 1
    );
    net.set(
        1,
        &format!("public_key={}\npreshared_key={psk}\n", key(&net, 0)),
    );
    net.advance(
        std::time::Duration::from_secs(6),
        std::time::Duration::from_secs(1),
    );
    assert_eq!(net.nodes[1].tun.len(), 1);
    let state = net.peer_state(0, 1);
    assert_eq!(state.preshared_key.map(|k| hex(k.as_bytes())), Some(psk));
}

#[test]
fn clearing_the_private_key_stops_sessions() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.set(0, &format!("private_key={}\n", hex(&[0; 32])));
    let state = net.nodes[0].dev.get_state(net.now, net.wall());
    assert!(state.private_key.is_none());
    assert_eq!(state.peers.len(), 1);
    assert_eq!(net.nodes[0].dev.receiver_index_count(), 0);
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1)),
        Outbound::Dropped(DropReason::NoSession)
    );
    // Node 1's old session is unknown to node 0 now.
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 1));
    assert_eq!(
        net.nodes[0]
            .dev
            .counters()
            .dropped(DropReason::UnknownIndex),
        1
    );
    // Hearing nothing back, node 1 initiates again; a device without a key drops initiations.
    net.advance(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_secs(1),
    );
    assert!(net.nodes[1].dev.counters().initiations_sent >= 1);
    assert!(net.nodes[0].dev.counters().dropped(DropReason::NoSession) >= 2);
}

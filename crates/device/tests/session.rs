//! Two devices wired in memory: a TUN packet starts the handshake, data flows both ways over inner IPv4 and
//! IPv6, and `get_state` reports the handshake, the endpoint and the byte counters.

mod common;

use std::time::Duration;

use common::{ipv4, ipv6, Net};
use wgxdp_device::{DropReason, Inbound, Outbound};

#[test]
fn tun_packet_starts_handshake_and_data_flows_both_ways() {
    let mut net = Net::pair();
    let first = ipv4("10.0.0.1", "10.0.0.2", 100);
    assert_eq!(net.send_tun(0, &first), Outbound::Staged);
    assert!(net.nodes[0].dev.take_handshake_wanted());
    net.run();
    // The staged packet was flushed after the response and arrived, padding trimmed.
    assert_eq!(net.nodes[1].tun, vec![first.clone()]);

    // Now both directions go straight out.
    let back = ipv4("10.0.0.2", "10.0.0.1", 33);
    assert!(matches!(net.ping(1, &back), Outbound::Send { .. }));
    assert_eq!(net.nodes[0].tun, vec![back.clone()]);
    let v6 = ipv6("fd00::1", "fd00::2", 1000);
    assert!(matches!(net.ping(0, &v6), Outbound::Send { .. }));
    assert_eq!(net.nodes[1].tun.last(), Some(&v6));
    let v6_back = ipv6("fd00::2", "fd00::1", 7);
    assert!(matches!(net.ping(1, &v6_back), Outbound::Send { .. }));
    assert_eq!(net.nodes[0].tun.last(), Some(&v6_back));

    let c0 = net.nodes[0].dev.counters();
    let c1 = net.nodes[1].dev.counters();
    assert_eq!(c0.initiations_sent, 1);
    assert_eq!(c1.responses_sent, 1);
    assert_eq!(c0.handshakes_completed, 1);
    assert_eq!(c1.handshakes_completed, 1);
    assert_eq!(c0.total_dropped(), 0, "{c0:?}");
    assert_eq!(c1.total_dropped(), 0, "{c1:?}");
}

#[test]
fn get_state_reports_handshake_endpoint_and_bytes() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 100));
    let handshake_at = net.wall();
    net.now += Duration::from_secs(3);
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 10));

    let a = net.peer_state(0, 1);
    let b = net.peer_state(1, 0);
    assert_eq!(a.endpoint, Some(net.nodes[1].addr));
    assert_eq!(b.endpoint, Some(net.nodes[0].addr));
    assert_eq!(a.last_handshake, Some(handshake_at));
    assert_eq!(b.last_handshake, Some(handshake_at));
    // Node 0 sent: initiation 148 + data (16 + 128 padded + 16). Node 1 received the same.
    assert_eq!(a.tx_bytes, 148 + 160);
    assert_eq!(b.rx_bytes, a.tx_bytes);
    // Node 1 sent: response 92 + data (16 + 32 + 16) = 156; node 0 received those too.
    assert_eq!(b.tx_bytes, 92 + 64);
    assert_eq!(a.rx_bytes, b.tx_bytes);
    assert_eq!(a.allowed_ips.len(), 2);

    let state = net.nodes[0].dev.get_state(net.now, net.wall());
    assert_eq!(state.listen_port, 51820);
    net.nodes[0].dev.set_bound_port(40000);
    assert_eq!(
        net.nodes[0].dev.get_state(net.now, net.wall()).listen_port,
        40000
    );
    let mut text = String::new();
    wgxdp_uapi::write_get_response(&state, &mut text);
    assert!(
        text.contains("last_handshake_time_sec=1700001000"),
        "{text}"
    );
}

#[test]
fn responder_waits_for_confirmation_then_sends_directly() {
    let mut net = Net::pair();
    // Deliver only the initiation and the response, not node 0's keepalive.
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.tick();
    let init = net.wire.pop_front().unwrap();
    net.deliver(init);
    let response = net.wire.pop_front().unwrap();
    // The responder has no confirmed session yet: its packets are staged.
    assert_eq!(
        net.send_tun(1, &ipv4("10.0.0.2", "10.0.0.1", 1)),
        Outbound::Staged
    );
    net.deliver(response);
    net.run();
    // Node 0's staged packet confirmed the session; node 1's staged packet followed.
    assert_eq!(net.nodes[1].tun.len(), 1);
    assert_eq!(net.nodes[0].tun.len(), 1);
    assert!(matches!(
        net.send_tun(1, &ipv4("10.0.0.2", "10.0.0.1", 1)),
        Outbound::Send { .. }
    ));
}

#[test]
fn replayed_transport_is_dropped_and_counted() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 5));
    let d = net.wire.pop_front().unwrap();
    let copy = d.clone();
    assert!(matches!(net.deliver(d), Some(Inbound::Tun(_))));
    assert_eq!(
        net.deliver(copy),
        Some(Inbound::Dropped(DropReason::Replay))
    );
    assert_eq!(net.nodes[1].dev.counters().dropped(DropReason::Replay), 1);
}

#[test]
fn no_route_and_invalid_packets_from_tun_are_counted() {
    let mut net = Net::pair();
    assert_eq!(
        net.send_tun(0, &ipv4("10.0.0.1", "10.9.9.9", 1)),
        Outbound::Dropped(DropReason::NoRoute)
    );
    assert_eq!(
        net.send_tun(0, &[0x45, 0, 0]),
        Outbound::Dropped(DropReason::InvalidInnerPacket)
    );
    let c = net.nodes[0].dev.counters();
    assert_eq!(c.dropped(DropReason::NoRoute), 1);
    assert_eq!(c.dropped(DropReason::InvalidInnerPacket), 1);
}

#[test]
fn keepalive_answers_data_and_persistent_keepalive_runs() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    let before = net.nodes[1].dev.counters().keepalives_sent;
    // Node 1 received data and sends nothing: a keepalive after KEEPALIVE_TIMEOUT (10 s).
    net.advance(Duration::from_secs(11), Duration::from_secs(1));
    assert_eq!(net.nodes[1].dev.counters().keepalives_sent, before + 1);

    // Persistent keepalive: one at once, then every interval while idle.
    let key = common::hex(net.nodes[1].public.as_bytes());
    net.set(
        0,
        &format!("public_key={key}\npersistent_keepalive_interval=25\n"),
    );
    net.run();
    let sent = net.nodes[0].dev.counters().keepalives_sent;
    assert!(sent >= 1);
    net.advance(Duration::from_secs(26), Duration::from_secs(1));
    assert!(net.nodes[0].dev.counters().keepalives_sent > sent);
    assert_eq!(net.peer_state(0, 1).persistent_keepalive_interval, 25);
}

#[test]
fn persistent_keepalive_without_session_initiates() {
    let mut net = Net::pair();
    let key = common::hex(net.nodes[1].public.as_bytes());
    net.set(
        0,
        &format!("public_key={key}\npersistent_keepalive_interval=25\n"),
    );
    assert!(net.nodes[0].dev.take_handshake_wanted());
    net.run();
    assert_eq!(net.nodes[0].dev.counters().handshakes_completed, 1);
    assert_eq!(net.nodes[1].dev.counters().handshakes_completed, 1);
}

#[test]
fn sessions_rekey_and_keep_working_for_a_long_time() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    // Ten minutes of traffic every 5 s in both directions: rekeys happen, nothing is dropped.
    for i in 0..120 {
        net.now += Duration::from_secs(5);
        let from = i % 2;
        let (src, dst) = if from == 0 {
            ("10.0.0.1", "10.0.0.2")
        } else {
            ("10.0.0.2", "10.0.0.1")
        };
        net.send_tun(from, &ipv4(src, dst, 20));
        net.run();
    }
    assert_eq!(net.nodes[0].tun.len() + net.nodes[1].tun.len(), 121);
    let c0 = net.nodes[0].dev.counters();
    let c1 = net.nodes[1].dev.counters();
    assert!(
        c0.handshakes_completed + c1.handshakes_completed >= 4,
        "{c0:?} {c1:?}"
    );
    assert_eq!(c0.total_dropped() + c1.total_dropped(), 0, "{c0:?} {c1:?}");
    // Old keypairs are retired: at most previous, current, next and a handshake in flight per side.
    assert!(net.nodes[0].dev.receiver_index_count() <= 4);
    assert!(net.nodes[1].dev.receiver_index_count() <= 4);
}

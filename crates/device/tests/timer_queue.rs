//! Timers cost the peers that are due: idle peers put nothing in the timer queue, a peer with timers has one
//! entry, and a deadline that moved later (a persistent keepalive turned off) is re-examined when its old entry
//! comes due instead of firing.

mod common;

use std::time::Duration;

use common::{hex, ipv4, Net};
use wgxdp_device::Outbox;

/// Node 0 talks to node 1 and also has `extra` idle peers with endpoints.
fn busy_gateway(extra: u8) -> Net {
    let mut net = Net::pair();
    let mut body = String::new();
    for seed in 0..extra {
        let key = common::public_key(100 + seed);
        body += &format!(
            "public_key={}\nendpoint=192.0.2.200:{}\nallowed_ip=10.9.{seed}.0/24\n",
            hex(key.as_bytes()),
            1000 + u16::from(seed)
        );
    }
    net.set(0, &body);
    net
}

#[test]
fn idle_peers_cost_no_timer_work() {
    let mut net = busy_gateway(100);
    let dev = &net.nodes[0].dev;
    assert_eq!(dev.peer_count(), 101);
    // Configured, never talked to: nothing is pending for any of them.
    assert_eq!(dev.next_deadline(), None);
    assert_eq!(dev.timer_queue_len(), 0);

    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 10));
    // Only the peer with a session has an entry (never more than one per peer).
    assert_eq!(net.nodes[0].dev.timer_queue_len(), 1);
    assert!(net.nodes[0].dev.next_deadline().is_some());
}

#[test]
fn a_deadline_moved_later_is_re_examined_not_fired() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 10));
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 10));
    // A persistent keepalive on node 0: one at once, the next one due 25 s later.
    let key = hex(net.nodes[1].public.as_bytes());
    net.set(
        0,
        &format!("public_key={key}\npersistent_keepalive_interval=25\n"),
    );
    net.run();
    let start = net.now;
    let due = net.nodes[0].dev.next_deadline().expect("keepalive pending");
    assert_eq!(due, start + Duration::from_secs(25));
    // Turned off again: the real deadline moves later (key erasure, minutes away); the entry stays.
    net.set(
        0,
        &format!("public_key={key}\npersistent_keepalive_interval=0\n"),
    );
    assert_eq!(
        net.nodes[0].dev.next_deadline(),
        Some(due),
        "old entry kept"
    );
    assert_eq!(net.nodes[0].dev.timer_queue_len(), 1);
    let sent = net.nodes[0].dev.counters().keepalives_sent;

    // At the old deadline the tick finds nothing due for the peer and schedules it at its real deadline.
    net.now = due;
    let mut out = Outbox::new();
    let wall = net.wall();
    net.nodes[0].dev.tick(net.now, wall, &mut net.rng, &mut out);
    assert!(out.is_empty());
    assert_eq!(net.nodes[0].dev.counters().keepalives_sent, sent);
    let next = net.nodes[0].dev.next_deadline().expect("still a session");
    assert!(
        next > net.now + Duration::from_secs(60),
        "rescheduled later: {next:?} vs {:?}",
        net.now
    );
    assert_eq!(net.nodes[0].dev.timer_queue_len(), 1);
}

#[test]
fn a_responder_with_many_peers_sends_what_it_staged() {
    // Node 1 (the responder, with many other peers) stages a packet while its new session waits for key
    // confirmation; the confirming data from node 0 must release it through a flush.
    let mut net = busy_gateway(0);
    let mut body = String::new();
    for seed in 0..50u8 {
        let key = common::public_key(100 + seed);
        body += &format!(
            "public_key={}
allowed_ip=10.9.{seed}.0/24
",
            hex(key.as_bytes())
        );
    }
    net.set(1, &body);
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 30));
    net.tick();
    let initiation = net.wire.pop_front().expect("initiation");
    net.deliver(initiation);
    // Node 1 answered; before the confirmation arrives it has no session to send on: the packet is staged.
    let staged = net.send_tun(1, &ipv4("10.0.0.2", "10.0.0.1", 40));
    assert_eq!(staged, wgxdp_device::Outbound::Staged);
    net.run();
    assert_eq!(net.nodes[1].tun.len(), 1);
    assert_eq!(net.nodes[0].tun.len(), 1, "the staged packet was flushed");
}

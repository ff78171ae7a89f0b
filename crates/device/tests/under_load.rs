//! Under load: cookie replies instead of handshakes until the initiator proves its address (mac2), and the
//! per-source-IP ratelimit (burst 5, 20 per second) on handshake messages.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{ipv4, Net};
use wgxdp_device::{Destination, DropReason, Inbound};

#[test]
fn cookie_dance_then_handshake_completes() {
    let mut net = Net::pair();
    net.nodes[1].under_load = true;
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.run();
    // The initiation was answered with a cookie reply, which node 0 accepted; no session yet.
    assert_eq!(net.nodes[1].dev.counters().cookie_replies_sent, 1);
    assert_eq!(net.nodes[1].dev.counters().responses_sent, 0);
    assert_eq!(net.nodes[0].dev.counters().cookie_replies_received, 1);
    assert!(net.nodes[1].tun.is_empty());

    // The retry (REKEY_TIMEOUT later) carries mac2 and is processed despite the load.
    net.advance(Duration::from_secs(6), Duration::from_millis(500));
    let c1 = net.nodes[1].dev.counters();
    assert_eq!(c1.cookie_replies_sent, 1);
    assert_eq!(c1.responses_sent, 1);
    assert_eq!(net.nodes[1].tun.len(), 1);
    assert_eq!(c1.total_dropped(), 0, "{c1:?}");
}

/// One initiation from node 0 to node 1 that carries a valid mac2 for node 0's address.
fn initiation_with_cookie(net: &mut Net) -> Vec<u8> {
    net.nodes[1].under_load = true;
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.tick();
    let first = net.wire.pop_front().unwrap();
    assert_eq!(net.deliver(first), Some(Inbound::Consumed));
    let reply = net.wire.pop_front().unwrap();
    assert_eq!(reply.payload.len(), 64);
    assert_eq!(net.deliver(reply), Some(Inbound::Consumed));
    net.now += Duration::from_secs(6);
    net.tick();
    net.wire.pop_front().unwrap().payload
}

#[test]
fn ratelimit_allows_a_burst_of_five_then_refills_at_twenty_per_second() {
    let mut net = Net::pair();
    let init = initiation_with_cookie(&mut net);
    let from = net.nodes[0].addr;
    let mut verdicts = Vec::new();
    for _ in 0..8 {
        net.inject(from, 1, init.clone());
        let d = net.wire.pop_back().unwrap();
        verdicts.push(net.deliver(d).unwrap());
    }
    // The first is answered; the next four pass the limiter but are replays of an accepted timestamp.
    assert_eq!(verdicts[0], Inbound::Consumed);
    for v in &verdicts[1..5] {
        assert_eq!(*v, Inbound::Dropped(DropReason::HandshakeFailed));
    }
    for v in &verdicts[5..] {
        assert_eq!(*v, Inbound::Dropped(DropReason::RateLimited));
    }
    assert_eq!(
        net.nodes[1].dev.counters().dropped(DropReason::RateLimited),
        3
    );

    // 50 ms buys one more message.
    net.wire.clear();
    net.now += Duration::from_millis(50);
    net.inject(from, 1, init.clone());
    net.inject(from, 1, init.clone());
    let a = net.wire.pop_front().unwrap();
    let b = net.wire.pop_front().unwrap();
    assert_eq!(
        net.deliver(a),
        Some(Inbound::Dropped(DropReason::HandshakeFailed))
    );
    assert_eq!(
        net.deliver(b),
        Some(Inbound::Dropped(DropReason::RateLimited))
    );
}

#[test]
fn ratelimit_is_per_source_and_only_under_load() {
    let mut net = Net::pair();
    let init = initiation_with_cookie(&mut net);
    let from = net.nodes[0].addr;
    for _ in 0..6 {
        net.inject(from, 1, init.clone());
    }
    net.wire
        .drain(..)
        .collect::<Vec<_>>()
        .into_iter()
        .for_each(|d| {
            net.deliver(d);
        });
    assert_eq!(
        net.nodes[1].dev.counters().dropped(DropReason::RateLimited),
        1
    );
    // Another address is not limited by node 0's bucket; it has no cookie, so it gets a cookie reply.
    let other: SocketAddr = "198.51.100.1:1".parse().unwrap();
    net.inject(other, 1, init.clone());
    let d = net.wire.pop_back().unwrap();
    assert_eq!(net.deliver(d), Some(Inbound::Consumed));
    assert_eq!(net.nodes[1].dev.counters().cookie_replies_sent, 2);

    // Not under load: no limit at all (replays fail the handshake instead).
    net.nodes[1].under_load = false;
    for _ in 0..10 {
        net.inject(from, 1, init.clone());
        let d = net.wire.pop_back().unwrap();
        assert_eq!(
            net.deliver(d),
            Some(Inbound::Dropped(DropReason::HandshakeFailed))
        );
    }
    assert_eq!(
        net.nodes[1].dev.counters().dropped(DropReason::RateLimited),
        1
    );
}

#[test]
fn bad_macs_and_bogus_cookie_replies_are_counted() {
    let mut net = Net::pair();
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.tick();
    let mut init = net.wire.pop_front().unwrap();
    init.payload[120] ^= 0xff; // inside mac1
    assert_eq!(
        net.deliver(init),
        Some(Inbound::Dropped(DropReason::BadMac))
    );

    // A cookie reply to an index node 0 does not have, then to the initiation's index with garbage.
    net.now += Duration::from_secs(6);
    net.tick();
    let init = net.wire.pop_front().unwrap();
    let sender: [u8; 4] = init.payload[4..8].try_into().unwrap();
    let mut reply = vec![0u8; 64];
    reply[0] = 3;
    reply[4..8].copy_from_slice(&(u32::from_le_bytes(sender).wrapping_add(1)).to_le_bytes());
    let from = net.nodes[1].addr;
    net.inject(from, 0, reply.clone());
    let d = net.wire.pop_back().unwrap();
    assert_eq!(
        net.deliver(d),
        Some(Inbound::Dropped(DropReason::UnknownIndex))
    );
    reply[4..8].copy_from_slice(&sender);
    net.inject(from, 0, reply);
    let d = net.wire.pop_back().unwrap();
    assert_eq!(
        net.deliver(d),
        Some(Inbound::Dropped(DropReason::CookieReplyInvalid))
    );
    // The handshake still completes.
    net.deliver(init);
    net.run();
    assert_eq!(net.nodes[1].tun.len(), 1);
}

#[test]
fn initiation_from_an_unknown_key_is_counted() {
    let mut net = Net::new(3);
    net.configure(0, &[(1, &["10.0.0.2/32"])]);
    net.configure(1, &[(0, &["10.0.0.1/32"])]);
    // Node 2 knows node 1, node 1 does not know node 2.
    net.configure(2, &[(1, &["10.0.0.2/32"])]);
    net.send_tun(2, &ipv4("10.0.0.3", "10.0.0.2", 1));
    net.run();
    assert!(net.nodes[1].dev.counters().dropped(DropReason::UnknownPeer) >= 1);
    assert!(net.nodes[1].tun.is_empty());
}

#[test]
fn screening_answers_a_flood_without_diffie_hellman_and_admits_the_rest() {
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use wgxdp_device::{Outbox, Screened};
    let mut net = Net::pair();
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.tick();
    let initiation = net.wire.pop_front().expect("node 0 sent an initiation");
    assert_eq!(initiation.payload.len(), 148);
    let dev = &net.nodes[1].dev;
    let mut rng = StdRng::seed_from_u64(9);
    let mut out = Outbox::new();
    // Under load, a message without a valid mac2 gets a cookie reply at the screen: no response, no DH.
    for _ in 0..50 {
        let verdict = dev.screen_handshake(
            Destination::routed(initiation.from),
            &initiation.payload,
            net.now,
            true,
            &mut rng,
            &mut out,
        );
        assert_eq!(verdict, Screened::Answered);
    }
    assert_eq!(out.len(), 50);
    let c = dev.counters();
    assert_eq!(
        (
            c.cookie_replies_sent,
            c.responses_sent,
            c.initiations_received
        ),
        (50, 0, 0)
    );
    // A response to an index nobody has in flight is dropped before any queue.
    let mut response = vec![0u8; 92];
    response[0] = 2;
    response[8..12].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    let mut garbage = Outbox::new();
    assert!(matches!(
        dev.screen_handshake(
            Destination::routed(initiation.from),
            &response,
            net.now,
            false,
            &mut rng,
            &mut garbage
        ),
        Screened::Dropped(DropReason::BadMac | DropReason::UnknownIndex)
    ));
    // Without load the initiation is admitted, and processing it answers.
    let mut answer = Outbox::new();
    assert_eq!(
        dev.screen_handshake(
            Destination::routed(initiation.from),
            &initiation.payload,
            net.now,
            false,
            &mut rng,
            &mut answer
        ),
        Screened::Admit
    );
    assert!(answer.is_empty(), "admitting sends nothing yet");
    let inbound = dev.process_handshake(
        Destination::routed(initiation.from),
        &initiation.payload,
        net.now,
        net.wall(),
        &mut rng,
        &mut answer,
    );
    assert_eq!(inbound, Inbound::Consumed);
    assert_eq!(answer.len(), 1, "the response");
    assert_eq!(dev.counters().responses_sent, 1);
}

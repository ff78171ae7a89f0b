//! Hostile input: random, truncated and bit-flipped datagrams to both receive paths never panic, are all
//! counted as drops, and leave the legitimate tunnel working.

mod common;

use std::net::SocketAddr;

use common::{ipv4, Net};
use rand::{Rng, RngCore, SeedableRng};
use wgxdp_device::{Destination, Device, DropReason, Inbound, MessageKind, Outbox};
use wgxdp_noise::{LocalStatic, PrivateKey, Tai64N, Tunnel};

#[test]
fn random_truncated_and_flipped_datagrams_are_dropped_and_counted() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 100));
    // Real messages to mutate: a transport message, an initiation and a response.
    net.send_tun(0, &ipv4("10.0.0.1", "10.0.0.2", 100));
    let transport = net.wire.pop_front().unwrap().payload;
    let real_index: [u8; 4] = transport[4..8].try_into().unwrap();

    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let attacker: SocketAddr = "203.0.113.200:666".parse().unwrap();
    let dev = &net.nodes[1].dev;
    let before = dev.counters().total_dropped();
    let rounds = 20_000;
    for round in 0..rounds {
        let msg: Vec<u8> = match round % 5 {
            // Pure noise of any length up to 1600.
            0 => {
                let len = rng.gen_range(0..1600);
                let mut m = vec![0u8; len];
                rng.fill_bytes(&mut m);
                m
            }
            // Noise with a valid type word and length for its kind.
            1 => {
                let kind = rng.gen_range(1..=4u8);
                let len = match kind {
                    1 => 148,
                    2 => 92,
                    3 => 64,
                    _ => rng.gen_range(32..1600),
                };
                let mut m = vec![0u8; len];
                rng.fill_bytes(&mut m);
                m[..4].copy_from_slice(&[kind, 0, 0, 0]);
                m
            }
            // Truncations of a real transport message.
            2 => transport[..rng.gen_range(0..transport.len())].to_vec(),
            // Bit flips of a real transport message (addressed to a live index).
            3 => {
                let mut m = transport.clone();
                let at = rng.gen_range(0..m.len());
                m[at] ^= 1 << rng.gen_range(0..8);
                m
            }
            // Garbage transport to the live index.
            _ => {
                let mut m = vec![0u8; rng.gen_range(32..200)];
                rng.fill_bytes(&mut m);
                m[..4].copy_from_slice(&[4, 0, 0, 0]);
                m[4..8].copy_from_slice(&real_index);
                m
            }
        };
        let mut out = Outbox::new();
        // Deliberately feed every datagram to both paths, whatever its kind.
        let a = dev.receive_transport(attacker, &mut msg.clone(), net.now);
        let b = dev.receive_handshake(
            Destination::routed(attacker),
            &msg,
            net.now,
            net.wall(),
            round % 2 == 0,
            &mut net.rng,
            &mut out,
        );
        for verdict in [a, b] {
            // Nothing random authenticates, and without a valid mac1 not even a cookie reply is sent.
            assert!(
                matches!(verdict, Inbound::Dropped(_)),
                "garbage accepted: {verdict:?} (kind {:?})",
                Device::classify(&msg)
            );
        }
        assert!(out.is_empty());
    }
    let after = dev.counters().total_dropped();
    assert_eq!(after - before, 2 * rounds);
    // The endpoint did not move to the attacker.
    assert_eq!(net.peer_state(1, 0).endpoint, Some(net.nodes[0].addr));

    // The real message, untouched, is still accepted, and the tunnel works both ways.
    net.inject(net.nodes[0].addr, 1, transport);
    let d = net.wire.pop_back().unwrap();
    assert!(matches!(net.deliver(d), Some(Inbound::Tun(_))));
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 5));
    assert_eq!(net.nodes[0].tun.len(), 1);
}

/// A hand-driven peer (a bare `Tunnel` holding node 0's key) that can seal anything, including plaintexts
/// the device's own send path refuses.
fn rogue_session(net: &mut Net) -> (LocalStatic, Tunnel) {
    let local = LocalStatic::new(PrivateKey::from_bytes(net.nodes[0].private));
    let mut tunnel = Tunnel::new(&local, net.nodes[1].public, None, None, net.now);
    let mut init = [0u8; 148];
    let ts = Tai64N::from_unix_coarse(1_800_000_000, 0);
    tunnel
        .create_initiation(&local, 1234, ts, net.now, &mut net.rng, &mut init)
        .unwrap();
    let from = net.nodes[0].addr;
    net.inject(from, 1, init.to_vec());
    let d = net.wire.pop_back().unwrap();
    assert_eq!(net.deliver(d), Some(Inbound::Consumed));
    let response: [u8; 92] = net.wire.pop_back().unwrap().payload.try_into().unwrap();
    tunnel.consume_response(&local, &response, net.now).unwrap();
    (local, tunnel)
}

fn seal(net: &Net, tunnel: &mut Tunnel, plaintext: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 16 + plaintext.len() + 32];
    buf[16..16 + plaintext.len()].copy_from_slice(plaintext);
    let len = tunnel
        .encapsulate(
            &mut buf,
            plaintext.len(),
            1420,
            net.now,
            std::time::Duration::ZERO,
        )
        .unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn decrypted_plaintexts_are_checked_trimmed_and_filtered() {
    let mut net = Net::pair();
    let (_local, mut tunnel) = rogue_session(&mut net);
    let from = net.nodes[0].addr;
    let mut deliver = |net: &mut Net, plaintext: &[u8]| {
        let msg = seal(net, &mut tunnel, plaintext);
        net.inject(from, 1, msg);
        let d = net.wire.pop_back().unwrap();
        net.deliver(d).unwrap()
    };
    // Not an IP packet.
    assert_eq!(
        deliver(&mut net, &[0x99; 40]),
        Inbound::Dropped(DropReason::InvalidInnerPacket)
    );
    // A header declaring more bytes than were sent.
    let mut long = ipv4("10.0.0.1", "10.0.0.2", 10);
    long[2..4].copy_from_slice(&500u16.to_be_bytes());
    assert_eq!(
        deliver(&mut net, &long),
        Inbound::Dropped(DropReason::InvalidInnerPacket)
    );
    // A source the peer does not own.
    assert_eq!(
        deliver(&mut net, &ipv4("10.0.0.9", "10.0.0.2", 10)),
        Inbound::Dropped(DropReason::Acl)
    );
    // Keepalive.
    assert_eq!(deliver(&mut net, &[]), Inbound::Consumed);
    // A valid packet followed by junk: trimmed to the header's length.
    let good = ipv4("10.0.0.1", "10.0.0.2", 10);
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xee; 7]);
    assert!(matches!(deliver(&mut net, &padded), Inbound::Tun(_)));
    assert_eq!(net.nodes[1].tun, vec![good]);
    let c = net.nodes[1].dev.counters();
    assert_eq!(c.dropped(DropReason::InvalidInnerPacket), 2);
    assert_eq!(c.dropped(DropReason::Acl), 1);
    assert_eq!(c.keepalives_received, 1);
    assert_eq!(MessageKind::of(&[4, 0, 0, 0]), MessageKind::Malformed);
}

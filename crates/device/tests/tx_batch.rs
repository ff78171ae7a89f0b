//! `TxBatch`: TUN packets routed and sealed straight into the buffers a backend hands out (`TxRoom`), the
//! timers told once per peer per batch, the backend's "no room" consuming nothing.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{ipv4, ipv6, send_one, Datagram, Net, VecRoom};
use wgxdp_device::{Destination, DropReason, Outbound, TxRoom};

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

/// A room like an AF_XDP frame: a fixed buffer behind `header` bytes of outer headers, several messages queued.
struct FrameRoom {
    frames: Vec<Vec<u8>>,
    header: usize,
    frame_len: usize,
    limit: usize,
    sent: Vec<(SocketAddr, Vec<u8>)>,
}

impl FrameRoom {
    fn new(header: usize, frame_len: usize, limit: usize) -> Self {
        Self {
            frames: Vec::new(),
            header,
            frame_len,
            limit,
            sent: Vec::new(),
        }
    }
}

impl TxRoom for FrameRoom {
    fn message_buffer(&mut self, _to: Destination, _max_len: usize) -> Option<&mut [u8]> {
        if self.sent.len() >= self.limit {
            return None;
        }
        self.frames.push(vec![0xAA; self.frame_len]);
        let header = self.header;
        self.frames.last_mut().map(|f| &mut f[header..])
    }

    fn commit(&mut self, to: Destination, len: usize) {
        let endpoint = to.addr;
        let frame = self.frames.last().expect("a frame was handed out");
        assert!(
            frame[..self.header].iter().all(|b| *b == 0xAA),
            "header room untouched"
        );
        self.sent
            .push((endpoint, frame[self.header..self.header + len].to_vec()));
    }

    fn abandon(&mut self) {
        self.frames.pop();
    }
}

#[test]
fn a_batch_seals_into_the_room_and_the_peer_opens_every_message() {
    let mut net = established();
    let packets: Vec<Vec<u8>> = (0..20)
        .map(|i| ipv4("10.0.0.1", "10.0.0.2", 100 + 50 * i))
        .chain([ipv6("fd00::1", "fd00::2", 300)])
        .collect();
    let mut room = FrameRoom::new(42, 2048, usize::MAX);
    let mut batch = net.nodes[0].dev.tx_batch(net.now);
    for p in &packets {
        let verdict = batch.send(p, &mut room);
        let Outbound::Send { endpoint, len } = verdict else {
            panic!("not sent: {verdict:?}");
        };
        assert_eq!(endpoint, net.nodes[1].addr);
        assert_eq!(
            len,
            16 + p.len().next_multiple_of(16) + 16,
            "header, padded payload, tag"
        );
    }
    assert!(!batch.finish(), "nothing for the timer thread");
    let from = net.nodes[0].addr;
    for (to, payload) in room.sent {
        net.wire.push_back(Datagram { from, to, payload });
    }
    net.run();
    assert_eq!(&net.nodes[1].tun[1..], &packets[..]);
    assert_eq!(
        net.nodes[0].dev.counters().tx_packets,
        1 + packets.len() as u64
    );
}

#[test]
fn no_room_consumes_nothing_and_a_short_buffer_burns_no_counter() {
    let mut net = established();
    let packet = ipv4("10.0.0.1", "10.0.0.2", 1000);
    let dev = &net.nodes[0].dev;
    let full = VecRoom {
        full: true,
        ..VecRoom::default()
    };
    let mut full = full;
    let mut batch = dev.tx_batch(net.now);
    assert_eq!(batch.send(&packet, &mut full), Outbound::NoRoom);
    // A buffer shorter than the message: dropped as SealFailed.
    let mut short = FrameRoom::new(0, 500, usize::MAX);
    assert_eq!(
        batch.send(&packet, &mut short),
        Outbound::Dropped(DropReason::SealFailed)
    );
    batch.finish();
    let c = dev.counters();
    assert_eq!(c.dropped(DropReason::SealFailed), 1);
    assert_eq!(c.tx_packets, 1, "only the handshake's staged packet");
    // The next message uses counter 1 (counter 0 carried the staged packet): nothing was burnt above.
    let (verdict, sealed) = send_one(dev, &packet, net.now);
    assert!(matches!(verdict, Outbound::Send { .. }));
    let (to, payload) = sealed.unwrap();
    assert_eq!(u64::from_le_bytes(payload[8..16].try_into().unwrap()), 1);
    let from = net.nodes[0].addr;
    net.wire.push_back(Datagram { from, to, payload });
    net.run();
    assert_eq!(net.nodes[1].tun.last(), Some(&packet));
}

#[test]
fn staged_unrouted_and_malformed_packets() {
    let net = Net::pair();
    let dev = &net.nodes[0].dev;
    let mut room = VecRoom::default();
    let mut batch = dev.tx_batch(net.now);
    assert_eq!(
        batch.send(&ipv4("10.0.0.1", "10.0.0.2", 50), &mut room),
        Outbound::Staged
    );
    assert_eq!(
        batch.send(&ipv4("10.0.0.1", "10.9.9.9", 50), &mut room),
        Outbound::Dropped(DropReason::NoRoute)
    );
    assert_eq!(
        batch.send(&[0x45, 1, 2], &mut room),
        Outbound::Dropped(DropReason::InvalidInnerPacket)
    );
    // A TUN read is exactly one packet: trailing bytes after the declared length are malformed.
    let mut trailing = ipv4("10.0.0.1", "10.0.0.2", 50);
    trailing.extend_from_slice(&[0; 7]);
    assert_eq!(
        batch.send(&trailing, &mut room),
        Outbound::Dropped(DropReason::InvalidInnerPacket)
    );
    assert!(batch.finish(), "a staged packet wants the timer thread");
    assert!(dev.take_handshake_wanted());
    assert!(room.sent.is_none());
    let c = dev.counters();
    assert_eq!(c.dropped(DropReason::NoRoute), 1);
    assert_eq!(c.dropped(DropReason::InvalidInnerPacket), 2);
    assert_eq!(c.peers[0].staged, 1);
}

#[test]
fn a_batch_to_more_peers_than_it_has_slots_sends_each_to_its_own_endpoint() {
    // Node 0 talks to eleven peers; every one must get exactly its own packets.
    let peers = 11;
    let mut net = Net::new(peers + 1);
    let routes: Vec<(usize, Vec<String>)> = (1..=peers)
        .map(|i| (i, vec![format!("10.0.{i}.0/24")]))
        .collect();
    let borrowed: Vec<(usize, Vec<&str>)> = routes
        .iter()
        .map(|(i, r)| (*i, r.iter().map(String::as_str).collect()))
        .collect();
    let config: Vec<(usize, &[&str])> = borrowed.iter().map(|(i, r)| (*i, r.as_slice())).collect();
    net.configure(0, &config);
    for i in 1..=peers {
        net.configure(i, &[(0, &["10.9.0.0/16"])]);
        net.ping(0, &ipv4("10.9.0.1", &format!("10.0.{i}.1"), 1));
    }
    let mut room = FrameRoom::new(0, 2048, usize::MAX);
    let mut batch = net.nodes[0].dev.tx_batch(net.now);
    // Interleaved, so the slots are evicted and refilled many times.
    for round in 0..3 {
        for i in 1..=peers {
            let p = ipv4("10.9.0.1", &format!("10.0.{i}.{}", 2 + round), 40);
            assert!(matches!(batch.send(&p, &mut room), Outbound::Send { .. }));
        }
    }
    batch.finish();
    for (k, (to, _)) in room.sent.iter().enumerate() {
        assert_eq!(*to, net.nodes[1 + k % peers].addr);
    }
    let from = net.nodes[0].addr;
    for (to, payload) in room.sent {
        net.wire.push_back(Datagram { from, to, payload });
    }
    net.run();
    for i in 1..=peers {
        assert_eq!(
            net.nodes[i].tun.len(),
            1 + 3,
            "peer {i}: the staged packet and three more"
        );
    }
}

#[test]
fn the_timers_hear_of_data_sent_by_a_batch() {
    // Data sent and nothing heard back: after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s) a new handshake.
    let mut net = established();
    // Data back from the peer clears node 0's "no answer" timer; let every timer settle.
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 10));
    net.advance(Duration::from_secs(30), Duration::from_millis(500));
    assert!(net.wire.is_empty());
    let before = net.nodes[0].dev.counters().initiations_sent;
    let mut room = VecRoom::default();
    let mut batch = net.nodes[0].dev.tx_batch(net.now);
    assert!(matches!(
        batch.send(&ipv4("10.0.0.1", "10.0.0.2", 10), &mut room),
        Outbound::Send { .. }
    ));
    batch.finish();
    // The reply never comes (the message is not delivered).
    net.now += Duration::from_secs(14);
    net.tick();
    assert_eq!(net.nodes[0].dev.counters().initiations_sent, before);
    net.now += Duration::from_millis(1400);
    net.tick();
    assert_eq!(net.nodes[0].dev.counters().initiations_sent, before + 1);
}

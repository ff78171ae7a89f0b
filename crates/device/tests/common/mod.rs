//! A tiny in-memory network for device tests: nodes (each a `Device` with a UDP address and a TUN sink), a
//! wire (FIFO of datagrams), simulated monotonic and wall-clock time, and a seeded CSPRNG.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::{
    ApplyError, ApplyOutcome, Destination, Device, DeviceConfig, Inbound, MessageKind, Outbound,
    Outbox, TxRoom,
};
use wgxdp_noise::{PrivateKey, PublicKey};
use wgxdp_uapi::{parse_request, Request, SetRequest};

/// A datagram on the simulated wire.
#[derive(Clone, Debug)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub payload: Vec<u8>,
}

pub struct Node {
    pub dev: Device,
    /// Where the node receives, and the source address of what it sends.
    pub addr: SocketAddr,
    pub private: [u8; 32],
    pub public: PublicKey,
    /// Packets the device asked to write to TUN.
    pub tun: Vec<Vec<u8>>,
    /// Verdicts of every datagram delivered to this node.
    pub inbound: Vec<Inbound>,
    pub under_load: bool,
}

pub struct Net {
    pub nodes: Vec<Node>,
    pub now: Duration,
    pub wall0: SystemTime,
    pub rng: StdRng,
    pub wire: VecDeque<Datagram>,
    /// Datagrams sent to addresses no node listens on.
    pub lost: Vec<Datagram>,
}

pub fn private_key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

pub fn public_key(seed: u8) -> PublicKey {
    PrivateKey::from_bytes(private_key(seed)).public_key()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse a UAPI `set` body (the lines between `set=1` and the empty line).
pub fn set_request(body: &str) -> SetRequest {
    let text = format!("set=1\n{body}\n");
    match parse_request(text.as_bytes()) {
        Ok(Request::Set(req)) => req,
        other => panic!("not a set request: {other:?}\n{text}"),
    }
}

/// A [`TxRoom`] with one owned buffer: what a single-packet send seals into.
#[derive(Default)]
pub struct VecRoom {
    pub buf: Vec<u8>,
    /// The last committed message.
    pub sent: Option<(SocketAddr, Vec<u8>)>,
    /// Where the last committed message was to go, source included.
    pub to: Option<Destination>,
    /// Refuse every buffer (a full ring).
    pub full: bool,
}

impl TxRoom for VecRoom {
    fn message_buffer(&mut self, _to: Destination, max_len: usize) -> Option<&mut [u8]> {
        if self.full {
            return None;
        }
        self.buf.clear();
        self.buf.resize(max_len, 0);
        Some(&mut self.buf)
    }

    fn commit(&mut self, to: Destination, len: usize) {
        self.sent = Some((to.addr, self.buf[..len].to_vec()));
        self.to = Some(to);
    }
}

/// Sends one TUN packet through a batch of one: the verdict and the sealed message, if any.
pub fn send_one(
    dev: &Device,
    packet: &[u8],
    now: Duration,
) -> (Outbound, Option<(SocketAddr, Vec<u8>)>) {
    let mut room = VecRoom::default();
    let mut batch = dev.tx_batch(now);
    let verdict = batch.send(packet, &mut room);
    batch.finish();
    (verdict, room.sent)
}

/// A minimal IPv4 packet (20-byte header, zero payload of `payload_len`), padded with `pad` extra bytes.
pub fn ipv4(src: &str, dst: &str, payload_len: usize) -> Vec<u8> {
    let src: std::net::Ipv4Addr = src.parse().unwrap();
    let dst: std::net::Ipv4Addr = dst.parse().unwrap();
    let total = 20 + payload_len;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    for (i, b) in p[20..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

/// A minimal IPv6 packet with `payload_len` bytes of payload.
pub fn ipv6(src: &str, dst: &str, payload_len: usize) -> Vec<u8> {
    let src: std::net::Ipv6Addr = src.parse().unwrap();
    let dst: std::net::Ipv6Addr = dst.parse().unwrap();
    let mut p = vec![0u8; 40 + payload_len];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    p[6] = 17;
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    for (i, b) in p[40..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

impl Net {
    /// `n` nodes: node i has private key seed i+1 and address 192.0.2.(i+1):51820 (no configuration yet).
    pub fn new(n: usize) -> Self {
        Self::with_config(n, DeviceConfig::default())
    }

    pub fn with_config(n: usize, config: DeviceConfig) -> Self {
        let nodes = (0..n)
            .map(|i| {
                let seed = i as u8 + 1;
                Node {
                    dev: Device::new(config),
                    addr: SocketAddr::new(IpAddr::from([192, 0, 2, seed]), 51820),
                    private: private_key(seed),
                    public: public_key(seed),
                    tun: Vec::new(),
                    inbound: Vec::new(),
                    under_load: false,
                }
            })
            .collect();
        Self {
            nodes,
            now: Duration::from_secs(1000),
            wall0: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            rng: StdRng::seed_from_u64(7),
            wire: VecDeque::new(),
            lost: Vec::new(),
        }
    }

    pub fn wall(&self) -> SystemTime {
        self.wall0 + self.now
    }

    pub fn try_set(&mut self, node: usize, body: &str) -> Result<ApplyOutcome, ApplyError> {
        let req = set_request(body);
        self.nodes[node]
            .dev
            .apply_set(&req, self.now, &mut self.rng)
    }

    pub fn set(&mut self, node: usize, body: &str) -> ApplyOutcome {
        self.try_set(node, body).expect("set request applies")
    }

    /// Give `node` its private key and a peer entry per `(peer node, allowed ips)`, endpoints included.
    pub fn configure(&mut self, node: usize, peers: &[(usize, &[&str])]) {
        let mut body = format!(
            "private_key={}\nlisten_port=51820\n",
            hex(&self.nodes[node].private)
        );
        for &(peer, ips) in peers {
            body += &format!(
                "public_key={}\nendpoint={}\n",
                hex(self.nodes[peer].public.as_bytes()),
                self.nodes[peer].addr
            );
            for ip in ips {
                body += &format!("allowed_ip={ip}\n");
            }
        }
        self.set(node, &body);
    }

    /// The usual pair: node 0 owns 10.0.0.1 and fd00::1, node 1 owns 10.0.0.2 and fd00::2.
    pub fn pair() -> Self {
        let mut net = Self::new(2);
        net.configure(0, &[(1, &["10.0.0.2/32", "fd00::2/128"])]);
        net.configure(1, &[(0, &["10.0.0.1/32", "fd00::1/128"])]);
        net
    }

    /// A packet from `node`'s TUN: the device's verdict; a sealed message goes on the wire.
    pub fn send_tun(&mut self, node: usize, packet: &[u8]) -> Outbound {
        let n = &self.nodes[node];
        let (verdict, sealed) = send_one(&n.dev, packet, self.now);
        if let Some((to, payload)) = sealed {
            self.wire.push_back(Datagram {
                from: n.addr,
                to,
                payload,
            });
        }
        verdict
    }

    /// Put a raw datagram on the wire.
    pub fn inject(&mut self, from: SocketAddr, to: usize, payload: Vec<u8>) {
        let to = self.nodes[to].addr;
        self.wire.push_back(Datagram { from, to, payload });
    }

    fn queue_outbox(&mut self, from: SocketAddr, out: &mut Outbox) {
        for (to, payload) in out.drain() {
            self.wire.push_back(Datagram {
                from,
                to: to.addr,
                payload,
            });
        }
    }

    /// Deliver one datagram to the node listening on its destination.
    pub fn deliver(&mut self, d: Datagram) -> Option<Inbound> {
        let Some(i) = self.nodes.iter().position(|n| n.addr == d.to) else {
            self.lost.push(d);
            return None;
        };
        let mut payload = d.payload;
        let mut out = Outbox::new();
        let now = self.now;
        let wall = self.wall();
        let node = &mut self.nodes[i];
        let verdict = match Device::classify(&payload) {
            MessageKind::Transport => node.dev.receive_transport(d.from, &mut payload, now),
            _ => node.dev.receive_handshake(
                Destination::routed(d.from),
                &payload,
                now,
                wall,
                node.under_load,
                &mut self.rng,
                &mut out,
            ),
        };
        if let Inbound::Tun(range) = &verdict {
            node.tun.push(payload[range.clone()].to_vec());
        }
        node.inbound.push(verdict.clone());
        let from = node.addr;
        self.queue_outbox(from, &mut out);
        Some(verdict)
    }

    /// Run every node's due timers.
    pub fn tick(&mut self) {
        let now = self.now;
        let wall = self.wall();
        for i in 0..self.nodes.len() {
            let mut out = Outbox::new();
            self.nodes[i].dev.take_handshake_wanted();
            self.nodes[i].dev.tick(now, wall, &mut self.rng, &mut out);
            let from = self.nodes[i].addr;
            self.queue_outbox(from, &mut out);
        }
    }

    /// Tick and deliver until the wire is empty (bounded, so a ping-pong bug fails instead of hanging).
    pub fn run(&mut self) {
        for _ in 0..1000 {
            self.tick();
            if self.wire.is_empty() {
                return;
            }
            while let Some(d) = self.wire.pop_front() {
                self.deliver(d);
            }
        }
        panic!("network never went quiet");
    }

    /// Move time forward in `step`s up to `total`, running the network at each step.
    pub fn advance(&mut self, total: Duration, step: Duration) {
        let end = self.now + total;
        while self.now < end {
            self.now = (self.now + step).min(end);
            self.run();
        }
    }

    /// Send a packet from `from`'s TUN and run the network; returns the send verdict.
    pub fn ping(&mut self, from: usize, packet: &[u8]) -> Outbound {
        let verdict = self.send_tun(from, packet);
        self.run();
        verdict
    }

    pub fn peer_state(&self, node: usize, peer: usize) -> wgxdp_uapi::PeerState {
        let key = self.nodes[peer].public;
        self.nodes[node]
            .dev
            .get_state(self.now, self.wall())
            .peers
            .into_iter()
            .find(|p| p.public_key.as_bytes() == key.as_bytes())
            .expect("peer present")
    }
}

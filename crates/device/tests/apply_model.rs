//! `apply_set` plans only what a request names; this checks it against the plain definition of the `set`
//! semantics (a list of peers, each with a set of prefixes, rewritten line by line) over random requests:
//! new peers, removals, moves of prefixes between peers, `replace_allowed_ips`, `-prefix` removals,
//! `update_only`, peers removed and re-added in one request, and `replace_peers`. After every request the
//! published state (`get`), the allowed-IPs table (`explain_peer`) and the routes must all agree with it.

mod common;

use std::collections::BTreeSet;

use common::{hex, set_request, Net};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_allowedips::Prefix;
use wgxdp_device::Device;
use wgxdp_noise::PublicKey;

const KEYS: u8 = 24;
const REQUESTS: usize = 400;

/// The pool of prefixes requests draw from: nested IPv4 and IPv6 ranges, so moves and shadows happen.
fn prefixes() -> Vec<Prefix> {
    [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.1.2.3/32",
        "10.1.2.4/32",
        "10.2.0.0/16",
        "10.2.0.1/32",
        "192.168.0.0/24",
        "192.168.0.0/25",
        "192.168.0.128/25",
        "0.0.0.0/0",
        "fd00::/8",
        "fd00:1::/32",
        "fd00:1::1/128",
        "::/0",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

#[derive(Clone)]
struct ModelPeer {
    key: PublicKey,
    allowed: BTreeSet<Prefix>,
}

/// The reference: peers in order, each with its prefixes.
#[derive(Default)]
struct Model {
    peers: Vec<ModelPeer>,
}

impl Model {
    fn position(&self, key: &PublicKey) -> Option<usize> {
        self.peers.iter().position(|p| p.key == *key)
    }

    fn take_prefix(&mut self, prefix: &Prefix) {
        for peer in &mut self.peers {
            peer.allowed.remove(prefix);
        }
    }
}

/// One random request: its UAPI body, and its effect applied to the model.
fn random_request(rng: &mut StdRng, model: &mut Model, pool: &[Prefix]) -> String {
    let mut body = String::new();
    if rng.gen_ratio(1, 25) {
        body += "replace_peers=true\n";
        model.peers.clear();
    }
    for _ in 0..rng.gen_range(1..6) {
        let key = common::public_key(10 + rng.gen_range(0..KEYS));
        body += &format!("public_key={}\n", hex(key.as_bytes()));
        if rng.gen_ratio(1, 8) {
            body += "remove=true\n";
            if let Some(at) = model.position(&key) {
                model.peers.remove(at);
            }
            continue;
        }
        let update_only = rng.gen_ratio(1, 8);
        if update_only {
            body += "update_only=true\n";
        }
        let at = match model.position(&key) {
            Some(at) => Some(at),
            None if update_only => None,
            None => {
                model.peers.push(ModelPeer {
                    key,
                    allowed: BTreeSet::new(),
                });
                Some(model.peers.len() - 1)
            }
        };
        if rng.gen_ratio(1, 4) {
            body += "replace_allowed_ips=true\n";
            if let Some(at) = at {
                model.peers[at].allowed.clear();
            }
        }
        for _ in 0..rng.gen_range(0..4) {
            let prefix = pool[rng.gen_range(0..pool.len())];
            if rng.gen_ratio(1, 4) {
                body += &format!("allowed_ip=-{prefix}\n");
                if let Some(at) = at {
                    model.peers[at].allowed.remove(&prefix);
                }
            } else {
                body += &format!("allowed_ip={prefix}\n");
                if let Some(at) = at {
                    model.take_prefix(&prefix);
                    model.peers[at].allowed.insert(prefix);
                }
            }
        }
    }
    body
}

fn check(dev: &Device, model: &Model, net: &Net, context: &str) {
    let state = dev.get_state(net.now, net.wall());
    let got: Vec<(PublicKey, Vec<String>)> = state
        .peers
        .iter()
        .map(|p| {
            (
                PublicKey::from_bytes(*p.public_key.as_bytes()),
                p.allowed_ips.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    let want: Vec<(PublicKey, Vec<String>)> = model
        .peers
        .iter()
        .map(|p| (p.key, p.allowed.iter().map(ToString::to_string).collect()))
        .collect();
    assert_eq!(got, want, "get after {context}");
    assert_eq!(dev.peer_count(), model.peers.len());
    for peer in &model.peers {
        let explained = dev.explain_peer(&peer.key).expect("peer known to explain");
        let table: Vec<Prefix> = explained.allowed_ips.clone();
        let listed: Vec<Prefix> = peer.allowed.iter().copied().collect();
        assert_eq!(table, listed, "allowed-IPs table after {context}");
        // Each prefix routes to its owner unless a more specific prefix of the model takes its address.
        for prefix in &peer.allowed {
            let winner = model
                .peers
                .iter()
                .flat_map(|p| p.allowed.iter().map(move |q| (q, p.key)))
                .filter(|(q, _)| q.contains(prefix.addr()))
                .max_by_key(|(q, _)| q.len())
                .map(|(_, k)| k.to_base64());
            let route = dev.explain_address(prefix.addr()).route;
            let via = route.via.map(|(_, label)| label.0);
            assert_eq!(via, winner, "route of {} after {context}", prefix.addr());
        }
    }
}

fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = Net::new(1);
    net.set(0, &format!("private_key={}\n", hex(&net.nodes[0].private)));
    let pool = prefixes();
    let mut model = Model::default();
    for i in 0..REQUESTS {
        let body = random_request(&mut rng, &mut model, &pool);
        let req = set_request(&body);
        net.nodes[0]
            .dev
            .apply_set(&req, net.now, &mut net.rng)
            .expect("request applies");
        check(
            &net.nodes[0].dev,
            &model,
            &net,
            &format!("request {i} (seed {seed}):\n{body}"),
        );
    }
}

#[test]
fn random_requests_match_the_definition_seed_1() {
    run(1);
}

#[test]
fn random_requests_match_the_definition_seed_2() {
    run(2);
}

#[test]
fn random_requests_match_the_definition_seed_3() {
    run(3);
}

/// Runs each task on its own scoped thread, as the daemon does.
struct Threads;

impl wgxdp_device::Parallel for Threads {
    fn width(&self) -> usize {
        3
    }

    fn run<'a>(&self, tasks: Vec<wgxdp_device::Task<'a>>) {
        std::thread::scope(|scope| {
            for task in tasks {
                scope.spawn(task);
            }
        });
    }
}

#[test]
fn peers_built_on_several_threads_are_the_same_peers() {
    let mut body = String::new();
    for i in 0..1000u32 {
        let mut seed = [0u8; 32];
        // Not the low bits of byte 0: X25519 clears them, which would make eight seeds one key.
        seed[1..5].copy_from_slice(&i.to_le_bytes());
        seed[31] = 9;
        let key = wgxdp_noise::PrivateKey::from_bytes(seed).public_key();
        body += &format!(
            "public_key={}\nendpoint=198.19.{}.{}:51820\npersistent_keepalive_interval={}\nallowed_ip=100.64.{}.{}/32\n",
            hex(key.as_bytes()),
            i / 256,
            i % 256,
            i % 3,
            i / 256,
            i % 256
        );
    }
    let mut net = Net::new(2);
    for node in 0..2 {
        net.set(
            node,
            &format!("private_key={}\n", hex(&net.nodes[0].private)),
        );
    }
    let req = set_request(&body);
    net.nodes[0]
        .dev
        .apply_set(&req, net.now, &mut net.rng)
        .unwrap();
    net.nodes[1]
        .dev
        .apply_set_parallel(&req, net.now, &mut net.rng, &Threads)
        .unwrap();
    let serial = net.nodes[0].dev.get_state(net.now, net.wall());
    let parallel = net.nodes[1].dev.get_state(net.now, net.wall());
    assert_eq!(serial.peers.len(), 1000);
    assert_eq!(serial, parallel);
    // Their tunnels exist (keepalive 1 and 2 peers are due at once: the timers know about them).
    assert_eq!(
        net.nodes[1].dev.next_deadline(),
        net.nodes[0].dev.next_deadline()
    );
    assert!(net.nodes[1].dev.next_deadline().is_some());
    assert_eq!(net.nodes[1].dev.timer_queue_len(), 666);
}

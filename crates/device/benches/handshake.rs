//! Handshakes a responder completes per second per core: `Device::process_handshake` on initiations that passed
//! screening (the Diffie-Hellman work: identifying the initiator, the ephemeral exchange, the response and the new
//! session), one at a time under criterion, then on every core at once into one shared device (as the daemon's
//! handshake workers do), printed at the end as handshakes per second and per core.
//!
//! Run: `cargo bench -p wgxdp-device --bench handshake -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{ipv4, Net};
use criterion::{BatchSize, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::{Destination, Inbound, Outbox};

/// One initiation: when it was sent, by whom, its bytes.
type Initiation = (Duration, SocketAddr, Vec<u8>);

/// Initiations per initiator for the all-cores run.
const PER_PEER: usize = 200;

/// `peers` initiators of node 0 (nodes 1..=peers), each with `count` successive initiations (5.1 s apart in
/// simulated time, so their TAI64N timestamps rise and the flood guard lets each one through). Returns the
/// network and, per initiator, its initiations in order with the time each one was sent.
fn initiations(peers: usize, count: usize) -> (Net, Vec<Vec<Initiation>>) {
    let mut net = Net::new(peers + 1);
    let routes: Vec<(usize, String)> = (1..=peers).map(|i| (i, format!("10.1.{i}.0/24"))).collect();
    let config: Vec<(usize, [&str; 1])> = routes.iter().map(|(i, r)| (*i, [r.as_str()])).collect();
    let borrowed: Vec<(usize, &[&str])> = config.iter().map(|(i, r)| (*i, &r[..])).collect();
    net.configure(0, &borrowed);
    for i in 1..=peers {
        net.configure(i, &[(0, &["10.0.0.0/24"])]);
    }
    let mut out = vec![Vec::new(); peers];
    for _ in 0..count {
        for i in 1..=peers {
            net.send_tun(i, &ipv4(&format!("10.1.{i}.1"), "10.0.0.1", 1));
        }
        net.tick();
        while let Some(d) = net.wire.pop_front() {
            if d.payload.len() == 148 {
                let i = net
                    .nodes
                    .iter()
                    .position(|n| n.addr == d.from)
                    .expect("a node");
                out[i - 1].push((net.now, d.from, d.payload));
            }
        }
        // Past REKEY_TIMEOUT: the next tick sends a fresh initiation, with a later timestamp.
        net.now += Duration::from_millis(5100);
    }
    (net, out)
}

/// The next initiation of node 1 to node 0 in `net` (the initiator's side of the network).
fn next_initiation(net: &mut Net) -> Initiation {
    net.now += Duration::from_millis(5100);
    net.send_tun(1, &ipv4("10.1.1.1", "10.0.0.1", 1));
    net.tick();
    loop {
        let d = net.wire.pop_front().expect("node 1 sent an initiation");
        if d.payload.len() == 148 {
            net.wire.clear();
            return (net.now, d.from, d.payload);
        }
    }
}

fn bench(c: &mut Criterion) {
    // Two copies of one network: the same keys, so the initiator's side makes initiations (outside the timing)
    // for the responder's side, which is measured.
    let (mut initiator, _) = initiations(1, 1);
    let (net, _) = initiations(1, 1);
    let responder = &net.nodes[0].dev;
    let mut rng = StdRng::seed_from_u64(3);
    let mut group = c.benchmark_group("handshake");
    group.sample_size(20);
    group.bench_function("respond_one_core", |b| {
        b.iter_batched(
            || next_initiation(&mut initiator),
            |(at, from, msg)| {
                let mut out = Outbox::new();
                let inbound = responder.process_handshake(
                    Destination::routed(from),
                    &msg,
                    at,
                    net.wall(),
                    &mut rng,
                    &mut out,
                );
                black_box((inbound, out.len()))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// Every core processing the initiations of its own peers into one device at once.
fn print_all_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peers = (cores * 4).min(250);
    let (net, per_peer) = initiations(peers, PER_PEER);
    let responder = &net.nodes[0].dev;
    let wall = net.wall();
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..cores)
            .map(|t| {
                let mine: Vec<_> = per_peer.iter().skip(t).step_by(cores).collect();
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(t as u64);
                    let mut out = Outbox::new();
                    let mut completed = 0;
                    // Round-robin over this thread's peers, each peer's initiations in order.
                    for k in 0..PER_PEER {
                        for stream in &mine {
                            let Some((at, from, msg)) = stream.get(k) else {
                                continue;
                            };
                            let inbound = responder.process_handshake(
                                Destination::routed(*from),
                                msg,
                                *at,
                                wall,
                                &mut rng,
                                &mut out,
                            );
                            completed += usize::from(inbound == Inbound::Consumed);
                            out = Outbox::new();
                        }
                    }
                    completed
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .sum()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let expected = peers * PER_PEER;
    assert_eq!(done, expected, "every initiation answered");
    println!(
        "handshake/respond_all_cores: {done} handshakes on {cores} core(s) in {elapsed:.2} s: {:.0} per second, {:.0} per second per core",
        done as f64 / elapsed,
        done as f64 / elapsed / cores as f64
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    print_all_cores();
    criterion.final_summary();
}

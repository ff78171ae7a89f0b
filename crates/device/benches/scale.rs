//! Gateway scale: applying 1k, 10k and 100k peers (one /32 and an endpoint each, real X25519 keys generated
//! before timing), a one-peer change on a 100k-peer device, the timer thread's `next_deadline` + `tick` with
//! 100k idle peers (and with 100k peers whose timers are armed but not due), `get` of 100k peers (state and
//! UAPI text), and `explain` of one peer among 100k.
//!
//! Run: `cargo bench -p wgxdp-device --bench scale` (one group: append its name, e.g. `-- apply/`).
//! `apply/setconf_peers` runs the X25519 work of new peers on every core, as the daemon does;
//! `_one_core` and `_no_private_key` (no tunnels, so no X25519: the floor of the rest) show where the time goes.
//! The end-to-end figures with the real `wg` tool against the daemon come from `bench/scale.sh`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use wgxdp_device::{Device, DeviceConfig, Outbox, Parallel, Serial, Task};
use wgxdp_noise::{PrivateKey, PublicKey};
use wgxdp_uapi::{AllowedIp, AllowedIpChange, Key, KeyUpdate, PeerChange, SetRequest};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const LARGE: usize = 100_000;

/// Real X25519 public keys (each from a random private key), generated once for every benchmark.
fn keys() -> &'static [PublicKey] {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(12);
        (0..LARGE + 10)
            .map(|_| {
                let mut private = [0u8; 32];
                rng.fill_bytes(&mut private);
                PrivateKey::from_bytes(private).public_key()
            })
            .collect()
    })
}

/// Peer `i`'s tunnel address: 10.0.0.0/8 from 10.0.0.1 on, one /32 each.
fn address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0001 + i as u32))
}

fn endpoint(i: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::from(0xc612_0000 + (i as u32 >> 14))),
        1024 + (i % 16_384) as u16,
    )
}

/// The change `wg set`/`wg setconf` sends for peer `i`: endpoint, replace_allowed_ips, one /32.
fn peer_change(i: usize, key: &PublicKey, addr: IpAddr) -> PeerChange {
    let mut change = PeerChange::new(Key::from_bytes(*key.as_bytes()));
    change.endpoint = Some(endpoint(i));
    change.replace_allowed_ips = true;
    change.allowed_ips = vec![AllowedIpChange::Add(AllowedIp::host(addr))];
    change
}

/// Runs each task on its own scoped thread, as the daemon lends `apply_set` its cores.
struct Threads;

impl Parallel for Threads {
    fn width(&self) -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    fn run<'a>(&self, tasks: Vec<Task<'a>>) {
        std::thread::scope(|scope| {
            for task in tasks {
                scope.spawn(task);
            }
        });
    }
}

/// What `wg setconf` sends: the private key, replace_peers, and `n` peers.
fn setconf(n: usize, keepalive: Option<u16>) -> SetRequest {
    with_private_key(n, keepalive, true)
}

fn with_private_key(n: usize, keepalive: Option<u16>, private_key: bool) -> SetRequest {
    SetRequest {
        private_key: private_key.then(|| KeyUpdate::from_key(Key::from_bytes([7; 32]))),
        listen_port: Some(51820),
        replace_peers: true,
        peers: keys()[..n]
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let mut change = peer_change(i, key, address(i));
                change.persistent_keepalive_interval = keepalive;
                change
            })
            .collect(),
        ..SetRequest::default()
    }
}

fn now() -> Duration {
    Duration::from_secs(1000)
}

fn device_with(n: usize, keepalive: Option<u16>) -> Device {
    let dev = Device::new(DeviceConfig::default());
    let mut rng = StdRng::seed_from_u64(3);
    dev.apply_set_parallel(&setconf(n, keepalive), now(), &mut rng, &Threads)
        .expect("applies");
    dev
}

fn large_device() -> &'static Device {
    static DEV: OnceLock<Device> = OnceLock::new();
    DEV.get_or_init(|| device_with(LARGE, None))
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    let _ = keys();
    // On every core, as the daemon applies it; on one core; and without a private key, so without the one
    // X25519 operation per new peer (the floor of everything else).
    let variants: [(&str, &dyn Parallel, bool, &[usize]); 3] = [
        ("setconf_peers", &Threads, true, &SIZES),
        ("setconf_peers_one_core", &Serial, true, &[LARGE]),
        ("setconf_peers_no_private_key", &Serial, false, &[LARGE]),
    ];
    for (name, par, private_key, sizes) in variants {
        for &n in sizes {
            let req = with_private_key(n, None, private_key);
            group.bench_with_input(BenchmarkId::new(name, n), &req, |b, req| {
                let mut rng = StdRng::seed_from_u64(1);
                b.iter_batched(
                    || Device::new(DeviceConfig::default()),
                    |dev| {
                        dev.apply_set_parallel(req, now(), &mut rng, par)
                            .expect("applies");
                        // Returned, so that tearing the device down is not timed.
                        dev
                    },
                    BatchSize::PerIteration,
                );
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("apply_one_at_100k");
    group.sample_size(50);
    let dev = large_device();
    let mut rng = StdRng::seed_from_u64(2);
    // `wg set wg0 peer K endpoint E allowed-ips A`: an existing peer gets a new /32 and endpoint.
    let mut flip = false;
    group.bench_function("change_existing_peer", |b| {
        b.iter(|| {
            flip = !flip;
            let addr = if flip { address(LARGE + 1) } else { address(5) };
            let req = SetRequest {
                peers: vec![peer_change(5, &keys()[5], addr)],
                ..SetRequest::default()
            };
            dev.apply_set(&req, now(), &mut rng).expect("applies")
        });
    });
    // A new peer added, then removed again (two requests per iteration).
    group.bench_function("add_then_remove_peer", |b| {
        let key = keys()[LARGE + 3];
        let add = SetRequest {
            peers: vec![peer_change(LARGE + 3, &key, address(LARGE + 3))],
            ..SetRequest::default()
        };
        let mut removal = PeerChange::new(Key::from_bytes(*key.as_bytes()));
        removal.remove = true;
        let remove = SetRequest {
            peers: vec![removal],
            ..SetRequest::default()
        };
        b.iter(|| {
            dev.apply_set(&add, now(), &mut rng).expect("applies");
            dev.apply_set(&remove, now(), &mut rng).expect("applies")
        });
    });
    group.finish();
}

/// One loop of the timer thread: `next_deadline`, then `tick` as if it were due.
fn timer_loop(dev: &Device, at: Duration, rng: &mut StdRng, out: &mut Outbox) {
    black_box(dev.next_deadline());
    dev.tick(at, SystemTime::UNIX_EPOCH + at, rng, out);
    out.drain().for_each(drop);
}

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers_100k");
    let mut rng = StdRng::seed_from_u64(4);
    let mut out = Outbox::new();
    let idle = large_device();
    assert_eq!(idle.next_deadline(), None);
    group.bench_function("idle_next_deadline_and_tick", |b| {
        b.iter(|| timer_loop(idle, now() + Duration::from_secs(1), &mut rng, &mut out));
    });
    // Every peer with a persistent keepalive: the first tick sends 100k initiations (to their endpoints, which
    // never answer), leaving every peer with a retransmission pending 5 s later.
    let armed = device_with(LARGE, Some(25));
    armed.tick(now(), SystemTime::UNIX_EPOCH + now(), &mut rng, &mut out);
    assert_eq!(out.len(), LARGE, "one initiation per peer");
    out.drain().for_each(drop);
    let pending = armed.next_deadline().expect("retransmissions pending");
    assert!(pending > now() + Duration::from_secs(1));
    group.bench_function("armed_not_due_next_deadline_and_tick", |b| {
        b.iter(|| timer_loop(&armed, now() + Duration::from_secs(1), &mut rng, &mut out));
    });
    group.finish();
}

fn control(c: &mut Criterion) {
    let mut group = c.benchmark_group("control_100k");
    group.sample_size(20);
    let dev = large_device();
    let wall = SystemTime::now();
    group.bench_function("get_state", |b| {
        b.iter(|| dev.get_state(now(), wall).peers.len());
    });
    group.bench_function("get_state_and_uapi_text", |b| {
        let mut text = String::new();
        b.iter(|| {
            text.clear();
            wgxdp_uapi::write_get_response(&dev.get_state(now(), wall), &mut text);
            text.len()
        });
    });
    group.bench_function("explain_peer", |b| {
        let key = keys()[LARGE / 2];
        b.iter(|| dev.explain_peer(&key).expect("peer").to_string().len());
    });
    group.bench_function("explain_address", |b| {
        b.iter(|| dev.explain_address(address(LARGE / 2)).to_string().len());
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    apply(&mut c);
    timers(&mut c);
    control(&mut c);
    c.final_summary();
}

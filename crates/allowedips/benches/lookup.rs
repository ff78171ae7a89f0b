//! Lookup throughput of `AllowedIps` against `ip_network_table` (what boringtun uses) and a naive
//! linear scan, on the same random tables (1k, 100k, 1M IPv4 prefixes with a BGP-like length mix, and
//! 100k IPv6 prefixes) and the same random lookup keys. Also prints build time, remove-peer time and
//! memory per prefix.
//!
//! Run: `cargo bench -p wgxdp-allowedips --bench lookup` (a few minutes on 2 cores; the 1M data set is
//! built once). Without `--bench` (e.g. `cargo test --benches`) it runs a quick smoke version.

#[path = "../tests/common/gen.rs"]
mod gen;
#[path = "../tests/common/oracle.rs"]
mod oracle;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use ip_network::{IpNetwork, Ipv4Network, Ipv6Network};
use ip_network_table::IpNetworkTable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_allowedips::{AllowedIps, Prefix};

/// Peers the prefixes are spread over.
const PEERS: u32 = 1_000;
/// Keys per measured batch: enough that the tables' working sets do not sit in L1.
const KEYS: usize = 1 << 16;

struct DataSet {
    name: String,
    prefixes: Vec<(Prefix, u32)>,
    keys: Vec<IpAddr>,
}

fn data_set(rng: &mut StdRng, name: &str, all: &[(Prefix, u32)], n: usize, v6: bool) -> DataSet {
    let prefixes = all[..n.min(all.len())].to_vec();
    let plain: Vec<Prefix> = prefixes.iter().map(|e| e.0).collect();
    let keys = gen::lookup_keys(rng, &plain, KEYS, v6);
    DataSet {
        name: name.to_owned(),
        prefixes,
        keys,
    }
}

fn build_ours(prefixes: &[(Prefix, u32)]) -> AllowedIps<u32> {
    let table = AllowedIps::new();
    table.apply(|t| {
        for &(prefix, peer) in prefixes {
            t.insert(prefix, peer).expect("table has room");
        }
    });
    table
}

fn network(prefix: Prefix) -> IpNetwork {
    match prefix.addr() {
        IpAddr::V4(a) => IpNetwork::V4(Ipv4Network::new_truncate(a, prefix.len()).expect("valid")),
        IpAddr::V6(a) => IpNetwork::V6(Ipv6Network::new_truncate(a, prefix.len()).expect("valid")),
    }
}

fn build_theirs(prefixes: &[(Prefix, u32)]) -> IpNetworkTable<u32> {
    let mut table = IpNetworkTable::new();
    for &(prefix, peer) in prefixes {
        table.insert(network(prefix), peer);
    }
    table
}

fn build_linear(prefixes: &[(Prefix, u32)]) -> oracle::LinearTable<u32> {
    let mut table = oracle::LinearTable::new();
    for &(prefix, peer) in prefixes {
        table.insert(prefix, peer);
    }
    table
}

fn time<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// Build time, remove-peer time, single-update publish time and memory per prefix, printed once.
fn print_figures(all_v4: &[(Prefix, u32)], all_v6: &[(Prefix, u32)]) {
    println!("== build / update / memory (n = prefixes inserted; duplicates collapse) ==");
    for &n in &[1_000usize, 100_000, 1_000_000] {
        let n = n.min(all_v4.len());
        let (ours, t_ours) = time(|| build_ours(&all_v4[..n]));
        let (theirs, t_theirs) = time(|| build_theirs(&all_v4[..n]));
        let m = ours.memory();
        println!(
            "v4 n={n:>8}: build wgxdp {t_ours:>10.2?}  ip_network_table {t_theirs:>10.2?} | \
             wgxdp memory: lookup {:.1} B/prefix, total {:.1} B/prefix ({} prefixes)",
            m.lookup_bytes_per_prefix(),
            m.total_bytes_per_prefix(),
            m.prefixes,
        );
        black_box(theirs.len());
    }
    let (v6, t_v6) = time(|| build_ours(all_v6));
    let m = v6.memory();
    println!(
        "v6 n={:>8}: build wgxdp {t_v6:>10.2?} | wgxdp memory: lookup {:.1} B/prefix, total {:.1} B/prefix",
        all_v6.len(),
        m.lookup_bytes_per_prefix(),
        m.total_bytes_per_prefix(),
    );

    // Remove a peer owning 100k of 1M prefixes: give every 10th prefix to a dedicated peer.
    let big: Vec<(Prefix, u32)> = all_v4
        .iter()
        .enumerate()
        .map(|(i, &(p, peer))| (p, if i % 10 == 0 { PEERS } else { peer }))
        .collect();
    let table = build_ours(&big);
    let owned = table.prefixes_of(PEERS).len();
    let (removed, t_remove) = time(|| table.remove_peer(PEERS));
    println!(
        "remove_peer with {owned} prefixes (of {}): removed {removed} in {t_remove:.2?}",
        big.len()
    );
    let extra: Prefix = "198.51.100.0/24".parse().expect("valid");
    let (_, t_one) = time(|| table.insert(extra, 1));
    println!(
        "single insert + publish into a {}-prefix table: {t_one:.2?}",
        table.len()
    );
}

fn bench_lookups(c: &mut Criterion, sets: &[DataSet], v6: &DataSet, linear_limit: usize) {
    let mut group = c.benchmark_group("lookup_v4");
    for set in sets {
        let ours = build_ours(&set.prefixes);
        let theirs = build_theirs(&set.prefixes);
        let keys_u32: Vec<u32> = set
            .keys
            .iter()
            .map(|a| match a {
                IpAddr::V4(a) => u32::from(*a),
                IpAddr::V6(_) => 0,
            })
            .collect();
        let keys_v4: Vec<Ipv4Addr> = keys_u32.iter().map(|&k| Ipv4Addr::from(k)).collect();
        // Sanity: all implementations agree on the data being measured.
        for (i, &k) in keys_u32.iter().enumerate().take(2_000) {
            let want = theirs.longest_match_ipv4(keys_v4[i]).map(|(_, &p)| p);
            assert_eq!(
                ours.lookup_v4(k),
                want,
                "wgxdp and ip_network_table disagree on {}",
                keys_v4[i]
            );
        }

        group.throughput(Throughput::Elements(keys_u32.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("wgxdp_snapshot", &set.name),
            &keys_u32,
            |b, keys| {
                b.iter(|| {
                    // One snapshot per batch, as the data path does per packet batch.
                    let snap = ours.snapshot();
                    keys.iter().fold(0u32, |acc, &k| {
                        acc.wrapping_add(snap.lookup_v4(k).unwrap_or(0))
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("wgxdp_load_each", &set.name),
            &keys_u32,
            |b, keys| {
                b.iter(|| {
                    keys.iter().fold(0u32, |acc, &k| {
                        acc.wrapping_add(ours.lookup_v4(k).unwrap_or(0))
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("ip_network_table", &set.name),
            &keys_v4,
            |b, keys| {
                b.iter(|| {
                    keys.iter().fold(0u32, |acc, &k| {
                        acc.wrapping_add(theirs.longest_match_ipv4(k).map_or(0, |(_, &p)| p))
                    })
                })
            },
        );
        if set.prefixes.len() <= linear_limit {
            let linear = build_linear(&set.prefixes);
            // The linear scan is slow: measure it on a slice of the keys.
            let few = &keys_u32[..keys_u32.len().min(if set.prefixes.len() > 10_000 {
                256
            } else {
                8_192
            })];
            group.throughput(Throughput::Elements(few.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("linear_scan", &set.name),
                few,
                |b, keys| {
                    b.iter(|| {
                        keys.iter().fold(0u32, |acc, &k| {
                            acc.wrapping_add(linear.lookup_v4(k).unwrap_or(0))
                        })
                    })
                },
            );
        }
        drop(ours);
    }
    group.finish();

    let mut group = c.benchmark_group("lookup_v6");
    let ours = build_ours(&v6.prefixes);
    let theirs = build_theirs(&v6.prefixes);
    let keys_u128: Vec<u128> = v6
        .keys
        .iter()
        .map(|a| match a {
            IpAddr::V6(a) => u128::from(*a),
            IpAddr::V4(_) => 0,
        })
        .collect();
    let keys_v6: Vec<Ipv6Addr> = keys_u128.iter().map(|&k| Ipv6Addr::from(k)).collect();
    for (i, &k) in keys_u128.iter().enumerate().take(2_000) {
        let want = theirs.longest_match_ipv6(keys_v6[i]).map(|(_, &p)| p);
        assert_eq!(
            ours.lookup_v6(k),
            want,
            "wgxdp and ip_network_table disagree on {}",
            keys_v6[i]
        );
    }
    group.throughput(Throughput::Elements(keys_u128.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("wgxdp_snapshot", &v6.name),
        &keys_u128,
        |b, keys| {
            b.iter(|| {
                let snap = ours.snapshot();
                keys.iter().fold(0u32, |acc, &k| {
                    acc.wrapping_add(snap.lookup_v6(k).unwrap_or(0))
                })
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("ip_network_table", &v6.name),
        &keys_v6,
        |b, keys| {
            b.iter(|| {
                keys.iter().fold(0u32, |acc, &k| {
                    acc.wrapping_add(theirs.longest_match_ipv6(k).map_or(0, |(_, &p)| p))
                })
            })
        },
    );
    group.finish();
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) gets a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (v4_total, v6_total) = if full {
        (1_000_000, 100_000)
    } else {
        (1_000, 1_000)
    };

    let mut rng = StdRng::seed_from_u64(0x00a1_10ed);
    let all_v4: Vec<(Prefix, u32)> = (0..v4_total)
        .map(|_| (gen::v4_prefix(&mut rng), rng.gen_range(0..PEERS)))
        .collect();
    let all_v6: Vec<(Prefix, u32)> = (0..v6_total)
        .map(|_| (gen::v6_prefix(&mut rng), rng.gen_range(0..PEERS)))
        .collect();

    let sizes: &[(&str, usize)] = if full {
        &[("1k", 1_000), ("100k", 100_000), ("1M", 1_000_000)]
    } else {
        &[("1k", 1_000)]
    };
    let sets: Vec<DataSet> = sizes
        .iter()
        .map(|&(name, n)| data_set(&mut rng, name, &all_v4, n, false))
        .collect();
    let v6_name = if full { "100k" } else { "1k" };
    let v6 = data_set(&mut rng, v6_name, &all_v6, all_v6.len(), true);

    if full {
        print_figures(&all_v4, &all_v6);
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    bench_lookups(&mut c, &sets, &v6, 100_000);
    c.final_summary();
}

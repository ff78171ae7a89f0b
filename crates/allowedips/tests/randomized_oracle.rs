//! Randomized differential test: thousands of peers and prefixes, mutated in batches, millions of
//! random lookups compared with a naive linear scan, then peers removed one by one until empty.

mod common;

use std::net::IpAddr;

use common::gen;
use common::oracle::LinearTable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_allowedips::{AllowedIps, Prefix, Snapshot};

const PEERS: u32 = 2_000;
const INITIAL_V4: usize = 2_000;
const INITIAL_V6: usize = 700;
const ROUNDS: usize = 6;
const LOOKUPS_PER_ROUND: usize = 300_000;
const LOOKUPS_PER_PEER_REMOVAL: usize = 400;

/// A fresh random prefix, or (often) one nested inside or around an existing one, so that the table
/// has plenty of overlaps, shared chunks and same-network-different-length pairs.
fn some_prefix(rng: &mut StdRng, existing: &[Prefix]) -> Prefix {
    let v6 = rng.gen_bool(0.25);
    if existing.is_empty() || rng.gen_bool(0.6) {
        return if v6 {
            gen::v6_prefix(rng)
        } else {
            gen::v4_prefix(rng)
        };
    }
    let base = existing[rng.gen_range(0..existing.len())];
    let width = if base.is_ipv4() { 32 } else { 128 };
    let len = if rng.gen_bool(0.8) {
        (base.len() + rng.gen_range(1..=9)).min(width)
    } else {
        base.len().saturating_sub(rng.gen_range(1..=6))
    };
    // Random host bits on purpose: the table must mask them.
    Prefix::new(gen::address_in(rng, &base), len).unwrap()
}

/// Compares `count` random lookups (half inside known prefixes) between the snapshot and the oracle.
fn compare_lookups(
    rng: &mut StdRng,
    snap: &Snapshot<u32>,
    oracle: &LinearTable<u32>,
    known: &[Prefix],
    count: usize,
) {
    for _ in 0..count {
        let addr = if !known.is_empty() && rng.gen_bool(0.5) {
            let at = rng.gen_range(0..known.len());
            gen::address_in(rng, &known[at])
        } else if rng.gen_bool(0.25) {
            IpAddr::V6(((1u128 << 125) | (rng.gen::<u128>() >> 3)).into())
        } else {
            IpAddr::V4(rng.gen::<u32>().into())
        };
        let got = snap.lookup(addr);
        let want = oracle.lookup(addr);
        assert_eq!(got, want, "lookup {addr}");
        // The ACL is the global lookup: the owner accepts, any other peer is refused.
        if let Some(owner) = want {
            assert!(snap.check_source(owner, addr));
            assert!(!snap.check_source(owner ^ 1, addr));
        }
    }
}

fn check_peer_lists(rng: &mut StdRng, table: &AllowedIps<u32>, oracle: &LinearTable<u32>) {
    assert_eq!(table.len(), oracle.len());
    for _ in 0..50 {
        let peer = rng.gen_range(0..PEERS);
        assert_eq!(
            table.prefixes_of(peer),
            oracle.prefixes_of(peer),
            "prefixes of peer {peer}"
        );
    }
}

fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let table = AllowedIps::new();
    let mut oracle = LinearTable::new();
    let mut known: Vec<Prefix> = Vec::new();

    table.apply(|t| {
        while known.len() < INITIAL_V4 + INITIAL_V6 {
            let v6_needed = known.iter().filter(|p| !p.is_ipv4()).count() < INITIAL_V6;
            let prefix = loop {
                let candidate = some_prefix(&mut rng, &known);
                if candidate.is_ipv4() != v6_needed {
                    break candidate;
                }
            };
            let peer = rng.gen_range(0..PEERS);
            assert_eq!(t.insert(prefix, peer).unwrap(), oracle.insert(prefix, peer));
            known.push(prefix);
        }
    });
    compare_lookups(
        &mut rng,
        &table.snapshot(),
        &oracle,
        &known,
        LOOKUPS_PER_ROUND,
    );
    check_peer_lists(&mut rng, &table, &oracle);

    for _ in 0..ROUNDS {
        // One batch of mixed changes, published once.
        table.apply(|t| {
            for _ in 0..500 {
                match rng.gen_range(0..100) {
                    0..=44 => {
                        let prefix = some_prefix(&mut rng, &known);
                        let peer = rng.gen_range(0..PEERS);
                        assert_eq!(t.insert(prefix, peer).unwrap(), oracle.insert(prefix, peer));
                        known.push(prefix);
                    }
                    45..=59 => {
                        // Move an existing prefix to another peer.
                        let prefix = known[rng.gen_range(0..known.len())];
                        let peer = rng.gen_range(0..PEERS);
                        assert_eq!(t.insert(prefix, peer).unwrap(), oracle.insert(prefix, peer));
                    }
                    60..=96 => {
                        let prefix = known[rng.gen_range(0..known.len())];
                        assert_eq!(t.remove(prefix), oracle.remove(prefix), "remove {prefix}");
                    }
                    _ => {
                        let peer = rng.gen_range(0..PEERS);
                        assert_eq!(
                            t.remove_peer(peer),
                            oracle.remove_peer(peer),
                            "remove peer {peer}"
                        );
                    }
                }
            }
        });
        compare_lookups(
            &mut rng,
            &table.snapshot(),
            &oracle,
            &known,
            LOOKUPS_PER_ROUND,
        );
        check_peer_lists(&mut rng, &table, &oracle);
    }

    // Tear down peer by peer; every intermediate table must still agree with the oracle.
    for peer in 0..PEERS {
        assert_eq!(
            table.remove_peer(peer),
            oracle.remove_peer(peer),
            "remove peer {peer}"
        );
        assert_eq!(table.len(), oracle.len());
        compare_lookups(
            &mut rng,
            &table.snapshot(),
            &oracle,
            &known,
            LOOKUPS_PER_PEER_REMOVAL,
        );
    }
    assert!(table.is_empty());
    assert_eq!(table.lookup("10.0.0.1".parse().unwrap()), None);
    // Removal folded every chunk back into the root: no memory leaked by the incremental updates.
    assert_eq!(table.chunk_count(), (0, 0));
}

#[test]
fn matches_linear_scan_seed_1() {
    run(1);
}

#[test]
fn matches_linear_scan_seed_2() {
    run(0x5eed_2026);
}

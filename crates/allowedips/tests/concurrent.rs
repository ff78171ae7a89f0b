//! Readers look up while a writer inserts and removes: every result a reader sees must be what some
//! published version of the table answers, and every snapshot must be exactly one version.

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::gen;
use common::oracle::LinearTable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_allowedips::{AllowedIps, Prefix};

const READERS: usize = 3;
const VERSIONS: usize = 300;
/// Addresses the readers probe; small so that every version's answers can be precomputed.
const PROBES: usize = 400;
/// Observations a reader keeps for the final check (it keeps looking up after that).
const MAX_RECORDS: usize = 200_000;

/// (generation seen, probe index, answer).
type Record = (u64, usize, Option<u32>);

#[test]
fn readers_only_see_published_versions() {
    let mut rng = StdRng::seed_from_u64(7);
    // A pool of overlapping prefixes (nested ones included) that the writer toggles on and off.
    let mut pool: Vec<Prefix> = Vec::new();
    while pool.len() < 120 {
        let p = if pool.is_empty() || rng.gen_bool(0.5) {
            if rng.gen_bool(0.7) {
                gen::v4_prefix(&mut rng)
            } else {
                gen::v6_prefix(&mut rng)
            }
        } else {
            let base = pool[rng.gen_range(0..pool.len())];
            let width = if base.is_ipv4() { 32 } else { 128 };
            Prefix::new(
                gen::address_in(&mut rng, &base),
                (base.len() + rng.gen_range(1..=8)).min(width),
            )
            .unwrap()
        };
        pool.push(p);
    }
    let probes: Arc<Vec<IpAddr>> = Arc::new(
        gen::lookup_keys(&mut rng, &pool, PROBES, false)
            .into_iter()
            .chain(gen::lookup_keys(&mut rng, &pool, PROBES / 4, true))
            .collect(),
    );

    let table = Arc::new(AllowedIps::<u32>::new());
    let stop = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (table, stop, probes) =
                (Arc::clone(&table), Arc::clone(&stop), Arc::clone(&probes));
            thread::spawn(move || {
                let mut snapshot_records: Vec<Record> = Vec::new();
                // (generation before, generation after, probe, answer) for lookups not pinned to a snapshot.
                let mut loose_records: Vec<(u64, u64, usize, Option<u32>)> = Vec::new();
                let mut i = r;
                while !stop.load(Ordering::Relaxed) {
                    let snap = table.snapshot();
                    for _ in 0..8 {
                        i = (i + 7) % probes.len();
                        let answer = snap.lookup(probes[i]);
                        if snapshot_records.len() < MAX_RECORDS {
                            snapshot_records.push((snap.generation(), i, answer));
                        }
                    }
                    drop(snap);
                    let before = table.snapshot().generation();
                    let answer = table.lookup(probes[i]);
                    let after = table.snapshot().generation();
                    if loose_records.len() < MAX_RECORDS {
                        loose_records.push((before, after, i, answer));
                    }
                }
                (snapshot_records, loose_records)
            })
        })
        .collect();

    // The writer: a sequence of transactions; after each, remember what every probe should answer.
    let mut oracle = LinearTable::new();
    let answers_of = |oracle: &LinearTable<u32>| -> Vec<Option<u32>> {
        probes.iter().map(|&a| oracle.lookup(a)).collect()
    };
    let mut expected: Vec<Vec<Option<u32>>> = vec![answers_of(&oracle)];
    for version in 1..=VERSIONS {
        table.apply(|t| {
            for _ in 0..rng.gen_range(1..=6) {
                let prefix = pool[rng.gen_range(0..pool.len())];
                match rng.gen_range(0..10) {
                    0..=5 => {
                        let peer = rng.gen_range(0..12);
                        t.insert(prefix, peer).unwrap();
                        oracle.insert(prefix, peer);
                    }
                    6..=8 => {
                        t.remove(prefix);
                        oracle.remove(prefix);
                    }
                    _ => {
                        let peer = rng.gen_range(0..12);
                        t.remove_peer(peer);
                        oracle.remove_peer(peer);
                    }
                }
            }
        });
        let generation = table.snapshot().generation();
        // Transactions that happened to change nothing publish nothing; repeat the last answers.
        while (expected.len() as u64) <= generation {
            expected.push(answers_of(&oracle));
        }
        assert_eq!(expected.len() as u64, generation + 1, "version {version}");
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);

    let mut checked = 0usize;
    let mut generations_seen = std::collections::HashSet::new();
    for reader in readers {
        let (snapshot_records, loose_records) = reader.join().unwrap();
        for (generation, probe, answer) in snapshot_records {
            generations_seen.insert(generation);
            let version = &expected[generation as usize];
            assert_eq!(
                answer, version[probe],
                "snapshot of generation {generation}, probe {}",
                probes[probe]
            );
            checked += 1;
        }
        for (before, after, probe, answer) in loose_records {
            let possible = (before..=after).any(|g| expected[g as usize][probe] == answer);
            assert!(
                possible,
                "lookup of {} gave {answer:?}, not in versions {before}..={after}",
                probes[probe]
            );
            checked += 1;
        }
    }
    assert!(checked > 1000, "readers ran ({checked} checks)");
    assert!(
        generations_seen.len() > 1,
        "readers observed updates ({} versions)",
        generations_seen.len()
    );
}

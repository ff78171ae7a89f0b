//! Randomized differential test of the shadow queries (`shadowed`, `shadowed_by`, `shadows_around`), which
//! walk only the prefixes concerned, against a brute-force definition over every pair of prefixes.

mod common;

use common::gen;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_allowedips::{AllowedIps, Prefix, Shadow};

const PEERS: u32 = 12;
const PREFIXES: usize = 400;

/// Addresses in the prefix; `None` for 2^128.
fn size(p: &Prefix) -> Option<u128> {
    let width: u32 = if p.is_ipv4() { 32 } else { 128 };
    1u128.checked_shl(width - u32::from(p.len()))
}

/// Brute force: the nearest table prefix strictly enclosing `p`.
fn parent(entries: &[(Prefix, u32)], p: &Prefix) -> Option<(Prefix, u32)> {
    entries
        .iter()
        .filter(|(q, _)| q.len() < p.len() && q.covers(p))
        .max_by_key(|(q, _)| q.len())
        .copied()
}

/// Brute force: the shadow of the table prefix `q` (foreign prefixes whose parent is `q`).
fn shadow(entries: &[(Prefix, u32)], q: &Prefix) -> Option<Shadow<u32>> {
    let &(_, owner) = entries.iter().find(|(p, _)| p == q)?;
    let mut by: Vec<(Prefix, u32)> = entries
        .iter()
        .filter(|(c, o)| *o != owner && parent(entries, c).map(|(p, _)| p) == Some(*q))
        .copied()
        .collect();
    if by.is_empty() {
        return None;
    }
    by.sort();
    let total = by
        .iter()
        .try_fold(0u128, |acc, (p, _)| acc.checked_add(size(p)?));
    let fully = match (total, size(q)) {
        (Some(t), Some(s)) => t == s,
        (None, None) => true,
        _ => false,
    };
    Some(Shadow {
        peer: owner,
        prefix: *q,
        by,
        fully,
    })
}

fn some_prefix(rng: &mut StdRng, known: &[Prefix]) -> Prefix {
    if known.is_empty() || rng.gen_bool(0.3) {
        return if rng.gen_bool(0.3) {
            gen::v6_prefix(rng)
        } else {
            gen::v4_prefix(rng)
        };
    }
    // Mostly nested inside (or around) an existing prefix, so that shadows are plentiful.
    let base = known[rng.gen_range(0..known.len())];
    let width = if base.is_ipv4() { 32 } else { 128 };
    let len = if rng.gen_bool(0.85) {
        (base.len() + rng.gen_range(1..=4)).min(width)
    } else {
        base.len().saturating_sub(rng.gen_range(1..=3))
    };
    Prefix::new(gen::address_in(rng, &base), len).unwrap()
}

fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let table = AllowedIps::new();
    let mut known: Vec<Prefix> = Vec::new();
    for _ in 0..PREFIXES {
        let prefix = some_prefix(&mut rng, &known);
        table.insert(prefix, rng.gen_range(0..PEERS)).unwrap();
        known.push(prefix);
    }
    // Some removals, so that parents change owner or disappear.
    for _ in 0..PREFIXES / 10 {
        table.remove(known[rng.gen_range(0..known.len())]);
    }
    let entries: Vec<(Prefix, u32)> = (0..PEERS)
        .flat_map(|peer| table.prefixes_of(peer).into_iter().map(move |p| (p, peer)))
        .collect();

    let mut any_shadow = false;
    for peer in 0..PEERS {
        let mut want: Vec<Shadow<u32>> = entries
            .iter()
            .filter(|(_, o)| *o == peer)
            .filter_map(|(p, _)| shadow(&entries, p))
            .collect();
        want.sort_by_key(|s| s.prefix);
        any_shadow |= !want.is_empty();
        assert_eq!(table.shadowed(peer), want, "shadowed({peer}), seed {seed}");

        // shadowed_by: the parents owned by others, listing only this peer's prefixes.
        let mut want_by: Vec<Shadow<u32>> = Vec::new();
        for (p, _) in entries.iter().filter(|(_, o)| *o == peer) {
            let Some((q, owner)) = parent(&entries, p) else {
                continue;
            };
            if owner == peer {
                continue;
            }
            match want_by.iter_mut().find(|s| s.prefix == q) {
                Some(s) => s.by.push((*p, peer)),
                None => want_by.push(Shadow {
                    peer: owner,
                    prefix: q,
                    by: vec![(*p, peer)],
                    fully: false,
                }),
            }
        }
        for s in &mut want_by {
            s.by.sort();
            let total =
                s.by.iter()
                    .try_fold(0u128, |acc, (p, _)| acc.checked_add(size(p)?));
            s.fully = match (total, size(&s.prefix)) {
                (Some(t), Some(z)) => t == z,
                (None, None) => true,
                _ => false,
            };
        }
        want_by.sort_by_key(|s| s.prefix);
        assert_eq!(
            table.shadowed_by(peer),
            want_by,
            "shadowed_by({peer}), seed {seed}"
        );
    }
    assert!(any_shadow, "the generator must produce shadows");

    // shadows_around: the shadows of the named prefixes (present or not) and of their parents.
    for _ in 0..50 {
        let named: Vec<Prefix> = (0..rng.gen_range(1..8))
            .map(|_| known[rng.gen_range(0..known.len())])
            .collect();
        let mut candidates: Vec<Prefix> = named
            .iter()
            .flat_map(|p| [Some(*p), parent(&entries, p).map(|(q, _)| q)])
            .flatten()
            .collect();
        candidates.sort();
        candidates.dedup();
        let want: Vec<Shadow<u32>> = candidates
            .iter()
            .filter_map(|q| shadow(&entries, q))
            .collect();
        assert_eq!(
            table.shadows_around(&named),
            want,
            "shadows_around({named:?}), seed {seed}"
        );
    }
}

#[test]
fn shadows_match_brute_force_seed_1() {
    run(1);
}

#[test]
fn shadows_match_brute_force_seed_2() {
    run(2);
}

#[test]
fn shadows_match_brute_force_seed_3() {
    run(3);
}

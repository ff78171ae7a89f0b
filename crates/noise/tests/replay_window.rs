//! Replay window: the Linux counter self-test sequence, a model comparison on reordered and duplicated
//! streams, and concurrent submission of the same counters from several threads.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use wgxdp_noise::constants::{REJECT_AFTER_MESSAGES, REPLAY_WINDOW};
use wgxdp_noise::replay::ReplayWindow;

const W: u64 = REPLAY_WINDOW;
/// One past the window, as in the kernel self-test: the first counter that slides the window.
const LIM: u64 = W + 1;
const REJECT: u64 = REJECT_AFTER_MESSAGES;

/// Submit each (counter, expected) in order to a fresh window, naming the failing step.
fn run_table(name: &str, table: &[(u64, bool)]) {
    let window = ReplayWindow::new();
    for (step, &(counter, expected)) in table.iter().enumerate() {
        assert_eq!(
            window.check_and_update(counter),
            expected,
            "{name}: step {} (counter {counter})",
            step + 1
        );
    }
}

#[test]
fn linux_selftest_sequence() {
    // The cases of drivers/net/wireguard/selftest/counter.c, in its order.
    let table = [
        (0, true),
        (1, true),
        (1, false),
        (9, true),
        (8, true),
        (7, true),
        (7, false),
        (LIM, true),
        (LIM - 1, true),
        (LIM - 1, false),
        (LIM - 2, true),
        (2, true),
        (2, false),
        (LIM + 16, true),
        (3, false),
        (LIM + 16, false),
        (LIM * 4, true),
        (LIM * 4 - (LIM - 1), true),
        (10, false),
        (LIM * 4 - LIM, false),
        (LIM * 4 - (LIM + 1), false),
        (LIM * 4 - (LIM - 2), true),
        (LIM * 4 + 1 - LIM, false),
        (0, false),
        (REJECT, false),
        (REJECT - 1, true),
        (REJECT, false),
        (REJECT - 1, false),
        (REJECT - 2, true),
        (REJECT + 1, false),
        (REJECT + 2, false),
        (REJECT - 2, false),
        (REJECT - 3, true),
        (0, false),
    ];
    run_table("selftest", &table);
}

#[test]
fn linux_selftest_bulk_sequences() {
    // Bulk 1: a full window ascending from 1, then 0 is exactly at the edge.
    let mut t: Vec<(u64, bool)> = (1..=W).map(|i| (i, true)).collect();
    t.extend([(0, true), (0, false)]);
    run_table("bulk 1", &t);

    // Bulk 2: ascending from 2 to W + 1: 1 is at the edge, 0 just past it.
    let mut t: Vec<(u64, bool)> = (2..=W + 1).map(|i| (i, true)).collect();
    t.extend([(1, true), (0, false)]);
    run_table("bulk 2", &t);

    // Bulk 3: descending from W + 1 to 1: all inside.
    let t: Vec<(u64, bool)> = (1..=W + 1).rev().map(|i| (i, true)).collect();
    run_table("bulk 3", &t);

    // Bulk 4: descending from W + 2 to 2, then 0 is one past the edge.
    let mut t: Vec<(u64, bool)> = (2..=W + 2).rev().map(|i| (i, true)).collect();
    t.push((0, false));
    run_table("bulk 4", &t);

    // Bulk 5: descending from W to 1, then W + 1 slides the window past 0.
    let mut t: Vec<(u64, bool)> = (1..=W).rev().map(|i| (i, true)).collect();
    t.extend([(W + 1, true), (0, false)]);
    run_table("bulk 5", &t);

    // Bulk 6: as 5 but 0 arrives before the slide and is kept.
    let mut t: Vec<(u64, bool)> = (1..=W).rev().map(|i| (i, true)).collect();
    t.extend([(0, true), (W + 1, true)]);
    run_table("bulk 6", &t);
}

/// The window's specification, as the simplest possible code: accept a counter below the limit that was never
/// accepted and is at most `W` behind the highest accepted counter.
#[derive(Default)]
struct Model {
    seen: HashSet<u64>,
    highest: Option<u64>,
}

impl Model {
    fn check_and_update(&mut self, counter: u64) -> bool {
        let too_old = self.highest.is_some_and(|h| h > counter && h - counter > W);
        if counter >= REJECT || too_old || self.seen.contains(&counter) {
            return false;
        }
        self.seen.insert(counter);
        self.highest = Some(self.highest.map_or(counter, |h| h.max(counter)));
        true
    }
}

#[test]
fn reordered_and_duplicated_stream_matches_the_model() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let window = ReplayWindow::new();
    let mut model = Model::default();
    let mut next = 0u64;
    let mut accepted = 0usize;
    for step in 0..300_000 {
        // Mostly a stream moving forward with bounded reordering; sometimes duplicates, stragglers from well
        // behind the window, and jumps far ahead (which leave lazily recycled slots stale). The limit values are
        // covered by the self-test table: once accepted, nothing further could be.
        let counter = match rng.gen_range(0..100) {
            0..=59 => {
                next += 1;
                next + rng.gen_range(0..64)
            }
            60..=79 => next.saturating_sub(rng.gen_range(0..W + 200)),
            80..=94 => next.saturating_sub(rng.gen_range(0..64)),
            95..=98 => next.saturating_sub(rng.gen_range(W..4 * W)),
            _ => {
                next += rng.gen_range(W..20 * W);
                next
            }
        };
        let expected = model.check_and_update(counter);
        assert_eq!(
            window.check_and_update(counter),
            expected,
            "step {step}, counter {counter}"
        );
        accepted += usize::from(expected);
    }
    assert!(
        accepted > 150_000,
        "the stream should mostly be accepted: {accepted}"
    );
}

#[test]
fn huge_forward_jump_slides_the_whole_window() {
    let window = ReplayWindow::new();
    for c in 0..100 {
        assert!(window.check_and_update(c));
    }
    // Far ahead, but not a multiple of 2^45 counters: see the replay module's note on stale slots.
    let far = (1u64 << 50) + 3000 * 8192 + 17;
    assert!(window.check_and_update(far));
    assert!(!window.check_and_update(99), "far behind the new highest");
    for c in (far - W..far).rev() {
        assert!(
            window.check_and_update(c),
            "counter {c} is inside the window"
        );
    }
    assert!(!window.check_and_update(far - W - 1));
    for c in far - W..=far {
        assert!(!window.check_and_update(c), "counter {c} is a duplicate");
    }
}

/// Four threads submit their own shuffle of the same counters; returns how often each counter was accepted.
fn race(window: &ReplayWindow, counters: &[u64], base: u64, seed: u64) -> Vec<u32> {
    let hits: Vec<AtomicU32> = counters.iter().map(|_| AtomicU32::new(0)).collect();
    let barrier = Barrier::new(4);
    std::thread::scope(|s| {
        for thread in 0..4u64 {
            let (hits, barrier) = (&hits, &barrier);
            s.spawn(move || {
                let mut order: Vec<u64> = counters.to_vec();
                order.shuffle(&mut StdRng::seed_from_u64(seed * 31 + thread));
                barrier.wait();
                for c in order {
                    if window.check_and_update(c) {
                        hits[(c - base) as usize].fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    hits.into_iter().map(AtomicU32::into_inner).collect()
}

#[test]
fn concurrent_threads_accept_each_counter_exactly_once() {
    let window = ReplayWindow::new();
    // Rounds of W + 1 consecutive counters: any order stays inside the window, so every counter must be
    // accepted exactly once. Each round is past the previous one, so every slot gets recycled under contention.
    for round in 0..6u64 {
        let base = round * (W + 1) * 3 / 2;
        let counters: Vec<u64> = (base..=base + W).collect();
        let hits = race(&window, &counters, base, round);
        for (i, h) in hits.iter().enumerate() {
            assert_eq!(
                *h,
                1,
                "round {round}: counter {} accepted {h} times",
                base + i as u64
            );
        }
    }
}

#[test]
fn concurrent_threads_never_accept_twice_when_the_window_slides() {
    let window = ReplayWindow::new();
    // Three windows' worth shuffled: old counters may legitimately fall out of the window before any thread
    // gets to them, but none may be accepted twice, and the last W + 1 (never outside the window) exactly once.
    let base = 1000u64;
    let counters: Vec<u64> = (base..base + 3 * (W + 1)).collect();
    let highest = *counters.last().unwrap();
    let hits = race(&window, &counters, base, 99);
    for (i, h) in hits.iter().enumerate() {
        let c = base + i as u64;
        assert!(*h <= 1, "counter {c} accepted {h} times");
        if highest - c <= W {
            assert_eq!(*h, 1, "counter {c} was always inside the window");
        }
    }
    assert_eq!(window.highest(), Some(highest));
}

//! Two protocol cores talking under simulated time: a handshake, ten thousand packets each way, a rekey at
//! REKEY_AFTER_TIME, then a partition that lets the session expire at REJECT_AFTER_TIME. Prints what happened.
//!
//! `cargo run --release -p wgxdp-noise --example two_peers`

#[path = "../tests/common/pair.rs"]
mod pair;

use std::time::{Duration, Instant};

use pair::{payload, Pair, Side};
use wgxdp_noise::constants::{REJECT_AFTER_TIME, REKEY_AFTER_TIME};

fn main() {
    let started = Instant::now();
    let mut pair = Pair::new(2026);

    pair.send(Side::A, b"first packet triggers the handshake");
    println!(
        "t={:>8.3}s  handshake complete (A initiated)",
        pair.now.as_secs_f64()
    );

    let mut bytes = 0usize;
    for n in 1..=10_000u64 {
        let len = (n as usize * 7) % 1400 + 1;
        pair.send(Side::A, &payload(n, len));
        pair.send(Side::B, &payload(n, len));
        bytes += 2 * len;
        pair.advance(Duration::from_millis(1));
    }
    println!(
        "t={:>8.3}s  20000 packets delivered ({} bytes), {} rejected",
        pair.now.as_secs_f64(),
        bytes,
        pair.stats.rejected.len()
    );

    let birth = pair
        .a
        .tunnel
        .current_keypair()
        .map(|k| k.birth())
        .unwrap_or_default();
    let before = pair.stats.handshakes_completed.len();
    while pair.stats.handshakes_completed.len() == before {
        pair.send(Side::A, b"steady traffic");
        pair.advance(Duration::from_millis(100));
    }
    let (when, who) = pair.stats.handshakes_completed[before];
    println!(
        "t={:>8.3}s  rekey by {:?}, {:.1}s after the keypair's birth (REKEY_AFTER_TIME = {}s)",
        when.as_secs_f64(),
        who,
        (when - birth).as_secs_f64(),
        REKEY_AFTER_TIME.as_secs()
    );

    pair.lose_handshakes = true;
    let birth = pair
        .a
        .tunnel
        .current_keypair()
        .map(|k| k.birth())
        .unwrap_or_default();
    let delivered_before = pair.stats.data_delivered;
    let mut last_ok = pair.now;
    while pair.now < birth + REJECT_AFTER_TIME + Duration::from_secs(5) {
        let delivered = pair.stats.data_delivered;
        pair.send(Side::A, b"during the partition");
        if pair.stats.data_delivered > delivered {
            last_ok = pair.now;
        }
        pair.advance(Duration::from_millis(100));
    }
    println!(
        "t={:>8.3}s  handshakes lost from now on; last packet sent {:.1}s after the keypair's birth \
         (REJECT_AFTER_TIME = {}s), {} delivered during the partition",
        (birth).as_secs_f64(),
        (last_ok - birth).as_secs_f64(),
        REJECT_AFTER_TIME.as_secs(),
        pair.stats.data_delivered - delivered_before
    );
    println!(
        "totals: {} initiations sent ({} lost), {} handshakes completed, {} data and {} keepalive messages \
         delivered, {} packets staged; simulated {:.0}s in {:.2}s of real time",
        pair.stats.initiations_sent,
        pair.stats.initiations_lost,
        pair.stats.handshakes_completed.len(),
        pair.stats.data_delivered,
        pair.stats.keepalives_delivered,
        pair.stats.staged,
        pair.now.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

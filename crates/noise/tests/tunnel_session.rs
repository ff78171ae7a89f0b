//! End-to-end: two protocol cores exchange a handshake and data under simulated time, and the session's life
//! cycle (key confirmation, rekey at REKEY_AFTER_TIME, rejection at REJECT_AFTER_TIME, zeroing) happens at the
//! simulated moments the whitepaper prescribes.

mod common;

use std::time::Duration;

use common::pair::{payload, Pair, Side};
use wgxdp_noise::constants::{REJECT_AFTER_TIME, REKEY_AFTER_TIME, ZERO_KEYS_AFTER};
use wgxdp_noise::tunnel::TunnelError;

const MS: Duration = Duration::from_millis(1);

/// A's first packet triggers the handshake; afterwards both directions carry 10 000 packets each, intact and
/// in order.
#[test]
fn handshake_then_ten_thousand_packets_each_way() {
    let mut pair = Pair::new(1);
    pair.send(Side::A, &payload(0, 100));
    assert_eq!(
        pair.stats.handshakes_completed.len(),
        2,
        "initiator, then responder on key confirmation"
    );
    assert_eq!(
        pair.b.received.len(),
        1,
        "the staged packet is flushed after the handshake"
    );

    for n in 1..=10_000u64 {
        let len = (n as usize * 7) % 1400 + 1;
        pair.send(Side::A, &payload(n, len));
        pair.send(Side::B, &payload(n + 1_000_000, len));
        pair.advance(MS);
    }
    assert_eq!(pair.b.received.len(), 10_001);
    assert_eq!(pair.a.received.len(), 10_000);
    for (n, got) in pair.b.received.iter().enumerate().skip(1) {
        let len = (n * 7) % 1400 + 1;
        assert_eq!(got, &payload(n as u64, len), "A->B packet {n}");
    }
    for (i, got) in pair.a.received.iter().enumerate() {
        let n = i as u64 + 1;
        let len = (n as usize * 7) % 1400 + 1;
        assert_eq!(got, &payload(n + 1_000_000, len), "B->A packet {n}");
    }
    assert!(pair.stats.rejected.is_empty(), "{:?}", pair.stats.rejected);
    assert_eq!(
        pair.stats.initiations_sent, 1,
        "10 s of traffic needs no second handshake"
    );
}

/// The responder holds its new keypair in `next` and may not send on it until the initiator's first transport
/// message confirms it.
#[test]
fn responder_waits_for_key_confirmation() {
    let mut pair = Pair::new(2);
    pair.confirm_handshakes = false;
    pair.handshake(Side::A);
    assert!(
        pair.a.tunnel.current_keypair().is_some(),
        "the initiator may send at once"
    );
    assert!(
        pair.b.tunnel.current_keypair().is_none(),
        "the responder's keypair waits in `next`"
    );
    let mut buf = [0u8; 128];
    let err = pair
        .b
        .tunnel
        .encapsulate(&mut buf, 8, 1420, pair.now, Duration::ZERO)
        .unwrap_err();
    assert_eq!(err, TunnelError::NoSession);

    // The initiator's first data message confirms the keypair; the responder can answer.
    pair.send(Side::A, b"first");
    assert_eq!(pair.b.received.len(), 1);
    // (B's refused send above also asked for a handshake of its own, which may follow: only the order of the
    // first two completions matters here.)
    let completions: Vec<Side> = pair
        .stats
        .handshakes_completed
        .iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(completions[..2], [Side::A, Side::B]);
    pair.send(Side::B, b"answer");
    assert_eq!(pair.a.received, [b"answer".to_vec()]);
}

/// With steady traffic both ways, the initiator starts a new handshake when sending on a keypair that has
/// reached REKEY_AFTER_TIME, and only the initiator does.
#[test]
fn initiator_rekeys_after_rekey_after_time() {
    let mut pair = Pair::new(4);
    pair.send(Side::A, b"hello");
    let birth = pair.a.tunnel.current_keypair().unwrap().birth();
    let step = Duration::from_millis(100);
    let mut n = 0;
    while pair.now < birth + REKEY_AFTER_TIME + Duration::from_secs(5) {
        n += 1;
        pair.send(Side::A, &payload(n, 64));
        pair.send(Side::B, &payload(n, 64));
        pair.advance(step);
    }
    let rekeys: Vec<_> = pair.stats.handshakes_completed.iter().skip(2).collect();
    assert!(!rekeys.is_empty(), "no rekey happened");
    let (when, who) = *rekeys[0];
    assert_eq!(who, Side::A, "only the initiator rekeys by age");
    assert!(
        when >= birth + REKEY_AFTER_TIME && when <= birth + REKEY_AFTER_TIME + step,
        "rekey at {:?} after birth, expected {:?} (within one {:?} send interval)",
        when - birth,
        REKEY_AFTER_TIME,
        step
    );
    assert_eq!(pair.stats.initiations_sent, 2);
    assert!(pair.stats.rejected.is_empty(), "{:?}", pair.stats.rejected);
    let new_birth = pair.a.tunnel.current_keypair().unwrap().birth();
    assert_eq!(new_birth, when, "the fresh keypair is current");
}

/// When no new handshake can complete, the keypair is usable until exactly REJECT_AFTER_TIME after its birth:
/// sending is refused from then on, and a message sealed just before is refused if it arrives just after.
#[test]
fn keypair_rejected_at_reject_after_time() {
    let mut pair = Pair::new(5);
    pair.send(Side::A, b"hello");
    let birth = pair.a.tunnel.current_keypair().unwrap().birth();
    pair.lose_handshakes = true;

    // Traffic every second up to just before the limit: all delivered although rekeys fail.
    let mut n = 0;
    while pair.now + Duration::from_secs(1) < birth + REJECT_AFTER_TIME {
        n += 1;
        pair.advance(Duration::from_secs(1));
        pair.send(Side::A, &payload(n, 64));
        pair.send(Side::B, &payload(n, 64));
    }
    let delivered = pair.stats.data_delivered;
    assert_eq!(delivered, 2 * n + 1);
    assert!(
        pair.stats.initiations_lost > 0,
        "rekeys were attempted and lost"
    );

    // 1 ms before the limit: a message can still be sealed ...
    pair.advance(birth + REJECT_AFTER_TIME - MS - pair.now);
    let mut buf = [0u8; 256];
    let sealed = pair
        .a
        .tunnel
        .encapsulate(&mut buf, 32, 1420, pair.now, Duration::ZERO)
        .expect("still valid 1 ms before REJECT_AFTER_TIME");
    // ... but delivered 1 ms later it is refused by the receiver.
    pair.advance(MS);
    assert_eq!(pair.now, birth + REJECT_AFTER_TIME);
    let err = pair
        .b
        .tunnel
        .decapsulate(&mut buf[..sealed], pair.now)
        .unwrap_err();
    assert_eq!(err, TunnelError::Expired);
    // And from that moment the sender refuses too.
    let err = pair
        .a
        .tunnel
        .encapsulate(&mut buf, 32, 1420, pair.now, Duration::ZERO)
        .unwrap_err();
    assert_eq!(err, TunnelError::NoSession);
}

/// Keys are erased 3 x REJECT_AFTER_TIME after the last session was derived.
#[test]
fn keys_zeroed_after_three_reject_after_times() {
    let mut pair = Pair::new(6);
    pair.send(Side::A, b"hello");
    let derived = pair.a.tunnel.current_keypair().unwrap().birth();
    pair.lose_handshakes = true;
    pair.advance(derived + ZERO_KEYS_AFTER - MS - pair.now);
    assert!(
        pair.a.tunnel.current_keypair().is_some(),
        "kept until 540 s"
    );
    pair.advance(MS);
    assert!(pair.a.tunnel.current_keypair().is_none(), "zeroed at 540 s");
    assert!(
        pair.b.tunnel.current_keypair().is_none(),
        "the responder too"
    );
    assert_eq!(pair.a.tunnel.live_indices().count(), 0);
}

/// A keepalive follows received data when there is nothing to answer with, 10 s later.
#[test]
fn passive_keepalive_after_ten_seconds() {
    let mut pair = Pair::new(7);
    pair.send(Side::A, b"hello");
    let before = pair.stats.keepalives_delivered;
    pair.send(Side::A, b"data only one way");
    pair.advance(Duration::from_millis(9_999));
    assert_eq!(pair.stats.keepalives_delivered, before);
    pair.advance(MS);
    assert_eq!(
        pair.stats.keepalives_delivered,
        before + 1,
        "B answered with a keepalive at 10 s"
    );
}

/// A transport message addressed to an index the tunnel does not hold is refused, not misrouted.
#[test]
fn unknown_index_is_refused() {
    let mut pair = Pair::new(8);
    pair.send(Side::A, b"hello");
    let mut buf = [0u8; 128];
    let len = pair
        .a
        .tunnel
        .encapsulate(&mut buf, 8, 1420, pair.now, Duration::ZERO)
        .unwrap();
    buf[4..8].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
    let err = pair
        .b
        .tunnel
        .decapsulate(&mut buf[..len], pair.now)
        .unwrap_err();
    assert_eq!(err, TunnelError::UnknownIndex);
}

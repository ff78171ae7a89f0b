//! Replay protection of initiations: strictly newer TAI64N timestamps and the 20 ms flood guard.

mod handshake_support;

use core::time::Duration;

use handshake_support::{Pair, Rejected};
use wgxdp_noise::handshake::HandshakeError;
use wgxdp_noise::tai64n::Tai64N;

fn stamp(secs: u64, nanos: u32) -> Tai64N {
    Tai64N::from_unix(1_700_000_000 + secs, nanos)
}

const T0: Duration = Duration::from_secs(5);

#[test]
fn replayed_initiation_is_rejected() {
    let mut pair = Pair::new(None, None);
    let msg = pair.initiation(1, stamp(0, 0), T0);
    pair.responder_accepts(&msg, T0).expect("first delivery");
    let replay = pair.responder_accepts(&msg, T0 + Duration::from_secs(30));
    assert_eq!(replay, Err(Rejected::Handshake(HandshakeError::Replay)));
}

#[test]
fn older_or_equal_timestamp_is_rejected() {
    let mut pair = Pair::new(None, None);
    let older = pair.initiation(1, stamp(0, 500), T0);
    let equal = pair.initiation(2, stamp(1, 0), T0);
    let newer = pair.initiation(3, stamp(1, 0), T0);
    pair.responder_accepts(&newer, T0).expect("newest first");
    let later = T0 + Duration::from_secs(1);
    let replay = Err(Rejected::Handshake(HandshakeError::Replay));
    assert_eq!(
        pair.responder_accepts(&older, later),
        replay,
        "older timestamp"
    );
    // Same timestamp, otherwise a completely fresh initiation (new ephemeral): still not strictly newer.
    assert_eq!(
        pair.responder_accepts(&equal, later),
        replay,
        "equal timestamp"
    );
    let newest = pair.initiation(4, stamp(1, 1), later);
    pair.responder_accepts(&newest, later)
        .expect("one nanosecond newer is enough");
}

#[test]
fn flood_guard_rejects_initiations_within_20ms() {
    let mut pair = Pair::new(None, None);
    let first = pair.initiation(1, stamp(0, 0), T0);
    pair.responder_accepts(&first, T0).expect("first");

    let second = pair.initiation(2, stamp(1, 0), T0);
    let flooded = pair.responder_accepts(&second, T0 + Duration::from_millis(19));
    let flood = Err(Rejected::Handshake(HandshakeError::Flood));
    assert_eq!(flooded, flood);
    // A clock that went backwards counts as no time elapsed.
    assert_eq!(
        pair.responder_accepts(&second, T0 - Duration::from_secs(1)),
        flood
    );

    // The refused attempt recorded nothing: the same message is accepted once 20 ms have passed.
    pair.responder_accepts(&second, T0 + Duration::from_millis(20))
        .expect("20 ms later");
}

//! Every single-byte corruption of an initiation or response is rejected somewhere on the receive path: by the
//! mac1 check, by mac2 when under load, by the header check or by the AEAD.

mod handshake_support;

use core::time::Duration;

use handshake_support::Pair;
use rand_core::OsRng;
use wgxdp_noise::cookie::{CookieChecker, MacVerdict};
use wgxdp_noise::handshake::{identify_initiation, HandshakeError, PeerHandshake};
use wgxdp_noise::tai64n::Tai64N;

const NOW: Duration = Duration::from_secs(50);
const SOURCE: &[u8] = &[10, 0, 0, 1, 0xca, 0x6c];
/// Flip the lowest and the highest bit: catches both ends of every byte.
const FLIPS: [u8; 2] = [0x01, 0x80];

fn stamp() -> Tai64N {
    Tai64N::from_unix(1_700_000_000, 0)
}

/// Gives the initiator a valid cookie so its messages carry a mac2 that matters under load.
fn obtain_cookie(pair: &mut Pair) {
    let probe = pair.initiation(7, stamp(), NOW);
    let mut reply = [0u8; 64];
    pair.responder_checker
        .create_reply(&probe, 7, SOURCE, NOW, &mut OsRng, &mut reply)
        .expect("reply");
    pair.initiator_macs
        .consume_reply(&reply, NOW)
        .expect("cookie");
}

/// The responder's whole receive path for an initiation, with fresh per-peer state each time so that replay
/// protection does not mask what the other checks do.
fn responder_accepts(pair: &mut Pair, msg: &[u8; 148], under_load: bool) -> bool {
    if pair
        .responder_checker
        .check(msg, SOURCE, under_load, NOW, &mut OsRng)
        != MacVerdict::Valid
    {
        return false;
    }
    let Ok(identified) = identify_initiation(&pair.responder, msg) else {
        return false;
    };
    // The caller's peer lookup: the only peer the responder knows is the initiator.
    if identified.initiator_static != *pair.initiator.public_key() {
        return false;
    }
    let mut peer = PeerHandshake::new(&pair.responder, identified.initiator_static, None);
    peer.consume_initiation(&pair.responder, identified, NOW)
        .is_ok()
}

#[test]
fn every_initiation_byte_is_protected() {
    let mut pair = Pair::new(None, None);
    obtain_cookie(&mut pair);
    let genuine = pair.initiation(1, stamp(), NOW);
    assert!(
        responder_accepts(&mut pair, &genuine, true),
        "genuine initiation under load"
    );
    assert!(
        responder_accepts(&mut pair, &genuine, false),
        "genuine initiation"
    );
    for position in 0..genuine.len() {
        for flip in FLIPS {
            let mut corrupt = genuine;
            corrupt[position] ^= flip;
            assert!(
                !responder_accepts(&mut pair, &corrupt, true),
                "under load, byte {position} ^ {flip:#x}"
            );
            // mac2 (bytes 132..) is by design only examined under load; everything before it always matters.
            if position < 132 {
                assert!(
                    !responder_accepts(&mut pair, &corrupt, false),
                    "byte {position} ^ {flip:#x}"
                );
            }
        }
    }
}

#[test]
fn handshake_crypto_alone_rejects_corruption_of_everything_but_the_sender_index() {
    // Without any mac checks, only the sender index (bytes 4..8, covered by mac1 alone) may change unnoticed.
    let mut pair = Pair::new(None, None);
    let genuine = pair.initiation(1, stamp(), NOW);
    for position in (0..4).chain(8..116) {
        let mut corrupt = genuine;
        corrupt[position] ^= 0x01;
        let result = identify_initiation(&pair.responder, &corrupt).and_then(|identified| {
            let mut peer = PeerHandshake::new(&pair.responder, *pair.initiator.public_key(), None);
            peer.consume_initiation(&pair.responder, identified, NOW)
        });
        assert!(result.is_err(), "byte {position}");
    }
}

#[test]
fn every_response_byte_is_protected() {
    let mut pair = Pair::new(None, None);
    let initiation = pair.initiation(1, stamp(), NOW);
    pair.responder_accepts(&initiation, NOW).expect("accepted");
    let mut initiator_checker = CookieChecker::new(pair.initiator.public_key(), &mut OsRng, NOW);
    // The responder obtains a cookie from the initiator, as it would when the initiator is under load.
    let (probe, _) = pair.response(2, NOW);
    let mut reply = [0u8; 64];
    initiator_checker
        .create_reply(&probe, 2, SOURCE, NOW, &mut OsRng, &mut reply)
        .expect("reply");
    pair.responder_macs
        .consume_reply(&reply, NOW)
        .expect("cookie");
    // Creating that probe response used up the consumed initiation, so run a new one for the genuine response.
    let initiation = pair.initiation(1, Tai64N::from_unix(1_700_000_001, 0), NOW);
    pair.responder_accepts(&initiation, NOW + Duration::from_secs(1))
        .expect("accepted again");
    let (genuine, _) = pair.response(2, NOW);

    for position in 0..genuine.len() {
        for flip in FLIPS {
            let mut corrupt = genuine;
            corrupt[position] ^= flip;
            let verdict = initiator_checker.check(&corrupt, SOURCE, true, NOW, &mut OsRng);
            if verdict == MacVerdict::Valid {
                let result = pair
                    .initiator_peer
                    .consume_response(&pair.initiator, &corrupt);
                assert!(
                    result.is_err(),
                    "byte {position} ^ {flip:#x} passed the macs and the handshake"
                );
            }
            // Even bypassing the macs, the handshake itself rejects everything but the sender index (4..8).
            if !(4..8).contains(&position) && position < 60 {
                let result = pair
                    .initiator_peer
                    .consume_response(&pair.initiator, &corrupt);
                assert!(
                    matches!(
                        result.map(|_| ()),
                        Err(HandshakeError::WrongType
                            | HandshakeError::WrongReceiverIndex
                            | HandshakeError::Decrypt
                            | HandshakeError::LowOrderKey)
                    ),
                    "byte {position} ^ {flip:#x}"
                );
            }
        }
    }
    // All of that left the initiation in progress: the genuine response still completes it.
    assert_eq!(
        initiator_checker.check(&genuine, SOURCE, true, NOW, &mut OsRng),
        MacVerdict::Valid
    );
    pair.initiator_peer
        .consume_response(&pair.initiator, &genuine)
        .expect("genuine response");
}

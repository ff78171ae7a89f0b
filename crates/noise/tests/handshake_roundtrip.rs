//! Handshake round trips between two in-memory peers, and the ways a handshake must fail.

mod handshake_support;

use core::time::Duration;
use std::collections::HashMap;

use handshake_support::{random_psk, Pair, Rejected};
use rand_core::OsRng;
use wgxdp_noise::handshake::{identify_initiation, HandshakeError, LocalStatic, PeerHandshake};
use wgxdp_noise::keys::{PrivateKey, PublicKey};
use wgxdp_noise::tai64n::Tai64N;

const NOW: Duration = Duration::from_secs(10);

fn stamp(secs: u64) -> Tai64N {
    Tai64N::from_unix(1_700_000_000 + secs, 0)
}

#[test]
fn keys_are_mirrored_without_psk() {
    let mut pair = Pair::new(None, None);
    let (initiator, responder) = pair.handshake(NOW, stamp(0)).expect("handshake");
    assert_eq!(*initiator.sending, *responder.receiving);
    assert_eq!(*initiator.receiving, *responder.sending);
    assert_ne!(*initiator.sending, *initiator.receiving);
    assert_eq!(
        (initiator.local_index, initiator.remote_index),
        (responder.remote_index, responder.local_index)
    );
}

#[test]
fn keys_are_mirrored_with_psk() {
    let psk = random_psk();
    let mut pair = Pair::new(Some(psk.clone()), Some(psk));
    let (initiator, responder) = pair.handshake(NOW, stamp(0)).expect("handshake");
    assert_eq!(*initiator.sending, *responder.receiving);
    assert_eq!(*initiator.receiving, *responder.sending);
}

#[test]
fn repeated_handshakes_give_fresh_keys() {
    let mut pair = Pair::new(None, None);
    let (first, _) = pair.handshake(NOW, stamp(0)).expect("first");
    let (second, _) = pair
        .handshake(NOW + Duration::from_secs(1), stamp(1))
        .expect("second");
    assert_ne!(*first.sending, *second.sending);
}

#[test]
fn mismatched_psk_fails_at_the_initiator() {
    for (initiator_psk, responder_psk) in [
        (Some(random_psk()), Some(random_psk())),
        (Some(random_psk()), None),
        (None, Some(random_psk())),
    ] {
        let mut pair = Pair::new(initiator_psk, responder_psk);
        // The psk only enters the response, so the responder cannot tell; the initiator's AEAD check does.
        assert_eq!(
            pair.handshake(NOW, stamp(0)).map(|_| ()),
            Err(Rejected::Handshake(HandshakeError::Decrypt))
        );
    }
}

#[test]
fn unknown_initiator_is_not_found_and_cannot_be_consumed_by_another_peer() {
    let mut pair = Pair::new(None, None);
    let stranger = LocalStatic::new(PrivateKey::generate(&mut OsRng));
    let mut stranger_peer = PeerHandshake::new(&stranger, *pair.responder.public_key(), None);
    let mut msg = [0u8; 148];
    stranger_peer
        .create_initiation(
            &stranger,
            9,
            PrivateKey::generate(&mut OsRng),
            stamp(0),
            &mut msg,
        )
        .expect("initiation");

    // The responder's peer table only knows the real initiator.
    let peers: HashMap<PublicKey, ()> = [(*pair.initiator.public_key(), ())].into();
    let identified =
        identify_initiation(&pair.responder, &msg).expect("anyone who knows our key gets this far");
    assert_eq!(identified.initiator_static, *stranger.public_key());
    assert!(!peers.contains_key(&identified.initiator_static));
    // Handing it to the wrong peer's state anyway is refused.
    assert_eq!(
        pair.responder_peer
            .consume_initiation(&pair.responder, identified, NOW),
        Err(HandshakeError::WrongPeer)
    );
}

#[test]
fn initiation_for_another_responder_fails_identify() {
    let mut pair = Pair::new(None, None);
    let msg = pair.initiation(1, stamp(0), NOW);
    let other = LocalStatic::new(PrivateKey::generate(&mut OsRng));
    assert_eq!(
        identify_initiation(&other, &msg).map(|_| ()),
        Err(HandshakeError::Decrypt)
    );
}

#[test]
fn low_order_keys_are_refused() {
    let local = LocalStatic::new(PrivateKey::generate(&mut OsRng));
    let mut peer = PeerHandshake::new(&local, PublicKey::from_bytes([0; 32]), None);
    let mut msg = [0u8; 148];
    let result = peer.create_initiation(
        &local,
        1,
        PrivateKey::generate(&mut OsRng),
        stamp(0),
        &mut msg,
    );
    assert_eq!(result, Err(HandshakeError::LowOrderKey));

    // An initiation carrying a low-order ephemeral key (here: the all-zero point).
    let mut pair = Pair::new(None, None);
    let mut msg = pair.initiation(1, stamp(0), NOW);
    msg[8..40].fill(0);
    assert_eq!(
        identify_initiation(&pair.responder, &msg).map(|_| ()),
        Err(HandshakeError::LowOrderKey)
    );
}

#[test]
fn response_must_answer_our_initiation() {
    let mut pair = Pair::new(None, None);
    let initiation = pair.initiation(41, stamp(0), NOW);
    pair.responder_accepts(&initiation, NOW).expect("accepted");
    let (response, _) = pair.response(42, NOW);

    let mut misaddressed = response;
    misaddressed[8] ^= 1;
    assert_eq!(
        pair.initiator_peer
            .consume_response(&pair.initiator, &misaddressed)
            .map(|_| ()),
        Err(HandshakeError::WrongReceiverIndex)
    );
    // Failures leave the initiation in progress, so the genuine response still completes it...
    let keys = pair
        .initiator_peer
        .consume_response(&pair.initiator, &response)
        .expect("genuine response");
    assert_eq!((keys.local_index, keys.remote_index), (41, 42));
    // ...exactly once.
    assert_eq!(
        pair.initiator_peer
            .consume_response(&pair.initiator, &response)
            .map(|_| ()),
        Err(HandshakeError::NoHandshakeInProgress)
    );
}

#[test]
fn cleared_or_absent_state_refuses_to_continue() {
    let mut pair = Pair::new(None, None);
    let mut out = [0u8; 92];
    let nothing_consumed = pair.responder_peer.create_response(
        &pair.responder,
        1,
        PrivateKey::generate(&mut OsRng),
        &mut out,
    );
    assert_eq!(
        nothing_consumed.map(|_| ()),
        Err(HandshakeError::NoHandshakeInProgress)
    );

    let initiation = pair.initiation(1, stamp(0), NOW);
    pair.responder_accepts(&initiation, NOW).expect("accepted");
    let (response, _) = pair.response(2, NOW);
    pair.initiator_peer.clear();
    assert_eq!(
        pair.initiator_peer
            .consume_response(&pair.initiator, &response)
            .map(|_| ()),
        Err(HandshakeError::NoHandshakeInProgress)
    );
}

#[test]
fn local_key_must_be_the_one_the_peer_was_built_with() {
    let mut pair = Pair::new(None, None);
    let replacement = LocalStatic::new(PrivateKey::generate(&mut OsRng));
    let mut msg = [0u8; 148];
    let result = pair.initiator_peer.create_initiation(
        &replacement,
        1,
        PrivateKey::generate(&mut OsRng),
        stamp(0),
        &mut msg,
    );
    assert_eq!(result, Err(HandshakeError::LocalKeyMismatch));
}

#[test]
fn session_keys_debug_hides_keys() {
    let mut pair = Pair::new(None, None);
    let (keys, _) = pair.handshake(NOW, stamp(0)).expect("handshake");
    let printed = format!("{keys:?}");
    assert!(
        !printed.contains(&hex::encode(*keys.sending))
            && !printed.contains(&format!("{:?}", *keys.sending))
    );
    assert!(printed.contains("local_index"));
}

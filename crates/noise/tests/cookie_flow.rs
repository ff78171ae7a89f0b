//! The cookie mechanism end to end: mac1 always, mac2 under load, cookie replies, secret rotation.
//!
//! Rotation policy under test (see `cookie.rs`): the responder's secret mints cookies for 120 s after it is
//! drawn and verifies them for 5 s more; the initiator attaches a cookie for 120 s after receiving it.

mod handshake_support;

use core::net::SocketAddr;
use core::time::Duration;

use handshake_support::Pair;
use rand_core::OsRng;
use wgxdp_noise::cookie::{source_bytes, CookieError, CookieGenerator, MacVerdict};
use wgxdp_noise::keys::PrivateKey;
use wgxdp_noise::tai64n::Tai64N;

const ALICE: &[u8] = &[198, 51, 100, 1, 0x13, 0x88];
const MALLORY: &[u8] = &[198, 51, 100, 2, 0x13, 0x88];

fn secs(value: u64) -> Duration {
    Duration::from_secs(value)
}

fn stamp(value: u64) -> Tai64N {
    Tai64N::from_unix(1_700_000_000 + value, 0)
}

/// Sends an initiation at `now`; the responder (under load) answers NeedCookie with a reply that the initiator
/// consumes.
fn fetch_cookie(pair: &mut Pair, now: Duration) {
    let msg = pair.initiation(5, stamp(now.as_secs()), now);
    assert_eq!(
        pair.responder_checker
            .check(&msg, ALICE, true, now, &mut OsRng),
        MacVerdict::NeedCookie
    );
    let mut reply = [0u8; 64];
    pair.responder_checker
        .create_reply(&msg, 5, ALICE, now, &mut OsRng, &mut reply)
        .expect("reply");
    pair.initiator_macs
        .consume_reply(&reply, now)
        .expect("cookie accepted");
}

fn verdict_at(pair: &mut Pair, sent: Duration, checked: Duration, source: &[u8]) -> MacVerdict {
    let msg = pair.initiation(6, stamp(sent.as_secs()), sent);
    pair.responder_checker
        .check(&msg, source, true, checked, &mut OsRng)
}

#[test]
fn under_load_a_cookie_is_demanded_then_honoured() {
    let mut pair = Pair::new(None, None);
    let msg = pair.initiation(1, stamp(0), secs(1));
    assert_eq!(msg[132..], [0; 16], "no cookie yet, so mac2 is zero");
    assert_eq!(
        pair.responder_checker
            .check(&msg, ALICE, false, secs(1), &mut OsRng),
        MacVerdict::Valid
    );
    fetch_cookie(&mut pair, secs(1));
    assert_eq!(
        verdict_at(&mut pair, secs(2), secs(2), ALICE),
        MacVerdict::Valid
    );
}

#[test]
fn cookie_is_bound_to_the_source_address() {
    let mut pair = Pair::new(None, None);
    fetch_cookie(&mut pair, secs(1));
    assert_eq!(
        verdict_at(&mut pair, secs(2), secs(2), MALLORY),
        MacVerdict::NeedCookie
    );
    assert_eq!(
        verdict_at(&mut pair, secs(2), secs(2), ALICE),
        MacVerdict::Valid
    );
}

#[test]
fn secret_rotation_retires_old_cookies_after_a_short_grace() {
    let mut pair = Pair::new(None, None); // checker secret drawn at t = 0
    fetch_cookie(&mut pair, secs(1));
    assert_eq!(
        verdict_at(&mut pair, secs(119), secs(119), ALICE),
        MacVerdict::Valid
    );
    // t = 122: the secret is 122 s old and is replaced by this very check; the old one still verifies (grace).
    assert_eq!(
        verdict_at(&mut pair, secs(119), secs(122), ALICE),
        MacVerdict::Valid
    );
    // t = 125: 120 s + 5 s grace are over.
    assert_eq!(
        verdict_at(&mut pair, secs(119), secs(125), ALICE),
        MacVerdict::NeedCookie
    );
    // A cookie from the new secret works again.
    fetch_cookie(&mut pair, secs(126));
    assert_eq!(
        verdict_at(&mut pair, secs(127), secs(127), ALICE),
        MacVerdict::Valid
    );
}

#[test]
fn initiator_stops_using_a_cookie_after_120_s() {
    let mut pair = Pair::new(None, None);
    fetch_cookie(&mut pair, secs(10));
    let msg = pair.initiation(1, stamp(129), secs(129));
    assert_ne!(msg[132..], [0; 16], "119 s old cookie is still used");
    let msg = pair.initiation(1, stamp(130), secs(130));
    assert_eq!(msg[132..], [0; 16], "120 s old cookie is dropped");
}

#[test]
fn mac1_must_be_keyed_to_the_receiver() {
    let mut pair = Pair::new(None, None);
    let mut msg = pair.initiation(1, stamp(0), secs(1));
    let someone_else = PrivateKey::generate(&mut OsRng).public_key();
    CookieGenerator::new(&someone_else).add_macs(&mut msg, secs(1));
    assert_eq!(
        pair.responder_checker
            .check(&msg, ALICE, false, secs(1), &mut OsRng),
        MacVerdict::InvalidMac1
    );
    // Anything that is not a whole initiation or response is dropped as well.
    for junk in [&msg[..147], &[][..], &[4u8; 92][..], &[1u8; 92][..]] {
        assert_eq!(
            pair.responder_checker
                .check(junk, ALICE, false, secs(1), &mut OsRng),
            MacVerdict::InvalidMac1
        );
    }
}

#[test]
fn cookie_reply_must_answer_the_last_message_sent_once() {
    let mut pair = Pair::new(None, None);
    let mut generator = CookieGenerator::new(pair.responder.public_key());
    let mut reply = [0u8; 64];
    let msg = pair.initiation(77, stamp(0), secs(1));
    pair.responder_checker
        .create_reply(&msg, 77, ALICE, secs(1), &mut OsRng, &mut reply)
        .expect("reply");
    assert_eq!(
        generator.consume_reply(&reply, secs(1)),
        Err(CookieError::NoMessageSent)
    );

    let mut other = msg;
    other[4] = 78; // our message had sender index 78, the reply is addressed to 77
    generator.add_macs(&mut other, secs(1));
    assert_eq!(
        generator.consume_reply(&reply, secs(1)),
        Err(CookieError::WrongReceiverIndex)
    );

    pair.initiator_macs
        .consume_reply(&reply, secs(1))
        .expect("answers the initiator's last message");
    assert_eq!(
        pair.initiator_macs.consume_reply(&reply, secs(2)),
        Err(CookieError::NoMessageSent),
        "replayed"
    );
}

#[test]
fn create_reply_refuses_non_handshake_messages() {
    let mut pair = Pair::new(None, None);
    let mut reply = [0u8; 64];
    let result =
        pair.responder_checker
            .create_reply(&[4u8; 32], 1, ALICE, secs(1), &mut OsRng, &mut reply);
    assert_eq!(result, Err(CookieError::WrongType));
}

#[test]
fn source_bytes_are_address_then_big_endian_port() {
    let (bytes, len) = source_bytes("192.0.2.1:51820".parse::<SocketAddr>().expect("v4"));
    assert_eq!(&bytes[..len], &[192, 0, 2, 1, 0xca, 0x6c]);
    let (bytes, len) = source_bytes("[2001:db8::1]:443".parse::<SocketAddr>().expect("v6"));
    assert_eq!(
        &bytes[..len],
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb]
    );
    let mapped = source_bytes(
        "[::ffff:192.0.2.1]:51820"
            .parse::<SocketAddr>()
            .expect("mapped"),
    );
    assert_eq!(
        mapped,
        source_bytes("192.0.2.1:51820".parse::<SocketAddr>().expect("v4"))
    );
}

#[test]
fn the_cookie_remembered_for_the_last_source_follows_sources_and_rotation() {
    let mut pair = Pair::new(None, None);
    fetch_cookie(&mut pair, secs(1));
    // Alternating sources: each check remembers a different source's cookie, none is taken for another's.
    for _ in 0..3 {
        assert_eq!(
            verdict_at(&mut pair, secs(2), secs(2), MALLORY),
            MacVerdict::NeedCookie
        );
        assert_eq!(
            verdict_at(&mut pair, secs(2), secs(2), ALICE),
            MacVerdict::Valid
        );
    }
    // The secret rotates at 120 s (a check at 120.5 s still honours the old cookie, within the grace); the
    // remembered cookie goes with the old secret, so once the grace is over (125 s) a message carrying the old
    // cookie needs a new one, and the reply then carries the new secret's cookie, which verifies.
    let ms = Duration::from_millis;
    assert_eq!(
        verdict_at(&mut pair, ms(120_500), ms(120_500), ALICE),
        MacVerdict::Valid
    );
    assert_eq!(
        verdict_at(&mut pair, ms(120_900), secs(126), ALICE),
        MacVerdict::NeedCookie
    );
    fetch_cookie(&mut pair, secs(126));
    assert_eq!(
        verdict_at(&mut pair, secs(127), secs(127), ALICE),
        MacVerdict::Valid
    );
}

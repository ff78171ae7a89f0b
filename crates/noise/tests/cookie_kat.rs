//! Known-answer tests of mac1, mac2 and the cookie reply.
//!
//! Expected values come from `tests/vectors/derive_vectors.py`, an independent Python reference (hashlib BLAKE2s,
//! `cryptography`'s ChaCha20-Poly1305, and an HChaCha20 checked against draft-irtf-cfrg-xchacha's published
//! vector). `INITIATION` is the same reference initiation as in `handshake_kat.rs` (mac1 set, mac2 zero).

mod handshake_support;

use core::time::Duration;

use handshake_support::{unhex, ScriptedRng};
use wgxdp_noise::cookie::{CookieChecker, CookieGenerator, MacVerdict};
use wgxdp_noise::keys::PublicKey;

const S_PUB_R: &str = "8d940661dab8c6acf29512fd61b2ce28beeb85f8b5a01c79283075aa5ebfd347";
const SENDER_I: u32 = 0x1122_3344;
const COOKIE_SECRET: &str = "f2cf0f8356e5fc4a8f1f7482217810594ef19f270fe4a2ec7f195373a6124cea";
const COOKIE_NONCE: &str = "8958a8c81925fed2a0393600cfcd76f2ffa5fd6db1c2da66";
/// 192.0.2.1 port 51820: address bytes then big-endian port.
const SOURCE: &str = "c0000201ca6c";
const INITIATION: &str = "0100000044332211068bcb118ddd798ac5c83d687d131fc483a4b45599e18777c0aa41034cc0f822b42b76550f29b25cb7b3ad6e0bff087ab81d0570c1487cb708a9d98da93a2f58f002c61be048a0f682225bd0a588c779fbe622c38ceb70a516ea3e209eb88874b1e0ee93bf56d91c286a08dd43de0eb080338d5364619416949d140a00000000000000000000000000000000";
const COOKIE_REPLY: &str = "03000000443322118958a8c81925fed2a0393600cfcd76f2ffa5fd6db1c2da667b41b37dcd6ebeeaac1f25b85064704c0b09f16042bbcff1dc8a9cbdc5490aae";
const INITIATION_MAC2: &str = "83d45accee2b4409b675d962cdf04c2c";

fn responder_public() -> PublicKey {
    PublicKey::from_bytes(unhex(S_PUB_R))
}

#[test]
fn mac1_matches_reference() {
    let reference: [u8; 148] = unhex(INITIATION);
    let mut msg = reference;
    msg[116..].fill(0xee); // whatever was there must be overwritten
    CookieGenerator::new(&responder_public()).add_macs(&mut msg, Duration::ZERO);
    assert_eq!(msg, reference);
}

#[test]
fn cookie_reply_matches_reference() {
    let now = Duration::from_secs(3);
    let source: [u8; 6] = unhex(SOURCE);
    // The checker draws its secret first, then create_reply draws the nonce.
    let mut rng = ScriptedRng::new(&[&unhex::<32>(COOKIE_SECRET), &unhex::<24>(COOKIE_NONCE)]);
    let mut checker = CookieChecker::new(&responder_public(), &mut rng, now);
    let mut reply = [0u8; 64];
    checker
        .create_reply(
            &unhex::<148>(INITIATION),
            SENDER_I,
            &source,
            now,
            &mut rng,
            &mut reply,
        )
        .expect("reply");
    assert_eq!(hex::encode(reply), COOKIE_REPLY);
}

#[test]
fn mac2_from_consumed_cookie_matches_reference_and_validates() {
    let now = Duration::from_secs(3);
    let source: [u8; 6] = unhex(SOURCE);
    let mut generator = CookieGenerator::new(&responder_public());
    let mut msg: [u8; 148] = unhex(INITIATION);
    generator.add_macs(&mut msg, now);
    generator
        .consume_reply(&unhex(COOKIE_REPLY), now)
        .expect("reference reply decrypts");
    generator.add_macs(&mut msg, now);
    assert_eq!(hex::encode(&msg[132..]), INITIATION_MAC2);
    assert_eq!(
        msg[..132],
        unhex::<148>(INITIATION)[..132],
        "mac1 unchanged"
    );

    let mut checker = CookieChecker::new(
        &responder_public(),
        &mut ScriptedRng::new(&[&unhex::<32>(COOKIE_SECRET)]),
        now,
    );
    let mut no_more_randomness = ScriptedRng::new(&[]);
    assert_eq!(
        checker.check(&msg, &source, true, now, &mut no_more_randomness),
        MacVerdict::Valid
    );
}

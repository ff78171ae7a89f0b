//! Known-answer tests of the handshake cryptography.
//!
//! Unless stated otherwise every expected value comes from `tests/vectors/derive_vectors.py`, an independent
//! Python reference of the whitepaper construction (hashlib BLAKE2s, the `hmac` module, and the `cryptography`
//! package's X25519 and ChaCha20-Poly1305). Rerun it to regenerate; the inputs below are printed by it too.

mod handshake_support;

use core::time::Duration;

use handshake_support::unhex;
use rand_core::OsRng;
use wgxdp_noise::cookie::{CookieChecker, CookieGenerator, MacVerdict};
use wgxdp_noise::crypto::{hash, hmac, kdf1, kdf2, kdf3, mac};
use wgxdp_noise::handshake::{identify_initiation, LocalStatic, PeerHandshake};
use wgxdp_noise::keys::{PresharedKey, PrivateKey};
use wgxdp_noise::tai64n::Tai64N;

// Inputs.
const S_PRIV_I: &str = "df0b440d7c3e9066294dd4de4029f598c36dd9a0eefe571dc88182e11d86e824";
const S_PRIV_R: &str = "dc10fd8798079ad053aef4222ff119faf03949424c432fc6ea5c15e4d6f15496";
const E_PRIV_I: &str = "c8dcfc2f39e4ee2f608650dfbe6f615eac9ec6e650f352c5c71d863a549350b0";
const E_PRIV_R: &str = "3e0ff397d97ecdfc0847e59f5e264ba656cb00b5ef0bef62e2a71ec4269f01a2";
const PSK: &str = "59f925b7ee2f07c9c172718f5165ec71061981fbfc0d48ee2de69ab6bfd07539";
const SENDER_I: u32 = 0x1122_3344;
const SENDER_R: u32 = 0x5566_7788;
const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const HMAC_MSG: &[u8] = b"The quick brown fox jumps over the lazy dog";
const KDF_KEY: &str = "3e6f96aadcfd0cb27cb6618b53ccb0b95de56abcf651280166c2c6874aa66da5";
const KDF_INPUT: &[u8] = b"wgxdp kdf input";

// Expected outputs.
const TIMESTAMP: &str = "400000006553f10a075bcd15";
const S_PUB_I: &str = "89bf2e94a8ffe37e9b82d369f7c5a105b32237e03d7f00b7c4c6146c079b3472";
const S_PUB_R: &str = "8d940661dab8c6acf29512fd61b2ce28beeb85f8b5a01c79283075aa5ebfd347";
const HMAC_OUT: &str = "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d";
const MAC_OUT: &str = "4e2219ec6d234a478e4ace91429bbce4";
const MAC_SHORT_KEY_OUT: &str = "a745047ad25246370219b942e684dd6a";
const KDF3_OUT: &str = "cca5d67304310734c1a4c0ccf7a1ecaae131ada8ea225fba53d6adc5a47766fb5ca48fd9e181976cae5f38a737009706fcfd58efcec7c5d67bdcf16a076932b76995135418c6b9a11f042b7adc144d71e86e44ed6b99cecc0c29f7a1161956ac";
const KDF3_EMPTY_OUT: &str = "0d162c21730f37272c3928dee2c30da9de82a00f0530153a250b74dda3b3a0a050a5cc0b21e5bdcb95c7bb8b3a39cbdc7246991e3c96182f39ced2aad0928591f472f7577ea7abc609b07ea39ac5c7ade322c750f66b177a2b2f1bc1f39ffcf1";
const INITIATION: &str = "0100000044332211068bcb118ddd798ac5c83d687d131fc483a4b45599e18777c0aa41034cc0f822b42b76550f29b25cb7b3ad6e0bff087ab81d0570c1487cb708a9d98da93a2f58f002c61be048a0f682225bd0a588c779fbe622c38ceb70a516ea3e209eb88874b1e0ee93bf56d91c286a08dd43de0eb080338d5364619416949d140a00000000000000000000000000000000";
const RESPONSE: &str = "0200000088776655443322110ebbc0d98fb0736ed21a24e6e397fb6f347bdfdc04f1696235b212a3a7d63e3d35374f7df2ee670c37a2b9fd369647414259107188cbf9a1ab8870b53b8ac6c300000000000000000000000000000000";
const T_SEND_I: &str = "52a426b9b0eecefa7e84b16e50906fa30abf9e12814d8238b3a6b3bea1fde7c2";
const T_RECV_I: &str = "b5d99bfabeaba342cff0a03e2c03eb03ca92fc514261a1a4acea5db0df8c9288";

#[test]
fn blake2s_matches_rfc7693_appendix_b() {
    // RFC 7693, Appendix B: BLAKE2s-256("abc").
    let expected: [u8; 32] =
        unhex("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    assert_eq!(hash(&[b"abc"]), expected);
    // Splitting the input across parts must not change the hash.
    assert_eq!(hash(&[b"a", b"", b"bc"]), expected);
}

#[test]
fn keyed_blake2s_mac_matches_reference() {
    // MAC is keyed BLAKE2s with a 16-byte digest (hashlib.blake2s(msg, key=k, digest_size=16)); the digest size
    // and key length are both in BLAKE2's parameter block, so a 32-byte key (mac1 key, cookie secret) and a
    // 16-byte key (cookie as mac2 key) are checked separately.
    let key: [u8; 32] = unhex(HMAC_KEY);
    assert_eq!(mac(&key, &[HMAC_MSG]), unhex::<16>(MAC_OUT));
    let short_key: [u8; 16] = unhex(&HMAC_KEY[..32]);
    assert_eq!(mac(&short_key, &[HMAC_MSG]), unhex::<16>(MAC_SHORT_KEY_OUT));
}

#[test]
fn hmac_blake2s_matches_python_hmac_module() {
    let key: [u8; 32] = unhex(HMAC_KEY);
    assert_eq!(*hmac(&key, &[HMAC_MSG]), unhex::<32>(HMAC_OUT));
}

#[test]
fn kdf_outputs_match_reference() {
    let key: [u8; 32] = unhex(KDF_KEY);
    let expected: [u8; 96] = unhex(KDF3_OUT);
    let (t1, t2, t3) = kdf3(&key, KDF_INPUT);
    assert_eq!([*t1, *t2, *t3].concat(), expected);
    // KDF1 and KDF2 are prefixes of KDF3 (HKDF expand is a chain).
    assert_eq!(kdf1(&key, KDF_INPUT)[..], expected[..32]);
    let (t1, t2) = kdf2(&key, KDF_INPUT);
    assert_eq!([*t1, *t2].concat(), expected[..64]);
    // The empty input is what derives the transport keys.
    let (t1, t2, t3) = kdf3(&key, b"");
    assert_eq!([*t1, *t2, *t3].concat(), unhex::<96>(KDF3_EMPTY_OUT));
}

#[test]
fn tai64n_matches_reference() {
    assert_eq!(
        Tai64N::from_unix(1_700_000_000, 123_456_789).as_bytes(),
        &unhex::<12>(TIMESTAMP)
    );
}

#[test]
fn full_handshake_matches_reference_bytes_and_keys() {
    let now = Duration::from_secs(7);
    let initiator = LocalStatic::new(PrivateKey::from_bytes(unhex(S_PRIV_I)));
    let responder = LocalStatic::new(PrivateKey::from_bytes(unhex(S_PRIV_R)));
    assert_eq!(initiator.public_key().as_bytes(), &unhex::<32>(S_PUB_I));
    assert_eq!(responder.public_key().as_bytes(), &unhex::<32>(S_PUB_R));
    let psk = || Some(PresharedKey::from_bytes(unhex(PSK)));
    let mut initiator_peer = PeerHandshake::new(&initiator, *responder.public_key(), psk());
    let mut responder_peer = PeerHandshake::new(&responder, *initiator.public_key(), psk());

    let mut initiation = [0u8; 148];
    initiator_peer
        .create_initiation(
            &initiator,
            SENDER_I,
            PrivateKey::from_bytes(unhex(E_PRIV_I)),
            Tai64N::from_unix(1_700_000_000, 123_456_789),
            &mut initiation,
        )
        .expect("initiation");
    CookieGenerator::new(responder.public_key()).add_macs(&mut initiation, now);
    assert_eq!(hex::encode(initiation), INITIATION);

    let mut checker = CookieChecker::new(responder.public_key(), &mut OsRng, now);
    assert_eq!(
        checker.check(&initiation, &[], false, now, &mut OsRng),
        MacVerdict::Valid
    );
    let identified = identify_initiation(&responder, &initiation).expect("identify");
    assert_eq!(identified.initiator_static, *initiator.public_key());
    assert_eq!(identified.sender_index, SENDER_I);
    responder_peer
        .consume_initiation(&responder, identified, now)
        .expect("consume initiation");

    let mut response = [0u8; 92];
    let responder_keys = responder_peer
        .create_response(
            &responder,
            SENDER_R,
            PrivateKey::from_bytes(unhex(E_PRIV_R)),
            &mut response,
        )
        .expect("response");
    CookieGenerator::new(initiator.public_key()).add_macs(&mut response, now);
    assert_eq!(hex::encode(response), RESPONSE);

    let initiator_keys = initiator_peer
        .consume_response(&initiator, &response)
        .expect("consume response");
    assert_eq!(*initiator_keys.sending, unhex::<32>(T_SEND_I));
    assert_eq!(*initiator_keys.receiving, unhex::<32>(T_RECV_I));
    assert_eq!(*responder_keys.sending, unhex::<32>(T_RECV_I));
    assert_eq!(*responder_keys.receiving, unhex::<32>(T_SEND_I));
    assert_eq!(
        (initiator_keys.local_index, initiator_keys.remote_index),
        (SENDER_I, SENDER_R)
    );
    assert_eq!(
        (responder_keys.local_index, responder_keys.remote_index),
        (SENDER_R, SENDER_I)
    );
    assert!(initiator_keys.is_initiator && !responder_keys.is_initiator);
}

//! XAEAD (XChaCha20-Poly1305, built from HChaCha20 and ring's ChaCha20-Poly1305) against an independent
//! implementation, the `chacha20poly1305` crate's `XChaCha20Poly1305`, over random keys, nonces, lengths and
//! associated data, both ways; and the draft-irtf-cfrg-xchacha test vector (appendix A.3.1).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{Rng, RngCore, SeedableRng};
use wgxdp_noise::crypto::{xaead_open, xaead_seal, CryptoError};

#[test]
fn matches_an_independent_xchacha20poly1305_both_ways() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..300 {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut nonce);
        let mut plaintext = vec![0u8; rng.gen_range(0..200)];
        let mut ad = vec![0u8; rng.gen_range(0..64)];
        rng.fill_bytes(&mut plaintext);
        rng.fill_bytes(&mut ad);

        let mut ours = vec![0u8; plaintext.len() + 16];
        xaead_seal(&key, &nonce, &plaintext, &ad, &mut ours).expect("seal");
        let mut theirs = plaintext.clone();
        let tag = XChaCha20Poly1305::new(&key.into())
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &ad, &mut theirs)
            .expect("reference seal");
        theirs.extend_from_slice(&tag);
        assert_eq!(ours, theirs, "round {round}: sealed bytes differ");

        let mut opened = vec![0u8; plaintext.len()];
        xaead_open(&key, &nonce, &theirs, &ad, &mut opened).expect("open");
        assert_eq!(opened, plaintext, "round {round}");

        // Any flipped bit (body, tag or associated data) is refused, and the output left zeroed.
        let mut forged = theirs.clone();
        let bit = rng.gen_range(0..forged.len() * 8);
        forged[bit / 8] ^= 1 << (bit % 8);
        let mut out = vec![0xaa; plaintext.len()];
        assert_eq!(
            xaead_open(&key, &nonce, &forged, &ad, &mut out),
            Err(CryptoError::Unauthentic)
        );
        assert!(out.iter().all(|b| *b == 0));
        if !ad.is_empty() {
            let mut other_ad = ad.clone();
            other_ad[0] ^= 1;
            assert!(xaead_open(&key, &nonce, &theirs, &other_ad, &mut out).is_err());
        }
    }
}

#[test]
fn draft_xchacha_test_vector() {
    let hex = |s: &str| hex::decode(s.replace([' ', '\n'], "")).expect("hex");
    let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let ad = hex("50515253c0c1c2c3c4c5c6c7");
    let key: [u8; 32] = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        .try_into()
        .unwrap();
    let nonce: [u8; 24] = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
        .try_into()
        .unwrap();
    let expected = hex(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
         731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
         2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
         21f9664c97637da9768812f615c68b13b52e
         c0875924c1c7987947deafd8780acf49",
    );
    let mut sealed = vec![0u8; plaintext.len() + 16];
    xaead_seal(&key, &nonce, plaintext, &ad, &mut sealed).expect("seal");
    assert_eq!(sealed, expected);
}

//! Every single-byte corruption of a cookie reply is rejected, and leaves the generator able to take the genuine
//! reply afterwards.

mod handshake_support;

use core::time::Duration;

use handshake_support::Pair;
use rand_core::OsRng;
use wgxdp_noise::cookie::MacVerdict;
use wgxdp_noise::tai64n::Tai64N;

#[test]
fn every_cookie_reply_byte_is_protected() {
    let now = Duration::from_secs(1);
    let source = [192, 0, 2, 7, 0x12, 0x34];
    let mut pair = Pair::new(None, None);
    let msg = pair.initiation(0xabcd, Tai64N::from_unix(1_700_000_000, 0), now);
    let mut genuine = [0u8; 64];
    pair.responder_checker
        .create_reply(&msg, 0xabcd, &source, now, &mut OsRng, &mut genuine)
        .expect("reply");

    for position in 0..genuine.len() {
        for flip in [0x01u8, 0x80] {
            let mut corrupt = genuine;
            corrupt[position] ^= flip;
            assert!(
                pair.initiator_macs.consume_reply(&corrupt, now).is_err(),
                "byte {position} ^ {flip:#x}"
            );
        }
    }
    pair.initiator_macs
        .consume_reply(&genuine, now)
        .expect("genuine reply");
    let next = pair.initiation(0xabce, Tai64N::from_unix(1_700_000_001, 0), now);
    assert_eq!(
        pair.responder_checker
            .check(&next, &source, true, now, &mut OsRng),
        MacVerdict::Valid
    );
}

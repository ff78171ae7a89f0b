//! The pre-computed messages: handshake initiations that pass the responder's mac1 check and are garbage
//! otherwise (random ephemeral key, random encrypted static key and timestamp, random sender index, zero mac2).
//!
//! Building them is where all the cryptography is (one BLAKE2s MAC each); the send loop only copies them.

use core::time::Duration;

use rand::RngCore;
use wgxdp_noise::{CookieGenerator, PublicKey};
use wgxdp_wire::wg_layout::INITIATION_LEN;
use wgxdp_wire::HandshakeInitiationMut;

/// A ring of ready-to-send initiations.
pub struct Pool {
    messages: Vec<[u8; INITIATION_LEN]>,
    next: usize,
}

impl Pool {
    /// `count` (at least 1) initiations to the responder with public key `responder`, contents from `rng`.
    pub fn new(responder: &PublicKey, count: usize, rng: &mut impl RngCore) -> Self {
        // mac2 stays zero: the generator has no cookie, which is what a flood without cookies looks like.
        let mut macs = CookieGenerator::new(responder);
        let messages = (0..count.max(1))
            .map(|_| {
                let mut msg = [0u8; INITIATION_LEN];
                let mut init = HandshakeInitiationMut::create_in(&mut msg);
                init.set_sender_index(rng.next_u32());
                let mut ephemeral = [0u8; 32];
                rng.fill_bytes(&mut ephemeral);
                init.set_ephemeral(&ephemeral);
                rng.fill_bytes(init.encrypted_static_mut());
                rng.fill_bytes(init.encrypted_timestamp_mut());
                macs.add_macs(&mut msg, Duration::ZERO);
                msg
            })
            .collect();
        Self { messages, next: 0 }
    }

    /// How many distinct messages the ring holds.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// The next message of the ring.
    pub fn next_message(&mut self) -> &[u8; INITIATION_LEN] {
        let index = self.next % self.messages.len();
        self.next = index + 1;
        &self.messages[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use wgxdp_noise::{
        identify_initiation, source_bytes, CookieChecker, LocalStatic, MacVerdict, PrivateKey,
    };
    use wgxdp_wire::HandshakeInitiation;

    fn responder() -> (LocalStatic, PublicKey) {
        let local = LocalStatic::new(PrivateKey::from_bytes([9; 32]));
        let public = *local.public_key();
        (local, public)
    }

    #[test]
    fn every_message_passes_the_responders_mac1_check_and_nothing_more() {
        let (local, public) = responder();
        let mut rng = StdRng::seed_from_u64(1);
        let mut pool = Pool::new(&public, 16, &mut rng);
        let mut checker = CookieChecker::new(&public, &mut rng, Duration::from_secs(10));
        let (source, len) = source_bytes("198.18.2.7:40000".parse().unwrap());
        for _ in 0..pool.len() {
            let msg = *pool.next_message();
            assert!(HandshakeInitiation::new(&msg).is_ok(), "not an initiation");
            let now = Duration::from_secs(10);
            assert_eq!(
                checker.check(&msg, &source[..len], false, now, &mut rng),
                MacVerdict::Valid
            );
            // Under load it has no mac2, so it earns a cookie reply instead of a Diffie-Hellman.
            assert_eq!(
                checker.check(&msg, &source[..len], true, now, &mut rng),
                MacVerdict::NeedCookie
            );
            // And its encrypted fields are garbage: the responder's first DH step refuses it.
            assert!(identify_initiation(&local, &msg).is_err());
        }
    }

    #[test]
    fn another_responders_check_refuses_them() {
        let (_, public) = responder();
        let other = PrivateKey::from_bytes([8; 32]).public_key();
        let mut rng = StdRng::seed_from_u64(2);
        let mut pool = Pool::new(&public, 4, &mut rng);
        let mut checker = CookieChecker::new(&other, &mut rng, Duration::ZERO);
        let msg = *pool.next_message();
        assert_eq!(
            checker.check(&msg, &[1, 2, 3, 4, 5, 6], false, Duration::ZERO, &mut rng),
            MacVerdict::InvalidMac1
        );
    }

    #[test]
    fn messages_differ_and_the_ring_wraps() {
        let (_, public) = responder();
        let mut pool = Pool::new(&public, 3, &mut StdRng::seed_from_u64(3));
        let first: Vec<_> = (0..3).map(|_| *pool.next_message()).collect();
        assert_ne!(first[0], first[1]);
        assert_ne!(first[1], first[2]);
        assert_ne!(
            HandshakeInitiation::new(&first[0]).unwrap().sender_index(),
            HandshakeInitiation::new(&first[1]).unwrap().sender_index()
        );
        assert_eq!(*pool.next_message(), first[0], "the ring does not wrap");
        assert_eq!(
            Pool::new(&public, 0, &mut StdRng::seed_from_u64(4)).len(),
            1
        );
    }
}

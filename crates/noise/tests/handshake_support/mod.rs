//! Helpers shared by the handshake and cookie integration tests. Each test binary uses a different subset, hence
//! the `dead_code` allowance.
#![allow(dead_code)]

use core::time::Duration;

use rand_core::{CryptoRng, OsRng, RngCore};
use wgxdp_noise::cookie::{CookieChecker, CookieGenerator, MacVerdict};
use wgxdp_noise::handshake::{
    identify_initiation, HandshakeError, LocalStatic, PeerHandshake, SessionKeys,
};
use wgxdp_noise::keys::{PresharedKey, PrivateKey};
use wgxdp_noise::tai64n::Tai64N;

/// Decodes a hex test vector of known length.
pub fn unhex<const N: usize>(text: &str) -> [u8; N] {
    let bytes = hex::decode(text).expect("test vector is hex");
    bytes
        .try_into()
        .expect("test vector has the expected length")
}

/// A "random" generator that hands out a fixed script of bytes, so tests can pin the cookie secret and nonce.
/// Panics when the script runs out: a test that draws more than it scripted is wrong.
pub struct ScriptedRng {
    bytes: Vec<u8>,
}

impl ScriptedRng {
    pub fn new(parts: &[&[u8]]) -> Self {
        Self {
            bytes: parts.concat(),
        }
    }
}

impl RngCore for ScriptedRng {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }
    fn next_u64(&mut self) -> u64 {
        let mut word = [0; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(
            dest.len() <= self.bytes.len(),
            "scripted randomness exhausted"
        );
        let rest = self.bytes.split_off(dest.len());
        dest.copy_from_slice(&self.bytes);
        self.bytes = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ScriptedRng {}

/// Why a message was not accepted on the receive path.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    Macs(MacVerdict),
    Handshake(HandshakeError),
}

/// A fresh random preshared key.
pub fn random_psk() -> PresharedKey {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    PresharedKey::from_bytes(bytes)
}

/// Two peers that know each other, each with the cookie state it would have in a real interface.
pub struct Pair {
    pub initiator: LocalStatic,
    pub responder: LocalStatic,
    pub initiator_peer: PeerHandshake,
    pub responder_peer: PeerHandshake,
    /// The initiator's macs for messages to the responder.
    pub initiator_macs: CookieGenerator,
    /// The responder's macs for messages to the initiator.
    pub responder_macs: CookieGenerator,
    /// Checks macs of messages addressed to the responder.
    pub responder_checker: CookieChecker,
    /// Checks macs of messages addressed to the initiator.
    pub initiator_checker: CookieChecker,
}

impl Pair {
    pub fn new(initiator_psk: Option<PresharedKey>, responder_psk: Option<PresharedKey>) -> Self {
        let initiator = LocalStatic::new(PrivateKey::generate(&mut OsRng));
        let responder = LocalStatic::new(PrivateKey::generate(&mut OsRng));
        Self {
            initiator_peer: PeerHandshake::new(&initiator, *responder.public_key(), initiator_psk),
            responder_peer: PeerHandshake::new(&responder, *initiator.public_key(), responder_psk),
            initiator_macs: CookieGenerator::new(responder.public_key()),
            responder_macs: CookieGenerator::new(initiator.public_key()),
            responder_checker: CookieChecker::new(
                responder.public_key(),
                &mut OsRng,
                Duration::ZERO,
            ),
            initiator_checker: CookieChecker::new(
                initiator.public_key(),
                &mut OsRng,
                Duration::ZERO,
            ),
            initiator,
            responder,
        }
    }

    /// A complete initiation (macs filled) from the initiator with `index` and `timestamp`.
    pub fn initiation(&mut self, index: u32, timestamp: Tai64N, now: Duration) -> [u8; 148] {
        let mut msg = [0u8; 148];
        self.initiator_peer
            .create_initiation(
                &self.initiator,
                index,
                PrivateKey::generate(&mut OsRng),
                timestamp,
                &mut msg,
            )
            .expect("initiation is created");
        self.initiator_macs.add_macs(&mut msg, now);
        msg
    }

    /// Responder side of `msg` up to and including consumption (macs checked, not under load).
    pub fn responder_accepts(&mut self, msg: &[u8; 148], now: Duration) -> Result<(), Rejected> {
        let verdict = self
            .responder_checker
            .check(msg, b"source", false, now, &mut OsRng);
        if verdict != MacVerdict::Valid {
            return Err(Rejected::Macs(verdict));
        }
        let identified = identify_initiation(&self.responder, msg).map_err(Rejected::Handshake)?;
        self.responder_peer
            .consume_initiation(&self.responder, identified, now)
            .map_err(Rejected::Handshake)
    }

    /// A complete response (macs filled) from the responder with `index`, plus its session keys.
    pub fn response(&mut self, index: u32, now: Duration) -> ([u8; 92], SessionKeys) {
        let mut msg = [0u8; 92];
        let keys = self
            .responder_peer
            .create_response(
                &self.responder,
                index,
                PrivateKey::generate(&mut OsRng),
                &mut msg,
            )
            .expect("response is created");
        self.responder_macs.add_macs(&mut msg, now);
        (msg, keys)
    }

    /// Runs a whole handshake; returns (initiator keys, responder keys).
    pub fn handshake(
        &mut self,
        now: Duration,
        timestamp: Tai64N,
    ) -> Result<(SessionKeys, SessionKeys), Rejected> {
        let initiation = self.initiation(1, timestamp, now);
        self.responder_accepts(&initiation, now)?;
        let (response, responder_keys) = self.response(2, now);
        let initiator_keys = self
            .initiator_peer
            .consume_response(&self.initiator, &response)
            .map_err(Rejected::Handshake)?;
        Ok((initiator_keys, responder_keys))
    }
}

//! The emulated peers' handshakes with the DUT, sans IO: which initiations to send now, what an answer from the
//! DUT does, and the sessions that result. Time and randomness are arguments; a driver owns the socket.
//!
//! Initiations are paced to what the DUT answers: at most `window` are in flight; each answer lets another one
//! go and widens the window by one (up to its maximum), while a timeout or a cookie reply (the DUT says it is
//! under load) halves it. An unanswered initiation is sent again after `retransmit`, at most `attempts` times in
//! all; then the peer is reported as failed. A cookie reply is consumed and the initiation is sent again at once,
//! now with mac2. Every answer is parsed with the wire crate's checked views first; anything else is counted.
//!
//! A completed handshake makes the new keypair the peer's session and yields a keepalive sealed on it, which
//! confirms the session to the DUT (a responder may not send on a new keypair before the initiator has used it).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use wgxdp_noise::{Keypair, Tai64N, Tunnel};
use wgxdp_wire::wg_layout::{COOKIE_REPLY_LEN, INITIATION_LEN, RESPONSE_LEN, TRANSPORT_MIN_LEN};
use wgxdp_wire::WgMessage;

use crate::peers::Peer;

/// The DUT refuses initiations of one peer closer together than 20 ms (its flood guard); stay clear of it.
pub const MIN_REINITIATION: Duration = Duration::from_millis(25);

/// Pacing and retry settings.
#[derive(Clone, Copy, Debug)]
pub struct HandshakeConfig {
    /// Most initiations in flight.
    pub window: usize,
    /// Time before an unanswered initiation is sent again.
    pub retransmit: Duration,
    /// Initiations per peer before it is given up.
    pub attempts: u32,
}

/// A datagram to send from a peer's endpoint to the DUT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The sending peer.
    pub peer: u32,
    /// The message.
    pub bytes: Vec<u8>,
}

/// What happened to the handshakes so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeCounts {
    /// Initiations sent, retransmissions included.
    pub initiations: u64,
    /// Initiations sent again after a timeout.
    pub retransmits: u64,
    /// Handshakes completed (responses consumed).
    pub completed: u64,
    /// Cookie replies consumed (the DUT was under load).
    pub cookie_replies: u64,
    /// Answers that failed authentication or did not fit the handshake in progress.
    pub rejected_answers: u64,
    /// Answers to no initiation in flight (late answers to a retransmitted initiation, or stray ones).
    pub unexpected_answers: u64,
    /// Peers given up after every attempt timed out.
    pub failed_peers: u64,
}

struct InFlight {
    peer: u32,
    sent_at: Duration,
}

struct Slot {
    tunnel: Tunnel,
    session: Option<Arc<Keypair>>,
    previous: Option<Arc<Keypair>>,
    attempts: u32,
    last_initiation: Option<Duration>,
    state: SlotState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Idle,
    Queued,
    InFlight,
}

/// Every emulated peer's protocol state.
pub struct Handshakes {
    peers: Vec<Peer>,
    slots: Vec<Slot>,
    queue: VecDeque<u32>,
    in_flight: HashMap<u32, InFlight>,
    config: HandshakeConfig,
    window: usize,
    next_index: u32,
    /// Queue a peer again as soon as its handshake completes (the sustained handshake test).
    repeat: bool,
    mtu: usize,
    counts: HandshakeCounts,
    last_completion: Option<Duration>,
}

impl Handshakes {
    /// State for `peers`, whose DUT has `dut` as its public key. `first_index` seeds the local session indices.
    pub fn new(
        peers: Vec<Peer>,
        dut: &wgxdp_noise::PublicKey,
        config: HandshakeConfig,
        mtu: usize,
        first_index: u32,
        now: Duration,
    ) -> Self {
        let slots = peers
            .iter()
            .map(|peer| Slot {
                tunnel: Tunnel::new(&peer.local, *dut, None, None, now),
                session: None,
                previous: None,
                attempts: 0,
                last_initiation: None,
                state: SlotState::Idle,
            })
            .collect();
        let window = config.window.clamp(1, 8);
        Self {
            peers,
            slots,
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            config,
            window,
            next_index: first_index,
            repeat: false,
            mtu,
            counts: HandshakeCounts::default(),
            last_completion: None,
        }
    }

    /// The emulated peers.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// Counts since the start.
    pub fn counts(&self) -> HandshakeCounts {
        self.counts
    }

    /// When the last handshake completed.
    pub fn last_completion(&self) -> Option<Duration> {
        self.last_completion
    }

    /// Queues a handshake for `peer` (no-op when one is already queued or in flight).
    pub fn request(&mut self, peer: u32) {
        if let Some(slot) = self.slots.get_mut(peer as usize) {
            if slot.state == SlotState::Idle {
                slot.state = SlotState::Queued;
                slot.attempts = 0;
                self.queue.push_back(peer);
            }
        }
    }

    /// Queues a handshake for every peer.
    pub fn request_all(&mut self) {
        for peer in 0..self.slots.len() as u32 {
            self.request(peer);
        }
    }

    /// With `repeat`, a peer is queued again whenever its handshake completes (until switched off).
    pub fn set_repeat(&mut self, repeat: bool) {
        self.repeat = repeat;
    }

    /// Stops every queued handshake (those in flight may still complete).
    pub fn clear_queue(&mut self) {
        for peer in self.queue.drain(..) {
            if let Some(slot) = self.slots.get_mut(peer as usize) {
                slot.state = SlotState::Idle;
            }
        }
    }

    /// Nothing queued and nothing in flight.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// Initiations in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The peer's current session.
    pub fn session(&self, peer: u32) -> Option<&Arc<Keypair>> {
        self.slots.get(peer as usize)?.session.as_ref()
    }

    /// Peers whose session is missing or at least `max_age` old at `now`.
    pub fn stale_peers(&self, now: Duration, max_age: Duration) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&peer| {
                self.session(peer)
                    .is_none_or(|k| now.saturating_sub(k.birth()) >= max_age)
            })
            .collect()
    }

    /// Peers with a session.
    pub fn established(&self) -> usize {
        self.slots.iter().filter(|s| s.session.is_some()).count()
    }

    /// Every live keypair by its local index (current and previous sessions), for decrypting what the DUT sends.
    pub fn session_table(&self) -> HashMap<u32, (u32, Arc<Keypair>)> {
        let mut table = HashMap::with_capacity(self.slots.len() * 2);
        for (peer, slot) in self.slots.iter().enumerate() {
            for keypair in [&slot.session, &slot.previous].into_iter().flatten() {
                table.insert(keypair.local_index(), (peer as u32, keypair.clone()));
            }
        }
        table
    }

    /// The earliest time [`Handshakes::poll`] has something to do, beyond what an answer would trigger.
    pub fn next_wake(&self) -> Option<Duration> {
        let retransmit = self
            .in_flight
            .values()
            .map(|f| f.sent_at + self.config.retransmit)
            .min();
        let queued = (!self.queue.is_empty() && self.in_flight.len() < self.window).then(|| {
            self.queue
                .iter()
                .filter_map(|&p| self.slots[p as usize].last_initiation)
                .map(|at| at + MIN_REINITIATION)
                .min()
                .unwrap_or_default()
        });
        [retransmit, queued].into_iter().flatten().min()
    }

    /// Handles timeouts and sends as many initiations as the window allows, appending them to `out`.
    pub fn poll(
        &mut self,
        now: Duration,
        wall: Tai64N,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Vec<Outgoing>,
    ) {
        self.expire(now);
        // Each queued peer is looked at once per poll: one too recently initiated goes to the back.
        let mut looked = 0;
        let queued = self.queue.len();
        while self.in_flight.len() < self.window && looked < queued {
            let Some(peer) = self.queue.pop_front() else {
                break;
            };
            looked += 1;
            let slot = &mut self.slots[peer as usize];
            if slot
                .last_initiation
                .is_some_and(|at| now.saturating_sub(at) < MIN_REINITIATION)
            {
                self.queue.push_back(peer);
                continue;
            }
            let index = self.next_index;
            self.next_index = self.next_index.wrapping_add(1).max(1);
            let mut message = [0u8; INITIATION_LEN];
            let local = &self.peers[peer as usize].local;
            match slot
                .tunnel
                .create_initiation(local, index, wall, now, rng, &mut message)
            {
                Ok(replaced) => {
                    if let Some(old) = replaced {
                        self.in_flight.remove(&old);
                    }
                }
                Err(e) => {
                    log::warn!("peer {peer}: cannot create an initiation: {e}");
                    slot.state = SlotState::Idle;
                    self.counts.failed_peers += 1;
                    continue;
                }
            }
            slot.state = SlotState::InFlight;
            slot.attempts += 1;
            slot.last_initiation = Some(now);
            self.counts.initiations += 1;
            if slot.attempts > 1 {
                self.counts.retransmits += 1;
            }
            self.in_flight
                .insert(index, InFlight { peer, sent_at: now });
            out.push(Outgoing {
                peer,
                bytes: message.to_vec(),
            });
        }
    }

    /// Initiations unanswered for `retransmit`: queued again at the front, or given up.
    fn expire(&mut self, now: Duration) {
        let retransmit = self.config.retransmit;
        let expired: Vec<u32> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now.saturating_sub(f.sent_at) >= retransmit)
            .map(|(&index, _)| index)
            .collect();
        if !expired.is_empty() {
            self.window = (self.window / 2).max(1);
        }
        for index in expired {
            let Some(flight) = self.in_flight.remove(&index) else {
                continue;
            };
            let slot = &mut self.slots[flight.peer as usize];
            if slot.attempts >= self.config.attempts {
                slot.state = SlotState::Idle;
                self.counts.failed_peers += 1;
            } else {
                slot.state = SlotState::Queued;
                self.queue.push_front(flight.peer);
            }
        }
    }

    /// Consumes a datagram from the DUT (a handshake response or a cookie reply); a completed handshake appends
    /// the confirming keepalive to `out`. Returns the peer whose handshake completed.
    pub fn on_answer(
        &mut self,
        bytes: &[u8],
        now: Duration,
        out: &mut Vec<Outgoing>,
    ) -> Option<u32> {
        match WgMessage::parse(bytes) {
            Ok(WgMessage::Response(response)) => {
                let Some(flight) = self.in_flight.get(&response.receiver_index()) else {
                    self.counts.unexpected_answers += 1;
                    return None;
                };
                let peer = flight.peer;
                let message: &[u8; RESPONSE_LEN] = response.as_bytes();
                let local = &self.peers[peer as usize].local;
                let slot = &mut self.slots[peer as usize];
                let update = match slot.tunnel.consume_response(local, message, now) {
                    Ok(update) => update,
                    Err(e) => {
                        log::debug!("peer {peer}: response refused: {e}");
                        self.counts.rejected_answers += 1;
                        return None;
                    }
                };
                self.in_flight.remove(&response.receiver_index());
                let keypair = update.installed?;
                let mut keepalive = vec![0u8; TRANSPORT_MIN_LEN];
                match keypair.seal(&mut keepalive, 0, self.mtu) {
                    Ok(len) => {
                        keepalive.truncate(len);
                        out.push(Outgoing {
                            peer,
                            bytes: keepalive,
                        });
                    }
                    Err(e) => log::warn!("peer {peer}: cannot seal the confirming keepalive: {e}"),
                }
                slot.previous = slot.session.replace(keypair);
                slot.state = SlotState::Idle;
                self.counts.completed += 1;
                self.last_completion = Some(now);
                if self.window < self.config.window {
                    self.window += 1;
                }
                if self.repeat {
                    self.request(peer);
                }
                Some(peer)
            }
            Ok(WgMessage::CookieReply(reply)) => {
                let Some(flight) = self.in_flight.get(&reply.receiver_index()) else {
                    self.counts.unexpected_answers += 1;
                    return None;
                };
                let peer = flight.peer;
                let message: &[u8; COOKIE_REPLY_LEN] = reply.as_bytes();
                let slot = &mut self.slots[peer as usize];
                if let Err(e) = slot.tunnel.consume_cookie_reply(message, now) {
                    log::debug!("peer {peer}: cookie reply refused: {e}");
                    self.counts.rejected_answers += 1;
                    return None;
                }
                self.counts.cookie_replies += 1;
                self.in_flight.remove(&reply.receiver_index());
                // Again at once (with mac2 now), not counted as an attempt; the DUT is loaded: narrow the window.
                slot.state = SlotState::Queued;
                slot.attempts = slot.attempts.saturating_sub(1);
                slot.last_initiation = None;
                self.queue.push_front(peer);
                self.window = (self.window / 2).max(1);
                None
            }
            _ => {
                self.counts.rejected_answers += 1;
                None
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::peers::{InnerFamily, PeerPlan};
    use rand::SeedableRng;
    use wgxdp_noise::{identify_initiation, LocalStatic, PeerHandshake, PrivateKey, SessionKeys};
    use wgxdp_uapi::AllowedIp;

    /// A responder standing in for the DUT, built from the noise crate's responder half.
    pub(crate) struct FakeDut {
        pub local: LocalStatic,
        peers: HashMap<[u8; 32], PeerHandshake>,
        next_index: u32,
        pub sessions: HashMap<u32, Keypair>,
    }

    impl FakeDut {
        pub fn new(peers: &[Peer]) -> Self {
            let mut rng = rand::rngs::StdRng::seed_from_u64(99);
            let local = LocalStatic::new(PrivateKey::generate(&mut rng));
            let peers = peers
                .iter()
                .map(|p| {
                    let public = p.local.public_key();
                    (
                        *public.as_bytes(),
                        PeerHandshake::new(&local, *public, None),
                    )
                })
                .collect();
            Self {
                local,
                peers,
                next_index: 1000,
                sessions: HashMap::new(),
            }
        }

        /// Answers an initiation (macs not checked here) with a response.
        pub fn answer(&mut self, initiation: &[u8], now: Duration) -> Vec<u8> {
            let msg: &[u8; INITIATION_LEN] = initiation.try_into().expect("initiation size");
            let identified = identify_initiation(&self.local, msg).expect("our initiation");
            let peer = self
                .peers
                .get_mut(identified.initiator_static.as_bytes())
                .expect("known peer");
            peer.consume_initiation(&self.local, identified, now)
                .expect("fresh");
            let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(self.next_index));
            let mut out = [0u8; RESPONSE_LEN];
            let keys: SessionKeys = peer
                .create_response(
                    &self.local,
                    self.next_index,
                    PrivateKey::generate(&mut rng),
                    &mut out,
                )
                .expect("response");
            self.sessions.insert(
                keys.local_index,
                Keypair::new(
                    &keys.sending,
                    &keys.receiving,
                    keys.local_index,
                    keys.remote_index,
                    false,
                    now,
                ),
            );
            self.next_index += 1;
            out.to_vec()
        }
    }

    pub(crate) fn peers(count: u32) -> Vec<Peer> {
        PeerPlan {
            count,
            tunnel4: AllowedIp::parse_with_length("100.64.0.0/10").unwrap(),
            tunnel6: AllowedIp::parse_with_length("fd00:64::/64").unwrap(),
            sources: vec!["198.18.64.1".parse().unwrap()],
            port: 51900,
            family: InnerFamily::V4,
            seed: 3,
        }
        .build()
        .unwrap()
    }

    pub(crate) fn config() -> HandshakeConfig {
        HandshakeConfig {
            window: 4,
            retransmit: Duration::from_secs(1),
            attempts: 3,
        }
    }

    /// `count` emulated peers, a fake DUT that knows them, and the engine for them (MTU 1420, local indices from
    /// `first_index`, time zero).
    pub(crate) fn scene(count: u32, first_index: u32) -> (FakeDut, Handshakes) {
        let peers = peers(count);
        let dut = FakeDut::new(&peers);
        let engine = Handshakes::new(
            peers,
            dut.local.public_key(),
            config(),
            1420,
            first_index,
            Duration::ZERO,
        );
        (dut, engine)
    }

    /// Runs every queued handshake against the fake DUT until idle; returns the keepalives sent.
    pub(crate) fn complete_all(
        engine: &mut Handshakes,
        dut: &mut FakeDut,
        now: &mut Duration,
    ) -> Vec<Outgoing> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut keepalives = Vec::new();
        for _ in 0..10_000 {
            if engine.is_idle() {
                break;
            }
            let mut out = Vec::new();
            engine.poll(
                *now,
                Tai64N::from_unix(1_700_000_000 + now.as_secs(), now.subsec_nanos()),
                &mut rng,
                &mut out,
            );
            for initiation in out {
                let response = dut.answer(&initiation.bytes, *now);
                engine.on_answer(&response, *now, &mut keepalives);
            }
            *now += MIN_REINITIATION;
        }
        keepalives
    }

    #[test]
    fn every_peer_completes_within_the_window_and_confirms_its_session() {
        let (mut dut, mut engine) = scene(10, 1);
        engine.request_all();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut out = Vec::new();
        engine.poll(Duration::ZERO, Tai64N::from_unix(1, 0), &mut rng, &mut out);
        assert_eq!(out.len(), 4, "the window starts at 4 (config) at most");
        assert!(out.iter().all(|o| o.bytes.len() == INITIATION_LEN));
        let mut now = Duration::ZERO;
        let mut keepalives = Vec::new();
        for initiation in &out {
            let response = dut.answer(&initiation.bytes, now);
            assert!(engine.on_answer(&response, now, &mut keepalives).is_some());
        }
        keepalives.extend(complete_all(&mut engine, &mut dut, &mut now));
        assert_eq!(engine.counts().completed, 10);
        assert_eq!(engine.established(), 10);
        assert_eq!(keepalives.len(), 10);
        // Each keepalive opens on the DUT's side of that peer's session: the session is confirmed.
        for keepalive in &keepalives {
            let mut msg = keepalive.bytes.clone();
            let receiver = u32::from_le_bytes(msg[4..8].try_into().unwrap());
            let opened = dut.sessions[&receiver]
                .open(&mut msg)
                .expect("keepalive opens");
            assert!(opened.plaintext.is_empty());
            assert_eq!(opened.counter, 0);
        }
        assert_eq!(engine.session_table().len(), 10);
    }

    #[test]
    fn timeouts_retransmit_then_give_up_and_garbage_is_counted() {
        let (_dut, mut engine) = scene(2, 1);
        engine.request_all();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut now = Duration::ZERO;
        let mut sent = 0;
        while !engine.is_idle() && now < Duration::from_secs(60) {
            let mut out = Vec::new();
            engine.poll(
                now,
                Tai64N::from_unix(now.as_secs(), now.subsec_nanos()),
                &mut rng,
                &mut out,
            );
            sent += out.len();
            now = engine
                .next_wake()
                .unwrap_or(now + Duration::from_secs(1))
                .max(now + Duration::from_millis(1));
        }
        assert!(engine.is_idle(), "a silent DUT ends in failure, not a hang");
        assert_eq!(sent, 6, "3 attempts for each of 2 peers");
        assert_eq!(engine.counts().failed_peers, 2);
        assert_eq!(engine.counts().retransmits, 4);
        let mut out = Vec::new();
        assert_eq!(engine.on_answer(&[2, 0, 0, 0, 1], now, &mut out), None);
        assert_eq!(engine.on_answer(&[0xff; RESPONSE_LEN], now, &mut out), None);
        assert_eq!(engine.counts().rejected_answers, 2);
        let mut stray = vec![0u8; RESPONSE_LEN];
        stray[0] = 2;
        assert_eq!(engine.on_answer(&stray, now, &mut out), None);
        assert_eq!(engine.counts().unexpected_answers, 1);
        assert!(out.is_empty());
    }

    #[test]
    fn a_forged_response_is_refused_and_the_real_one_still_completes() {
        let (mut dut, mut engine) = scene(1, 7);
        engine.request(0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut out = Vec::new();
        engine.poll(Duration::ZERO, Tai64N::from_unix(1, 0), &mut rng, &mut out);
        let response = dut.answer(&out[0].bytes, Duration::ZERO);
        let mut forged = response.clone();
        forged[50] ^= 1;
        let mut keepalives = Vec::new();
        assert_eq!(
            engine.on_answer(&forged, Duration::ZERO, &mut keepalives),
            None
        );
        assert_eq!(engine.counts().rejected_answers, 1);
        assert_eq!(
            engine.on_answer(&response, Duration::ZERO, &mut keepalives),
            Some(0)
        );
        assert_eq!(keepalives.len(), 1);
    }
}

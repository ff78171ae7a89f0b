//! Two in-memory protocol cores wired back to back under simulated time.
//!
//! Shared by the end-to-end tunnel tests and the `two_peers` example. Messages are delivered synchronously (zero
//! latency) unless the harness is told to lose handshake messages, which is how the tests starve a session of
//! rekeys to observe REJECT_AFTER_TIME.

#![allow(dead_code)] // each includer uses a different subset

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_noise::cookie::{source_bytes, CookieChecker, MacVerdict};
use wgxdp_noise::handshake::{identify_initiation, LocalStatic};
use wgxdp_noise::keys::PrivateKey;
use wgxdp_noise::tai64n::Tai64N;
use wgxdp_noise::timers::random_jitter;
use wgxdp_noise::tunnel::{KeypairUpdate, Tunnel, TunnelError};
use wgxdp_wire::wg_layout::{INITIATION_LEN, RESPONSE_LEN, TRANSPORT_HEADER_LEN};

/// Tunnel MTU used throughout.
pub const MTU: usize = 1420;
/// Buffer size: header + MTU + tag with room to spare.
pub const BUF: usize = 2048;

/// Which end of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Self {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// What happened, for assertions and the demo's report.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub initiations_sent: u64,
    pub initiations_lost: u64,
    pub handshakes_completed: Vec<(Duration, Side)>,
    pub data_delivered: u64,
    pub keepalives_delivered: u64,
    pub staged: u64,
    pub rejected: Vec<(Duration, Side, TunnelError)>,
}

/// One end: its static identity, its tunnel to the other end, and what it could not send yet.
pub struct End {
    pub local: LocalStatic,
    pub tunnel: Tunnel,
    pub checker: CookieChecker,
    next_index: u32,
    staged: VecDeque<Vec<u8>>,
    pub received: Vec<Vec<u8>>,
}

impl End {
    fn allocate_index(&mut self) -> u32 {
        self.next_index = self.next_index.wrapping_add(1);
        self.next_index
    }
}

/// Both ends and the simulated clock.
pub struct Pair {
    pub a: End,
    pub b: End,
    pub now: Duration,
    pub rng: StdRng,
    /// Lose every handshake message (initiations and responses) while set.
    pub lose_handshakes: bool,
    /// After a handshake, the initiator sends what it staged, or a keepalive (key confirmation). Cleared by
    /// tests that need the responder left unconfirmed.
    pub confirm_handshakes: bool,
    pub stats: Stats,
}

impl Pair {
    /// A fresh pair with keys drawn from `seed`; no session yet. The clock starts at 1 s.
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let now = Duration::from_secs(1);
        let a_key = LocalStatic::new(PrivateKey::generate(&mut rng));
        let b_key = LocalStatic::new(PrivateKey::generate(&mut rng));
        let a_tunnel = Tunnel::new(&a_key, *b_key.public_key(), None, None, now);
        let b_tunnel = Tunnel::new(&b_key, *a_key.public_key(), None, None, now);
        let a_checker = CookieChecker::new(a_key.public_key(), &mut rng, now);
        let b_checker = CookieChecker::new(b_key.public_key(), &mut rng, now);
        Self {
            a: End {
                local: a_key,
                tunnel: a_tunnel,
                checker: a_checker,
                next_index: 0x1000,
                staged: VecDeque::new(),
                received: Vec::new(),
            },
            b: End {
                local: b_key,
                tunnel: b_tunnel,
                checker: b_checker,
                next_index: 0x2000,
                staged: VecDeque::new(),
                received: Vec::new(),
            },
            now,
            rng,
            lose_handshakes: false,
            confirm_handshakes: true,
            stats: Stats::default(),
        }
    }

    pub fn end(&mut self, side: Side) -> &mut End {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Send `payload` from `side`: sealed and delivered at once, or staged when there is no session.
    pub fn send(&mut self, side: Side, payload: &[u8]) {
        if !self.try_send(side, payload) {
            self.stats.staged += 1;
            self.end(side).staged.push_back(payload.to_vec());
        }
        self.run_timers();
    }

    /// Seal and deliver; false when the sender had no session (nothing sent).
    fn try_send(&mut self, side: Side, payload: &[u8]) -> bool {
        let now = self.now;
        let jitter = random_jitter(&mut self.rng);
        let mut buf = [0u8; BUF];
        buf[TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + payload.len()].copy_from_slice(payload);
        match self
            .end(side)
            .tunnel
            .encapsulate(&mut buf, payload.len(), MTU, now, jitter)
        {
            Ok(len) => {
                self.deliver_transport(side.other(), &mut buf[..len], payload.len());
                true
            }
            Err(TunnelError::NoSession) => false,
            Err(e) => panic!("unexpected encapsulation error: {e}"),
        }
    }

    fn deliver_transport(&mut self, to: Side, msg: &mut [u8], payload_len: usize) {
        let now = self.now;
        match self.end(to).tunnel.decapsulate(msg, now) {
            Ok(d) => {
                if d.update.is_some() {
                    self.stats.handshakes_completed.push((now, to));
                }
                if d.plaintext.is_empty() {
                    self.stats.keepalives_delivered += 1;
                } else {
                    self.stats.data_delivered += 1;
                    let payload = msg[d.plaintext][..payload_len].to_vec();
                    self.end(to).received.push(payload);
                }
            }
            Err(e) => self.stats.rejected.push((now, to, e)),
        }
    }

    /// Run both ends' timers until nothing is due at `now`.
    pub fn run_timers(&mut self) {
        for _ in 0..8 {
            let mut acted = false;
            for side in [Side::A, Side::B] {
                acted |= self.tick(side);
            }
            if !acted {
                return;
            }
        }
    }

    fn tick(&mut self, side: Side) -> bool {
        let now = self.now;
        if !self
            .end(side)
            .tunnel
            .next_deadline()
            .is_some_and(|d| d <= now)
        {
            return false;
        }
        let outcome = self.end(side).tunnel.tick(now);
        if outcome.give_up {
            self.end(side).staged.clear();
        }
        if outcome.send_initiation {
            self.handshake(side);
        }
        if outcome.send_keepalive {
            self.try_send(side, &[]);
        }
        true
    }

    /// `initiator` sends an initiation; unless handshakes are being lost, the other end answers and the
    /// initiator consumes the answer, then flushes what it staged.
    pub fn handshake(&mut self, initiator: Side) {
        let now = self.now;
        let wall = Tai64N::from_unix(1_700_000_000 + now.as_secs(), now.subsec_nanos());
        let mut init = [0u8; INITIATION_LEN];
        let Self { a, b, rng, .. } = self;
        let ini = match initiator {
            Side::A => a,
            Side::B => b,
        };
        let index = ini.allocate_index();
        ini.tunnel
            .create_initiation(&ini.local, index, wall, now, rng, &mut init)
            .expect("create initiation");
        self.stats.initiations_sent += 1;
        if self.lose_handshakes {
            self.stats.initiations_lost += 1;
            return;
        }

        let Self { a, b, rng, .. } = self;
        let (ini, resp) = match initiator {
            Side::A => (a, b),
            Side::B => (b, a),
        };
        let source = source_bytes("198.18.0.1:51820".parse().unwrap());
        let verdict = resp
            .checker
            .check(&init, &source.0[..source.1], false, now, rng);
        assert_eq!(verdict, MacVerdict::Valid);
        let identified = identify_initiation(&resp.local, &init).expect("identify");
        let mut response = [0u8; RESPONSE_LEN];
        let index = resp.allocate_index();
        let result = resp
            .tunnel
            .respond(&resp.local, identified, index, now, rng, &mut response);
        let _update: KeypairUpdate = match result {
            Ok(u) => u,
            Err(e) => {
                self.stats.rejected.push((now, initiator.other(), e));
                return;
            }
        };
        let verdict = ini
            .checker
            .check(&response, &source.0[..source.1], false, now, rng);
        assert_eq!(verdict, MacVerdict::Valid);
        match ini.tunnel.consume_response(&ini.local, &response, now) {
            Ok(_) => self.stats.handshakes_completed.push((now, initiator)),
            Err(e) => {
                self.stats.rejected.push((now, initiator, e));
                return;
            }
        }
        // The initiator flushes its staged packets (or a keepalive, which confirms the session to the
        // responder) right away, as every implementation does.
        if !self.confirm_handshakes {
            return;
        }
        let staged: Vec<Vec<u8>> = self.end(initiator).staged.drain(..).collect();
        if staged.is_empty() {
            self.try_send(initiator, &[]);
        }
        for p in staged {
            assert!(self.try_send(initiator, &p), "staged packet must go out");
        }
    }

    /// Move the clock forward by `dt`, running every timer that falls due on the way (in order).
    pub fn advance(&mut self, dt: Duration) {
        let end = self.now + dt;
        // Each round either clears a due timer or re-arms it in the future; the cap only catches a timer that
        // stays due forever, which would be a bug worth a loud failure rather than a hung test.
        for _ in 0..1_000_000 {
            let due = [self.a.tunnel.next_deadline(), self.b.tunnel.next_deadline()]
                .into_iter()
                .flatten()
                .filter(|&d| d <= end)
                .min();
            match due {
                Some(d) => {
                    self.now = self.now.max(d);
                    self.run_timers();
                }
                None => {
                    self.now = end;
                    self.run_timers();
                    return;
                }
            }
        }
        panic!("a timer stayed due at {:?}", self.now);
    }
}

/// A recognisable payload for packet `n` of length `len`.
pub fn payload(n: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (n as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

//! One peer of the device: its identity, the per-peer lock and the lock-free pieces the data path reads.
//!
//! The lock is taken through [`Peer::lock`], whose guard, when released, tells the device's timer queue about
//! the peer's (possibly changed) next deadline and staged packets: a cheap comparison under the lock already
//! held, so no code path that changes a tunnel can forget to reschedule it (see `timer_queue`).

use core::net::SocketAddr;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwapOption;
use wgxdp_noise::constants::REKEY_TIMEOUT_JITTER_MAX;
use wgxdp_noise::{Keypair, PresharedKey, PublicKey, Tunnel};

use crate::destination::{Destination, LocalAddr};
use crate::timer_queue::{TimerQueue, TimerSlot};

/// Stable slot id of a peer: the value stored in the allowed-IPs table. Ids are never reused while the device
/// lives, so a stale id seen by a worker can only miss, never name a different peer.
pub type PeerId = u32;

/// A peer. Shared (`Arc`) by the peer table, the receiver-index table and in-flight data-path calls.
pub(crate) struct Peer {
    pub id: PeerId,
    pub public: PublicKey,
    /// Cache of the tunnel's current keypair so workers seal without taking the lock. Kept equal to
    /// `tunnel.current_keypair()` by every code path that changes keypairs (see `Device::follow_update`).
    pub sending: ArcSwapOption<Keypair>,
    pub rx_bytes: AtomicU64,
    pub tx_bytes: AtomicU64,
    /// The device's timer queue, told about every change when the lock is released.
    timers: Arc<TimerQueue>,
    state: Mutex<PeerState>,
}

/// Everything about a peer that changes under its lock.
pub(crate) struct PeerState {
    /// `None` while the interface has no private key: no handshake is possible.
    pub tunnel: Option<Tunnel>,
    /// Set once the peer is removed: late handshake or data-path calls must not register anything for it.
    pub removed: bool,
    pub endpoint: Option<SocketAddr>,
    /// The local address the peer last sent to, from `endpoint` (see `destination.rs`).
    pub local: Option<LocalAddr>,
    /// Kept here as well as in the tunnel because a private-key change rebuilds the tunnel.
    pub psk: Option<PresharedKey>,
    pub persistent_keepalive: u16,
    /// Packets waiting for a session, oldest first (each is the bare inner packet).
    pub staged: VecDeque<Vec<u8>>,
    /// Last completed handshake (monotonic), kept across tunnel rebuilds.
    pub last_handshake: Option<Duration>,
    /// Where the peer stands in the timer queue.
    pub timer: TimerSlot,
    /// Xorshift state for timer jitter on the data path, which has no RNG argument. Jitter only spreads
    /// timers apart; it need not be unpredictable.
    jitter_state: u64,
}

/// The peer's lock, held. Derefs to the state; on release it reschedules the peer if its next deadline moved
/// earlier than scheduled and lists it if it holds staged packets.
pub(crate) struct PeerGuard<'a> {
    peer: &'a Peer,
    state: MutexGuard<'a, PeerState>,
}

impl Deref for PeerGuard<'_> {
    type Target = PeerState;

    fn deref(&self) -> &PeerState {
        &self.state
    }
}

impl DerefMut for PeerGuard<'_> {
    fn deref_mut(&mut self) -> &mut PeerState {
        &mut self.state
    }
}

impl Drop for PeerGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: the state cannot change between this check and the release.
        self.peer.timers.after_change(self.peer.id, &mut self.state);
    }
}

impl Peer {
    pub fn new(
        id: PeerId,
        public: PublicKey,
        tunnel: Option<Tunnel>,
        jitter_seed: u64,
        timers: Arc<TimerQueue>,
    ) -> Self {
        Self {
            id,
            public,
            sending: ArcSwapOption::empty(),
            rx_bytes: AtomicU64::new(0),
            tx_bytes: AtomicU64::new(0),
            timers,
            state: Mutex::new(PeerState {
                tunnel,
                removed: false,
                endpoint: None,
                local: None,
                psk: None,
                persistent_keepalive: 0,
                staged: VecDeque::new(),
                last_handshake: None,
                timer: TimerSlot::default(),
                // Xorshift must not start at zero.
                jitter_state: jitter_seed | 1,
            }),
        }
    }

    /// The peer's lock. A poisoned lock (a panic elsewhere while holding it) still holds consistent enough
    /// state for counters and teardown, so it is recovered rather than propagated. Releasing the guard keeps
    /// the timer queue up to date (see [`PeerGuard`]).
    pub fn lock(&self) -> PeerGuard<'_> {
        PeerGuard {
            peer: self,
            state: self.state.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn add_rx(&self, n: usize) {
        self.rx_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_tx(&self, n: usize) {
        self.tx_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Publish the tunnel's current keypair to the lock-free cache.
    pub fn refresh_sending(&self, state: &PeerState) {
        let current = state
            .tunnel
            .as_ref()
            .and_then(|t| t.current_keypair().cloned());
        let cached = self.sending.load();
        let same = match (&*cached, &current) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.sending.store(current);
        }
    }
}

impl PeerState {
    /// Where messages to the peer go, if it has an endpoint.
    pub fn destination(&self) -> Option<Destination> {
        self.endpoint.map(|addr| Destination {
            addr,
            local: self.local,
        })
    }

    /// The peer was heard from `addr`, sent to `local`: roaming, and the source of our replies.
    pub fn heard_from(&mut self, addr: SocketAddr, local: Option<LocalAddr>) {
        if self.endpoint != Some(addr) {
            self.endpoint = Some(addr);
        }
        self.local = local;
    }

    /// A jitter in `[0, REKEY_TIMEOUT_JITTER_MAX)` for `Tunnel::on_sent`.
    pub fn next_jitter(&mut self) -> Duration {
        let mut x = self.jitter_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter_state = x;
        Duration::from_nanos(x % REKEY_TIMEOUT_JITTER_MAX.as_nanos() as u64)
    }

    /// Last completed handshake, from the live tunnel or from before its last rebuild.
    pub fn last_handshake(&self) -> Option<Duration> {
        self.tunnel
            .as_ref()
            .and_then(Tunnel::last_handshake)
            .or(self.last_handshake)
    }
}

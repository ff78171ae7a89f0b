//! The [`Device`]: shared state of one WireGuard interface, used concurrently by worker, handshake, timer and
//! control threads through `&self`. The methods live in topic modules (`apply`, `data_path`, `handshake_path`,
//! `timer_path`, `device_explain`); this file holds the state and the small accessors.

use core::net::SocketAddr;
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use core::time::Duration;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};
use wgxdp_allowedips::AllowedIps;
use wgxdp_noise::{CookieChecker, LocalStatic, PublicKey};
use wgxdp_uapi::{AllowedIp, DeviceState, Key, PeerState as UapiPeer};

use crate::config::DeviceConfig;
use crate::counters::{Counters, LiveCounters, PeerCounters};
use crate::drop_reason::DropReason;
use crate::index_table::IndexTable;
use crate::mtu::LiveMtu;
use crate::peer::PeerId;
pub(crate) use crate::peer_table::PeerTable;
use crate::ratelimit::RateLimiter;
use crate::timer_queue::TimerQueue;
use crate::verdict::MessageKind;

/// Our static key and what is derived from it: replaced as a whole when the private key changes.
pub(crate) struct Identity {
    pub local: LocalStatic,
    /// The private key as configured, for `get`.
    pub private: Key,
    /// mac1/mac2 checks and cookie replies for messages addressed to our public key.
    pub cookies: Mutex<CookieChecker>,
}

impl Identity {
    pub fn cookies(&self) -> MutexGuard<'_, CookieChecker> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Control-plane state only `apply_set` reads and writes (under `Device::control`). The allowed IPs live in
/// the allowed-IPs table itself (its writer side is the authoritative copy) and, per peer, in the peer table.
#[derive(Default)]
pub(crate) struct Model {
    /// Next peer id to hand out; ids are never reused.
    pub next_id: PeerId,
    pub listen_port: u16,
    pub fwmark: u32,
}

/// A WireGuard interface, sans IO: no sockets, no threads, no clock, no OS randomness. Time (`now`, monotonic),
/// wall-clock time and random number generators are arguments.
///
/// `Send + Sync`: worker threads call [`receive_transport`](Self::receive_transport) and [`send`](Self::send)
/// concurrently; one thread runs [`receive_handshake`](Self::receive_handshake), one [`tick`](Self::tick), and
/// the UAPI server calls the control methods. Data-path calls never hold a lock while encrypting or decrypting.
pub struct Device {
    pub(crate) config: DeviceConfig,
    pub(crate) control: Mutex<Model>,
    pub(crate) identity: ArcSwapOption<Identity>,
    pub(crate) peers: ArcSwap<PeerTable>,
    pub(crate) routes: AllowedIps<PeerId>,
    pub(crate) indices: IndexTable,
    /// Which peers have timer work when (every peer holds a reference and reports to it).
    pub(crate) timers: Arc<TimerQueue>,
    pub(crate) ratelimiter: Mutex<RateLimiter>,
    pub(crate) counters: LiveCounters,
    pub(crate) bound_port: AtomicU16,
    pub(crate) listen_port: AtomicU16,
    pub(crate) fwmark: AtomicU32,
    /// Something for the timer thread to do now (see [`Device::take_handshake_wanted`]).
    pub(crate) wake: AtomicBool,
    /// A peer's session became usable while packets were staged for it: `tick` must flush.
    pub(crate) flush_pending: AtomicBool,
    /// The interface MTU now (see `mtu.rs`); starts at `config.mtu`.
    pub(crate) live_mtu: LiveMtu,
}

impl Device {
    /// Bytes in front of a packet in a sealed message: the transport header.
    pub const HEADROOM: usize = wgxdp_wire::wg_layout::TRANSPORT_HEADER_LEN;
    /// Bytes a sealed message may have after the packet: up to 15 bytes of padding and the 16-byte tag.
    pub const TAILROOM: usize = 32;

    /// A device with no private key, no peers and listen port 0.
    pub fn new(config: DeviceConfig) -> Self {
        Self {
            ratelimiter: Mutex::new(RateLimiter::new(
                config.handshake_rate_per_sec,
                config.handshake_burst,
            )),
            live_mtu: LiveMtu::new(config.mtu),
            config,
            control: Mutex::new(Model::default()),
            identity: ArcSwapOption::empty(),
            peers: ArcSwap::default(),
            routes: AllowedIps::new(),
            indices: IndexTable::default(),
            timers: Arc::default(),
            counters: LiveCounters::default(),
            bound_port: AtomicU16::new(0),
            listen_port: AtomicU16::new(0),
            fwmark: AtomicU32::new(0),
            wake: AtomicBool::new(false),
            flush_pending: AtomicBool::new(false),
        }
    }

    /// The device's tunables.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// The configured listen port (0: any).
    pub fn listen_port(&self) -> u16 {
        self.listen_port.load(Ordering::Relaxed)
    }

    /// The configured socket mark (0: none).
    pub fn fwmark(&self) -> u32 {
        self.fwmark.load(Ordering::Relaxed)
    }

    /// Report the port the sockets are actually bound to (after binding port 0), for `get`.
    pub fn set_bound_port(&self, port: u16) {
        self.bound_port.store(port, Ordering::Relaxed);
    }

    /// Our public key, if a private key is configured.
    pub fn public_key(&self) -> Option<PublicKey> {
        self.identity.load().as_ref().map(|i| *i.local.public_key())
    }

    /// Classify a received datagram (see [`MessageKind::of`]).
    pub fn classify(datagram: &[u8]) -> MessageKind {
        MessageKind::of(datagram)
    }

    /// Whether a handshake was requested (or another timer event became due) since the last call: the
    /// binary wakes its timer thread to call [`tick`](Self::tick) when this returns true.
    pub fn take_handshake_wanted(&self) -> bool {
        self.wake.swap(false, Ordering::AcqRel)
    }

    /// Count a drop that the caller decided on (e.g. a datagram it classified as malformed).
    pub fn count_drop(&self, reason: DropReason) {
        self.counters.drop(reason);
    }

    /// The device as `get=1` reports it. `now` and `wall` are read together so the monotonic handshake times
    /// can be turned into wall-clock times.
    ///
    /// Reads the last published peer table (peers and their allowed IPs, replaced as a whole by `apply_set`)
    /// without any device-wide lock, so it never waits behind an apply in progress: each peer's own lock is
    /// held for a few field reads only.
    pub fn get_state(&self, now: Duration, wall: SystemTime) -> DeviceState {
        let mut state = self.interface_state();
        state.peers.reserve(self.peers.load().len());
        self.for_each_peer_state(now, wall, |peer| state.peers.push(peer.clone()));
        state
    }

    /// The interface part of [`get_state`](Self::get_state): private key, port and mark, no peers.
    pub fn interface_state(&self) -> DeviceState {
        let identity = self.identity.load();
        let bound = self.bound_port.load(Ordering::Relaxed);
        let listen_port = if bound != 0 {
            bound
        } else {
            self.listen_port()
        };
        DeviceState {
            private_key: identity.as_ref().map(|i| i.private.clone()),
            listen_port,
            fwmark: self.fwmark(),
            peers: Vec::new(),
        }
    }

    /// The peers of [`get_state`](Self::get_state) one at a time, in order, all from one published version
    /// of the peer table: for answering a large `get` without building it whole.
    pub fn for_each_peer_state(
        &self,
        now: Duration,
        wall: SystemTime,
        mut each: impl FnMut(&UapiPeer),
    ) {
        let table = self.peers.load_full();
        let mut peer_state = UapiPeer::new(Key::zero());
        for entry in table.iter() {
            let peer = &entry.peer;
            peer_state.public_key = Key::from_bytes(*peer.public.as_bytes());
            peer_state.allowed_ips.clear();
            peer_state.allowed_ips.extend(
                entry
                    .allowed
                    .iter()
                    .filter_map(|p| AllowedIp::new(p.addr(), p.len()).ok()),
            );
            {
                let st = peer.lock();
                peer_state.preshared_key = st.psk.as_ref().map(|k| Key::from_bytes(*k.as_bytes()));
                peer_state.endpoint = st.endpoint;
                peer_state.last_handshake = st
                    .last_handshake()
                    .and_then(|at| wall.checked_sub(now.saturating_sub(at)));
                peer_state.persistent_keepalive_interval = st.persistent_keepalive;
            }
            peer_state.tx_bytes = peer.tx_bytes.load(Ordering::Relaxed);
            peer_state.rx_bytes = peer.rx_bytes.load(Ordering::Relaxed);
            each(&peer_state);
        }
    }

    /// A snapshot of every counter.
    pub fn counters(&self) -> Counters {
        let table = self.peers.load();
        let peers = table
            .iter()
            .map(|entry| {
                // The peer's lock for two field reads; never across the base64 work.
                let (staged, last_handshake) = {
                    let st = entry.peer.lock();
                    (st.staged.len(), st.last_handshake())
                };
                PeerCounters {
                    public_key: entry.peer.public.to_base64(),
                    rx_bytes: entry.peer.rx_bytes.load(Ordering::Relaxed),
                    tx_bytes: entry.peer.tx_bytes.load(Ordering::Relaxed),
                    staged,
                    last_handshake,
                }
            })
            .collect();
        self.counters.snapshot(peers)
    }

    /// Number of peers.
    pub fn peer_count(&self) -> usize {
        self.peers.load().len()
    }

    /// Number of registered receiver indices (keypairs and handshakes in flight), for tests and stats.
    pub fn receiver_index_count(&self) -> usize {
        self.indices.len()
    }

    /// The receiver indices registered for the peer with this public key (empty if it is not a peer).
    pub fn receiver_indices_of(&self, key: &PublicKey) -> Vec<u32> {
        match self.peers.load().id_of(key) {
            Some(id) => self.indices.indices_of(id),
            None => Vec::new(),
        }
    }

    /// The current endpoint of the peer with this public key.
    pub fn peer_endpoint(&self, key: &PublicKey) -> Option<SocketAddr> {
        self.peers.load().peer_by_key(key)?.lock().endpoint
    }

    pub(crate) fn request_wake(&self) {
        self.wake.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Device>();
    }
}

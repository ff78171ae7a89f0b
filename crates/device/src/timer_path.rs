//! Timers of every peer, run by the binary's timer thread: initiations (fresh and retries), keepalives,
//! flushing staged packets, giving up and zeroing keys.

use core::sync::atomic::Ordering;
use core::time::Duration;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{CryptoRng, RngCore};
use wgxdp_noise::{Tai64N, Tunnel};
use wgxdp_wire::wg_layout;

use crate::counters::LiveCounters;
use crate::device::{Device, Identity};
use crate::drop_reason::DropReason;
use crate::outbox::Outbox;
use crate::peer::{Peer, PeerState};

impl Device {
    /// Run every timer due at `now`: initiations (with a TAI64N timestamp from `wall`), retries, keepalives,
    /// flushing staged packets, giving up and zeroing keys. Datagrams to send are pushed into `out`.
    ///
    /// Costs the peers that are due (and, after a session became usable while packets were staged, the peers
    /// holding staged packets), not every peer: see `timer_queue`.
    pub fn tick(
        &self,
        now: Duration,
        wall: SystemTime,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) {
        let flush = self.flush_pending.swap(false, Ordering::AcqRel);
        let due = self.timers.take_due(now);
        let staged = if flush {
            self.timers.take_staged()
        } else {
            Vec::new()
        };
        if !due.is_empty() || !staged.is_empty() {
            let identity = self.identity.load_full();
            let table = self.peers.load_full();
            // Both lists are sorted by peer id: walk them together so each peer is locked once.
            let mut due = due.into_iter().peekable();
            let mut staged = staged.into_iter().peekable();
            loop {
                let next = match (due.peek(), staged.peek()) {
                    (Some(&(d, _)), Some(&s)) => d.min(s),
                    (Some(&(d, _)), None) => d,
                    (None, Some(&s)) => s,
                    (None, None) => break,
                };
                let mut taken = Vec::new();
                while let Some((_, at)) = due.next_if(|&(id, _)| id == next) {
                    taken.push(at);
                }
                let listed = staged.next_if_eq(&next).is_some();
                let Some(peer) = table.peer(next) else {
                    continue;
                };
                let mut st = peer.lock();
                for at in taken {
                    st.timer.taken(at);
                }
                if listed {
                    st.timer.unlisted();
                }
                if st.removed {
                    continue;
                }
                let timers_due = st
                    .tunnel
                    .as_ref()
                    .and_then(Tunnel::next_deadline)
                    .is_some_and(|deadline| deadline <= now);
                if timers_due {
                    self.run_timers(peer, &mut st, identity.as_deref(), now, wall, rng, out);
                }
                if (flush || timers_due) && !st.staged.is_empty() {
                    self.flush_staged(peer, &mut st, now, out, false);
                }
                // Releasing the lock schedules the peer at its new deadline.
            }
        }
        self.ratelimiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .collect_if_due(now);
    }

    /// The earliest time [`tick`](Self::tick) has something to do; `None` when nothing is pending. May be
    /// earlier than needed (a peer's deadline moved later since it was scheduled): a tick then finds nothing
    /// due for it and schedules it again. Costs one look at the timer queue.
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.flush_pending.load(Ordering::Acquire) {
            return Some(Duration::ZERO);
        }
        self.timers.earliest()
    }

    /// Entries in the timer queue (for tests and statistics): about one per peer with a pending timer.
    pub fn timer_queue_len(&self) -> usize {
        self.timers.len()
    }

    #[allow(clippy::too_many_arguments)]
    fn run_timers(
        &self,
        peer: &Arc<Peer>,
        st: &mut PeerState,
        identity: Option<&Identity>,
        now: Duration,
        wall: SystemTime,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) {
        // A keepalive wanted without a session turns into a handshake request, evaluated in a second round.
        for _round in 0..2 {
            let Some(tunnel) = st.tunnel.as_mut() else {
                return;
            };
            let outcome = tunnel.tick(now);
            if let Some(update) = &outcome.update {
                self.indices.apply(peer, update);
                peer.refresh_sending(st);
            }
            if outcome.give_up {
                for _ in st.staged.drain(..) {
                    self.counters.drop(DropReason::HandshakeTimeout);
                }
            }
            if outcome.send_initiation {
                self.send_initiation(peer, st, identity, now, wall, rng, out);
            }
            if !outcome.send_keepalive {
                return;
            }
            if !self.send_keepalive(peer, st, now, out) {
                if let Some(tunnel) = st.tunnel.as_mut() {
                    tunnel.request_handshake(now);
                }
                continue;
            }
            return;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_initiation(
        &self,
        peer: &Arc<Peer>,
        st: &mut PeerState,
        identity: Option<&Identity>,
        now: Duration,
        wall: SystemTime,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) {
        let (Some(identity), Some(tunnel)) = (identity, st.tunnel.as_mut()) else {
            return;
        };
        let since_epoch = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let timestamp = Tai64N::from_unix_coarse(since_epoch.as_secs(), since_epoch.subsec_nanos());
        let index = self.indices.reserve(peer, rng);
        let mut msg = [0u8; wg_layout::INITIATION_LEN];
        match tunnel.create_initiation(&identity.local, index, timestamp, now, rng, &mut msg) {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.indices.remove(&[old]);
                }
            }
            Err(_) => {
                self.indices.remove(&[index]);
                self.counters.drop(DropReason::HandshakeFailed);
                return;
            }
        }
        // Even without an endpoint the attempt counts (retries and giving up run as usual), as wireguard-go.
        match st.destination() {
            Some(to) => {
                out.push(to, msg.to_vec());
                peer.add_tx(wg_layout::INITIATION_LEN);
                LiveCounters::add(&self.counters.initiations_sent, 1);
            }
            None => self.counters.drop(DropReason::NoEndpoint),
        }
    }

    /// Seal and queue an empty transport message; false when there is no usable session.
    fn send_keepalive(
        &self,
        peer: &Peer,
        st: &mut PeerState,
        now: Duration,
        out: &mut Outbox,
    ) -> bool {
        let Some(keypair) = st
            .tunnel
            .as_ref()
            .and_then(|t| t.sending_keypair(now).cloned())
        else {
            return false;
        };
        let Some(to) = st.destination() else {
            // A session exists, so a keepalive is not a reason to handshake; there is just nowhere to send it.
            return true;
        };
        if self.seal_to(peer, &keypair, to, &[], out).is_err() {
            return false;
        }
        if let Some(tunnel) = st.tunnel.as_mut() {
            tunnel.on_sent(now, true, Duration::ZERO);
        }
        LiveCounters::add(&self.counters.keepalives_sent, 1);
        true
    }

    /// Seal every staged packet on the current session into `out`. With nothing staged and `keepalive_if_empty`
    /// a keepalive is sent instead (key confirmation after consuming a response).
    pub(crate) fn flush_staged(
        &self,
        peer: &Peer,
        st: &mut PeerState,
        now: Duration,
        out: &mut Outbox,
        keepalive_if_empty: bool,
    ) {
        if st.staged.is_empty() {
            if keepalive_if_empty {
                self.send_keepalive(peer, st, now, out);
            }
            return;
        }
        let Some(keypair) = st
            .tunnel
            .as_ref()
            .and_then(|t| t.sending_keypair(now).cloned())
        else {
            return;
        };
        let Some(to) = st.destination() else {
            for _ in st.staged.drain(..) {
                self.counters.drop(DropReason::NoEndpoint);
            }
            return;
        };
        while let Some(packet) = st.staged.pop_front() {
            if self.seal_to(peer, &keypair, to, &packet, out).is_ok() {
                let jitter = st.next_jitter();
                if let Some(tunnel) = st.tunnel.as_mut() {
                    tunnel.on_sent(now, false, jitter);
                }
                continue;
            }
            // Counters exhausted (the outbox always has room): keep the packet for the next session.
            st.staged.push_front(packet);
            if let Some(tunnel) = st.tunnel.as_mut() {
                tunnel.request_handshake(now);
            }
            self.request_wake();
            return;
        }
    }
}

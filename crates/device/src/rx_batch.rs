//! Receiving a batch of transport messages: what a worker does with one `recvmmsg` or one AF_XDP RX ring read.
//!
//! Per message the batch still decrypts in place, checks the replay window, parses the inner header and checks
//! the reverse-path ACL. What it does once per batch instead of once per message:
//! - one load each of the receiver-index table and the allowed-IPs snapshot;
//! - one index lookup per *run* of messages with the same receiver index (a busy peer fills whole batches);
//! - counters kept in plain integers and added to the shared atomics at the end;
//! - the timers told once per peer: when a message was opened with the peer's *current* keypair, the only
//!   things it can report are "data/keepalive received at `now`" and its source address (key confirmation
//!   only ever comes from the `next` keypair). Those are idempotent for one `now`, so the batch remembers
//!   them per peer and takes the peer's lock once at the end, setting the endpoint to the last authenticated
//!   source. Messages on any other keypair (previous, or the `next` one they confirm) take the lock at once,
//!   as the single-message path always did, so key rotation behaves exactly as before.
//!
//! The one observable difference from per-message reporting is timing: a timer tick or `get` running on
//! another thread while a batch is in flight sees its events a few microseconds later.

use core::net::{IpAddr, SocketAddr};
use core::ops::Range;
use core::sync::atomic::Ordering;
use core::time::Duration;
use std::sync::Arc;

use arc_swap::Guard;
use wgxdp_allowedips::SnapshotGuard;
use wgxdp_noise::constants::REKEY_ON_RECEIVE_AGE;
use wgxdp_noise::{Keypair, TransportError};
use wgxdp_wire::{inner_packet, wg_layout};

use crate::counters::{LiveCounters, RxTally};
use crate::destination::{Destination, LocalAddr};
use crate::device::Device;
use crate::drop_reason::DropReason;
use crate::index_table::IndexMap;
use crate::peer::{Peer, PeerId, PeerState};
use crate::verdict::{Inbound, MessageKind};

/// Peers a batch keeps timer reports for. A batch from more peers reports the oldest early (one more lock);
/// a worker's batch rarely spans more than a few.
const REPORT_SLOTS: usize = 8;

/// One batch of transport messages received by a worker at one instant. Create with [`Device::rx_batch`], call
/// [`receive`](Self::receive) per message, then [`finish`](Self::finish) (dropping the batch does the same):
/// that is when the timers, endpoints and shared counters learn about the batch.
///
/// Nothing here allocates: the batch lives on the worker's stack.
pub struct RxBatch<'d> {
    device: &'d Device,
    now: Duration,
    indices: Guard<Arc<IndexMap>>,
    routes: SnapshotGuard<PeerId>,
    /// The receiver index of the previous message and what it resolved to.
    run: Option<Run>,
    reports: [Option<PeerReport>; REPORT_SLOTS],
    /// Slot to report early when every slot is taken (round robin).
    next_evicted: usize,
    tally: RxTally,
    /// A keypair asked for "rekey on receive": the timer thread must tick now.
    wake: bool,
    /// The last ACL verdict: (peer, inner source, allowed). Consecutive packets of a flow share their source,
    /// and within one batch the routes snapshot cannot change, so the verdict can be reused as is.
    last_acl: Option<(PeerId, IpAddr, bool)>,
}

/// A run of messages addressed to one receiver index.
struct Run {
    receiver: u32,
    target: Result<RunTarget, DropReason>,
}

struct RunTarget {
    peer: Arc<Peer>,
    keypair: Arc<Keypair>,
    /// `Some(slot)`: the peer's current keypair; reports go to `reports[slot]`. `None`: report under the lock
    /// per message.
    slot: Option<usize>,
    /// Whether opening a message on this keypair should wake the timers for "rekey on receive".
    rekey_on_receive: bool,
}

/// What the timers and counters of one peer still have to learn from this batch.
struct PeerReport {
    peer: Arc<Peer>,
    receiver: u32,
    /// Latest authenticated source and the local address it sent to; `None` while no message on this slot was
    /// authenticated (forgeries with a valid index then cost no lock at all).
    source: Option<(SocketAddr, Option<LocalAddr>)>,
    /// Whether any message carried data (else all were keepalives).
    data: bool,
    bytes: u64,
}

impl Device {
    /// Starts a receive batch at `now`. See [`RxBatch`].
    pub fn rx_batch(&self, now: Duration) -> RxBatch<'_> {
        RxBatch {
            device: self,
            now,
            indices: self.indices.snapshot(),
            routes: self.routes.snapshot(),
            run: None,
            reports: Default::default(),
            next_evicted: 0,
            tally: RxTally::default(),
            wake: false,
            last_acl: None,
        }
    }

    /// Tells `peer`'s timers about an authenticated message to `receiver` from `source`, with the lock held;
    /// promotes the keypair it confirms, if any, and follows the peer to `source` (roaming). Returns whether the
    /// receiver-index table changed.
    fn note_received(
        &self,
        peer: &Arc<Peer>,
        st: &mut PeerState,
        receiver: u32,
        keepalive: bool,
        from: Destination,
        now: Duration,
    ) -> bool {
        let update = st
            .tunnel
            .as_mut()
            .and_then(|t| t.on_received(receiver, keepalive, now));
        let changed = update.is_some();
        if let Some(update) = update {
            // The responder's new keypair is confirmed: it is current now.
            self.indices.apply(peer, &update);
            peer.refresh_sending(st);
            LiveCounters::add(&self.counters.handshakes_completed, 1);
            if !st.staged.is_empty() {
                self.flush_pending.store(true, Ordering::Release);
                self.request_wake();
            }
        }
        st.heard_from(from.addr, from.local);
        changed
    }
}

impl RxBatch<'_> {
    /// A transport message from the network at `src`, decrypted in place: what
    /// [`Device::receive_transport`] answers for it. On [`Inbound::Tun`] write `msg[range]` to TUN.
    pub fn receive(&mut self, src: SocketAddr, msg: &mut [u8]) -> Inbound {
        self.receive_from(src, None, msg)
    }

    /// As [`receive`](Self::receive), for a message sent to our address `local`: the peer's replies leave from it
    /// (see [`crate::Destination`]).
    pub fn receive_from(
        &mut self,
        src: SocketAddr,
        local: Option<LocalAddr>,
        msg: &mut [u8],
    ) -> Inbound {
        match self.open(src, local, msg) {
            Ok(inbound) => inbound,
            Err(reason) => {
                self.tally.drop(reason);
                Inbound::Dropped(reason)
            }
        }
    }

    /// Reports the batch to the timers, endpoints and shared counters. Dropping the batch does the same.
    pub fn finish(self) {
        drop(self);
    }

    fn open(
        &mut self,
        src: SocketAddr,
        local: Option<LocalAddr>,
        msg: &mut [u8],
    ) -> Result<Inbound, DropReason> {
        if MessageKind::of(msg) != MessageKind::Transport {
            return Err(DropReason::Malformed);
        }
        let receiver = msg
            .get(wg_layout::transport::RECEIVER..wg_layout::transport::RECEIVER + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(DropReason::Malformed)?;
        if self.run.as_ref().map(|run| run.receiver) != Some(receiver) {
            self.start_run(receiver);
        }
        let target = match &self.run {
            Some(Run { target, .. }) => target.as_ref().map_err(|reason| *reason)?,
            None => return Err(DropReason::UnknownIndex),
        };
        let opened = target.keypair.open(msg).map_err(|e| match e {
            TransportError::Replay | TransportError::CounterTooLarge => DropReason::Replay,
            TransportError::Decrypt => DropReason::Decrypt,
            _ => DropReason::Malformed,
        })?;
        let keepalive = opened.plaintext.is_empty();
        let len = msg.len() as u64;
        let peer_id = target.peer.id;
        let rekey_on_receive = target.rekey_on_receive;
        match target.slot {
            Some(slot) => {
                if let Some(Some(report)) = self.reports.get_mut(slot) {
                    report.source = Some((src, local));
                    report.data |= !keepalive;
                    report.bytes += len;
                }
            }
            None => {
                let peer = Arc::clone(&target.peer);
                self.report_now(&peer, receiver, keepalive, (src, local), len)?;
            }
        }
        self.tally.rx_packets += 1;
        self.tally.rx_bytes += len;
        self.wake |= rekey_on_receive;
        if keepalive {
            self.tally.keepalives_received += 1;
            return Ok(Inbound::Consumed);
        }
        let plaintext = msg
            .get(opened.plaintext.clone())
            .ok_or(DropReason::Malformed)?;
        let inner = inner_packet(plaintext).map_err(|_| DropReason::InvalidInnerPacket)?;
        if inner.len > plaintext.len() || inner.len == 0 {
            return Err(DropReason::InvalidInnerPacket);
        }
        // Roaming happened above, before this check: a packet the ACL drops still proves where the peer is.
        if !self.source_allowed(peer_id, inner.src) {
            return Err(DropReason::Acl);
        }
        let start = opened.plaintext.start;
        Ok(Inbound::Tun(Range {
            start,
            end: start + inner.len,
        }))
    }

    /// The reverse-path ACL: whether the routes send `source` to `peer`.
    fn source_allowed(&mut self, peer: PeerId, source: IpAddr) -> bool {
        match self.last_acl {
            Some((p, s, allowed)) if p == peer && s == source => allowed,
            _ => {
                let allowed = self.routes.check_source(peer, source);
                self.last_acl = Some((peer, source, allowed));
                allowed
            }
        }
    }

    /// Resolves `receiver` for the messages that follow.
    fn start_run(&mut self, receiver: u32) {
        let now = self.now;
        let found = match self.indices.get(&receiver) {
            None => Err(DropReason::UnknownIndex),
            Some(entry) => match &entry.keypair {
                None => Err(DropReason::UnknownIndex),
                Some(keypair) if keypair.is_expired(now) => Err(DropReason::Expired),
                Some(keypair) => Ok((Arc::clone(&entry.peer), Arc::clone(keypair))),
            },
        };
        let target = found.map(|(peer, keypair)| {
            // A removed peer has no cached keypair, so its messages go the locked way and are refused there.
            let is_current = peer
                .sending
                .load()
                .as_ref()
                .is_some_and(|current| Arc::ptr_eq(current, &keypair));
            let slot = is_current.then(|| self.report_slot(&peer, receiver));
            let rekey_on_receive = keypair.is_initiator()
                && now.saturating_sub(keypair.birth()) >= REKEY_ON_RECEIVE_AGE;
            RunTarget {
                peer,
                keypair,
                slot,
                rekey_on_receive,
            }
        });
        self.run = Some(Run { receiver, target });
    }

    /// The report slot of `peer` for messages to `receiver`, reporting another slot early if all are taken.
    fn report_slot(&mut self, peer: &Arc<Peer>, receiver: u32) -> usize {
        let fresh = || PeerReport {
            peer: Arc::clone(peer),
            receiver,
            source: None,
            data: false,
            bytes: 0,
        };
        let mine = self
            .reports
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| Arc::ptr_eq(&r.peer, peer)));
        if let Some(slot) = mine {
            let same_receiver = self
                .reports
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|r| r.receiver == receiver);
            if !same_receiver {
                // The current keypair changed under us (another thread completed a handshake): report what
                // the old one saw first, so each report names the index its messages came to.
                self.report_slot_now(slot);
                if let Some(entry) = self.reports.get_mut(slot) {
                    *entry = Some(fresh());
                }
            }
            return slot;
        }
        let slot = match self.reports.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                let evicted = self.next_evicted;
                self.next_evicted = (evicted + 1) % REPORT_SLOTS;
                self.report_slot_now(evicted);
                evicted
            }
        };
        if let Some(entry) = self.reports.get_mut(slot) {
            *entry = Some(fresh());
        }
        slot
    }

    /// Reports and empties one slot.
    fn report_slot_now(&mut self, slot: usize) {
        let Some(report) = self.reports.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let Some((source, local)) = report.source else {
            return;
        };
        {
            let mut st = report.peer.lock();
            if st.removed {
                return;
            }
            self.device.note_received(
                &report.peer,
                &mut st,
                report.receiver,
                !report.data,
                Destination {
                    addr: source,
                    local,
                },
                self.now,
            );
        }
        report.peer.add_rx(report.bytes as usize);
    }

    /// The locked path for a message on a keypair that is not the peer's current one: it may confirm that
    /// keypair, which changes the index table, so the batch reloads it.
    fn report_now(
        &mut self,
        peer: &Arc<Peer>,
        receiver: u32,
        keepalive: bool,
        (source, local): (SocketAddr, Option<LocalAddr>),
        len: u64,
    ) -> Result<(), DropReason> {
        let slot = self
            .reports
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| Arc::ptr_eq(&r.peer, peer)));
        // This peer's earlier messages in the batch are reported first, so the endpoint ends at the latest
        // source and events reach the timers in order.
        if let Some(slot) = slot {
            self.report_slot_now(slot);
        }
        let changed = {
            let mut st = peer.lock();
            if st.removed {
                return Err(DropReason::UnknownIndex);
            }
            self.device.note_received(
                peer,
                &mut st,
                receiver,
                keepalive,
                Destination {
                    addr: source,
                    local,
                },
                self.now,
            )
        };
        peer.add_rx(len as usize);
        if changed {
            self.indices = self.device.indices.snapshot();
            self.run = None;
        }
        Ok(())
    }

    fn report_all(&mut self) {
        for slot in 0..REPORT_SLOTS {
            self.report_slot_now(slot);
        }
        self.tally.flush_into(&self.device.counters);
        if std::mem::take(&mut self.wake) {
            // The timers evaluate "rekey on receive" at the next tick; make sure one happens now.
            self.device.request_wake();
        }
    }
}

impl Drop for RxBatch<'_> {
    fn drop(&mut self) {
        self.report_all();
    }
}

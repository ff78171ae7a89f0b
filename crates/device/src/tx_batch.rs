//! Sending a batch of TUN packets: what a worker does with one TUN read (a packet, or the segments of a TSO/USO
//! super-packet) before it hands the sealed messages to its backend in one go.
//!
//! Per packet: parse the inner header, route by its destination (most specific prefix wins), seal on the peer's
//! current keypair into the buffer the backend hands out ([`TxRoom`]). Once per batch instead of once per
//! packet:
//! - one load each of the allowed-IPs snapshot and the peer table;
//! - per peer, one lock to read its endpoint when it first appears in the batch, and one at the end to tell its
//!   timers "data sent at `now`" (idempotent for one `now`, as the receive batch argues for received data);
//! - the last route is reused while consecutive packets share their destination (a flow);
//! - counters kept in plain integers and added to the shared atomics at the end.
//!
//! Packets without a usable session are staged (copied) and a handshake is requested, as before.

use core::net::IpAddr;
use core::time::Duration;
use std::sync::Arc;

use arc_swap::Guard;
use wgxdp_allowedips::SnapshotGuard;
use wgxdp_noise::Keypair;
use wgxdp_wire::inner_packet;

use crate::destination::Destination;
use crate::device::{Device, PeerTable};
use crate::drop_reason::DropReason;
use crate::peer::{Peer, PeerId};
use crate::send::{wants_rekey_on_send, SealError, TxRoom};
use crate::verdict::Outbound;

/// Peers a batch keeps state for; a batch to more peers reports the oldest early (one more lock).
const PEER_SLOTS: usize = 8;

/// One batch of TUN packets sent by a worker at one instant. Create with [`Device::tx_batch`], call
/// [`send`](Self::send) per packet, then [`finish`](Self::finish) (dropping the batch does the same): that is
/// when the timers and shared counters learn about the batch.
///
/// Nothing here allocates on the path of a packet that has a session: the batch lives on the worker's stack.
pub struct TxBatch<'d> {
    device: &'d Device,
    now: Duration,
    routes: SnapshotGuard<PeerId>,
    peers: Guard<Arc<PeerTable>>,
    slots: [Option<PeerSlot>; PEER_SLOTS],
    next_evicted: usize,
    /// The last destination and the slot it routed to.
    last: Option<(IpAddr, usize)>,
    drops: [u64; DropReason::COUNT],
    /// Something for the timer thread: a packet was staged, or a keypair wants a rekey.
    wake: bool,
}

/// What the batch knows about one peer it sends to.
struct PeerSlot {
    peer: Arc<Peer>,
    /// The keypair to seal on, `None` when the peer has no usable session (its packets are staged).
    keypair: Option<Arc<Keypair>>,
    to: Option<Destination>,
    /// Whether anything was sealed for the peer in this batch (its timers must hear of it).
    sent: bool,
}

impl Device {
    /// Starts a send batch at `now`. See [`TxBatch`].
    pub fn tx_batch(&self, now: Duration) -> TxBatch<'_> {
        TxBatch {
            device: self,
            now,
            routes: self.routes.snapshot(),
            peers: self.peers.load(),
            slots: Default::default(),
            next_evicted: 0,
            last: None,
            drops: [0; DropReason::COUNT],
            wake: false,
        }
    }
}

impl TxBatch<'_> {
    /// Routes one inner IP packet read from TUN and, when its peer has a session, seals it into a buffer `room`
    /// hands out for the peer's endpoint. Without a session the packet is staged and a handshake requested.
    /// [`Outbound::NoRoom`] consumes nothing: the caller keeps the packet for later.
    pub fn send(&mut self, packet: &[u8], room: &mut impl TxRoom) -> Outbound {
        match self.route_and_seal(packet, room) {
            Ok(outbound) => outbound,
            Err(reason) => {
                if let Some(n) = self.drops.get_mut(reason.index()) {
                    *n += 1;
                }
                Outbound::Dropped(reason)
            }
        }
    }

    /// Reports the batch to the timers and shared counters (dropping the batch does the same). Returns whether
    /// the timer thread should run now: a packet was staged (a handshake is wanted) or a keypair wants a rekey.
    pub fn finish(mut self) -> bool {
        self.report_all()
    }

    fn route_and_seal(
        &mut self,
        packet: &[u8],
        room: &mut impl TxRoom,
    ) -> Result<Outbound, DropReason> {
        let inner = inner_packet(packet).map_err(|_| DropReason::InvalidInnerPacket)?;
        if inner.len != packet.len() {
            // What the TUN hands us is exactly one packet; a length mismatch is a malformed packet.
            return Err(DropReason::InvalidInnerPacket);
        }
        let slot = match self.last {
            Some((dst, slot)) if dst == inner.dst => slot,
            _ => {
                let slot = self.slot_for(inner.dst)?;
                self.last = Some((inner.dst, slot));
                slot
            }
        };
        let Some(state) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return Err(DropReason::NoRoute);
        };
        let (Some(keypair), Some(to)) = (&state.keypair, state.to) else {
            if state.keypair.is_some() {
                // A session but nowhere to send it.
                return Err(DropReason::NoEndpoint);
            }
            return self.stage(slot, packet);
        };
        match self.device.seal_to(&state.peer, keypair, to, packet, room) {
            Ok(len) => {
                state.sent = true;
                if wants_rekey_on_send(keypair, self.now) {
                    self.wake = true;
                }
                Ok(Outbound::Send {
                    endpoint: to.addr,
                    len,
                })
            }
            Err(SealError::NoRoom) => Ok(Outbound::NoRoom),
            Err(SealError::CountersExhausted) => {
                // This keypair is done: stage and rekey as without a session.
                state.keypair = None;
                self.stage(slot, packet)
            }
            Err(SealError::Failed) => Err(DropReason::SealFailed),
        }
    }

    /// The slot of the peer `dst` routes to, filling one (with a lock on the peer) if the peer is new to the batch.
    fn slot_for(&mut self, dst: IpAddr) -> Result<usize, DropReason> {
        let id = self.routes.lookup(dst).ok_or(DropReason::NoRoute)?;
        let peer = self.peers.by_id.get(&id).ok_or(DropReason::NoRoute)?;
        if let Some(slot) = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| Arc::ptr_eq(&s.peer, peer)))
        {
            return Ok(slot);
        }
        let peer = Arc::clone(peer);
        let to = {
            let st = peer.lock();
            if st.removed {
                return Err(DropReason::NoRoute);
            }
            if st.tunnel.is_none() {
                return Err(DropReason::NoSession);
            }
            st.destination()
        };
        let keypair = peer.sending.load_full().filter(|k| !k.is_expired(self.now));
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                let evicted = self.next_evicted;
                self.next_evicted = (evicted + 1) % PEER_SLOTS;
                self.report(evicted);
                evicted
            }
        };
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(PeerSlot {
                peer,
                keypair,
                to,
                sent: false,
            });
        }
        Ok(slot)
    }

    fn stage(&mut self, slot: usize, packet: &[u8]) -> Result<Outbound, DropReason> {
        let Some(state) = self.slots.get(slot).and_then(Option::as_ref) else {
            return Err(DropReason::NoRoute);
        };
        let outbound = self.device.stage(&state.peer, packet, self.now)?;
        self.wake = true;
        Ok(outbound)
    }

    /// Tells one peer's timers what the batch sent it, and empties the slot.
    fn report(&mut self, slot: usize) {
        let Some(state) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        if self.last.is_some_and(|(_, s)| s == slot) {
            self.last = None;
        }
        if !state.sent {
            return;
        }
        let mut st = state.peer.lock();
        if st.removed {
            return;
        }
        let jitter = st.next_jitter();
        if let Some(tunnel) = st.tunnel.as_mut() {
            tunnel.on_sent(self.now, false, jitter);
        }
    }

    fn report_all(&mut self) -> bool {
        for slot in 0..PEER_SLOTS {
            self.report(slot);
        }
        for (reason, n) in DropReason::ALL.iter().zip(self.drops) {
            if n != 0 {
                self.device.counters.drop_n(*reason, n);
            }
        }
        self.drops = [0; DropReason::COUNT];
        let wake = std::mem::take(&mut self.wake);
        if wake {
            self.device.request_wake();
        }
        wake
    }
}

impl Drop for TxBatch<'_> {
    fn drop(&mut self) {
        // After `finish` everything is reported already and this finds nothing left.
        self.report_all();
    }
}

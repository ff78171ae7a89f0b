//! The per-packet paths run by worker threads: transport messages from the network (in batches, `rx_batch.rs`;
//! [`Device::receive_transport`] is a batch of one) and the slow path of packets from TUN that have no session
//! yet (staging; the fast path is `tx_batch.rs`).
//!
//! Neither direction holds a lock while sealing or opening: the keypair comes from a lock-free cache (sending)
//! or the lock-free index table (receiving); both batch kinds tell the timers once per peer per batch.

use core::net::SocketAddr;
use core::sync::atomic::Ordering;
use core::time::Duration;

use crate::counters::LiveCounters;
use crate::device::Device;
use crate::drop_reason::DropReason;
use crate::peer::Peer;
use crate::verdict::{Inbound, Outbound};

impl Device {
    /// A transport message from the network at `src`, decrypted in place. On [`Inbound::Tun`] write
    /// `msg[range]` to TUN (padding already trimmed by the inner IP header's length).
    ///
    /// Roaming: once the message is authenticated, the peer's endpoint becomes `src`, BEFORE the ACL check (a
    /// packet the ACL drops still proves where the peer is).
    ///
    /// A batch of one: workers receiving many messages at once use [`Device::rx_batch`], which this wraps.
    pub fn receive_transport(&self, src: SocketAddr, msg: &mut [u8], now: Duration) -> Inbound {
        let mut batch = self.rx_batch(now);
        let inbound = batch.receive(src, msg);
        batch.finish();
        inbound
    }

    /// Slow path: no usable keypair. Stages the packet (copied out of the worker's buffer) and asks for a
    /// handshake.
    pub(crate) fn stage(
        &self,
        peer: &Peer,
        payload: &[u8],
        now: Duration,
    ) -> Result<Outbound, DropReason> {
        let mut st = peer.lock();
        if st.removed {
            return Err(DropReason::NoRoute);
        }
        let session_ready = match st.tunnel.as_ref() {
            None => return Err(DropReason::NoSession),
            Some(t) => t.sending_keypair(now).is_some(),
        };
        while !st.staged.is_empty() && st.staged.len() >= self.config.max_staged_per_peer {
            st.staged.pop_front();
            self.counters.drop(DropReason::StagedOverflow);
        }
        if self.config.max_staged_per_peer == 0 {
            self.counters.drop(DropReason::StagedOverflow);
        } else {
            st.staged.push_back(payload.to_vec());
            LiveCounters::add(&self.counters.staged, 1);
        }
        if session_ready {
            // A handshake completed between the cache load and the lock: just flush.
            self.flush_pending.store(true, Ordering::Release);
        } else if let Some(tunnel) = st.tunnel.as_mut() {
            tunnel.request_handshake(now);
        }
        drop(st);
        self.request_wake();
        Ok(Outbound::Staged)
    }

    pub(crate) fn dropped(&self, reason: DropReason) -> Inbound {
        self.counters.drop(reason);
        Inbound::Dropped(reason)
    }
}

//! The per-packet paths run by worker threads: transport messages from the network, packets from TUN.
//!
//! Neither holds a lock while sealing or opening: the keypair comes from a lock-free cache (sending) or the
//! lock-free index table (receiving). Receiving is done in batches (`rx_batch.rs`), which tell the timers once
//! per peer per batch; a sent packet takes its peer's lock briefly to report to the timers and read the
//! endpoint.

use core::net::SocketAddr;
use core::sync::atomic::Ordering;
use core::time::Duration;

use wgxdp_noise::constants::{REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME};
use wgxdp_noise::{Keypair, TransportError};
use wgxdp_wire::inner_packet;

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

    /// A packet read from TUN, at `buf[HEADROOM..HEADROOM + len]` (see [`Device::HEADROOM`] and
    /// [`Device::TAILROOM`]). Routed by its inner destination and sealed in place: on [`Outbound::Send`] send
    /// `buf[..len]`. Without a session the packet is staged and a handshake requested.
    pub fn send(&self, buf: &mut [u8], len: usize, now: Duration) -> Outbound {
        match self.seal_outbound(buf, len, now) {
            Ok(out) => out,
            Err(reason) => {
                self.counters.drop(reason);
                Outbound::Dropped(reason)
            }
        }
    }

    fn seal_outbound(
        &self,
        buf: &mut [u8],
        len: usize,
        now: Duration,
    ) -> Result<Outbound, DropReason> {
        let payload = Self::HEADROOM
            .checked_add(len)
            .and_then(|end| buf.get(Self::HEADROOM..end))
            .ok_or(DropReason::SealFailed)?;
        let inner = inner_packet(payload).map_err(|_| DropReason::InvalidInnerPacket)?;
        let peer_id = self.routes.lookup(inner.dst).ok_or(DropReason::NoRoute)?;
        let peer = self.peer_by_id(peer_id).ok_or(DropReason::NoRoute)?;

        if let Some(keypair) = peer.sending.load_full().filter(|k| !k.is_expired(now)) {
            match keypair.seal(buf, len, self.config.mtu) {
                Ok(sealed) => {
                    let endpoint = self.record_sent(&peer, &keypair, sealed, now)?;
                    return Ok(Outbound::Send {
                        endpoint,
                        len: sealed,
                    });
                }
                // Out of counters: this keypair is done; stage and rekey like having no session.
                Err(TransportError::CountersExhausted) => {}
                Err(_) => return Err(DropReason::SealFailed),
            }
        }
        let payload = buf
            .get(Self::HEADROOM..Self::HEADROOM + len)
            .ok_or(DropReason::SealFailed)?;
        self.stage(&peer, payload, now)
    }

    /// After a packet to `peer` was sealed (`sealed` bytes): tells the timers, counts it, and returns the endpoint
    /// to send it to.
    pub(crate) fn record_sent(
        &self,
        peer: &Peer,
        keypair: &Keypair,
        sealed: usize,
        now: Duration,
    ) -> Result<SocketAddr, DropReason> {
        let endpoint = {
            let mut st = peer.lock();
            if st.removed {
                return Err(DropReason::NoRoute);
            }
            let endpoint = st.endpoint.ok_or(DropReason::NoEndpoint)?;
            let jitter = st.next_jitter();
            if let Some(tunnel) = st.tunnel.as_mut() {
                tunnel.on_sent(now, false, jitter);
            }
            endpoint
        };
        peer.add_tx(sealed);
        LiveCounters::add(&self.counters.tx_packets, 1);
        LiveCounters::add(&self.counters.tx_bytes, sealed as u64);
        if wants_rekey_on_send(keypair, now) {
            self.request_wake();
        }
        Ok(endpoint)
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

/// Whether sending on `keypair` should start a new handshake (whitepaper "rekey on send"); the timers decide
/// at the next tick, this only makes sure that tick happens soon.
fn wants_rekey_on_send(keypair: &Keypair, now: Duration) -> bool {
    keypair.sending_counter() > REKEY_AFTER_MESSAGES
        || (keypair.is_initiator() && now.saturating_sub(keypair.birth()) >= REKEY_AFTER_TIME)
}

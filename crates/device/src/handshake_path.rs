//! Handshake messages (initiations, responses, cookie replies), in two steps so the cheap one can run where the
//! datagram is received and only what passes it is queued for the expensive one:
//!
//! 1. [`Device::screen_handshake`]: type and length, mac1 (drops anyone who does not know our public key);
//!    under load mac2 (else a cookie reply answers instead) and the per-source-IP ratelimit; for responses also
//!    whether the receiver index is a handshake of ours in flight. Cookie replies are handled here in full (no
//!    Diffie-Hellman in them).
//! 2. [`Device::process_handshake`]: the Diffie-Hellman work and the session change, for what step 1 admitted.
//!
//! [`Device::receive_handshake`] does both, for callers that need no queue between them.

use core::time::Duration;
use std::sync::Arc;
use std::time::SystemTime;

use rand_core::{CryptoRng, RngCore};
use wgxdp_noise::{identify_initiation, source_bytes, MacVerdict};
use wgxdp_wire::wg_layout;

use crate::counters::LiveCounters;
use crate::destination::Destination;
use crate::device::Device;
use crate::drop_reason::DropReason;
use crate::outbox::Outbox;
use crate::verdict::{Inbound, MessageKind};

/// What screening decided about a handshake message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screened {
    /// Worth the Diffie-Hellman work: pass it to [`Device::process_handshake`].
    Admit,
    /// Answered already (a cookie reply went into the outbox, or a cookie reply was consumed): nothing to queue.
    Answered,
    /// Dropped (counted).
    Dropped(DropReason),
}

/// Little-endian u32 at `at`, if present.
fn read_u32(msg: &[u8], at: usize) -> Option<u32> {
    msg.get(at..at.checked_add(4)?)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
}

impl Device {
    /// A handshake or cookie message `from` a peer, screened and processed at once (see the module documentation).
    /// `under_load` comes from the caller's handshake queue. Answers (responses, cookie replies, packets staged
    /// for a peer whose handshake just completed, or a keepalive confirming the new session) go into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn receive_handshake(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        wall: SystemTime,
        under_load: bool,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) -> Inbound {
        match self.screen_handshake(from, msg, now, under_load, rng, out) {
            Screened::Admit => self.process_handshake(from, msg, now, wall, rng, out),
            Screened::Answered => Inbound::Consumed,
            Screened::Dropped(reason) => Inbound::Dropped(reason),
        }
    }

    /// The cheap checks, where the datagram is received (step 1 of the module documentation). Drops are counted
    /// here; a cookie reply to send goes into `out`.
    pub fn screen_handshake(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        under_load: bool,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) -> Screened {
        let result = match MessageKind::of(msg) {
            MessageKind::Initiation | MessageKind::Response => self
                .screen_macs(from, msg, now, under_load, rng, out)
                .and_then(|screened| match screened {
                    Screened::Admit if MessageKind::of(msg) == MessageKind::Response => {
                        self.response_in_flight(msg).map(|()| Screened::Admit)
                    }
                    other => Ok(other),
                }),
            MessageKind::CookieReply => self.on_cookie_reply(msg, now).map(|_| Screened::Answered),
            MessageKind::Transport | MessageKind::Malformed => Err(DropReason::Malformed),
        };
        result.unwrap_or_else(|reason| {
            self.counters.drop(reason);
            Screened::Dropped(reason)
        })
    }

    /// The Diffie-Hellman work for a message [`screen_handshake`](Self::screen_handshake) admitted (step 2).
    pub fn process_handshake(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        wall: SystemTime,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) -> Inbound {
        // The wall clock is not needed to answer: responses carry no timestamp. It is part of the signature so
        // callers treat every handshake entry point alike.
        let _ = wall;
        let result = match MessageKind::of(msg) {
            MessageKind::Initiation => self.on_initiation(from, msg, now, rng, out),
            MessageKind::Response => self.on_response(from, msg, now, out),
            _ => Err(DropReason::Malformed),
        };
        match result {
            Ok(inbound) => inbound,
            Err(reason) => self.dropped(reason),
        }
    }

    /// Whether a response answers an initiation of ours in flight (its receiver index is registered without a
    /// keypair yet): anything else is dropped before the queue.
    fn response_in_flight(&self, msg: &[u8]) -> Result<(), DropReason> {
        let receiver = read_u32(msg, wg_layout::response::RECEIVER).ok_or(DropReason::Malformed)?;
        match self.indices.get(receiver) {
            Some(entry) if entry.keypair.is_none() => Ok(()),
            _ => Err(DropReason::UnknownIndex),
        }
    }

    /// mac1, then (under load) mac2 with a cookie reply when missing, then the ratelimit.
    fn screen_macs(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        under_load: bool,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) -> Result<Screened, DropReason> {
        let identity = self.identity.load_full().ok_or(DropReason::NoSession)?;
        let src = from.addr;
        let (source, source_len) = source_bytes(src);
        let source = source.get(..source_len).ok_or(DropReason::Malformed)?;
        let mut cookies = identity.cookies();
        match cookies.check(msg, source, under_load, now, rng) {
            MacVerdict::Valid => {}
            MacVerdict::InvalidMac1 => return Err(DropReason::BadMac),
            MacVerdict::NeedCookie => {
                // Both handshake messages carry their sender index at offset 4.
                let sender = read_u32(msg, 4).ok_or(DropReason::Malformed)?;
                let mut reply = [0u8; wg_layout::COOKIE_REPLY_LEN];
                cookies
                    .create_reply(msg, sender, source, now, rng, &mut reply)
                    .map_err(|_| DropReason::Malformed)?;
                out.push(from, reply.to_vec());
                LiveCounters::add(&self.counters.cookie_replies_sent, 1);
                return Ok(Screened::Answered);
            }
        }
        drop(cookies);
        if under_load {
            let mut limiter = self.ratelimiter.lock().unwrap_or_else(|e| e.into_inner());
            if !limiter.allow(src.ip(), now) {
                return Err(DropReason::RateLimited);
            }
        }
        Ok(Screened::Admit)
    }

    fn on_initiation(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut Outbox,
    ) -> Result<Inbound, DropReason> {
        let identity = self.identity.load_full().ok_or(DropReason::NoSession)?;
        let msg: &[u8; wg_layout::INITIATION_LEN] =
            msg.try_into().map_err(|_| DropReason::Malformed)?;
        let init =
            identify_initiation(&identity.local, msg).map_err(|_| DropReason::HandshakeFailed)?;
        let peer = self
            .peers
            .load()
            .peer_by_key(&init.initiator_static)
            .cloned()
            .ok_or(DropReason::UnknownPeer)?;
        LiveCounters::add(&self.counters.initiations_received, 1);

        let mut st = peer.lock();
        if st.removed {
            return Err(DropReason::UnknownPeer);
        }
        let tunnel = st.tunnel.as_mut().ok_or(DropReason::NoSession)?;
        let index = self.indices.reserve(&peer, rng);
        let mut response = [0u8; wg_layout::RESPONSE_LEN];
        let update = match tunnel.respond(&identity.local, init, index, now, rng, &mut response) {
            Ok(update) => update,
            Err(_) => {
                self.indices.remove(&[index]);
                return Err(DropReason::HandshakeFailed);
            }
        };
        self.indices.apply(&peer, &update);
        peer.refresh_sending(&st);
        st.heard_from(from.addr, from.local);
        drop(st);
        peer.add_rx(wg_layout::INITIATION_LEN);
        peer.add_tx(wg_layout::RESPONSE_LEN);
        out.push(from, response.to_vec());
        LiveCounters::add(&self.counters.responses_sent, 1);
        Ok(Inbound::Consumed)
    }

    fn on_response(
        &self,
        from: Destination,
        msg: &[u8],
        now: Duration,
        out: &mut Outbox,
    ) -> Result<Inbound, DropReason> {
        let identity = self.identity.load_full().ok_or(DropReason::NoSession)?;
        let receiver = read_u32(msg, wg_layout::response::RECEIVER).ok_or(DropReason::Malformed)?;
        let entry = self.indices.get(receiver).ok_or(DropReason::UnknownIndex)?;
        // A response answers our initiation in flight, registered without a keypair.
        if entry.keypair.is_some() {
            return Err(DropReason::UnknownIndex);
        }
        let msg: &[u8; wg_layout::RESPONSE_LEN] =
            msg.try_into().map_err(|_| DropReason::Malformed)?;
        let peer = entry.peer;
        let mut st = peer.lock();
        if st.removed {
            return Err(DropReason::UnknownIndex);
        }
        let tunnel = st.tunnel.as_mut().ok_or(DropReason::NoSession)?;
        let update = tunnel
            .consume_response(&identity.local, msg, now)
            .map_err(|_| DropReason::HandshakeFailed)?;
        self.indices.apply(&peer, &update);
        peer.refresh_sending(&st);
        st.heard_from(from.addr, from.local);
        peer.add_rx(wg_layout::RESPONSE_LEN);
        LiveCounters::add(&self.counters.responses_received, 1);
        LiveCounters::add(&self.counters.handshakes_completed, 1);
        // Send what waited for this session; with nothing staged a keepalive confirms the keys to the
        // responder, which may not send before it hears from us.
        self.flush_staged(&peer, &mut st, now, out, true);
        Ok(Inbound::Consumed)
    }

    fn on_cookie_reply(&self, msg: &[u8], now: Duration) -> Result<Inbound, DropReason> {
        let receiver =
            read_u32(msg, wg_layout::cookie_reply::RECEIVER).ok_or(DropReason::Malformed)?;
        let entry = self.indices.get(receiver).ok_or(DropReason::UnknownIndex)?;
        let msg: &[u8; wg_layout::COOKIE_REPLY_LEN] =
            msg.try_into().map_err(|_| DropReason::Malformed)?;
        let peer: Arc<_> = entry.peer;
        let mut st = peer.lock();
        if st.removed {
            return Err(DropReason::UnknownIndex);
        }
        let tunnel = st.tunnel.as_mut().ok_or(DropReason::NoSession)?;
        tunnel
            .consume_cookie_reply(msg, now)
            .map_err(|_| DropReason::CookieReplyInvalid)?;
        LiveCounters::add(&self.counters.cookie_replies_received, 1);
        Ok(Inbound::Consumed)
    }
}

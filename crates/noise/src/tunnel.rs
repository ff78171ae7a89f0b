//! One peer's protocol state machine: the handshake, the cookie generator, the timers and the three keypair slots
//! (previous, current, next) tied together, still without any I/O.
//!
//! The caller (the device) owns the sockets, the clock, the receiver-index table and the packet buffers. It feeds
//! the tunnel messages and `now`, writes out what the tunnel produces, and calls [`Tunnel::tick`] whenever `now`
//! reaches [`Tunnel::next_deadline`]. Every change of keypairs is reported as a [`KeypairUpdate`] so the caller can
//! keep its index table (receiver index -> peer) exact: indices that the tunnel no longer answers to are listed
//! as retired.
//!
//! Keypair slots follow the whitepaper (section 5.4.7): the initiator may send as soon as it has consumed the
//! response, so its new keypair becomes current at once; the responder must not send on its new keypair before
//! the initiator has proved it holds it, so the responder's keypair waits in `next` until the first transport
//! message arrives on it. The outgoing current keypair is kept as `previous` so packets still in flight on it are
//! accepted.

use core::fmt;
use core::ops::Range;
use core::time::Duration;
use std::sync::Arc;

use rand_core::{CryptoRng, RngCore};
use wgxdp_wire::wg_layout::{self, transport};

use crate::cookie::{CookieError, CookieGenerator};
use crate::handshake::{
    HandshakeError, IdentifiedInitiation, LocalStatic, PeerHandshake, SessionKeys,
};
use crate::keypair::{Keypair, TransportError};
use crate::keys::{PresharedKey, PrivateKey, PublicKey};
use crate::tai64n::Tai64N;
use crate::timers::{random_jitter, SessionView, TimerAction, Timers};

/// Why the tunnel refused a message or a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelError {
    /// A handshake message failed (authentication, replayed timestamp, flood guard, no handshake in progress...).
    Handshake(HandshakeError),
    /// A cookie reply could not be consumed.
    Cookie(CookieError),
    /// A transport message failed to seal or open.
    Transport(TransportError),
    /// No keypair may be used to send now: a handshake has been requested; stage the packet.
    NoSession,
    /// A transport message's receiver index matches none of this peer's keypairs (it was retired).
    UnknownIndex,
    /// A transport message arrived on a keypair that is REJECT_AFTER_TIME old.
    Expired,
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "handshake: {e}"),
            Self::Cookie(e) => write!(f, "cookie reply: {e}"),
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::NoSession => f.write_str("no valid session to send on; handshake requested"),
            Self::UnknownIndex => {
                f.write_str("receiver index belongs to no live keypair of this peer")
            }
            Self::Expired => f.write_str("keypair expired (REJECT_AFTER_TIME)"),
        }
    }
}

impl std::error::Error for TunnelError {}

impl From<HandshakeError> for TunnelError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<CookieError> for TunnelError {
    fn from(e: CookieError) -> Self {
        Self::Cookie(e)
    }
}

impl From<TransportError> for TunnelError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

/// A change of this peer's keypairs that the caller's index table must follow.
#[derive(Debug, Default)]
pub struct KeypairUpdate {
    /// A keypair that now answers to its local index (register `installed.local_index()` for this peer).
    pub installed: Option<Arc<Keypair>>,
    /// Local indices this peer no longer answers to (unregister them).
    pub retired: Vec<u32>,
}

impl KeypairUpdate {
    fn retire(&mut self, keypair: Option<Arc<Keypair>>) {
        if let Some(k) = keypair {
            self.retired.push(k.local_index());
        }
    }
}

/// A successfully decapsulated transport message.
#[derive(Debug)]
pub struct Decapsulated {
    /// Where the plaintext (an IP packet plus padding) lies in the message buffer; empty for a keepalive.
    pub plaintext: Range<usize>,
    /// The message's counter.
    pub counter: u64,
    /// Set when this message confirmed the responder's `next` keypair, which is now current.
    pub update: Option<KeypairUpdate>,
}

/// What the caller must do after [`Tunnel::tick`].
#[derive(Debug, Default)]
pub struct TickOutcome {
    /// Send a handshake initiation now: call [`Tunnel::create_initiation`].
    pub send_initiation: bool,
    /// Send a keepalive now: [`Tunnel::encapsulate`] an empty payload.
    pub send_keepalive: bool,
    /// Handshake attempts were given up: drop the packets staged for this peer.
    pub give_up: bool,
    /// Keys were zeroed (3 x REJECT_AFTER_TIME without a new session): unregister these indices.
    pub update: Option<KeypairUpdate>,
}

/// The protocol state of one peer.
pub struct Tunnel {
    handshake: PeerHandshake,
    cookies: CookieGenerator,
    timers: Timers,
    previous: Option<Arc<Keypair>>,
    current: Option<Arc<Keypair>>,
    next: Option<Arc<Keypair>>,
    /// Local index of our initiation in flight, answered to by responses and cookie replies.
    initiation_index: Option<u32>,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("remote", self.handshake.remote_public())
            .field("current", &self.current)
            .field("initiation_index", &self.initiation_index)
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// A peer with no session yet. `persistent_keepalive` of `None` or zero disables it.
    pub fn new(
        local: &LocalStatic,
        remote: PublicKey,
        psk: Option<PresharedKey>,
        persistent_keepalive: Option<Duration>,
        now: Duration,
    ) -> Self {
        let mut timers = Timers::new();
        timers.set_persistent_keepalive(now, persistent_keepalive);
        Self {
            cookies: CookieGenerator::new(&remote),
            handshake: PeerHandshake::new(local, remote, psk),
            timers,
            previous: None,
            current: None,
            next: None,
            initiation_index: None,
        }
    }

    /// The peer's static public key.
    pub fn remote_public(&self) -> &PublicKey {
        self.handshake.remote_public()
    }

    /// Replace the preshared key (takes effect from the next handshake).
    pub fn set_preshared_key(&mut self, psk: Option<PresharedKey>) {
        self.handshake.set_preshared_key(psk);
    }

    /// Set or clear the persistent keepalive interval.
    pub fn set_persistent_keepalive(&mut self, now: Duration, interval: Option<Duration>) {
        self.timers.set_persistent_keepalive(now, interval);
    }

    /// The persistent keepalive interval, if enabled.
    pub fn persistent_keepalive(&self) -> Option<Duration> {
        self.timers.persistent_keepalive()
    }

    /// When the last handshake completed (caller's monotonic time), if ever.
    pub fn last_handshake(&self) -> Option<Duration> {
        self.timers.last_handshake()
    }

    /// The keypair used for sending, if any (workers may seal with it directly).
    pub fn current_keypair(&self) -> Option<&Arc<Keypair>> {
        self.current.as_ref()
    }

    /// Local index of the initiation in flight, if any.
    pub fn initiation_index(&self) -> Option<u32> {
        self.initiation_index
    }

    /// Every local index this peer currently answers to.
    pub fn live_indices(&self) -> impl Iterator<Item = u32> + '_ {
        [&self.previous, &self.current, &self.next]
            .into_iter()
            .flatten()
            .map(|k| k.local_index())
            .chain(self.initiation_index)
    }

    /// The earliest time [`tick`](Self::tick) must be called, `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.timers.next_deadline()
    }

    /// Packets are waiting and no keypair can carry them: ask for a handshake at the next tick.
    pub fn request_handshake(&mut self, now: Duration) {
        self.timers.on_handshake_needed(now);
    }

    /// Run the timers due at `now`. Zeroing keys is carried out here; the rest is for the caller to do.
    pub fn tick(&mut self, now: Duration) -> TickOutcome {
        let view = match &self.current {
            Some(k) => SessionView::with_current(k.info()),
            None => SessionView::NONE,
        };
        let mut outcome = TickOutcome::default();
        for action in self.timers.poll(now, &view) {
            match action {
                TimerAction::ZeroKeys => outcome.update = Some(self.zero_keys()),
                TimerAction::GiveUp => outcome.give_up = true,
                TimerAction::SendInitiation { .. } => outcome.send_initiation = true,
                TimerAction::SendKeepalive => outcome.send_keepalive = true,
            }
        }
        outcome
    }

    /// Forget every keypair and any handshake in progress (zeroizing them as they drop). Returns the indices to
    /// unregister. Also what the device does when the peer is removed or the interface's private key changes.
    pub fn zero_keys(&mut self) -> KeypairUpdate {
        let mut update = KeypairUpdate::default();
        update.retire(self.previous.take());
        update.retire(self.current.take());
        update.retire(self.next.take());
        update.retired.extend(self.initiation_index.take());
        self.handshake.clear();
        update
    }

    /// Initiator: write a complete initiation (mac1, and mac2 when a cookie is held) into `out`. `local_index`
    /// must be unique in the caller's index table. Returns the index of a replaced initiation to unregister.
    #[allow(clippy::too_many_arguments)]
    pub fn create_initiation(
        &mut self,
        local: &LocalStatic,
        local_index: u32,
        timestamp: Tai64N,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut [u8; wg_layout::INITIATION_LEN],
    ) -> Result<Option<u32>, TunnelError> {
        let ephemeral = PrivateKey::generate(rng);
        self.handshake
            .create_initiation(local, local_index, ephemeral, timestamp, out)?;
        self.cookies.add_macs(out, now);
        self.timers.on_handshake_initiated(now, random_jitter(rng));
        Ok(self
            .initiation_index
            .replace(local_index)
            .filter(|&old| old != local_index))
    }

    /// Initiator: consume a response to our initiation (the caller checked its mac1). The new keypair becomes
    /// current at once.
    pub fn consume_response(
        &mut self,
        local: &LocalStatic,
        msg: &[u8; wg_layout::RESPONSE_LEN],
        now: Duration,
    ) -> Result<KeypairUpdate, TunnelError> {
        let keys = self.handshake.consume_response(local, msg)?;
        self.initiation_index = None;
        self.timers.on_authenticated_packet_received(now);
        self.timers.on_handshake_complete(now);
        self.timers.on_session_derived(now);
        let keypair = keypair_from(&keys, now);
        let mut update = KeypairUpdate {
            installed: Some(keypair.clone()),
            retired: Vec::new(),
        };
        // A responder-side keypair never confirmed is superseded by this fresher one.
        update.retire(self.next.take());
        update.retire(self.previous.take());
        self.previous = self.current.replace(keypair);
        Ok(update)
    }

    /// Consume a cookie reply to our last handshake message; the next initiation then carries mac2.
    pub fn consume_cookie_reply(
        &mut self,
        reply: &[u8; wg_layout::COOKIE_REPLY_LEN],
        now: Duration,
    ) -> Result<(), TunnelError> {
        Ok(self.cookies.consume_reply(reply, now)?)
    }

    /// Responder: accept an initiation identified as this peer's (the caller checked its macs and found the peer
    /// by `init.initiator_static`) and write the complete response into `out`. The new keypair waits in `next`
    /// until the initiator's first transport message confirms it.
    #[allow(clippy::too_many_arguments)]
    pub fn respond(
        &mut self,
        local: &LocalStatic,
        init: IdentifiedInitiation,
        local_index: u32,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut [u8; wg_layout::RESPONSE_LEN],
    ) -> Result<KeypairUpdate, TunnelError> {
        self.handshake.consume_initiation(local, init, now)?;
        let ephemeral = PrivateKey::generate(rng);
        let keys = self
            .handshake
            .create_response(local, local_index, ephemeral, out)?;
        self.cookies.add_macs(out, now);
        self.timers.on_authenticated_packet_received(now);
        self.timers.on_authenticated_packet_sent(now);
        self.timers.on_session_derived(now);
        let keypair = keypair_from(&keys, now);
        let mut update = KeypairUpdate {
            installed: Some(keypair.clone()),
            retired: Vec::new(),
        };
        // The peer's initiation replaced any of ours in flight (the handshake state holds one exchange).
        update.retired.extend(self.initiation_index.take());
        update.retire(self.next.replace(keypair));
        Ok(update)
    }

    /// The keypair to send on at `now`: the current one unless it reached REJECT_AFTER_TIME. Worker threads seal
    /// with it directly (it is `Sync`) and then report the send with [`on_sent`](Self::on_sent).
    pub fn sending_keypair(&self, now: Duration) -> Option<&Arc<Keypair>> {
        self.current.as_ref().filter(|k| !k.is_expired(now))
    }

    /// A transport message was sealed and sent at `now` (`keepalive`: its payload was empty).
    pub fn on_sent(&mut self, now: Duration, keepalive: bool, jitter: Duration) {
        if keepalive {
            self.timers.on_keepalive_sent(now);
        } else {
            self.timers.on_data_sent(now, jitter);
        }
    }

    /// The keypair answering to `local_index`, if it is one of this peer's. Worker threads open with it directly
    /// and then report the message with [`on_received`](Self::on_received).
    pub fn receiving_keypair(&self, local_index: u32) -> Option<&Arc<Keypair>> {
        [&self.current, &self.previous, &self.next]
            .into_iter()
            .flatten()
            .find(|k| k.local_index() == local_index)
    }

    /// A transport message addressed to `local_index` was authenticated at `now` (`keepalive`: empty payload).
    /// When it confirms the responder's `next` keypair, that keypair becomes current and the update is returned.
    pub fn on_received(
        &mut self,
        local_index: u32,
        keepalive: bool,
        now: Duration,
    ) -> Option<KeypairUpdate> {
        let confirms_next = self
            .next
            .as_ref()
            .is_some_and(|k| k.local_index() == local_index);
        let update = confirms_next.then(|| self.confirm_next(now));
        if keepalive {
            self.timers.on_keepalive_received(now);
        } else {
            self.timers.on_data_received(now);
        }
        update
    }

    /// Seal the payload at `buf[16..16 + payload_len]` in place on the current keypair (see
    /// [`Keypair::seal`]) and returns the message length. Without a usable keypair the tunnel asks for a
    /// handshake and answers [`TunnelError::NoSession`]: the caller stages the packet.
    pub fn encapsulate(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        mtu: usize,
        now: Duration,
        jitter: Duration,
    ) -> Result<usize, TunnelError> {
        let Some(keypair) = self.sending_keypair(now) else {
            self.timers.on_handshake_needed(now);
            return Err(TunnelError::NoSession);
        };
        let len = match keypair.seal(buf, payload_len, mtu) {
            Ok(len) => len,
            Err(TransportError::CountersExhausted) => {
                self.timers.on_handshake_needed(now);
                return Err(TunnelError::NoSession);
            }
            Err(e) => return Err(e.into()),
        };
        self.on_sent(now, payload_len == 0, jitter);
        Ok(len)
    }

    /// Authenticate and decrypt a transport message in place. The caller routed it here by its receiver index.
    pub fn decapsulate(
        &mut self,
        msg: &mut [u8],
        now: Duration,
    ) -> Result<Decapsulated, TunnelError> {
        let receiver = msg
            .get(transport::RECEIVER..transport::RECEIVER + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(TunnelError::Transport(TransportError::Truncated))?;
        let keypair = self
            .receiving_keypair(receiver)
            .ok_or(TunnelError::UnknownIndex)?;
        if keypair.is_expired(now) {
            return Err(TunnelError::Expired);
        }
        let opened = keypair.open(msg)?;
        let update = self.on_received(receiver, opened.plaintext.is_empty(), now);
        Ok(Decapsulated {
            plaintext: opened.plaintext,
            counter: opened.counter,
            update,
        })
    }

    /// Responder: the initiator used our `next` keypair, proving the handshake; rotate it into `current`.
    fn confirm_next(&mut self, now: Duration) -> KeypairUpdate {
        let mut update = KeypairUpdate::default();
        update.retire(self.previous.take());
        self.previous = self.current.take();
        self.current = self.next.take();
        self.timers.on_handshake_complete(now);
        update
    }
}

fn keypair_from(keys: &SessionKeys, now: Duration) -> Arc<Keypair> {
    Arc::new(Keypair::new(
        &keys.sending,
        &keys.receiving,
        keys.local_index,
        keys.remote_index,
        keys.is_initiator,
        now,
    ))
}

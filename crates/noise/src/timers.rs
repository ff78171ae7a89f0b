//! WireGuard's per-peer timers as plain data (whitepaper section 6; the rules follow wireguard-go's `timers.go`
//! and the Linux `timers.c`).
//!
//! [`Timers`] owns no clock and no thread. The caller reports events (`on_*` methods, each taking `now`, the
//! caller's monotonic time), calls [`Timers::poll`] whenever `now` reaches [`Timers::next_deadline`], and carries
//! out the [`TimerAction`]s it returns. Each rule is documented beside the code that implements it.
//!
//! Caller's obligations, so the state stays faithful to what happened on the wire:
//! * after sending an initiation (whatever prompted it) call [`Timers::on_handshake_initiated`] — this arms the
//!   retransmission, so skipping it also stops retries;
//! * after sending a keepalive call [`Timers::on_keepalive_sent`]; [`TimerAction::SendKeepalive`] with no usable
//!   keypair means "stage an empty packet", which like any staged packet needs
//!   [`Timers::on_handshake_needed`].
//!
//! The rules that depend on the current keypair ("rekey on send", "rekey on receive") are recorded by the send
//! and receive events and evaluated by the next `poll` against its [`SessionView`]; `next_deadline` reports them
//! as due at the time of their event, so a caller that polls whenever `next_deadline() <= now` (typically once
//! after each batch of packets) applies them without delay.
//!
//! Deliberately left out: the reference implementations' "need another keepalive" flag. It re-arms the
//! keepalive timer when data arrived while the timer was pending, but sending that keepalive acknowledges
//! everything received before it, and their own "any authenticated packet sent" hook cancels the re-armed timer
//! as soon as the keepalive goes out; data arriving later re-arms the timer by the normal rule.

use core::time::Duration;

use rand_core::RngCore;

use crate::constants::{
    KEEPALIVE_TIMEOUT, NEW_HANDSHAKE_TIMEOUT, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
    REKEY_ATTEMPT_TIME, REKEY_ON_RECEIVE_AGE, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX,
    ZERO_KEYS_AFTER,
};

/// What the timers need to know about the peer's current keypair (the one used for sending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeypairInfo {
    /// When the keypair was derived (caller's monotonic clock).
    pub birth: Duration,
    /// Whether we were the handshake initiator for it.
    pub is_initiator: bool,
    /// Next sending counter (messages sent so far).
    pub sending_counter: u64,
}

/// The peer's session as seen by [`Timers::poll`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionView {
    /// The current keypair, if any.
    pub current: Option<KeypairInfo>,
}

impl SessionView {
    /// No keypair at all.
    pub const NONE: Self = Self { current: None };

    /// A session whose current keypair is `info`.
    pub fn with_current(info: KeypairInfo) -> Self {
        Self {
            current: Some(info),
        }
    }
}

/// Something the caller must do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerAction {
    /// Erase all keypairs and any in-flight handshake state of this peer.
    ZeroKeys,
    /// Handshake attempts exhausted: drop the packets staged for this peer and stop retrying.
    GiveUp,
    /// Create and send a handshake initiation, then call [`Timers::on_handshake_initiated`]. `is_retry` is true
    /// for a retransmission of an unanswered attempt, false for a fresh one (only useful for logging).
    SendInitiation {
        /// Retransmission of an unanswered initiation.
        is_retry: bool,
    },
    /// Send an empty transport message (keepalive), then call [`Timers::on_keepalive_sent`].
    SendKeepalive,
}

/// The actions due at one [`Timers::poll`], at most one of each kind, in the order they should be carried out:
/// zeroing before anything that might use keys, the initiation before the keepalive (which may need its keys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerActions {
    zero_keys: bool,
    give_up: bool,
    initiation: Option<bool>,
    keepalive: bool,
}

impl TimerActions {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Whether `action` is due.
    pub fn contains(&self, action: TimerAction) -> bool {
        self.iter().any(|a| a == action)
    }

    /// The due actions, in execution order.
    pub fn iter(&self) -> impl Iterator<Item = TimerAction> {
        self.into_iter()
    }
}

impl IntoIterator for TimerActions {
    type Item = TimerAction;
    type IntoIter = core::iter::Flatten<core::array::IntoIter<Option<TimerAction>, 4>>;

    fn into_iter(self) -> Self::IntoIter {
        [
            self.zero_keys.then_some(TimerAction::ZeroKeys),
            self.give_up.then_some(TimerAction::GiveUp),
            self.initiation
                .map(|is_retry| TimerAction::SendInitiation { is_retry }),
            self.keepalive.then_some(TimerAction::SendKeepalive),
        ]
        .into_iter()
        .flatten()
    }
}

/// A random jitter in `[0, REKEY_TIMEOUT_JITTER_MAX)` for the `jitter` arguments.
pub fn random_jitter(rng: &mut impl RngCore) -> Duration {
    // Modulo bias over 2^64 is immaterial for spreading out retries.
    Duration::from_nanos(rng.next_u64() % REKEY_TIMEOUT_JITTER_MAX.as_nanos() as u64)
}

/// Per-peer timer state. Every field that is a deadline is `Some(when)` while that timer is pending.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    /// Retransmit an unanswered initiation (REKEY_TIMEOUT + jitter after sending it).
    retransmit_handshake: Option<Duration>,
    /// Send a keepalive: data was received and nothing sent since (KEEPALIVE_TIMEOUT).
    send_keepalive: Option<Duration>,
    /// Start a new handshake: data was sent and nothing received since (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter).
    new_handshake: Option<Duration>,
    /// Erase all keys: no new session derived for 3 x REJECT_AFTER_TIME.
    zero_key_material: Option<Duration>,
    /// Persistent keepalive: no authenticated packet in either direction for the configured interval.
    persistent_keepalive_due: Option<Duration>,
    persistent_keepalive_interval: Option<Duration>,
    /// Start of the current series of initiation attempts (None: no handshake in progress).
    attempts_started: Option<Duration>,
    /// When the last initiation was sent: initiations are at most one per REKEY_TIMEOUT.
    last_initiation_sent: Option<Duration>,
    /// The initiator's "rekey on receive" handshake was already requested for the current keypair.
    sent_last_minute_handshake: bool,
    /// A transport message was sent at this time and the "rekey on send" rule has not been evaluated yet.
    send_freshness_pending: Option<Duration>,
    /// A transport message was received at this time and "rekey on receive" has not been evaluated yet.
    receive_freshness_pending: Option<Duration>,
    /// The caller asked for a handshake (packets staged without a usable keypair).
    handshake_requested: Option<Duration>,
    last_handshake: Option<Duration>,
}

impl Timers {
    /// No timer pending, no persistent keepalive.
    pub fn new() -> Self {
        Self::default()
    }

    // ---- events ------------------------------------------------------------------------------------------------

    /// A transport message with a non-empty payload was sent. Includes
    /// [`on_authenticated_packet_sent`](Self::on_authenticated_packet_sent).
    pub fn on_data_sent(&mut self, now: Duration, jitter: Duration) {
        self.on_transport_sent(now);
        // Rule: if we sent data and hear nothing back (not even a keepalive) for KEEPALIVE_TIMEOUT +
        // REKEY_TIMEOUT, the session is presumed dead and a new handshake is started. Not re-armed by further
        // sends: the clock runs from the first unanswered one.
        if self.new_handshake.is_none() {
            self.new_handshake = Some(now + NEW_HANDSHAKE_TIMEOUT + clamp_jitter(jitter));
        }
    }

    /// An empty transport message (keepalive) was sent. Includes
    /// [`on_authenticated_packet_sent`](Self::on_authenticated_packet_sent).
    pub fn on_keepalive_sent(&mut self, now: Duration) {
        self.on_transport_sent(now);
    }

    /// An authenticated transport message with a non-empty payload was received. Includes
    /// [`on_authenticated_packet_received`](Self::on_authenticated_packet_received).
    pub fn on_data_received(&mut self, now: Duration) {
        self.on_keepalive_received(now);
        // Rule: if we received data and send nothing for KEEPALIVE_TIMEOUT, send a keepalive so the peer knows
        // the session is alive (and its "new handshake" timer stops). Keepalives themselves need no answer.
        if self.send_keepalive.is_none() {
            self.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
        }
    }

    /// An authenticated empty transport message (keepalive) was received. Includes
    /// [`on_authenticated_packet_received`](Self::on_authenticated_packet_received).
    pub fn on_keepalive_received(&mut self, now: Duration) {
        self.on_authenticated_packet_received(now);
        self.receive_freshness_pending.get_or_insert(now);
    }

    /// Any authenticated packet was sent: transport data, keepalive, handshake initiation or response.
    /// Idempotent, so calling it besides one of the more specific events is harmless.
    pub fn on_authenticated_packet_sent(&mut self, now: Duration) {
        // Rule: whatever we sent acknowledges what we received, so no separate keepalive is owed.
        self.send_keepalive = None;
        self.on_authenticated_traversal(now);
    }

    /// Any authenticated packet was received: transport data, keepalive, valid handshake message.
    /// Idempotent, so calling it besides one of the more specific events is harmless.
    pub fn on_authenticated_packet_received(&mut self, now: Duration) {
        // Rule: hearing anything authenticated from the peer proves the session (or handshake) is alive.
        self.new_handshake = None;
        self.on_authenticated_traversal(now);
    }

    /// A handshake initiation was sent (fresh or retransmitted). Includes
    /// [`on_authenticated_packet_sent`](Self::on_authenticated_packet_sent).
    pub fn on_handshake_initiated(&mut self, now: Duration, jitter: Duration) {
        self.on_authenticated_packet_sent(now);
        self.last_initiation_sent = Some(now);
        // Rule: an unanswered initiation is retransmitted after REKEY_TIMEOUT plus jitter in [0, 333 ms).
        self.retransmit_handshake = Some(now + REKEY_TIMEOUT + clamp_jitter(jitter));
        self.attempts_started.get_or_insert(now);
    }

    /// The handshake completed: a response was consumed (initiator), or the first transport message arrived on
    /// the new keypair (responder: key confirmation).
    pub fn on_handshake_complete(&mut self, now: Duration) {
        self.retransmit_handshake = None;
        self.attempts_started = None;
        // A new keypair is current: its own "rekey on receive" may fire again later.
        self.sent_last_minute_handshake = false;
        self.last_handshake = Some(now);
    }

    /// New session keys were derived (before sending a response, or after consuming one).
    pub fn on_session_derived(&mut self, now: Duration) {
        // Rule: if no further session is derived within 3 x REJECT_AFTER_TIME, every key is erased: by then even
        // the newest keypair is long unusable, and erasing it limits what a later compromise can decrypt.
        self.zero_key_material = Some(now + ZERO_KEYS_AFTER);
    }

    /// The caller has packets for this peer but no usable keypair (none, or expired): a handshake is wanted.
    pub fn on_handshake_needed(&mut self, now: Duration) {
        self.handshake_requested.get_or_insert(now);
    }

    /// Set (`Some`, non-zero) or clear (`None` or zero) the persistent keepalive interval.
    ///
    /// Turning it on sends a keepalive at once (so a NAT mapping is opened without waiting for traffic); changing
    /// a non-zero interval takes effect from the next authenticated packet.
    pub fn set_persistent_keepalive(&mut self, now: Duration, interval: Option<Duration>) {
        let interval = interval.filter(|i| !i.is_zero());
        match (self.persistent_keepalive_interval, interval) {
            (None, Some(_)) => self.persistent_keepalive_due = Some(now),
            (_, None) => self.persistent_keepalive_due = None,
            (Some(_), Some(_)) => {}
        }
        self.persistent_keepalive_interval = interval;
    }

    /// The persistent keepalive interval, if enabled.
    pub fn persistent_keepalive(&self) -> Option<Duration> {
        self.persistent_keepalive_interval
    }

    /// When the last handshake completed, if ever.
    pub fn last_handshake(&self) -> Option<Duration> {
        self.last_handshake
    }

    /// Cancel every timer and pending request (peer removed or interface down). The persistent keepalive
    /// setting and the last handshake time are kept.
    pub fn stop(&mut self) {
        *self = Self {
            persistent_keepalive_interval: self.persistent_keepalive_interval,
            last_handshake: self.last_handshake,
            ..Self::default()
        };
    }

    // ---- queries -----------------------------------------------------------------------------------------------

    /// The earliest time at which [`poll`](Self::poll) has something to evaluate, `None` when nothing is pending.
    /// Pending checks recorded by events are due at the time of their event, i.e. immediately.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            self.retransmit_handshake,
            self.send_keepalive,
            self.new_handshake,
            self.zero_key_material,
            self.persistent_keepalive_due,
            self.send_freshness_pending,
            self.receive_freshness_pending,
            self.handshake_requested,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fire every timer due at `now` and evaluate the checks recorded by events; returns what to do.
    pub fn poll(&mut self, now: Duration, view: &SessionView) -> TimerActions {
        // Rule: no new session for 3 x REJECT_AFTER_TIME: erase every key (armed by `on_session_derived`).
        let zero_keys = take_if_due(&mut self.zero_key_material, now);
        // Erased keys must not drive the freshness rules below.
        let current = if zero_keys { None } else { view.current };

        let fresh_handshake_wanted = self.wants_fresh_handshake(now, current);
        if fresh_handshake_wanted && self.attempts_started.is_some() {
            // Rule: a fresh request restarts the attempt period (the reference implementations reset their
            // attempt counter on every non-retry initiation): traffic that still wants the peer keeps trying.
            self.attempts_started = Some(now);
        }

        let mut retry_wanted = false;
        let mut give_up = false;
        if take_if_due(&mut self.retransmit_handshake, now) {
            let gave_up_after = self
                .attempts_started
                .map(|started| now.saturating_sub(started));
            if gave_up_after.is_some_and(|elapsed| elapsed >= REKEY_ATTEMPT_TIME) {
                // Rule: after REKEY_ATTEMPT_TIME of unanswered initiations, stop: drop staged packets, owe no
                // keepalive, and make sure leftovers of the failed exchange are erased eventually. Measured in
                // time as the whitepaper states it; Linux and wireguard-go count retries instead and give up
                // once more than 90 / 5 = 18 retries went unanswered, i.e. about 10 s later than this.
                give_up = true;
                self.attempts_started = None;
                self.send_keepalive = None;
                self.zero_key_material.get_or_insert(now + ZERO_KEYS_AFTER);
            } else {
                retry_wanted = true;
            }
        }

        let initiation = ((fresh_handshake_wanted || retry_wanted) && self.initiation_allowed(now))
            .then_some(!fresh_handshake_wanted);

        // Rule: data received, nothing sent for KEEPALIVE_TIMEOUT: send a keepalive.
        let keepalive_owed = take_if_due(&mut self.send_keepalive, now);
        // Rule: persistent keepalive: nothing authenticated sent or received for the configured interval.
        let persistent_due = take_if_due(&mut self.persistent_keepalive_due, now)
            && self.persistent_keepalive_interval.is_some();
        TimerActions {
            zero_keys,
            give_up,
            initiation,
            keepalive: keepalive_owed || persistent_due,
        }
    }

    /// Whether the caller may send an initiation at `now`.
    ///
    /// Rule: at most one initiation per REKEY_TIMEOUT, whatever asks for it; a suppressed request is dropped,
    /// because the pending retransmission (or the session just established) already covers it.
    pub fn initiation_allowed(&self, now: Duration) -> bool {
        self.last_initiation_sent
            .map_or(true, |sent| now.saturating_sub(sent) >= REKEY_TIMEOUT)
    }

    // ---- internals ---------------------------------------------------------------------------------------------

    fn on_transport_sent(&mut self, now: Duration) {
        self.on_authenticated_packet_sent(now);
        self.send_freshness_pending.get_or_insert(now);
    }

    /// Rule (persistent keepalive): any authenticated packet, in either direction, restarts the interval, since
    /// either keeps a NAT mapping open. (Both reference implementations do this on send and on receive.)
    fn on_authenticated_traversal(&mut self, now: Duration) {
        if let Some(interval) = self.persistent_keepalive_interval {
            self.persistent_keepalive_due = Some(now + interval);
        }
    }

    /// Evaluate (and consume) every reason for a fresh, non-retry initiation due at `now`.
    fn wants_fresh_handshake(&mut self, now: Duration, current: Option<KeypairInfo>) -> bool {
        let requested = take_if_due(&mut self.handshake_requested, now);
        // Rule: sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (+ jitter): new handshake.
        let peer_silent = take_if_due(&mut self.new_handshake, now);

        let mut stale_on_send = false;
        if take_if_due(&mut self.send_freshness_pending, now) {
            // Rule (rekey on send): after REKEY_AFTER_MESSAGES messages, either side rekeys; after REKEY_AFTER_TIME
            // only the initiator does, so both sides do not start competing handshakes at the same moment.
            // Ages compare with `>=` as in Linux ("expired at birth + limit"); wireguard-go uses `>`.
            stale_on_send = current.is_some_and(|k| {
                k.sending_counter > REKEY_AFTER_MESSAGES
                    || (k.is_initiator && now.saturating_sub(k.birth) >= REKEY_AFTER_TIME)
            });
        }

        let mut stale_on_receive = false;
        if take_if_due(&mut self.receive_freshness_pending, now) && !self.sent_last_minute_handshake
        {
            // Rule (rekey on receive): the initiator receiving on a keypair older than REJECT_AFTER_TIME -
            // KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s) rekeys once, even if it has nothing to send, so a fresh
            // keypair exists before this one expires while the peer is the only one talking.
            stale_on_receive = current.is_some_and(|k| {
                k.is_initiator && now.saturating_sub(k.birth) >= REKEY_ON_RECEIVE_AGE
            });
            self.sent_last_minute_handshake |= stale_on_receive;
        }

        requested || peer_silent || stale_on_send || stale_on_receive
    }
}

/// If `deadline` is due at `now`, clear it and return true.
fn take_if_due(deadline: &mut Option<Duration>, now: Duration) -> bool {
    deadline.take_if(|due| *due <= now).is_some()
}

fn clamp_jitter(jitter: Duration) -> Duration {
    jitter.min(REKEY_TIMEOUT_JITTER_MAX)
}

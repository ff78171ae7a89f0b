//! mac1, mac2 and cookie replies: WireGuard's denial-of-service defence (whitepaper section 5.4.4 and 5.4.7).
//!
//! Every handshake message carries `mac1`, keyed by the receiver's public key, so a responder can drop traffic
//! from anyone who does not know it before doing any Diffie-Hellman. Under load the responder also demands
//! `mac2`, keyed by a cookie that only the owner of the sender's IP address and port can have received.
//!
//! Cookie lifetime (our reading of "the secret changes every two minutes"): the responder's secret mints cookies
//! for [`COOKIE_REFRESH_TIME`] (120 s) after it is drawn, then is replaced on next use; a cookie still verifies
//! up to [`COOKIE_SECRET_GRACE`] (5 s) past its secret's 120 s, so a message that was in flight when the secret
//! rotated is not bounced, and never after that. The initiator stops attaching a cookie 120 s after receiving it.

use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use rand_core::{CryptoRng, RngCore};
use wgxdp_wire::wg_layout::{self, cookie_reply, MAC_LEN};
use zeroize::Zeroizing;

use crate::constants::COOKIE_REFRESH_TIME;
use crate::crypto::{
    constant_time_eq, hash, mac, xaead_open, xaead_seal, HASH_LEN, LABEL_COOKIE, LABEL_MAC1,
};
use crate::handshake::{check_header, field};
use crate::keys::PublicKey;

/// How long past its 120 s a retired cookie secret still verifies mac2 (covers messages in flight at rotation;
/// the same 5 s the Linux implementation allows for latency).
pub const COOKIE_SECRET_GRACE: Duration = Duration::from_secs(5);

/// Longest `source` (IPv6 address and port).
pub const SOURCE_MAX_LEN: usize = 18;

/// What to do with an incoming handshake message, by its macs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacVerdict {
    /// Process it.
    Valid,
    /// Drop it silently: it was not made by anyone who knows our public key (or is not a handshake message).
    InvalidMac1,
    /// We are under load and it has no valid mac2: answer with a cookie reply instead of processing it.
    NeedCookie,
}

/// Why a cookie reply could not be built or consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// The message is not a 148-byte initiation or 92-byte response (or not a cookie reply).
    WrongType,
    /// We have not sent a message that this reply could answer (or already consumed a reply to it).
    NoMessageSent,
    /// The reply's receiver index is not the sender index of the last message we sent.
    WrongReceiverIndex,
    /// The encrypted cookie failed authentication.
    Decrypt,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongType => "not a handshake initiation, handshake response or cookie reply",
            Self::NoMessageSent => "cookie reply does not answer a message we sent",
            Self::WrongReceiverIndex => "cookie reply is addressed to a different index",
            Self::Decrypt => "cookie reply failed authentication",
        })
    }
}

impl std::error::Error for CookieError {}

/// Byte ranges of the two macs, which sit at the end of both handshake messages.
struct MacLayout {
    mac1: usize,
    mac2: usize,
}

fn mac_layout(msg: &[u8]) -> Option<MacLayout> {
    match msg.len() {
        wg_layout::INITIATION_LEN if msg.first() == Some(&wg_layout::MSG_INITIATION) => {
            Some(MacLayout {
                mac1: wg_layout::initiation::MAC1,
                mac2: wg_layout::initiation::MAC2,
            })
        }
        wg_layout::RESPONSE_LEN if msg.first() == Some(&wg_layout::MSG_RESPONSE) => {
            Some(MacLayout {
                mac1: wg_layout::response::MAC1,
                mac2: wg_layout::response::MAC2,
            })
        }
        _ => None,
    }
}

/// `HASH(label || public)`: the mac1 key and the cookie-reply key are both derived this way.
fn labelled_key(label: &[u8], public: &PublicKey) -> [u8; HASH_LEN] {
    hash(&[label, public.as_bytes()])
}

/// The `source` bytes for a sender address: its IP address bytes then its port, big-endian. An IPv4-mapped IPv6
/// address is reduced to IPv4 so a dual-stack socket yields the same cookie as a plain IPv4 one.
pub fn source_bytes(addr: SocketAddr) -> ([u8; SOURCE_MAX_LEN], usize) {
    let mut bytes = [0u8; SOURCE_MAX_LEN];
    let port = addr.port().to_be_bytes();
    let len = match addr.ip().to_canonical() {
        core::net::IpAddr::V4(ip) => {
            bytes[..4].copy_from_slice(&ip.octets());
            bytes[4..6].copy_from_slice(&port);
            6
        }
        core::net::IpAddr::V6(ip) => {
            bytes[..16].copy_from_slice(&ip.octets());
            bytes[16..].copy_from_slice(&port);
            SOURCE_MAX_LEN
        }
    };
    (bytes, len)
}

/// A cookie secret and when it was drawn.
struct Secret {
    value: Zeroizing<[u8; HASH_LEN]>,
    born: Duration,
}

impl Secret {
    fn draw(rng: &mut (impl RngCore + CryptoRng), now: Duration) -> Self {
        let mut value = Zeroizing::new([0u8; HASH_LEN]);
        rng.fill_bytes(value.as_mut());
        Self { value, born: now }
    }

    fn mints(&self, now: Duration) -> bool {
        now.saturating_sub(self.born) < COOKIE_REFRESH_TIME
    }

    fn verifies(&self, now: Duration) -> bool {
        now.saturating_sub(self.born) < COOKIE_REFRESH_TIME + COOKIE_SECRET_GRACE
    }

    /// `τ = MAC(R_m, A_m)`: the cookie for `source`.
    fn cookie(&self, source: &[u8]) -> [u8; MAC_LEN] {
        mac(&self.value, &[source])
    }
}

/// The current secret's cookie for the source seen last. A flood comes in runs from one source (a socket's
/// batch), and a message that needs a cookie has its cookie computed twice (mac2 check, then the reply): both
/// reuse this instead of hashing again. Forgotten when the secret rotates.
struct MintedCookie {
    source: [u8; SOURCE_MAX_LEN],
    source_len: usize,
    cookie: Zeroizing<[u8; MAC_LEN]>,
}

/// Responder side, one per interface: checks mac1/mac2 of incoming handshake messages and builds cookie replies.
/// The caller decides when it is "under load".
pub struct CookieChecker {
    mac1_key: [u8; HASH_LEN],
    reply_key: [u8; HASH_LEN],
    current: Secret,
    /// The secret replaced last, kept only for [`COOKIE_SECRET_GRACE`].
    previous: Option<Secret>,
    minted: Option<MintedCookie>,
}

impl fmt::Debug for CookieChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieChecker")
            .field("secret_born", &self.current.born)
            .finish_non_exhaustive()
    }
}

impl CookieChecker {
    /// Checker for messages addressed to `local_public`; draws the first cookie secret from `rng`.
    pub fn new(
        local_public: &PublicKey,
        rng: &mut (impl RngCore + CryptoRng),
        now: Duration,
    ) -> Self {
        Self {
            mac1_key: labelled_key(LABEL_MAC1, local_public),
            reply_key: labelled_key(LABEL_COOKIE, local_public),
            current: Secret::draw(rng, now),
            previous: None,
            minted: None,
        }
    }

    /// The current secret's cookie for `source` (the last one is remembered, see [`MintedCookie`]).
    fn current_cookie(&mut self, source: &[u8]) -> Zeroizing<[u8; MAC_LEN]> {
        if let Some(minted) = &self.minted {
            if minted.source.get(..minted.source_len) == Some(source) {
                return minted.cookie.clone();
            }
        }
        let cookie = Zeroizing::new(self.current.cookie(source));
        let mut bytes = [0u8; SOURCE_MAX_LEN];
        if let Some(slot) = bytes.get_mut(..source.len()) {
            slot.copy_from_slice(source);
            self.minted = Some(MintedCookie {
                source: bytes,
                source_len: source.len(),
                cookie: cookie.clone(),
            });
        }
        cookie
    }

    /// Replaces the secret once it is too old to mint cookies.
    fn rotate(&mut self, now: Duration, rng: &mut (impl RngCore + CryptoRng)) {
        if !self.current.mints(now) {
            self.previous = Some(core::mem::replace(
                &mut self.current,
                Secret::draw(rng, now),
            ));
            self.minted = None;
        }
    }

    /// Verdict for an incoming initiation or response (`msg` is the whole message, macs included); `source` is
    /// the sender's address as built by [`source_bytes`]. mac2 is only looked at when `under_load`.
    pub fn check(
        &mut self,
        msg: &[u8],
        source: &[u8],
        under_load: bool,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> MacVerdict {
        let Some(layout) = mac_layout(msg) else {
            return MacVerdict::InvalidMac1;
        };
        let (Some(covered), Ok(received)) =
            (msg.get(..layout.mac1), field::<MAC_LEN>(msg, layout.mac1))
        else {
            return MacVerdict::InvalidMac1;
        };
        if !constant_time_eq(&mac(&self.mac1_key, &[covered]), &received) {
            return MacVerdict::InvalidMac1;
        }
        if !under_load {
            return MacVerdict::Valid;
        }
        self.rotate(now, rng);
        let (Some(covered), Ok(received)) =
            (msg.get(..layout.mac2), field::<MAC_LEN>(msg, layout.mac2))
        else {
            return MacVerdict::InvalidMac1;
        };
        // An initiator without a cookie sends mac2 as zeros: nothing to verify (a real mac2 is zero with
        // probability 2^-128, and whether it is zero is in the packet for anyone to see).
        if received == [0u8; MAC_LEN] {
            return MacVerdict::NeedCookie;
        }
        let current = self.current_cookie(source);
        let matches_current = constant_time_eq(&mac(&current, &[covered]), &received);
        let matches = |secret: &Secret| {
            secret.verifies(now)
                && constant_time_eq(&mac(&secret.cookie(source), &[covered]), &received)
        };
        if matches_current || self.previous.as_ref().is_some_and(matches) {
            MacVerdict::Valid
        } else {
            MacVerdict::NeedCookie
        }
    }

    /// Builds in `out` the 64-byte cookie reply to `msg` (the message that got [`MacVerdict::NeedCookie`]),
    /// addressed to `receiver_index` (that message's sender index), for a sender at `source`.
    pub fn create_reply(
        &mut self,
        msg: &[u8],
        receiver_index: u32,
        source: &[u8],
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
        out: &mut [u8; wg_layout::COOKIE_REPLY_LEN],
    ) -> Result<(), CookieError> {
        let layout = mac_layout(msg).ok_or(CookieError::WrongType)?;
        let msg_mac1 = field::<MAC_LEN>(msg, layout.mac1).map_err(|_| CookieError::WrongType)?;
        self.rotate(now, rng);
        let cookie = self.current_cookie(source);
        let mut nonce = [0u8; cookie_reply::NONCE_LEN];
        rng.fill_bytes(&mut nonce);

        out.fill(0);
        let (head, rest) = out.split_at_mut(cookie_reply::NONCE);
        let (nonce_out, sealed) = rest.split_at_mut(cookie_reply::NONCE_LEN);
        head.copy_from_slice(&[wg_layout::MSG_COOKIE_REPLY, 0, 0, 0, 0, 0, 0, 0]);
        head[cookie_reply::RECEIVER..].copy_from_slice(&receiver_index.to_le_bytes());
        nonce_out.copy_from_slice(&nonce);
        // The AD binds the reply to the exact message it answers: only its sender knows that mac1.
        xaead_seal(&self.reply_key, &nonce, cookie.as_ref(), &msg_mac1, sealed)
            .map_err(|_| CookieError::WrongType)
    }
}

/// The last message we sent: what a cookie reply must answer.
struct SentMessage {
    mac1: [u8; MAC_LEN],
    sender_index: u32,
}

/// Initiator side (and responder side for its responses), one per peer: fills mac1 and mac2 and consumes cookie
/// replies.
pub struct CookieGenerator {
    mac1_key: [u8; HASH_LEN],
    reply_key: [u8; HASH_LEN],
    /// The latest cookie and when we received it.
    cookie: Option<(Zeroizing<[u8; MAC_LEN]>, Duration)>,
    last_sent: Option<SentMessage>,
}

impl fmt::Debug for CookieGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieGenerator")
            .field(
                "cookie_received_at",
                &self.cookie.as_ref().map(|(_, at)| at),
            )
            .finish_non_exhaustive()
    }
}

impl CookieGenerator {
    /// Generator for messages sent to `remote_public`.
    pub fn new(remote_public: &PublicKey) -> Self {
        Self {
            mac1_key: labelled_key(LABEL_MAC1, remote_public),
            reply_key: labelled_key(LABEL_COOKIE, remote_public),
            cookie: None,
            last_sent: None,
        }
    }

    /// Fills mac1 of `msg` (a whole 148-byte initiation or 92-byte response, everything before the macs already
    /// written) and mac2: keyed by our cookie if it is less than 120 s old, zero otherwise. Anything that is not
    /// such a message is left untouched.
    pub fn add_macs(&mut self, msg: &mut [u8], now: Duration) {
        let Some(layout) = mac_layout(msg) else {
            return;
        };
        let (Some(covered), Ok(sender)) = (msg.get(..layout.mac1), field::<4>(msg, 4)) else {
            return;
        };
        let mac1 = mac(&self.mac1_key, &[covered]);
        if let Some(slot) = msg.get_mut(layout.mac1..layout.mac2) {
            slot.copy_from_slice(&mac1);
        }
        let fresh = self
            .cookie
            .as_ref()
            .filter(|(_, received)| now.saturating_sub(*received) < COOKIE_REFRESH_TIME);
        let mac2 = match (fresh, msg.get(..layout.mac2)) {
            (Some((cookie, _)), Some(covered)) => mac(cookie, &[covered]),
            _ => [0; MAC_LEN],
        };
        if let Some(slot) = msg.get_mut(layout.mac2..) {
            slot.copy_from_slice(&mac2);
        }
        self.last_sent = Some(SentMessage {
            mac1,
            sender_index: u32::from_le_bytes(sender),
        });
    }

    /// Takes the cookie from a reply to the last message we sent. Each sent message can be answered once, so a
    /// replayed reply cannot refresh an old cookie.
    pub fn consume_reply(
        &mut self,
        reply: &[u8; wg_layout::COOKIE_REPLY_LEN],
        now: Duration,
    ) -> Result<(), CookieError> {
        check_header(reply, wg_layout::MSG_COOKIE_REPLY).map_err(|_| CookieError::WrongType)?;
        let sent = self.last_sent.as_ref().ok_or(CookieError::NoMessageSent)?;
        let receiver =
            field::<4>(reply, cookie_reply::RECEIVER).map_err(|_| CookieError::WrongType)?;
        if u32::from_le_bytes(receiver) != sent.sender_index {
            return Err(CookieError::WrongReceiverIndex);
        }
        let nonce = field::<{ cookie_reply::NONCE_LEN }>(reply, cookie_reply::NONCE)
            .map_err(|_| CookieError::WrongType)?;
        let sealed = reply
            .get(cookie_reply::COOKIE..)
            .ok_or(CookieError::WrongType)?;
        let mut cookie = Zeroizing::new([0u8; MAC_LEN]);
        xaead_open(&self.reply_key, &nonce, sealed, &sent.mac1, cookie.as_mut())
            .map_err(|_| CookieError::Decrypt)?;
        self.cookie = Some((cookie, now));
        self.last_sent = None;
        Ok(())
    }
}

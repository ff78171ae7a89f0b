//! Why the device dropped a packet: one counter per reason.

use core::fmt;

use crate::counter_info::CounterInfo;

/// Every reason a packet (in either direction) can be dropped. Each has its own counter in
/// [`crate::Counters`] and a stable snake_case [`name`](DropReason::name) for scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Not a WireGuard message: wrong type word or wrong length for its type.
    Malformed,
    /// A handshake message whose mac1 is wrong: not made by anyone who knows our public key.
    BadMac,
    /// A transport message, response or cookie reply addressed to a receiver index we do not have.
    UnknownIndex,
    /// A handshake initiation from a static key that is not one of our peers.
    UnknownPeer,
    /// A transport counter already seen, or too old for the replay window.
    Replay,
    /// A transport message that failed authentication.
    Decrypt,
    /// A transport message on a keypair older than REJECT_AFTER_TIME.
    Expired,
    /// A decrypted packet whose inner source address is not routed to the peer that sent it.
    Acl,
    /// A packet from TUN whose destination is in no peer's allowed IPs.
    NoRoute,
    /// A packet for a peer whose endpoint is unknown.
    NoEndpoint,
    /// A packet for a peer with which no session can be made (the interface has no private key).
    NoSession,
    /// The oldest packet staged for a peer, pushed out by a newer one.
    StagedOverflow,
    /// Staged packets dropped because the handshake was given up (REKEY_ATTEMPT_TIME without answer).
    HandshakeTimeout,
    /// A handshake message over its source's rate limit while under load.
    RateLimited,
    /// A handshake message that failed: bad encryption, replayed timestamp, flood, wrong state.
    HandshakeFailed,
    /// A cookie reply that does not answer our last message or fails authentication.
    CookieReplyInvalid,
    /// A decrypted packet that is not a well-formed IPv4 or IPv6 packet, or a TUN packet that is not one.
    InvalidInnerPacket,
    /// A transport message could not be sealed (buffer too small for padding and tag).
    SealFailed,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 18] = [
        DropReason::Malformed,
        DropReason::BadMac,
        DropReason::UnknownIndex,
        DropReason::UnknownPeer,
        DropReason::Replay,
        DropReason::Decrypt,
        DropReason::Expired,
        DropReason::Acl,
        DropReason::NoRoute,
        DropReason::NoEndpoint,
        DropReason::NoSession,
        DropReason::StagedOverflow,
        DropReason::HandshakeTimeout,
        DropReason::RateLimited,
        DropReason::HandshakeFailed,
        DropReason::CookieReplyInvalid,
        DropReason::InvalidInnerPacket,
        DropReason::SealFailed,
    ];

    /// Number of reasons (size of a counter array).
    pub const COUNT: usize = Self::ALL.len();

    /// Position in [`ALL`](Self::ALL): the counter slot of this reason.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name for statistics and JSON keys.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::BadMac => "bad_mac",
            DropReason::UnknownIndex => "unknown_index",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::Replay => "replay",
            DropReason::Decrypt => "decrypt",
            DropReason::Expired => "expired",
            DropReason::Acl => "acl",
            DropReason::NoRoute => "no_route",
            DropReason::NoEndpoint => "no_endpoint",
            DropReason::NoSession => "no_session",
            DropReason::StagedOverflow => "staged_overflow",
            DropReason::HandshakeTimeout => "handshake_timeout",
            DropReason::RateLimited => "rate_limited",
            DropReason::HandshakeFailed => "handshake_failed",
            DropReason::CookieReplyInvalid => "cookie_reply_invalid",
            DropReason::InvalidInnerPacket => "invalid_inner_packet",
            DropReason::SealFailed => "seal_failed",
        }
    }
}

impl DropReason {
    /// What the reason means, in words (also its `Display`).
    pub const fn help(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed message",
            DropReason::BadMac => "handshake message with a bad mac1",
            DropReason::UnknownIndex => "unknown receiver index",
            DropReason::UnknownPeer => "initiation from an unknown public key",
            DropReason::Replay => "replayed transport counter",
            DropReason::Decrypt => "transport message failed authentication",
            DropReason::Expired => "keypair expired",
            DropReason::Acl => "inner source address not allowed for the sending peer",
            DropReason::NoRoute => "no peer's allowed IPs contain the destination",
            DropReason::NoEndpoint => "peer has no known endpoint",
            DropReason::NoSession => "no session possible (no private key)",
            DropReason::StagedOverflow => "staged packet queue full, oldest dropped",
            DropReason::HandshakeTimeout => "handshake given up, staged packets dropped",
            DropReason::RateLimited => "handshake rate limit exceeded",
            DropReason::HandshakeFailed => "handshake message failed",
            DropReason::CookieReplyInvalid => "invalid cookie reply",
            DropReason::InvalidInnerPacket => "not a valid inner IP packet",
            DropReason::SealFailed => "transport message could not be sealed",
        }
    }

    /// Name, help and kind, as every counter set describes its members.
    pub const fn info(self) -> CounterInfo {
        CounterInfo::counter(self.name(), self.help())
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.help())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_names_are_unique() {
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }
}

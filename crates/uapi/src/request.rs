//! Typed UAPI requests: what a client asked for, ready to be applied.

use std::net::SocketAddr;

use crate::key::{Key, KeyUpdate};
use crate::prefix::AllowedIpChange;

/// One complete UAPI request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `get=1`: answer with the device state ([`crate::write_get_response`]).
    Get,
    /// `set=1`: apply these changes, then answer with [`crate::write_errno`].
    Set(SetRequest),
}

/// A fully parsed and validated `set=1` request.
///
/// Parsing is all-or-nothing, so the daemon can apply one of these
/// atomically: every value has been checked before it sees any of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetRequest {
    /// `private_key`: `None` leaves the key alone; the zero key (or an empty
    /// value) is [`KeyUpdate::Clear`].
    pub private_key: Option<KeyUpdate>,
    /// `listen_port`: 0 means "pick any port".
    pub listen_port: Option<u16>,
    /// `fwmark`: `Some(0)` removes the mark.
    pub fwmark: Option<u32>,
    /// `replace_peers=true`: remove every existing peer before applying `peers`.
    pub replace_peers: bool,
    /// Peer edits, in the order sent. The same public key may appear more
    /// than once; later entries apply on top of earlier ones.
    pub peers: Vec<PeerChange>,
}

/// The edits for one peer, started by a `public_key` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerChange {
    /// The peer this applies to. The daemon ignores a peer whose key equals
    /// the device's own public key (wireguard-go and the kernel do).
    pub public_key: Key,
    /// `remove=true`: delete the peer. The other fields then mean nothing
    /// (wireguard-go applies them to a throw-away placeholder).
    pub remove: bool,
    /// `update_only=true`: change the peer only if it already exists; never
    /// create it.
    pub update_only: bool,
    /// `preshared_key`: the zero key is [`KeyUpdate::Clear`].
    pub preshared_key: Option<KeyUpdate>,
    /// `endpoint`: the peer's UDP address.
    pub endpoint: Option<SocketAddr>,
    /// `persistent_keepalive_interval` in seconds; `Some(0)` disables it.
    pub persistent_keepalive_interval: Option<u16>,
    /// `replace_allowed_ips=true`: drop the peer's current allowed IPs before
    /// applying `allowed_ips`. Edits sent before this line in the same peer
    /// block were already dropped from `allowed_ips` by the parser, matching
    /// wireguard-go, which applies each line as it reads it.
    pub replace_allowed_ips: bool,
    /// `allowed_ip` lines in order: additions and `-PREFIX` removals.
    pub allowed_ips: Vec<AllowedIpChange>,
}

impl PeerChange {
    /// A change that names the peer and alters nothing (yet).
    pub fn new(public_key: Key) -> Self {
        PeerChange {
            public_key,
            remove: false,
            update_only: false,
            preshared_key: None,
            endpoint: None,
            persistent_keepalive_interval: None,
            replace_allowed_ips: false,
            allowed_ips: Vec::new(),
        }
    }
}

//! The result of applying a UAPI `set` request.

use core::fmt;

use wgxdp_uapi::errno;

/// ENOSPC: no room left (peer ids or allowed-IPs table exhausted).
pub const ENOSPC: u32 = 28;

/// What the caller must do after a successful [`crate::Device::apply_set`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The request set `listen_port`: rebind the sockets to it (0: any port, then call
    /// [`crate::Device::set_bound_port`]).
    pub listen_port: Option<u16>,
    /// The request set `fwmark`: apply it to the sockets (0 removes the mark).
    pub fwmark: Option<u32>,
    /// One line per allowed IP of a peer that other peers' more specific prefixes shadow, for the log.
    pub warnings: Vec<String>,
}

/// Why a `set` request was refused; nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    kind: ApplyErrorKind,
}

/// The cause of an [`ApplyError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyErrorKind {
    /// An allowed IP is not a valid prefix (its length exceeds the address width).
    InvalidAllowedIp(String),
    /// Every peer id has been used: the device cannot create another peer.
    PeerIdsExhausted,
    /// The allowed-IPs table has no room for the request's prefixes.
    TableFull,
}

impl ApplyError {
    pub(crate) fn new(kind: ApplyErrorKind) -> Self {
        Self { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ApplyErrorKind {
        &self.kind
    }

    /// The positive errno for the UAPI answer: EINVAL for a bad value, ENOSPC when out of room.
    pub fn errno(&self) -> u32 {
        match self.kind {
            ApplyErrorKind::InvalidAllowedIp(_) => errno::EINVAL,
            ApplyErrorKind::PeerIdsExhausted | ApplyErrorKind::TableFull => ENOSPC,
        }
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ApplyErrorKind::InvalidAllowedIp(text) => write!(f, "invalid allowed IP {text}"),
            ApplyErrorKind::PeerIdsExhausted => f.write_str("no peer id left for a new peer"),
            ApplyErrorKind::TableFull => f.write_str("allowed-IPs table is full"),
        }
    }
}

impl std::error::Error for ApplyError {}

//! Plain snapshots of device state, which the daemon fills in for `get`
//! responses and `wg showconf` output.

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::key::Key;
use crate::prefix::AllowedIp;

/// The interface as `get=1` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceState {
    /// The interface private key; `None` (or the zero key) when unset.
    pub private_key: Option<Key>,
    /// The UDP port actually bound (0 while not bound).
    pub listen_port: u16,
    /// Socket mark; 0 means none.
    pub fwmark: u32,
    /// Peers in the order they should be listed.
    pub peers: Vec<PeerState>,
}

/// One peer as `get=1` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerState {
    /// The peer's public key.
    pub public_key: Key,
    /// The preshared key; `None` (or the zero key) when unused.
    pub preshared_key: Option<Key>,
    /// Last known UDP address of the peer.
    pub endpoint: Option<SocketAddr>,
    /// Wall-clock time of the last completed handshake; `None` if never.
    pub last_handshake: Option<SystemTime>,
    /// Bytes sent to the peer (whole UDP payloads, as wg counts them).
    pub tx_bytes: u64,
    /// Bytes received from the peer.
    pub rx_bytes: u64,
    /// Persistent keepalive in seconds; 0 when off.
    pub persistent_keepalive_interval: u16,
    /// Prefixes routed to this peer.
    pub allowed_ips: Vec<AllowedIp>,
}

impl PeerState {
    /// A peer with only its key known: no traffic, no handshake.
    pub fn new(public_key: Key) -> Self {
        PeerState {
            public_key,
            preshared_key: None,
            endpoint: None,
            last_handshake: None,
            tx_bytes: 0,
            rx_bytes: 0,
            persistent_keepalive_interval: 0,
            allowed_ips: Vec::new(),
        }
    }
}

/// A key that is present and not all zeros (the zero key means "none").
pub(crate) fn nonzero_key(key: &Option<Key>) -> Option<&Key> {
    key.as_ref().filter(|k| !k.is_zero())
}

//! Where a message goes: the peer's endpoint, and the local address it leaves from.
//!
//! Once a peer has sent to us, its replies leave from the very address it sent to ("sticky" source, as the
//! kernel's WireGuard and wireguard-go do), so a NAT or a stateful firewall in front of a multi-homed gateway sees
//! one flow. The interface that packet arrived on is kept too: a source is used only while the route to the peer
//! still leaves through that interface (not "too sticky"), and it is forgotten when it stops being ours (the
//! transmit side falls back to the routing choice, and the peer's next packet sets it again).

use core::net::{IpAddr, SocketAddr};

/// A local address a peer sent to, and the interface its packet came in on (0: unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalAddr {
    /// The address.
    pub ip: IpAddr,
    /// The interface index.
    pub ifindex: u32,
}

/// A peer's endpoint and the local address to send to it from (`None`: the routing choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The peer's endpoint.
    pub addr: SocketAddr,
    /// The source to use, if the peer sent to us from this endpoint.
    pub local: Option<LocalAddr>,
}

impl Destination {
    /// The endpoint with the routing choice of source.
    pub fn routed(addr: SocketAddr) -> Self {
        Self { addr, local: None }
    }
}

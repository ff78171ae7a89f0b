//! Which local address a message to a peer leaves from: the address the peer last sent to (its "sticky" source,
//! see `wgxdp_device::Destination`), as long as it is still ours and the route to the peer still leaves through
//! the interface the peer's packets came in on; otherwise the routing choice (the kernel's preferred source).
//! So replies come from the address a peer talks to, a removed address falls over to the next one, and a better
//! route through another interface wins over the remembered source (as the kernel's WireGuard decides it).
//!
//! Whether an address is still ours is asked of the kernel (bind a throwaway socket to it) at most once a second
//! per address (every 50 ms while it is not); routes come from the kernel's tables through a cache.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use wgxdp_device::{Destination, LocalAddr};
use wgxdp_io_xdp::NeighbourCache;

/// How long a "this address is ours" holds (a removed address is used that long at most: the socket path's send
/// then falls back by itself).
const RECHECK_OURS: Duration = Duration::from_secs(1);
/// How long a "not ours" holds: short, so an address added back is used again at once.
const RECHECK_GONE: Duration = Duration::from_millis(50);
/// Addresses remembered at most (a gateway has few; a flood of forged destinations cannot grow this).
const MAX_REMEMBERED: usize = 256;

/// One worker's choice of source addresses.
#[derive(Debug, Default)]
pub(crate) struct SourceChoice {
    ours: HashMap<IpAddr, (bool, Instant)>,
}

impl SourceChoice {
    /// The source for a message to `to` whose route leaves through interface `route_ifindex` (`None`: not
    /// known), or `None` for the routing choice.
    pub fn source(&mut self, to: &Destination, route_ifindex: Option<u32>) -> Option<LocalAddr> {
        let local = to.local?;
        if local.ip.is_ipv4() != to.addr.is_ipv4() {
            return None;
        }
        // Not too sticky: the peer's packets came in on another interface than the one the route now takes.
        if let Some(route) = route_ifindex {
            if local.ifindex != 0 && route != local.ifindex {
                return None;
            }
        }
        self.is_ours(&local).then_some(local)
    }

    /// Whether `local` is an address of this host now.
    fn is_ours(&mut self, local: &LocalAddr) -> bool {
        let now = Instant::now();
        if let Some((ours, at)) = self.ours.get(&local.ip) {
            let ttl = if *ours { RECHECK_OURS } else { RECHECK_GONE };
            if now.duration_since(*at) < ttl {
                return *ours;
            }
        }
        let addr = match local.ip {
            IpAddr::V6(ip) if ip.segments()[0] & 0xffc0 == 0xfe80 => {
                SocketAddr::V6(SocketAddrV6::new(ip, 0, 0, local.ifindex))
            }
            ip => SocketAddr::new(ip, 0),
        };
        // Binding fails with EADDRNOTAVAIL for an address that is not ours; any other failure (no sockets left)
        // says nothing about the address: keep using it, the send falls back if it is refused.
        let ours = match UdpSocket::bind(addr) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::AddrNotAvailable,
        };
        if self.ours.len() >= MAX_REMEMBERED {
            self.ours.clear();
        }
        self.ours.insert(local.ip, (ours, now));
        ours
    }
}

/// The kernel's output interface toward `addr`, for the socket backend's choice (the AF_XDP backend resolves the
/// whole next hop anyway).
pub(crate) fn route_ifindex(routes: &mut Option<NeighbourCache>, addr: IpAddr) -> Option<u32> {
    routes
        .as_mut()
        .and_then(|r| r.route_ifindex(addr).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(local: &str, ifindex: u32) -> Destination {
        Destination {
            addr: "127.0.0.9:51820".parse().unwrap(),
            local: Some(LocalAddr {
                ip: local.parse().unwrap(),
                ifindex,
            }),
        }
    }

    #[test]
    fn a_local_address_is_kept_unless_gone_or_the_route_moved() {
        let mut choice = SourceChoice::default();
        // 127.0.0.1 is ours on every host; the route check passes when it names the same interface.
        assert!(choice.source(&to("127.0.0.1", 1), Some(1)).is_some());
        assert!(choice.source(&to("127.0.0.1", 1), None).is_some());
        assert_eq!(
            choice.source(&to("127.0.0.1", 1), Some(2)),
            None,
            "a better route elsewhere wins"
        );
        // An address no host has (TEST-NET-3 is never assigned here).
        assert_eq!(choice.source(&to("203.0.113.77", 1), Some(1)), None);
        // A source of the other family is never used.
        assert_eq!(choice.source(&to("::1", 1), Some(1)), None);
        assert_eq!(
            choice.source(&Destination::routed("127.0.0.9:1".parse().unwrap()), None),
            None
        );
    }
}

//! Next-hop resolution for AF_XDP transmit: which interface, which source MAC and which destination MAC a packet to
//! a given IP address needs, from the kernel's routing and neighbour tables (over rtnetlink).
//!
//! Resolution never triggers ARP or neighbour discovery itself. While the neighbour is unknown `resolve` answers
//! `None` and the caller sends through the kernel socket instead; that send makes the kernel resolve the neighbour,
//! and a later `resolve` (after the cache refreshes) finds it.
//!
//! The cache also listens to the kernel's route, address and neighbour events (looked at every 10 ms at most, when
//! it is used): any of them empties it, so a new route or a removed address counts within milliseconds, not at
//! the next refresh.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use netlink_packet_route::neighbour::NeighbourState;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use wgxdp_wire::MacAddr;

use crate::error::{Result, XdpError};
use crate::netlink_route::{NeighbourEntry, RouteInfo, RtNetlink};

/// Where to send a frame for one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// Outgoing interface index.
    pub ifindex: u32,
    /// The interface's own MAC: the frame's source.
    pub src_mac: MacAddr,
    /// The next hop's MAC: the frame's destination.
    pub dst_mac: MacAddr,
    /// The gateway, or `None` when the destination is on-link.
    pub gateway: Option<IpAddr>,
    /// The source IP the kernel would pick.
    pub src_ip: Option<IpAddr>,
}

/// Whether a neighbour entry's MAC may be used. STALE is usable (the kernel itself sends to STALE entries while it
/// re-probes); INCOMPLETE and FAILED are not.
fn usable(state: NeighbourState) -> bool {
    matches!(
        state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
            | NeighbourState::Noarp
    )
}

/// RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE.
const TABLE_GROUPS: u32 = 0x4 | 0x10 | 0x40 | 0x100 | 0x400;
/// How often the event socket is looked at, at most.
const EVENT_CHECK: Duration = Duration::from_millis(10);

/// The kernel's route, address and neighbour change notifications, read without blocking.
struct TableEvents {
    socket: Socket,
    buffer: Vec<u8>,
    checked: Instant,
}

impl TableEvents {
    fn open() -> Result<Self> {
        let io = |op: &'static str| move |source| XdpError::Io { op, source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io("opening a netlink socket"))?;
        socket
            .bind(&SocketAddr::new(0, TABLE_GROUPS))
            .map_err(io("subscribing to route, address and neighbour events"))?;
        socket
            .set_non_blocking(true)
            .map_err(io("making the table-event socket non-blocking"))?;
        Ok(Self {
            socket,
            buffer: Vec::with_capacity(1 << 16),
            checked: Instant::now(),
        })
    }

    /// Whether anything changed since the last look (at most every [`EVENT_CHECK`]); drains what is queued.
    fn changed(&mut self, now: Instant) -> bool {
        if now.duration_since(self.checked) < EVENT_CHECK {
            return false;
        }
        self.checked = now;
        let mut changed = false;
        // Bounded: a namespace flooding events cannot keep the caller here.
        for _ in 0..64 {
            self.buffer.clear();
            match self.socket.recv(&mut self.buffer, 0) {
                Ok(_) => changed = true,
                // ENOBUFS: events were lost, which is a change too.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => changed = true,
                Err(_) => break,
            }
        }
        changed
    }
}

struct CachedRoute {
    route: RouteInfo,
    fetched: Instant,
}

/// Caches routes, neighbours and interface MACs, re-reading them from the kernel when they are older than the
/// refresh interval, and sooner (at most every eighth of it) while a neighbour is missing.
pub struct NeighbourCache {
    netlink: RtNetlink,
    events: Option<TableEvents>,
    refresh: Duration,
    routes: HashMap<IpAddr, CachedRoute>,
    neighbours: HashMap<(u32, IpAddr), MacAddr>,
    neighbours_fetched: Option<Instant>,
    link_macs: HashMap<u32, MacAddr>,
    netlink_queries: u64,
}

impl std::fmt::Debug for NeighbourCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeighbourCache")
            .field("routes", &self.routes.len())
            .field("neighbours", &self.neighbours.len())
            .field("netlink_queries", &self.netlink_queries)
            .finish_non_exhaustive()
    }
}

impl NeighbourCache {
    /// Opens a netlink socket in the calling thread's network namespace.
    pub fn new(refresh: Duration) -> Result<Self> {
        Ok(Self {
            netlink: RtNetlink::open()?,
            // Without events the cache still refreshes on its own, only later.
            events: TableEvents::open().ok(),
            refresh,
            routes: HashMap::new(),
            neighbours: HashMap::new(),
            neighbours_fetched: None,
            link_macs: HashMap::new(),
            netlink_queries: 0,
        })
    }

    /// The next hop for `destination`, or `None` when it cannot be sent at layer 2 yet (no unicast route, neighbour
    /// not resolved, interface without a MAC): then the kernel socket must carry the packet.
    pub fn resolve(&mut self, destination: IpAddr) -> Result<Option<NextHop>> {
        let now = Instant::now();
        let route = self.route(destination, now)?;
        let (true, Some(ifindex)) = (route.unicast, route.oif) else {
            return Ok(None);
        };
        let next = route.gateway.unwrap_or(destination);
        let Some(src_mac) = self.link_mac(ifindex)? else {
            return Ok(None);
        };

        let stale = self
            .neighbours_fetched
            .is_none_or(|at| now.duration_since(at) >= self.refresh);
        if stale {
            self.reload_neighbours(now)?;
        }
        let mut dst_mac = self.neighbours.get(&(ifindex, next)).copied();
        let retry_after = self.refresh / 8;
        if dst_mac.is_none()
            && !stale
            && self
                .neighbours_fetched
                .is_some_and(|at| now.duration_since(at) >= retry_after)
        {
            self.reload_neighbours(now)?;
            dst_mac = self.neighbours.get(&(ifindex, next)).copied();
        }
        Ok(dst_mac.map(|dst_mac| NextHop {
            ifindex,
            src_mac,
            dst_mac,
            gateway: route.gateway,
            src_ip: route.pref_src,
        }))
    }

    /// The interface the kernel's route to `destination` leaves through (cached like every route), or `None`
    /// without a unicast route.
    pub fn route_ifindex(&mut self, destination: IpAddr) -> Result<Option<u32>> {
        let route = self.route(destination, Instant::now())?;
        Ok(route.oif.filter(|_| route.unicast))
    }

    /// Forgets everything, so the next lookups ask the kernel again (e.g. after a route or link change).
    pub fn invalidate(&mut self) {
        self.routes.clear();
        self.neighbours.clear();
        self.neighbours_fetched = None;
        self.link_macs.clear();
    }

    /// Netlink requests made so far: shows the cache is doing its job.
    pub fn netlink_queries(&self) -> u64 {
        self.netlink_queries
    }

    fn route(&mut self, destination: IpAddr, now: Instant) -> Result<RouteInfo> {
        if self.events.as_mut().is_some_and(|e| e.changed(now)) {
            self.invalidate();
        }
        if let Some(cached) = self.routes.get(&destination) {
            if now.duration_since(cached.fetched) < self.refresh {
                return Ok(cached.route);
            }
        }
        self.netlink_queries += 1;
        let route = self.netlink.route_get(destination)?;
        self.routes.insert(
            destination,
            CachedRoute {
                route,
                fetched: now,
            },
        );
        Ok(route)
    }

    fn link_mac(&mut self, ifindex: u32) -> Result<Option<MacAddr>> {
        if let Some(mac) = self.link_macs.get(&ifindex) {
            return Ok(Some(*mac));
        }
        self.netlink_queries += 1;
        let mac = self.netlink.link_mac(ifindex)?;
        if let Some(mac) = mac {
            self.link_macs.insert(ifindex, mac);
        }
        Ok(mac)
    }

    fn reload_neighbours(&mut self, now: Instant) -> Result<()> {
        self.netlink_queries += 1;
        let entries = self.netlink.neighbours()?;
        self.neighbours = usable_entries(&entries);
        self.neighbours_fetched = Some(now);
        Ok(())
    }
}

fn usable_entries(entries: &[NeighbourEntry]) -> HashMap<(u32, IpAddr), MacAddr> {
    entries
        .iter()
        .filter(|entry| usable(entry.state))
        .filter_map(|entry| entry.mac.map(|mac| ((entry.ifindex, entry.ip), mac)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_resolved_entries_with_a_mac_are_used() {
        let ip: IpAddr = "198.18.0.1".parse().expect("ip");
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let entry = |state, mac| NeighbourEntry {
            ifindex: 3,
            ip,
            mac,
            state,
        };
        let table = usable_entries(&[
            entry(NeighbourState::Incomplete, None),
            entry(NeighbourState::Failed, Some(mac)),
        ]);
        assert!(table.is_empty());
        let table = usable_entries(&[entry(NeighbourState::Stale, Some(mac))]);
        assert_eq!(table.get(&(3, ip)), Some(&mac));
        let table = usable_entries(&[entry(NeighbourState::Reachable, None)]);
        assert!(table.is_empty(), "no link-layer address, nothing to use");
    }
}

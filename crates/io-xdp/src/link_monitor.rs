//! Following a network interface through rtnetlink: its index, name and MTU now, and the kernel's link events
//! (`RTM_NEWLINK` for a change such as a new MTU, `RTM_DELLINK` for a deletion or a move to another namespace);
//! or, on a monitor opened for them, its addresses and address events (`RTM_NEWADDR`, `RTM_DELADDR`).
//!
//! A netlink socket sees the namespace it was created in. To follow an interface that lives in another one (a TUN
//! moved with `ip link set wg0 netns B` keeps working for the daemon that created it), open the monitor from a
//! thread that has entered that namespace: the socket stays bound to it whatever the thread does next.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::{Result, XdpError};
use crate::netlink_route::{decode_messages, RtNetlink};

/// `RTMGRP_LINK`: the multicast group of link events.
const RTMGRP_LINK: u32 = 1;
/// `RTMGRP_IPV4_IFADDR` and `RTMGRP_IPV6_IFADDR`: the multicast groups of address events.
const RTMGRP_IFADDR: u32 = 0x10 | 0x100;

/// What the kernel says of one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index (per namespace; a move to another namespace may change it).
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// MTU (0 if the kernel did not say).
    pub mtu: u32,
}

impl LinkState {
    pub(crate) fn of(link: &LinkMessage) -> Self {
        let mut state = Self {
            index: link.header.index,
            name: String::new(),
            mtu: 0,
        };
        for attribute in &link.attributes {
            match attribute {
                LinkAttribute::IfName(name) => state.name.clone_from(name),
                LinkAttribute::Mtu(mtu) => state.mtu = *mtu,
                _ => {}
            }
        }
        state
    }
}

/// One address of an interface, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkAddress {
    /// The interface's index.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`: on a point-to-point link the latter is the peer's).
    pub address: IpAddr,
    /// Whether the kernel takes traffic for it now: false while IPv6 duplicate address detection is pending
    /// (tentative, not optimistic) or after it failed.
    pub usable: bool,
}

impl LinkAddress {
    pub(crate) fn of(message: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        // IFA_FLAGS, when present, is the whole 32-bit set; the header has the low 8 bits.
        let mut flags = AddressFlags::from_bits_retain(u32::from(message.header.flags.bits()));
        for attribute in &message.attributes {
            match attribute {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Flags(all) => flags = *all,
                _ => {}
            }
        }
        let pending =
            flags.contains(AddressFlags::Tentative) && !flags.contains(AddressFlags::Optimistic);
        Some(Self {
            index: message.header.index,
            address: local.or(address)?,
            usable: !pending && !flags.contains(AddressFlags::Dadfailed),
        })
    }
}

/// One link event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// `RTM_NEWLINK`: an interface appeared or changed (MTU, flags, name...).
    Changed(LinkState),
    /// `RTM_DELLINK`: the interface left this namespace: deleted, or moved to another one.
    Removed {
        /// Its index here.
        index: u32,
    },
    /// `RTM_NEWADDR` (only on a monitor opened with [`LinkMonitor::open_addresses`]): an address was added, or
    /// changed (e.g. its duplicate address detection completed).
    AddressAdded(LinkAddress),
    /// `RTM_DELADDR` (only on a monitor opened with [`LinkMonitor::open_addresses`]): an address was removed.
    AddressRemoved(LinkAddress),
    /// The socket's buffer overflowed (`ENOBUFS`): events were lost; query the state again.
    Lost,
}

/// A link-event subscription plus a query socket, both in the namespace of the thread that opened them.
pub struct LinkMonitor {
    events: Socket,
    buffer: Vec<u8>,
    queries: RtNetlink,
}

impl std::fmt::Debug for LinkMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMonitor").finish_non_exhaustive()
    }
}

impl LinkMonitor {
    /// Subscribes to link events of the calling thread's network namespace (non-blocking: poll the descriptor,
    /// then call [`LinkMonitor::events`]).
    pub fn open() -> Result<Self> {
        Self::subscribe(RTMGRP_LINK, "subscribing to link events")
    }

    /// Subscribes to the IPv4 and IPv6 address events of the calling thread's network namespace (every
    /// interface's: filter on [`LinkAddress::index`]).
    pub fn open_addresses() -> Result<Self> {
        Self::subscribe(RTMGRP_IFADDR, "subscribing to address events")
    }

    fn subscribe(groups: u32, what: &'static str) -> Result<Self> {
        let io = |op: &'static str| move |source| XdpError::Io { op, source };
        let mut events = Socket::new(NETLINK_ROUTE).map_err(io("opening a netlink socket"))?;
        events.bind(&SocketAddr::new(0, groups)).map_err(io(what))?;
        events
            .set_non_blocking(true)
            .map_err(io("making the link-event socket non-blocking"))?;
        Ok(Self {
            events,
            buffer: Vec::with_capacity(1 << 16),
            queries: RtNetlink::open()?,
        })
    }

    /// The interface named `name` in this namespace, if there is one.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<LinkState>> {
        self.queries.link_by_name(name)
    }

    /// The interface with index `index` in this namespace, if there is one.
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<LinkState>> {
        self.queries.link_by_index(index)
    }

    /// Every address of interface `index` in this namespace (`ip address show dev`).
    pub fn addresses(&mut self, index: u32) -> Result<Vec<LinkAddress>> {
        self.queries.addresses(index)
    }

    /// Every event queued now (possibly none); never blocks.
    pub fn events(&mut self) -> Result<Vec<LinkEvent>> {
        let mut out = Vec::new();
        // Bounded: a namespace flooding link events cannot keep the caller here forever.
        for _ in 0..64 {
            self.buffer.clear();
            match self.events.recv(&mut self.buffer, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(LinkEvent::Lost);
                    continue;
                }
                Err(source) => {
                    return Err(XdpError::Io {
                        op: "receiving link events",
                        source,
                    })
                }
            }
            for message in decode_messages(&self.buffer)? {
                match message.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                        out.push(LinkEvent::Changed(LinkState::of(&link)));
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
                        out.push(LinkEvent::Removed {
                            index: link.header.index,
                        });
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(address)) => {
                        out.extend(LinkAddress::of(&address).map(LinkEvent::AddressAdded));
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(address)) => {
                        out.extend(LinkAddress::of(&address).map(LinkEvent::AddressRemoved));
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

impl AsFd for LinkMonitor {
    /// Readable when events are queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.events.as_fd()
    }
}

//! A small blocking rtnetlink client: route lookups, neighbour-table dumps, link queries and the XDP detach of
//! `ip link set dev X xdp off`. No async runtime: the data path never calls it directly, only the next-hop cache,
//! the link monitor and the XDP loader do, and rarely.

use std::net::IpAddr;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkXdp};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use wgxdp_wire::MacAddr;

use crate::error::{Result, XdpError};
use crate::link_monitor::{LinkAddress, LinkState};

/// The kernel's answer to `ip route get DST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteInfo {
    /// Whether it is an ordinary unicast route (not local, blackhole, unreachable, ...).
    pub unicast: bool,
    /// The outgoing interface.
    pub oif: Option<u32>,
    /// The gateway, or `None` for an on-link destination.
    pub gateway: Option<IpAddr>,
    /// The source address the kernel would use.
    pub pref_src: Option<IpAddr>,
}

/// One entry of the neighbour table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NeighbourEntry {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub mac: Option<MacAddr>,
    pub state: NeighbourState,
}

fn ip_of_route(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn mac_of(bytes: &[u8]) -> Option<MacAddr> {
    <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
}

/// Decodes every message of one netlink datagram (answers and multicast events alike).
pub(crate) fn decode_messages(bytes: &[u8]) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
    let mut messages = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let length = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if length < 16 || length > rest.len() {
            return Err(XdpError::Netlink(format!("bad message length {length}")));
        }
        let (one, tail) = rest.split_at(length);
        // Messages are padded to 4 bytes; the last one may not be.
        rest = tail
            .get(length.next_multiple_of(4) - length..)
            .unwrap_or(&[]);
        messages.push(
            NetlinkMessage::<RouteNetlinkMessage>::deserialize(one)
                .map_err(|e| XdpError::Netlink(format!("undecodable message: {e}")))?,
        );
    }
    Ok(messages)
}

/// A connected `NETLINK_ROUTE` socket.
pub(crate) struct RtNetlink {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl RtNetlink {
    pub fn open() -> Result<Self> {
        let io = |op: &'static str| move |source| XdpError::Io { op, source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io("opening a netlink socket"))?;
        socket
            .bind_auto()
            .map_err(io("binding the netlink socket"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(io("connecting the netlink socket"))?;
        Ok(Self {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(1 << 16),
        })
    }

    /// Sends one request and collects every inner message of the answer (a single reply, or a dump up to DONE, or
    /// nothing for an acknowledged change).
    pub(crate) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0).map_err(|source| XdpError::Io {
            op: "sending a netlink request",
            source,
        })?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        loop {
            self.buffer.clear();
            self.socket
                .recv(&mut self.buffer, 0)
                .map_err(|source| XdpError::Io {
                    op: "receiving a netlink answer",
                    source,
                })?;
            for message in decode_messages(&self.buffer)? {
                if message.header.sequence_number != self.sequence {
                    continue; // a late answer to an earlier request
                }
                match message.payload {
                    NetlinkPayload::InnerMessage(inner) => {
                        answers.push(inner);
                        if !dump {
                            return Ok(answers);
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::Error(error) => match error.code {
                        None => return Ok(answers),
                        Some(code) => {
                            return Err(XdpError::Io {
                                op: "netlink request",
                                source: std::io::Error::from_raw_os_error(-code.get()),
                            })
                        }
                    },
                    _ => {}
                }
            }
        }
    }

    /// `ip route get DST`.
    pub fn route_get(&mut self, destination: IpAddr) -> Result<RouteInfo> {
        let mut request = RouteMessage::default();
        let (family, prefix) = match destination {
            IpAddr::V4(_) => (AddressFamily::Inet, 32),
            IpAddr::V6(_) => (AddressFamily::Inet6, 128),
        };
        request.header.address_family = family;
        request.header.destination_prefix_length = prefix;
        request
            .attributes
            .push(RouteAttribute::Destination(destination.into()));
        let answers = self.request(RouteNetlinkMessage::GetRoute(request), 0)?;
        let route = answers
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewRoute(route) => Some(route),
                _ => None,
            })
            .ok_or_else(|| XdpError::Netlink(format!("no route answer for {destination}")))?;
        let mut info = RouteInfo {
            unicast: route.header.kind == RouteType::Unicast,
            oif: None,
            gateway: None,
            pref_src: None,
        };
        for attribute in &route.attributes {
            match attribute {
                RouteAttribute::Oif(index) => info.oif = Some(*index),
                RouteAttribute::Gateway(address) => info.gateway = ip_of_route(address),
                RouteAttribute::PrefSource(address) => info.pref_src = ip_of_route(address),
                _ => {}
            }
        }
        Ok(info)
    }

    /// `ip neigh show` (both families).
    pub fn neighbours(&mut self) -> Result<Vec<NeighbourEntry>> {
        let request = NeighbourMessage::default();
        let answers = self.request(RouteNetlinkMessage::GetNeighbour(request), NLM_F_DUMP)?;
        let mut entries = Vec::new();
        for answer in answers {
            let RouteNetlinkMessage::NewNeighbour(neighbour) = answer else {
                continue;
            };
            let mut ip = None;
            let mut mac = None;
            for attribute in &neighbour.attributes {
                match attribute {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                        ip = Some(IpAddr::V4(*v4))
                    }
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                        ip = Some(IpAddr::V6(*v6))
                    }
                    NeighbourAttribute::LinkLayerAddress(bytes) => mac = mac_of(bytes),
                    _ => {}
                }
            }
            if let Some(ip) = ip {
                entries.push(NeighbourEntry {
                    ifindex: neighbour.header.ifindex,
                    ip,
                    mac,
                    state: neighbour.header.state,
                });
            }
        }
        Ok(entries)
    }

    /// `ip address show dev IFINDEX`: every IPv4 and IPv6 address of interface `ifindex`.
    pub fn addresses(&mut self, ifindex: u32) -> Result<Vec<LinkAddress>> {
        // A dump covers every interface (the kernel filters by index only under strict checking): keep ours.
        let answers = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answers
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewAddress(address) => LinkAddress::of(address),
                _ => None,
            })
            .filter(|address| address.index == ifindex)
            .collect())
    }

    /// `ip link show dev NAME`: the interface's index, name and MTU, or `None` when there is none of that name.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<LinkState>> {
        let mut request = LinkMessage::default();
        request
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        self.one_link(request)
    }

    /// The interface with index `ifindex`, or `None` when there is none.
    pub fn link_by_index(&mut self, ifindex: u32) -> Result<Option<LinkState>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        self.one_link(request)
    }

    fn one_link(&mut self, request: LinkMessage) -> Result<Option<LinkState>> {
        match self.request(RouteNetlinkMessage::GetLink(request), 0) {
            Ok(answers) => Ok(answers.iter().find_map(|answer| match answer {
                RouteNetlinkMessage::NewLink(link) => Some(LinkState::of(link)),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The `IFLA_XDP` attributes of interface `ifindex`: what XDP program is attached, in which mode.
    pub fn link_xdp(&mut self, ifindex: u32) -> Result<Vec<LinkXdp>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        let answers = self.request(RouteNetlinkMessage::GetLink(request), 0)?;
        Ok(answers
            .into_iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewLink(link) => Some(link.attributes),
                _ => None,
            })
            .flatten()
            .filter_map(|attribute| match attribute {
                LinkAttribute::Xdp(xdp) => Some(xdp),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// `ip link set dev X xdp off` for the mode in `flags` (`XDP_FLAGS_SKB_MODE`, `_DRV_MODE` or `_HW_MODE`):
    /// removes a program attached over netlink (one held by a BPF link refuses with EBUSY).
    pub fn xdp_off(&mut self, ifindex: u32, flags: u32) -> Result<()> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        request.attributes.push(LinkAttribute::Xdp(vec![
            LinkXdp::Fd(-1),
            LinkXdp::Flags(flags),
        ]));
        self.request(RouteNetlinkMessage::SetLink(request), NLM_F_ACK)
            .map(drop)
    }

    /// The hardware address of interface `ifindex`.
    pub fn link_mac(&mut self, ifindex: u32) -> Result<Option<MacAddr>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        let answers = self.request(RouteNetlinkMessage::GetLink(request), 0)?;
        Ok(answers.iter().find_map(|answer| match answer {
            RouteNetlinkMessage::NewLink(link) => {
                link.attributes
                    .iter()
                    .find_map(|attribute| match attribute {
                        LinkAttribute::Address(bytes) => mac_of(bytes),
                        _ => None,
                    })
            }
            _ => None,
        }))
    }
}

//! A small blocking rtnetlink client: one route lookup, one neighbour-table dump, one link query. No async runtime:
//! the data path never calls it directly, only the next-hop cache does, and rarely.

use std::net::IpAddr;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use wgxdp_wire::MacAddr;

use crate::error::{Result, XdpError};

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

    /// Sends one request and collects every inner message of the answer (a single reply, or a dump up to DONE).
    fn request(
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
            let mut rest = self.buffer.as_slice();
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
                let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(one)
                    .map_err(|e| XdpError::Netlink(format!("undecodable answer: {e}")))?;
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

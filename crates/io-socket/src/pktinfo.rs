//! The local address of a datagram: where a received one was addressed (and which interface it came in on), and
//! which address a sent one leaves from (IP_PKTINFO / IPV6_PKTINFO control messages). A multi-homed host answers
//! a peer from the address the peer talks to, so NATs and stateful firewalls in front of it see one flow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A local address and the interface it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// The local address: the destination of a received datagram, the source of a sent one.
    pub local: IpAddr,
    /// The interface a datagram came in on (0: unknown).
    pub ifindex: u32,
}

impl PacketInfo {
    /// From the kernel's IPv4 IP_PKTINFO of a received datagram (its header destination address).
    pub(crate) fn from_v4(info: &libc::in_pktinfo) -> Self {
        Self {
            local: IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))),
            ifindex: u32::try_from(info.ipi_ifindex).unwrap_or(0),
        }
    }

    /// From the kernel's IPV6_PKTINFO of a received datagram.
    pub(crate) fn from_v6(info: &libc::in6_pktinfo) -> Self {
        Self {
            local: IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)),
            ifindex: info.ipi6_ifindex,
        }
    }

    /// IP_PKTINFO asking for this source address; the route (and so the interface) stays the kernel's choice.
    pub(crate) fn to_v4(self) -> Option<libc::in_pktinfo> {
        let IpAddr::V4(local) = self.local else {
            return None;
        };
        Some(libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(local).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        })
    }

    /// IPV6_PKTINFO asking for this source address; a link-local one also needs its interface.
    pub(crate) fn to_v6(self) -> Option<libc::in6_pktinfo> {
        let IpAddr::V6(local) = self.local else {
            return None;
        };
        let link_local = local.segments()[0] & 0xffc0 == 0xfe80;
        Some(libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: local.octets(),
            },
            ipi6_ifindex: if link_local { self.ifindex } else { 0 },
        })
    }
}

//! Who else holds a link's XDP hook: the program attached there (id, name, mode, and whether a BPF link or plain
//! netlink holds it), what to tell the operator, and removing it when asked to (`--xdp-replace`).
//!
//! A link takes one XDP program per mode, and native and generic mode exclude each other, so attaching fails while
//! another program is there (`EBUSY`/`EEXIST`). A program attached over netlink (`ip link set dev X xdp obj ...`,
//! older loaders) can be removed the way `ip link set dev X xdp off` does. One held by a BPF link belongs to the
//! running process that created the link and leaves with it; that one is reported, never torn away.

use std::fmt;

use netlink_packet_route::link::{LinkXdp, XdpAttached};

use crate::error::Result;
use crate::netlink_route::RtNetlink;

// XDP attach flags of `linux/if_link.h`, one per mode.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const XDP_FLAGS_HW_MODE: u32 = 1 << 3;

/// The mode a program occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OccupiedMode {
    /// `xdpdrv`: native, in the driver.
    Native,
    /// `xdpgeneric`: in the generic network stack path.
    Generic,
    /// `xdpoffload`: on the NIC.
    Offload,
}

impl OccupiedMode {
    /// The word `ip link` uses for it.
    pub fn ip_link_word(self) -> &'static str {
        match self {
            Self::Native => "xdpdrv",
            Self::Generic => "xdpgeneric",
            Self::Offload => "xdpoffload",
        }
    }

    fn flags(self) -> u32 {
        match self {
            Self::Native => XDP_FLAGS_DRV_MODE,
            Self::Generic => XDP_FLAGS_SKB_MODE,
            Self::Offload => XDP_FLAGS_HW_MODE,
        }
    }
}

/// One XDP program attached to a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdpOccupant {
    /// The program's id (`bpftool prog show id N`).
    pub program_id: u32,
    /// Its name, when the kernel told it.
    pub name: Option<String>,
    /// The mode it is attached in.
    pub mode: OccupiedMode,
    /// The id of the BPF link holding it, if one does (then a running process owns it).
    pub link_id: Option<u32>,
}

impl fmt::Display for XdpOccupant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XDP program id {}", self.program_id)?;
        if let Some(name) = &self.name {
            write!(f, " ({name:?})")?;
        }
        write!(f, " in {} mode", self.mode.ip_link_word())?;
        match self.link_id {
            Some(link) => write!(f, ", held by BPF link id {link} of a running process"),
            None => write!(f, ", attached over netlink"),
        }
    }
}

impl XdpOccupant {
    /// How an operator frees the hook.
    pub fn remedy(&self, ifname: &str) -> String {
        match self.link_id {
            Some(link) => format!(
                "stop the process that holds BPF link {link} (`bpftool link show id {link}` names it) or detach it \
                 with `bpftool link detach id {link}`"
            ),
            None => format!(
                "remove it with `ip link set dev {ifname} {} off`, or start wgxdp with --xdp-replace to replace it",
                self.mode.ip_link_word()
            ),
        }
    }
}

/// The programs attached to interface `ifindex` (in the calling thread's namespace), at most one per mode.
pub fn xdp_occupants(ifindex: u32) -> Result<Vec<XdpOccupant>> {
    let attributes = RtNetlink::open()?.link_xdp(ifindex)?;
    let mut attached = XdpAttached::None;
    let mut single = None;
    let mut by_mode = Vec::new();
    for attribute in &attributes {
        match attribute {
            LinkXdp::Attached(a) => attached = *a,
            LinkXdp::ProgId(id) => single = Some(*id),
            LinkXdp::DrvProgId(id) => by_mode.push((OccupiedMode::Native, *id)),
            LinkXdp::SkbProgId(id) => by_mode.push((OccupiedMode::Generic, *id)),
            LinkXdp::HwProgId(id) => by_mode.push((OccupiedMode::Offload, *id)),
            _ => {}
        }
    }
    // With one program the kernel sends its mode and IFLA_XDP_PROG_ID; the per-mode ids come with several.
    let programs: Vec<(OccupiedMode, u32)> = match (attached, single) {
        (XdpAttached::Driver, Some(id)) => vec![(OccupiedMode::Native, id)],
        (XdpAttached::SocketBuffer, Some(id)) => vec![(OccupiedMode::Generic, id)],
        (XdpAttached::Hardware, Some(id)) => vec![(OccupiedMode::Offload, id)],
        (XdpAttached::None, _) => Vec::new(),
        _ => by_mode,
    };
    Ok(programs
        .into_iter()
        .filter(|(_, id)| *id != 0)
        .map(|(mode, program_id)| XdpOccupant {
            program_id,
            name: program_name(program_id),
            mode,
            link_id: xdp_link_of(program_id),
        })
        .collect())
}

/// Removes `occupant` from interface `ifindex` as `ip link set dev X xdpMODE off` does. A program held by a BPF
/// link is not removed (the kernel refuses, and its owner is a running process): the error says so.
pub fn remove_occupant(ifindex: u32, occupant: &XdpOccupant) -> Result<()> {
    RtNetlink::open()?.xdp_off(ifindex, occupant.mode.flags())
}

fn program_name(id: u32) -> Option<String> {
    aya::programs::loaded_programs()
        .filter_map(std::result::Result::ok)
        .find(|info| info.id() == id)
        .and_then(|info| info.name_as_str().map(str::to_owned))
        .filter(|name| !name.is_empty())
}

fn xdp_link_of(program_id: u32) -> Option<u32> {
    aya::programs::loaded_links()
        .filter_map(std::result::Result::ok)
        .find(|link| {
            link.program_id() == program_id
                && matches!(link.link_type(), Ok(aya::programs::links::LinkType::Xdp))
        })
        .map(|link| link.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_program_and_the_way_out() {
        let by_netlink = XdpOccupant {
            program_id: 42,
            name: Some("xdp_pass".into()),
            mode: OccupiedMode::Generic,
            link_id: None,
        };
        assert_eq!(
            by_netlink.to_string(),
            "XDP program id 42 (\"xdp_pass\") in xdpgeneric mode, attached over netlink"
        );
        assert!(by_netlink
            .remedy("veth0")
            .contains("ip link set dev veth0 xdpgeneric off"));
        assert!(by_netlink.remedy("veth0").contains("--xdp-replace"));
        let by_link = XdpOccupant {
            link_id: Some(7),
            ..by_netlink
        };
        assert!(by_link.to_string().contains("BPF link id 7"));
        assert!(by_link.remedy("veth0").contains("bpftool link detach id 7"));
    }
}

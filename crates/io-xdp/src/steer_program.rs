//! Loads the embedded XDP steering program, attaches it to an interface, registers AF_XDP sockets in its XSKMAP,
//! keeps its map of the link's own addresses and its source allow-list, and reads its counters. Dropping the
//! [`XdpProgram`] detaches it: the interface is back to plain kernel networking.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use aya::maps::XskMap;
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};

use crate::error::{Result, XdpError};
use crate::local_addresses::{self, AddressChange, AddressUpdate};
use crate::netlink_route::RtNetlink;
use crate::per_cpu_sums::counter_sums;
use crate::source_allow_list::{self, SourcePrefix};
use crate::steer_counters::{SteerCounters, SteerReason};
use crate::umem::FrameSize;
use crate::xdp_occupant::{remove_occupant, xdp_occupants};

/// The compiled `ebpf/wgxdp_steer.bpf.c` (see build.rs), aligned as the ELF parser requires.
static STEER_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/wgxdp_steer.bpf.o"));

const PROGRAM_NAME: &str = "wgxdp_steer";
const XSK_MAP: &str = "xsks";

/// `XDP_PACKET_HEADROOM`: bytes the kernel keeps in front of the packet in every AF_XDP receive frame, so a frame
/// of N bytes takes packets of at most N - 256 bytes.
pub const XDP_PACKET_HEADROOM: u32 = 256;

// Bits of the program's `steer_flags` global.
const STEER_IPV4: u32 = 1 << 0;
const STEER_IPV6: u32 = 1 << 1;
const STEER_OBSERVE_ONLY: u32 = 1 << 2;
const STEER_ALLOW_LIST: u32 = 1 << 3;

/// How to attach the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver (fastest); fails on drivers without native XDP.
    Native,
    /// In the generic network stack path (`xdpgeneric`): works everywhere, slower.
    Generic,
    /// Native if the driver accepts it, generic otherwise (the reason is logged and kept).
    Auto,
}

/// What the program steers; set once, at load time. Whatever the settings, only transport data to one of the
/// link's own addresses is redirected (the loader fills that map from the kernel when it attaches; see
/// [`XdpProgram::apply_address_changes`] to follow changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SteerConfig {
    /// The WireGuard UDP listen port.
    pub listen_port: u16,
    /// Steer transport data arriving over IPv4.
    pub ipv4: bool,
    /// Steer transport data arriving over IPv6.
    pub ipv6: bool,
    /// Classify and count but pass every packet to the kernel.
    pub observe_only: bool,
    /// Longest frame redirected: what one UMEM frame of the sockets takes ([`SteerConfig::frame_capacity`]).
    /// Longer transport frames go to the kernel's UDP socket (counted as [`SteerReason::TooBig`]).
    pub max_frame_len: u32,
    /// When another XDP program holds the link's hook (attached over netlink), remove it and attach ours instead
    /// of failing (`--xdp-replace`).
    pub replace_foreign: bool,
    /// Redirect only transport data from these source prefixes; the rest is passed to the kernel (counted as
    /// [`SteerReason::SourceNotAllowed`]), where the host firewall and the kernel socket see it. Empty: every
    /// source.
    pub allowed_sources: Vec<SourcePrefix>,
}

impl SteerConfig {
    /// Steers both address families to the sockets for `listen_port`, for sockets with the default frame size.
    pub fn new(listen_port: u16) -> Self {
        Self {
            listen_port,
            ipv4: true,
            ipv6: true,
            observe_only: false,
            max_frame_len: Self::frame_capacity(FrameSize::default()),
            replace_foreign: false,
            allowed_sources: Vec::new(),
        }
    }

    /// The longest frame a UMEM frame of `size` bytes receives (the kernel's headroom comes first).
    pub const fn frame_capacity(size: FrameSize) -> u32 {
        size.bytes() - XDP_PACKET_HEADROOM
    }

    fn flags(&self) -> u32 {
        let mut flags = 0;
        if self.ipv4 {
            flags |= STEER_IPV4;
        }
        if self.ipv6 {
            flags |= STEER_IPV6;
        }
        if self.observe_only {
            flags |= STEER_OBSERVE_ONLY;
        }
        if !self.allowed_sources.is_empty() {
            flags |= STEER_ALLOW_LIST;
        }
        flags
    }
}

/// The steering program, loaded and attached to one interface.
pub struct XdpProgram {
    ebpf: Ebpf,
    ifname: String,
    if_index: u32,
    mode: AttachMode,
    fallback_reason: Option<String>,
    replaced: Option<String>,
}

impl XdpProgram {
    /// Loads the program for `listen_port` (both families) and attaches it to `ifname` in the calling thread's
    /// network namespace.
    pub fn attach(ifname: &str, listen_port: u16, mode: AttachMode) -> Result<Self> {
        Self::attach_with(ifname, &SteerConfig::new(listen_port), mode)
    }

    /// Like [`XdpProgram::attach`] with every setting explicit.
    pub fn attach_with(ifname: &str, config: &SteerConfig, mode: AttachMode) -> Result<Self> {
        if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ || ifname.contains('\0') {
            return Err(XdpError::InvalidInterfaceName(ifname.to_string()));
        }
        // The link and its addresses, asked over netlink (aya's own index lookup would hide why it failed).
        let mut netlink = RtNetlink::open()?;
        let if_index = netlink
            .link_by_name(ifname)?
            .ok_or_else(|| XdpError::UnknownInterface(ifname.to_string()))?
            .index;
        let addresses = local_addresses::usable(&netlink.addresses(if_index)?);
        drop(netlink);
        let flags = config.flags();
        let mut ebpf = EbpfLoader::new()
            .override_global("listen_port", &config.listen_port, true)
            .override_global("steer_flags", &flags, true)
            .override_global("max_frame_len", &config.max_frame_len, true)
            .load(STEER_OBJECT)
            .map_err(|e| XdpError::Load(Box::new(e)))?;
        xdp_program(&mut ebpf)?
            .load()
            .map_err(|e| XdpError::Program {
                action: "loading the steering program",
                source: Box::new(e),
            })?;
        // The maps are filled before the program sees its first packet.
        local_addresses::apply(&mut ebpf, &[AddressChange::Resync(addresses)])?;
        source_allow_list::fill(&mut ebpf, &config.allowed_sources)?;
        let program = xdp_program(&mut ebpf)?;
        let (mode, fallback_reason, replaced) =
            match attach_program(program, ifname, if_index, mode) {
                Ok((mode, fallback)) => (mode, fallback, None),
                Err(attempts) => {
                    // Say what holds the hook, and take it over only when asked to.
                    let occupants = xdp_occupants(if_index).unwrap_or_default();
                    if occupants.is_empty() || !config.replace_foreign {
                        return Err(XdpError::Attach {
                            ifname: ifname.to_string(),
                            attempts,
                            occupants,
                        });
                    }
                    let mut replaced = Vec::new();
                    for occupant in &occupants {
                        remove_occupant(if_index, occupant).map_err(|e| XdpError::Attach {
                            ifname: ifname.to_string(),
                            attempts: vec![format!("--xdp-replace: removing the {occupant}: {e}")],
                            occupants: occupants.clone(),
                        })?;
                        replaced.push(occupant.to_string());
                    }
                    let note = format!(
                        "--xdp-replace: removed the {} from {ifname}",
                        replaced.join(" and the ")
                    );
                    log::warn!("{note}");
                    match attach_program(program, ifname, if_index, mode) {
                        Ok((mode, fallback)) => (mode, fallback, Some(note)),
                        Err(attempts) => {
                            return Err(XdpError::Attach {
                                ifname: ifname.to_string(),
                                attempts,
                                occupants: xdp_occupants(if_index).unwrap_or_default(),
                            })
                        }
                    }
                }
            };
        Ok(Self {
            ebpf,
            ifname: ifname.to_string(),
            if_index,
            mode,
            fallback_reason,
            replaced,
        })
    }

    /// The interface the program is attached to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The index of that interface (in the namespace it was attached in).
    pub fn if_index(&self) -> u32 {
        self.if_index
    }

    /// The mode the program got: [`AttachMode::Native`] or [`AttachMode::Generic`].
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    /// Why [`AttachMode::Auto`] fell back to generic mode, if it did.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// What [`SteerConfig::replace_foreign`] removed from the link to attach, if anything.
    pub fn replaced(&self) -> Option<&str> {
        self.replaced.as_deref()
    }

    /// Sends the transport data arriving on RX queue `queue` to `socket` (an AF_XDP socket bound to that queue).
    pub fn register_socket(&mut self, queue: u32, socket: &impl AsRawFd) -> Result<()> {
        let mut map = self.xsk_map()?;
        map.set(queue, socket.as_raw_fd(), 0)
            .map_err(|e| XdpError::Map {
                action: "registering an AF_XDP socket",
                source: Box::new(e),
            })
    }

    /// Stops steering queue `queue` to a socket: its transport data goes to the kernel again.
    pub fn unregister_socket(&mut self, queue: u32) -> Result<()> {
        let mut map = self.xsk_map()?;
        map.unset(queue).map_err(|e| XdpError::Map {
            action: "unregistering an AF_XDP socket",
            source: Box::new(e),
        })
    }

    fn xsk_map(&mut self) -> Result<XskMap<&mut aya::maps::MapData>> {
        let map = self
            .ebpf
            .map_mut(XSK_MAP)
            .ok_or(XdpError::MissingObject("map xsks"))?;
        XskMap::try_from(map).map_err(|e| XdpError::Map {
            action: "opening the XSKMAP",
            source: Box::new(e),
        })
    }

    /// The addresses transport data is steered to (the link's own, as last told), sorted.
    pub fn local_addresses(&mut self) -> Result<Vec<IpAddr>> {
        local_addresses::list(&mut self.ebpf)
    }

    /// Steers transport data to `address` too; `Ok(false)` if it already was.
    pub fn add_local_address(&mut self, address: IpAddr) -> Result<bool> {
        local_addresses::insert(&mut self.ebpf, address)
    }

    /// Stops steering transport data to `address`; `Ok(false)` if it was not steered.
    pub fn remove_local_address(&mut self, address: IpAddr) -> Result<bool> {
        local_addresses::remove(&mut self.ebpf, address)
    }

    /// Applies what an [`AddressFollower`](crate::AddressFollower) reported, in order; says what changed.
    pub fn apply_address_changes(&mut self, changes: &[AddressChange]) -> Result<AddressUpdate> {
        local_addresses::apply(&mut self.ebpf, changes)
    }

    /// Whether the source allow-list lets transport data from `source` be steered (with no allow-list the
    /// program does not look, and every source is).
    pub fn source_in_allow_list(&mut self, source: IpAddr) -> Result<bool> {
        source_allow_list::allows(&mut self.ebpf, source)
    }

    /// The program's counters, summed over all CPUs.
    pub fn counters(&self) -> Result<SteerCounters> {
        let counts = counter_sums(
            &self.ebpf,
            SteerReason::ALL.map(|c| c as u32),
            "reading the counters",
        )?;
        Ok(SteerCounters::from_counts(counts))
    }
}

/// The program in the object.
fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    ebpf.program_mut(PROGRAM_NAME)
        .ok_or(XdpError::MissingObject("program wgxdp_steer"))?
        .try_into()
        .map_err(|e| XdpError::Program {
            action: "the steering program is not XDP",
            source: Box::new(e),
        })
}

/// Attaches in the requested mode; `Auto` tries native first and keeps the reason it fell back. When the kernel
/// refuses every mode tried, the error is each attempt's error, for the message (the caller then looks for a
/// program already there).
pub(crate) fn attach_program(
    program: &mut Xdp,
    ifname: &str,
    if_index: u32,
    mode: AttachMode,
) -> std::result::Result<(AttachMode, Option<String>), Vec<String>> {
    let mut attempts = Vec::new();
    let mut attach = |program: &mut Xdp, xdp_mode, name: &str| match program
        .attach_to_if_index(if_index, xdp_mode)
    {
        Ok(_) => true,
        Err(e) => {
            attempts.push(format!(
                "attaching in {name} mode: {}",
                crate::error::with_causes(&e)
            ));
            false
        }
    };
    let attached = match mode {
        AttachMode::Native => {
            attach(program, XdpMode::Driver, "native").then_some((AttachMode::Native, None))
        }
        AttachMode::Generic => {
            attach(program, XdpMode::Skb, "generic").then_some((AttachMode::Generic, None))
        }
        AttachMode::Auto => {
            if attach(program, XdpMode::Driver, "native") {
                Some((AttachMode::Native, None))
            } else if attach(program, XdpMode::Skb, "generic") {
                let reason = format!(
                    "native XDP refused on {ifname} ({}); using generic XDP",
                    attempts.first().map_or("", String::as_str)
                );
                log::warn!("{reason}");
                Some((AttachMode::Generic, Some(reason)))
            } else {
                None
            }
        }
    };
    attached.ok_or(attempts)
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        // Dropping `Ebpf` detaches every link aya holds and unloads the program; this log line is the trace an
        // operator looks for when the interface returns to plain kernel networking.
        log::info!("detaching the wgxdp steering program from {}", self.ifname);
    }
}

impl std::fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpProgram")
            .field("ifname", &self.ifname)
            .field("mode", &self.mode)
            .finish()
    }
}

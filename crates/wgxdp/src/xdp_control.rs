//! The XDP steering program on the `--link` device and the AF_XDP sockets registered in it.
//!
//! The program is loaded for one UDP port, so a `listen_port` change re-attaches it for the new port and registers
//! every worker's socket again (the main thread calls [`XdpControl::follow_port`] once a second). Sockets are
//! registered by descriptor; a worker unregisters its socket before dropping it, so a stale descriptor number is
//! never put back in the map. Dropping the program detaches it and the link is plain kernel networking again.
//!
//! The program steers only transport data to the link's own addresses: each attach fills its map from the kernel,
//! and `xdp_addresses.rs` applies the link's address events to it ([`XdpControl::apply_address_changes`]). With
//! `--xdp-allow-source`, only sources inside those prefixes are steered; the rest take the kernel path, where the
//! host firewall sees them.

use anyhow::Context as _;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use wgxdp_io_xdp::{
    AddressChange, AddressFollower, AttachMode, SourcePrefix, SteerConfig, SteerCounters,
    SteerReason, XdpError, XdpProgram, XskConfig, XskSocket,
};
use wgxdp_uapi::AllowedIp;

/// Where `ethtool -l`'s combined/RX queue count shows up without ethtool: one `rx-N` directory per RX queue.
fn queues_dir(link: &str) -> String {
    format!("/sys/class/net/{link}/queues")
}

/// Why `--link` or `--xdp-allow-source` is refused before anything is attached.
#[derive(Debug, thiserror::Error)]
pub enum LinkOptionError {
    /// A `--link` that cannot be an interface name (it would escape `/sys/class/net`).
    #[error("{0:?} is not an interface name")]
    NotAnInterfaceName(String),
    /// Its queues could not be listed (most often: no such link).
    #[error("link {link}: cannot list its queues: {source}")]
    Queues {
        /// The link.
        link: String,
        /// Why.
        source: std::io::Error,
    },
    /// No `rx-N` queue at all.
    #[error("link {0} reports no RX queue")]
    NoRxQueue(String),
    /// `--xdp-allow-source` that is no prefix.
    #[error("{text:?} is not an IP prefix: {source}")]
    NotAPrefix {
        /// What was given.
        text: String,
        /// Why.
        source: wgxdp_uapi::PrefixError,
    },
    /// A prefix the steering program cannot take.
    #[error(transparent)]
    Source(#[from] XdpError),
}

/// Number of RX queues of `link`.
pub fn rx_queue_count(link: &str) -> Result<u32, LinkOptionError> {
    if link.is_empty() || link.contains('/') || link.starts_with('.') {
        return Err(LinkOptionError::NotAnInterfaceName(link.to_owned()));
    }
    let entries =
        std::fs::read_dir(queues_dir(link)).map_err(|source| LinkOptionError::Queues {
            link: link.to_owned(),
            source,
        })?;
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count();
    match u32::try_from(count) {
        Ok(0) | Err(_) => Err(LinkOptionError::NoRxQueue(link.to_owned())),
        Ok(n) => Ok(n),
    }
}

/// `--xdp-allow-source PREFIX`: `ADDR/LEN` or a bare address (one host); host bits are cleared.
pub fn parse_source_prefix(text: &str) -> Result<SourcePrefix, LinkOptionError> {
    let prefix: AllowedIp = text.parse().map_err(|source| LinkOptionError::NotAPrefix {
        text: text.to_owned(),
        source,
    })?;
    Ok(SourcePrefix::new(prefix.addr(), prefix.cidr())?)
}

/// What the steering program is loaded with for sockets of `config`: both families to `port`, only frames that
/// fit one of their UMEM frames (longer ones take the kernel path instead of being dropped at the socket), and
/// only sources in `allowed_sources` (empty: all).
pub fn steer_config(
    port: u16,
    config: &XskConfig,
    replace_foreign: bool,
    allowed_sources: &[SourcePrefix],
) -> SteerConfig {
    SteerConfig {
        max_frame_len: SteerConfig::frame_capacity(config.frame_size),
        replace_foreign,
        allowed_sources: allowed_sources.to_vec(),
        ..SteerConfig::new(port)
    }
}

/// Socket sizes of the workers: 2048-byte frames fit a 1420-MTU packet sealed behind IPv6 headers; a larger MTU
/// takes page-sized frames.
pub fn socket_config(mtu: u16) -> XskConfig {
    let mut config = XskConfig::default();
    let largest_frame = wgxdp_wire::IPV6_UDP_HEADERS_LEN
        + wgxdp_device::Device::HEADROOM
        + usize::from(mtu)
        + wgxdp_device::Device::TAILROOM;
    if largest_frame > config.frame_size.bytes() as usize {
        config.frame_size = wgxdp_io_xdp::FrameSize::Page;
    }
    config
}

/// The attached program and what is registered in it.
#[derive(Debug)]
pub struct XdpControl {
    link: String,
    mode: AttachMode,
    /// What every (re-)attach loads the program with; only the port changes.
    steer: SteerConfig,
    state: Mutex<State>,
    /// The link's address events, until `xdp_addresses.rs` takes them.
    addresses: Mutex<Option<AddressFollower>>,
}

#[derive(Debug)]
struct State {
    program: Option<XdpProgram>,
    port: u16,
    sockets: Vec<(u32, RawFd)>,
    /// What the programs replaced by re-attaches counted, so the counters `stats` shows only grow.
    earlier: SteerCounters,
}

/// What `stats` shows of the XDP side.
#[derive(Debug, Clone)]
pub struct XdpReport {
    /// The `--link` device.
    pub link: String,
    /// `native` or `generic`.
    pub mode: &'static str,
    /// The port the program steers.
    pub port: u16,
    /// Queues with a registered socket.
    pub queues: usize,
    /// The link's addresses transport data is steered to (empty if reading them failed).
    pub local_addresses: Vec<IpAddr>,
    /// The source allow-list (empty: every source).
    pub allowed_sources: Vec<SourcePrefix>,
    /// The program's counters since start, over re-attaches (absent if reading them failed).
    pub counters: Option<SteerCounters>,
}

/// JSON: `{"link":..,"mode":..,"port":..,"queues":..,"local_addresses":[..],"allowed_sources":[..]`, then, when
/// the counters could be read, `"redirected":..,"passed":..,"passed_by_reason":{..}}` (every reason but
/// `redirected`, by name).
impl Serialize for XdpReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("link", &self.link)?;
        map.serialize_entry("mode", self.mode)?;
        map.serialize_entry("port", &self.port)?;
        map.serialize_entry("queues", &self.queues)?;
        map.serialize_entry(
            "local_addresses",
            &self
                .local_addresses
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>(),
        )?;
        map.serialize_entry(
            "allowed_sources",
            &self
                .allowed_sources
                .iter()
                .map(SourcePrefix::to_string)
                .collect::<Vec<_>>(),
        )?;
        if let Some(c) = &self.counters {
            map.serialize_entry("redirected", &c.redirected())?;
            map.serialize_entry("passed", &c.passed())?;
            map.serialize_entry("passed_by_reason", &PassedByReason(c))?;
        }
        map.end()
    }
}

/// Every reason the program passed a packet for, by name.
struct PassedByReason<'a>(&'a SteerCounters);

impl Serialize for PassedByReason<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for reason in SteerReason::ALL {
            if reason != SteerReason::Redirected {
                map.serialize_entry(reason.name(), &self.0.get(reason))?;
            }
        }
        map.end()
    }
}

fn mode_name(mode: AttachMode) -> &'static str {
    match mode {
        AttachMode::Native => "native",
        AttachMode::Generic => "generic",
        AttachMode::Auto => "auto",
    }
}

impl XdpControl {
    /// Attaches the steering program to `link` for `steer.listen_port`. `steer.max_frame_len` must be what the
    /// sockets' UMEM frames take ([`steer_config`]): longer frames are left to the kernel socket.
    pub fn attach(link: &str, mode: AttachMode, steer: SteerConfig) -> anyhow::Result<Self> {
        let program = XdpProgram::attach_with(link, &steer, mode)?;
        // Opened here, in the link's namespace; its first report is the whole set, so nothing between the
        // attach's own fill and the subscription is missed.
        let addresses = AddressFollower::open(program.if_index())
            .with_context(|| format!("cannot follow the addresses of {link}"))?;
        if let Some(reason) = program.fallback_reason() {
            crate::log_info!("{reason}");
        }
        if let Some(note) = program.replaced() {
            crate::log_warn!("{note}");
        }
        Ok(Self {
            link: link.to_owned(),
            // Re-attaching after a port change keeps the mode the first attach got.
            mode: program.mode(),
            // A re-attach replaces only our own program (detached first): never anyone else's.
            steer: SteerConfig {
                replace_foreign: false,
                ..steer.clone()
            },
            state: Mutex::new(State {
                program: Some(program),
                port: steer.listen_port,
                sockets: Vec::new(),
                earlier: SteerCounters::default(),
            }),
            addresses: Mutex::new(Some(addresses)),
        })
    }

    /// The link's address events, for the one thread that applies them ([`XdpControl::apply_address_changes`]).
    pub fn take_address_follower(&self) -> Option<AddressFollower> {
        self.addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The link the program is on.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// The mode the program got.
    pub fn mode_name(&self) -> &'static str {
        mode_name(self.mode)
    }

    /// Opens one socket on each of queues `0..count` of the link and registers it.
    pub fn open_sockets(&self, count: u32, config: &XskConfig) -> anyhow::Result<Vec<XskSocket>> {
        let mut sockets = Vec::new();
        for queue in 0..count {
            let socket = XskSocket::open(&self.link, queue, config)
                .with_context(|| format!("AF_XDP socket on {} queue {queue}", self.link))?;
            if let Some(reason) = socket.fallback_reason() {
                crate::log_info!("{reason}");
            }
            self.register(queue, socket.as_raw_fd())?;
            sockets.push(socket);
        }
        Ok(sockets)
    }

    fn register(&self, queue: u32, fd: RawFd) -> anyhow::Result<()> {
        let mut state = self.state();
        if let Some(program) = state.program.as_mut() {
            program
                .register_socket(queue, &fd)
                .with_context(|| format!("registering queue {queue}"))?;
        }
        state.sockets.retain(|(q, _)| *q != queue);
        state.sockets.push((queue, fd));
        Ok(())
    }

    /// Stops steering `queue` (its worker is about to close the socket).
    pub fn unregister(&self, queue: u32) {
        let mut state = self.state();
        state.sockets.retain(|(q, _)| *q != queue);
        if let Some(program) = state.program.as_mut() {
            let _ = program.unregister_socket(queue);
        }
    }

    /// Re-attaches the program if the listen port changed. While it is detached (or if attaching fails) the
    /// transport data takes the kernel path, which the workers also serve.
    pub fn follow_port(&self, port: u16) {
        let mut state = self.state();
        if state.port == port {
            return;
        }
        // The old program must go first: a link takes one XDP program. Its counts carry over.
        if let Some(old) = state.program.take() {
            if let Ok(counted) = old.counters() {
                state.earlier = state.earlier.plus(&counted);
            }
        }
        state.port = port;
        let steer = SteerConfig {
            listen_port: port,
            ..self.steer.clone()
        };
        match XdpProgram::attach_with(&self.link, &steer, self.mode) {
            Ok(mut program) => {
                for (queue, fd) in &state.sockets {
                    if let Err(e) = program.register_socket(*queue, fd) {
                        crate::log_error!("{}: re-registering queue {queue}: {e}", self.link);
                    }
                }
                crate::log_info!("{}: XDP steering re-attached for port {port}", self.link);
                state.program = Some(program);
            }
            Err(e) => crate::log_error!(
                "{}: cannot re-attach XDP for port {port} (traffic takes the kernel path): {e}",
                self.link
            ),
        }
    }

    /// Applies address changes of the link to the program's map of local addresses and logs what they changed.
    /// A re-attach (port change) fills the new program's map from the kernel itself.
    pub fn apply_address_changes(&self, changes: &[AddressChange]) {
        let mut state = self.state();
        let Some(program) = state.program.as_mut() else {
            return;
        };
        match program.apply_address_changes(changes) {
            Ok(update) => {
                for address in &update.added {
                    crate::log_info!("{}: steering transport data to {address}", self.link);
                }
                for address in &update.removed {
                    crate::log_info!(
                        "{}: no longer steering transport data to {address}",
                        self.link
                    );
                }
            }
            // Whatever was not applied stays out of the map or in it until the next change or resync: a missing
            // address only takes the kernel path.
            Err(e) => crate::log_warn!("{}: updating the local-address map: {e}", self.link),
        }
    }

    /// Detaches the program now (shutdown), before the workers' sockets close.
    pub fn detach(&self) {
        self.state().program = None;
    }

    /// The program's state and counters.
    pub fn report(&self) -> XdpReport {
        let mut state = self.state();
        let port = state.port;
        let queues = state.sockets.len();
        let earlier = state.earlier;
        let program = state.program.as_mut();
        let (local_addresses, counters) = match program {
            Some(p) => (
                p.local_addresses().unwrap_or_default(),
                p.counters().ok().map(|c| c.plus(&earlier)),
            ),
            None => (Vec::new(), None),
        };
        XdpReport {
            link: self.link.clone(),
            mode: mode_name(self.mode),
            port,
            queues,
            local_addresses,
            allowed_sources: self.steer.allowed_sources.clone(),
            counters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_a_queue_and_bad_names_are_refused() {
        assert!(rx_queue_count("lo").unwrap() >= 1);
        assert!(rx_queue_count("../etc").is_err());
        assert!(rx_queue_count("no-such-link0").is_err());
    }

    #[test]
    fn frames_grow_with_the_mtu() {
        assert_eq!(socket_config(1420).frame_size.bytes(), 2048);
        assert_eq!(socket_config(9000).frame_size.bytes(), 4096);
    }

    #[test]
    fn the_program_redirects_only_what_a_frame_takes() {
        let steer = steer_config(51820, &socket_config(1420), false, &[]);
        assert_eq!(steer.listen_port, 51820);
        assert_eq!(steer.max_frame_len, 2048 - 256);
        assert!(steer.ipv4 && steer.ipv6 && !steer.observe_only && !steer.replace_foreign);
        assert!(steer.allowed_sources.is_empty());
        let allow = [parse_source_prefix("198.18.2.0/24").unwrap()];
        let steer = steer_config(1, &socket_config(9000), true, &allow);
        assert_eq!(steer.max_frame_len, 4096 - 256);
        assert_eq!(steer.allowed_sources, allow);
    }

    #[test]
    fn allow_list_prefixes_parse_with_a_clear_error() {
        let show = |text: &str| parse_source_prefix(text).map(|p| p.to_string()).ok();
        assert_eq!(show("198.18.2.7/24").as_deref(), Some("198.18.2.0/24"));
        assert_eq!(show("198.18.2.7").as_deref(), Some("198.18.2.7/32"));
        assert_eq!(
            show("fd00:198:18:2::9/64").as_deref(),
            Some("fd00:198:18:2::/64")
        );
        assert_eq!(show("::/0").as_deref(), Some("::/0"));
        for bad in ["198.18.2.0/33", "fd00::/129", "peer-b", "10.0.0.0/x", ""] {
            let error = parse_source_prefix(bad).expect_err(bad).to_string();
            assert!(error.contains("prefix"), "{bad}: {error}");
        }
    }

    #[test]
    fn report_json_lists_every_passed_reason() {
        let report = XdpReport {
            link: "veth0".into(),
            mode: "native",
            port: 51820,
            queues: 2,
            local_addresses: vec!["198.18.1.1".parse().unwrap(), "fd00::1".parse().unwrap()],
            allowed_sources: vec![parse_source_prefix("198.18.2.0/24").unwrap()],
            counters: Some(SteerCounters::from_counts([
                5, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0, 1,
            ])),
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"redirected\":5,\"passed\":8"), "{json}");
        assert!(json.contains("\"not-transport\":2"), "{json}");
        assert!(json.contains("\"not-local\":4"), "{json}");
        assert!(json.contains("\"source-not-allowed\":1"), "{json}");
        assert!(
            json.contains("\"local_addresses\":[\"198.18.1.1\",\"fd00::1\"]"),
            "{json}"
        );
        assert!(
            json.contains("\"allowed_sources\":[\"198.18.2.0/24\"]"),
            "{json}"
        );
        assert_eq!(json.matches('{').count(), json.matches('}').count());
    }
}

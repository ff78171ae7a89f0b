//! Choosing the I/O path at start-up (`--io`, `--link`, `--workers`) and bringing the AF_XDP path up: attach the
//! steering program, open one AF_XDP socket per worker queue, and hand each worker its socket.

use crate::cli::{IoMode, UpArgs, XdpModeArg};
use crate::shared::Shared;
use crate::xdp_control::{
    rx_queue_count, socket_config, steer_config, LinkOptionError, XdpControl,
};
use crate::{log_info, log_warn};
use anyhow::Context as _;
use wgxdp_io_xdp::{AttachMode, SourcePrefix, XskSocket};

/// Packets one busy-poll round of the driver may process (SO_BUSY_POLL_BUDGET; the kernel's default is 8).
const BUSY_POLL_BUDGET: u16 = 64;

/// The path chosen before anything is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoPlan {
    /// Kernel UDP sockets only.
    Socket,
    /// AF_XDP on `link`, which has `queues` RX queues.
    Xdp {
        /// The `--link` device.
        link: String,
        /// Its RX queue count.
        queues: u32,
    },
}

/// Why `--io xdp` cannot run (where `--io auto` falls back to the socket path).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No `--link`.
    #[error("--io xdp needs --link NETDEV")]
    NeedsLink,
    /// The link cannot be used.
    #[error(transparent)]
    Link(#[from] LinkOptionError),
    /// More workers than RX queues.
    #[error("--workers {workers} exceeds the {queues} RX queue(s) of {link}")]
    TooManyWorkers {
        /// `--workers`.
        workers: u16,
        /// The link's RX queues.
        queues: u32,
        /// The link.
        link: String,
    },
}

/// Logs why `--io auto` runs the socket path.
fn fall_back(interface: &str, reason: &PlanError) {
    log_warn!("{interface}: --io auto: falling back to the socket path: {reason}");
}

/// Decides the path from the options. `--io xdp` errors out where `--io auto` falls back (and logs why).
pub fn plan(args: &UpArgs) -> Result<IoPlan, PlanError> {
    let name = &args.interface;
    if args.io == IoMode::Socket && !args.xdp_allow_source.is_empty() {
        log_info!(
            "{name}: --xdp-allow-source applies to the AF_XDP path only; on the socket path every datagram goes \
             through the host firewall"
        );
    }
    let link = match (args.io, &args.link) {
        (IoMode::Socket, _) => return Ok(IoPlan::Socket),
        (IoMode::Xdp, None) => return Err(PlanError::NeedsLink),
        (IoMode::Auto, None) => {
            log_warn!("{name}: --io auto: falling back to the socket path: no --link given");
            return Ok(IoPlan::Socket);
        }
        (_, Some(link)) => link.clone(),
    };
    let queues = match rx_queue_count(&link) {
        Ok(n) => n,
        Err(e) => {
            let e = PlanError::from(e);
            if args.io == IoMode::Auto {
                fall_back(name, &e);
                return Ok(IoPlan::Socket);
            }
            return Err(e);
        }
    };
    if let Some(workers) = args.workers {
        if u32::from(workers) > queues {
            let e = PlanError::TooManyWorkers {
                workers,
                queues,
                link: link.clone(),
            };
            if args.io == IoMode::Auto {
                fall_back(name, &e);
                return Ok(IoPlan::Socket);
            }
            return Err(e);
        }
    }
    Ok(IoPlan::Xdp { link, queues })
}

/// Workers for the plan: `--workers`, or one per RX queue of the link (AF_XDP), or `default` (sockets).
pub fn worker_count(args: &UpArgs, plan: &IoPlan, default: usize) -> usize {
    match (args.workers, plan) {
        (Some(n), _) => usize::from(n),
        (None, IoPlan::Xdp { queues, .. }) => *queues as usize,
        (None, IoPlan::Socket) => default,
    }
}

/// The AF_XDP path, up: the link's index and one socket per worker (worker i has queue i).
pub struct XdpStart {
    /// Interface index of the link.
    pub link_ifindex: u32,
    /// Socket i for worker i.
    pub sockets: Vec<XskSocket>,
}

/// Attaches the program for the bound port and opens a socket per worker; on failure nothing stays attached.
pub fn start(
    shared: &Shared,
    args: &UpArgs,
    link: &str,
    queues: u32,
    workers: usize,
) -> anyhow::Result<XdpStart> {
    let link_ifindex = nix::net::if_::if_nametoindex(link)
        .with_context(|| format!("link {link} has no interface index"))?;
    let mode = match args.xdp_mode {
        None => AttachMode::Auto,
        Some(XdpModeArg::Native) => AttachMode::Native,
        Some(XdpModeArg::Generic) => AttachMode::Generic,
    };
    let port = shared.sockets.bound_port();
    let xsk = socket_config(shared.mtu);
    let steer = steer_config(port, &xsk, args.xdp_replace, &args.xdp_allow_source);
    let control = XdpControl::attach(link, mode, steer)?;
    let count = u32::try_from(workers).unwrap_or(u32::MAX).min(queues);
    let sockets = control.open_sockets(count, &xsk)?;
    if args.busy_poll_us > 0 {
        for socket in &sockets {
            if let Err(e) = socket.set_busy_poll(args.busy_poll_us, BUSY_POLL_BUDGET) {
                log_info!(
                    "{}: no preferred busy polling on {link} queue {}: {e}",
                    shared.interface,
                    socket.queue()
                );
            }
        }
    }
    if count < queues {
        log_info!(
            "{}: {count} worker(s) for {queues} RX queues of {link}: queues {count}.. take the kernel path",
            shared.interface
        );
    }
    log_info!(
        "{}: AF_XDP on {link}: {} XDP, {} socket(s), UDP port {port}; transport data to {link}'s own addresses \
         bypasses the host firewall (netfilter) from {}",
        shared.interface,
        control.mode_name(),
        sockets.len(),
        allow_list_words(&args.xdp_allow_source)
    );
    if shared.xdp.set(control).is_err() {
        anyhow::bail!("the AF_XDP path was started twice");
    }
    Ok(XdpStart {
        link_ifindex,
        sockets,
    })
}

/// The allow-list in words, for the start-up log.
fn allow_list_words(prefixes: &[SourcePrefix]) -> String {
    if prefixes.is_empty() {
        return "every source (no --xdp-allow-source)".to_owned();
    }
    let list: Vec<String> = prefixes.iter().map(SourcePrefix::to_string).collect();
    format!(
        "{} only; other sources take the kernel path",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(io: IoMode, link: Option<&str>, workers: Option<u16>) -> UpArgs {
        let mut args = UpArgs::for_interface("wgtest0".into());
        args.io = io;
        args.link = link.map(str::to_owned);
        args.workers = workers;
        args
    }

    #[test]
    fn xdp_needs_a_link_and_auto_falls_back() {
        let socket = Some(IoPlan::Socket);
        assert_eq!(plan(&args(IoMode::Socket, Some("lo"), None)).ok(), socket);
        assert!(matches!(
            plan(&args(IoMode::Xdp, None, None)),
            Err(PlanError::NeedsLink)
        ));
        assert_eq!(plan(&args(IoMode::Auto, None, None)).ok(), socket);
        assert!(matches!(
            plan(&args(IoMode::Xdp, Some("no-such-link0"), None)),
            Err(PlanError::Link(LinkOptionError::Queues { .. }))
        ));
        assert_eq!(
            plan(&args(IoMode::Auto, Some("no-such-link0"), None)).ok(),
            socket
        );
        let queues = rx_queue_count("lo").unwrap();
        let lo = plan(&args(IoMode::Xdp, Some("lo"), None)).unwrap();
        assert_eq!(
            lo,
            IoPlan::Xdp {
                link: "lo".into(),
                queues
            }
        );
        assert_eq!(
            worker_count(&args(IoMode::Xdp, Some("lo"), None), &lo, 7),
            queues as usize
        );
        assert_eq!(
            worker_count(&args(IoMode::Socket, None, None), &IoPlan::Socket, 7),
            7
        );
        let too_many = u16::try_from(queues + 1).unwrap();
        assert!(matches!(
            plan(&args(IoMode::Xdp, Some("lo"), Some(too_many))),
            Err(PlanError::TooManyWorkers { .. })
        ));
        assert_eq!(
            plan(&args(IoMode::Auto, Some("lo"), Some(too_many))).ok(),
            socket
        );
    }
}

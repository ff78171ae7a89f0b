//! `wgxdp up`: bring the interface up, serve it, and tear it down on SIGINT/SIGTERM, when
//! the TUN is deleted, or when the UAPI socket file is removed (as wireguard-go does).
//!
//! Threads: N workers (one TUN queue each, sharing the UDP sockets; on the AF_XDP path also one
//! RX queue of `--link` each, see `xdp_worker.rs`), one handshake/timer
//! thread, one UAPI server, one control server. The main thread waits on a signalfd and
//! checks once a second that the interface and the UAPI socket are still there.

use crate::apply::apply_set;
use crate::background::ReadyNotifier;
use crate::cli::{IoMode, UpArgs};
use crate::handshake_queue::{HandshakeQueue, HANDSHAKE_QUEUE_LEN};
use crate::shared::Shared;
use crate::signals::{block_stop_signals, take_pending};
use crate::socket_file::{control_path, uapi_path, validate_interface_name, SocketFile};
use crate::unix_server::{serve, ServerLimits};
use crate::worker::{Backend, Worker};
use crate::xdp_setup::{self, IoPlan, XdpStart};
use crate::{
    control, handshake_rx, handshake_workers, log_error, log_info, log_warn, timer_thread,
    uapi_server,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use wgxdp_datapath::{Clock, LiveSockets};
use wgxdp_device::{Device, DeviceConfig};
use wgxdp_io_socket::{TunConfig, TunDevice, UdpSocketOptions};
use wgxdp_uapi::{ConfMode, Config, SetRequest};

/// Workers started by default at most (one per CPU up to this).
const DEFAULT_MAX_WORKERS: usize = 16;
/// How often the main thread checks that the TUN and the UAPI socket still exist.
const LIVENESS_PERIOD_MS: u16 = 1000;

/// Runs `wgxdp up`; the exit code reports whether start-up succeeded.
pub fn run_up(args: &UpArgs) -> ExitCode {
    let mut notifier = ReadyNotifier::new(args.notify_ready);
    match start_and_serve(args, &mut notifier) {
        Ok(reason) => {
            log_info!("{}: stopped ({reason})", args.interface);
            ExitCode::SUCCESS
        }
        Err(message) => {
            log_error!("{}: {message}", args.interface);
            notifier.failed(&message);
            if !args.notify_ready {
                eprintln!("wgxdp: {}: {message}", args.interface);
            }
            ExitCode::FAILURE
        }
    }
}

/// Starts everything, reports ready, serves until told to stop. Returns why it stopped.
fn start_and_serve(args: &UpArgs, notifier: &mut ReadyNotifier) -> Result<String, String> {
    let name = args.interface.as_str();
    validate_interface_name(name)?;
    let plan = xdp_setup::plan(args)?;
    // Before any thread exists, so every thread inherits the blocked mask.
    let signals = block_stop_signals().map_err(|e| format!("cannot set up signals: {e}"))?;
    let config = match &args.config {
        Some(path) => Some(load_config(path)?),
        None => None,
    };
    let default_workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(DEFAULT_MAX_WORKERS);
    let workers = xdp_setup::worker_count(args, &plan, default_workers);

    // Sockets first: a live daemon on the same name refuses us before we touch the TUN.
    let (uapi_listener, uapi_file) = SocketFile::bind(&uapi_path(name))
        .map_err(|e| format!("UAPI socket {}: {e}", uapi_path(name).display()))?;
    let (control_listener, control_file) = SocketFile::bind(&control_path(name))
        .map_err(|e| format!("control socket {}: {e}", control_path(name).display()))?;

    let mut tun_config = TunConfig::new(name);
    tun_config.mtu = args.mtu;
    tun_config.queues = workers;
    let tun = TunDevice::open(&tun_config).map_err(|e| format!("cannot create TUN: {e}"))?;
    let ifindex = nix::net::if_::if_nametoindex(name)
        .map_err(|e| format!("TUN {name} has no interface index: {e}"))?;
    let queues = tun.into_queues();

    let socket_options = UdpSocketOptions {
        fwmark: config.as_ref().and_then(|c| c.fwmark).filter(|m| *m != 0),
        ..UdpSocketOptions::default()
    };
    let port = config.as_ref().and_then(|c| c.listen_port).unwrap_or(0);
    let sockets = LiveSockets::bind(port, queues.len(), socket_options)
        .map_err(|e| format!("cannot bind UDP port {port}: {e}"))?;
    let device = Device::new(DeviceConfig {
        mtu: usize::from(args.mtu),
        ..DeviceConfig::default()
    });
    device.set_bound_port(sockets.bound_port());
    let handshakes = HandshakeQueue::new(HANDSHAKE_QUEUE_LEN);
    let shared = Arc::new(
        Shared::new(
            name.to_owned(),
            args.mtu,
            device,
            Clock::start(),
            Arc::new(sockets),
            handshakes,
            queues.len(),
        )
        .map_err(|e| format!("cannot create wake descriptors: {e}"))?,
    );
    if let Some(request) = &config {
        let warnings = apply_set(&shared, request).map_err(|e| format!("--config: {e}"))?;
        log_info!("{name}: configuration applied ({warnings} shadowing warning(s))");
    }

    let xdp = match &plan {
        IoPlan::Socket => None,
        IoPlan::Xdp { link, queues: n } => {
            match xdp_setup::start(&shared, args, link, *n, queues.len()) {
                Ok(started) => Some(started),
                Err(e) if args.io == IoMode::Auto => {
                    log_warn!("{name}: --io auto: falling back to the socket path: {e}");
                    None
                }
                Err(e) => return Err(e),
            }
        }
    };
    let cpu_of = |id: usize| args.cpus.as_ref().and_then(|c| c.0.get(id).copied());
    let (backends, kind): (Vec<Backend>, &str) = match xdp {
        Some(XdpStart {
            link_ifindex,
            sockets,
        }) => (
            sockets
                .into_iter()
                .map(|xsk| Backend::Xdp {
                    xsk: Box::new(xsk),
                    link_ifindex,
                })
                .collect(),
            "xdp",
        ),
        None => (
            (0..queues.len()).map(|_| Backend::Socket).collect(),
            "worker",
        ),
    };
    let spin = Duration::from_micros(u64::from(args.spin_us));
    let mut threads = Vec::new();
    for (id, (tun, backend)) in queues.into_iter().zip(backends).enumerate() {
        let worker = Worker {
            id,
            shared: Arc::clone(&shared),
            tun,
            backend,
            cpu: cpu_of(id),
            spin,
        };
        threads.push(spawn(format!("wgxdp-{kind}-{id}"), move || worker.run())?);
    }
    let rx_shared = Arc::clone(&shared);
    threads.push(spawn("wgxdp-hs-rx".into(), move || {
        handshake_rx::run(rx_shared)
    })?);
    let handshake_workers = args
        .handshake_workers
        .map_or_else(handshake_workers::default_count, usize::from);
    for id in 0..handshake_workers {
        let hs_shared = Arc::clone(&shared);
        threads.push(spawn(format!("wgxdp-hs-{id}"), move || {
            handshake_workers::run(hs_shared)
        })?);
    }
    let timer_shared = Arc::clone(&shared);
    threads.push(spawn("wgxdp-timers".into(), move || {
        timer_thread::run(timer_shared)
    })?);
    let uapi_shared = Arc::clone(&shared);
    threads.push(spawn("wgxdp-uapi".into(), move || {
        serve("uapi", uapi_listener, uapi_shared, UAPI_LIMITS, |s, c| {
            uapi_server::handle_connection(s, c)
        })
    })?);
    let ctl_shared = Arc::clone(&shared);
    threads.push(spawn("wgxdp-control".into(), move || {
        serve(
            "control",
            control_listener,
            ctl_shared,
            CONTROL_LIMITS,
            control::handle_connection,
        )
    })?);

    log_info!(
        "{name}: up: {} worker(s), MTU {}, UDP port {}, UAPI {}",
        shared.workers.len(),
        args.mtu,
        shared.sockets.bound_port(),
        uapi_file.path().display()
    );
    notifier.ready();

    let reason = wait_for_stop(&shared, &signals, &uapi_file, ifindex);
    shared.request_stop(&reason);
    for thread in threads {
        let _ = thread.join();
    }
    if let Some(xdp) = shared.xdp.get() {
        // Shared may outlive this function in a straggling server thread; the link must not wait for that.
        xdp.detach();
    }
    drop(control_file);
    drop(uapi_file);
    Ok(shared.stop_reason().unwrap_or(reason))
}

/// UAPI: `wg` sends one request and closes; a slow client gets 30 s.
const UAPI_LIMITS: ServerLimits = ServerLimits {
    max_connections: 16,
    idle_timeout: Duration::from_secs(30),
    write_timeout: Duration::from_secs(10),
};
/// Control: one request per connection.
const CONTROL_LIMITS: ServerLimits = ServerLimits {
    max_connections: 8,
    idle_timeout: Duration::from_secs(5),
    write_timeout: Duration::from_secs(10),
};

fn spawn<F>(name: String, body: F) -> Result<JoinHandle<()>, String>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(body)
        .map_err(|e| format!("cannot start thread {name}: {e}"))
}

/// Blocks until a stop signal, a thread's stop request, the TUN's disappearance, or the
/// UAPI socket's removal; returns the reason.
fn wait_for_stop(
    shared: &Shared,
    signals: &nix::sys::signalfd::SignalFd,
    uapi_file: &SocketFile,
    ifindex: u32,
) -> String {
    loop {
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(LIVENESS_PERIOD_MS));
        if let Some(signal) = take_pending(signals) {
            return format!("received {signal}");
        }
        if let Some(reason) = shared.stop_reason() {
            return reason;
        }
        if !uapi_file.still_ours() {
            return format!("UAPI socket {} was removed", uapi_file.path().display());
        }
        match nix::net::if_::if_nametoindex(shared.interface.as_str()) {
            Ok(index) if index == ifindex => {}
            _ => return format!("interface {} was deleted", shared.interface),
        }
        if let Some(xdp) = shared.xdp.get() {
            if nix::net::if_::if_nametoindex(xdp.link()).is_err() {
                return format!("link {} was deleted", xdp.link());
            }
            // A `listen_port` change rebinds the sockets; the program follows within a second.
            xdp.follow_port(shared.sockets.bound_port());
        }
    }
}

/// Reads and parses a `wg setconf` file into the request that applies it.
fn load_config(path: &std::path::Path) -> Result<SetRequest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let config = Config::parse(&text).map_err(|e| format!("config {}: {e}", path.display()))?;
    config
        .to_set_request(ConfMode::Set, resolve)
        .map_err(|e| format!("config {}: {e}", path.display()))
}

/// Resolves a config endpoint hostname (first address the system resolver returns).
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "no address".to_owned())
}

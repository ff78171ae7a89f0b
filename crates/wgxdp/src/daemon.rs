//! `wgxdp up`: bring the interface up, serve it, and tear it down on SIGINT/SIGTERM, when
//! the TUN is deleted, or when the UAPI socket file is removed (as wireguard-go does).
//!
//! Threads: N workers (one TUN queue each, sharing the UDP sockets; on the AF_XDP path also one
//! RX queue of `--link` each, see `xdp_worker.rs`), one handshake/timer
//! thread, one UAPI server, one control server. The main thread waits on a signalfd and the
//! TUN's link events (wherever the TUN is: `link_watch.rs`), and checks once a second that the
//! TUN and the UAPI socket are still there. On a stop it releases the socket files first, so a
//! restart does not have to wait; a start waits a bounded time for a daemon that is stopping.

use crate::apply::apply_set;
use crate::background::ReadyNotifier;
use crate::cli::{IoMode, UpArgs};
use crate::handshake_queue::{HandshakeQueue, HANDSHAKE_QUEUE_LEN};
use crate::link_watch::TunWatch;
use crate::shared::Shared;
use crate::signals::{block_stop_signals, take_pending};
use crate::socket_file::{control_path, uapi_path, validate_interface_name, SocketFile};
use crate::unix_server::{serve, ServerLimits};
use crate::watchdog::Watchdog;
use crate::worker::{Backend, Worker};
use crate::xdp_setup::{self, IoPlan, XdpStart};
use crate::{
    control, error_chain, handshake_rx, handshake_workers, log_error, log_info, log_warn,
    metrics_http, timer_thread, uapi_server, xdp_addresses,
};
use anyhow::Context as _;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wgxdp_datapath::LiveSockets;
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
        Ok(Stopped {
            reason,
            failed: false,
        }) => {
            log_info!("{}: stopped ({reason})", args.interface);
            ExitCode::SUCCESS
        }
        Ok(Stopped {
            reason,
            failed: true,
        }) => {
            log_error!("{}: stopped after a failure ({reason})", args.interface);
            ExitCode::FAILURE
        }
        Err(e) => {
            let message = error_chain::describe(&e);
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
fn start_and_serve(args: &UpArgs, notifier: &mut ReadyNotifier) -> anyhow::Result<Stopped> {
    let name = args.interface.as_str();
    validate_interface_name(name)?;
    let plan = xdp_setup::plan(args)?;
    // Bound before anything is created: a port in use fails the start at once, with its reason.
    let metrics_listener = match args.metrics {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .with_context(|| format!("--metrics: cannot listen on {addr}"))?,
        ),
        None => None,
    };
    // Before any thread exists, so every thread inherits the blocked mask.
    let signals = block_stop_signals().context("cannot set up signals")?;
    let config = match &args.config {
        Some(path) => Some(load_config(path)?),
        None => None,
    };
    let default_workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(DEFAULT_MAX_WORKERS);
    let workers = xdp_setup::worker_count(args, &plan, default_workers);

    // Sockets first: a live daemon on the same name refuses us before we touch the TUN. One whose interface is
    // gone from here is most likely shutting down (`ip link del` then a restart): it gets a bounded wait.
    let deadline = Instant::now() + DYING_WAIT;
    let patience = if interface_here(name) {
        Duration::ZERO
    } else {
        DYING_WAIT
    };
    let (uapi_listener, uapi_file) = SocketFile::bind(&uapi_path(name), patience)
        .with_context(|| format!("UAPI socket {}", uapi_path(name).display()))?;
    let (control_listener, control_file) = SocketFile::bind(
        &control_path(name),
        deadline.saturating_duration_since(Instant::now()),
    )
    .with_context(|| format!("control socket {}", control_path(name).display()))?;
    let mut waited = !uapi_file.waited().is_zero() || !control_file.waited().is_zero();
    // A dying daemon's TUN outlives its socket files by up to a second; creating ours now would attach to it.
    waited |= wait_until_gone(name, deadline);
    if waited {
        log_info!("{name}: waited for the previous daemon on {name} to exit");
    }

    let mut tun_config = TunConfig::new(name);
    tun_config.mtu = args.mtu;
    tun_config.queues = workers;
    let tun = TunDevice::open(&tun_config).context("cannot create TUN")?;
    let queues = tun.into_queues();

    let socket_options = UdpSocketOptions {
        fwmark: config.as_ref().and_then(|c| c.fwmark).filter(|m| *m != 0),
        ..UdpSocketOptions::default()
    };
    let port = config.as_ref().and_then(|c| c.listen_port).unwrap_or(0);
    let sockets = bind_udp(
        port,
        queues.len(),
        socket_options,
        waited.then_some(deadline),
    )?;
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
            Arc::new(sockets),
            handshakes,
            queues.len(),
            Watchdog::new(Duration::from_secs(u64::from(args.watchdog_secs))),
        )
        .context("cannot create wake descriptors")?,
    );
    // The TUN itself, not its name here: it may move to another namespace and only its deletion ends us.
    let first_queue = queues.first().context("the TUN has no queue")?;
    let mut tun_watch = TunWatch::new(first_queue.as_fd(), &shared.device)
        .with_context(|| format!("cannot follow TUN {name}"))?;
    if let Some(request) = &config {
        let warnings = apply_set(&shared, request).context("--config")?;
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
    let mut threads = Threads::new();
    let mut worker_names = Vec::new();
    for (id, (tun, backend)) in queues.into_iter().zip(backends).enumerate() {
        let worker = Worker {
            id,
            shared: Arc::clone(&shared),
            tun,
            backend,
            cpu: cpu_of(id),
            spin,
        };
        if let Some(stats) = shared.workers.get(id) {
            // Alive from the start; the worker beats once per round from then on.
            stats.beat(shared.clock.now());
        }
        worker_names.push(format!("wgxdp-{kind}-{id}"));
        threads.spawn(format!("wgxdp-{kind}-{id}"), move || worker.run())?;
    }
    if let Some(follow) = xdp_addresses::follower(&shared) {
        threads.spawn(xdp_addresses::THREAD.into(), follow)?;
    }
    let rx_shared = Arc::clone(&shared);
    threads.spawn("wgxdp-hs-rx".into(), move || handshake_rx::run(rx_shared))?;
    let handshake_workers = args
        .handshake_workers
        .map_or_else(handshake_workers::default_count, usize::from);
    for id in 0..handshake_workers {
        let hs_shared = Arc::clone(&shared);
        let thread = format!("wgxdp-hs-{id}");
        let name = thread.clone();
        threads.spawn(thread, move || handshake_workers::run(hs_shared, &name))?;
    }
    let timer_shared = Arc::clone(&shared);
    threads.spawn("wgxdp-timers".into(), move || {
        timer_thread::run(timer_shared)
    })?;
    let uapi_shared = Arc::clone(&shared);
    threads.spawn("wgxdp-uapi".into(), move || {
        serve("uapi", uapi_listener, uapi_shared, UAPI_LIMITS, |s, c| {
            uapi_server::handle_connection(s, c)
        })
    })?;
    let ctl_shared = Arc::clone(&shared);
    threads.spawn("wgxdp-control".into(), move || {
        serve(
            "control",
            control_listener,
            ctl_shared,
            CONTROL_LIMITS,
            control::handle_connection,
        )
    })?;

    if let Some(listener) = metrics_listener {
        if let Ok(addr) = listener.local_addr() {
            log_info!("{name}: metrics at http://{addr}/metrics");
        }
        let metrics_shared = Arc::clone(&shared);
        threads.spawn("wgxdp-metrics".into(), move || {
            serve(
                "metrics",
                listener,
                metrics_shared,
                metrics_http::LIMITS,
                metrics_http::handle_connection,
            )
        })?;
    }

    log_info!(
        "{name}: up: {} worker(s), MTU {}, UDP port {}, UAPI {}",
        shared.workers.len(),
        args.mtu,
        shared.sockets.bound_port(),
        uapi_file.path().display()
    );
    notifier.ready();

    let reason = wait_for_stop(&shared, &signals, &uapi_file, &mut tun_watch, &worker_names);
    shared.request_stop(&reason);
    if shared.failed() {
        log_error!("{name}: stopping after a failure: {reason}");
    } else {
        log_info!("{name}: stopping ({reason})");
    }
    // Release what a restart needs first: the socket files at once (a new daemon may bind them while we wind
    // down) and the link's XDP hook, then, once the threads are out, the TUN and the UDP port.
    drop(control_file);
    drop(uapi_file);
    if let Some(xdp) = shared.xdp.get() {
        // The link's XDP hook too: a restarted daemon attaches its own there. Until the workers are out their
        // traffic takes the kernel path, which they also serve.
        xdp.detach();
    }
    drop(tun_watch);
    let stragglers = threads.join_within(JOIN_LIMIT, shared.wedged().as_deref());
    if !stragglers.is_empty() {
        // A wedged thread cannot be joined: the process ends around it.
        log_error!(
            "{name}: {} thread(s) still running {} s after the stop ({}): exiting without them",
            stragglers.len(),
            JOIN_LIMIT.as_secs(),
            stragglers.join(", ")
        );
    }
    let failed = shared.failed();
    drop(shared);
    Ok(Stopped { reason, failed })
}

/// How a daemon that served ended.
pub struct Stopped {
    /// Why, in words.
    pub reason: String,
    /// Whether it was a failure (a thread died or wedged) rather than an orderly end.
    pub failed: bool,
}

/// How long the stop waits for the threads to finish before exiting without them.
const JOIN_LIMIT: Duration = Duration::from_secs(5);

/// The daemon's threads, joined with a bound: each says when it is done.
struct Threads {
    handles: Vec<(String, JoinHandle<()>)>,
    done_tx: crossbeam_channel::Sender<String>,
    done_rx: crossbeam_channel::Receiver<String>,
}

impl Threads {
    fn new() -> Self {
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        Self {
            handles: Vec::new(),
            done_tx,
            done_rx,
        }
    }

    /// Starts a thread named `name` running `body`.
    fn spawn<F>(&mut self, name: String, body: F) -> anyhow::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let done = self.done_tx.clone();
        let me = name.clone();
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                body();
                let _ = done.send(me);
            })
            .with_context(|| format!("cannot start thread {name}"))?;
        self.handles.push((name, handle));
        Ok(())
    }

    /// Joins every thread that finishes within `limit`; returns the names of those that did not. A thread known
    /// to be wedged is not waited for.
    fn join_within(self, limit: Duration, wedged: Option<&str>) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut running: Vec<String> = self.handles.iter().map(|(n, _)| n.clone()).collect();
        while running.iter().any(|n| Some(n.as_str()) != wedged) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done_rx.recv_timeout(left) {
                Ok(name) => running.retain(|n| *n != name),
                Err(_) => break,
            }
        }
        for (name, handle) in self.handles {
            if !running.contains(&name) {
                let _ = handle.join();
            }
        }
        running
    }
}

/// How long a start waits for a daemon that is shutting down on the same name.
const DYING_WAIT: Duration = Duration::from_secs(3);

/// Whether an interface named `name` exists in our namespace.
fn interface_here(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// Waits until no interface `name` exists here, at most until `deadline`; returns whether it waited at all. After
/// the deadline the start goes on (and attaches to the interface, as wireguard-go would).
fn wait_until_gone(name: &str, deadline: Instant) -> bool {
    if !interface_here(name) {
        return false;
    }
    while interface_here(name) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if interface_here(name) {
        log_warn!("{name}: an interface of this name exists and did not go away: using it");
    }
    true
}

/// Binds the UDP sockets; after waiting for a dying daemon (`retry_until`), a port it still holds is tried
/// again until then.
fn bind_udp(
    port: u16,
    workers: usize,
    options: UdpSocketOptions,
    retry_until: Option<Instant>,
) -> anyhow::Result<LiveSockets> {
    loop {
        match LiveSockets::bind(port, workers, options.clone()) {
            Ok(sockets) => return Ok(sockets),
            Err(e)
                if e.raw_os_error() == Some(libc::EADDRINUSE)
                    && retry_until.is_some_and(|t| Instant::now() < t) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot bind UDP port {port}")),
        }
    }
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

/// Blocks until a stop signal, a thread's stop request, the TUN's deletion (a move to another namespace is
/// followed, see `link_watch.rs`), or the UAPI socket's removal; returns the reason.
fn wait_for_stop(
    shared: &Shared,
    signals: &nix::sys::signalfd::SignalFd,
    uapi_file: &SocketFile,
    tun: &mut TunWatch,
    worker_names: &[String],
) -> String {
    loop {
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(tun.fd(), PollFlags::POLLIN),
        ];
        let _ = poll(&mut fds, PollTimeout::from(LIVENESS_PERIOD_MS));
        if let Some(signal) = take_pending(signals) {
            return format!("received {signal}");
        }
        if let Some(reason) = shared.stop_reason() {
            // A worker seeing its TUN queue fail is how a deletion often shows first: name it as such.
            return tun.check(&shared.device).unwrap_or(reason);
        }
        if !uapi_file.still_ours() {
            return format!("UAPI socket {} was removed", uapi_file.path().display());
        }
        if let Some((thread, reason)) =
            shared
                .watchdog
                .check(shared.clock.now(), &shared.workers, worker_names)
        {
            shared.fail(&reason);
            shared.note_wedged(thread);
            return reason;
        }
        if let Some(reason) = tun.check(&shared.device) {
            return reason;
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
fn load_config(path: &std::path::Path) -> anyhow::Result<SetRequest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let config = Config::parse(&text).with_context(|| format!("config {}", path.display()))?;
    config
        .to_set_request(ConfMode::Set, resolve)
        .with_context(|| format!("config {}", path.display()))
}

/// Resolves a config endpoint hostname (first address the system resolver returns).
fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
}

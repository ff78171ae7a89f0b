//! The one worker loop: ingress (`ingress.rs`), egress (`egress.rs`), the backend's housekeeping, and the idle
//! wait (`poller.rs`), for every backend alike.

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;
use wgxdp_io_socket::{TunRecvBatch, TunWriteBatch};

use crate::host::Host;
use crate::poller::{AdaptiveSpin, Found, Poller, Spin, SpinPolicy};
use crate::stats::{Counter, WorkerStats};
use crate::tun_port::TunPort;
use crate::underlay::Underlay;

/// Longest sleep; the wake eventfd ends it sooner on a stop or a rebind.
const IDLE_SLEEP: Duration = Duration::from_secs(1);
/// How often the backend's own statistics are copied into the worker's counters.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Tunables of a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Spinning before sleeping.
    pub spin: SpinPolicy,
    /// TUN reads per round (each a packet or a TSO/USO super-packet), sealed as one batch and flushed once.
    pub tun_reads: usize,
    /// Receive batches per round before the worker looks at the TUN again.
    pub rx_batches: usize,
    /// Longest inner packet (the largest MTU the TUN may get): sizes the TUN buffers.
    pub max_packet: usize,
    /// Buffers of the TUN write batch (each up to a 64 KiB super-packet on an offload TUN).
    pub tun_write_buffers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            spin: SpinPolicy::default(),
            tun_reads: 16,
            rx_batches: 4,
            max_packet: 65_535,
            tun_write_buffers: 64,
        }
    }
}

/// Why a worker returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// The daemon is stopping.
    Stopping,
    /// The TUN interface was deleted.
    TunGone(String),
    /// Something else the worker cannot go on without (the backend, epoll).
    Failed(String),
}

impl std::fmt::Display for StopCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stopping => f.write_str("the daemon is stopping"),
            Self::TunGone(why) => write!(f, "the TUN device went away ({why})"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// One worker: a TUN queue, a backend, the buffers between them, and the loop that moves packets both ways.
/// Every buffer is allocated here, once.
pub struct Pipeline<'h, H: Host, U: Underlay, T: TunPort> {
    pub(crate) host: &'h H,
    pub(crate) stats: &'h WorkerStats,
    wake: &'h EventFd,
    pub(crate) underlay: U,
    pub(crate) tun: T,
    pub(crate) tun_rx: TunRecvBatch,
    pub(crate) tun_tx: TunWriteBatch,
    poller: Poller,
    pub(crate) config: PipelineConfig,
    /// The TUN may have packets: set by a wait, cleared when a read finds none.
    pub(crate) tun_ready: bool,
    last_report: Duration,
    spin: AdaptiveSpin,
}

impl<'h, H: Host, U: Underlay, T: TunPort> Pipeline<'h, H, U, T> {
    /// A worker moving packets between `tun` and `underlay` for `host`, counting into `stats`; writing `wake`
    /// makes it leave its wait (to notice a stop or a rebind).
    pub fn new(
        host: &'h H,
        stats: &'h WorkerStats,
        wake: &'h EventFd,
        underlay: U,
        tun: T,
        config: PipelineConfig,
    ) -> io::Result<Self> {
        let poller = Poller::new(tun.fd(), wake.as_fd(), &underlay).map_err(io::Error::from)?;
        let mtu = u16::try_from(config.max_packet).unwrap_or(u16::MAX);
        let tun_tx = TunWriteBatch::new(config.tun_write_buffers, config.max_packet, tun.offload());
        Ok(Self {
            host,
            stats,
            wake,
            underlay,
            tun,
            tun_rx: TunRecvBatch::new(mtu),
            tun_tx,
            poller,
            config,
            tun_ready: true,
            last_report: Duration::ZERO,
            spin: AdaptiveSpin::new(config.spin),
        })
    }

    /// The backend.
    pub fn underlay(&self) -> &U {
        &self.underlay
    }

    /// The backend and the TUN back, after [`run`](Self::run) (to unregister an AF_XDP socket before it closes).
    pub fn into_parts(self) -> (U, T) {
        (self.underlay, self.tun)
    }

    /// Runs until the daemon stops or something the worker cannot go on without fails; says which.
    pub fn run(&mut self) -> StopCause {
        loop {
            if self.host.stopping() {
                return StopCause::Stopping;
            }
            match self.round() {
                Ok(true) => {}
                Ok(false) => {
                    if let Err(cause) = self.idle() {
                        return cause;
                    }
                }
                Err(cause) => return cause,
            }
        }
    }

    /// One round of work; `Ok(false)` when there was nothing to do.
    fn round(&mut self) -> Result<bool, StopCause> {
        let mut work = self.ingress()?;
        work += self.egress()?;
        let now = self.host.now();
        self.stats.beat(now);
        work += self.underlay.maintain(now, self.stats);
        if now.saturating_sub(self.last_report) >= REPORT_EVERY {
            self.last_report = now;
            self.underlay.report(self.stats);
        }
        if self.poller.stale(&self.underlay) {
            self.poller = Poller::new(self.tun.fd(), self.wake.as_fd(), &self.underlay)
                .map_err(|e| StopCause::Failed(format!("epoll: {e}")))?;
            // New descriptors may hold data that arrived while they were not watched.
            work += 1;
        }
        Ok(work > 0)
    }

    /// Nothing to do: spin on the backend's rings for a bounded time (adapted to the load), then sleep in epoll.
    fn idle(&mut self) -> Result<(), StopCause> {
        let idle_since = Instant::now();
        let length = self.spin.current();
        if self.underlay.spins() && !length.is_zero() {
            let mut spin = Spin::start(idle_since, length, self.config.spin);
            loop {
                let found = if self.underlay.rx_pending() {
                    true
                } else {
                    match spin.next() {
                        Some(true) => self.look(Duration::ZERO)?.any,
                        Some(false) => false,
                        None => break,
                    }
                };
                if found {
                    self.stats.add(Counter::BusyRounds, spin.rounds);
                    self.spin.after_gap(idle_since.elapsed());
                    return Ok(());
                }
            }
            self.stats.add(Counter::BusyRounds, spin.rounds);
        }
        self.stats.add(Counter::Sleeps, 1);
        self.stats.add(Counter::Polls, 1);
        if self.look(IDLE_SLEEP)?.any {
            self.stats.add(Counter::Wakeups, 1);
        }
        self.spin.after_gap(idle_since.elapsed());
        Ok(())
    }

    /// One epoll wait; notes what became ready.
    fn look(&mut self, timeout: Duration) -> Result<Found, StopCause> {
        let found = self
            .poller
            .wait(&mut self.underlay, timeout)
            .map_err(|e| StopCause::Failed(format!("epoll: {e}")))?;
        if found.tun_gone {
            return Err(StopCause::TunGone("error or hang-up on its queue".into()));
        }
        self.tun_ready |= found.tun;
        if found.wake {
            // Reading resets the counter; the wake itself was the message.
            let _ = self.wake.read();
        }
        Ok(found)
    }
}

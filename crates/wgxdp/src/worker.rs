//! A worker thread: pinned to its CPU, it builds its backend (its kernel data sockets, and on the AF_XDP path its
//! AF_XDP socket beside them) and runs the one pipeline of `wgxdp-datapath` until the daemon stops. Whatever
//! ends a worker ends the daemon, with the reason in the log.

use crate::log_warn;
use crate::shared::Shared;
use crate::xdp_cpus::pin_current_thread;
use std::sync::Arc;
use std::time::Duration;
use wgxdp_datapath::{
    Pipeline, PipelineConfig, SocketBackend, SpinPolicy, StopCause, TunPort, Underlay, XdpBackend,
    XdpLink,
};
use wgxdp_io_socket::TunQueue;
use wgxdp_io_xdp::{NeighbourCache, XskSocket};

/// How old the AF_XDP backend's cached routes and neighbours may get.
const NEIGHBOUR_REFRESH: Duration = Duration::from_secs(1);

/// The backend a worker runs.
pub enum Backend {
    /// The kernel-socket path.
    Socket,
    /// The AF_XDP path: this worker's socket on RX queue `id` of the link.
    Xdp {
        /// The AF_XDP socket, registered in the steering program (boxed: it is large, and moved once).
        xsk: Box<XskSocket>,
        /// The link's interface index.
        link_ifindex: u32,
    },
}

/// What a worker needs; moved into its thread.
pub struct Worker {
    /// Its counter block, wake descriptor, TUN queue and data socket.
    pub id: usize,
    /// Shared daemon state.
    pub shared: Arc<Shared>,
    /// TUN queue `id`.
    pub tun: TunQueue,
    /// The underlay.
    pub backend: Backend,
    /// CPU to pin to.
    pub cpu: Option<usize>,
    /// Spinning before sleeping (the AF_XDP path; the socket path never spins).
    pub spin: Duration,
}

impl Worker {
    /// Runs until the daemon stops or the worker cannot go on; a worker that stops stops the daemon.
    pub fn run(self) {
        let shared = Arc::clone(&self.shared);
        let name = shared.interface.clone();
        if let Some(cpu) = self.cpu {
            if let Err(e) = pin_current_thread(cpu) {
                log_warn!("{name}: worker {}: {e}", self.id);
            }
        }
        let id = self.id;
        crate::fault::inject(std::thread::current().name().unwrap_or("worker"));
        match self.serve() {
            StopCause::Stopping => {}
            // The main thread tells a deleted interface from a moved one (link_watch) and names the stop.
            cause @ StopCause::TunGone(_) => shared.request_stop(&format!("worker {id}: {cause}")),
            cause @ StopCause::Failed(_) => shared.fail(&format!("worker {id} stopped: {cause}")),
        }
    }

    fn serve(self) -> StopCause {
        let Self {
            id,
            shared,
            tun,
            backend,
            spin,
            ..
        } = self;
        let kernel = SocketBackend::new(Arc::clone(&shared.sockets), id);
        let config = PipelineConfig {
            spin: SpinPolicy {
                spin,
                ..SpinPolicy::default()
            },
            ..PipelineConfig::default()
        };
        match backend {
            Backend::Socket => run_pipeline(&shared, id, kernel, tun, config).0,
            Backend::Xdp { xsk, link_ifindex } => {
                let neighbours = match NeighbourCache::new(NEIGHBOUR_REFRESH) {
                    Ok(cache) => Some(cache),
                    Err(e) => {
                        log_warn!(
                            "{}: worker {id}: no netlink ({e}); every packet leaves through the kernel socket",
                            shared.interface
                        );
                        None
                    }
                };
                let queue = xsk.queue();
                let link = XdpLink {
                    ifindex: link_ifindex,
                    neighbours,
                };
                let (cause, backend) = run_pipeline(
                    &shared,
                    id,
                    XdpBackend::new(*xsk, kernel, link),
                    tun,
                    config,
                );
                // The socket closes when the backend drops: the map must not point at it any more by then.
                if let Some(xdp) = shared.xdp.get() {
                    xdp.unregister(queue);
                }
                drop(backend);
                cause
            }
        }
    }
}

/// Runs one pipeline; returns why it ended and the backend (dropped by the caller, when it is safe).
fn run_pipeline<U: Underlay, T: TunPort>(
    shared: &Shared,
    id: usize,
    underlay: U,
    tun: T,
    config: PipelineConfig,
) -> (StopCause, Option<U>) {
    let (Some(stats), Some(wake)) = (shared.workers.get(id), shared.waker(id)) else {
        let why = format!("no counters or wake descriptor for worker {id}");
        return (StopCause::Failed(why), Some(underlay));
    };
    match Pipeline::new(shared, stats, wake, underlay, tun, config) {
        Ok(mut pipeline) => {
            let cause = pipeline.run();
            (cause, Some(pipeline.into_parts().0))
        }
        Err(e) => (
            StopCause::Failed(format!("cannot set up the worker: {e}")),
            None,
        ),
    }
}

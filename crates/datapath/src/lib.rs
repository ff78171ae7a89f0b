//! The data path of wgxdp: one worker pipeline, whatever carries the WireGuard datagrams.
//!
//! A worker owns one TUN queue ([`TunPort`]) and one [`Underlay`] backend and runs [`Pipeline::run`]:
//!
//! ```text
//!            +-------------------------------- Pipeline::run (one loop, one thread, one core) -----------+
//!   TUN  --> | read (TSO/USO split) -> TxBatch: route -> seal into the backend's buffer -> flush (kick) | --> underlay
//!   TUN  <-- | write (GRO coalesced) <- RxBatch: open -> replay -> ACL <- receive batch                 | <-- underlay
//!            |  idle: spin a bounded time on the backend's rings, then sleep in epoll (TUN, backend, wake) |
//!            +-------------------------------------------------------------------------------------------+
//! ```
//!
//! Backends: [`SocketBackend`] (the worker's own SO_REUSEPORT UDP sockets, recvmmsg/sendmmsg with GRO/GSO),
//! [`XdpBackend`] (an AF_XDP socket on one RX queue of the uplink, with the worker's kernel sockets for what the
//! XDP program passes and for destinations without a known next hop) and, with the `test-support` feature,
//! [`mem::MemUnderlay`] and [`mem::MemTun`], which let the whole pipeline run in a test without root, including
//! its error paths. A third backend (io_uring, a second NIC) implements [`Underlay`]; nothing else changes.
//!
//! The protocol work is the device's ([`wgxdp_device`]); this crate only moves buffers, reads the clock through
//! its [`Host`] and waits.

mod clock;
mod egress;
mod frame_headers;
mod host;
mod ingress;
#[cfg(any(test, feature = "test-support"))]
pub mod mem;
mod pipeline;
mod poller;
mod socket_backend;
mod sockets;
mod source_choice;
mod stats;
mod tun_port;
mod underlay;
mod xdp_backend;

pub use clock::Clock;
pub use host::Host;
pub use pipeline::{Pipeline, PipelineConfig, StopCause};
pub use poller::SpinPolicy;
pub use socket_backend::SocketBackend;
pub use sockets::{LiveSockets, PendingBind};
pub use stats::{Counter, WorkerSnapshot, WorkerStats, COUNTERS};
pub use tun_port::TunPort;
pub use underlay::{Underlay, WaitFd};
pub use xdp_backend::{XdpBackend, XdpLink};

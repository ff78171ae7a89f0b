//! What carries the WireGuard datagrams of a worker: the small interface every backend implements.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use wgxdp_device::{Destination, TxRoom};

use crate::stats::WorkerStats;

/// A descriptor a worker waits on when idle, and the token [`Underlay::ready`] gets back when it is readable.
#[derive(Debug)]
pub struct WaitFd<'a> {
    /// The descriptor (level-triggered, readable).
    pub fd: BorrowedFd<'a>,
    /// The backend's own name for it.
    pub token: u32,
}

/// A backend of the pipeline: receives WireGuard datagrams in batches, hands out buffers for sealed messages
/// ([`TxRoom`], the device's one send path seals straight into them) and sends what was committed in one go,
/// says when it has work and what to wait on. Implemented by [`crate::SocketBackend`], [`crate::XdpBackend`] and
/// the in-memory backend of the tests.
pub trait Underlay: TxRoom {
    /// Receives up to one batch without blocking, calling `each(from, message)` for every datagram (the message
    /// may be decrypted in place; `from` is the sender, and the local address it sent to when known). Returns how
    /// many there were; `Err` only for a condition that ends the worker.
    fn receive<F: FnMut(Destination, &mut [u8])>(
        &mut self,
        stats: &WorkerStats,
        each: F,
    ) -> Result<usize, String>;

    /// Sends every message committed since the last flush: one TX ring publish and kick, or one `sendmmsg` per
    /// address family.
    fn flush(&mut self, stats: &WorkerStats);

    /// Whether [`receive`](Self::receive) would probably find something: from a ring itself, or from the
    /// readiness the last wait reported.
    fn rx_pending(&self) -> bool;

    /// Whether [`rx_pending`](Self::rx_pending) reads memory the kernel writes (a ring), so that spinning on it
    /// sees packets arrive without a system call. Backends that need one to learn anything never spin.
    fn spins(&self) -> bool;

    /// The descriptors to wait on when idle.
    fn wait_fds<'a>(&'a self, out: &mut Vec<WaitFd<'a>>);

    /// Changes whenever the set of [`wait_fds`](Self::wait_fds) does (a listen-port change rebinds sockets).
    fn generation(&self) -> u64;

    /// A wait found the descriptor of `token` readable.
    fn ready(&mut self, token: u32);

    /// Once per round: reap completions, refresh caches, follow a rebind. Returns how much work it did.
    fn maintain(&mut self, now: Duration, stats: &WorkerStats) -> usize;

    /// Copies the backend's own statistics (the kernel's, for an AF_XDP socket) into the worker's counters;
    /// called about once a second.
    fn report(&mut self, _stats: &WorkerStats) {}
}

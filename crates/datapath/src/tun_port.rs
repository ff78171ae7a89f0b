//! The TUN side of a worker: one queue of a multi-queue TUN, or an in-memory one in tests.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use wgxdp_io_socket::{TunOffload, TunQueue, TunRecvBatch, TunWriteBatch};

/// One TUN queue as the pipeline uses it.
pub trait TunPort {
    /// Reads one packet or super-packet into `batch` (split into IP packets). Non-blocking: `WouldBlock` when
    /// nothing waits; `InvalidData` for a packet that could not be split (dropped, the queue is fine).
    fn read(&mut self, batch: &mut TunRecvBatch) -> io::Result<usize>;

    /// Writes and empties `batch`; returns the packets handed over.
    fn write(&mut self, batch: &mut TunWriteBatch) -> io::Result<usize>;

    /// What a write batch may coalesce.
    fn offload(&self) -> TunOffload;

    /// The descriptor to wait on (readable when a packet waits; error or hang-up when the interface is gone).
    fn fd(&self) -> BorrowedFd<'_>;
}

impl TunPort for TunQueue {
    fn read(&mut self, batch: &mut TunRecvBatch) -> io::Result<usize> {
        self.recv(batch)
    }

    fn write(&mut self, batch: &mut TunWriteBatch) -> io::Result<usize> {
        self.write_batch(batch)
    }

    fn offload(&self) -> TunOffload {
        TunQueue::offload(self)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

/// Whether a TUN error means the interface no longer exists (`ip link del`), as opposed to a transient failure.
pub(crate) fn tun_is_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADFD | libc::ENODEV | libc::ENXIO | libc::EBADF)
    )
}

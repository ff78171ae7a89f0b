//! A worker thread: owns one TUN queue and shares the UDP sockets; moves packets both ways.
//!
//! TUN -> `Device::send` (sealed in place in a scratch buffer with head- and tailroom) ->
//! per-family UDP send batch (sendmmsg, GSO for runs to one peer).
//! UDP (recvmmsg, GRO super-datagrams split by segment size) -> classify -> transport data:
//! opened in place in one `Device::rx_batch` per recvmmsg -> TUN write batch; handshake messages:
//! copied to the handshake thread's queue (`udp_path.rs`, shared with the AF_XDP worker). Every
//! buffer is allocated once, when the thread starts.
//!
//! Idle, the thread blocks in poll() on its TUN queue, both sockets and its wake eventfd.

use crate::log_debug;
use crate::shared::Shared;
use crate::udp_path::{drain_udp, flush_udp, TunSink, TUN_SEND_BATCH};
use crate::worker_stats::{Counter, WorkerStats};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use wgxdp_device::{Device, Outbound};
use wgxdp_io_socket::{
    DualStackSockets, RecvBatch, SendBatch, TunQueue, TunRecvBatch, TunSendBatch,
};

/// Datagrams per recvmmsg call (each slot holds a 64 KiB GRO super-datagram).
const UDP_RECV_BATCH: usize = 32;
/// Datagrams queued per family before a sendmmsg.
const UDP_SEND_BATCH: usize = 128;
/// Batches taken from one source before looking at the others again (fairness).
const BUDGET: usize = 8;
/// Longest inner packet a TUN write takes (a decrypted packet can exceed our MTU if the peer's
/// is larger; the kernel accepts it).
const MAX_INNER: usize = 65_535 - 32;
/// Longest idle poll; the thread also wakes on its eventfd, so this only bounds how stale
/// a missed wake-up can get.
const IDLE_POLL_MS: u16 = 1000;

/// What a worker needs; moved into its thread.
pub struct Worker {
    id: usize,
    shared: Arc<Shared>,
    tun: TunQueue,
}

/// Buffers of one worker, allocated once.
struct Buffers {
    tun_rx: TunRecvBatch,
    tun_tx: TunSendBatch,
    udp_rx: RecvBatch,
    v4_tx: SendBatch,
    v6_tx: SendBatch,
    scratch: Vec<u8>,
}

impl Worker {
    /// A worker with id `id` (its counter block and wake descriptor) serving `tun`.
    pub fn new(id: usize, shared: Arc<Shared>, tun: TunQueue) -> Self {
        Self { id, shared, tun }
    }

    /// Runs until the daemon stops or the TUN goes away.
    pub fn run(self) {
        let mtu = usize::from(self.tun_mtu());
        let sealed_max = Device::HEADROOM + mtu + Device::TAILROOM;
        let mut bufs = Buffers {
            tun_rx: TunRecvBatch::new(self.tun_mtu()),
            tun_tx: TunSendBatch::new(TUN_SEND_BATCH, MAX_INNER, 65_535),
            udp_rx: RecvBatch::new(UDP_RECV_BATCH),
            v4_tx: SendBatch::new(UDP_SEND_BATCH, sealed_max),
            v6_tx: SendBatch::new(UDP_SEND_BATCH, sealed_max),
            // A TUN read without offloads can return one packet up to 64 KiB.
            scratch: vec![0; Device::HEADROOM + MAX_INNER + Device::TAILROOM],
        };
        let Some(stats) = self.shared.workers.get(self.id) else {
            return;
        };
        while !self.shared.stopping() {
            let sockets = self.shared.sockets.load();
            match self.poll_once(&sockets, stats, &mut bufs) {
                Ok(()) => {}
                Err(reason) => {
                    // The main thread logs the stop reason once; this says which worker saw it.
                    log_debug!("{}: worker {}: {reason}", self.shared.interface, self.id);
                    self.shared.request_stop(&reason);
                }
            }
        }
    }

    fn tun_mtu(&self) -> u16 {
        self.shared.mtu
    }

    /// One poll and the work it found. `Err` only for a condition that ends the daemon.
    fn poll_once(
        &self,
        sockets: &DualStackSockets,
        stats: &WorkerStats,
        bufs: &mut Buffers,
    ) -> Result<(), String> {
        let Some(waker) = self.shared.waker(self.id) else {
            return Err("no wake descriptor".into());
        };
        let mut fds = [
            PollFd::new(self.tun.as_fd(), PollFlags::POLLIN),
            PollFd::new(sockets.v4.as_fd(), PollFlags::POLLIN),
            PollFd::new(sockets.v6.as_fd(), PollFlags::POLLIN),
            PollFd::new(waker.as_fd(), PollFlags::POLLIN),
        ];
        stats.add(Counter::Polls, 1);
        match poll(&mut fds, PollTimeout::from(IDLE_POLL_MS)) {
            Ok(0) => return Ok(()),
            Ok(_) => stats.add(Counter::Wakeups, 1),
            Err(Errno::EINTR) => return Ok(()),
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .unwrap_or(PollFlags::empty())
        };
        let (tun, v4, v6, wake) = (ready(0), ready(1), ready(2), ready(3));
        if tun.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
            return Err("the TUN device went away".into());
        }
        if wake.contains(PollFlags::POLLIN) {
            // Reading resets the counter; the wake itself was the message.
            let _ = waker.read();
        }
        if tun.contains(PollFlags::POLLIN) {
            self.drain_tun(sockets, stats, bufs)?;
        }
        let mut sink = TunSink {
            tun: &self.tun,
            batch: &mut bufs.tun_tx,
        };
        for (socket, ready) in [(&sockets.v4, v4), (&sockets.v6, v6)] {
            if ready.contains(PollFlags::POLLIN) {
                drain_udp(
                    &self.shared,
                    socket,
                    stats,
                    &mut bufs.udp_rx,
                    &mut sink,
                    BUDGET,
                );
            }
        }
        Ok(())
    }

    /// TUN -> seal -> UDP.
    fn drain_tun(
        &self,
        sockets: &DualStackSockets,
        stats: &WorkerStats,
        bufs: &mut Buffers,
    ) -> Result<(), String> {
        let device = &self.shared.device;
        let mut staged = false;
        for _ in 0..BUDGET {
            match self.tun.recv(&mut bufs.tun_rx) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // A super-packet that could not be split: dropped, the queue is fine.
                    log_debug!("{}: TUN packet dropped: {e}", self.shared.interface);
                    stats.add(Counter::IoErrors, 1);
                    continue;
                }
                Err(e) if tun_is_gone(&e) => return Err(format!("TUN read failed: {e}")),
                Err(e) => {
                    log_debug!("{}: TUN read: {e}", self.shared.interface);
                    stats.add(Counter::IoErrors, 1);
                    break;
                }
            }
            stats.add(Counter::TunBatches, 1);
            let now = self.shared.clock.now();
            for i in 0..bufs.tun_rx.len() {
                let Some(packet) = bufs.tun_rx.get(i) else {
                    continue;
                };
                let len = packet.len();
                stats.add(Counter::TunRxPackets, 1);
                stats.add(Counter::TunRxBytes, len as u64);
                let Some(room) = bufs
                    .scratch
                    .get_mut(Device::HEADROOM..Device::HEADROOM + len)
                else {
                    stats.add(Counter::IoErrors, 1);
                    continue;
                };
                room.copy_from_slice(packet);
                match device.send(&mut bufs.scratch, len, now) {
                    Outbound::Send { endpoint, len } => {
                        let batch = if endpoint.is_ipv4() {
                            &mut bufs.v4_tx
                        } else {
                            &mut bufs.v6_tx
                        };
                        if batch.len() == batch.capacity() {
                            flush_udp(sockets.for_destination(&endpoint), batch, stats);
                        }
                        let sealed = bufs.scratch.get(..len).unwrap_or_default();
                        if batch.push(sealed, endpoint).is_err() {
                            stats.add(Counter::IoErrors, 1);
                        }
                    }
                    Outbound::Staged => staged = true,
                    Outbound::Dropped(_) => {}
                }
            }
        }
        flush_udp(&sockets.v4, &mut bufs.v4_tx, stats);
        flush_udp(&sockets.v6, &mut bufs.v6_tx, stats);
        if staged {
            // The device wants a handshake: the handshake thread sends it.
            self.shared.handshakes.wake();
        }
        Ok(())
    }
}

/// Whether a TUN read error means the interface no longer exists (`ip link del`), as
/// opposed to a transient failure.
fn tun_is_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADFD | libc::ENODEV | libc::ENXIO | libc::EBADF)
    )
}

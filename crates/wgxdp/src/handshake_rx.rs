//! The handshake receiver: the one thread that reads the listen port's handshake sockets (index 0 of the reuseport
//! groups, where the steering program sends every datagram that is not transport data), so that a flood of
//! handshake messages never reaches a data worker. What it reads goes to the handshake thread's bounded queue.

use crate::handshake_queue::QueueError;
use crate::log_debug;
use crate::shared::Shared;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wgxdp_io_socket::{BatchUdpSocket, RecvBatch};

/// Datagrams per recvmmsg (handshake messages are small, but GRO may coalesce a burst from one source).
const RECV_SLOTS: usize = 32;
/// Longest wait; the wake descriptor ends it sooner on a stop or a rebind.
const IDLE_POLL_MS: u16 = 1000;

/// What the receiver did, for `stats`.
#[derive(Debug, Default)]
pub struct HandshakeRxStats {
    /// Datagrams read from the handshake sockets.
    pub received: AtomicU64,
    /// Handshake messages queued for the handshake thread.
    pub queued: AtomicU64,
    /// Dropped because the queue was full.
    pub queue_full: AtomicU64,
}

/// Runs until the daemon stops.
pub fn run(shared: Arc<Shared>) {
    let stats = &shared.handshake_rx;
    let mut rx = RecvBatch::new(RECV_SLOTS);
    let Some(waker) = shared.handshake_waker() else {
        return;
    };
    while !shared.stopping() {
        let group = shared.sockets.load();
        let sockets = [&group.handshake.v4, &group.handshake.v6];
        let mut fds = [
            PollFd::new(sockets[0].as_fd(), PollFlags::POLLIN),
            PollFd::new(sockets[1].as_fd(), PollFlags::POLLIN),
            PollFd::new(waker.as_fd(), PollFlags::POLLIN),
        ];
        if poll(&mut fds, PollTimeout::from(IDLE_POLL_MS)).is_err() {
            continue;
        }
        let readable: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
            .collect();
        if readable.get(2).copied().unwrap_or(false) {
            let _ = waker.read();
        }
        for (socket, ready) in sockets.iter().zip(readable) {
            if ready {
                drain(&shared, socket, &mut rx, stats);
            }
        }
    }
}

/// Reads what waits on `socket` (a bounded number of batches) into the handshake queue.
fn drain(shared: &Shared, socket: &BatchUdpSocket, rx: &mut RecvBatch, stats: &HandshakeRxStats) {
    for _ in 0..8 {
        match socket.recv_batch(rx) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                log_debug!("{}: handshake socket: {e}", shared.interface);
                return;
            }
        }
        if rx.is_empty() {
            return;
        }
        for i in 0..rx.len() {
            let Some(d) = rx.get(i) else {
                continue;
            };
            for datagram in d.segments() {
                stats.received.fetch_add(1, Ordering::Relaxed);
                match shared.handshakes.push(d.source, datagram) {
                    Ok(()) => stats.queued.fetch_add(1, Ordering::Relaxed),
                    Err(QueueError::Full | QueueError::Closed) => {
                        stats.queue_full.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }
    }
}

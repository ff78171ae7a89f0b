//! The handshake receiver: the one thread that reads the listen port's handshake sockets (index 0 of the
//! reuseport groups, where the steering program sends every datagram that is not transport data), so a flood of
//! handshake messages never reaches a data worker. It does the cheap checks right here, before anything is
//! queued ([`wgxdp_device::Device::screen_handshake`]: mac1; under load mac2 or a cookie reply, and the
//! per-source ratelimit), sends cookie replies at once, and queues only what earned Diffie-Hellman work.
//! Nothing is logged per message: what it did is counted (`stats`).

use crate::handshake_queue::Job;
use crate::handshake_send::HandshakeSender;
use crate::log_debug;
use crate::shared::Shared;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wgxdp_device::{CounterInfo, Destination, LocalAddr, Outbox, Screened};
use wgxdp_io_socket::{BatchUdpSocket, RecvBatch};

/// Datagrams per recvmmsg; handshake messages are at most 148 bytes, but GRO may coalesce a burst of one source.
const RECV_SLOTS: usize = 64;
/// recvmmsg calls per socket per wake-up before the other socket gets a turn.
const BATCHES_PER_TURN: usize = 8;
/// Longest wait; the wake descriptor ends it sooner on a stop or a rebind.
const IDLE_POLL_MS: u16 = 1000;

/// What the receiver did, for `stats`.
#[derive(Debug, Default)]
pub struct HandshakeRxStats {
    /// Datagrams read from the handshake sockets.
    pub received: AtomicU64,
    /// Admitted and queued for the handshake workers.
    pub queued: AtomicU64,
    /// Admitted but dropped because the queue was full.
    pub queue_full: AtomicU64,
    /// Answered with a cookie reply (or a cookie reply consumed) without any queue.
    pub answered: AtomicU64,
    /// Dropped by the checks (bad mac1, ratelimited, unknown index, malformed...).
    pub dropped: AtomicU64,
}

/// The receiver's counters, in report order: the one list `stats` and `/metrics` show.
pub const HANDSHAKE_COUNTERS: [CounterInfo; 5] = [
    CounterInfo::counter("received", "Datagrams read from the handshake sockets."),
    CounterInfo::counter(
        "queued",
        "Handshake messages admitted and queued for the handshake workers.",
    ),
    CounterInfo::counter(
        "queue_full",
        "Handshake messages admitted but dropped because the queue was full.",
    ),
    CounterInfo::counter(
        "answered",
        "Handshake messages answered with a cookie reply (or cookie replies consumed) without queueing.",
    ),
    CounterInfo::counter(
        "dropped",
        "Handshake messages dropped by the cheap checks (bad mac1, ratelimited, unknown index, malformed).",
    ),
];

impl HandshakeRxStats {
    /// The values of [`HANDSHAKE_COUNTERS`], in that order.
    pub fn snapshot(&self) -> [u64; 5] {
        [
            &self.received,
            &self.queued,
            &self.queue_full,
            &self.answered,
            &self.dropped,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// Screens one handshake message and queues it if it earned Diffie-Hellman work; a cookie reply to send goes into
/// `out`. Used by the receiver and by a data path that gets a handshake message.
pub fn admit(shared: &Shared, from: Destination, message: &[u8], out: &mut Outbox) -> bool {
    let stats = &shared.handshake_rx;
    stats.received.fetch_add(1, Ordering::Relaxed);
    let now = shared.clock.now();
    let under_load = shared.handshakes.under_load(now);
    match shared
        .device
        // The thread's reseeding CSPRNG, not a getrandom call per message: a flood needs a nonce per cookie reply.
        .screen_handshake(from, message, now, under_load, &mut rand::thread_rng(), out)
    {
        Screened::Admit => {
            let queued =
                Job::new(from, message).is_some_and(|job| shared.handshakes.push(job).is_ok());
            let counter = if queued {
                &stats.queued
            } else {
                &stats.queue_full
            };
            counter.fetch_add(1, Ordering::Relaxed);
            queued
        }
        Screened::Answered => {
            stats.answered.fetch_add(1, Ordering::Relaxed);
            true
        }
        Screened::Dropped(_) => {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// Runs until the daemon stops.
pub fn run(shared: Arc<Shared>) {
    let mut rx = RecvBatch::with_slot_len(RECV_SLOTS, 4096);
    let mut sender = HandshakeSender::new(shared.mtu);
    let mut outbox = Outbox::new();
    let Some(waker) = shared.handshake_waker() else {
        return;
    };
    let beat = shared.watchdog.register("wgxdp-hs-rx", shared.clock.now());
    crate::fault::inject("wgxdp-hs-rx");
    while !shared.stopping() {
        beat.beat(shared.clock.now());
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
        let readable = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .is_some_and(|r| r.contains(PollFlags::POLLIN))
        };
        let ready = [readable(0), readable(1)];
        if readable(2) {
            let _ = waker.read();
        }
        for (socket, ready) in sockets.iter().zip(ready) {
            if ready {
                drain(&shared, socket, &mut rx, &mut outbox, &mut sender);
            }
        }
    }
}

/// Reads what waits on `socket` (a bounded number of batches), screening each message; cookie replies go out
/// after every batch.
fn drain(
    shared: &Shared,
    socket: &BatchUdpSocket,
    rx: &mut RecvBatch,
    outbox: &mut Outbox,
    sender: &mut HandshakeSender,
) {
    for _ in 0..BATCHES_PER_TURN {
        match socket.recv_batch(rx) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                log_debug!("{}: handshake socket: {e}", shared.interface);
                return;
            }
        }
        // Datagrams the receive had to discard (longer than a slot: never a handshake message) are drops too.
        let discarded = rx.dropped() as u64;
        if discarded > 0 {
            shared
                .handshake_rx
                .received
                .fetch_add(discarded, Ordering::Relaxed);
            shared
                .handshake_rx
                .dropped
                .fetch_add(discarded, Ordering::Relaxed);
        } else if rx.is_empty() {
            return;
        }
        for i in 0..rx.len() {
            let Some(d) = rx.get(i) else {
                continue;
            };
            let from = Destination {
                addr: d.source,
                local: d.local.map(|l| LocalAddr {
                    ip: l.local,
                    ifindex: l.ifindex,
                }),
            };
            for datagram in d.segments() {
                admit(shared, from, datagram, outbox);
            }
        }
        sender.send(shared, outbox);
    }
}

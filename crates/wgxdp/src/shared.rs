//! State every daemon thread shares: the device, the sockets, the handshake queue, the
//! per-worker counters, and how to stop and wake the threads.

use crate::clock::Clock;
use crate::handshake_queue::HandshakeQueue;
use crate::udp_sockets::UdpSockets;
use crate::worker_stats::WorkerStats;
use crate::xdp_control::XdpControl;
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use wgxdp_device::Device;

/// Everything the threads share, behind one `Arc`.
pub struct Shared {
    /// Interface name, for logs and stats.
    pub interface: String,
    /// Tunnel MTU.
    pub mtu: u16,
    /// The WireGuard device.
    pub device: Device,
    /// The monotonic clock the device's `now` comes from.
    pub clock: Clock,
    /// The listening sockets.
    pub sockets: UdpSockets,
    /// Workers to the handshake thread.
    pub handshakes: HandshakeQueue,
    /// One counter block per worker, indexed by worker id.
    pub workers: Box<[WorkerStats]>,
    /// The XDP steering program and its sockets, set once when the AF_XDP path is in use.
    pub xdp: OnceLock<XdpControl>,
    /// One eventfd per worker: written to make it re-read the sockets or notice a stop.
    wakers: Box<[EventFd]>,
    stop: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    /// Serializes configuration changes (a `set` and its rebind are one step).
    control: Mutex<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("interface", &self.interface)
            .field("workers", &self.workers.len())
            .field("stopping", &self.stopping())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Builds the shared state for `workers` workers.
    pub fn new(
        interface: String,
        mtu: u16,
        device: Device,
        clock: Clock,
        sockets: UdpSockets,
        handshakes: HandshakeQueue,
        workers: usize,
    ) -> io::Result<Self> {
        let wakers = (0..workers)
            .map(|_| EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            interface,
            mtu,
            device,
            clock,
            sockets,
            handshakes,
            workers: (0..workers).map(|_| WorkerStats::default()).collect(),
            xdp: OnceLock::new(),
            wakers: wakers.into_boxed_slice(),
            stop: AtomicBool::new(false),
            stop_reason: Mutex::new(None),
            control: Mutex::new(()),
        })
    }

    /// Asks every thread to stop; the first reason given is kept for the log.
    pub fn request_stop(&self, reason: &str) {
        if let Ok(mut slot) = self.stop_reason.lock() {
            slot.get_or_insert_with(|| reason.to_owned());
        }
        self.stop.store(true, Ordering::SeqCst);
        self.wake_workers();
        self.handshakes.wake();
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Why the daemon is stopping, if it is.
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_reason.lock().ok().and_then(|r| r.clone())
    }

    /// Makes every worker leave its poll (after a rebind or a stop).
    pub fn wake_workers(&self) {
        for waker in self.wakers.iter() {
            // EAGAIN means the counter is already non-zero: the worker will wake anyway.
            let _ = waker.write(1);
        }
    }

    /// Worker `id`'s wake descriptor.
    pub fn waker(&self, id: usize) -> Option<&EventFd> {
        self.wakers.get(id)
    }

    /// Held while a configuration change is applied.
    pub fn control_lock(&self) -> MutexGuard<'_, ()> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

//! State every daemon thread shares: the device, the sockets, the handshake queue, the per-worker counters, and
//! how to stop and wake the threads. The workers see it as their [`Host`].

use crate::handshake_queue::HandshakeQueue;
use crate::handshake_rx::HandshakeRxStats;
use crate::watchdog::Watchdog;
use crate::xdp_control::XdpControl;
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use wgxdp_datapath::{Clock, Host, LiveSockets, WorkerStats};
use wgxdp_device::{Destination, Device, Outbox};

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
    /// The listening sockets: the handshake socket and one data socket per worker.
    pub sockets: Arc<LiveSockets>,
    /// Admitted handshake messages, the load they show, and the timer thread's wake-up.
    pub handshakes: HandshakeQueue,
    /// What the handshake receiver read from the handshake sockets.
    pub handshake_rx: HandshakeRxStats,
    /// One counter block per worker, indexed by worker id.
    pub workers: Box<[WorkerStats]>,
    /// The XDP steering program and its sockets, set once when the AF_XDP path is in use.
    pub xdp: OnceLock<XdpControl>,
    /// One eventfd per worker, then one for the handshake receiver: written to make a thread leave its wait.
    wakers: Box<[EventFd]>,
    stop: AtomicBool,
    /// The stop is a failure (a thread died or wedged), not an orderly end: the exit status says so.
    failed: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    /// Heartbeats of the threads that are not workers (workers beat through their counter blocks).
    pub watchdog: Watchdog,
    /// The thread the watchdog found wedged, if any (the stop does not wait for it).
    wedged: Mutex<Option<String>>,
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
    /// Builds the shared state for `workers` workers; the daemon clock starts now.
    pub fn new(
        interface: String,
        mtu: u16,
        device: Device,
        sockets: Arc<LiveSockets>,
        handshakes: HandshakeQueue,
        workers: usize,
        watchdog: Watchdog,
    ) -> io::Result<Self> {
        let wakers = (0..=workers)
            .map(|_| EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            interface,
            mtu,
            device,
            clock: Clock::start(),
            sockets,
            handshakes,
            handshake_rx: HandshakeRxStats::default(),
            workers: (0..workers).map(|_| WorkerStats::default()).collect(),
            xdp: OnceLock::new(),
            wakers: wakers.into_boxed_slice(),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            stop_reason: Mutex::new(None),
            watchdog,
            wedged: Mutex::new(None),
            control: Mutex::new(()),
        })
    }

    /// Asks every thread to stop; the first reason given is kept for the log.
    pub fn request_stop(&self, reason: &str) {
        if let Ok(mut slot) = self.stop_reason.lock() {
            slot.get_or_insert_with(|| reason.to_owned());
        }
        self.stop.store(true, Ordering::SeqCst);
        self.wake_all();
        self.handshakes.wake_timers();
    }

    /// Stops the daemon because something it cannot run without failed: the exit status is a failure.
    pub fn fail(&self, reason: &str) {
        self.failed.store(true, Ordering::SeqCst);
        self.request_stop(reason);
    }

    /// Records the thread found wedged.
    pub fn note_wedged(&self, thread: String) {
        *self.wedged.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
    }

    /// The thread found wedged, if any.
    pub fn wedged(&self) -> Option<String> {
        self.wedged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the stop is a failure.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Why the daemon is stopping, if it is.
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_reason.lock().ok().and_then(|r| r.clone())
    }

    /// Makes every worker and the handshake receiver leave their wait (after a rebind or a stop).
    pub fn wake_all(&self) {
        for waker in self.wakers.iter() {
            // EAGAIN means the counter is already non-zero: the thread will wake anyway.
            let _ = waker.write(1);
        }
    }

    /// Worker `id`'s wake descriptor.
    pub fn waker(&self, id: usize) -> Option<&EventFd> {
        self.wakers.get(id)
    }

    /// The handshake receiver's wake descriptor (after the workers').
    pub fn handshake_waker(&self) -> Option<&EventFd> {
        self.wakers.last()
    }

    /// Held while a configuration change is applied.
    pub fn control_lock(&self) -> MutexGuard<'_, ()> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Host for Shared {
    fn device(&self) -> &Device {
        &self.device
    }

    fn now(&self) -> Duration {
        self.clock.now()
    }

    fn stopping(&self) -> bool {
        Shared::stopping(self)
    }

    fn wake_timers(&self) {
        self.handshakes.wake_timers();
    }

    fn handshake(&self, from: Destination, message: &[u8]) -> bool {
        // Only without handshake steering (never with the reuseport program): screen here, answer at once.
        let mut out = Outbox::new();
        let kept = crate::handshake_rx::admit(self, from, message, &mut out);
        crate::handshake_send::HandshakeSender::new(self.mtu).send(self, &mut out);
        kept
    }
}

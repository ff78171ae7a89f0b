//! What a worker needs from the daemon around it.

use std::time::Duration;

use wgxdp_device::{Destination, Device};

/// The daemon as a worker sees it: the device, the clock, whether to stop, and the slow path's inbox.
pub trait Host: Send + Sync {
    /// The WireGuard device.
    fn device(&self) -> &Device;

    /// Monotonic time, as the device's timers expect it.
    fn now(&self) -> Duration;

    /// Whether the daemon is stopping: the worker returns at its next round.
    fn stopping(&self) -> bool;

    /// The device wants its timer thread now (a packet was staged for a handshake, a rekey is due).
    fn wake_timers(&self);

    /// A handshake message reached a data path (a backend without handshake steering): hand it to the
    /// handshake thread. Returns false when it was dropped (its queue was full).
    fn handshake(&self, from: Destination, message: &[u8]) -> bool;
}

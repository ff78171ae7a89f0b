//! The timer thread: runs the device's timers (initiations and their retries, keepalives, flushing staged
//! packets, giving up, zeroing keys) at the next deadline or when woken (a packet was staged, a rekey is due, the
//! configuration changed), and sends what they produce.

use crate::handshake_send::HandshakeSender;
use crate::shared::Shared;
use rand::rngs::OsRng;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wgxdp_device::Outbox;

/// Longest sleep without a deadline: bounds how late a stop or a timer change is noticed.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until the daemon stops.
pub fn run(shared: Arc<Shared>) {
    let mut sender = HandshakeSender::new(shared.mtu);
    let mut outbox = Outbox::new();
    let mut rng = OsRng;
    let beat = shared.watchdog.register("wgxdp-timers", shared.clock.now());
    crate::fault::inject("wgxdp-timers");
    while !shared.stopping() {
        let now = shared.clock.now();
        beat.beat(now);
        let sleep = shared
            .device
            .next_deadline()
            .map_or(MAX_SLEEP, |at| at.saturating_sub(now).min(MAX_SLEEP));
        if !sleep.is_zero() {
            shared.handshakes.wait_timers(sleep);
        }
        let now = shared.clock.now();
        let due = shared.device.next_deadline().is_some_and(|at| at <= now);
        if shared.device.take_handshake_wanted() || due {
            shared
                .device
                .tick(now, SystemTime::now(), &mut rng, &mut outbox);
        }
        sender.send(&shared, &mut outbox);
    }
}

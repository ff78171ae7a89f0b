//! The handshake workers: a small pool (sized to the machine, `--handshake-workers`) doing the Diffie-Hellman
//! work of the messages the receiver admitted, so a burst of legitimate handshakes (a gateway restart: every
//! peer at once) uses more than one core, while the queue's bound and the screening keep a flood from doing so.

use crate::handshake_send::HandshakeSender;
use crate::shared::Shared;
use rand::rngs::OsRng;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wgxdp_device::Outbox;

/// Longest wait for a message: bounds how late a stop is noticed.
const IDLE_WAIT: Duration = Duration::from_millis(500);

/// Handshake workers by default: one per CPU, at most four (beyond that a flood of admitted messages is bounded
/// by the ratelimit, not by cores).
pub fn default_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// Runs until the daemon stops; `name` is the thread's.
pub fn run(shared: Arc<Shared>, name: &str) {
    let mut sender = HandshakeSender::new(shared.mtu);
    let mut outbox = Outbox::new();
    let mut rng = OsRng;
    let beat = shared.watchdog.register(name, shared.clock.now());
    crate::fault::inject(name);
    while !shared.stopping() {
        beat.beat(shared.clock.now());
        let Some(job) = shared.handshakes.next(IDLE_WAIT) else {
            continue;
        };
        shared.device.process_handshake(
            job.from,
            job.message(),
            shared.clock.now(),
            SystemTime::now(),
            &mut rng,
            &mut outbox,
        );
        sender.send(&shared, &mut outbox);
        // A handshake changes timers (and may leave staged packets to flush): let the timer thread look.
        shared.handshakes.wake_timers();
    }
}

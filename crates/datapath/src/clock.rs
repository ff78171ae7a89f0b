//! The daemon's monotonic clock: one `Instant` taken at start, `now` = time since then, the
//! form the device's timers expect.

use std::time::{Duration, Instant};

/// Monotonic time origin shared by every thread.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// Starts the clock.
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// Time since the clock started.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

//! Supervision: no half-alive daemon. Every long-running thread beats (once per loop round; their waits are
//! bounded to a second or less), and the main thread checks once a second: a thread that has not beaten for the
//! limit (`--watchdog-secs`) is wedged, and the daemon stops with that reason and a failure status. A panic in
//! any thread ends the process (see `logger::log_panics`); a worker that stops stops the daemon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wgxdp_datapath::WorkerStats;

/// The default limit in seconds: far above any wait of a healthy thread (a second) and any long `wg setconf`
/// apply.
pub const DEFAULT_LIMIT_SECS: u32 = 30;

/// One thread's heartbeat.
#[derive(Clone, Debug)]
pub struct Beat(Arc<AtomicU64>);

impl Beat {
    /// The thread is alive at `now` (daemon clock).
    pub fn beat(&self, now: Duration) {
        self.0.store(millis(now), Ordering::Relaxed);
    }
}

fn millis(t: Duration) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

/// The registered threads and the limit.
#[derive(Debug)]
pub struct Watchdog {
    limit: Duration,
    beats: Mutex<Vec<(String, Arc<AtomicU64>)>>,
}

impl Watchdog {
    /// Supervision with `limit`.
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            beats: Mutex::new(Vec::new()),
        }
    }

    /// A heartbeat for the thread `name`, alive at `now`.
    pub fn register(&self, name: &str, now: Duration) -> Beat {
        let beat = Arc::new(AtomicU64::new(millis(now)));
        self.beats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_owned(), Arc::clone(&beat)));
        Beat(beat)
    }

    /// The first thread that has not beaten for the limit at `now`: its name and the reason in words; workers
    /// beat through their counter blocks (`names[i]` is worker i's thread).
    pub fn check(
        &self,
        now: Duration,
        workers: &[WorkerStats],
        names: &[String],
    ) -> Option<(String, String)> {
        let now_ms = millis(now);
        let limit_ms = millis(self.limit);
        let stale = |last: u64| now_ms.saturating_sub(last) > limit_ms;
        let silent = |name: &str, last: u64| {
            let why = format!(
                "thread {name} made no progress for {:.1} s (limit {} s): it is wedged",
                now_ms.saturating_sub(last) as f64 / 1000.0,
                self.limit.as_secs()
            );
            (name.to_owned(), why)
        };
        for (stats, name) in workers.iter().zip(names) {
            let last = stats.last_beat_ms();
            if stale(last) {
                return Some(silent(name, last));
            }
        }
        let beats = self.beats.lock().unwrap_or_else(|e| e.into_inner());
        beats.iter().find_map(|(name, beat)| {
            let last = beat.load(Ordering::Relaxed);
            stale(last).then(|| silent(name, last))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_stops_beating_is_named() {
        let dog = Watchdog::new(Duration::from_secs(2));
        let t0 = Duration::from_secs(100);
        let a = dog.register("wgxdp-timers", t0);
        let workers = [WorkerStats::default()];
        workers[0].beat(t0);
        let names = ["wgxdp-worker-0".to_owned()];
        assert_eq!(
            dog.check(t0 + Duration::from_secs(2), &workers, &names),
            None
        );
        workers[0].beat(t0 + Duration::from_secs(3));
        let (name, reason) = dog
            .check(t0 + Duration::from_secs(3), &workers, &names)
            .expect("the timer thread is silent");
        assert_eq!(name, "wgxdp-timers");
        assert!(
            reason.contains("wgxdp-timers") && reason.contains("wedged"),
            "{reason}"
        );
        a.beat(t0 + Duration::from_secs(3));
        let (name, _) = dog
            .check(t0 + Duration::from_secs(6), &workers, &names)
            .expect("now the worker too");
        assert_eq!(name, "wgxdp-worker-0");
    }
}

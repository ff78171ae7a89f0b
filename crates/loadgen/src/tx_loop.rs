//! The timed send loop: paces frames from a source onto a backend until the time is up or the source is empty,
//! and records how the sending went (a timeline every 100 ms, write-offs when it fell behind).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::pacer::Pacer;
use crate::tx_backend::TxBackend;
use crate::tx_source::FrameSource;

/// Frames per backend call.
const BURST: u64 = 64;
/// Timeline resolution.
pub const TIMELINE_STEP_NS: u64 = 100_000_000;

/// How to send.
#[derive(Clone, Copy, Debug)]
pub struct TxPlan {
    /// Packets per second; 0 is flat out.
    pub rate: u64,
    /// How long to send.
    pub duration: Duration,
}

/// How the sending went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TxOutcome {
    /// Frames handed to the backend.
    pub sent: u64,
    /// When sending started and ended (load generator clock, ns).
    pub start_ns: u64,
    /// End of the last send call.
    pub end_ns: u64,
    /// Frames the pacer wrote off because the sender fell behind the target rate.
    pub written_off: u64,
    /// Calls that could send nothing (ring or socket full).
    pub stalls: u64,
    /// Frames the backend dropped.
    pub dropped: u64,
    /// Whether the source ran out before the time was up.
    pub source_exhausted: bool,
    /// Frames sent by the end of each 100 ms step.
    pub timeline: Vec<u64>,
}

impl TxOutcome {
    /// Sending time in seconds.
    pub fn seconds(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }
}

/// Sends until `plan.duration` has passed, `source` is empty, or `stop` is set.
pub fn run(
    backend: &mut dyn TxBackend,
    source: &mut dyn FrameSource,
    plan: TxPlan,
    stop: &AtomicBool,
) -> TxOutcome {
    let start = clock::now_ns();
    let end = start + plan.duration.as_nanos() as u64;
    // Up to 2 ms of backlog may be caught up after a hiccup; more is written off.
    let backlog = (plan.rate / 500).max(4 * BURST);
    let mut pacer = Pacer::new(plan.rate, BURST, backlog, start);
    let mut outcome = TxOutcome {
        start_ns: start,
        ..TxOutcome::default()
    };
    let mut next_step = start + TIMELINE_STEP_NS;
    loop {
        let now = clock::now_ns();
        while now >= next_step {
            outcome.timeline.push(outcome.sent);
            next_step += TIMELINE_STEP_NS;
        }
        if now >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        let due = pacer.due(now);
        if due == 0 {
            let wake = pacer.next_due_ns().unwrap_or(now);
            if wake > now + 200_000 {
                std::thread::sleep(Duration::from_nanos(wake - now - 100_000));
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        let queued = backend.send(due as u32, source);
        pacer.sent(u64::from(queued));
        outcome.sent += u64::from(queued);
        if queued == 0 {
            if source.is_exhausted() {
                outcome.source_exhausted = true;
                break;
            }
            outcome.stalls += 1;
            backend.reclaim();
        }
    }
    outcome.end_ns = clock::now_ns();
    backend.flush(Duration::from_millis(200));
    outcome.written_off = pacer.written_off();
    outcome.dropped = backend.dropped();
    outcome
}

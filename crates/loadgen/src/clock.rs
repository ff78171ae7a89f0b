//! The load generator's one clock: nanoseconds on the monotonic clock since the process started, shared by every
//! thread (and every namespace: network namespaces share the clock), so a send time stamped by one thread and a
//! receive time taken by another subtract into a latency.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wgxdp_noise::Tai64N;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Time since the process's origin.
pub fn now() -> Duration {
    origin().elapsed()
}

/// [`now`] in whole nanoseconds (wraps after 584 years).
pub fn now_ns() -> u64 {
    now().as_nanos() as u64
}

/// The wall clock as a TAI64N label, for handshake initiations (which must carry increasing timestamps).
pub fn tai64n() -> Tai64N {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Tai64N::from_unix(since_epoch.as_secs(), since_epoch.subsec_nanos())
}

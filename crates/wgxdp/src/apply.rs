//! Applying a `set` (from UAPI or `--config`) to the running daemon: the device change,
//! the socket rebind it may need, the fwmark, and the shadowing warnings, as one step.

use crate::shared::Shared;
use crate::{log_info, log_warn};
use rand::rngs::OsRng;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use wgxdp_device::{Parallel, Task};
use wgxdp_uapi::SetRequest;

/// EADDRINUSE, answered when the new listen port is taken (as wireguard-go does).
const EADDRINUSE: u32 = 98;
/// EIO for other bind failures.
const EIO: u32 = 5;

/// Why a `set` was refused; nothing of it was applied.
#[derive(Debug)]
pub struct SetFailure {
    /// Positive errno; the UAPI answer negates it (`wgxdp_uapi::write_set_errno`).
    pub errno: u32,
    /// For the log and for `--config` errors.
    pub message: String,
}

impl fmt::Display for SetFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.message, self.errno)
    }
}

impl std::error::Error for SetFailure {}

/// Applies `request`: binds a new listen port first (so a taken port refuses the whole
/// request), then the device change, then puts the new sockets in place and sets the fwmark.
/// Returns the number of shadowing warnings logged.
pub fn apply_set(shared: &Shared, request: &SetRequest) -> Result<usize, SetFailure> {
    let _guard = shared.control_lock();
    let pending = match request.listen_port {
        Some(port) => shared.sockets.prepare_port(port).map_err(|e| SetFailure {
            errno: match e.raw_os_error() {
                Some(libc::EADDRINUSE) => EADDRINUSE,
                Some(code) => u32::try_from(code).unwrap_or(EIO),
                None => EIO,
            },
            message: format!("cannot bind listen port {port}: {e}"),
        })?,
        None => None,
    };
    let now = shared.clock.now();
    let outcome = shared
        .device
        .apply_set_parallel(request, now, &mut OsRng, &Cores)
        .map_err(|e| SetFailure {
            errno: e.errno(),
            message: e.to_string(),
        })?;
    // From here on the request is applied; what follows cannot refuse it any more.
    if let Some(pending) = pending {
        let bound = shared.sockets.commit(pending);
        shared.device.set_bound_port(bound);
        shared.wake_all();
        log_info!("{}: listening on UDP port {bound}", shared.interface);
    }
    if let Some(mark) = outcome.fwmark {
        if let Err(e) = shared.sockets.set_fwmark(mark) {
            log_warn!("{}: cannot set fwmark {mark}: {e}", shared.interface);
        }
    }
    for warning in &outcome.warnings {
        log_warn!("{}: {warning}", shared.interface);
    }
    // Persistent keepalives and new endpoints may want packets sent now.
    shared.handshakes.wake_timers();
    Ok(outcome.warnings.len())
}

/// Lends a large `set` every core for creating its peers: one scoped thread per task beyond the first, which
/// runs on the calling thread. A thread that cannot be spawned runs its task inline instead.
struct Cores;

impl Parallel for Cores {
    fn width(&self) -> usize {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    }

    fn run<'a>(&self, tasks: Vec<Task<'a>>) {
        // Each task in a slot, so that one whose thread cannot be spawned is still there to run inline.
        let slots: Vec<Mutex<Option<Task<'a>>>> =
            tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
        let Some((first, rest)) = slots.split_first() else {
            return;
        };
        std::thread::scope(|scope| {
            for slot in rest {
                let spawned = std::thread::Builder::new()
                    .name("wgxdp-apply".into())
                    .spawn_scoped(scope, move || run_slot(slot));
                if spawned.is_err() {
                    run_slot(slot);
                }
            }
            run_slot(first);
        });
    }
}

/// Runs the task in `slot`, if it is still there.
fn run_slot(slot: &Mutex<Option<Task<'_>>>) {
    let task = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(task) = task {
        task();
    }
}

//! The thread that keeps the steering program's map of the link's own addresses in step with the kernel.
//!
//! The program steers only transport data to one of the `--link` device's addresses (traffic on the same port
//! for a bridged VM, a macvlan container or a routed destination stays the kernel's). Each attach fills the map
//! from the kernel; this thread then applies the link's address events (`RTM_NEWADDR`, `RTM_DELADDR`, read in
//! the link's namespace: the follower was opened there at attach time) as they come, so an address added to the
//! link is steered within moments and one removed stops being steered. Lost events (a full socket buffer) or a
//! failed read make it ask the kernel for the whole set again. Its waits are bounded (a quarter second), it beats
//! the watchdog each round, and it ends when the daemon stops.

use crate::shared::Shared;
use crate::{log_error, log_info, log_warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wgxdp_io_xdp::{AddressChange, AddressFollower};

/// The thread's name (logs, watchdog, the debug fault hook).
pub const THREAD: &str = "wgxdp-addresses";

/// Longest wait for an event: bounds how late a stop is noticed.
const WAIT_MS: u16 = 250;
/// How often a follower that could not be reopened is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// The thread's body, when the AF_XDP path is up (it takes the follower the attach opened).
pub fn follower(shared: &Arc<Shared>) -> Option<impl FnOnce() + Send + 'static> {
    let follower = shared.xdp.get()?.take_address_follower()?;
    let shared = Arc::clone(shared);
    Some(move || run(&shared, follower))
}

fn run(shared: &Shared, follower: AddressFollower) {
    let beat = shared.watchdog.register(THREAD, shared.clock.now());
    crate::fault::inject(THREAD);
    let Some(xdp) = shared.xdp.get() else {
        return;
    };
    let ifindex = follower.ifindex();
    let mut follower = Some(follower);
    let mut retry_at = Instant::now();
    while !shared.stopping() {
        beat.beat(shared.clock.now());
        let Some(current) = follower.as_mut() else {
            // Reopened in the thread's namespace, which is the daemon's and the link's (only short-lived threads
            // ever enter another one).
            std::thread::sleep(Duration::from_millis(u64::from(WAIT_MS)));
            if Instant::now() >= retry_at {
                retry_at = Instant::now() + RETRY;
                if let Ok(reopened) = AddressFollower::open(ifindex) {
                    log_info!("{}: following the link's addresses again", xdp.link());
                    follower = Some(reopened);
                }
            }
            continue;
        };
        let mut fds = [PollFd::new(current.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(WAIT_MS));
        match current.changes() {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => xdp.apply_address_changes(&changes),
            Err(e) => {
                log_warn!("{}: reading address events: {e}; starting over", xdp.link());
                match AddressFollower::open(ifindex) {
                    // Its first changes are the whole set again.
                    Ok(reopened) => follower = Some(reopened),
                    Err(e) => {
                        // Without events the map could go stale: steer nothing until following works again, so
                        // the transport data takes the kernel path, which the workers also serve.
                        log_error!(
                            "{}: cannot follow the link's addresses ({e}): steering nothing until it can",
                            xdp.link()
                        );
                        xdp.apply_address_changes(&[AddressChange::Resync(Vec::new())]);
                        follower = None;
                        retry_at = Instant::now() + RETRY;
                    }
                }
            }
        }
    }
}

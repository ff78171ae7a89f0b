//! SIGINT/SIGTERM as a readable descriptor, so the main thread can wait for them together
//! with its periodic liveness checks, without a signal handler (and without `unsafe`).

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io;

/// The signals that stop the daemon.
fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// Blocks SIGINT and SIGTERM in the calling thread and returns a descriptor that becomes
/// readable when one is pending. Call before spawning threads: they inherit the mask, so
/// the signals are only ever consumed through this descriptor.
pub fn block_stop_signals() -> io::Result<SignalFd> {
    let set = stop_signals();
    set.thread_block()?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

/// Reads one pending stop signal, if any, and names it.
pub fn take_pending(fd: &SignalFd) -> Option<&'static str> {
    let info = fd.read_signal().ok().flatten()?;
    let name = match i32::try_from(info.ssi_signo).ok()? {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    };
    Some(name)
}

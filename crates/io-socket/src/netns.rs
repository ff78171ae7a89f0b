//! Test support: run the current thread in a throw-away network namespace.
//!
//! `unshare(CLONE_NEWNET)` moves only the calling thread, so each test (libtest runs each on
//! its own thread) gets a private namespace with its own loopback, TUNs and ports, and the
//! host's default namespace is never touched. Processes spawned from the thread inherit its
//! namespace, which is how `ip` configures it.

use nix::sched::{unshare, CloneFlags};
use std::io;
use std::process::Command;

/// Moves the current thread into a fresh network namespace with `lo` up. Returns `Ok(false)`
/// after printing a loud `SKIPPED (needs root)` line when not running as root; tests then
/// return early.
pub fn enter_scratch_netns(test: &str) -> io::Result<bool> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED (needs root): {test}");
        println!("SKIPPED (needs root): {test}");
        return Ok(false);
    }
    let before = current_netns()?;
    unshare(CloneFlags::CLONE_NEWNET)?;
    let after = current_netns()?;
    if before == after {
        return Err(io::Error::other(
            "unshare(CLONE_NEWNET) left the namespace unchanged",
        ));
    }
    ip(&["link", "set", "lo", "up"])?;
    // The child must have configured *our* namespace, not the one the process started in.
    let child_ns = Command::new("readlink").arg("/proc/self/ns/net").output()?;
    let child_ns = String::from_utf8_lossy(&child_ns.stdout).trim().to_string();
    if child_ns != after {
        return Err(io::Error::other(format!(
            "child process is in {child_ns}, thread is in {after}"
        )));
    }
    Ok(true)
}

/// Runs `ip ARGS...` in the current thread's namespace; errors carry its stderr.
pub fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Like [`ip`], returning stdout.
pub fn ip_output(args: &[&str]) -> io::Result<String> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// The namespace of the calling thread, e.g. `net:[4026531840]`.
fn current_netns() -> io::Result<String> {
    Ok(std::fs::read_link("/proc/thread-self/ns/net")?
        .to_string_lossy()
        .into_owned())
}

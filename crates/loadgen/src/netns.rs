//! Running threads inside named network namespaces (`ip netns add NAME`, i.e. /var/run/netns/NAME).
//!
//! `setns(CLONE_NEWNET)` moves the calling thread only, so the generator, the sink and the control thread can each
//! live where their interface is. Sockets, AF_XDP sockets and XDP links keep the namespace they were created in
//! and may then be used from any thread.

use std::fs::File;
use std::thread::{self, JoinHandle};

use anyhow::{anyhow, Context, Result};
use nix::sched::{setns, CloneFlags};

/// Moves the calling thread into namespace `name` (`None`: stays where it is).
pub fn enter(name: Option<&str>) -> Result<()> {
    let Some(name) = name else {
        return Ok(());
    };
    if name.is_empty() || name.contains('/') {
        return Err(anyhow!("invalid network namespace name {name:?}"));
    }
    let path = format!("/var/run/netns/{name}");
    let file = File::open(&path).with_context(|| format!("opening network namespace {path}"))?;
    setns(file, CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("entering network namespace {name}"))
}

/// Runs `f` on a fresh thread inside namespace `ns` and waits for its result.
pub fn run_in<T: Send>(ns: Option<&str>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    thread::scope(|scope| {
        scope
            .spawn(|| {
                enter(ns)?;
                f()
            })
            .join()
            .map_err(|_| anyhow!("a thread in namespace {ns:?} panicked"))?
    })
}

/// Starts a named thread inside namespace `ns`.
pub fn spawn_in<T: Send + 'static>(
    ns: Option<String>,
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<JoinHandle<Result<T>>> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            enter(ns.as_deref())?;
            f()
        })
        .with_context(|| format!("starting thread {name}"))
}

/// Waits for a thread started by [`spawn_in`], turning a panic into an error.
pub fn join<T>(handle: JoinHandle<Result<T>>) -> Result<T> {
    let name = handle.thread().name().unwrap_or("?").to_string();
    handle
        .join()
        .map_err(|_| anyhow!("thread {name} panicked"))?
}

//! The listening sockets of the interface and their live changes: a `listen_port` change rebinds the whole
//! [`SocketGroup`] (handshake socket and one data socket per worker), an `fwmark` change marks every socket.
//!
//! Workers and the handshake thread load the current group through an `ArcSwap` once per round; a rebind swaps
//! in the new group (after which the workers follow it and the old one closes once the last user lets go).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use nix::sys::socket::{setsockopt, sockopt};
use wgxdp_io_socket::{SocketGroup, UdpSocketOptions};

/// The sockets in use and what they were asked to be.
#[derive(Debug)]
pub struct LiveSockets {
    current: ArcSwap<SocketGroup>,
    generation: AtomicU64,
    settings: Mutex<Settings>,
}

/// What the configuration asked for (the bound port may differ when `port == 0`).
#[derive(Debug)]
struct Settings {
    port: u16,
    options: UdpSocketOptions,
    workers: usize,
}

/// A group bound for a new `listen_port` but not yet in use; [`LiveSockets::commit`] puts it in place. Dropping it
/// instead closes it, leaving everything as it was.
#[derive(Debug)]
pub struct PendingBind {
    port: u16,
    group: SocketGroup,
}

impl LiveSockets {
    /// Binds the group for `workers` workers on `port` (0: any).
    pub fn bind(port: u16, workers: usize, options: UdpSocketOptions) -> io::Result<Self> {
        let group = SocketGroup::bind(port, workers, &options)?;
        Ok(Self {
            current: ArcSwap::from_pointee(group),
            generation: AtomicU64::new(0),
            settings: Mutex::new(Settings {
                port,
                options,
                workers,
            }),
        })
    }

    /// The group to use now.
    pub fn load(&self) -> Arc<SocketGroup> {
        self.current.load_full()
    }

    /// Counts rebinds: a worker holding an older group follows the new one.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The port the sockets are bound to.
    pub fn bound_port(&self) -> u16 {
        self.current.load().port()
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        // The settings are plain values; a panic elsewhere cannot leave them half-written.
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prepares a rebind to `port`, or `None` when nothing has to change: the port is the one configured already,
    /// or the one bound already. Binding before the configuration is applied keeps a `set` all-or-nothing: a port
    /// in use fails the request up front.
    pub fn prepare_port(&self, port: u16) -> io::Result<Option<PendingBind>> {
        let settings = self.settings();
        if port == settings.port || (port != 0 && port == self.bound_port()) {
            return Ok(None);
        }
        let group = SocketGroup::bind(port, settings.workers, &settings.options)?;
        Ok(Some(PendingBind { port, group }))
    }

    /// Puts a prepared group in place; returns the port now bound.
    pub fn commit(&self, pending: PendingBind) -> u16 {
        let mut settings = self.settings();
        settings.port = pending.port;
        let bound = pending.group.port();
        self.current.store(Arc::new(pending.group));
        self.generation.fetch_add(1, Ordering::AcqRel);
        bound
    }

    /// Sets SO_MARK on every socket (0 clears it) and on any socket bound later.
    pub fn set_fwmark(&self, mark: u32) -> io::Result<()> {
        let mut settings = self.settings();
        settings.options.fwmark = (mark != 0).then_some(mark);
        let group = self.current.load();
        for pair in std::iter::once(&group.handshake).chain(&group.workers) {
            setsockopt(&pair.v4, sockopt::Mark, &mark)?;
            setsockopt(&pair.v6, sockopt::Mark, &mark)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebinds_only_when_the_port_changes() {
        let sockets = LiveSockets::bind(0, 2, UdpSocketOptions::default()).unwrap();
        let first = sockets.bound_port();
        assert_ne!(first, 0);
        assert_eq!(sockets.load().workers.len(), 2);
        // Asking for "any port" again keeps the current one; so does asking for the bound port.
        assert!(sockets.prepare_port(0).unwrap().is_none());
        assert!(sockets.prepare_port(first).unwrap().is_none());
        // A port someone holds fails up front and leaves the sockets alone.
        let blocker = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        let taken = blocker.local_addr().unwrap().port();
        assert!(sockets.prepare_port(taken).is_err());
        assert_eq!(sockets.bound_port(), first);
        drop(blocker);
        // A free port: bound first, in use only after commit.
        let free = {
            let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let generation = sockets.generation();
        let pending = sockets.prepare_port(free).unwrap().expect("a rebind");
        assert_eq!(sockets.bound_port(), first);
        assert_eq!(sockets.commit(pending), free);
        assert_eq!(sockets.bound_port(), free);
        assert_eq!(sockets.generation(), generation + 1);
        assert_eq!(sockets.load().workers[1].v6.local_addr().port(), free);
        sockets.set_fwmark(0).unwrap();
    }
}

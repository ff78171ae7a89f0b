//! The listening UDP sockets and their live changes: `listen_port` rebinds, `fwmark` updates.
//!
//! Workers read the current [`DualStackSockets`] through an `ArcSwap` on every poll round;
//! a rebind swaps in the new pair and wakes them, and the old pair closes once the last
//! worker lets go of it.

use arc_swap::ArcSwap;
use nix::sys::socket::{setsockopt, sockopt};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use wgxdp_io_socket::{bind_dual_stack, DualStackSockets, UdpSocketOptions};

/// The sockets in use and what they were asked to be.
#[derive(Debug)]
pub struct UdpSockets {
    current: ArcSwap<DualStackSockets>,
    settings: Mutex<Settings>,
}

/// What the configuration asked for (the bound port may differ when `port == 0`).
#[derive(Debug)]
struct Settings {
    port: u16,
    options: UdpSocketOptions,
}

/// A pair bound for a new `listen_port` but not yet in use; [`UdpSockets::commit`] puts it
/// in place. Dropping it instead closes it, leaving everything as it was.
#[derive(Debug)]
pub struct PendingBind {
    port: u16,
    sockets: DualStackSockets,
}

impl UdpSockets {
    /// Binds both families on `port` (0: any).
    pub fn bind(port: u16, options: UdpSocketOptions) -> io::Result<Self> {
        let sockets = bind_dual_stack(port, &options)?;
        Ok(Self {
            current: ArcSwap::from_pointee(sockets),
            settings: Mutex::new(Settings { port, options }),
        })
    }

    /// The sockets to use now.
    pub fn load(&self) -> Arc<DualStackSockets> {
        self.current.load_full()
    }

    /// The port the sockets are bound to.
    pub fn bound_port(&self) -> u16 {
        self.current.load().port()
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        // The settings are plain values; a panic elsewhere cannot leave them half-written.
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prepares a rebind to `port`, or `None` when nothing has to change: the port is the
    /// one configured already, or the one bound already. Binding before the configuration is
    /// applied keeps a `set` all-or-nothing: a port in use fails the request up front.
    pub fn prepare_port(&self, port: u16) -> io::Result<Option<PendingBind>> {
        let settings = self.settings();
        if port == settings.port || (port != 0 && port == self.bound_port()) {
            return Ok(None);
        }
        let sockets = bind_dual_stack(port, &settings.options)?;
        Ok(Some(PendingBind { port, sockets }))
    }

    /// Puts a prepared pair in place; returns the port now bound.
    pub fn commit(&self, pending: PendingBind) -> u16 {
        let mut settings = self.settings();
        settings.port = pending.port;
        let bound = pending.sockets.port();
        self.current.store(Arc::new(pending.sockets));
        bound
    }

    /// Sets SO_MARK on both sockets (0 clears it) and on any socket bound later.
    pub fn set_fwmark(&self, mark: u32) -> io::Result<()> {
        let mut settings = self.settings();
        settings.options.fwmark = (mark != 0).then_some(mark);
        let sockets = self.current.load();
        setsockopt(&sockets.v4, sockopt::Mark, &mark)?;
        setsockopt(&sockets.v6, sockopt::Mark, &mark)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebinds_only_when_the_port_changes() {
        let sockets = UdpSockets::bind(0, UdpSocketOptions::default()).unwrap();
        let first = sockets.bound_port();
        assert_ne!(first, 0);
        // Asking for "any port" again keeps the current one.
        assert!(sockets.prepare_port(0).unwrap().is_none());
        // Asking for the bound port keeps it too.
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
        let pending = sockets.prepare_port(free).unwrap().expect("a rebind");
        assert_eq!(sockets.bound_port(), first);
        assert_eq!(sockets.commit(pending), free);
        assert_eq!(sockets.bound_port(), free);
        assert_eq!(sockets.load().v6.local_addr().port(), free);
    }
}

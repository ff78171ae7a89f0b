//! The accept loop shared by the UAPI and control servers (Unix sockets) and the `/metrics` server (TCP):
//! non-blocking accept polled with a timeout (so a stop is noticed), a bound on concurrent connections, one
//! short-lived thread per connection, read/write timeouts so a stalled client cannot hold its slot forever.

use crate::conn_limit::ConnLimit;
use crate::shared::Shared;
use crate::{log_debug, log_warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

/// How often the accept loop checks for a stop.
const ACCEPT_POLL_MS: u16 = 250;

/// Limits of one server.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// Connections served at once; more are closed at accept.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A write stalled this long closes the connection.
    pub write_timeout: Duration,
}

/// A listening socket the loop serves.
pub trait Listener: AsFd {
    /// What an accept hands out.
    type Stream: Connection;
    /// Accepts one connection (the listener is non-blocking).
    fn accept_one(&self) -> io::Result<Self::Stream>;
    /// Makes accepts non-blocking.
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
}

/// An accepted connection: blocking I/O with timeouts from here on.
pub trait Connection: Send + 'static {
    /// Blocking, with these timeouts.
    fn prepare(&self, limits: &ServerLimits) -> io::Result<()>;
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    fn accept_one(&self) -> io::Result<UnixStream> {
        self.accept().map(|(stream, _)| stream)
    }
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        UnixListener::set_nonblocking(self, nonblocking)
    }
}

impl Connection for UnixStream {
    fn prepare(&self, limits: &ServerLimits) -> io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(limits.idle_timeout))?;
        self.set_write_timeout(Some(limits.write_timeout))
    }
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    fn accept_one(&self) -> io::Result<TcpStream> {
        self.accept().map(|(stream, _)| stream)
    }
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        TcpListener::set_nonblocking(self, nonblocking)
    }
}

impl Connection for TcpStream {
    fn prepare(&self, limits: &ServerLimits) -> io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(limits.idle_timeout))?;
        self.set_write_timeout(Some(limits.write_timeout))
    }
}

/// Serves `listener` until the daemon stops, running `handle` for each connection in its own
/// thread.
pub fn serve<L, F>(
    name: &'static str,
    listener: L,
    shared: Arc<Shared>,
    limits: ServerLimits,
    handle: F,
) where
    L: Listener,
    F: Fn(&Shared, L::Stream) + Send + Sync + Clone + 'static,
{
    if let Err(e) = listener.set_nonblocking(true) {
        log_warn!("{}: {name} server: {e}", shared.interface);
        return;
    }
    let conns = ConnLimit::new(limits.max_connections);
    let thread = format!("wgxdp-{name}");
    let beat = shared.watchdog.register(&thread, shared.clock.now());
    crate::fault::inject(&thread);
    while !shared.stopping() {
        beat.beat(shared.clock.now());
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ACCEPT_POLL_MS)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                log_warn!("{}: {name} server poll: {e}", shared.interface);
                std::thread::sleep(Duration::from_millis(u64::from(ACCEPT_POLL_MS)));
                continue;
            }
        }
        let stream = match listener.accept_one() {
            Ok(stream) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                log_debug!("{}: {name} accept: {e}", shared.interface);
                continue;
            }
        };
        let Some(slot) = conns.try_acquire() else {
            log_debug!(
                "{}: {name}: too many connections, refusing one",
                shared.interface
            );
            continue;
        };
        if stream.prepare(&limits).is_err() {
            continue;
        }
        let shared = Arc::clone(&shared);
        let handle = handle.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{name}-conn"))
            .spawn(move || {
                let _slot = slot;
                handle(&shared, stream);
            });
        if let Err(e) = spawned {
            log_warn!("{}: {name}: cannot spawn connection thread: {e}", "wgxdp");
        }
    }
}

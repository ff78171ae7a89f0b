//! The accept loop shared by the UAPI and control servers: non-blocking accept polled with a
//! timeout (so a stop is noticed), a bound on concurrent connections, one short-lived thread
//! per connection, read/write timeouts so a stalled client cannot hold its slot forever.

use crate::conn_limit::ConnLimit;
use crate::shared::Shared;
use crate::{log_debug, log_warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
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

/// Serves `listener` until the daemon stops, running `handle` for each connection in its own
/// thread.
pub fn serve<F>(
    name: &'static str,
    listener: UnixListener,
    shared: Arc<Shared>,
    limits: ServerLimits,
    handle: F,
) where
    F: Fn(&Shared, UnixStream) + Send + Sync + Clone + 'static,
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
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
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
        if prepare(&stream, &limits).is_err() {
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

/// Blocking I/O with timeouts on an accepted stream.
fn prepare(stream: &UnixStream, limits: &ServerLimits) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(limits.idle_timeout))?;
    stream.set_write_timeout(Some(limits.write_timeout))
}

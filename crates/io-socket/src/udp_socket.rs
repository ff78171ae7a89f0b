//! A non-blocking UDP socket of one address family, set up for batched I/O.

use crate::sockaddr::from_storage;
use crate::udp_options::{BufferSizes, UdpSocketOptions};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, getsockname, getsockopt, setsockopt, socket, sockopt, AddressFamily, SockFlag,
    SockProtocol, SockType, SockaddrStorage,
};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A UDP socket bound to one local address, non-blocking, with large buffers and (where the
/// kernel has them) UDP GRO on receive and UDP GSO on send. Shareable between threads: every
/// method takes `&self`, and per-call scratch lives in the calling thread.
#[derive(Debug)]
pub struct BatchUdpSocket {
    fd: OwnedFd,
    local: SocketAddr,
    buffers: BufferSizes,
    gro: bool,
    /// Cleared for good the first time the kernel rejects a GSO send (EIO/EINVAL), e.g. when the
    /// egress device cannot checksum-offload UDP.
    gso: AtomicBool,
}

/// The pair of sockets a WireGuard endpoint listens on: IPv4 and IPv6 (V6ONLY) on one port.
#[derive(Debug)]
pub struct DualStackSockets {
    /// Socket bound to `0.0.0.0:port`.
    pub v4: BatchUdpSocket,
    /// Socket bound to `[::]:port` with IPV6_V6ONLY set.
    pub v6: BatchUdpSocket,
}

impl DualStackSockets {
    /// The port both sockets are bound to.
    pub fn port(&self) -> u16 {
        self.v4.local_addr().port()
    }

    /// The socket whose family matches `dest`.
    pub fn for_destination(&self, dest: &SocketAddr) -> &BatchUdpSocket {
        if dest.is_ipv4() {
            &self.v4
        } else {
            &self.v6
        }
    }
}

/// How many times `bind_dual_stack(0, ..)` retries when the port the kernel picked for IPv4 is
/// already taken for IPv6 by someone else.
const DUAL_STACK_BIND_ATTEMPTS: usize = 32;

/// Binds IPv4 and IPv6 wildcard sockets on the same port. With `port == 0` the kernel picks the
/// IPv4 port and the IPv6 socket takes the same one, retrying with a new pick if it is in use.
pub fn bind_dual_stack(port: u16, opts: &UdpSocketOptions) -> io::Result<DualStackSockets> {
    let attempts = if port == 0 {
        DUAL_STACK_BIND_ATTEMPTS
    } else {
        1
    };
    let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
    for _ in 0..attempts {
        let v4 = BatchUdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), opts)?;
        let chosen = v4.local_addr().port();
        match BatchUdpSocket::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, chosen)), opts) {
            Ok(v6) => return Ok(DualStackSockets { v4, v6 }),
            Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => last_error = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_error)
}

impl BatchUdpSocket {
    /// Creates, configures and binds a socket. Port 0 lets the kernel choose; read the result
    /// with [`local_addr`](Self::local_addr).
    pub fn bind(addr: SocketAddr, opts: &UdpSocketOptions) -> io::Result<Self> {
        let family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let fd = socket(
            family,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::Udp,
        )?;
        if addr.is_ipv6() {
            // Lets a separate IPv4 socket own the same port number.
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
        }
        if opts.reuse_port {
            setsockopt(&fd, sockopt::ReusePort, &true)?;
        }
        let buffers = set_buffers(&fd, opts)?;
        if let Some(mark) = opts.fwmark {
            setsockopt(&fd, sockopt::Mark, &mark)?;
        }
        // The destination address of every datagram, so replies can leave from it (see pktinfo.rs).
        if addr.is_ipv6() {
            setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)?;
        } else {
            setsockopt(&fd, sockopt::Ipv4PacketInfo, &true)?;
        }
        // GRO/GSO are optional kernel features (4.18 / 5.0): absence just means per-datagram I/O.
        let gro = opts.gro && setsockopt(&fd, sockopt::UdpGroSegment, &true).is_ok();
        let gso = opts.gso && getsockopt(&fd, sockopt::UdpGsoSegment).is_ok();
        bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
        let local = getsockname::<SockaddrStorage>(fd.as_raw_fd())?;
        let local = from_storage(&local)
            .ok_or_else(|| io::Error::other("getsockname returned a non-IP address"))?;
        Ok(Self {
            fd,
            local,
            buffers,
            gro,
            gso: AtomicBool::new(gso),
        })
    }

    /// The bound local address, with the kernel-chosen port if 0 was requested.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The socket buffer sizes the kernel granted.
    pub fn buffer_sizes(&self) -> BufferSizes {
        self.buffers
    }

    /// Whether received datagrams may arrive coalesced (check `segment_size` when splitting).
    pub fn gro_enabled(&self) -> bool {
        self.gro
    }

    /// Whether sends currently use UDP GSO.
    pub fn gso_enabled(&self) -> bool {
        self.gso.load(Ordering::Relaxed)
    }

    /// Turns GSO off for the rest of the socket's life (after the kernel refused it).
    pub(crate) fn disable_gso(&self) {
        self.gso.store(false, Ordering::Relaxed);
    }

    /// Whether this is the IPv6 socket.
    pub(crate) fn is_v6(&self) -> bool {
        self.local.is_ipv6()
    }

    /// Waits until a datagram can be read, or `timeout` passes (`None` waits forever).
    /// Returns `Ok(false)` on timeout. Interrupted waits count as spurious wake-ups (`Ok(true)`).
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        wait_for(self.fd.as_fd(), PollFlags::POLLIN, timeout)
    }

    /// Waits until the send buffer has room, or `timeout` passes (`None` waits forever).
    pub fn wait_writable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        wait_for(self.fd.as_fd(), PollFlags::POLLOUT, timeout)
    }
}

impl AsFd for BatchUdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for BatchUdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Polls one descriptor for `events`; shared by the UDP socket and the TUN queue.
pub(crate) fn wait_for(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let timeout = match timeout {
        None => PollTimeout::NONE,
        // Durations beyond poll's ~24 days range are clamped, not rejected.
        Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
    };
    let mut fds = [PollFd::new(fd, events)];
    match poll(&mut fds, timeout) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Sets the socket buffers: the *FORCE options first (root may exceed rmem_max/wmem_max), the
/// plain ones as fallback, then reads back what the kernel granted.
fn set_buffers(fd: &OwnedFd, opts: &UdpSocketOptions) -> io::Result<BufferSizes> {
    let recv_forced = setsockopt(fd, sockopt::RcvBufForce, &opts.recv_buffer).is_ok();
    if !recv_forced {
        setsockopt(fd, sockopt::RcvBuf, &opts.recv_buffer)?;
    }
    let send_forced = setsockopt(fd, sockopt::SndBufForce, &opts.send_buffer).is_ok();
    if !send_forced {
        setsockopt(fd, sockopt::SndBuf, &opts.send_buffer)?;
    }
    Ok(BufferSizes {
        recv: getsockopt(fd, sockopt::RcvBuf)?,
        send: getsockopt(fd, sockopt::SndBuf)?,
        forced: recv_forced && send_forced,
    })
}

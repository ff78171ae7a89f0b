//! What an AF_XDP worker waits on: its AF_XDP socket, its TUN queue, the kernel UDP sockets (handshakes and
//! anything the XDP program passes) and its wake eventfd, in one level-triggered epoll set.
//!
//! Busy rounds ask with a zero timeout (one syscall tells which of the kernel descriptors have work); once the
//! worker has spun idle long enough it blocks here, so an idle worker costs no CPU.

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::os::fd::AsFd;
use std::sync::Arc;
use wgxdp_io_socket::DualStackSockets;

const TUN: u64 = 0;
const WAKE: u64 = 1;
const XSK: u64 = 2;
const UDP_V4: u64 = 3;
const UDP_V6: u64 = 4;

/// Which descriptors have something.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// Packets to read from TUN.
    pub tun: bool,
    /// The TUN queue reported an error or hang-up: the interface is gone.
    pub tun_gone: bool,
    /// The wake eventfd was written.
    pub wake: bool,
    /// Frames on the AF_XDP socket's RX ring.
    pub xsk: bool,
    /// Datagrams on the IPv4 socket.
    pub udp_v4: bool,
    /// Datagrams on the IPv6 socket.
    pub udp_v6: bool,
}

impl Ready {
    /// Whether anything at all is ready.
    pub fn any(&self) -> bool {
        self.tun || self.tun_gone || self.wake || self.xsk || self.udp_v4 || self.udp_v6
    }
}

/// The epoll set of one worker.
pub struct WaitSet {
    epoll: Epoll,
    /// The sockets registered now; kept alive so their descriptors stay theirs while registered.
    sockets: Option<Arc<DualStackSockets>>,
}

fn input(token: u64) -> EpollEvent {
    EpollEvent::new(EpollFlags::EPOLLIN, token)
}

impl WaitSet {
    /// A set with the TUN queue, the wake eventfd and (if any) the AF_XDP socket.
    pub fn new(tun: impl AsFd, wake: impl AsFd, xsk: Option<impl AsFd>) -> nix::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(tun, input(TUN))?;
        epoll.add(wake, input(WAKE))?;
        if let Some(xsk) = xsk {
            epoll.add(xsk, input(XSK))?;
        }
        Ok(Self {
            epoll,
            sockets: None,
        })
    }

    /// Registers `sockets` if they are not the ones registered already (after a rebind).
    pub fn follow_sockets(&mut self, sockets: &Arc<DualStackSockets>) -> nix::Result<()> {
        if self
            .sockets
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, sockets))
        {
            return Ok(());
        }
        if let Some(old) = self.sockets.take() {
            // Closing would remove them too, but another worker may still hold the old pair open.
            let _ = self.epoll.delete(&old.v4);
            let _ = self.epoll.delete(&old.v6);
        }
        self.epoll.add(&sockets.v4, input(UDP_V4))?;
        self.epoll.add(&sockets.v6, input(UDP_V6))?;
        self.sockets = Some(Arc::clone(sockets));
        Ok(())
    }

    /// Waits up to `timeout_ms` (0: just look) and says what is ready.
    pub fn wait(&self, timeout_ms: u16) -> nix::Result<Ready> {
        let mut events = [EpollEvent::empty(); 5];
        let n = match self.epoll.wait(&mut events, EpollTimeout::from(timeout_ms)) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(e) => return Err(e),
        };
        let mut ready = Ready::default();
        for event in events.iter().take(n) {
            let flags = event.events();
            let input = flags.contains(EpollFlags::EPOLLIN);
            match event.data() {
                TUN => {
                    ready.tun = input;
                    ready.tun_gone = flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP);
                }
                WAKE => ready.wake = input,
                XSK => ready.xsk = input,
                UDP_V4 => ready.udp_v4 = input,
                UDP_V6 => ready.udp_v6 = input,
                _ => {}
            }
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::eventfd::{EfdFlags, EventFd};

    #[test]
    fn reports_the_wake_descriptor_and_sockets() {
        let tun = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let wake = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let mut set = WaitSet::new(&tun, &wake, None::<&EventFd>).unwrap();
        let sockets = Arc::new(
            wgxdp_io_socket::bind_dual_stack(0, &wgxdp_io_socket::UdpSocketOptions::default())
                .unwrap(),
        );
        set.follow_sockets(&sockets).unwrap();
        set.follow_sockets(&sockets).unwrap();
        assert!(!set.wait(0).unwrap().any());
        wake.write(1).unwrap();
        let ready = set.wait(100).unwrap();
        assert!(ready.wake && !ready.tun && !ready.udp_v4);
        let _ = wake.read();
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.send_to(b"x", ("127.0.0.1", sockets.port())).unwrap();
        assert!(set.wait(1000).unwrap().udp_v4);
        // A rebind swaps the registered pair.
        let other = Arc::new(
            wgxdp_io_socket::bind_dual_stack(0, &wgxdp_io_socket::UdpSocketOptions::default())
                .unwrap(),
        );
        set.follow_sockets(&other).unwrap();
        assert!(!set.wait(0).unwrap().udp_v4);
    }
}

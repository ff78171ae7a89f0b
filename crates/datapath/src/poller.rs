//! How an idle worker waits: first it spins for a bounded time on what it can see without a system call (the
//! backend's rings), looking at the kernel's descriptors at a coarser interval, then it sleeps in epoll on every
//! descriptor it serves, so an idle worker costs no CPU and a busy one pays no wake-up per packet.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::underlay::{Underlay, WaitFd};

/// Spinning before sleeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpinPolicy {
    /// How long an idle worker keeps looking at its rings before it sleeps (0: never spin). Tens of microseconds
    /// catch the next packet of a busy flow and the answer to a ping without a wake-up.
    pub spin: Duration,
    /// While spinning, how often the kernel's descriptors (TUN, sockets) are looked at with a zero-timeout
    /// epoll (the one system call of the spin).
    pub check_kernel_every: Duration,
}

impl Default for SpinPolicy {
    fn default() -> Self {
        Self {
            spin: Duration::from_micros(50),
            check_kernel_every: Duration::from_micros(10),
        }
    }
}

const TUN: u64 = 0;
const WAKE: u64 = 1;
const BACKEND: u64 = 2;

/// What a wait found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// Something became ready.
    pub any: bool,
    /// The TUN has packets.
    pub tun: bool,
    /// The TUN reported an error or hang-up: the interface is gone.
    pub tun_gone: bool,
    /// The wake descriptor was written (a stop or a rebind).
    pub wake: bool,
}

/// The epoll set of one worker: its TUN queue, its wake eventfd and the backend's descriptors. Built again as a
/// whole when the backend's descriptors change (a rebind), which is rare and keeps every registration tied to a
/// descriptor that is open.
pub(crate) struct Poller {
    epoll: Epoll,
    generation: u64,
}

impl Poller {
    /// A set with the TUN, the wake descriptor and the backend's current descriptors.
    pub fn new<U: Underlay>(
        tun: BorrowedFd<'_>,
        wake: BorrowedFd<'_>,
        underlay: &U,
    ) -> nix::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(tun, EpollEvent::new(EpollFlags::EPOLLIN, TUN))?;
        epoll.add(wake, EpollEvent::new(EpollFlags::EPOLLIN, WAKE))?;
        let mut fds = Vec::new();
        underlay.wait_fds(&mut fds);
        for WaitFd { fd, token } in fds {
            epoll.add(
                fd,
                EpollEvent::new(EpollFlags::EPOLLIN, BACKEND + u64::from(token)),
            )?;
        }
        Ok(Self {
            epoll,
            generation: underlay.generation(),
        })
    }

    /// Whether the backend's descriptors changed since this set was built.
    pub fn stale<U: Underlay>(&self, underlay: &U) -> bool {
        self.generation != underlay.generation()
    }

    /// Waits up to `timeout` (zero: just look), tells the backend which of its descriptors are ready, and says
    /// what else is.
    pub fn wait<U: Underlay>(&self, underlay: &mut U, timeout: Duration) -> nix::Result<Found> {
        let mut events = [EpollEvent::empty(); 8];
        let timeout = EpollTimeout::try_from(timeout).unwrap_or(EpollTimeout::MAX);
        let n = match self.epoll.wait(&mut events, timeout) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(e) => return Err(e),
        };
        let mut found = Found::default();
        for event in events.iter().take(n) {
            let flags = event.events();
            found.any = true;
            match event.data() {
                TUN => {
                    found.tun |= flags.contains(EpollFlags::EPOLLIN);
                    found.tun_gone |= flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP);
                }
                WAKE => found.wake = true,
                token => underlay.ready(u32::try_from(token - BACKEND).unwrap_or(u32::MAX)),
            }
        }
        Ok(found)
    }
}

/// How long a spin has run, read from the monotonic clock at each look.
pub(crate) struct Spin {
    start: Instant,
    next_kernel_check: Duration,
    policy: SpinPolicy,
    pub rounds: u64,
}

impl Spin {
    pub fn start(policy: SpinPolicy) -> Self {
        Self {
            start: Instant::now(),
            next_kernel_check: policy.check_kernel_every,
            policy,
            rounds: 0,
        }
    }

    /// One more look: `Some(true)` when it is time to look at the kernel's descriptors, `None` when the spin is
    /// over.
    pub fn next(&mut self) -> Option<bool> {
        self.rounds += 1;
        let elapsed = self.start.elapsed();
        if elapsed >= self.policy.spin {
            return None;
        }
        if elapsed >= self.next_kernel_check {
            self.next_kernel_check = elapsed + self.policy.check_kernel_every;
            return Some(true);
        }
        std::hint::spin_loop();
        Some(false)
    }
}

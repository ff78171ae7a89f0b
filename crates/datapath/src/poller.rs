//! How an idle worker waits: first it spins for a bounded time on what it can see without a system call (the
//! backend's rings), looking at the kernel's descriptors at a coarser interval, then it sleeps in epoll on every
//! descriptor it serves, so an idle worker costs no CPU and a busy one pays no wake-up per packet.
//!
//! The spin adapts to the load: it is worth its CPU only when work comes back within it. After each idle period
//! the worker knows how long the gap was; a gap within the longest spin sets the spin to the longest again, a
//! longer one halves it (down to none). So a stream of packets a few microseconds apart is caught without a
//! wake-up, while a light load (a packet every 100 us, say) sleeps between packets like the socket path instead of
//! burning a core on spins that end in a sleep anyway.

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

/// Spins below this are not worth starting.
const MIN_SPIN: Duration = Duration::from_micros(2);
/// Spin iterations between two readings of the clock (a reading costs about as much as a few looks at a ring).
const LOOKS_PER_CLOCK: u64 = 16;

/// The spin length an idle worker uses now, adapted to the gaps it sees (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdaptiveSpin {
    max: Duration,
    current: Duration,
}

impl AdaptiveSpin {
    pub fn new(policy: SpinPolicy) -> Self {
        Self {
            max: policy.spin,
            current: policy.spin,
        }
    }

    /// How long to spin before sleeping now.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// Work came back `gap` after the worker went idle.
    pub fn after_gap(&mut self, gap: Duration) {
        self.current = if gap <= self.max {
            self.max
        } else {
            let half = self.current / 2;
            if half < MIN_SPIN {
                Duration::ZERO
            } else {
                half
            }
        };
    }
}

/// How long a spin has run, from the monotonic clock read every few looks.
pub(crate) struct Spin {
    start: Instant,
    length: Duration,
    check_every: Duration,
    next_kernel_check: Duration,
    pub rounds: u64,
}

impl Spin {
    pub fn start(start: Instant, length: Duration, policy: SpinPolicy) -> Self {
        Self {
            start,
            length,
            check_every: policy.check_kernel_every,
            next_kernel_check: policy.check_kernel_every,
            rounds: 0,
        }
    }

    /// One more look: `Some(true)` when it is time to look at the kernel's descriptors, `None` when the spin is
    /// over.
    pub fn next(&mut self) -> Option<bool> {
        self.rounds += 1;
        if !self.rounds.is_multiple_of(LOOKS_PER_CLOCK) {
            std::hint::spin_loop();
            return Some(false);
        }
        let elapsed = self.start.elapsed();
        if elapsed >= self.length {
            return None;
        }
        if elapsed >= self.next_kernel_check {
            self.next_kernel_check = elapsed + self.check_every;
            return Some(true);
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spin_shrinks_on_long_gaps_and_comes_back_on_short_ones() {
        let policy = SpinPolicy::default();
        let mut spin = AdaptiveSpin::new(policy);
        assert_eq!(spin.current(), policy.spin);
        // A light load: every gap longer than the spin. Halved each time, then none.
        let mut lengths = Vec::new();
        for _ in 0..6 {
            spin.after_gap(Duration::from_micros(200));
            lengths.push(spin.current().as_micros());
        }
        assert_eq!(lengths, [25, 12, 6, 3, 0, 0]);
        // A burst: one short gap brings the whole spin back.
        spin.after_gap(Duration::from_micros(5));
        assert_eq!(spin.current(), policy.spin);
    }

    #[test]
    fn a_spin_ends_after_its_length() {
        let start = Instant::now();
        let mut spin = Spin::start(start, Duration::from_micros(200), SpinPolicy::default());
        let mut kernel_looks = 0;
        while let Some(kernel) = spin.next() {
            kernel_looks += u32::from(kernel);
        }
        assert!(start.elapsed() >= Duration::from_micros(200));
        assert!(
            kernel_looks >= 1,
            "the kernel descriptors are looked at while spinning"
        );
    }
}

//! Per-thread, preallocated `mmsghdr` arrays for recvmmsg/sendmmsg.
//!
//! nix's `MultiHeaders` holds raw pointers, so it is neither `Send` nor `Sync`. Keeping it inside
//! the caller's batches would make them impossible to hand to a worker thread; building it per
//! call would allocate per batch. A thread-local set, created on a thread's first call and reused
//! afterwards, avoids both.
//!
//! Two nix behaviours shape this module:
//! * recvmmsg does not restore `msg_controllen` between calls (nix-rust/nix#2813): the kernel
//!   writes back how much control data it stored, 0 for a datagram without a UDP_GRO cmsg, and
//!   that slot could then never carry a GRO segment size again. A GRO header set that received
//!   such a datagram is therefore marked stale and rebuilt before its next use.
//! * `msg_namelen` is also written back, so IPv4 and IPv6 sockets use separate receive sets:
//!   a slot shrunk to a `sockaddr_in` would truncate an IPv6 source.

use nix::cmsg_space;
use nix::sys::socket::{MultiHeaders, SockaddrStorage};
use std::cell::RefCell;

/// Most messages one recvmmsg/sendmmsg call handles; also the receive batch size cap.
pub const MAX_BATCH: usize = 128;

/// Receive header sets, one per (address family, GRO on/off).
#[derive(Default)]
pub(crate) struct RecvScratch {
    sets: [Option<MultiHeaders<SockaddrStorage>>; 4],
    stale: [bool; 4],
}

impl RecvScratch {
    /// The header set for a socket, rebuilt if a previous call left it unable to carry a cmsg.
    pub(crate) fn headers(&mut self, is_v6: bool, gro: bool) -> &mut MultiHeaders<SockaddrStorage> {
        let index = Self::index(is_v6, gro);
        if std::mem::take(&mut self.stale[index]) {
            self.sets[index] = None;
        }
        self.sets[index].get_or_insert_with(|| {
            // Room for the destination address (IP_PKTINFO / IPV6_PKTINFO) and, with GRO, the segment size.
            let cmsg = if gro {
                cmsg_space!(libc::c_int, libc::in6_pktinfo)
            } else {
                cmsg_space!(libc::in6_pktinfo)
            };
            MultiHeaders::preallocate(MAX_BATCH, Some(cmsg))
        })
    }

    /// Records that a GRO header set received a datagram without a UDP_GRO cmsg.
    pub(crate) fn mark_stale(&mut self, is_v6: bool) {
        self.stale[Self::index(is_v6, true)] = true;
    }

    /// Slot of a (family, GRO) combination in the fixed arrays: always 0..4.
    fn index(is_v6: bool, gro: bool) -> usize {
        usize::from(is_v6) * 2 + usize::from(gro)
    }
}

/// Send header sets: plain, with room for a UDP_SEGMENT cmsg, for a source address (PKTINFO), or both.
pub(crate) struct SendScratch {
    pub(crate) plain: MultiHeaders<SockaddrStorage>,
    pub(crate) gso: MultiHeaders<SockaddrStorage>,
    pub(crate) source: MultiHeaders<SockaddrStorage>,
    pub(crate) gso_source: MultiHeaders<SockaddrStorage>,
    pub(crate) addrs: Vec<Option<SockaddrStorage>>,
}

impl SendScratch {
    fn new() -> Self {
        Self {
            plain: MultiHeaders::preallocate(MAX_BATCH, None),
            gso: MultiHeaders::preallocate(MAX_BATCH, Some(cmsg_space!(u16))),
            source: MultiHeaders::preallocate(MAX_BATCH, Some(cmsg_space!(libc::in6_pktinfo))),
            gso_source: MultiHeaders::preallocate(
                MAX_BATCH,
                Some(cmsg_space!(u16, libc::in6_pktinfo)),
            ),
            addrs: Vec::with_capacity(MAX_BATCH),
        }
    }
}

thread_local! {
    static RECV: RefCell<RecvScratch> = RefCell::new(RecvScratch::default());
    static SEND: RefCell<Option<SendScratch>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's receive headers.
pub(crate) fn with_recv<R>(f: impl FnOnce(&mut RecvScratch) -> R) -> R {
    RECV.with(|cell| f(&mut cell.borrow_mut()))
}

/// Runs `f` with this thread's send headers.
pub(crate) fn with_send<R>(f: impl FnOnce(&mut SendScratch) -> R) -> R {
    SEND.with(|cell| {
        let mut guard = cell.borrow_mut();
        f(guard.get_or_insert_with(SendScratch::new))
    })
}

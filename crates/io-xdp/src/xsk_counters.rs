//! Counters of one AF_XDP socket, kept by the socket itself (no atomics: one worker owns a socket), and the
//! kernel's own statistics of it (`XDP_STATISTICS`).

use std::os::fd::BorrowedFd;

use crate::error::Result;
use crate::xsk_setup::get_xdp_option;

/// What one socket has done since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XskCounters {
    /// Frames received from the RX ring.
    pub rx_packets: u64,
    /// Bytes in those frames.
    pub rx_bytes: u64,
    /// Frames put on the TX ring.
    pub tx_packets: u64,
    /// Bytes in those frames.
    pub tx_bytes: u64,
    /// TX frames the kernel reported done on the completion ring.
    pub tx_completions: u64,
    /// Refills that wanted frames for the fill ring but found the pool empty: the kernel may drop packets.
    pub fill_ring_starved: u64,
    /// Kicks of the fill ring because the kernel asked for a wakeup.
    pub fill_wakeups: u64,
    /// Kicks of the TX ring (`sendto`) because the kernel asked for a wakeup.
    pub tx_wakeups: u64,
    /// TX batches cut short because the TX ring was full.
    pub tx_ring_full: u64,
    /// TX batches cut short because no free frame was left.
    pub tx_pool_empty: u64,
    /// Descriptors from the kernel that did not describe a frame we own (never expected; counted, skipped).
    pub invalid_descriptors: u64,
    /// `poll_wait` calls that blocked in `poll()`.
    pub sleeps: u64,
    /// Sleeps that ended because a packet arrived (the rest timed out).
    pub sleep_wakeups: u64,
}

/// The kernel's own statistics of a socket (`XDP_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelXskStats {
    /// Packets dropped for reasons other than a full or empty ring.
    pub rx_dropped: u64,
    /// Invalid RX descriptors.
    pub rx_invalid_descs: u64,
    /// Invalid TX descriptors.
    pub tx_invalid_descs: u64,
    /// Packets dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Packets dropped because the fill ring was empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the TX ring was found empty.
    pub tx_ring_empty_descs: u64,
}

impl KernelXskStats {
    /// Reads the statistics of AF_XDP socket `fd`. Kernels older than 5.9 fill only the first three; the others
    /// read 0.
    pub(crate) fn read(fd: BorrowedFd<'_>) -> Result<Self> {
        let mut stats = libc::xdp_statistics {
            rx_dropped: 0,
            rx_invalid_descs: 0,
            tx_invalid_descs: 0,
            rx_ring_full: 0,
            rx_fill_ring_empty_descs: 0,
            tx_ring_empty_descs: 0,
        };
        get_xdp_option(fd, libc::XDP_STATISTICS, &mut stats, "XDP_STATISTICS")?;
        Ok(Self {
            rx_dropped: stats.rx_dropped,
            rx_invalid_descs: stats.rx_invalid_descs,
            tx_invalid_descs: stats.tx_invalid_descs,
            rx_ring_full: stats.rx_ring_full,
            rx_fill_ring_empty_descs: stats.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: stats.tx_ring_empty_descs,
        })
    }
}

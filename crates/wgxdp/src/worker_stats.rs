//! Per-worker counters, kept by the binary (the device counts per reason, not per thread).
//! Each worker owns one cache-line-aligned block and is its only writer.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// One per-worker counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Packets read from TUN (after splitting offloaded super-packets).
    TunRxPackets,
    /// Their bytes.
    TunRxBytes,
    /// Packets queued for TUN writes.
    TunTxPackets,
    /// Their bytes.
    TunTxBytes,
    /// UDP datagrams received (GRO super-datagrams counted per segment).
    UdpRxPackets,
    /// Their bytes.
    UdpRxBytes,
    /// UDP datagrams the kernel accepted.
    UdpTxPackets,
    /// Bytes of the batches handed to sendmmsg.
    UdpTxBytes,
    /// Non-empty TUN reads.
    TunBatches,
    /// Non-empty recvmmsg calls.
    UdpBatches,
    /// poll() calls.
    Polls,
    /// poll() calls that returned with something ready.
    Wakeups,
    /// Handshake messages passed to the handshake thread.
    HandshakesQueued,
    /// Handshake messages dropped because the handshake queue was full.
    HandshakeQueueFull,
    /// Packets lost to I/O errors (refused sends, failed TUN writes, unsplittable reads).
    IoErrors,
    /// AF_XDP path: rounds that found work or spun without sleeping.
    BusyRounds,
    /// AF_XDP path: times the worker blocked because nothing came for a while.
    Sleeps,
    /// AF_XDP path: frames taken from the RX ring.
    XdpRxFrames,
    /// Their bytes (whole Ethernet frames).
    XdpRxBytes,
    /// AF_XDP path: frames queued on the TX ring.
    XdpTxFrames,
    /// Their bytes (whole Ethernet frames).
    XdpTxBytes,
    /// AF_XDP path: sealed packets sent through the kernel socket instead (next hop unknown, or the endpoint not
    /// routed via the link).
    XdpTxFallback,
}

/// Number of counters.
pub const COUNTERS: usize = Counter::ALL.len();

impl Counter {
    /// Every counter, in report order.
    pub const ALL: [Counter; 22] = [
        Counter::TunRxPackets,
        Counter::TunRxBytes,
        Counter::TunTxPackets,
        Counter::TunTxBytes,
        Counter::UdpRxPackets,
        Counter::UdpRxBytes,
        Counter::UdpTxPackets,
        Counter::UdpTxBytes,
        Counter::TunBatches,
        Counter::UdpBatches,
        Counter::Polls,
        Counter::Wakeups,
        Counter::HandshakesQueued,
        Counter::HandshakeQueueFull,
        Counter::IoErrors,
        Counter::BusyRounds,
        Counter::Sleeps,
        Counter::XdpRxFrames,
        Counter::XdpRxBytes,
        Counter::XdpTxFrames,
        Counter::XdpTxBytes,
        Counter::XdpTxFallback,
    ];

    /// Stable snake_case name: JSON key and table row.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::TunRxPackets => "tun_rx_packets",
            Counter::TunRxBytes => "tun_rx_bytes",
            Counter::TunTxPackets => "tun_tx_packets",
            Counter::TunTxBytes => "tun_tx_bytes",
            Counter::UdpRxPackets => "udp_rx_packets",
            Counter::UdpRxBytes => "udp_rx_bytes",
            Counter::UdpTxPackets => "udp_tx_packets",
            Counter::UdpTxBytes => "udp_tx_bytes",
            Counter::TunBatches => "tun_batches",
            Counter::UdpBatches => "udp_batches",
            Counter::Polls => "polls",
            Counter::Wakeups => "wakeups",
            Counter::HandshakesQueued => "handshakes_queued",
            Counter::HandshakeQueueFull => "handshake_queue_full",
            Counter::IoErrors => "io_errors",
            Counter::BusyRounds => "busy_rounds",
            Counter::Sleeps => "sleeps",
            Counter::XdpRxFrames => "xdp_rx_frames",
            Counter::XdpRxBytes => "xdp_rx_bytes",
            Counter::XdpTxFrames => "xdp_tx_frames",
            Counter::XdpTxBytes => "xdp_tx_bytes",
            Counter::XdpTxFallback => "xdp_tx_fallback",
        }
    }
}

/// Live counters of one worker thread.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerStats {
    counts: [AtomicU64; COUNTERS],
}

impl WorkerStats {
    /// Adds `n` to `counter` (only the owning worker writes, so relaxed is enough).
    pub fn add(&self, counter: Counter, n: u64) {
        if let Some(c) = self.counts.get(counter as usize) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            values: std::array::from_fn(|i| {
                self.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
            }),
        }
    }
}

/// A plain copy of [`WorkerStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    values: [u64; COUNTERS],
}

impl WorkerSnapshot {
    /// One counter's value.
    pub fn get(&self, counter: Counter) -> u64 {
        self.values.get(counter as usize).copied().unwrap_or(0)
    }

    /// Field-wise sum (for totals over workers).
    pub fn plus(mut self, other: &WorkerSnapshot) -> WorkerSnapshot {
        for (a, b) in self.values.iter_mut().zip(other.values) {
            *a = a.saturating_add(b);
        }
        self
    }

    /// `"name":value` pairs, comma-separated, in [`Counter::ALL`] order.
    pub fn write_json_fields(&self, out: &mut String) {
        for (i, c) in Counter::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, "{sep}\"{}\":{}", c.name(), self.get(*c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot_sum_and_serialise() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        let stats = WorkerStats::default();
        stats.add(Counter::TunRxPackets, 3);
        stats.add(Counter::IoErrors, 1);
        let snap = stats.snapshot();
        assert_eq!(snap.get(Counter::TunRxPackets), 3);
        let double = snap.plus(&snap);
        assert_eq!(double.get(Counter::TunRxPackets), 6);
        assert_eq!(double.get(Counter::IoErrors), 2);
        let mut json = String::new();
        snap.write_json_fields(&mut json);
        assert!(json.starts_with("\"tun_rx_packets\":3,"), "{json}");
        assert!(json.contains("\"io_errors\":1,"), "{json}");
        assert!(json.ends_with("\"xdp_tx_fallback\":0"), "{json}");
        assert_eq!(json.matches(':').count(), COUNTERS);
    }
}

//! Per-worker counters, kept by the pipeline (the device counts per reason, not per thread). Each worker owns one
//! cache-line-aligned block and is its only writer; `stats` reads them from another thread.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use wgxdp_device::CounterInfo;

/// One per-worker counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Packets read from TUN (after splitting offloaded super-packets).
    TunRxPackets,
    /// Their bytes.
    TunRxBytes,
    /// Packets written to TUN (every segment of a coalesced super-packet counted).
    TunTxPackets,
    /// Their bytes.
    TunTxBytes,
    /// Non-empty TUN reads.
    TunBatches,
    /// TUN write calls (a coalesced super-packet is one).
    TunWrites,
    /// Datagrams received on the worker's kernel UDP sockets (GRO super-datagrams counted per segment).
    UdpRxPackets,
    /// Their bytes.
    UdpRxBytes,
    /// Datagrams the kernel UDP sockets accepted.
    UdpTxPackets,
    /// Bytes of the batches handed to sendmmsg.
    UdpTxBytes,
    /// Non-empty recvmmsg calls.
    UdpBatches,
    /// Waits in epoll with a timeout (the worker had nothing to do).
    Polls,
    /// Waits that ended because something became ready (the rest timed out).
    Wakeups,
    /// Rounds spent spinning on the backend's rings instead of sleeping.
    BusyRounds,
    /// Times the worker blocked because nothing came within its spin time.
    Sleeps,
    /// Handshake messages a data path passed to the handshake thread.
    HandshakesQueued,
    /// Of those, dropped because the handshake queue was full.
    HandshakeQueueFull,
    /// Packets lost to I/O errors (refused sends, failed TUN writes, unsplittable reads).
    IoErrors,
    /// Sealed-message slots the backend could not hand out even after a flush (ring or batch full): packets dropped.
    TxNoRoom,
    /// AF_XDP path: frames taken from the RX ring.
    XdpRxFrames,
    /// Their bytes (whole Ethernet frames).
    XdpRxBytes,
    /// AF_XDP path: frames published on the TX ring.
    XdpTxFrames,
    /// Their bytes (whole Ethernet frames).
    XdpTxBytes,
    /// AF_XDP path: sendto() kicks of the TX ring (the kernel asked for a wakeup).
    XdpTxKicks,
    /// AF_XDP path: sealed messages sent through the kernel socket instead (next hop unknown, endpoint not via the link, or too large for a frame).
    XdpTxFallback,
    /// AF_XDP socket (kernel XDP_STATISTICS): received packets dropped for other reasons than a full or empty ring.
    XskRxDropped,
    /// AF_XDP socket (kernel): invalid RX descriptors.
    XskRxInvalidDescs,
    /// AF_XDP socket (kernel): invalid TX descriptors.
    XskTxInvalidDescs,
    /// AF_XDP socket (kernel): packets dropped because the RX ring was full.
    XskRxRingFull,
    /// AF_XDP socket (kernel): packets dropped because the fill ring was empty.
    XskRxFillRingEmpty,
    /// AF_XDP socket (kernel): times the kernel found the TX ring empty.
    XskTxRingEmpty,
}

/// Number of counters.
pub const COUNTERS: usize = Counter::ALL.len();

impl Counter {
    /// Every counter, in report order.
    pub const ALL: [Counter; 31] = [
        Counter::TunRxPackets,
        Counter::TunRxBytes,
        Counter::TunTxPackets,
        Counter::TunTxBytes,
        Counter::TunBatches,
        Counter::TunWrites,
        Counter::UdpRxPackets,
        Counter::UdpRxBytes,
        Counter::UdpTxPackets,
        Counter::UdpTxBytes,
        Counter::UdpBatches,
        Counter::Polls,
        Counter::Wakeups,
        Counter::BusyRounds,
        Counter::Sleeps,
        Counter::HandshakesQueued,
        Counter::HandshakeQueueFull,
        Counter::IoErrors,
        Counter::TxNoRoom,
        Counter::XdpRxFrames,
        Counter::XdpRxBytes,
        Counter::XdpTxFrames,
        Counter::XdpTxBytes,
        Counter::XdpTxKicks,
        Counter::XdpTxFallback,
        Counter::XskRxDropped,
        Counter::XskRxInvalidDescs,
        Counter::XskTxInvalidDescs,
        Counter::XskRxRingFull,
        Counter::XskRxFillRingEmpty,
        Counter::XskTxRingEmpty,
    ];

    /// Name, help and kind: the one description of each counter, for the table, the JSON and `/metrics`.
    pub const fn info(self) -> CounterInfo {
        let c = CounterInfo::counter;
        match self {
            Counter::TunRxPackets => c(
                "tun_rx_packets",
                "Packets read from TUN (after splitting offloaded super-packets).",
            ),
            Counter::TunRxBytes => c(
                "tun_rx_bytes",
                "Bytes of the packets read from TUN.",
            ),
            Counter::TunTxPackets => c(
                "tun_tx_packets",
                "Packets written to TUN (every segment of a coalesced super-packet counted).",
            ),
            Counter::TunTxBytes => c(
                "tun_tx_bytes",
                "Bytes of the packets written to TUN.",
            ),
            Counter::TunBatches => c(
                "tun_batches",
                "Non-empty TUN reads.",
            ),
            Counter::TunWrites => c(
                "tun_writes",
                "TUN write calls (a coalesced super-packet is one).",
            ),
            Counter::UdpRxPackets => c(
                "udp_rx_packets",
                "Datagrams received on the worker's kernel UDP sockets (GRO super-datagrams counted per segment).",
            ),
            Counter::UdpRxBytes => c(
                "udp_rx_bytes",
                "Bytes of the datagrams received on the worker's kernel UDP sockets.",
            ),
            Counter::UdpTxPackets => c(
                "udp_tx_packets",
                "Datagrams the kernel UDP sockets accepted.",
            ),
            Counter::UdpTxBytes => c(
                "udp_tx_bytes",
                "Bytes of the batches handed to sendmmsg.",
            ),
            Counter::UdpBatches => c(
                "udp_batches",
                "Non-empty recvmmsg calls.",
            ),
            Counter::Polls => c(
                "polls",
                "Waits in epoll with a timeout (the worker had nothing to do).",
            ),
            Counter::Wakeups => c(
                "wakeups",
                "Waits that ended because something became ready (the rest timed out).",
            ),
            Counter::BusyRounds => c(
                "busy_rounds",
                "Rounds spent spinning on the backend's rings instead of sleeping.",
            ),
            Counter::Sleeps => c(
                "sleeps",
                "Times the worker blocked because nothing came within its spin time.",
            ),
            Counter::HandshakesQueued => c(
                "handshakes_queued",
                "Handshake messages a data path passed to the handshake thread.",
            ),
            Counter::HandshakeQueueFull => c(
                "handshake_queue_full",
                "Of those, dropped because the handshake queue was full.",
            ),
            Counter::IoErrors => c(
                "io_errors",
                "Packets lost to I/O errors (refused sends, failed TUN writes, unsplittable reads).",
            ),
            Counter::TxNoRoom => c(
                "tx_no_room",
                "Sealed-message slots the backend could not hand out even after a flush (ring or batch full): packets dropped.",
            ),
            Counter::XdpRxFrames => c(
                "xdp_rx_frames",
                "AF_XDP path: frames taken from the RX ring.",
            ),
            Counter::XdpRxBytes => c(
                "xdp_rx_bytes",
                "AF_XDP path: bytes of the frames taken from the RX ring (whole Ethernet frames).",
            ),
            Counter::XdpTxFrames => c(
                "xdp_tx_frames",
                "AF_XDP path: frames published on the TX ring.",
            ),
            Counter::XdpTxBytes => c(
                "xdp_tx_bytes",
                "AF_XDP path: bytes of the frames published on the TX ring (whole Ethernet frames).",
            ),
            Counter::XdpTxKicks => c(
                "xdp_tx_kicks",
                "AF_XDP path: sendto() kicks of the TX ring (the kernel asked for a wakeup).",
            ),
            Counter::XdpTxFallback => c(
                "xdp_tx_fallback",
                "AF_XDP path: sealed messages sent through the kernel socket instead (next hop unknown, endpoint not via the link, or too large for a frame).",
            ),
            Counter::XskRxDropped => c(
                "xsk_rx_dropped",
                "AF_XDP socket (kernel XDP_STATISTICS): received packets dropped for other reasons than a full or empty ring.",
            ),
            Counter::XskRxInvalidDescs => c(
                "xsk_rx_invalid_descs",
                "AF_XDP socket (kernel): invalid RX descriptors.",
            ),
            Counter::XskTxInvalidDescs => c(
                "xsk_tx_invalid_descs",
                "AF_XDP socket (kernel): invalid TX descriptors.",
            ),
            Counter::XskRxRingFull => c(
                "xsk_rx_ring_full",
                "AF_XDP socket (kernel): packets dropped because the RX ring was full.",
            ),
            Counter::XskRxFillRingEmpty => c(
                "xsk_rx_fill_ring_empty_descs",
                "AF_XDP socket (kernel): packets dropped because the fill ring was empty.",
            ),
            Counter::XskTxRingEmpty => c(
                "xsk_tx_ring_empty_descs",
                "AF_XDP socket (kernel): times the kernel found the TX ring empty.",
            ),
        }
    }

    /// Stable snake_case name: JSON key and table row.
    pub const fn name(self) -> &'static str {
        self.info().name
    }
}

/// Live counters of one worker thread.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerStats {
    counts: [AtomicU64; COUNTERS],
    /// When the worker last went round its loop (milliseconds of the daemon clock): its heartbeat.
    last_beat: AtomicU64,
}

impl WorkerStats {
    /// Adds `n` to `counter` (only the owning worker writes, so relaxed is enough).
    pub fn add(&self, counter: Counter, n: u64) {
        if let Some(c) = self.counts.get(counter as usize) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sets `counter` to `value` (for figures the kernel keeps, such as the AF_XDP socket's statistics).
    pub fn set(&self, counter: Counter, value: u64) {
        if let Some(c) = self.counts.get(counter as usize) {
            c.store(value, Ordering::Relaxed);
        }
    }

    /// The worker is alive at `now` (it beats once per round of its loop, whose waits last a second at most).
    pub fn beat(&self, now: std::time::Duration) {
        let ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        self.last_beat.store(ms, Ordering::Relaxed);
    }

    /// The last heartbeat, in milliseconds of the daemon clock (0 before the first).
    pub fn last_beat_ms(&self) -> u64 {
        self.last_beat.load(Ordering::Relaxed)
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
}

/// One JSON object: `{"tun_rx_packets":..,...}`, every counter by name in [`Counter::ALL`] order.
impl Serialize for WorkerSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(COUNTERS))?;
        for counter in Counter::ALL {
            map.serialize_entry(counter.name(), &self.get(counter))?;
        }
        map.end()
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
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.starts_with("{\"tun_rx_packets\":3,"), "{json}");
        assert!(json.contains("\"io_errors\":1,"), "{json}");
        assert!(json.ends_with("\"xsk_tx_ring_empty_descs\":0}"), "{json}");
        assert_eq!(json.matches(':').count(), COUNTERS);
    }
}

//! The kernel UDP socket side of a worker, shared by both kinds: the socket-path worker receives everything here;
//! an AF_XDP worker receives here what its XDP program passes to the kernel (handshakes, cookie replies,
//! fragments, queues without an AF_XDP socket) and sends here what has no known next hop yet.
//!
//! Received datagrams are dispatched by kind: transport data is opened in place in one [`RxBatch`] per
//! `recvmmsg` (or per AF_XDP ring read) and queued for TUN; handshake messages are copied to the handshake
//! thread's queue. No allocation: every buffer belongs to the calling worker.

use crate::handshake_queue::QueueError;
use crate::log_debug;
use crate::shared::Shared;
use crate::worker_stats::{Counter, WorkerStats};
use std::io;
use std::net::SocketAddr;
use wgxdp_device::{Device, DropReason, Inbound, MessageKind, RxBatch};
use wgxdp_io_socket::{BatchUdpSocket, RecvBatch, SendBatch, TunQueue, TunSendBatch};

/// Packets queued before a TUN write.
pub const TUN_SEND_BATCH: usize = 128;

/// Where opened packets go: the worker's TUN queue and its write batch.
pub struct TunSink<'a> {
    /// The worker's TUN queue.
    pub tun: &'a TunQueue,
    /// Packets waiting for the next TUN write.
    pub batch: &'a mut TunSendBatch,
}

impl TunSink<'_> {
    /// Queues one inner packet, writing the batch first when it is full.
    fn push(&mut self, packet: &[u8], stats: &WorkerStats) {
        if self.batch.len() == TUN_SEND_BATCH {
            flush_tun(self.tun, self.batch, stats);
        }
        // One copy, into the TUN write batch: the kernel's TUN write copies anyway, and the batch lets
        // offload-capable TUNs coalesce.
        match self.batch.push(packet) {
            Ok(()) => stats.add(Counter::TunTxBytes, packet.len() as u64),
            Err(_) => stats.add(Counter::IoErrors, 1),
        }
    }
}

/// Receives what is waiting on `socket`, up to `budget` `recvmmsg` calls: handshakes go to the handshake thread,
/// transport data is opened and written to TUN. Returns the datagrams handled.
pub fn drain_udp(
    shared: &Shared,
    socket: &BatchUdpSocket,
    stats: &WorkerStats,
    rx: &mut RecvBatch,
    sink: &mut TunSink<'_>,
    budget: usize,
) -> usize {
    let mut handled = 0;
    for _ in 0..budget {
        match socket.recv_batch(rx) {
            Ok(_) => stats.add(Counter::IoErrors, rx.dropped() as u64),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                // ICMP errors surface here (ECONNREFUSED...): count and go on.
                log_debug!("{}: UDP receive: {e}", shared.interface);
                stats.add(Counter::IoErrors, 1);
                break;
            }
        }
        if rx.is_empty() {
            break;
        }
        stats.add(Counter::UdpBatches, 1);
        let mut opened = shared.device.rx_batch(shared.clock.now());
        for i in 0..rx.len() {
            let Some((source, segment)) = rx.get(i).map(|d| (d.source, d.segment_size)) else {
                continue;
            };
            let Some(data) = rx.get_mut(i) else {
                continue;
            };
            if data.is_empty() {
                // An empty datagram yields no chunk below but is still a malformed message.
                stats.add(Counter::UdpRxPackets, 1);
                shared.device.count_drop(DropReason::Malformed);
                continue;
            }
            // GRO super-datagrams are split by their segment size.
            for datagram in data.chunks_mut(segment.max(1)) {
                handled += 1;
                stats.add(Counter::UdpRxPackets, 1);
                stats.add(Counter::UdpRxBytes, datagram.len() as u64);
                dispatch(shared, &mut opened, source, datagram, stats, sink);
            }
        }
        opened.finish();
        if !sink.batch.is_empty() {
            flush_tun(sink.tun, sink.batch, stats);
        }
    }
    handled
}

/// One datagram or one AF_XDP payload: transport data is opened in `opened` and queued for TUN, handshake
/// messages go to the handshake thread.
pub fn dispatch(
    shared: &Shared,
    opened: &mut RxBatch<'_>,
    source: SocketAddr,
    message: &mut [u8],
    stats: &WorkerStats,
    sink: &mut TunSink<'_>,
) {
    match Device::classify(message) {
        MessageKind::Transport => {}
        MessageKind::Malformed => {
            shared.device.count_drop(DropReason::Malformed);
            return;
        }
        MessageKind::Initiation | MessageKind::Response | MessageKind::CookieReply => {
            match shared.handshakes.push(source, message) {
                Ok(()) => stats.add(Counter::HandshakesQueued, 1),
                Err(QueueError::Full) | Err(QueueError::Closed) => {
                    stats.add(Counter::HandshakeQueueFull, 1)
                }
            }
            return;
        }
    }
    if let Inbound::Tun(range) = opened.receive(source, message) {
        if let Some(packet) = message.get(range) {
            sink.push(packet, stats);
        }
    }
}

/// Writes and empties a TUN batch.
pub fn flush_tun(tun: &TunQueue, batch: &mut TunSendBatch, stats: &WorkerStats) {
    if batch.is_empty() {
        return;
    }
    let queued = batch.len();
    match tun.send_batch(batch) {
        Ok(n) => stats.add(Counter::TunTxPackets, n as u64),
        Err(_) => stats.add(Counter::IoErrors, queued as u64),
    }
}

/// Sends and empties a UDP batch.
pub fn flush_udp(socket: &BatchUdpSocket, batch: &mut SendBatch, stats: &WorkerStats) {
    if batch.is_empty() {
        return;
    }
    let queued = batch.len();
    let bytes: usize = (0..queued)
        .filter_map(|i| batch.get(i))
        .map(|(d, _)| d.len())
        .sum();
    match socket.send_batch(batch) {
        Ok(sent) => {
            stats.add(Counter::UdpTxPackets, sent as u64);
            stats.add(Counter::IoErrors, queued.saturating_sub(sent) as u64);
            // Bytes of the whole batch: exact unless the kernel refused some datagrams.
            stats.add(Counter::UdpTxBytes, bytes as u64);
        }
        Err(_) => stats.add(Counter::IoErrors, queued as u64),
    }
    batch.clear();
}

//! The kernel-socket side of an AF_XDP worker: datagrams the XDP program passes to the kernel (handshakes, cookie
//! replies, fragments, queues without a socket) arrive on the UDP sockets, and sealed packets whose next hop is not
//! known yet leave through them (which also makes the kernel resolve the neighbour).
//!
//! This mirrors the socket path's receive loop in `worker.rs` on purpose: that worker's helpers are private to it.

use crate::handshake_queue::QueueError;
use crate::log_debug;
use crate::shared::Shared;
use crate::worker_stats::{Counter, WorkerStats};
use std::io;
use wgxdp_device::{Device, DropReason, Inbound, MessageKind};
use wgxdp_io_socket::{BatchUdpSocket, RecvBatch, SendBatch, TunQueue, TunSendBatch};

/// recvmmsg calls per wake-up before the worker looks at its other sources again.
const BUDGET: usize = 4;

/// Receives what is waiting on `socket`: handshakes go to the handshake thread, transport data is opened and
/// queued for TUN. Returns the datagrams handled.
pub fn drain_udp(
    shared: &Shared,
    socket: &BatchUdpSocket,
    stats: &WorkerStats,
    rx: &mut RecvBatch,
    tun_tx: &mut TunSendBatch,
    tun: &TunQueue,
) -> usize {
    let mut handled = 0;
    for _ in 0..BUDGET {
        match socket.recv_batch(rx) {
            Ok(_) => stats.add(Counter::IoErrors, rx.dropped() as u64),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                log_debug!("{}: UDP receive: {e}", shared.interface);
                stats.add(Counter::IoErrors, 1);
                break;
            }
        }
        if rx.is_empty() {
            break;
        }
        stats.add(Counter::UdpBatches, 1);
        let now = shared.clock.now();
        for i in 0..rx.len() {
            let Some((source, segment)) = rx.get(i).map(|d| (d.source, d.segment_size)) else {
                continue;
            };
            let Some(data) = rx.get_mut(i) else {
                continue;
            };
            if data.is_empty() {
                stats.add(Counter::UdpRxPackets, 1);
                shared.device.count_drop(DropReason::Malformed);
                continue;
            }
            for datagram in data.chunks_mut(segment.max(1)) {
                handled += 1;
                stats.add(Counter::UdpRxPackets, 1);
                stats.add(Counter::UdpRxBytes, datagram.len() as u64);
                dispatch(shared, source, datagram, now, stats, tun_tx, tun);
            }
        }
    }
    handled
}

/// One datagram or one AF_XDP payload: transport data to TUN, handshake messages to the handshake thread.
pub fn dispatch(
    shared: &Shared,
    source: std::net::SocketAddr,
    message: &mut [u8],
    now: std::time::Duration,
    stats: &WorkerStats,
    tun_tx: &mut TunSendBatch,
    tun: &TunQueue,
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
    if let Inbound::Tun(range) = shared.device.receive_transport(source, message, now) {
        let Some(packet) = message.get(range) else {
            return;
        };
        if tun_tx.len() == TUN_SEND_BATCH {
            flush_tun(tun, tun_tx, stats);
        }
        // One copy, from the frame into the TUN write batch: the kernel's TUN write copies anyway, and the batch
        // lets offload-capable TUNs coalesce.
        match tun_tx.push(packet) {
            Ok(()) => stats.add(Counter::TunTxBytes, packet.len() as u64),
            Err(_) => stats.add(Counter::IoErrors, 1),
        }
    }
}

/// Packets queued before a TUN write.
pub const TUN_SEND_BATCH: usize = 128;

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

/// Sends and empties a batch of fallback datagrams.
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
            stats.add(Counter::UdpTxBytes, bytes as u64);
        }
        Err(_) => stats.add(Counter::IoErrors, queued as u64),
    }
    batch.clear();
}

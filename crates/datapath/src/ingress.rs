//! Underlay -> TUN: a batch of datagrams from the backend, opened in place in one receive batch of the device
//! (index lookup, decrypt, replay window, reverse-path ACL), the inner packets coalesced into TUN writes.

use std::io;

use wgxdp_device::{Device, DropReason, Inbound, MessageKind};
use wgxdp_io_socket::{BatchError, TunWriteBatch};

use crate::host::Host;
use crate::pipeline::{Pipeline, StopCause};
use crate::stats::{Counter, WorkerStats};
use crate::tun_port::{tun_is_gone, TunPort};
use crate::underlay::Underlay;

impl<H: Host, U: Underlay, T: TunPort> Pipeline<'_, H, U, T> {
    /// Up to `rx_batches` receive batches; returns the datagrams handled.
    pub(crate) fn ingress(&mut self) -> Result<usize, StopCause> {
        let Self {
            host,
            stats,
            underlay,
            tun,
            tun_tx,
            config,
            ..
        } = self;
        let (host, stats) = (*host, *stats);
        let device = host.device();
        let mut total = 0;
        for _ in 0..config.rx_batches {
            if !underlay.rx_pending() {
                break;
            }
            let mut opened = device.rx_batch(host.now());
            let mut tun_error = None;
            let received = underlay
                .receive(stats, |from, message| match Device::classify(message) {
                    MessageKind::Transport => {
                        if let Inbound::Tun(range) =
                            opened.receive_from(from.addr, from.local, message)
                        {
                            if let Some(packet) = message.get(range) {
                                if let Err(e) = queue(tun, tun_tx, packet, stats) {
                                    tun_error.get_or_insert(e);
                                }
                            }
                        }
                    }
                    MessageKind::Malformed => device.count_drop(DropReason::Malformed),
                    MessageKind::Initiation | MessageKind::Response | MessageKind::CookieReply => {
                        if host.handshake(from, message) {
                            stats.add(Counter::HandshakesQueued, 1);
                        } else {
                            stats.add(Counter::HandshakeQueueFull, 1);
                        }
                    }
                })
                .map_err(StopCause::Failed)?;
            opened.finish();
            if let Err(e) = write_tun(tun, tun_tx, stats) {
                tun_error.get_or_insert(e);
            }
            if let Some(e) = tun_error {
                return Err(StopCause::TunGone(format!("TUN write failed: {e}")));
            }
            total += received;
            if received == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// Queues one decrypted packet for the TUN, writing the batch first when it is full. `Err` only when the TUN is
/// gone; other failures are counted.
fn queue<T: TunPort>(
    tun: &mut T,
    batch: &mut TunWriteBatch,
    packet: &[u8],
    stats: &WorkerStats,
) -> Result<(), io::Error> {
    match batch.push(packet) {
        Ok(()) => {}
        Err(BatchError::Full) => {
            write_tun(tun, batch, stats)?;
            if batch.push(packet).is_err() {
                stats.add(Counter::IoErrors, 1);
                return Ok(());
            }
        }
        Err(_) => {
            stats.add(Counter::IoErrors, 1);
            return Ok(());
        }
    }
    stats.add(Counter::TunTxBytes, packet.len() as u64);
    Ok(())
}

/// Writes and empties the batch; `Err` only when the TUN is gone, other failures are counted as lost packets.
pub(crate) fn write_tun<T: TunPort>(
    tun: &mut T,
    batch: &mut TunWriteBatch,
    stats: &WorkerStats,
) -> Result<(), io::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let (buffers, packets) = (batch.len(), batch.packets());
    match tun.write(batch) {
        Ok(n) => {
            stats.add(Counter::TunTxPackets, n as u64);
            stats.add(Counter::TunWrites, buffers as u64);
            Ok(())
        }
        Err(e) if tun_is_gone(&e) => Err(e),
        Err(e) => {
            log::debug!("TUN write: {e}");
            stats.add(Counter::IoErrors, packets as u64);
            Ok(())
        }
    }
}

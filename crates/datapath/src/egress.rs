//! TUN -> underlay: packets read from the TUN (TSO/USO super-packets split), routed and sealed by one send batch
//! of the device straight into the buffers the backend hands out, then sent in one flush (one TX ring publish
//! and kick, or one `sendmmsg` per family).

use std::io;

use wgxdp_device::Outbound;

use crate::host::Host;
use crate::pipeline::{Pipeline, StopCause};
use crate::stats::Counter;
use crate::tun_port::{tun_is_gone, TunPort};
use crate::underlay::Underlay;

impl<H: Host, U: Underlay, T: TunPort> Pipeline<'_, H, U, T> {
    /// Up to `tun_reads` TUN reads, sealed as one batch and flushed once; returns the packets read.
    pub(crate) fn egress(&mut self) -> Result<usize, StopCause> {
        if !self.tun_ready {
            return Ok(0);
        }
        let Self {
            host,
            stats,
            underlay,
            tun,
            tun_rx,
            config,
            tun_ready,
            ..
        } = self;
        let (host, stats) = (*host, *stats);
        let mut batch = host.device().tx_batch(host.now());
        let mut read = 0;
        let mut gone = None;
        for _ in 0..config.tun_reads {
            match tun.read(tun_rx) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *tun_ready = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // A super-packet that could not be split: dropped, the queue is fine.
                    log::debug!("TUN packet dropped: {e}");
                    stats.add(Counter::IoErrors, 1);
                    continue;
                }
                Err(e) if tun_is_gone(&e) => {
                    gone = Some(e);
                    break;
                }
                Err(e) => {
                    log::debug!("TUN read: {e}");
                    stats.add(Counter::IoErrors, 1);
                    break;
                }
            }
            stats.add(Counter::TunBatches, 1);
            for packet in tun_rx.iter() {
                read += 1;
                stats.add(Counter::TunRxPackets, 1);
                stats.add(Counter::TunRxBytes, packet.len() as u64);
                if batch.send(packet, underlay) == Outbound::NoRoom {
                    // Full ring or batch: send what is queued and try once more.
                    underlay.flush(stats);
                    if batch.send(packet, underlay) == Outbound::NoRoom {
                        stats.add(Counter::TxNoRoom, 1);
                    }
                }
            }
        }
        if batch.finish() {
            host.wake_timers();
        }
        underlay.flush(stats);
        match gone {
            Some(e) => Err(StopCause::TunGone(format!("TUN read failed: {e}"))),
            None => Ok(read),
        }
    }
}

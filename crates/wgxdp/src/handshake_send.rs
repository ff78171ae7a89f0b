//! Sending what the slow path produced (responses, cookie replies, initiations, keepalives, flushed staged
//! packets) through the handshake sockets, in one sendmmsg per family. Each slow-path thread owns one sender.

use crate::log_debug;
use crate::shared::Shared;
use wgxdp_device::Outbox;
use wgxdp_io_socket::{PacketInfo, SendBatch};

/// Datagrams per send batch (handshake rate: small).
const SEND_BATCH: usize = 64;

/// One thread's send batches.
#[derive(Debug)]
pub struct HandshakeSender {
    v4: SendBatch,
    v6: SendBatch,
}

impl HandshakeSender {
    /// Batches for messages up to the tunnel MTU plus the transport overhead.
    pub fn new(mtu: u16) -> Self {
        let slot = usize::from(mtu) + 256;
        Self {
            v4: SendBatch::new(SEND_BATCH, slot),
            v6: SendBatch::new(SEND_BATCH, slot),
        }
    }

    /// Sends and empties `outbox`.
    pub fn send(&mut self, shared: &Shared, outbox: &mut Outbox) {
        if outbox.is_empty() {
            return;
        }
        let group = shared.sockets.load();
        let sockets = &group.handshake;
        for (to, payload) in outbox.drain() {
            let batch = if to.addr.is_ipv4() {
                &mut self.v4
            } else {
                &mut self.v6
            };
            if batch.len() == batch.capacity() {
                if let Err(e) = sockets.for_destination(&to.addr).send_batch(batch) {
                    log_debug!("{}: handshake send failed: {e}", shared.interface);
                }
                batch.clear();
            }
            // From the address the peer sent to (a refused one falls back to the routing choice in the send).
            let source = to.local.map(|l| PacketInfo {
                local: l.ip,
                ifindex: l.ifindex,
            });
            match batch.next_slot_mut(payload.len()) {
                Some(slot) => {
                    slot.copy_from_slice(&payload);
                    batch.commit_slot(payload.len(), to.addr, source);
                }
                None => log_debug!(
                    "{}: cannot send to {}: too large",
                    shared.interface,
                    to.addr
                ),
            }
        }
        for (batch, socket) in [(&mut self.v4, &sockets.v4), (&mut self.v6, &sockets.v6)] {
            if !batch.is_empty() {
                if let Err(e) = socket.send_batch(batch) {
                    log_debug!("{}: handshake send failed: {e}", shared.interface);
                }
                batch.clear();
            }
        }
    }
}

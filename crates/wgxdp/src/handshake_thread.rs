//! The handshake/timer thread: handles queued handshake messages (one Curve25519 operation
//! each, kept off the workers), runs the device timers at `next_deadline` or when a packet
//! was staged, and sends what the device put in the outbox through the handshake sockets.

use crate::handshake_queue::{HandshakeReceiver, Job, Next};
use crate::log_debug;
use crate::shared::Shared;
use rand::rngs::OsRng;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wgxdp_device::Outbox;
use wgxdp_io_socket::SendBatch;

/// Longest sleep without a deadline: bounds how late a stop or a timer change is noticed.
const MAX_SLEEP: Duration = Duration::from_millis(500);
/// Datagrams per send batch (handshake rate: small).
const SEND_BATCH: usize = 32;

/// Runs until the daemon stops.
pub fn run(shared: Arc<Shared>, receiver: HandshakeReceiver) {
    let slot_len = usize::from(shared.mtu) + 256;
    let mut v4 = SendBatch::new(SEND_BATCH, slot_len);
    let mut v6 = SendBatch::new(SEND_BATCH, slot_len);
    let mut outbox = Outbox::new();
    let mut rng = OsRng;
    while !shared.stopping() {
        let now = shared.clock.now();
        let sleep = shared
            .device
            .next_deadline()
            .map_or(MAX_SLEEP, |at| at.saturating_sub(now).min(MAX_SLEEP));
        match receiver.next(&shared.handshakes, sleep) {
            Next::Job {
                job: Job::Datagram(source, datagram),
                under_load,
            } => {
                let now = shared.clock.now();
                shared.device.receive_handshake(
                    source,
                    &datagram,
                    now,
                    SystemTime::now(),
                    under_load,
                    &mut rng,
                    &mut outbox,
                );
                shared.handshakes.recycle(datagram);
            }
            Next::Job { job: Job::Wake, .. } | Next::Timeout => {}
            Next::Closed => break,
        }
        let now = shared.clock.now();
        let due = shared.device.next_deadline().is_some_and(|at| at <= now);
        if shared.device.take_handshake_wanted() || due {
            shared
                .device
                .tick(now, SystemTime::now(), &mut rng, &mut outbox);
        }
        if !outbox.is_empty() {
            send_outbox(&shared, &mut outbox, &mut v4, &mut v6);
        }
    }
}

/// Sends every datagram in the outbox through the handshake socket of its family.
fn send_outbox(shared: &Shared, outbox: &mut Outbox, v4: &mut SendBatch, v6: &mut SendBatch) {
    let group = shared.sockets.load();
    let sockets = &group.handshake;
    for (to, payload) in outbox.drain() {
        let batch = if to.is_ipv4() { &mut *v4 } else { &mut *v6 };
        if batch.len() == batch.capacity() {
            let _ = sockets.for_destination(&to).send_batch(batch);
            batch.clear();
        }
        if let Err(e) = batch.push(&payload, to) {
            log_debug!("{}: cannot send to {to}: {e}", shared.interface);
        }
    }
    for (batch, socket) in [(v4, &sockets.v4), (v6, &sockets.v6)] {
        if !batch.is_empty() {
            if let Err(e) = socket.send_batch(batch) {
                log_debug!("{}: handshake send failed: {e}", shared.interface);
            }
            batch.clear();
        }
    }
}

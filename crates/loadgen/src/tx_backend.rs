//! How frames leave: an AF_XDP socket's TX ring (copy of the frame into a UMEM frame, no kernel stack), or, as the
//! fallback, batched sendmmsg on kernel UDP sockets (the frame's UDP payload, to its destination).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wgxdp_io_socket::{BatchUdpSocket, SendBatch};
use wgxdp_io_xdp::XskSocket;
use wgxdp_wire::parse_udp_frame;

use crate::tx_source::FrameSource;

/// The transmit path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TxPath {
    /// AF_XDP (copy mode on veth).
    Xdp,
    /// Kernel UDP sockets with sendmmsg.
    Socket,
}

/// A way to put frames on the wire.
pub trait TxBackend {
    /// Sends up to `max` frames from `source`; returns how many left.
    fn send(&mut self, max: u32, source: &mut dyn FrameSource) -> u32;
    /// Nothing could be sent: reclaim finished transmissions (and give the kernel a moment).
    fn reclaim(&mut self);
    /// Waits (at most `timeout`) until everything handed over has left.
    fn flush(&mut self, timeout: Duration);
    /// Frames the backend had to drop (the kernel refused them).
    fn dropped(&self) -> u64;
}

/// AF_XDP transmit.
pub struct XdpTx {
    socket: XskSocket,
}

impl XdpTx {
    /// Sends through `socket` (bound to the queue the load leaves by).
    pub fn new(socket: XskSocket) -> Self {
        Self { socket }
    }
}

impl TxBackend for XdpTx {
    fn send(&mut self, max: u32, source: &mut dyn FrameSource) -> u32 {
        self.socket.tx_batch(max, |frame| source.write_next(frame))
    }

    fn reclaim(&mut self) {
        self.socket.complete();
    }

    fn flush(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let total = self.socket.free_frames();
        // The pool is full again once every frame handed to the kernel came back on the completion ring.
        let mut last = usize::MAX;
        while Instant::now() < deadline {
            self.socket.complete();
            let free = self.socket.free_frames();
            if free == last && free >= total {
                break;
            }
            last = free;
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn dropped(&self) -> u64 {
        0
    }
}

/// sendmmsg transmit over one socket per family.
pub struct SocketTx {
    v4: Arc<BatchUdpSocket>,
    v6: Option<Arc<BatchUdpSocket>>,
    batch4: SendBatch,
    batch6: SendBatch,
    scratch: Vec<u8>,
    dropped: u64,
}

impl SocketTx {
    /// Sends IPv4 datagrams on `v4` and IPv6 ones on `v6` (dropped, and counted, without one).
    pub fn new(v4: Arc<BatchUdpSocket>, v6: Option<Arc<BatchUdpSocket>>) -> Self {
        Self {
            v4,
            v6,
            batch4: SendBatch::new(64, 2048),
            batch6: SendBatch::new(64, 2048),
            scratch: vec![0; 4096],
            dropped: 0,
        }
    }
}

impl TxBackend for SocketTx {
    fn send(&mut self, max: u32, source: &mut dyn FrameSource) -> u32 {
        self.batch4.clear();
        self.batch6.clear();
        let mut taken = 0;
        while taken < max.min(64) {
            let Some(len) = source.write_next(&mut self.scratch) else {
                break;
            };
            taken += 1;
            let frame = &self.scratch[..len];
            let Ok(udp) = parse_udp_frame(frame) else {
                self.dropped += 1;
                continue;
            };
            let batch = match udp.dst {
                SocketAddr::V4(_) => &mut self.batch4,
                SocketAddr::V6(_) => &mut self.batch6,
            };
            if batch.push(&frame[udp.payload.clone()], udp.dst).is_err() {
                self.dropped += 1;
            }
        }
        for (batch, socket) in [
            (&self.batch4, Some(&self.v4)),
            (&self.batch6, self.v6.as_ref()),
        ] {
            if batch.is_empty() {
                continue;
            }
            let sent = socket.map_or(0, |s| s.send_batch(batch).unwrap_or(0));
            self.dropped += (batch.len() - sent.min(batch.len())) as u64;
        }
        taken
    }

    fn reclaim(&mut self) {
        std::thread::yield_now();
    }

    fn flush(&mut self, _timeout: Duration) {}

    fn dropped(&self) -> u64 {
        self.dropped
    }
}

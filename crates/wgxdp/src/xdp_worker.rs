//! An AF_XDP worker: owns RX queue i of the link (its AF_XDP socket) and TUN queue i, pinned to its CPU.
//!
//! RX: frames from the socket's RX ring -> `parse_udp_frame` (the outer UDP checksum is neither trusted nor
//! checked: the AEAD covers the payload) -> one `Device::rx_batch` per ring read, decrypting in place in the UMEM
//! frames -> TUN write batch. TX: TUN read (offloaded super-packets split by io-socket) -> `Device::send_into_frame` seals
//! into a free UMEM frame behind room for the outer headers -> next-hop MACs from the kernel's tables ->
//! Ethernet/IP/UDP headers with the full UDP checksum -> TX ring. Completions are reaped every round.
//!
//! Polling is adaptive: while anything moves the worker spins (one `epoll_wait(0)` per round tells it about the
//! kernel descriptors; the rings are read directly); after `SPIN_ROUNDS` empty rounds it blocks in `epoll_wait`.

use crate::log_debug;
use crate::shared::Shared;
use crate::udp_path::{dispatch, drain_udp, flush_tun, flush_udp, TunSink, TUN_SEND_BATCH};
use crate::worker_stats::{Counter, WorkerStats};
use crate::xdp_frame::{header_len, write_headers};
use crate::xdp_wait::WaitSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wgxdp_device::{Device, DropReason, FramedOutbound};
use wgxdp_io_socket::{
    DualStackSockets, RecvBatch, SendBatch, TunQueue, TunRecvBatch, TunSendBatch,
};
use wgxdp_io_xdp::{AdaptivePoll, NeighbourCache, NextHop, PollStep, XskSocket};
use wgxdp_wire::parse_udp_frame;

/// Frames taken from the RX ring per call.
const RX_BATCH: u32 = 64;
/// TUN reads per round before the worker looks at its other sources again.
const TUN_BUDGET: usize = 8;
/// Empty rounds spent spinning before sleeping.
const SPIN_ROUNDS: u32 = 2048;
/// Longest sleep; the eventfd ends it sooner on a stop or a rebind.
const IDLE_SLEEP_MS: u16 = 1000;
/// How old the cached routes and neighbours may get.
const NEIGHBOUR_REFRESH: Duration = Duration::from_secs(1);
/// recvmmsg slots of the slow path (each holds a 64 KiB GRO super-datagram).
const UDP_RECV_BATCH: usize = 16;
/// recvmmsg calls per round on each kernel socket before the worker looks at its other sources again.
const UDP_BUDGET: usize = 4;
/// Fallback datagrams queued per family before a sendmmsg.
const UDP_SEND_BATCH: usize = 64;
/// Longest inner packet a TUN write takes.
const MAX_INNER: usize = 65_535 - 32;

/// What an AF_XDP worker needs; moved into its thread.
pub struct XdpWorker {
    /// Worker id: its counters, wake descriptor, TUN queue and RX queue.
    pub id: usize,
    /// Shared daemon state.
    pub shared: Arc<Shared>,
    /// TUN queue `id`.
    pub tun: TunQueue,
    /// The AF_XDP socket of RX queue `id`.
    pub xsk: XskSocket,
    /// Index of the `--link` device: frames only leave through it.
    pub link_ifindex: u32,
    /// CPU to pin to.
    pub cpu: Option<usize>,
}

/// Buffers of one worker, allocated once.
struct Buffers {
    tun_rx: TunRecvBatch,
    tun_tx: TunSendBatch,
    udp_rx: RecvBatch,
    v4_tx: SendBatch,
    v6_tx: SendBatch,
}

impl XdpWorker {
    /// Runs until the daemon stops or the TUN goes away; unregisters its socket before closing it.
    pub fn run(mut self) {
        let name = self.shared.interface.clone();
        if let Some(cpu) = self.cpu {
            match crate::xdp_cpus::pin_current_thread(cpu) {
                Ok(()) => log_debug!("{name}: worker {} pinned to CPU {cpu}", self.id),
                Err(e) => crate::log_warn!("{name}: worker {}: {e}", self.id),
            }
        }
        if let Err(reason) = self.serve() {
            log_debug!("{name}: worker {}: {reason}", self.id);
            self.shared.request_stop(&reason);
        }
        if let Some(xdp) = self.shared.xdp.get() {
            xdp.unregister(self.xsk.queue());
        }
    }

    fn serve(&mut self) -> Result<(), String> {
        let shared = Arc::clone(&self.shared);
        let stats = shared
            .workers
            .get(self.id)
            .ok_or("no counter block for this worker")?;
        let waker = shared.waker(self.id).ok_or("no wake descriptor")?;
        let sealed_max = Device::HEADROOM + usize::from(shared.mtu) + Device::TAILROOM;
        let mut bufs = Buffers {
            tun_rx: TunRecvBatch::new(shared.mtu),
            tun_tx: TunSendBatch::new(TUN_SEND_BATCH, MAX_INNER, 65_535),
            udp_rx: RecvBatch::new(UDP_RECV_BATCH),
            v4_tx: SendBatch::new(UDP_SEND_BATCH, sealed_max),
            v6_tx: SendBatch::new(UDP_SEND_BATCH, sealed_max),
        };
        let mut neighbours = match NeighbourCache::new(NEIGHBOUR_REFRESH) {
            Ok(cache) => Some(cache),
            Err(e) => {
                crate::log_warn!(
                    "{}: worker {}: no netlink ({e}); every packet leaves through the kernel socket",
                    shared.interface,
                    self.id
                );
                None
            }
        };
        let mut waits =
            WaitSet::new(&self.tun, waker, Some(&self.xsk)).map_err(|e| format!("epoll: {e}"))?;
        let mut adaptive = AdaptivePoll::new(SPIN_ROUNDS);
        let mut timeout = 0;
        while !shared.stopping() {
            let sockets = shared.sockets.load();
            waits
                .follow_sockets(&sockets)
                .map_err(|e| format!("epoll: {e}"))?;
            if timeout > 0 {
                stats.add(Counter::Sleeps, 1);
                stats.add(Counter::Polls, 1);
            }
            let ready = waits.wait(timeout).map_err(|e| format!("epoll: {e}"))?;
            if timeout > 0 && ready.any() {
                stats.add(Counter::Wakeups, 1);
            }
            if ready.tun_gone {
                return Err("the TUN device went away".into());
            }
            if ready.wake {
                let _ = waker.read();
            }
            let mut work = self.receive_frames(stats, &mut bufs);
            if ready.tun {
                work += self.drain_tun(&sockets, stats, &mut bufs, neighbours.as_mut())?;
            }
            let mut sink = TunSink {
                tun: &self.tun,
                batch: &mut bufs.tun_tx,
            };
            for (socket, ready) in [(&sockets.v4, ready.udp_v4), (&sockets.v6, ready.udp_v6)] {
                if ready {
                    work += drain_udp(
                        &shared,
                        socket,
                        stats,
                        &mut bufs.udp_rx,
                        &mut sink,
                        UDP_BUDGET,
                    );
                }
            }
            flush_tun(&self.tun, &mut bufs.tun_tx, stats);
            work += self.xsk.complete() as usize;
            if work > 0 {
                adaptive.worked();
                stats.add(Counter::BusyRounds, 1);
                timeout = 0;
                continue;
            }
            timeout = match adaptive.idle() {
                PollStep::Spin => {
                    stats.add(Counter::BusyRounds, 1);
                    0
                }
                // Frames still on the TX ring need the kernel's completions: keep the sleep short.
                PollStep::Sleep if self.xsk.tx_in_flight() > 0 => 1,
                PollStep::Sleep => IDLE_SLEEP_MS,
            };
        }
        Ok(())
    }

    /// RX ring -> decrypt in place -> TUN batch. Returns the frames taken.
    fn receive_frames(&mut self, stats: &WorkerStats, bufs: &mut Buffers) -> usize {
        let shared = &self.shared;
        let mut sink = TunSink {
            tun: &self.tun,
            batch: &mut bufs.tun_tx,
        };
        // One batch per ring read: the timers and shared counters hear about it once, at the end.
        let mut opened = shared.device.rx_batch(shared.clock.now());
        let mut bytes = 0u64;
        let frames = self.xsk.recv_batch(RX_BATCH, |frame| {
            bytes += frame.len() as u64;
            let Ok(udp) = parse_udp_frame(frame) else {
                shared.device.count_drop(DropReason::Malformed);
                return;
            };
            let Some(message) = frame.get_mut(udp.payload) else {
                shared.device.count_drop(DropReason::Malformed);
                return;
            };
            dispatch(shared, &mut opened, udp.src, message, stats, &mut sink);
        });
        opened.finish();
        stats.add(Counter::XdpRxFrames, u64::from(frames));
        stats.add(Counter::XdpRxBytes, bytes);
        frames as usize
    }

    /// TUN -> seal into UMEM frames -> TX ring (or the kernel socket). Returns the packets read.
    fn drain_tun(
        &mut self,
        sockets: &DualStackSockets,
        stats: &WorkerStats,
        bufs: &mut Buffers,
        mut neighbours: Option<&mut NeighbourCache>,
    ) -> Result<usize, String> {
        let shared = Arc::clone(&self.shared);
        let device = &shared.device;
        let port = sockets.port();
        let mut read = 0;
        let mut staged = false;
        for _ in 0..TUN_BUDGET {
            match self.tun.recv(&mut bufs.tun_rx) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    log_debug!("{}: TUN packet dropped: {e}", shared.interface);
                    stats.add(Counter::IoErrors, 1);
                    continue;
                }
                Err(e) if tun_is_gone(&e) => return Err(format!("TUN read failed: {e}")),
                Err(e) => {
                    log_debug!("{}: TUN read: {e}", shared.interface);
                    stats.add(Counter::IoErrors, 1);
                    break;
                }
            }
            stats.add(Counter::TunBatches, 1);
            let count = bufs.tun_rx.len();
            read += count;
            let now = shared.clock.now();
            let mut next = 0;
            let (mut frames, mut frame_bytes) = (0u64, 0u64);
            while next < count {
                let before = next;
                let Buffers {
                    tun_rx,
                    v4_tx,
                    v6_tx,
                    ..
                } = bufs;
                let queued = self.xsk.tx_batch((count - next) as u32, |frame| {
                    while let Some(packet) = (next < count).then(|| tun_rx.get(next)).flatten() {
                        next += 1;
                        stats.add(Counter::TunRxPackets, 1);
                        stats.add(Counter::TunRxBytes, packet.len() as u64);
                        let mut hop = None;
                        let verdict = device.send_into_frame(packet, frame, now, |endpoint| {
                            hop = neighbours
                                .as_deref_mut()
                                .and_then(|n| next_hop(n, endpoint, self.link_ifindex));
                            header_len(endpoint)
                        });
                        match verdict {
                            FramedOutbound::Send {
                                endpoint,
                                start,
                                len,
                            } => {
                                let built = hop.and_then(|hop| {
                                    write_headers(frame, len, &hop, port, &endpoint)
                                });
                                if let Some(total) = built {
                                    frame_bytes += total as u64;
                                    return Some(total);
                                }
                                // No usable next hop: the kernel sends this one (and learns the neighbour).
                                stats.add(Counter::XdpTxFallback, 1);
                                let batch = if endpoint.is_ipv4() {
                                    &mut *v4_tx
                                } else {
                                    &mut *v6_tx
                                };
                                if batch.len() == batch.capacity() {
                                    flush_udp(sockets.for_destination(&endpoint), batch, stats);
                                }
                                let sealed = frame.get(start..start + len).unwrap_or_default();
                                if batch.push(sealed, endpoint).is_err() {
                                    stats.add(Counter::IoErrors, 1);
                                }
                            }
                            FramedOutbound::Staged => staged = true,
                            FramedOutbound::Dropped(_) => {}
                        }
                    }
                    None
                    // The frame is reused for the next packet when this one took another way.
                });
                frames += u64::from(queued);
                if next == before {
                    // No frame or ring slot free even after reaping completions: drop the rest of this read.
                    stats.add(Counter::IoErrors, (count - next) as u64);
                    break;
                }
            }
            stats.add(Counter::XdpTxFrames, frames);
            stats.add(Counter::XdpTxBytes, frame_bytes);
        }
        flush_udp(&sockets.v4, &mut bufs.v4_tx, stats);
        flush_udp(&sockets.v6, &mut bufs.v6_tx, stats);
        if staged {
            shared.handshakes.wake();
        }
        Ok(read)
    }
}

/// The next hop for `endpoint` if it is reached through the link and fully known (MACs and a source address).
fn next_hop(
    cache: &mut NeighbourCache,
    endpoint: &SocketAddr,
    link_ifindex: u32,
) -> Option<NextHop> {
    cache
        .resolve(endpoint.ip())
        .ok()
        .flatten()
        .filter(|hop| hop.ifindex == link_ifindex && hop.src_ip.is_some())
}

/// Whether a TUN read error means the interface no longer exists.
fn tun_is_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADFD | libc::ENODEV | libc::ENXIO | libc::EBADF)
    )
}

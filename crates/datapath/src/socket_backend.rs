//! The kernel-socket backend: the worker's own pair of data sockets of the listen port's reuseport group
//! (recvmmsg with UDP GRO, sendmmsg with UDP GSO), so the flows hashed to it stay on it and in order.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use wgxdp_device::{Destination, LocalAddr, TxRoom};
use wgxdp_io_socket::{BatchUdpSocket, PacketInfo, RecvBatch, SendBatch, SocketGroup};
use wgxdp_io_xdp::NeighbourCache;

use crate::sockets::LiveSockets;
use crate::source_choice::{route_ifindex, SourceChoice};
use crate::stats::{Counter, WorkerStats};
use crate::underlay::{Underlay, WaitFd};

/// recvmmsg slots (each holds a 64 KiB GRO super-datagram).
const RECV_SLOTS: usize = 32;
/// Datagrams queued per family before a sendmmsg.
const SEND_SLOTS: usize = 128;
/// Average bytes per queued datagram the send arena is sized for (a full-MTU message; larger ones fit too).
const SEND_SLOT_BYTES: usize = 1600;

const V4: u32 = 0;
const V6: u32 = 1;

/// Worker `index`'s data sockets, following rebinds of the group.
#[derive(Debug)]
pub struct SocketBackend {
    live: Arc<LiveSockets>,
    group: Arc<SocketGroup>,
    generation: u64,
    index: usize,
    rx: RecvBatch,
    v4_tx: SendBatch,
    v6_tx: SendBatch,
    ready: [bool; 2],
    /// Which receive goes first, alternating so neither family starves the other.
    turn: usize,
    /// The family of the slot last handed out by `message_buffer`.
    pending_v6: bool,
    /// Sticky sources, checked against the kernel's routes (`None`: no netlink, always the routing choice).
    sources: SourceChoice,
    routes: Option<NeighbourCache>,
    /// The source chosen for the last destination, valid for one round.
    last_source: Option<(Destination, Option<PacketInfo>)>,
}

/// How old cached routes may get.
const ROUTE_REFRESH: Duration = Duration::from_secs(1);

impl SocketBackend {
    /// The backend of worker `index` (its data socket pair in the group).
    pub fn new(live: Arc<LiveSockets>, index: usize) -> Self {
        let group = live.load();
        let generation = live.generation();
        Self {
            live,
            group,
            generation,
            index,
            rx: RecvBatch::new(RECV_SLOTS),
            v4_tx: SendBatch::new(SEND_SLOTS, SEND_SLOT_BYTES),
            v6_tx: SendBatch::new(SEND_SLOTS, SEND_SLOT_BYTES),
            // Data may be waiting before the first wait.
            ready: [true, true],
            turn: 0,
            pending_v6: false,
            sources: SourceChoice::default(),
            routes: NeighbourCache::new(ROUTE_REFRESH).ok(),
            last_source: None,
        }
    }

    /// The source address to send `to` from (see `source_choice.rs`), cached while the destination repeats.
    fn source_for(&mut self, to: Destination) -> Option<PacketInfo> {
        if let Some((last, source)) = self.last_source {
            if last == to {
                return source;
            }
        }
        to.local?;
        let route = route_ifindex(&mut self.routes, to.addr.ip());
        let source = self.sources.source(&to, route).map(|l| PacketInfo {
            local: l.ip,
            ifindex: l.ifindex,
        });
        self.last_source = Some((to, source));
        source
    }

    fn socket(&self, family: u32) -> Option<&BatchUdpSocket> {
        socket_of(&self.group, self.index, family)
    }

    /// The port the sockets are bound to (the source port of every datagram).
    pub fn port(&self) -> u16 {
        self.group.port()
    }

    fn flush_family(&mut self, v6: bool, stats: &WorkerStats) {
        let batch = if v6 { &self.v6_tx } else { &self.v4_tx };
        if batch.is_empty() {
            return;
        }
        let (queued, bytes) = (batch.len(), batch.bytes());
        let Some(socket) = self.socket(if v6 { V6 } else { V4 }) else {
            stats.add(Counter::IoErrors, queued as u64);
            return;
        };
        match socket.send_batch(batch) {
            Ok(sent) => {
                stats.add(Counter::UdpTxPackets, sent as u64);
                stats.add(Counter::IoErrors, queued.saturating_sub(sent) as u64);
                // Bytes of the whole batch: exact unless the kernel refused some datagrams.
                stats.add(Counter::UdpTxBytes, bytes as u64);
            }
            Err(e) => {
                log::debug!("UDP send: {e}");
                stats.add(Counter::IoErrors, queued as u64);
            }
        }
        if v6 {
            self.v6_tx.clear();
        } else {
            self.v4_tx.clear();
        }
    }
}

/// Worker `index`'s socket of `family` in `group`.
fn socket_of(group: &SocketGroup, index: usize, family: u32) -> Option<&BatchUdpSocket> {
    let pair = group.workers.get(index % group.workers.len().max(1))?;
    Some(if family == V6 { &pair.v6 } else { &pair.v4 })
}

impl TxRoom for SocketBackend {
    fn message_buffer(&mut self, to: Destination, max_len: usize) -> Option<&mut [u8]> {
        self.pending_v6 = to.addr.is_ipv6();
        let batch = if self.pending_v6 {
            &mut self.v6_tx
        } else {
            &mut self.v4_tx
        };
        batch.next_slot_mut(max_len)
    }

    fn commit(&mut self, to: Destination, len: usize) {
        let source = self.source_for(to);
        let batch = if self.pending_v6 {
            &mut self.v6_tx
        } else {
            &mut self.v4_tx
        };
        batch.commit_slot(len, to.addr, source);
    }
}

impl Underlay for SocketBackend {
    fn receive<F: FnMut(Destination, &mut [u8])>(
        &mut self,
        stats: &WorkerStats,
        mut each: F,
    ) -> Result<usize, String> {
        let family = if self.ready[self.turn] {
            self.turn as u32
        } else {
            (1 - self.turn) as u32
        };
        self.turn = 1 - self.turn;
        if !self.ready[family as usize] {
            return Ok(0);
        }
        let Some(socket) = socket_of(&self.group, self.index, family) else {
            return Ok(0);
        };
        let capacity = self.rx.capacity();
        match socket.recv_batch(&mut self.rx) {
            Ok(n) => {
                stats.add(Counter::IoErrors, self.rx.dropped() as u64);
                if n < capacity {
                    // Fewer than a full batch: the socket was drained at that moment.
                    self.ready[family as usize] = false;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.ready[family as usize] = false;
                return Ok(0);
            }
            Err(e) => {
                // ICMP errors surface here (ECONNREFUSED...): count and go on.
                log::debug!("UDP receive: {e}");
                stats.add(Counter::IoErrors, 1);
                return Ok(0);
            }
        }
        if self.rx.is_empty() {
            return Ok(0);
        }
        stats.add(Counter::UdpBatches, 1);
        let mut handled = 0;
        for i in 0..self.rx.len() {
            let Some((source, segment, local)) =
                self.rx.get(i).map(|d| (d.source, d.segment_size, d.local))
            else {
                continue;
            };
            let from = Destination {
                addr: source,
                local: local.map(|l| LocalAddr {
                    ip: l.local,
                    ifindex: l.ifindex,
                }),
            };
            let Some(data) = self.rx.get_mut(i) else {
                continue;
            };
            if data.is_empty() {
                // An empty datagram is still a message (a malformed one): the device counts it.
                handled += 1;
                stats.add(Counter::UdpRxPackets, 1);
                each(from, data);
                continue;
            }
            // GRO super-datagrams are split by their segment size.
            for datagram in data.chunks_mut(segment.max(1)) {
                handled += 1;
                stats.add(Counter::UdpRxPackets, 1);
                stats.add(Counter::UdpRxBytes, datagram.len() as u64);
                each(from, datagram);
            }
        }
        Ok(handled)
    }

    fn flush(&mut self, stats: &WorkerStats) {
        self.flush_family(false, stats);
        self.flush_family(true, stats);
    }

    fn rx_pending(&self) -> bool {
        self.ready[0] || self.ready[1]
    }

    fn spins(&self) -> bool {
        false
    }

    fn wait_fds<'a>(&'a self, out: &mut Vec<WaitFd<'a>>) {
        for family in [V4, V6] {
            if let Some(socket) = self.socket(family) {
                out.push(WaitFd {
                    fd: socket.as_fd(),
                    token: family,
                });
            }
        }
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn ready(&mut self, token: u32) {
        if let Some(flag) = self.ready.get_mut(token as usize) {
            *flag = true;
        }
    }

    fn maintain(&mut self, _now: Duration, stats: &WorkerStats) -> usize {
        self.last_source = None;
        let generation = self.live.generation();
        if generation == self.generation {
            return 0;
        }
        // A rebind: what is queued goes out through the old sockets, then the worker moves to its new pair.
        self.flush(stats);
        self.group = self.live.load();
        self.generation = generation;
        self.ready = [true, true];
        1
    }
}

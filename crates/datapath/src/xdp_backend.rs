//! The AF_XDP backend: one AF_XDP socket on one RX queue of the uplink, beside the worker's kernel data sockets.
//!
//! RX: frames from the RX ring, parsed down to the UDP payload (`parse_udp_frame`; the outer UDP checksum is
//! neither trusted nor checked: the AEAD covers the payload) and handed to the pipeline in place in the UMEM
//! frame. Whatever the XDP program passes to the kernel instead (fragments, frames larger than a UMEM frame,
//! queues without an AF_XDP socket) arrives on the worker's kernel data socket, read the same way.
//!
//! TX: a sealed message goes into a free UMEM frame behind room for Ethernet + IP + UDP headers, which are
//! written after sealing (next-hop MACs from the kernel's tables, no UDP checksum over IPv4); the frames of a
//! batch are published on the TX ring at once and the kernel is kicked once. A destination without a known next
//! hop, not reached through the link, or a message too large for a frame goes through the kernel socket instead
//! (which also makes the kernel resolve the neighbour, and fragments when it must).

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use wgxdp_device::{Destination, LocalAddr, TxRoom};
use wgxdp_io_xdp::{NeighbourCache, NextHop, TxFrame, XskSocket};
use wgxdp_wire::parse_udp_frame;

use crate::frame_headers::{header_len, write_headers};
use crate::socket_backend::SocketBackend;
use crate::source_choice::SourceChoice;
use crate::stats::{Counter, WorkerStats};
use crate::underlay::{Underlay, WaitFd};

/// Frames taken from the RX ring per receive.
const RX_BATCH: u32 = 64;
/// Token of the AF_XDP socket; the kernel sockets' tokens follow.
const XSK: u32 = 0;
const KERNEL: u32 = 1;

/// The link the AF_XDP socket is on.
pub struct XdpLink {
    /// The uplink's interface index: frames only leave through it.
    pub ifindex: u32,
    /// Next-hop MACs from the kernel's routes and neighbours (`None`: no netlink, every message takes the kernel
    /// socket).
    pub neighbours: Option<NeighbourCache>,
}

/// Where the buffer last handed out by `message_buffer` lives.
#[derive(Debug)]
enum Pending {
    Frame {
        frame: TxFrame,
        hop: NextHop,
        header: usize,
    },
    Kernel,
}

/// An AF_XDP socket and the worker's kernel sockets, as one backend.
pub struct XdpBackend {
    xsk: XskSocket,
    kernel: SocketBackend,
    link: XdpLink,
    pending: Option<Pending>,
    /// The last resolved next hop, valid for one round.
    hop: Option<(IpAddr, Option<NextHop>)>,
    /// Sticky sources (see `source_choice.rs`).
    sources: SourceChoice,
    /// Counted here between flushes (the TxRoom calls have no counters at hand).
    fallback: u64,
    frames: u64,
    frame_bytes: u64,
    kicks_seen: u64,
}

impl std::fmt::Debug for XdpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpBackend")
            .field("xsk", &self.xsk)
            .field("link", &self.link.ifindex)
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

impl XdpBackend {
    /// The backend over `xsk` (registered in the steering program), with `kernel` (the worker's data sockets) for
    /// what does not take the AF_XDP path.
    pub fn new(xsk: XskSocket, kernel: SocketBackend, link: XdpLink) -> Self {
        Self {
            xsk,
            kernel,
            link,
            pending: None,
            hop: None,
            sources: SourceChoice::default(),
            fallback: 0,
            frames: 0,
            frame_bytes: 0,
            kicks_seen: 0,
        }
    }

    /// The AF_XDP socket (its queue, to unregister it on exit).
    pub fn xsk(&self) -> &XskSocket {
        &self.xsk
    }

    /// The next hop for `endpoint` when it is reached through the link and fully known (MACs and a source
    /// address of its family), cached for the round.
    fn next_hop(&mut self, endpoint: &SocketAddr) -> Option<NextHop> {
        let ip = endpoint.ip();
        if let Some((cached, hop)) = &self.hop {
            if *cached == ip {
                return *hop;
            }
        }
        let ifindex = self.link.ifindex;
        let hop = self
            .link
            .neighbours
            .as_mut()
            .and_then(|n| n.resolve(ip).ok().flatten())
            .filter(|hop| {
                hop.ifindex == ifindex
                    && hop.src_ip.is_some_and(|src| src.is_ipv4() == ip.is_ipv4())
            });
        self.hop = Some((ip, hop));
        hop
    }
}

impl TxRoom for XdpBackend {
    fn message_buffer(&mut self, to: Destination, max_len: usize) -> Option<&mut [u8]> {
        let header = header_len(&to.addr);
        let fits = header + max_len <= self.xsk.frame_size() as usize;
        let hop = if fits { self.next_hop(&to.addr) } else { None };
        let Some(mut hop) = hop else {
            self.pending = Some(Pending::Kernel);
            return self.kernel.message_buffer(to, max_len);
        };
        // Replies leave from the address the peer sent to while it stays ours and on the route's interface.
        if let Some(local) = self.sources.source(&to, Some(hop.ifindex)) {
            hop.src_ip = Some(local.ip);
        }
        let frame = self.xsk.tx_alloc()?;
        self.pending = Some(Pending::Frame { frame, hop, header });
        let Some(Pending::Frame { frame, .. }) = &self.pending else {
            return None;
        };
        self.xsk
            .tx_frame_mut(frame)
            .get_mut(header..header + max_len)
    }

    fn commit(&mut self, to: Destination, len: usize) {
        let endpoint = to.addr;
        match self.pending.take() {
            Some(Pending::Frame { frame, hop, header }) => {
                let port = self.kernel.port();
                let total =
                    write_headers(self.xsk.tx_frame_mut(&frame), len, &hop, port, &endpoint)
                        .and_then(|t| u32::try_from(t).ok());
                let Some(total) = total else {
                    // Headers that cannot be written (never for a frame sized by `message_buffer`).
                    self.xsk.tx_release(frame);
                    return;
                };
                debug_assert_eq!(total as usize, header + len);
                // `tx_push` gives the frame back itself if it refuses it.
                if self.xsk.tx_push(frame, total) {
                    self.frames += 1;
                    self.frame_bytes += u64::from(total);
                }
            }
            Some(Pending::Kernel) => {
                self.fallback += 1;
                self.kernel.commit(to, len);
            }
            None => {}
        }
    }

    fn abandon(&mut self) {
        if let Some(Pending::Frame { frame, .. }) = self.pending.take() {
            self.xsk.tx_release(frame);
        }
    }
}

impl Underlay for XdpBackend {
    fn receive<F: FnMut(Destination, &mut [u8])>(
        &mut self,
        stats: &WorkerStats,
        mut each: F,
    ) -> Result<usize, String> {
        let mut handled = 0;
        if self.xsk.rx_available() > 0 {
            let mut bytes = 0u64;
            let mut malformed = 0u64;
            let ifindex = self.link.ifindex;
            let frames = self.xsk.recv_batch(RX_BATCH, |frame| {
                bytes += frame.len() as u64;
                match parse_udp_frame(frame) {
                    Ok(udp) => {
                        let from = Destination {
                            addr: udp.src,
                            local: Some(LocalAddr {
                                ip: udp.dst.ip(),
                                ifindex,
                            }),
                        };
                        match frame.get_mut(udp.payload) {
                            Some(message) => each(from, message),
                            None => malformed += 1,
                        }
                    }
                    Err(_) => malformed += 1,
                }
            });
            // Frames that are not UDP datagrams are dropped by handing the pipeline an empty message.
            for _ in 0..malformed {
                each(
                    Destination::routed(SocketAddr::from(([0, 0, 0, 0], 0))),
                    &mut [],
                );
            }
            stats.add(Counter::XdpRxFrames, u64::from(frames));
            stats.add(Counter::XdpRxBytes, bytes);
            handled += frames as usize;
        }
        if self.kernel.rx_pending() {
            handled += self.kernel.receive(stats, each)?;
        }
        Ok(handled)
    }

    fn flush(&mut self, stats: &WorkerStats) {
        if self.xsk.tx_queued() > 0 {
            self.xsk.tx_flush();
        }
        let kicks = self.xsk.counters().tx_wakeups;
        stats.add(Counter::XdpTxKicks, kicks.saturating_sub(self.kicks_seen));
        self.kicks_seen = kicks;
        stats.add(Counter::XdpTxFrames, std::mem::take(&mut self.frames));
        stats.add(Counter::XdpTxBytes, std::mem::take(&mut self.frame_bytes));
        stats.add(Counter::XdpTxFallback, std::mem::take(&mut self.fallback));
        self.kernel.flush(stats);
    }

    fn rx_pending(&self) -> bool {
        self.xsk.rx_available() > 0 || self.kernel.rx_pending()
    }

    fn spins(&self) -> bool {
        true
    }

    fn wait_fds<'a>(&'a self, out: &mut Vec<WaitFd<'a>>) {
        out.push(WaitFd {
            fd: self.xsk.as_fd(),
            token: XSK,
        });
        let first = out.len();
        self.kernel.wait_fds(out);
        for fd in out.iter_mut().skip(first) {
            fd.token += KERNEL;
        }
    }

    fn generation(&self) -> u64 {
        self.kernel.generation()
    }

    fn ready(&mut self, token: u32) {
        // The RX ring is read directly; the wait only woke us.
        if token >= KERNEL {
            self.kernel.ready(token - KERNEL);
        }
    }

    fn maintain(&mut self, now: Duration, stats: &WorkerStats) -> usize {
        self.hop = None;
        let reaped = self.xsk.complete() as usize;
        reaped + self.kernel.maintain(now, stats)
    }

    fn report(&mut self, stats: &WorkerStats) {
        if let Ok(k) = self.xsk.kernel_stats() {
            stats.set(Counter::XskRxDropped, k.rx_dropped);
            stats.set(Counter::XskRxInvalidDescs, k.rx_invalid_descs);
            stats.set(Counter::XskTxInvalidDescs, k.tx_invalid_descs);
            stats.set(Counter::XskRxRingFull, k.rx_ring_full);
            stats.set(Counter::XskRxFillRingEmpty, k.rx_fill_ring_empty_descs);
            stats.set(Counter::XskTxRingEmpty, k.tx_ring_empty_descs);
        }
    }
}

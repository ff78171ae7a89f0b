//! One AF_XDP socket bound to one (interface, queue), with its own UMEM, fill/completion/RX/TX rings and frame pool.
//!
//! Frame ownership is what keeps the UMEM access sound: a frame is either in the [`FramePool`] (ours), or in a
//! kernel ring (fill ring, RX ring not yet read, TX ring not yet completed). Bytes are only ever borrowed for
//! frames that just left a kernel ring (RX) or the pool (TX), one frame at a time.
//!
//! The rings are the project's own (`xsk_ring.rs` over the mappings of `xsk_mmap.rs`, set up by the system calls
//! of `xsk_setup.rs`); this file holds the socket's batching logic.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::error::{Result, XdpError};
use crate::frame_pool::FramePool;
use crate::umem::{FrameSize, Umem};
use crate::xsk_counters::{KernelXskStats, XskCounters};
use crate::xsk_mmap::{mmap_offsets, RingKind, RingMap};
use crate::xsk_ring::{ConsumerRing, ProducerRing, RingLayoutError};
use crate::xsk_setup::{
    bind, interface_index, open_socket, register_umem, set_option, set_ring_size, wake_fill,
    wake_tx,
};

/// A TX or RX descriptor: UMEM address, length, options.
type XdpDesc = libc::xdp_desc;

/// Kicks per [`XskSocket::tx_flush`] at most: copy mode sends 32 frames per kick, so this bounds one flush to a
/// full ring of 2048 with room to spare.
const TX_FLUSH_ROUNDS: usize = 80;
/// `SO_PREFER_BUSY_POLL` and `SO_BUSY_POLL_BUDGET` (asm-generic/socket.h, Linux 5.11).
const SO_PREFER_BUSY_POLL: libc::c_int = 69;
const SO_BUSY_POLL_BUDGET: libc::c_int = 70;

/// A UMEM frame taken for transmitting (see [`XskSocket::tx_alloc`]); it must go back through
/// [`XskSocket::tx_push`] or [`XskSocket::tx_release`].
#[derive(Debug)]
pub struct TxFrame(u64);

/// How to bind: the copy/zero-copy choice of `XDP_COPY` / `XDP_ZEROCOPY`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BindMode {
    /// Force copy mode: works on every driver, including veth and generic XDP.
    #[default]
    Copy,
    /// Force zero-copy; fails where the driver does not support it.
    ZeroCopy,
    /// Try zero-copy; if the driver refuses (EOPNOTSUPP, EINVAL, ...) fall back to copy and record why.
    PreferZeroCopy,
}

/// The mode a socket actually got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundMode {
    /// The kernel copies packets between its buffers and the UMEM.
    Copy,
    /// The driver DMAs straight into the UMEM.
    ZeroCopy,
}

/// Sizes and behaviour of a socket.
#[derive(Clone, Debug)]
pub struct XskConfig {
    /// Frames in the UMEM (fill-ring frames plus TX frames).
    pub frame_count: u32,
    /// Bytes per frame.
    pub frame_size: FrameSize,
    /// Entries of each of the four rings; a power of two.
    pub ring_size: u32,
    /// Frames kept posted in the fill ring for reception; the rest of the UMEM serves TX.
    pub rx_frames: u32,
    /// Copy, zero-copy, or zero-copy with fallback.
    pub mode: BindMode,
    /// Ask the kernel to tell us when it needs a kick (`XDP_USE_NEED_WAKEUP`), sparing syscalls under load.
    pub need_wakeup: bool,
}

impl Default for XskConfig {
    fn default() -> Self {
        Self {
            frame_count: 4096,
            frame_size: FrameSize::Half,
            ring_size: 2048,
            rx_frames: 2048,
            mode: BindMode::Copy,
            need_wakeup: true,
        }
    }
}

impl XskConfig {
    fn validate(&self) -> Result<()> {
        if !self.ring_size.is_power_of_two() {
            return Err(XdpError::InvalidConfig(format!(
                "ring size {} is not a power of two",
                self.ring_size
            )));
        }
        if self.rx_frames > self.ring_size || self.rx_frames >= self.frame_count {
            return Err(XdpError::InvalidConfig(format!(
                "{} RX frames need a ring of at least that size and leave no frame for TX out of {}",
                self.rx_frames, self.frame_count
            )));
        }
        Ok(())
    }
}

/// The four rings of a bound socket and its descriptor. Field order is drop order: the ring mappings go first,
/// then the socket is closed (which releases the kernel's hold on the UMEM).
struct Rings {
    fill: ProducerRing<u64, RingMap>,
    completion: ConsumerRing<u64, RingMap>,
    rx: ConsumerRing<XdpDesc, RingMap>,
    tx: ProducerRing<XdpDesc, RingMap>,
    fd: OwnedFd,
}

/// An AF_XDP socket on one queue of one interface.
pub struct XskSocket {
    // Field order is drop order: the rings (and with them the socket) go before the UMEM mapping.
    rings: Rings,
    pool: FramePool,
    counters: XskCounters,
    /// Frames currently posted in the fill ring or received but not yet read back.
    frames_in_fill: u32,
    /// TX frames handed to the kernel and not yet completed.
    tx_in_flight: u32,
    /// Frames written and queued, not yet published on the TX ring (see `tx_flush`).
    tx_pending: Vec<XdpDesc>,
    rx_frames: u32,
    ring_size: u32,
    mode: BoundMode,
    fallback_reason: Option<String>,
    ifname: String,
    queue: u32,
    umem: Umem,
}

fn interface_name(ifname: &str) -> Result<CString> {
    if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ {
        return Err(XdpError::InvalidInterfaceName(ifname.to_string()));
    }
    CString::new(ifname).map_err(|_| XdpError::InvalidInterfaceName(ifname.to_string()))
}

fn ring_error(kind: RingKind) -> impl FnOnce(RingLayoutError) -> XdpError {
    move |e| XdpError::InvalidConfig(format!("{kind:?} ring: {e}"))
}

/// Creates a socket, registers a fresh UMEM with it, sizes and maps the four rings and binds them to the queue with
/// `bind_flags`.
fn open_rings(
    name: &CString,
    ifname: &str,
    queue: u32,
    config: &XskConfig,
    bind_flags: u16,
) -> Result<(Rings, Umem)> {
    let ifindex = interface_index(name, ifname)?;
    let umem = Umem::new(config.frame_count, config.frame_size)?;
    let fd = open_socket()?;
    register_umem(fd.as_fd(), &umem)?;
    let size = config.ring_size;
    set_ring_size(fd.as_fd(), libc::XDP_UMEM_FILL_RING, size, "fill ring")?;
    set_ring_size(
        fd.as_fd(),
        libc::XDP_UMEM_COMPLETION_RING,
        size,
        "completion ring",
    )?;
    set_ring_size(fd.as_fd(), libc::XDP_RX_RING, size, "RX ring")?;
    set_ring_size(fd.as_fd(), libc::XDP_TX_RING, size, "TX ring")?;
    let offsets = mmap_offsets(fd.as_fd())?;
    let map = |kind| RingMap::new(fd.as_fd(), kind, &offsets, size);
    let fill = ProducerRing::new(map(RingKind::Fill)?).map_err(ring_error(RingKind::Fill))?;
    let completion =
        ConsumerRing::new(map(RingKind::Completion)?).map_err(ring_error(RingKind::Completion))?;
    let rx = ConsumerRing::new(map(RingKind::Rx)?).map_err(ring_error(RingKind::Rx))?;
    let tx = ProducerRing::new(map(RingKind::Tx)?).map_err(ring_error(RingKind::Tx))?;
    bind(fd.as_fd(), ifindex, queue, bind_flags)?;
    Ok((
        Rings {
            fill,
            completion,
            rx,
            tx,
            fd,
        },
        umem,
    ))
}

impl XskSocket {
    /// Opens a socket on `queue` of `ifname` (in the calling thread's network namespace) and posts
    /// `config.rx_frames` frames to the fill ring.
    pub fn open(ifname: &str, queue: u32, config: &XskConfig) -> Result<Self> {
        config.validate()?;
        let name = interface_name(ifname)?;
        let wakeup = if config.need_wakeup {
            libc::XDP_USE_NEED_WAKEUP
        } else {
            0
        };
        let copy = wakeup | libc::XDP_COPY;
        let zero_copy = wakeup | libc::XDP_ZEROCOPY;
        let (rings, umem, mode, fallback_reason) = match config.mode {
            BindMode::Copy => {
                let (rings, umem) = open_rings(&name, ifname, queue, config, copy)?;
                (rings, umem, BoundMode::Copy, None)
            }
            BindMode::ZeroCopy => {
                let (rings, umem) = open_rings(&name, ifname, queue, config, zero_copy)?;
                (rings, umem, BoundMode::ZeroCopy, None)
            }
            BindMode::PreferZeroCopy => {
                match open_rings(&name, ifname, queue, config, zero_copy) {
                    Ok((rings, umem)) => (rings, umem, BoundMode::ZeroCopy, None),
                    // Drivers without XSK pool support answer EOPNOTSUPP (veth among them); some answer EINVAL or
                    // EPROTONOSUPPORT. Anything else (ENODEV, EBUSY, EPERM) would fail in copy mode too.
                    Err(
                        error @ XdpError::Socket {
                            op: "bind",
                            errno: libc::EOPNOTSUPP | libc::EINVAL | libc::EPROTONOSUPPORT,
                        },
                    ) => {
                        let reason = format!("zero-copy refused on {ifname} queue {queue} ({error}); using copy mode");
                        log::info!("{reason}");
                        let (rings, umem) = open_rings(&name, ifname, queue, config, copy)?;
                        (rings, umem, BoundMode::Copy, Some(reason))
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        let mut socket = Self {
            rings,
            pool: FramePool::new(umem.frame_count(), umem.frame_size()),
            counters: XskCounters::default(),
            frames_in_fill: 0,
            tx_in_flight: 0,
            tx_pending: Vec::with_capacity(config.ring_size as usize),
            rx_frames: config.rx_frames,
            ring_size: config.ring_size,
            mode,
            fallback_reason,
            ifname: ifname.to_string(),
            queue,
            umem,
        };
        socket.refill();
        Ok(socket)
    }

    /// The mode the socket got.
    pub fn mode(&self) -> BoundMode {
        self.mode
    }

    /// Why zero-copy was not used, when [`BindMode::PreferZeroCopy`] fell back to copy mode.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// The interface the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The queue the socket is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// Bytes per UMEM frame: the most a TX frame may hold.
    pub fn frame_size(&self) -> u32 {
        self.umem.frame_size()
    }

    /// Frames currently free for TX (or for refilling the fill ring).
    pub fn free_frames(&self) -> usize {
        self.pool.len()
    }

    /// The socket's counters.
    pub fn counters(&self) -> XskCounters {
        self.counters
    }

    /// The kernel's statistics of this socket.
    pub fn kernel_stats(&self) -> Result<KernelXskStats> {
        KernelXskStats::read(self.as_fd())
    }

    /// Receives up to `max` frames, calling `on_frame` with each frame's bytes in place in the UMEM (the worker
    /// may decrypt there), then gives the frames back to the fill ring. Returns the number of frames.
    pub fn recv_batch<F: FnMut(&mut [u8])>(&mut self, max: u32, mut on_frame: F) -> u32 {
        let received = {
            let Self {
                rings,
                umem,
                pool,
                counters,
                ..
            } = self;
            rings.rx.consume(max.max(1), |desc| {
                match umem.frame_bytes_mut(desc.addr, desc.len as usize) {
                    Some(bytes) => {
                        counters.rx_packets += 1;
                        counters.rx_bytes += u64::from(desc.len);
                        on_frame(bytes);
                    }
                    None => counters.invalid_descriptors += 1,
                }
                if pool.free(desc.addr).is_err() {
                    counters.invalid_descriptors += 1;
                }
            })
        };
        self.frames_in_fill = self.frames_in_fill.saturating_sub(received);
        self.refill();
        received
    }

    /// Transmits up to `max` frames. For each, `fill_frame` gets a whole free UMEM frame to write an Ethernet frame
    /// into (headers included) and returns its length, or `None` when it has nothing more to send. Publishes the
    /// frames and kicks the kernel once (see [`tx_flush`](Self::tx_flush)). Returns the number of frames queued.
    pub fn tx_batch<F: FnMut(&mut [u8]) -> Option<usize>>(
        &mut self,
        max: u32,
        mut fill_frame: F,
    ) -> u32 {
        let mut queued = 0;
        while queued < max {
            let Some(frame) = self.tx_alloc() else {
                break;
            };
            let len = fill_frame(self.tx_frame_mut(&frame));
            let Some(len) = len.and_then(|len| u32::try_from(len).ok()) else {
                self.tx_release(frame);
                break;
            };
            if !self.tx_push(frame, len) {
                // Nothing valid was written: `tx_push` gave the frame back.
                break;
            }
            queued += 1;
        }
        self.tx_flush();
        queued
    }

    /// A free frame for transmitting, or `None` when every frame is in flight (after reaping completions) or as
    /// many frames wait to be published as the TX ring holds. Write the Ethernet frame into
    /// [`tx_frame_mut`](Self::tx_frame_mut), then queue it with [`tx_push`](Self::tx_push) or give it back with
    /// [`tx_release`](Self::tx_release).
    pub fn tx_alloc(&mut self) -> Option<TxFrame> {
        if self.tx_pending.len() >= self.ring_size as usize {
            self.counters.tx_ring_full += 1;
            return None;
        }
        if self.pool.is_empty() {
            self.reap();
        }
        match self.pool.alloc() {
            Some(addr) => Some(TxFrame(addr)),
            None => {
                self.counters.tx_pool_empty += 1;
                None
            }
        }
    }

    /// The whole UMEM frame behind `frame`, to write a frame into.
    pub fn tx_frame_mut(&mut self, frame: &TxFrame) -> &mut [u8] {
        let size = self.umem.frame_size() as usize;
        // A `TxFrame` only comes from `tx_alloc`, which took its address from the pool: always a whole frame.
        self.umem.frame_bytes_mut(frame.0, size).unwrap_or_default()
    }

    /// Queues `frame` with `len` bytes for transmission at the next [`tx_flush`](Self::tx_flush). A length of 0
    /// or past the frame gives the frame back instead and returns false.
    pub fn tx_push(&mut self, frame: TxFrame, len: u32) -> bool {
        if !(1..=self.umem.frame_size()).contains(&len) {
            self.tx_release(frame);
            return false;
        }
        self.tx_pending.push(XdpDesc {
            addr: frame.0,
            len,
            options: 0,
        });
        self.counters.tx_packets += 1;
        self.counters.tx_bytes += u64::from(len);
        true
    }

    /// Gives an unused frame back to the pool.
    pub fn tx_release(&mut self, frame: TxFrame) {
        if self.pool.free(frame.0).is_err() {
            self.counters.invalid_descriptors += 1;
        }
    }

    /// Frames queued by [`tx_push`](Self::tx_push) and not yet on the TX ring.
    pub fn tx_queued(&self) -> usize {
        self.tx_pending.len()
    }

    /// Publishes every queued frame on the TX ring with one producer update and kicks the kernel once if it asked
    /// for it. A kick in copy mode sends a bounded number of frames, so while frames remain (on the ring, or still
    /// queued because the ring was full) this reaps completions and kicks again, a bounded number of times.
    /// Returns the number of frames published.
    pub fn tx_flush(&mut self) -> u32 {
        let mut published = 0;
        for _ in 0..TX_FLUSH_ROUNDS {
            if !self.tx_pending.is_empty() {
                let Self {
                    rings, tx_pending, ..
                } = self;
                let mut queued = tx_pending.iter().copied();
                let n = rings.tx.produce(tx_pending.len() as u32, || queued.next());
                tx_pending.drain(..n as usize);
                published += n;
                self.tx_in_flight += n;
            }
            if self.rings.tx.pending() == 0 && self.tx_pending.is_empty() {
                break;
            }
            if !self.rings.tx.needs_wakeup() {
                // The kernel consumes the ring on its own (a zero-copy driver's NAPI): it will get there.
                break;
            }
            self.kick_tx();
            self.reap();
        }
        published
    }

    /// Reaps the completion ring: transmitted frames go back to the pool. Also re-kicks TX if descriptors are still
    /// waiting (copy mode sends a bounded batch per kick). Returns the number of frames reaped.
    pub fn complete(&mut self) -> u32 {
        let reaped = self.reap();
        if self.rings.tx.pending() > 0 {
            self.kick_tx();
        }
        reaped
    }

    fn reap(&mut self) -> u32 {
        let reaped = {
            let Self {
                rings,
                pool,
                counters,
                ..
            } = self;
            rings.completion.consume(self.ring_size, |addr| {
                if pool.free(addr).is_err() {
                    counters.invalid_descriptors += 1;
                }
            })
        };
        self.counters.tx_completions += u64::from(reaped);
        self.tx_in_flight = self.tx_in_flight.saturating_sub(reaped);
        reaped
    }

    /// Frames on the TX ring or in flight that the kernel has not completed yet.
    pub fn tx_in_flight(&self) -> u32 {
        self.tx_in_flight
    }

    fn kick_tx(&mut self) {
        if self.rings.tx.needs_wakeup() {
            wake_tx(self.as_fd());
            self.counters.tx_wakeups += 1;
        }
    }

    /// Tops the fill ring up to the configured number of RX frames from the pool.
    pub fn refill(&mut self) {
        let want = self.rx_frames.saturating_sub(self.frames_in_fill);
        if want == 0 {
            return;
        }
        let posted = {
            let Self {
                rings,
                pool,
                counters,
                ..
            } = self;
            rings.fill.produce(want, || {
                let addr = pool.alloc();
                if addr.is_none() {
                    counters.fill_ring_starved += 1;
                }
                addr
            })
        };
        self.frames_in_fill += posted;
        if posted > 0 && self.rings.fill.needs_wakeup() {
            wake_fill(self.as_fd());
            self.counters.fill_wakeups += 1;
        }
    }

    /// Returns `Ok(true)` at once when frames wait on the RX ring (or completions on the completion ring);
    /// otherwise blocks in `poll()` for up to `timeout` (which is also the fill-ring wakeup the kernel may have
    /// asked for) and says whether frames arrived. Spinning, if wanted, is the caller's: see
    /// [`rx_available`](Self::rx_available), which reads the ring without a system call.
    pub fn poll_wait(&mut self, timeout: Duration) -> Result<bool> {
        if self.has_work() {
            return Ok(true);
        }
        self.counters.sleeps += 1;
        let ready = self.wait_readable(timeout)?;
        if ready {
            self.counters.sleep_wakeups += 1;
        }
        Ok(ready)
    }

    /// Frames waiting on the RX ring, read from the ring itself (no system call).
    pub fn rx_available(&self) -> u32 {
        self.rings.rx.available()
    }

    /// Whether the kernel asked to be woken to refill from the fill ring (copy mode and busy-polling drivers
    /// stop taking frames until then); a `poll()` or `recvfrom()` on the socket is that wakeup.
    pub fn fill_needs_wakeup(&self) -> bool {
        self.rings.fill.needs_wakeup()
    }

    /// Asks the kernel for preferred busy polling on this socket (SO_PREFER_BUSY_POLL, SO_BUSY_POLL = `usecs`,
    /// SO_BUSY_POLL_BUDGET = `budget`): while the application polls, the driver's NAPI runs in its context instead
    /// of in softirq. Only drivers that register NAPI ids for their queues honour it; the options are accepted
    /// either way, so this returns which ones the kernel refused.
    pub fn set_busy_poll(&self, usecs: u32, budget: u16) -> Result<()> {
        let options: [(libc::c_int, libc::c_int, &str); 3] = [
            (SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL"),
            (
                libc::SO_BUSY_POLL,
                libc::c_int::try_from(usecs).unwrap_or(libc::c_int::MAX),
                "SO_BUSY_POLL",
            ),
            (
                SO_BUSY_POLL_BUDGET,
                libc::c_int::from(budget),
                "SO_BUSY_POLL_BUDGET",
            ),
        ];
        for (name, value, op) in options {
            set_option(self.as_fd(), libc::SOL_SOCKET, name, &value, op)?;
        }
        Ok(())
    }

    fn has_work(&self) -> bool {
        self.rings.rx.available() > 0
            || (self.tx_in_flight > 0 && self.rings.completion.available() > 0)
    }

    /// Blocks in `poll(POLLIN)` on the socket; the same call is the fill-ring wakeup the kernel may have asked for.
    fn wait_readable(&self, timeout: Duration) -> Result<bool> {
        let mut fds = libc::pollfd {
            fd: self.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fds` is one valid, initialised pollfd that lives across the call, and the count passed is 1.
        let rc = unsafe { libc::poll(&mut fds, 1, millis) };
        if rc < 0 {
            let source = std::io::Error::last_os_error();
            if source.kind() == std::io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(XdpError::Io {
                op: "poll on the AF_XDP socket",
                source,
            });
        }
        Ok(rc > 0 && fds.revents & libc::POLLIN != 0)
    }
}

impl AsRawFd for XskSocket {
    /// The socket's descriptor, for registering it in the steering program's XSKMAP.
    fn as_raw_fd(&self) -> RawFd {
        self.rings.fd.as_raw_fd()
    }
}

impl AsFd for XskSocket {
    /// The socket's descriptor, borrowed for as long as the socket lives: for epoll sets and `poll()`.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rings.fd.as_fd()
    }
}

impl std::fmt::Debug for XskSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XskSocket")
            .field("ifname", &self.ifname)
            .field("queue", &self.queue)
            .field("mode", &self.mode)
            .field("umem", &self.umem)
            .field("counters", &self.counters)
            .finish()
    }
}

//! An in-memory backend and TUN, so the whole pipeline runs in a test without root: two pipelines joined by a
//! pair of [`MemUnderlay`]s behave like two hosts on a wire, and every failure a real backend can show (a full
//! ring, an empty receive, a TUN that goes away, a send that fails) can be switched on.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::eventfd::{EfdFlags, EventFd};
use wgxdp_device::{Destination, TxRoom};
use wgxdp_io_socket::{TunOffload, TunRecvBatch, TunWriteBatch, VirtioNetHdr, VIRTIO_NET_HDR_LEN};

use crate::stats::WorkerStats;
use crate::tun_port::TunPort;
use crate::underlay::{Underlay, WaitFd};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn readiness() -> EventFd {
    EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC).expect("an eventfd")
}

/// One direction of a wire: datagrams with their source, and an eventfd readable while any wait.
#[derive(Debug)]
pub struct MemQueue<T> {
    items: Mutex<VecDeque<T>>,
    event: EventFd,
}

impl<T> MemQueue<T> {
    /// An empty queue.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            items: Mutex::new(VecDeque::new()),
            event: readiness(),
        })
    }

    /// Appends an item and makes the queue readable.
    pub fn push(&self, item: T) {
        lock(&self.items).push_back(item);
        let _ = self.event.write(1);
    }

    /// Appends several items at once (a flush): a reader sees all of them or none.
    pub fn push_all(&self, new: impl IntoIterator<Item = T>) {
        let mut items = lock(&self.items);
        let before = items.len();
        items.extend(new);
        if items.len() > before {
            let _ = self.event.write(1);
        }
    }

    /// Takes up to `max` items.
    pub fn take(&self, max: usize) -> Vec<T> {
        let mut items = lock(&self.items);
        let n = items.len().min(max);
        let taken: Vec<T> = items.drain(..n).collect();
        if items.is_empty() {
            let _ = self.event.read();
        }
        taken
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        lock(&self.items).len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Failures an in-memory backend can be told to show.
#[derive(Debug, Default)]
pub struct Faults {
    /// Hand out no buffer at all (a TX ring that stays full).
    pub ring_full: AtomicBool,
    /// Lose every flushed message (a send the kernel refuses).
    pub send_fails: AtomicBool,
    /// Receives find nothing although messages wait (EAGAIN after a spurious wake-up).
    pub receive_would_block: AtomicBool,
}

/// A queue of datagrams and their sources: one direction of a wire.
pub type MemWire = MemQueue<(SocketAddr, Vec<u8>)>;

/// One end of an in-memory wire.
#[derive(Debug)]
pub struct MemUnderlay {
    local: SocketAddr,
    inbox: Arc<MemWire>,
    /// Where flushed messages go, by destination (messages to any other address are lost).
    peers: Vec<(SocketAddr, Arc<MemWire>)>,
    committed: Vec<(SocketAddr, Vec<u8>)>,
    buffer: Vec<u8>,
    /// Messages this end has flushed (sent or lost).
    pub flushed: Arc<AtomicUsize>,
    /// Failures to show.
    pub faults: Arc<Faults>,
    spins: bool,
}

impl MemUnderlay {
    /// An end at `local` receiving from `inbox`.
    pub fn new(local: SocketAddr, inbox: Arc<MemWire>) -> Self {
        Self {
            local,
            inbox,
            peers: Vec::new(),
            committed: Vec::new(),
            buffer: Vec::new(),
            flushed: Arc::new(AtomicUsize::new(0)),
            faults: Arc::new(Faults::default()),
            spins: false,
        }
    }

    /// Messages to `addr` go to `inbox`.
    pub fn route(mut self, addr: SocketAddr, inbox: Arc<MemWire>) -> Self {
        self.peers.push((addr, inbox));
        self
    }

    /// Say that `rx_pending` reads a ring, so the pipeline spins on it before sleeping.
    pub fn spinning(mut self) -> Self {
        self.spins = true;
        self
    }

    /// Two ends joined to each other.
    pub fn pair(a: SocketAddr, b: SocketAddr) -> (Self, Self) {
        let (qa, qb) = (MemQueue::new(), MemQueue::new());
        (
            Self::new(a, Arc::clone(&qa)).route(b, Arc::clone(&qb)),
            Self::new(b, qb).route(a, qa),
        )
    }

    /// Where this end receives.
    pub fn inbox(&self) -> &Arc<MemWire> {
        &self.inbox
    }
}

impl TxRoom for MemUnderlay {
    fn message_buffer(&mut self, _to: Destination, max_len: usize) -> Option<&mut [u8]> {
        if self.faults.ring_full.load(Ordering::Relaxed) {
            return None;
        }
        self.buffer.clear();
        self.buffer.resize(max_len, 0);
        Some(&mut self.buffer)
    }

    fn commit(&mut self, to: Destination, len: usize) {
        let mut message = std::mem::take(&mut self.buffer);
        message.truncate(len);
        self.committed.push((to.addr, message));
    }
}

impl Underlay for MemUnderlay {
    fn receive<F: FnMut(Destination, &mut [u8])>(
        &mut self,
        _stats: &WorkerStats,
        mut each: F,
    ) -> Result<usize, String> {
        if self.faults.receive_would_block.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let taken = self.inbox.take(64);
        for (from, mut message) in taken.iter().cloned() {
            each(Destination::routed(from), &mut message);
        }
        Ok(taken.len())
    }

    fn flush(&mut self, _stats: &WorkerStats) {
        let fails = self.faults.send_fails.load(Ordering::Relaxed);
        self.flushed
            .fetch_add(self.committed.len(), Ordering::Relaxed);
        if fails {
            self.committed.clear();
            return;
        }
        for (addr, queue) in &self.peers {
            let local = self.local;
            queue.push_all(
                self.committed
                    .iter()
                    .filter(|(to, _)| to == addr)
                    .map(|(_, m)| (local, m.clone())),
            );
        }
        self.committed.clear();
    }

    fn rx_pending(&self) -> bool {
        !self.inbox.is_empty() && !self.faults.receive_would_block.load(Ordering::Relaxed)
    }

    fn spins(&self) -> bool {
        self.spins
    }

    fn wait_fds<'a>(&'a self, out: &mut Vec<WaitFd<'a>>) {
        out.push(WaitFd {
            fd: self.inbox.event.as_fd(),
            token: 0,
        });
    }

    fn generation(&self) -> u64 {
        0
    }

    fn ready(&mut self, _token: u32) {}

    fn maintain(&mut self, _now: Duration, _stats: &WorkerStats) -> usize {
        0
    }
}

/// A TUN in memory: packets "from the kernel" to read, and every buffer written (with its virtio-net header when
/// the TUN has offloads).
#[derive(Debug)]
pub struct MemTun {
    /// Packets (or, with offloads, virtio-net header + packet) waiting to be read.
    pub inbox: Arc<MemQueue<Vec<u8>>>,
    /// Everything written, one entry per write.
    pub written: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The interface was deleted: reads and writes fail as a deleted TUN's do.
    pub gone: Arc<AtomicBool>,
    offload: TunOffload,
}

impl MemTun {
    /// A TUN with the given offloads.
    pub fn new(offload: TunOffload) -> Self {
        Self {
            inbox: MemQueue::new(),
            written: Arc::new(Mutex::new(Vec::new())),
            gone: Arc::new(AtomicBool::new(false)),
            offload,
        }
    }

    /// Deletes the interface: the worker finds out at its next read or write.
    pub fn delete(&self) {
        self.gone.store(true, Ordering::Relaxed);
        // Wake a sleeping worker, as the kernel does with EPOLLERR.
        let _ = self.inbox.event.write(1);
    }

    /// The IP packets written so far, super-packets split back into their segments' payload totals: each entry
    /// is (virtio-net header, packet).
    pub fn writes(&self) -> Vec<(VirtioNetHdr, Vec<u8>)> {
        lock(&self.written)
            .iter()
            .map(|w| {
                if self.offload.vnet {
                    let hdr = VirtioNetHdr::decode(w).unwrap_or_default();
                    (
                        hdr,
                        w.get(VIRTIO_NET_HDR_LEN..).unwrap_or_default().to_vec(),
                    )
                } else {
                    (VirtioNetHdr::default(), w.clone())
                }
            })
            .collect()
    }
}

fn gone() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADFD)
}

impl TunPort for MemTun {
    fn read(&mut self, batch: &mut TunRecvBatch) -> io::Result<usize> {
        if self.gone.load(Ordering::Relaxed) {
            return Err(gone());
        }
        let Some(raw) = self.inbox.take(1).pop() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        batch
            .load(&raw, self.offload.vnet)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn write(&mut self, batch: &mut TunWriteBatch) -> io::Result<usize> {
        if self.gone.load(Ordering::Relaxed) {
            batch.clear();
            return Err(gone());
        }
        let packets = batch.packets();
        let mut written = lock(&self.written);
        batch
            .write_each(|bytes| {
                written.push(bytes.to_vec());
                Ok::<(), io::Error>(())
            })
            .map(|_| packets)
            .map_err(|(_, e)| e)
    }

    fn offload(&self) -> TunOffload {
        self.offload
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.inbox.event.as_fd()
    }
}

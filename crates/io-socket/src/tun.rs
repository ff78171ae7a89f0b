//! Opening the TUN device (tun-rs) and per-worker queue handles.

use crate::tun_batch::TunRecvBatch;
use crate::tun_write::{TunOffload, TunWriteBatch};
use crate::udp_socket::wait_for;
use nix::poll::PollFlags;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;
use tun_rs::{DeviceBuilder, SyncDevice};

/// WireGuard's default tunnel MTU: 1500 minus the largest (IPv6) encapsulation overhead.
pub const DEFAULT_MTU: u16 = 1420;

/// How to create the TUN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// MTU; [`DEFAULT_MTU`] by default.
    pub mtu: u16,
    /// Number of queues (one per worker), at least 1.
    pub queues: usize,
    /// Optional IPv4 address and prefix length.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// IPv6 addresses and prefix lengths.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// virtio-net header offloads (TSO4/TSO6, USO where the kernel has it, checksum offload).
    pub offload: bool,
    /// Coalesce consecutive TCP/UDP segments of a flow into super-packets on write (see `TunWriteBatch`).
    /// Needs `offload`.
    pub coalesce_writes: bool,
}

impl TunConfig {
    /// Defaults: one queue, [`DEFAULT_MTU`], offloads and write coalescing on, no addresses.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            mtu: DEFAULT_MTU,
            queues: 1,
            ipv4: None,
            ipv6: Vec::new(),
            offload: true,
            coalesce_writes: true,
        }
    }
}

/// An open, up TUN interface and its queues.
#[derive(Debug)]
pub struct TunDevice {
    name: String,
    mtu: u16,
    queues: Vec<TunQueue>,
}

impl TunDevice {
    /// Creates the interface (multi-queue, no packet-information header), sets its MTU and
    /// addresses, brings it up and opens `config.queues` non-blocking queues.
    pub fn open(config: &TunConfig) -> io::Result<Self> {
        let mut builder = DeviceBuilder::new()
            .name(config.name.clone())
            .mtu(config.mtu)
            .offload(config.offload)
            // Multi-queue even for one queue, so more can be attached later.
            .multi_queue(true)
            .packet_information(false)
            .enable(true);
        if let Some((addr, prefix)) = config.ipv4 {
            builder = builder.ipv4(addr, prefix, None);
        }
        for &(addr, prefix) in &config.ipv6 {
            builder = builder.ipv6(addr, prefix);
        }
        let first = builder.build_sync()?;
        let mut queues = Vec::with_capacity(config.queues.max(1));
        for _ in 1..config.queues.max(1) {
            queues.push(first.try_clone()?);
        }
        queues.insert(0, first);
        let queues = queues
            .into_iter()
            .map(|dev| TunQueue::new(dev, config.coalesce_writes))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Self {
            name: config.name.clone(),
            mtu: config.mtu,
            queues,
        })
    }

    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// MTU set at creation.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The queues, one per worker.
    pub fn queues(&self) -> &[TunQueue] {
        &self.queues
    }

    /// Hands the queues out (e.g. to move one into each worker thread).
    pub fn into_queues(self) -> Vec<TunQueue> {
        self.queues
    }
}

/// One queue of the TUN: packets of a given flow always land on the same queue.
pub struct TunQueue {
    dev: SyncDevice,
    vnet: bool,
    coalesce: bool,
}

impl std::fmt::Debug for TunQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tun-rs devices have no Debug; the descriptor identifies the queue.
        f.debug_struct("TunQueue")
            .field("fd", &self.dev.as_raw_fd())
            .field("vnet", &self.vnet)
            .field("coalesce", &self.coalesce)
            .finish()
    }
}

impl TunQueue {
    fn new(dev: SyncDevice, coalesce: bool) -> io::Result<Self> {
        dev.set_nonblocking(true)?;
        let vnet = dev.tcp_gso();
        Ok(Self {
            dev,
            vnet,
            coalesce: coalesce && vnet,
        })
    }

    /// Whether packets carry virtio-net headers (offloads active).
    pub fn offload_enabled(&self) -> bool {
        self.vnet
    }

    /// Whether the kernel accepted UDP segmentation offload (USO) too.
    pub fn udp_offload_enabled(&self) -> bool {
        self.dev.udp_gso()
    }

    /// Reads one packet (or super-packet) and leaves the resulting IP packets in `batch`.
    /// Non-blocking: `WouldBlock` when nothing is queued. A packet that cannot be split comes
    /// back as `InvalidData` (wrapping a [`crate::SplitError`]); it is dropped and the next
    /// read is unaffected.
    pub fn recv(&self, batch: &mut TunRecvBatch) -> io::Result<usize> {
        let n = loop {
            match self.dev.recv(batch.read_buffer(self.vnet)) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        batch
            .finish_read(n, self.vnet)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// What a write batch for this queue may coalesce (see [`TunWriteBatch::new`]).
    pub fn offload(&self) -> TunOffload {
        TunOffload {
            vnet: self.vnet,
            udp: self.vnet && self.dev.udp_gso(),
            coalesce: self.coalesce,
        }
    }

    /// Writes every queued packet or super-packet (one `write` each) and empties the batch. Returns the number of
    /// packets handed over (every segment of a super-packet counted); on error some may have been written. The
    /// batch must have been made for this queue's [`offload`](Self::offload).
    pub fn write_batch(&self, batch: &mut TunWriteBatch) -> io::Result<usize> {
        let packets = batch.packets();
        batch
            .write_each(|bytes| loop {
                match self.dev.send(bytes) {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            })
            .map(|_| packets)
            .map_err(|(_, e)| e)
    }

    /// Waits until a packet can be read, or `timeout` passes (`None` waits forever).
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        wait_for(self.dev.as_fd(), PollFlags::POLLIN, timeout)
    }
}

impl AsFd for TunQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.dev.as_fd()
    }
}

impl AsRawFd for TunQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.dev.as_raw_fd()
    }
}

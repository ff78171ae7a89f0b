//! Batched receive: recvmmsg into a preallocated [`RecvBatch`], with UDP GRO super-datagrams
//! exposed together with their segment size.

use crate::pktinfo::PacketInfo;
use crate::sockaddr::from_storage;
use crate::udp_scratch::{with_recv, MAX_BATCH};
use crate::udp_socket::BatchUdpSocket;
use nix::errno::Errno;
use nix::sys::socket::{recvmmsg, ControlMessageOwned, MsgFlags};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Largest datagram (or GRO super-datagram) a slot must hold so the kernel never truncates.
pub const MAX_DATAGRAM: usize = 65_535;

/// Where and how one received message landed in the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RecvMeta {
    slot: usize,
    len: usize,
    source: SocketAddr,
    segment_size: usize,
    local: Option<PacketInfo>,
}

/// Reusable receive buffers for up to [`MAX_BATCH`] messages. Allocated once; receiving
/// into it never allocates.
#[derive(Debug)]
pub struct RecvBatch {
    buffer: Vec<u8>,
    slot_len: usize,
    meta: Vec<RecvMeta>,
    dropped: usize,
}

/// One received message: a single datagram, or a GRO super-datagram holding several datagrams
/// of `segment_size` bytes each (the last may be shorter), all from `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The received bytes.
    pub data: &'a [u8],
    /// Sender address.
    pub source: SocketAddr,
    /// Size of each coalesced datagram; equals `data.len()` for a plain datagram.
    pub segment_size: usize,
    /// Where the datagram was addressed and which interface it came in on.
    pub local: Option<PacketInfo>,
}

impl<'a> Datagram<'a> {
    /// The original datagrams, in the order the sender sent them.
    pub fn segments(&self) -> std::slice::Chunks<'a, u8> {
        self.data.chunks(self.segment_size.max(1))
    }

    /// Whether this message is a GRO super-datagram of more than one datagram.
    pub fn is_coalesced(&self) -> bool {
        self.data.len() > self.segment_size
    }
}

impl RecvBatch {
    /// Room for `messages` messages (clamped to 1..=[`MAX_BATCH`]) of [`MAX_DATAGRAM`] bytes,
    /// the size a GRO super-datagram can reach.
    pub fn new(messages: usize) -> Self {
        Self::with_slot_len(messages, MAX_DATAGRAM)
    }

    /// Room for `messages` messages of `slot_len` bytes. Longer datagrams are truncated by the
    /// kernel and dropped here (counted by [`dropped`](Self::dropped)), so use a smaller slot
    /// only on sockets without GRO.
    pub fn with_slot_len(messages: usize, slot_len: usize) -> Self {
        let messages = messages.clamp(1, MAX_BATCH);
        let slot_len = slot_len.max(1);
        Self {
            buffer: vec![0; messages * slot_len],
            slot_len,
            meta: Vec::with_capacity(messages),
            dropped: 0,
        }
    }

    /// How many messages one receive can fill.
    pub fn capacity(&self) -> usize {
        self.buffer.len() / self.slot_len
    }

    /// Messages held from the last receive.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether the last receive produced no usable message.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Messages the last receive had to discard (truncated, or control data lost).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The `index`-th message of the last receive.
    pub fn get(&self, index: usize) -> Option<Datagram<'_>> {
        let meta = self.meta.get(index)?;
        let start = meta.slot * self.slot_len;
        Some(Datagram {
            data: self.buffer.get(start..start + meta.len)?,
            source: meta.source,
            segment_size: meta.segment_size,
            local: meta.local,
        })
    }

    /// Mutable bytes of the `index`-th message, for in-place decryption.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let meta = self.meta.get(index)?;
        let start = meta.slot * self.slot_len;
        self.buffer.get_mut(start..start + meta.len)
    }

    /// All messages of the last receive, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = Datagram<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl BatchUdpSocket {
    /// Receives up to `batch.capacity()` messages with one recvmmsg call. Never blocks:
    /// returns `ErrorKind::WouldBlock` when nothing is queued (see
    /// [`wait_readable`](Self::wait_readable)). `Ok(0)` means every message received had to be
    /// dropped.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.meta.clear();
        batch.dropped = 0;
        let slots = batch.capacity();
        let slot_len = batch.slot_len;
        let (is_v6, gro) = (self.is_v6(), self.gro_enabled());
        let RecvBatch {
            buffer,
            meta,
            dropped,
            ..
        } = batch;
        with_recv(|scratch| loop {
            let headers = scratch.headers(is_v6, gro);
            let mut chunks = buffer.chunks_mut(slot_len);
            let mut iovs: [[IoSliceMut<'_>; 1]; MAX_BATCH] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or_default())]);
            let results = match recvmmsg(
                self.as_raw_fd(),
                headers,
                iovs.iter_mut().take(slots),
                MsgFlags::empty(),
                None,
            ) {
                Ok(results) => results,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(io::Error::from(e)),
            };
            let mut lost_control_room = false;
            for (slot, msg) in results.enumerate() {
                let mut gro_size = None;
                let mut local = None;
                let control_ok = match msg.cmsgs() {
                    Ok(cmsgs) => {
                        for cmsg in cmsgs {
                            match cmsg {
                                ControlMessageOwned::UdpGroSegments(size) => {
                                    gro_size = usize::try_from(size).ok().filter(|s| *s > 0);
                                }
                                ControlMessageOwned::Ipv4PacketInfo(info) => {
                                    local = Some(PacketInfo::from_v4(&info));
                                }
                                ControlMessageOwned::Ipv6PacketInfo(info) => {
                                    local = Some(PacketInfo::from_v6(&info));
                                }
                                _ => {}
                            }
                        }
                        true
                    }
                    Err(_) => false,
                };
                // A slot that stored no cmsg now advertises zero control room (see udp_scratch).
                lost_control_room |= gro && gro_size.is_none();
                let source = msg.address.as_ref().and_then(from_storage);
                let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
                match source {
                    // A truncated or size-less super-datagram cannot be split correctly.
                    Some(source) if control_ok && !truncated && msg.bytes <= slot_len => {
                        meta.push(RecvMeta {
                            slot,
                            len: msg.bytes,
                            source,
                            segment_size: gro_size.unwrap_or(msg.bytes),
                            local,
                        })
                    }
                    _ => *dropped += 1,
                }
            }
            if lost_control_room {
                scratch.mark_stale(is_v6);
            }
            return Ok(meta.len());
        })
    }
}

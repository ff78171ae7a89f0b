//! Preallocated buffers for TUN reads (one read, possibly many packets) and batched TUN writes.

use crate::gso_split::{split_into, Split, SplitError};
use crate::virtio::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};

/// Largest packet one TUN read can return (a 64 KiB GSO super-packet), plus its virtio header.
const RAW_LEN: usize = VIRTIO_NET_HDR_LEN + 65_536;
/// Segment slots per read: enough for a 64 KiB TSO packet down to an MTU of about 576.
pub const DEFAULT_TUN_SEGMENTS: usize = 128;

/// The packets of one TUN read: a single packet (kept where it was read, no copy) or the
/// MTU-sized segments of a super-packet.
#[derive(Debug)]
pub struct TunRecvBatch {
    raw: Vec<u8>,
    raw_len: usize,
    arena: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
    whole: bool,
}

impl TunRecvBatch {
    /// Buffers for a TUN of the given MTU, with [`DEFAULT_TUN_SEGMENTS`] segment slots.
    pub fn new(mtu: u16) -> Self {
        Self::with_segments(usize::from(mtu), DEFAULT_TUN_SEGMENTS)
    }

    /// Buffers with `segments` slots of `slot_len` bytes (the largest segment, i.e. the MTU).
    pub fn with_segments(slot_len: usize, segments: usize) -> Self {
        let slot_len = slot_len.max(1);
        Self {
            raw: vec![0; RAW_LEN],
            raw_len: 0,
            arena: vec![0; slot_len * segments.max(1)],
            slot_len,
            lens: Vec::with_capacity(segments.max(1)),
            whole: false,
        }
    }

    /// Packets from the last read.
    pub fn len(&self) -> usize {
        if self.whole {
            1
        } else {
            self.lens.len()
        }
    }

    /// Whether the last read produced nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th IP packet.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if self.whole {
            return (index == 0)
                .then(|| self.raw.get(VIRTIO_NET_HDR_LEN..self.raw_len))
                .flatten();
        }
        let len = *self.lens.get(index)?;
        let start = index * self.slot_len;
        self.arena.get(start..start + len)
    }

    /// The `index`-th IP packet, mutable (e.g. to encrypt in place).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        if self.whole {
            return (index == 0)
                .then(|| self.raw.get_mut(VIRTIO_NET_HDR_LEN..self.raw_len))
                .flatten();
        }
        let len = *self.lens.get(index)?;
        let start = index * self.slot_len;
        self.arena.get_mut(start..start + len)
    }

    /// All packets of the last read, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Where the next read goes: after room for the virtio header, which a TUN without
    /// offloads does not write (so both layouts keep the packet at the same offset).
    pub(crate) fn read_buffer(&mut self, vnet: bool) -> &mut [u8] {
        self.reset();
        let start = if vnet { 0 } else { VIRTIO_NET_HDR_LEN };
        self.raw.get_mut(start..).unwrap_or_default()
    }

    /// Interprets `n` bytes just read into [`read_buffer`](Self::read_buffer).
    pub(crate) fn finish_read(&mut self, n: usize, vnet: bool) -> Result<usize, SplitError> {
        if !vnet {
            self.raw_len = (VIRTIO_NET_HDR_LEN + n).min(self.raw.len());
            self.whole = n > 0;
            return Ok(self.len());
        }
        self.raw_len = n.min(self.raw.len());
        let hdr = VirtioNetHdr::decode(&self.raw[..self.raw_len]).ok_or(SplitError::Truncated)?;
        let packet = self
            .raw
            .get_mut(VIRTIO_NET_HDR_LEN..self.raw_len)
            .ok_or(SplitError::Truncated)?;
        if packet.is_empty() {
            return Err(SplitError::Truncated);
        }
        match split_into(&hdr, packet, &mut self.arena, self.slot_len, &mut self.lens) {
            Ok(Split::Whole) => self.whole = true,
            Ok(Split::Segments(_)) => {}
            Err(e) => {
                self.reset();
                return Err(e);
            }
        }
        Ok(self.len())
    }

    /// Takes a copy of `raw` as if read from a TUN: with `vnet`, a virtio-net header and a (super-)packet, split
    /// as a real read would be; without, one plain packet. For TUNs that are not kernel devices (tests, in-memory
    /// pipelines) and hand-built super-packets.
    pub fn load(&mut self, raw: &[u8], vnet: bool) -> Result<usize, SplitError> {
        let buffer = self.read_buffer(vnet);
        let dst = buffer.get_mut(..raw.len()).ok_or(SplitError::BadHeader(
            "packet larger than a TUN read can be",
        ))?;
        dst.copy_from_slice(raw);
        self.finish_read(raw.len(), vnet)
    }

    fn reset(&mut self) {
        self.lens.clear();
        self.whole = false;
        self.raw_len = 0;
    }
}

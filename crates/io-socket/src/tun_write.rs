//! IP packets queued for a batched TUN write: decrypted packets go in one by one, and on an offload TUN
//! consecutive TCP segments (and, with USO, UDP datagrams) of one flow are coalesced into super-packets
//! (`tun_gro.rs`), so a 64 KiB run of a TCP stream costs one `write` instead of forty.
//!
//! Every buffer is allocated once, when the batch is made: pushing and writing never allocate.

use crate::error::BatchError;
use crate::tun_gro::{Coalesced, Shape};
use crate::virtio::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};

/// Buffers searched backwards for an open super-packet of the same flow.
const OPEN_SCAN: usize = 8;
/// Room a coalescing buffer has for its super-packet: the largest IP packet.
const SUPER_PACKET: usize = 65_535;

/// What the TUN the batch is written to can take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunOffload {
    /// Packets carry a virtio-net header (IFF_VNET_HDR): TSO super-packets may be written.
    pub vnet: bool,
    /// The TUN accepted UDP segmentation offload (USO): UDP super-packets may be written too.
    pub udp: bool,
    /// Coalesce at all (with `vnet`); off, every packet is written alone behind a zeroed header.
    pub coalesce: bool,
}

/// One queued buffer: a virtio-net header's room, then a packet or a super-packet.
#[derive(Debug)]
struct Entry {
    buf: Vec<u8>,
    /// Coalescing state when the packet may take more segments (or took some).
    group: Option<Coalesced>,
    /// A merged segment carried PSH.
    psh: bool,
}

/// Packets waiting for the next TUN write; see the module documentation.
#[derive(Debug)]
pub struct TunWriteBatch {
    entries: Vec<Entry>,
    len: usize,
    max_packet: usize,
    offload: TunOffload,
    /// Packets pushed since the last clear (a super-packet counts all its segments).
    packets: usize,
}

impl TunWriteBatch {
    /// Room for `buffers` writes of packets up to `max_packet` bytes for a TUN with `offload`; with offloads
    /// each buffer can grow to a 64 KiB super-packet.
    pub fn new(buffers: usize, max_packet: usize, offload: TunOffload) -> Self {
        let room = if offload.vnet {
            max_packet.max(SUPER_PACKET)
        } else {
            max_packet
        };
        Self {
            entries: (0..buffers.max(1))
                .map(|_| Entry {
                    buf: Vec::with_capacity(VIRTIO_NET_HDR_LEN + room),
                    group: None,
                    psh: false,
                })
                .collect(),
            len: 0,
            max_packet,
            offload,
            packets: 0,
        }
    }

    /// What the batch coalesces for.
    pub fn offload(&self) -> TunOffload {
        self.offload
    }

    /// Queues a copy of one IP packet, merged into an open super-packet of its flow when it continues one.
    /// `Err(BatchError::Full)` when every buffer is taken: write the batch and push again.
    pub fn push(&mut self, packet: &[u8]) -> Result<(), BatchError> {
        if packet.is_empty() {
            return Err(BatchError::Empty);
        }
        if packet.len() > self.max_packet {
            return Err(BatchError::TooLong {
                len: packet.len(),
                max: self.max_packet,
            });
        }
        let shape = (self.offload.vnet && self.offload.coalesce)
            .then(|| Shape::of(packet, self.offload.udp))
            .flatten();
        if let Some(shape) = &shape {
            if self.merge(packet, shape) {
                self.packets += 1;
                return Ok(());
            }
        }
        let entry = self.entries.get_mut(self.len).ok_or(BatchError::Full)?;
        entry.buf.clear();
        entry.buf.extend_from_slice(&[0; VIRTIO_NET_HDR_LEN]);
        entry.buf.extend_from_slice(packet);
        entry.group = shape.map(Coalesced::start);
        entry.psh = false;
        self.len += 1;
        self.packets += 1;
        Ok(())
    }

    /// Appends `packet` to the most recent open super-packet of its flow if it continues it. A packet of the
    /// same flow that does not continue it closes it instead, so that no later packet can jump ahead.
    fn merge(&mut self, packet: &[u8], shape: &Shape) -> bool {
        let first = self.len.saturating_sub(OPEN_SCAN);
        let Some(recent) = self.entries.get_mut(first..self.len) else {
            return false;
        };
        for entry in recent.iter_mut().rev() {
            let Some(group) = entry.group.as_mut() else {
                continue;
            };
            let head = entry.buf.get(VIRTIO_NET_HDR_LEN..).unwrap_or_default();
            if !same_addresses(head, packet, shape) {
                continue;
            }
            let capacity = entry.buf.capacity() - VIRTIO_NET_HDR_LEN;
            if !group.accepts(head, packet, shape, capacity) {
                group.closed = true;
                return false;
            }
            entry
                .buf
                .extend_from_slice(packet.get(shape.hdr_len..).unwrap_or_default());
            group.append(shape);
            entry.psh |= shape.flags & wgxdp_wire::tcp::TCP_PSH != 0;
            return true;
        }
        false
    }

    /// Buffers queued (a super-packet is one).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Packets queued (every segment of a super-packet counted).
    pub fn packets(&self) -> usize {
        self.packets
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every buffer is taken.
    pub fn is_full(&self) -> bool {
        self.len == self.entries.len()
    }

    /// Drops every queued packet, keeping the buffers.
    pub fn clear(&mut self) {
        self.len = 0;
        self.packets = 0;
    }

    /// Finishes each queued buffer (super-packet headers and virtio-net header) and hands it to `write`: the
    /// bytes to write to the TUN, with the virtio-net header when the TUN has offloads. Stops at the first error,
    /// returns how many buffers were written, and empties the batch either way.
    pub fn write_each<E>(
        &mut self,
        mut write: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, (usize, E)> {
        let vnet = self.offload.vnet;
        let mut written = 0;
        let mut result = Ok(());
        for entry in self.entries.iter_mut().take(self.len) {
            let at = VIRTIO_NET_HDR_LEN.min(entry.buf.len());
            let (hdr, packet) = entry.buf.split_at_mut(at);
            let virtio = match &entry.group {
                Some(group) => group.finish(packet, entry.psh),
                None => VirtioNetHdr::default(),
            };
            virtio.encode(hdr);
            let bytes = if vnet {
                &entry.buf[..]
            } else {
                &entry.buf[VIRTIO_NET_HDR_LEN..]
            };
            if let Err(e) = write(bytes) {
                result = Err(e);
                break;
            }
            written += 1;
        }
        self.clear();
        result.map(|()| written).map_err(|e| (written, e))
    }
}

/// Whether `packet` has the addresses and ports of the super-packet `head` (the flow key).
fn same_addresses(head: &[u8], packet: &[u8], shape: &Shape) -> bool {
    let addrs = if shape.v6 { 8..40 } else { 12..20 };
    let ports = shape.ip_len..shape.ip_len + 4;
    head.get(addrs.clone()) == packet.get(addrs)
        && head.get(ports.clone()) == packet.get(ports)
        && head.first() == packet.first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tun_gro::tests::tcp4;
    use crate::virtio::{F_NEEDS_CSUM, GSO_TCPV4};
    use wgxdp_wire::tcp::{TCP_ACK, TCP_PSH};
    use wgxdp_wire::{Ipv4Packet, TcpSegment};

    fn offload() -> TunOffload {
        TunOffload {
            vnet: true,
            udp: true,
            coalesce: true,
        }
    }

    fn written(batch: &mut TunWriteBatch) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        batch
            .write_each(|bytes| {
                out.push(bytes.to_vec());
                Ok::<(), ()>(())
            })
            .unwrap();
        out
    }

    #[test]
    fn a_tcp_run_becomes_one_super_packet_with_a_partial_checksum() {
        let mut batch = TunWriteBatch::new(4, 1500, offload());
        for i in 0..10 {
            batch.push(&tcp4(1000 + 100 * i, 100, TCP_ACK)).unwrap();
        }
        batch.push(&tcp4(2000, 60, TCP_ACK | TCP_PSH)).unwrap();
        assert_eq!((batch.len(), batch.packets()), (1, 11));
        let out = written(&mut batch);
        assert_eq!(out.len(), 1);
        let hdr = VirtioNetHdr::decode(&out[0]).unwrap();
        assert_eq!(hdr.flags, F_NEEDS_CSUM);
        assert_eq!(hdr.gso_type, GSO_TCPV4);
        assert_eq!(
            (hdr.gso_size, hdr.hdr_len, hdr.csum_start, hdr.csum_offset),
            (100, 52, 20, 16)
        );
        let ip = Ipv4Packet::new(&out[0][VIRTIO_NET_HDR_LEN..]).unwrap();
        assert_eq!(ip.total_len(), 52 + 1060);
        assert!(ip.checksum_ok());
        let tcp = TcpSegment::new(ip.payload()).unwrap();
        assert_eq!(tcp.seq(), 1000);
        assert_eq!(tcp.flags(), TCP_ACK | TCP_PSH);
        // The payloads in order.
        let mut expected = Vec::new();
        for i in 0..10 {
            expected.extend_from_slice(&tcp4(1000 + 100 * i, 100, TCP_ACK)[52..]);
        }
        expected.extend_from_slice(&tcp4(2000, 60, TCP_ACK)[52..]);
        assert_eq!(tcp.payload(), &expected[..]);
    }

    #[test]
    fn flows_interleave_without_reordering_and_a_gap_closes_the_run() {
        let mut batch = TunWriteBatch::new(8, 1500, offload());
        let mut other = tcp4(0, 100, TCP_ACK);
        other[20..22].copy_from_slice(&5202u16.to_be_bytes());
        batch.push(&tcp4(0, 100, TCP_ACK)).unwrap();
        batch.push(&other).unwrap();
        batch.push(&tcp4(100, 100, TCP_ACK)).unwrap();
        // A gap: the run of flow one is closed; the segment after the gap starts a new buffer, and the one that
        // would have continued the first run may not jump ahead of it.
        batch.push(&tcp4(300, 100, TCP_ACK)).unwrap();
        batch.push(&tcp4(200, 100, TCP_ACK)).unwrap();
        assert_eq!(batch.len(), 4);
        let out = written(&mut batch);
        let seqs: Vec<(u16, u32, usize)> = out
            .iter()
            .map(|b| {
                let ip = Ipv4Packet::new(&b[VIRTIO_NET_HDR_LEN..]).unwrap();
                let tcp = TcpSegment::new(ip.payload()).unwrap();
                (tcp.src_port(), tcp.seq(), tcp.payload().len())
            })
            .collect();
        assert_eq!(
            seqs,
            [
                (5201, 0, 200),
                (5202, 0, 100),
                (5201, 300, 100),
                (5201, 200, 100)
            ]
        );
    }

    #[test]
    fn without_offloads_packets_are_written_as_they_are() {
        let mut batch = TunWriteBatch::new(4, 1500, TunOffload::default());
        let a = tcp4(0, 100, TCP_ACK);
        batch.push(&a).unwrap();
        batch.push(&tcp4(100, 100, TCP_ACK)).unwrap();
        let out = written(&mut batch);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], a);
        assert!(batch.is_empty());
    }

    #[test]
    fn full_empty_and_oversized_packets_are_refused() {
        let mut batch = TunWriteBatch::new(1, 200, offload());
        assert_eq!(batch.push(&[]), Err(BatchError::Empty));
        assert!(matches!(
            batch.push(&[0x45; 201]),
            Err(BatchError::TooLong { .. })
        ));
        batch.push(&[0x45; 40]).unwrap();
        assert_eq!(batch.push(&[0x45; 40]), Err(BatchError::Full));
        assert!(batch.is_full());
        let mut calls = 0;
        let result = batch.write_each(|_| {
            calls += 1;
            Err::<(), _>("gone")
        });
        assert_eq!(result, Err((0, "gone")));
        assert_eq!(calls, 1);
        assert!(batch.is_empty(), "emptied even on an error");
    }
}

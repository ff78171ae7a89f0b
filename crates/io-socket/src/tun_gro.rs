//! Receive-side coalescing for TUN writes (what the kernel's GRO does for a NIC): consecutive TCP segments of one
//! flow become one TSO super-packet, consecutive UDP datagrams of one flow one USO super-packet, each written to an
//! offload TUN with one `write` and a virtio-net header that tells the kernel how it splits again.
//!
//! A packet is merged into a super-packet only when the kernel would treat the result exactly like the packets
//! one by one: every header byte equal except those that must differ (lengths, IPv4 id and header checksum, TCP
//! sequence number and PSH, transport checksum), TCP flags ACK or ACK|PSH only (a PSH ends the super-packet),
//! sequence numbers contiguous, every segment but the last of the first segment's size, no IP options, no IPv6
//! extension headers, no fragments, at most [`MAX_SEGMENTS`] segments and 64 KiB.

use wgxdp_wire::checksum::{ipv4_header_checksum, Checksum, IPPROTO_TCP, IPPROTO_UDP};
use wgxdp_wire::tcp::{TCP_ACK, TCP_CHECKSUM_OFFSET, TCP_PSH};
use wgxdp_wire::{Ipv4Packet, Ipv6Packet, TcpSegment, UdpDatagram};

use crate::virtio::{VirtioNetHdr, F_NEEDS_CSUM, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4};

/// Segments per super-packet at most (the kernel's UDP_MAX_SEGMENTS; TCP follows the same bound here).
pub(crate) const MAX_SEGMENTS: u16 = 64;
/// Largest super-packet: the IPv4 total length / IPv6 payload length field is 16 bits.
const MAX_SUPER_LEN: usize = 65_535;
const UDP_CHECKSUM_OFFSET: usize = 6;

/// The transport a packet can be coalesced as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Udp,
}

/// Where a packet's headers end and what coalescing needs of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub kind: Kind,
    pub v6: bool,
    /// IP header length (20 or 40: no options, no extension headers).
    pub ip_len: usize,
    /// IP plus transport header length.
    pub hdr_len: usize,
    /// Payload bytes after the headers.
    pub payload_len: usize,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP flags (0 for UDP).
    pub flags: u8,
}

impl Shape {
    /// The shape of `packet` if it may take part in coalescing at all; `None` for anything else (it is written as
    /// it is).
    pub fn of(packet: &[u8], udp_offload: bool) -> Option<Self> {
        let (v6, ip_len, protocol, l4) = match packet.first()? >> 4 {
            4 => {
                let ip = Ipv4Packet::new(packet).ok()?;
                if ip.header_len() != 20 || ip.is_fragment() || ip.total_len() != packet.len() {
                    return None;
                }
                (false, 20, ip.protocol(), ip.payload())
            }
            6 => {
                let ip = Ipv6Packet::new(packet).ok()?;
                if ip.total_len() != packet.len() {
                    return None;
                }
                (true, 40, ip.next_header(), ip.payload())
            }
            _ => return None,
        };
        match protocol {
            IPPROTO_TCP => {
                let tcp = TcpSegment::new(l4).ok()?;
                if tcp.payload().is_empty() || tcp.flags() & !TCP_PSH != TCP_ACK {
                    return None;
                }
                Some(Self {
                    kind: Kind::Tcp,
                    v6,
                    ip_len,
                    hdr_len: ip_len + tcp.header_len(),
                    payload_len: tcp.payload().len(),
                    seq: tcp.seq(),
                    flags: tcp.flags(),
                })
            }
            IPPROTO_UDP if udp_offload => {
                let udp = UdpDatagram::new(l4).ok()?;
                if udp.payload().is_empty() || udp.datagram_len() != l4.len() {
                    return None;
                }
                Some(Self {
                    kind: Kind::Udp,
                    v6,
                    ip_len,
                    hdr_len: ip_len + 8,
                    payload_len: udp.payload().len(),
                    seq: 0,
                    flags: 0,
                })
            }
            _ => None,
        }
    }
}

/// A super-packet being built: the first packet's headers, then every merged payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Coalesced {
    pub shape: Shape,
    /// Payload size of every segment but possibly the last.
    pub gso_size: usize,
    pub segments: u16,
    /// Payload bytes so far.
    pub payload: usize,
    /// No more segments may follow (a short segment or a PSH was merged).
    pub closed: bool,
}

impl Coalesced {
    /// A super-packet of one packet.
    pub fn start(shape: Shape) -> Self {
        Self {
            shape,
            gso_size: shape.payload_len,
            segments: 1,
            payload: shape.payload_len,
            // A PSH on the first segment ends the flow's burst: nothing follows it.
            closed: shape.flags & TCP_PSH != 0,
        }
    }

    /// Whether `packet` (of shape `next`) continues this super-packet, whose bytes are `head` (headers of the
    /// first packet, then the payloads), within a buffer of `capacity` bytes for the packet.
    pub fn accepts(&self, head: &[u8], packet: &[u8], next: &Shape, capacity: usize) -> bool {
        let s = &self.shape;
        if self.closed
            || next.kind != s.kind
            || next.v6 != s.v6
            || next.hdr_len != s.hdr_len
            || next.payload_len > self.gso_size
            || self.segments >= MAX_SEGMENTS
        {
            return false;
        }
        let total = s.hdr_len + self.payload + next.payload_len;
        if total > MAX_SUPER_LEN || total > capacity {
            return false;
        }
        if s.kind == Kind::Tcp && next.seq != s.seq.wrapping_add(self.payload as u32) {
            return false;
        }
        same_flow(head, packet, s)
    }

    /// Notes that a packet of shape `next` was appended.
    pub fn append(&mut self, next: &Shape) {
        self.segments += 1;
        self.payload += next.payload_len;
        if next.payload_len < self.gso_size || next.flags & TCP_PSH != 0 {
            self.closed = true;
        }
    }

    /// Fixes the headers of the super-packet `packet` (first headers, all payloads) and returns the virtio-net
    /// header to write in front of it: lengths, the IPv4 header checksum, PSH if any segment had it, and the
    /// transport checksum as the pseudo-header sum the kernel completes (CHECKSUM_PARTIAL).
    pub fn finish(&self, packet: &mut [u8], psh: bool) -> VirtioNetHdr {
        if self.segments < 2 {
            return VirtioNetHdr::default();
        }
        let s = &self.shape;
        let total = packet.len();
        let l4_len = total - s.ip_len;
        let mut pseudo = Checksum::new();
        if s.v6 {
            if let Some(len) = packet.get_mut(4..6) {
                len.copy_from_slice(&(l4_len as u16).to_be_bytes());
            }
            pseudo.add_bytes(packet.get(8..40).unwrap_or_default());
            pseudo.add_u32(l4_len as u32);
        } else {
            if let Some(len) = packet.get_mut(2..4) {
                len.copy_from_slice(&(total as u16).to_be_bytes());
            }
            if let Some(sum) = packet.get_mut(10..12) {
                sum.fill(0);
            }
            let sum = ipv4_header_checksum(packet.get(..20).unwrap_or_default());
            if let Some(field) = packet.get_mut(10..12) {
                field.copy_from_slice(&sum.to_be_bytes());
            }
            pseudo.add_bytes(packet.get(12..20).unwrap_or_default());
            pseudo.add_u16(l4_len as u16);
        }
        let (protocol, csum_offset, gso_type) = match (s.kind, s.v6) {
            (Kind::Tcp, false) => (IPPROTO_TCP, TCP_CHECKSUM_OFFSET, GSO_TCPV4),
            (Kind::Tcp, true) => (IPPROTO_TCP, TCP_CHECKSUM_OFFSET, GSO_TCPV6),
            (Kind::Udp, _) => (IPPROTO_UDP, UDP_CHECKSUM_OFFSET, GSO_UDP_L4),
        };
        pseudo.add_u16(u16::from(protocol));
        let t = s.ip_len;
        match s.kind {
            Kind::Tcp => {
                if psh {
                    if let Some(flags) = packet.get_mut(t + 13) {
                        *flags |= TCP_PSH;
                    }
                }
            }
            Kind::Udp => {
                if let Some(len) = packet.get_mut(t + 4..t + 6) {
                    len.copy_from_slice(&(l4_len as u16).to_be_bytes());
                }
            }
        }
        if let Some(field) = packet.get_mut(t + csum_offset..t + csum_offset + 2) {
            field.copy_from_slice(&pseudo.folded().to_be_bytes());
        }
        VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if self.segments > 1 {
                gso_type
            } else {
                GSO_NONE
            },
            hdr_len: s.hdr_len as u16,
            gso_size: self.gso_size as u16,
            csum_start: s.ip_len as u16,
            csum_offset: csum_offset as u16,
        }
    }
}

/// Whether `packet` belongs to the flow of `head` and may be merged: every header byte equal but the ones that
/// legitimately differ between consecutive segments.
fn same_flow(head: &[u8], packet: &[u8], shape: &Shape) -> bool {
    let (Some(a), Some(b)) = (head.get(..shape.hdr_len), packet.get(..shape.hdr_len)) else {
        return false;
    };
    let ip_varying: &[(usize, usize)] = if shape.v6 {
        // payload length
        &[(4, 6)]
    } else {
        // total length, identification, header checksum
        &[(2, 6), (10, 12)]
    };
    let t = shape.ip_len;
    let mut varying = [(0usize, 0usize); 5];
    let mut n = 0;
    for &(start, end) in ip_varying {
        varying[n] = (start, end);
        n += 1;
    }
    match shape.kind {
        // sequence number; flags compared below without PSH; checksum
        Kind::Tcp => {
            varying[n] = (t + 4, t + 8);
            varying[n + 1] = (t + 13, t + 14);
            varying[n + 2] = (t + 16, t + 18);
            n += 3;
        }
        // length, checksum
        Kind::Udp => {
            varying[n] = (t + 4, t + 8);
            n += 1;
        }
    }
    let mut at = 0;
    for &(start, end) in varying.get(..n).unwrap_or_default() {
        if a.get(at..start) != b.get(at..start) {
            return false;
        }
        at = end;
    }
    if a.get(at..) != b.get(at..) {
        return false;
    }
    shape.kind != Kind::Tcp
        || a.get(t + 13).map(|f| f & !TCP_PSH) == b.get(t + 13).map(|f| f & !TCP_PSH)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 TCP segment with `payload` bytes of payload, sequence `seq`, flags `flags`.
    pub(crate) fn tcp4(seq: u32, payload: usize, flags: u8) -> Vec<u8> {
        let total = 20 + 32 + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[100, 64, 0, 1]);
        p[16..20].copy_from_slice(&[100, 64, 0, 2]);
        let sum = ipv4_header_checksum(&p[..20]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p[20..22].copy_from_slice(&5201u16.to_be_bytes());
        p[22..24].copy_from_slice(&40000u16.to_be_bytes());
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[28..32].copy_from_slice(&7u32.to_be_bytes());
        p[32] = 8 << 4;
        p[33] = flags;
        p[34..36].copy_from_slice(&500u16.to_be_bytes());
        // Timestamp option bytes, equal in every segment of a burst.
        p[40..52].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        for (i, b) in p[52..].iter_mut().enumerate() {
            *b = (seq as usize + i) as u8;
        }
        p
    }

    #[test]
    fn contiguous_segments_of_one_flow_are_accepted_and_others_refused() {
        let a = tcp4(1000, 100, TCP_ACK);
        let shape = Shape::of(&a, false).unwrap();
        assert_eq!((shape.hdr_len, shape.payload_len), (52, 100));
        let c = Coalesced::start(shape);
        let next = tcp4(1100, 100, TCP_ACK);
        assert!(c.accepts(&a, &next, &Shape::of(&next, false).unwrap(), 65_535));
        // A gap in the sequence, another flow, a larger segment, a SYN, an option change.
        for (bad, why) in [
            (tcp4(1200, 100, TCP_ACK), "gap"),
            (tcp4(1100, 101, TCP_ACK), "larger"),
        ] {
            let s = Shape::of(&bad, false).unwrap();
            assert!(!c.accepts(&a, &bad, &s, 65_535), "{why}");
        }
        let mut other_port = next.clone();
        other_port[21] ^= 1;
        let s = Shape::of(&other_port, false).unwrap();
        assert!(!c.accepts(&a, &other_port, &s, 65_535));
        let mut option = next.clone();
        option[47] ^= 1;
        let s = Shape::of(&option, false).unwrap();
        assert!(!c.accepts(&a, &option, &s, 65_535));
        assert!(
            Shape::of(&tcp4(1, 10, TCP_ACK | 0x02), false).is_none(),
            "SYN"
        );
        assert!(
            Shape::of(&tcp4(1, 0, TCP_ACK), false).is_none(),
            "no payload"
        );
        // Capacity and the 64 KiB limit.
        assert!(!c.accepts(&a, &next, &Shape::of(&next, false).unwrap(), 200));
    }

    #[test]
    fn a_short_or_pushed_segment_closes_the_super_packet() {
        let a = tcp4(0, 100, TCP_ACK);
        let mut c = Coalesced::start(Shape::of(&a, false).unwrap());
        let short = tcp4(100, 40, TCP_ACK);
        let s = Shape::of(&short, false).unwrap();
        assert!(c.accepts(&a, &short, &s, 65_535));
        c.append(&s);
        let after = tcp4(140, 40, TCP_ACK);
        assert!(!c.accepts(&a, &after, &Shape::of(&after, false).unwrap(), 65_535));
        let mut c = Coalesced::start(Shape::of(&a, false).unwrap());
        let pushed = tcp4(100, 100, TCP_ACK | TCP_PSH);
        let s = Shape::of(&pushed, false).unwrap();
        assert!(
            c.accepts(&a, &pushed, &s, 65_535),
            "PSH may end the super-packet"
        );
        c.append(&s);
        assert!(c.closed);
    }
}

//! Turning what a TUN with virtio-net offloads hands us into plain IP packets: TSO/USO
//! super-packets are cut into MTU-sized segments with their IP and transport headers fixed up,
//! and partial (NEEDS_CSUM) checksums are completed. The packets are then encrypted one by one,
//! so each must be exactly what the kernel would have put on a wire.

use crate::tun_batch::TunRecvBatch;
use crate::virtio::{
    VirtioNetHdr, F_NEEDS_CSUM, GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4,
};
use std::fmt;
use wgxdp_wire::checksum::{ipv4_header_checksum, Checksum};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

/// Why a packet read from the TUN could not be turned into IP packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// Shorter than the headers it claims to have.
    Truncated,
    /// IP version nibble is neither 4 nor 6.
    NotIp {
        /// The version nibble found.
        version: u8,
    },
    /// GSO type unknown, or not matching the IP version.
    UnsupportedGso {
        /// The raw `gso_type`.
        gso_type: u8,
    },
    /// The virtio header or the IP/transport headers are inconsistent.
    BadHeader(&'static str),
    /// More segments than the batch has slots.
    TooManySegments {
        /// Segments the packet splits into.
        needed: usize,
        /// Slots available.
        available: usize,
    },
    /// A segment would not fit a slot (slot shorter than the MTU-sized packet).
    SegmentTooLarge {
        /// Segment length.
        len: usize,
        /// Slot length.
        slot_len: usize,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("packet shorter than its headers"),
            Self::NotIp { version } => write!(f, "not an IP packet (version {version})"),
            Self::UnsupportedGso { gso_type } => write!(f, "unsupported GSO type {gso_type:#x}"),
            Self::BadHeader(what) => write!(f, "bad header: {what}"),
            Self::TooManySegments { needed, available } => {
                write!(f, "{needed} segments but only {available} slots")
            }
            Self::SegmentTooLarge { len, slot_len } => {
                write!(f, "{len}-byte segment exceeds {slot_len}-byte slot")
            }
        }
    }
}

impl std::error::Error for SplitError {}

/// Result of [`split_into`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// The input is a single packet (its checksum completed in place if needed).
    Whole,
    /// The input was cut into this many segments, written to the arena slots.
    Segments(usize),
}

/// Splits one packet read from a vnet-header TUN (`raw` = virtio header + packet) into `out`.
/// Returns the number of IP packets now in `out`. Public so a hand-built super-packet can be
/// checked without a TUN.
pub fn split_super_packet(raw: &[u8], out: &mut TunRecvBatch) -> Result<usize, SplitError> {
    out.load(raw, true)
}

/// Core of the splitter. `packet` is the IP packet after the virtio header; segments go to
/// `arena` in `slot_len` strides with their lengths pushed to `lens`.
pub(crate) fn split_into(
    hdr: &VirtioNetHdr,
    packet: &mut [u8],
    arena: &mut [u8],
    slot_len: usize,
    lens: &mut Vec<usize>,
) -> Result<Split, SplitError> {
    let gso_type = hdr.gso_type & !GSO_ECN;
    if gso_type == GSO_NONE {
        if hdr.flags & F_NEEDS_CSUM != 0 {
            complete_checksum(
                packet,
                usize::from(hdr.csum_start),
                usize::from(hdr.csum_offset),
            )?;
        }
        return Ok(Split::Whole);
    }
    let layout = Layout::parse(hdr, packet)?;
    let gso_size = usize::from(hdr.gso_size);
    if gso_size == 0 {
        return Err(SplitError::BadHeader("gso_size is zero"));
    }
    let (headers, data) = packet.split_at(layout.hdr_len);
    let needed = data.len().div_ceil(gso_size).max(1);
    let available = arena.len().checked_div(slot_len).unwrap_or(0);
    if needed > available {
        return Err(SplitError::TooManySegments { needed, available });
    }
    let largest = layout.hdr_len + data.len().min(gso_size);
    if largest > slot_len {
        return Err(SplitError::SegmentTooLarge {
            len: largest,
            slot_len,
        });
    }
    for (i, slot) in arena.chunks_mut(slot_len).take(needed).enumerate() {
        let start = (i * gso_size).min(data.len());
        let chunk = data
            .get(start..(start + gso_size).min(data.len()))
            .unwrap_or_default();
        let total = layout.hdr_len + chunk.len();
        let out = slot.get_mut(..total).ok_or(SplitError::Truncated)?;
        out[..layout.hdr_len].copy_from_slice(headers);
        out[layout.hdr_len..].copy_from_slice(chunk);
        layout.fix_segment(out, i, i + 1 == needed, gso_size)?;
        lens.push(total);
    }
    Ok(Split::Segments(needed))
}

/// Where the headers of a GSO packet are, validated against the packet length.
struct Layout {
    is_v6: bool,
    protocol: u8,
    /// IP header length including IPv6 extension headers (= csum_start).
    ip_len: usize,
    /// IP + transport header length, recomputed from the packet: the kernel's `hdr_len` can
    /// cover the whole first segment on the forwarding path, so it is not trusted.
    hdr_len: usize,
}

impl Layout {
    fn parse(hdr: &VirtioNetHdr, packet: &[u8]) -> Result<Self, SplitError> {
        let first = *packet.first().ok_or(SplitError::Truncated)?;
        let is_v6 = match first >> 4 {
            4 => false,
            6 => true,
            version => return Err(SplitError::NotIp { version }),
        };
        let gso_type = hdr.gso_type & !GSO_ECN;
        let protocol = match (gso_type, is_v6) {
            (GSO_TCPV4, false) | (GSO_TCPV6, true) => PROTO_TCP,
            (GSO_UDP_L4, _) => PROTO_UDP,
            _ => {
                return Err(SplitError::UnsupportedGso {
                    gso_type: hdr.gso_type,
                })
            }
        };
        let ip_len = usize::from(hdr.csum_start);
        if is_v6 {
            if ip_len < 40 {
                return Err(SplitError::BadHeader("csum_start inside the IPv6 header"));
            }
        } else if usize::from(first & 0x0f) * 4 != ip_len || ip_len < 20 {
            return Err(SplitError::BadHeader(
                "csum_start is not the IPv4 header length",
            ));
        }
        let expected_offset = if protocol == PROTO_TCP { 16 } else { 6 };
        if usize::from(hdr.csum_offset) != expected_offset {
            return Err(SplitError::BadHeader(
                "csum_offset does not match the protocol",
            ));
        }
        let transport_len = if protocol == PROTO_TCP {
            let data_offset = *packet.get(ip_len + 12).ok_or(SplitError::Truncated)?;
            let len = usize::from(data_offset >> 4) * 4;
            if len < 20 {
                return Err(SplitError::BadHeader("TCP data offset below 5"));
            }
            len
        } else {
            8
        };
        let hdr_len = ip_len + transport_len;
        if packet.len() < hdr_len {
            return Err(SplitError::Truncated);
        }
        Ok(Self {
            is_v6,
            protocol,
            ip_len,
            hdr_len,
        })
    }

    /// Rewrites the copied headers of segment `index` (of `gso_size` payload bytes each) so it
    /// stands alone: IP length (and IPv4 ID + header checksum), TCP sequence number and flags or
    /// UDP length, and the full transport checksum.
    fn fix_segment(
        &self,
        out: &mut [u8],
        index: usize,
        last: bool,
        gso_size: usize,
    ) -> Result<(), SplitError> {
        let total = out.len();
        let l4_len = total - self.ip_len;
        let too_long = SplitError::BadHeader("segment longer than 64 KiB");
        if self.is_v6 {
            let payload_len = u16::try_from(total - 40).map_err(|_| too_long)?;
            out[4..6].copy_from_slice(&payload_len.to_be_bytes());
        } else {
            let total_len = u16::try_from(total).map_err(|_| too_long)?;
            out[2..4].copy_from_slice(&total_len.to_be_bytes());
            // Linux gives every segment its own ID, counting up from the super-packet's.
            let id = u16::from_be_bytes([out[4], out[5]]).wrapping_add(index as u16);
            out[4..6].copy_from_slice(&id.to_be_bytes());
            let sum = ipv4_header_checksum(&out[..self.ip_len]);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        let t = self.ip_len;
        let csum_at = if self.protocol == PROTO_TCP {
            let seq = u32::from_be_bytes([out[t + 4], out[t + 5], out[t + 6], out[t + 7]]);
            let seq = seq.wrapping_add((index as u32).wrapping_mul(gso_size as u32));
            out[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
            if !last {
                out[t + 13] &= !(TCP_FIN | TCP_PSH);
            }
            if index > 0 {
                out[t + 13] &= !TCP_CWR;
            }
            t + 16
        } else {
            let udp_len = u16::try_from(l4_len).map_err(|_| too_long)?;
            out[t + 4..t + 6].copy_from_slice(&udp_len.to_be_bytes());
            t + 6
        };
        out[csum_at..csum_at + 2].fill(0);
        let (src, dst) = if self.is_v6 {
            (&out[8..24], &out[24..40])
        } else {
            (&out[12..16], &out[16..20])
        };
        // Pseudo-header (addresses, protocol, transport length) then the transport header and payload.
        let mut acc = Checksum::new();
        acc.add_bytes(src);
        acc.add_bytes(dst);
        acc.add_u16(u16::from(self.protocol));
        acc.add_u32(l4_len as u32);
        acc.add_bytes(&out[t..]);
        let mut sum = acc.finish();
        if sum == 0 && self.protocol == PROTO_UDP {
            // 0 means "no checksum" in UDP; the ones-complement equivalent is all ones.
            sum = 0xffff;
        }
        out[csum_at..csum_at + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

/// Finishes a CHECKSUM_PARTIAL packet: the field at `start + offset` holds the folded
/// pseudo-header sum; the checksum covers everything from `start` to the end.
fn complete_checksum(packet: &mut [u8], start: usize, offset: usize) -> Result<(), SplitError> {
    let at = start + offset;
    let field = packet
        .get_mut(at..at + 2)
        .ok_or(SplitError::BadHeader("checksum field beyond the packet"))?;
    let seed = u16::from_be_bytes([field[0], field[1]]);
    field.fill(0);
    let covered = packet.get(start..).ok_or(SplitError::Truncated)?;
    let mut acc = Checksum::new();
    acc.add_u16(seed);
    acc.add_bytes(covered);
    let mut sum = acc.finish();
    if sum == 0 {
        // As the kernel does (CSUM_MANGLED_0): required for UDP, equivalent for TCP.
        sum = 0xffff;
    }
    if let Some(field) = packet.get_mut(at..at + 2) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(())
}

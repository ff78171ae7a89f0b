//! The `virtio_net_hdr` the kernel puts in front of every packet on an IFF_VNET_HDR TUN.

/// Size of the legacy `virtio_net_hdr` (the TUN default, no TUNSETVNETHDRSZ).
pub const VIRTIO_NET_HDR_LEN: usize = 10;

/// Flag: the transport checksum is partial; finish it from `csum_start`, store at `+csum_offset`.
pub const F_NEEDS_CSUM: u8 = 1;
/// Not a GSO packet.
pub const GSO_NONE: u8 = 0;
/// TCP over IPv4 segmentation (TSO4).
pub const GSO_TCPV4: u8 = 1;
/// TCP over IPv6 segmentation (TSO6).
pub const GSO_TCPV6: u8 = 4;
/// UDP segmentation, either family (USO).
pub const GSO_UDP_L4: u8 = 5;
/// Bit or-ed into a TCP GSO type when the flow uses ECN (CWR stays on the first segment only).
pub const GSO_ECN: u8 = 0x80;

/// Decoded `virtio_net_hdr`. Multi-byte fields are in host byte order, as the kernel's TUN
/// driver uses for the legacy header on little-endian hosts and native order in general.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtioNetHdr {
    /// `F_*` flags.
    pub flags: u8,
    /// `GSO_*` type, possibly with [`GSO_ECN`].
    pub gso_type: u8,
    /// Length of the headers (IP + transport); advisory, recomputed when splitting.
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Offset of the transport header (where checksumming starts).
    pub csum_start: u16,
    /// Offset of the checksum field from `csum_start`.
    pub csum_offset: u16,
}

impl VirtioNetHdr {
    /// Reads a header from the first [`VIRTIO_NET_HDR_LEN`] bytes; `None` if `buf` is shorter.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let b: &[u8; VIRTIO_NET_HDR_LEN] = buf.get(..VIRTIO_NET_HDR_LEN)?.try_into().ok()?;
        Some(Self {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16::from_ne_bytes([b[2], b[3]]),
            gso_size: u16::from_ne_bytes([b[4], b[5]]),
            csum_start: u16::from_ne_bytes([b[6], b[7]]),
            csum_offset: u16::from_ne_bytes([b[8], b[9]]),
        })
    }

    /// Writes the header into the first [`VIRTIO_NET_HDR_LEN`] bytes; `false` if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> bool {
        let Some(b) = buf.get_mut(..VIRTIO_NET_HDR_LEN) else {
            return false;
        };
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let hdr = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV6 | GSO_ECN,
            hdr_len: 72,
            gso_size: 1360,
            csum_start: 40,
            csum_offset: 16,
        };
        let mut buf = [0u8; VIRTIO_NET_HDR_LEN];
        assert!(hdr.encode(&mut buf));
        assert_eq!(VirtioNetHdr::decode(&buf), Some(hdr));
        assert_eq!(VirtioNetHdr::decode(&buf[..9]), None);
        assert!(!hdr.encode(&mut buf[..9]));
    }

    #[test]
    fn length_matches_tun_rs() {
        assert_eq!(VIRTIO_NET_HDR_LEN, tun_rs::VIRTIO_NET_HDR_LEN);
    }
}

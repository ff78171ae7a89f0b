//! The decrypted packet inside a transport message: its version, addresses and declared length.

use std::net::IpAddr;

use crate::error::WireError;
use crate::ipv4::Ipv4Packet;
use crate::ipv6::Ipv6Packet;

/// IP version of an inner packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// What the data path needs from a decrypted packet: the addresses for the cryptokey routing check and the
/// length its header declares, so WireGuard's zero padding after it can be trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerPacket {
    /// IP version.
    pub version: IpVersion,
    /// Source address (checked against the sending peer's allowed IPs).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Packet length declared by the header; `packet[..len]` is the packet without padding.
    pub len: usize,
}

/// Parses a decrypted inner packet. An empty plaintext is a keepalive and is reported as too short; callers
/// check for it before calling this.
pub fn inner_packet(packet: &[u8]) -> Result<InnerPacket, WireError> {
    let Some(&first) = packet.first() else {
        return Err(WireError::TooShort {
            needed: 1,
            available: 0,
        });
    };
    match first >> 4 {
        4 => {
            let ip = Ipv4Packet::new(packet)?;
            Ok(InnerPacket {
                version: IpVersion::V4,
                src: IpAddr::V4(ip.src()),
                dst: IpAddr::V4(ip.dst()),
                len: ip.total_len(),
            })
        }
        6 => {
            let ip = Ipv6Packet::new(packet)?;
            Ok(InnerPacket {
                version: IpVersion::V6,
                src: IpAddr::V6(ip.src()),
                dst: IpAddr::V6(ip.dst()),
                len: ip.total_len(),
            })
        }
        found => Err(WireError::BadVersion { found }),
    }
}

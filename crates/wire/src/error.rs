//! The single error type of this crate: why a buffer was not accepted as a header or message, or why a header
//! could not be written.

use core::fmt;

/// Why bytes were rejected by a view constructor or parser, or why an emitter refused to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer ends before the structure it should hold does.
    TooShort {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// A fixed-size WireGuard message has the wrong size.
    BadLength {
        /// The size this message type always has.
        expected: usize,
        /// The size received.
        actual: usize,
    },
    /// The IP version nibble is not the one the view parses (or neither 4 nor 6 for an inner packet).
    BadVersion {
        /// The version nibble found.
        found: u8,
    },
    /// The IPv4 IHL field is below 5 or points past the end of the buffer.
    BadHeaderLength {
        /// The header length in bytes that the IHL field declares.
        declared: usize,
    },
    /// The IP total length (IPv4) or payload length (IPv6) is smaller than the header or larger than the buffer.
    BadTotalLength {
        /// The packet length the header declares, in bytes.
        declared: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// The UDP length field is below 8 or larger than the IP payload.
    BadUdpLength {
        /// The datagram length the UDP header declares.
        declared: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// The TCP data offset is below 5 words or beyond the segment.
    BadTcpDataOffset {
        /// The header length the data offset declares, in bytes.
        header_len: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// The Ethernet frame carries neither IPv4 nor IPv6 (after at most one 802.1Q tag).
    UnsupportedEtherType {
        /// The EtherType found.
        ethertype: u16,
    },
    /// The IP packet does not carry UDP.
    NotUdp {
        /// The IP protocol / IPv6 next header found.
        protocol: u8,
    },
    /// The IP packet is a fragment (IPv4 MF flag or nonzero offset, or an IPv6 fragment header).
    Fragmented,
    /// The IPv4 header checksum does not verify.
    BadIpv4Checksum,
    /// A UDP datagram over IPv6 has checksum 0, which RFC 8200 section 8.1 forbids.
    ZeroUdpChecksumOverIpv6,
    /// An IPv6 extension header is truncated or malformed.
    BadExtensionHeader,
    /// The first byte is not a known WireGuard message type.
    UnknownMessageType {
        /// The type byte found.
        found: u8,
    },
    /// The message type is a known one, but not the one this view parses.
    WrongMessageType {
        /// The type this view parses.
        expected: u8,
        /// The type byte found.
        found: u8,
    },
    /// One of the three reserved bytes after the WireGuard message type is not zero.
    NonZeroReserved,
    /// An emitter was given a buffer too small for the headers plus the payload.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// An emitter was asked to send more than a UDP datagram / IP packet can carry.
    PayloadTooLarge {
        /// The payload length requested.
        len: usize,
        /// The largest payload the header fields can describe.
        max: usize,
    },
    /// UDP over IPv6 must carry a checksum; omitting it was requested.
    ChecksumRequired,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { needed, available } => {
                write!(f, "buffer too short: need {needed} bytes, have {available}")
            }
            Self::BadLength { expected, actual } => {
                write!(
                    f,
                    "message is {actual} bytes, this type is always {expected}"
                )
            }
            Self::BadVersion { found } => write!(f, "unexpected IP version {found}"),
            Self::BadHeaderLength { declared } => write!(f, "bad IPv4 header length {declared}"),
            Self::BadTotalLength {
                declared,
                available,
            } => {
                write!(
                    f,
                    "IP header declares {declared} bytes but {available} are usable"
                )
            }
            Self::BadTcpDataOffset {
                header_len,
                available,
            } => write!(
                f,
                "TCP data offset of {header_len} bytes with {available} bytes available"
            ),
            Self::BadUdpLength {
                declared,
                available,
            } => {
                write!(
                    f,
                    "UDP header declares {declared} bytes but {available} are usable"
                )
            }
            Self::UnsupportedEtherType { ethertype } => {
                write!(f, "unsupported EtherType {ethertype:#06x}")
            }
            Self::NotUdp { protocol } => write!(f, "IP protocol {protocol} is not UDP"),
            Self::Fragmented => f.write_str("IP packet is a fragment"),
            Self::BadIpv4Checksum => f.write_str("IPv4 header checksum does not verify"),
            Self::ZeroUdpChecksumOverIpv6 => f.write_str("UDP over IPv6 with a zero checksum"),
            Self::BadExtensionHeader => f.write_str("truncated or malformed IPv6 extension header"),
            Self::UnknownMessageType { found } => {
                write!(f, "unknown WireGuard message type {found}")
            }
            Self::WrongMessageType { expected, found } => {
                write!(f, "WireGuard message type {found}, expected {expected}")
            }
            Self::NonZeroReserved => f.write_str("WireGuard reserved bytes are not zero"),
            Self::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: need {needed} bytes, have {available}")
            }
            Self::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the maximum of {max}")
            }
            Self::ChecksumRequired => f.write_str("UDP over IPv6 requires a checksum"),
        }
    }
}

impl std::error::Error for WireError {}

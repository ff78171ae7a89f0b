//! Zero-copy, checked views over Ethernet, IPv4, IPv6, UDP, TCP and WireGuard messages.
//!
//! Every view is built by a constructor that performs all length and format checks and keeps its header as a
//! fixed-size array reference; from then on every accessor is infallible and cannot panic. Constructors never
//! panic either, whatever the input bytes. Emitters write headers into caller buffers, in front of a payload
//! that is already in place, so the data path never copies a packet.

#![warn(missing_docs)]

pub mod checksum;
pub mod emit;
pub mod error;
pub mod ethernet;
mod field;
pub mod frame_parse;
pub mod inner_packet;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6_ext;
pub mod tcp;
pub mod udp;
pub mod wg_cookie_reply;
mod wg_fixed;
pub mod wg_handshake;
pub mod wg_layout;
pub mod wg_message;
pub mod wg_transport;

pub use emit::{
    Ipv4UdpSpec, Ipv6UdpSpec, LinkFields, UdpChecksumMode, IPV4_UDP_HEADERS_LEN,
    IPV6_UDP_HEADERS_LEN,
};
pub use error::WireError;
pub use ethernet::{EthernetFrame, EthernetFrameMut, MacAddr};
pub use frame_parse::{parse_udp_frame, UdpFrame};
pub use inner_packet::{inner_packet, InnerPacket, IpVersion};
pub use ipv4::{Ipv4Fields, Ipv4Packet, Ipv4PacketMut};
pub use ipv6::{Ipv6Fields, Ipv6Packet, Ipv6PacketMut};
pub use ipv6_ext::{Ipv6Fragment, Ipv6UpperLayer};
pub use tcp::TcpSegment;
pub use udp::{UdpDatagram, UdpDatagramMut};
pub use wg_cookie_reply::{CookieReply, CookieReplyMut};
pub use wg_handshake::{
    HandshakeInitiation, HandshakeInitiationMut, HandshakeResponse, HandshakeResponseMut,
};
pub use wg_message::{message_type, write_message_type, MessageType, WgMessage};
pub use wg_transport::{write_transport_header, TransportData, TransportDataMut};

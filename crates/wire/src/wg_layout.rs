//! Byte layout of the four WireGuard messages (whitepaper section 5.4).
//!
//! These constants are the single source of truth for message sizes and field offsets; the checked views in this
//! crate and the protocol core in `wgxdp-noise` both build on them so the two can never disagree.

/// Message type of a handshake initiation.
pub const MSG_INITIATION: u8 = 1;
/// Message type of a handshake response.
pub const MSG_RESPONSE: u8 = 2;
/// Message type of a cookie reply.
pub const MSG_COOKIE_REPLY: u8 = 3;
/// Message type of a transport data message.
pub const MSG_TRANSPORT: u8 = 4;

/// Size of a handshake initiation.
pub const INITIATION_LEN: usize = 148;
/// Size of a handshake response.
pub const RESPONSE_LEN: usize = 92;
/// Size of a cookie reply.
pub const COOKIE_REPLY_LEN: usize = 64;
/// Size of the transport data header (type, reserved, receiver index, counter).
pub const TRANSPORT_HEADER_LEN: usize = 16;
/// Size of the Poly1305 authentication tag.
pub const AEAD_TAG_LEN: usize = 16;
/// Smallest transport data message: a header and the tag of an empty (keepalive) payload.
pub const TRANSPORT_MIN_LEN: usize = TRANSPORT_HEADER_LEN + AEAD_TAG_LEN;

/// Offset of the little-endian message type word (type byte followed by three reserved zero bytes).
pub const TYPE_OFFSET: usize = 0;

/// Handshake initiation field offsets.
pub mod initiation {
    /// Initiator's session index (little-endian u32).
    pub const SENDER: usize = 4;
    /// Initiator's ephemeral public key (32 bytes).
    pub const EPHEMERAL: usize = 8;
    /// Initiator's encrypted static public key.
    pub const STATIC: usize = 40;
    /// Encrypted static key: 32 bytes plus tag.
    pub const STATIC_LEN: usize = 48;
    /// Encrypted TAI64N timestamp.
    pub const TIMESTAMP: usize = 88;
    /// Encrypted TAI64N timestamp: 12 bytes plus tag.
    pub const TIMESTAMP_LEN: usize = 28;
    /// First MAC, over everything before it.
    pub const MAC1: usize = 116;
    /// Second MAC (cookie-keyed), over everything before it.
    pub const MAC2: usize = 132;
}

/// Handshake response field offsets.
pub mod response {
    /// Responder's session index (little-endian u32).
    pub const SENDER: usize = 4;
    /// Initiator's session index, echoed back.
    pub const RECEIVER: usize = 8;
    /// Responder's ephemeral public key (32 bytes).
    pub const EPHEMERAL: usize = 12;
    /// Encrypted empty payload: just the tag.
    pub const EMPTY: usize = 44;
    /// Length of the encrypted empty payload.
    pub const EMPTY_LEN: usize = 16;
    /// First MAC, over everything before it.
    pub const MAC1: usize = 60;
    /// Second MAC (cookie-keyed), over everything before it.
    pub const MAC2: usize = 76;
}

/// Cookie reply field offsets.
pub mod cookie_reply {
    /// Session index of the peer whose message triggered the reply.
    pub const RECEIVER: usize = 4;
    /// XChaCha20-Poly1305 nonce.
    pub const NONCE: usize = 8;
    /// Length of the nonce.
    pub const NONCE_LEN: usize = 24;
    /// Encrypted cookie.
    pub const COOKIE: usize = 32;
    /// Encrypted 16-byte cookie plus tag.
    pub const COOKIE_LEN: usize = 32;
}

/// Transport data field offsets.
pub mod transport {
    /// Receiver's session index, selecting the keypair.
    pub const RECEIVER: usize = 4;
    /// Nonce counter (little-endian u64).
    pub const COUNTER: usize = 8;
    /// Start of the encrypted packet.
    pub const PAYLOAD: usize = 16;
}

/// Both MACs are 16 bytes.
pub const MAC_LEN: usize = 16;

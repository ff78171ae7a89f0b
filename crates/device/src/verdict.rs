//! What the data path tells the caller to do with a packet.

use core::net::SocketAddr;
use core::ops::Range;

use wgxdp_wire::wg_layout;

use crate::drop_reason::DropReason;

/// The kind of a datagram received on the UDP socket, by its type word and length alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Transport data (type 4, at least 32 bytes): [`crate::Device::receive_transport`] on a worker.
    Transport,
    /// Handshake initiation (type 1, 148 bytes): [`crate::Device::receive_handshake`].
    Initiation,
    /// Handshake response (type 2, 92 bytes): [`crate::Device::receive_handshake`].
    Response,
    /// Cookie reply (type 3, 64 bytes): [`crate::Device::receive_handshake`].
    CookieReply,
    /// Anything else: drop and count as [`DropReason::Malformed`].
    Malformed,
}

impl MessageKind {
    /// Classify by the four-byte type word (type and three zero reserved bytes) and the exact length.
    pub fn of(datagram: &[u8]) -> Self {
        let Some(&[kind, 0, 0, 0]) = datagram.first_chunk::<4>() else {
            return Self::Malformed;
        };
        match (kind, datagram.len()) {
            (wg_layout::MSG_TRANSPORT, len) if len >= wg_layout::TRANSPORT_MIN_LEN => {
                Self::Transport
            }
            (wg_layout::MSG_INITIATION, wg_layout::INITIATION_LEN) => Self::Initiation,
            (wg_layout::MSG_RESPONSE, wg_layout::RESPONSE_LEN) => Self::Response,
            (wg_layout::MSG_COOKIE_REPLY, wg_layout::COOKIE_REPLY_LEN) => Self::CookieReply,
            _ => Self::Malformed,
        }
    }

    /// True for the three handshake-thread kinds.
    pub fn is_handshake(self) -> bool {
        matches!(self, Self::Initiation | Self::Response | Self::CookieReply)
    }
}

/// What to do with a datagram received from the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Write `msg[range]` (the inner IP packet, padding trimmed) to TUN.
    Tun(Range<usize>),
    /// Nothing to write: a keepalive, or a handshake message that was handled (answers are in the outbox).
    Consumed,
    /// Dropped (already counted).
    Dropped(DropReason),
}

/// What became of a packet read from TUN ([`crate::TxBatch::send`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// Sealed into the buffer the [`crate::TxRoom`] handed out for `endpoint`, `len` bytes, and committed.
    Send {
        /// The peer's current endpoint.
        endpoint: SocketAddr,
        /// Length of the sealed transport message.
        len: usize,
    },
    /// Kept until the handshake that was just requested completes; nothing to send now.
    Staged,
    /// The room had no buffer (a full ring or batch): nothing was consumed; send the packet again later.
    NoRoom,
    /// Dropped (already counted).
    Dropped(DropReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_type_word_and_length() {
        let mut init = [0u8; 148];
        init[0] = 1;
        assert_eq!(MessageKind::of(&init), MessageKind::Initiation);
        assert_eq!(MessageKind::of(&init[..147]), MessageKind::Malformed);
        init[1] = 1;
        assert_eq!(MessageKind::of(&init), MessageKind::Malformed);
        let mut transport = [0u8; 32];
        transport[0] = 4;
        assert_eq!(MessageKind::of(&transport), MessageKind::Transport);
        assert_eq!(MessageKind::of(&transport[..31]), MessageKind::Malformed);
        assert_eq!(MessageKind::of(&[]), MessageKind::Malformed);
        let mut reply = [0u8; 64];
        reply[0] = 3;
        assert_eq!(MessageKind::of(&reply), MessageKind::CookieReply);
        let mut response = [0u8; 92];
        response[0] = 2;
        assert_eq!(MessageKind::of(&response), MessageKind::Response);
    }
}

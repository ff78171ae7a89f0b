//! The WireGuard message type word and dispatch over the four message kinds.
//!
//! Every message starts with a little-endian 32-bit word whose low byte is the type and whose three high bytes
//! are reserved and must be zero (whitepaper section 5.4). Checking the reserved bytes too keeps room for future
//! protocol versions and rejects garbage early.

use crate::error::WireError;
use crate::field;
use crate::wg_cookie_reply::CookieReply;
use crate::wg_handshake::{HandshakeInitiation, HandshakeResponse};
use crate::wg_layout::{MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT};
use crate::wg_transport::TransportData;

/// Length of the type word (type byte and three reserved bytes).
pub const TYPE_WORD_LEN: usize = 4;

/// The kind of a WireGuard message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Handshake initiation (type 1).
    Initiation,
    /// Handshake response (type 2).
    Response,
    /// Cookie reply (type 3).
    CookieReply,
    /// Transport data (type 4).
    Transport,
}

impl MessageType {
    /// The type byte on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Initiation => MSG_INITIATION,
            Self::Response => MSG_RESPONSE,
            Self::CookieReply => MSG_COOKIE_REPLY,
            Self::Transport => MSG_TRANSPORT,
        }
    }

    /// The message type for a type byte, if it is a known one.
    pub const fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            MSG_INITIATION => Some(Self::Initiation),
            MSG_RESPONSE => Some(Self::Response),
            MSG_COOKIE_REPLY => Some(Self::CookieReply),
            MSG_TRANSPORT => Some(Self::Transport),
            _ => None,
        }
    }
}

/// Reads and checks the type word at the start of `bytes`: a known type and zero reserved bytes.
pub fn message_type(bytes: &[u8]) -> Result<MessageType, WireError> {
    let word = bytes
        .first_chunk::<TYPE_WORD_LEN>()
        .ok_or(WireError::TooShort {
            needed: TYPE_WORD_LEN,
            available: bytes.len(),
        })?;
    let found = field::u8_at::<0, TYPE_WORD_LEN>(word);
    let kind = MessageType::from_u8(found).ok_or(WireError::UnknownMessageType { found })?;
    if *field::array::<1, 3, TYPE_WORD_LEN>(word) != [0, 0, 0] {
        return Err(WireError::NonZeroReserved);
    }
    Ok(kind)
}

/// Checks the type word at the start of `bytes` is exactly `expected` with zero reserved bytes.
pub(crate) fn expect_type(bytes: &[u8], expected: MessageType) -> Result<(), WireError> {
    let found = message_type(bytes)?;
    if found == expected {
        Ok(())
    } else {
        Err(WireError::WrongMessageType {
            expected: expected.to_u8(),
            found: found.to_u8(),
        })
    }
}

/// Writes the type word of `kind` (type byte, three zero reserved bytes) at the start of `buf`.
pub fn write_message_type(buf: &mut [u8], kind: MessageType) -> Result<(), WireError> {
    let available = buf.len();
    let word = buf
        .first_chunk_mut::<TYPE_WORD_LEN>()
        .ok_or(WireError::BufferTooSmall {
            needed: TYPE_WORD_LEN,
            available,
        })?;
    *word = [kind.to_u8(), 0, 0, 0];
    Ok(())
}

/// Any WireGuard message, checked for its kind's length and type word.
#[derive(Clone, Copy, Debug)]
pub enum WgMessage<'a> {
    /// A handshake initiation.
    Initiation(HandshakeInitiation<'a>),
    /// A handshake response.
    Response(HandshakeResponse<'a>),
    /// A cookie reply.
    CookieReply(CookieReply<'a>),
    /// A transport data message.
    Transport(TransportData<'a>),
}

impl<'a> WgMessage<'a> {
    /// Identifies and checks a UDP payload as one of the four messages.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        Ok(match message_type(bytes)? {
            MessageType::Initiation => Self::Initiation(HandshakeInitiation::new(bytes)?),
            MessageType::Response => Self::Response(HandshakeResponse::new(bytes)?),
            MessageType::CookieReply => Self::CookieReply(CookieReply::new(bytes)?),
            MessageType::Transport => Self::Transport(TransportData::new(bytes)?),
        })
    }

    /// The kind of this message.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Initiation(_) => MessageType::Initiation,
            Self::Response(_) => MessageType::Response,
            Self::CookieReply(_) => MessageType::CookieReply,
            Self::Transport(_) => MessageType::Transport,
        }
    }
}

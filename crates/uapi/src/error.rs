//! `UapiError`: why a UAPI request was refused, and the errno to answer.

use std::fmt;

use crate::errno::{EINVAL, EMSGSIZE, EPROTO};
use crate::key::KeyError;
use crate::prefix::PrefixError;

/// Why a UAPI request could not be parsed.
///
/// Messages never contain values (a value may be a private key), only key
/// names and reasons. [`UapiError::errno`] gives the code to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UapiError {
    /// The first line is neither `get=1` nor `set=1`. EPROTO; fatal.
    /// (wireguard-go closes the connection without answering.)
    UnknownOperation,
    /// `get=1` was not followed by an empty line. EINVAL, as wireguard-go's
    /// "trailing character in UAPI get".
    GetNotTerminated,
    /// A line has no `=`. EPROTO, as wireguard-go's "failed to parse line".
    MalformedLine,
    /// A line is not UTF-8. EINVAL: no key or value can match it.
    NotUtf8,
    /// A key that `set` does not know. EINVAL ("invalid UAPI device/peer key").
    UnknownKey(String),
    /// An interface key (`private_key`, `listen_port`, `fwmark`,
    /// `replace_peers`) after the first `public_key`. EINVAL, because
    /// wireguard-go reads it as an unknown peer key.
    InterfaceKeyAfterPeer(&'static str),
    /// A peer key before any `public_key`. EINVAL, because wireguard-go reads
    /// it as an unknown device key.
    PeerKeyWithoutPeer(&'static str),
    /// The same key twice for the interface or for one peer block. EINVAL.
    /// `wg` never sends this; rejecting it keeps "last one wins" surprises
    /// out of an atomic apply. `allowed_ip` may repeat.
    DuplicateKey(&'static str),
    /// A known key with a value it cannot take. EINVAL.
    InvalidValue {
        /// The key whose value was rejected.
        key: &'static str,
        /// What is wrong with the value.
        reason: ValueError,
    },
    /// A line is longer than the reader's limit. EMSGSIZE; fatal.
    LineTooLong {
        /// Bytes allowed per line, newline excluded.
        limit: usize,
    },
    /// A request is larger than the reader's limit. EMSGSIZE; fatal.
    RequestTooLarge {
        /// Bytes allowed per request, newlines included.
        limit: usize,
    },
    /// The input ended inside a request (no terminating empty line). EPROTO.
    Truncated,
    /// [`crate::parse_request`] found bytes after the request. EPROTO.
    TrailingData,
}

/// What is wrong with a value in [`UapiError::InvalidValue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueError {
    /// A flag (`replace_peers`, `remove`, ...) other than `true`.
    NotTrue,
    /// Not a decimal number, or out of range for the key.
    BadNumber,
    /// A key that is not 64 hex characters.
    BadKey(KeyError),
    /// Not `IPv4:port` or `[IPv6]:port`.
    BadEndpoint,
    /// Not a valid `[-]ADDR/CIDR` prefix.
    BadPrefix(PrefixError),
    /// `protocol_version` other than 1.
    UnsupportedProtocolVersion,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::NotTrue => f.write_str("only `true` is accepted"),
            ValueError::BadNumber => f.write_str("not a decimal number in range"),
            ValueError::BadKey(e) => write!(f, "{e}"),
            ValueError::BadEndpoint => f.write_str("not IPv4:port or [IPv6]:port"),
            ValueError::BadPrefix(e) => write!(f, "{e}"),
            ValueError::UnsupportedProtocolVersion => f.write_str("only protocol version 1 exists"),
        }
    }
}

impl UapiError {
    /// The positive errno to answer with (`errno=N`). See [`crate::errno`].
    pub fn errno(&self) -> u32 {
        match self {
            UapiError::UnknownOperation
            | UapiError::MalformedLine
            | UapiError::Truncated
            | UapiError::TrailingData => EPROTO,
            UapiError::GetNotTerminated
            | UapiError::NotUtf8
            | UapiError::UnknownKey(_)
            | UapiError::InterfaceKeyAfterPeer(_)
            | UapiError::PeerKeyWithoutPeer(_)
            | UapiError::DuplicateKey(_)
            | UapiError::InvalidValue { .. } => EINVAL,
            UapiError::LineTooLong { .. } | UapiError::RequestTooLarge { .. } => EMSGSIZE,
        }
    }

    /// Whether the refused request was a `get`: its answer keeps the errno
    /// positive ([`crate::write_errno`]); every other refusal is answered
    /// negated, as a `set` is ([`crate::write_set_errno`]).
    pub fn answers_get(&self) -> bool {
        matches!(self, UapiError::GetNotTerminated)
    }

    /// True when the stream cannot be resynchronised: the daemon should
    /// answer `errno` and close the connection. After any other error the
    /// [`crate::RequestReader`] skips to the end of the bad request and
    /// carries on with the next one.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            UapiError::UnknownOperation
                | UapiError::LineTooLong { .. }
                | UapiError::RequestTooLarge { .. }
                | UapiError::Truncated
        )
    }
}

impl fmt::Display for UapiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UapiError::UnknownOperation => {
                f.write_str("unknown operation (expected get=1 or set=1)")
            }
            UapiError::GetNotTerminated => f.write_str("get=1 must be followed by an empty line"),
            UapiError::MalformedLine => f.write_str("line is not key=value"),
            UapiError::NotUtf8 => f.write_str("line is not UTF-8"),
            UapiError::UnknownKey(key) => write!(f, "unknown key `{}`", key.escape_debug()),
            UapiError::InterfaceKeyAfterPeer(key) => {
                write!(f, "interface key `{key}` after a peer's public_key")
            }
            UapiError::PeerKeyWithoutPeer(key) => {
                write!(f, "peer key `{key}` before any public_key")
            }
            UapiError::DuplicateKey(key) => write!(f, "key `{key}` given twice"),
            UapiError::InvalidValue { key, reason } => write!(f, "invalid `{key}`: {reason}"),
            UapiError::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
            UapiError::RequestTooLarge { limit } => write!(f, "request larger than {limit} bytes"),
            UapiError::Truncated => f.write_str("input ended inside a request"),
            UapiError::TrailingData => f.write_str("data after the end of the request"),
        }
    }
}

impl std::error::Error for UapiError {}

//! WireGuard configuration protocols for wgxdp, with no I/O.
//!
//! - The cross-platform **UAPI** (<https://www.wireguard.com/xplatform/>),
//!   spoken by `wg(8)` over `/var/run/wireguard/IFACE.sock`:
//!   [`RequestReader`] turns socket bytes into typed [`Request`]s,
//!   [`write_get_response`] and [`write_errno`] produce the answers, and
//!   [`write_set_request`] is the client side of `set=1`.
//! - The **config file** format of `wg setconf` / `addconf` / `showconf`:
//!   [`Config::parse`], [`Config::to_set_request`] and [`write_showconf`].
//!
//! The daemon owns the socket, feeds bytes in, applies each parsed request
//! atomically (parsing is all-or-nothing) and writes the text produced here.
//!
//! # Errors and errno
//!
//! [`UapiError::errno`] and [`errno`] give POSITIVE errno values; the answer
//! negates them for `set` (and any request that is not a `get`), as
//! wireguard-go does and `wg` expects ([`write_set_errno`]), and keeps them
//! positive at the end of a `get` answer, the only form `wg`'s `get` parser
//! reads ([`write_errno`]; [`UapiError::answers_get`] tells which).
//! [`UapiError::errno`] documents each mapping. They follow wireguard-go: EINVAL for unknown keys,
//! keys in the wrong place and bad values, EPROTO for lines without `=` and
//! unknown operations. Beyond wireguard-go: EMSGSIZE when a [`Limits`] bound
//! is exceeded (wireguard-go has no request bound and answers EIO for lines
//! over 64 KiB), and duplicate keys are refused with EINVAL.

pub mod errno;

mod conf;
mod error;
mod key;
mod number;
mod prefix;
mod reader;
mod request;
mod response;
mod set_parser;
mod set_writer;
mod state;

pub use conf::{
    write_showconf, ConfMode, Config, ConfigError, ConfigErrorKind, Endpoint, EndpointError,
    InterfaceConfig, PeerConfig, ResolveError,
};
pub use error::{UapiError, ValueError};
pub use key::{Key, KeyError, KeyUpdate, KEY_BASE64_LEN, KEY_HEX_LEN, KEY_LEN};
pub use prefix::{AllowedIp, AllowedIpChange, PrefixError};
pub use reader::{parse_request, Limits, RequestReader};
pub use request::{PeerChange, Request, SetRequest};
pub use response::{
    write_errno, write_get_interface, write_get_peer, write_get_response, write_set_errno,
};
pub use set_writer::write_set_request;
pub use state::{DeviceState, PeerState};

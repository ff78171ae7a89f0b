//! `ConfigError`: what is wrong with a config file, and on which line.

use std::fmt;

use super::endpoint::EndpointError;
use crate::key::KeyError;
use crate::prefix::PrefixError;

/// A config file error with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a config line. Never contains key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// A `Key = value` line before any `[Interface]` or `[Peer]`.
    OutsideSection,
    /// A `[...]` header other than `[Interface]` or `[Peer]`.
    UnknownSection(String),
    /// A line that is neither a section header nor `Key = value`.
    NotKeyValue,
    /// A key this section does not have.
    UnknownKey {
        /// `Interface` or `Peer`.
        section: &'static str,
        /// The key as written.
        key: String,
    },
    /// A wg-quick(8) key (`Address`, `DNS`, ...), which `wg setconf` rejects;
    /// strip it first (`wg-quick strip`).
    WgQuickKey(String),
    /// `Key =` with nothing after it.
    EmptyValue(&'static str),
    /// A key that is not 44-character base64.
    InvalidKey {
        /// Which key (`PrivateKey`, `PublicKey`, `PresharedKey`).
        key: &'static str,
        /// Why.
        error: KeyError,
    },
    /// `ListenPort` not from 0 to 65535.
    InvalidListenPort,
    /// `FwMark` not `off`, decimal or `0x` hex up to 0xffffffff.
    InvalidFwMark,
    /// `PersistentKeepalive` not `off` or 0 to 65535.
    InvalidPersistentKeepalive,
    /// One `AllowedIPs` entry is not a prefix.
    InvalidAllowedIp {
        /// The entry as written.
        entry: String,
        /// Why.
        error: PrefixError,
    },
    /// `Endpoint` is not `host:port` or `[host]:port`.
    InvalidEndpoint(EndpointError),
    /// A `[Peer]` section (at this line) without `PublicKey`.
    MissingPublicKey,
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigErrorKind::OutsideSection => {
                f.write_str("key outside of an [Interface] or [Peer] section")
            }
            ConfigErrorKind::UnknownSection(name) => {
                write!(f, "unknown section `{}`", name.escape_debug())
            }
            ConfigErrorKind::NotKeyValue => f.write_str("line is not `Key = value`"),
            ConfigErrorKind::UnknownKey { section, key } => {
                write!(f, "unknown key `{}` in [{section}]", key.escape_debug())
            }
            ConfigErrorKind::WgQuickKey(key) => write!(
                f,
                "`{}` is a wg-quick key; remove it (wg-quick strip) before setconf",
                key.escape_debug()
            ),
            ConfigErrorKind::EmptyValue(key) => write!(f, "{key} has no value"),
            ConfigErrorKind::InvalidKey { key, error } => write!(f, "{key}: {error}"),
            ConfigErrorKind::InvalidListenPort => {
                f.write_str("ListenPort is not a number from 0 to 65535")
            }
            ConfigErrorKind::InvalidFwMark => {
                f.write_str("FwMark is neither off nor a number from 0 to 0xffffffff")
            }
            ConfigErrorKind::InvalidPersistentKeepalive => {
                f.write_str("PersistentKeepalive is neither off nor a number from 0 to 65535")
            }
            ConfigErrorKind::InvalidAllowedIp { entry, error } => {
                write!(f, "AllowedIPs entry `{}`: {error}", entry.escape_debug())
            }
            ConfigErrorKind::InvalidEndpoint(error) => write!(f, "Endpoint: {error}"),
            ConfigErrorKind::MissingPublicKey => f.write_str("[Peer] section has no PublicKey"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for ConfigError {}

/// A config endpoint hostname the daemon's resolver could not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveError {
    /// Line of the peer's `[Peer]` header.
    pub line: usize,
    /// The hostname.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The resolver's message.
    pub reason: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer at line {}: cannot resolve {}:{}: {}",
            self.line, self.host, self.port, self.reason
        )
    }
}

impl std::error::Error for ResolveError {}

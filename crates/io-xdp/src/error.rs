//! The error type of the AF_XDP I/O layer.

use std::fmt;
use std::io;

/// Everything that can go wrong while loading the steering program, opening AF_XDP sockets or resolving next hops.
#[derive(Debug)]
pub enum XdpError {
    /// The interface name is empty, too long or contains a NUL byte.
    InvalidInterfaceName(String),
    /// No interface of that name exists in the current network namespace.
    UnknownInterface(String),
    /// The embedded object lacks a program or map the loader expects (a build mismatch).
    MissingObject(&'static str),
    /// The kernel refused to load the object (verifier, permissions, missing BPF support).
    Load(Box<aya::EbpfError>),
    /// Loading or attaching the program failed.
    Program {
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: Box<aya::programs::ProgramError>,
    },
    /// A BPF map operation failed.
    Map {
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: Box<aya::maps::MapError>,
    },
    /// An AF_XDP socket call failed.
    Socket {
        /// The operation, e.g. "bind" or "UMEM registration".
        op: &'static str,
        /// The raw errno the kernel returned.
        errno: i32,
    },
    /// A configuration value is out of range.
    InvalidConfig(String),
    /// Mapping the UMEM area or another OS call failed.
    Io {
        /// What was being done.
        op: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// A netlink request failed or its answer could not be decoded.
    Netlink(String),
}

impl XdpError {
    /// The errno of a failed socket call, for callers that branch on it (e.g. zero-copy fallback).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Socket { errno, .. } => Some(*errno),
            Self::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn socket(op: &'static str, errno: &xdpilone::Errno) -> Self {
        // xdpilone reports some of its own checks as negative errno values.
        Self::Socket {
            op,
            errno: errno.get_raw().abs(),
        }
    }
}

impl fmt::Display for XdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInterfaceName(name) => write!(f, "invalid interface name {name:?}"),
            Self::UnknownInterface(name) => {
                write!(f, "no interface named {name:?} in this network namespace")
            }
            Self::MissingObject(name) => write!(f, "the embedded XDP object has no {name}"),
            Self::Load(source) => write!(f, "loading the XDP object failed: {source}"),
            Self::Program { action, source } => write!(f, "{action}: {source}"),
            Self::Map { action, source } => write!(f, "{action}: {source}"),
            Self::Socket { op, errno } => {
                write!(
                    f,
                    "AF_XDP {op} failed: {}",
                    io::Error::from_raw_os_error(*errno)
                )
            }
            Self::InvalidConfig(what) => write!(f, "invalid AF_XDP configuration: {what}"),
            Self::Io { op, source } => write!(f, "{op}: {source}"),
            Self::Netlink(what) => write!(f, "netlink: {what}"),
        }
    }
}

impl std::error::Error for XdpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Load(source) => Some(source.as_ref()),
            Self::Program { source, .. } => Some(source.as_ref()),
            Self::Map { source, .. } => Some(source.as_ref()),
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, XdpError>;

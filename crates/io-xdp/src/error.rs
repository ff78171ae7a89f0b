//! The error type of the AF_XDP I/O layer.

use std::fmt;
use std::io;

use crate::xdp_occupant::XdpOccupant;

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
    /// The kernel refused to attach the program in every mode tried.
    Attach {
        /// The link.
        ifname: String,
        /// Each attempt and its error, in order (native first under `AttachMode::Auto`).
        attempts: Vec<String>,
        /// What holds the link's XDP hook (empty when nothing does).
        occupants: Vec<XdpOccupant>,
    },
}

/// `error: cause: cause ...`: an error with its whole `source()` chain, so that the errno at the bottom is shown
/// (aya's "`bpf_link_create` failed" says nothing without it).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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

    /// Wraps a failed map operation (for `map_err`).
    pub(crate) fn map(action: &'static str) -> impl FnOnce(aya::maps::MapError) -> Self {
        move |source| Self::Map {
            action,
            source: Box::new(source),
        }
    }

    /// The failed socket call `op`, with the errno it just left.
    pub(crate) fn last_socket_error(op: &'static str) -> Self {
        Self::Socket {
            op,
            errno: io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        }
    }
}

/// Whether a map lookup or delete failed only because the key was not there.
pub(crate) fn key_absent(error: &aya::maps::MapError) -> bool {
    match error {
        aya::maps::MapError::KeyNotFound => true,
        aya::maps::MapError::SyscallError(e) => e.io_error.raw_os_error() == Some(libc::ENOENT),
        _ => false,
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
            Self::Load(source) => write!(
                f,
                "loading the XDP object failed: {}",
                with_causes(source.as_ref())
            ),
            Self::Program { action, source } => {
                write!(f, "{action}: {}", with_causes(source.as_ref()))
            }
            Self::Map { action, source } => write!(f, "{action}: {}", with_causes(source.as_ref())),
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
            Self::Attach {
                ifname,
                attempts,
                occupants,
            } => {
                write!(
                    f,
                    "cannot attach the XDP program to {ifname}: {}",
                    attempts.join("; ")
                )?;
                for occupant in occupants {
                    write!(
                        f,
                        "; {ifname} already has an {occupant}: {}",
                        occupant.remedy(ifname)
                    )?;
                }
                Ok(())
            }
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

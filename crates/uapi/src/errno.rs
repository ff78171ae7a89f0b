//! Linux `errno.h` values used in UAPI `errno=` responses.
//!
//! These are POSITIVE values. A `set` answer carries them negated (`errno=-98`,
//! as wireguard-go answers and `wg` expects: see [`crate::write_set_errno`]); a
//! `get` answer carries them as they are (the `wg` tool's `get` parser only
//! accepts digits, so a negative value would read as a protocol error). These are the Linux numbers: the data plane is AF_XDP, so
//! Linux is the only target. The daemon may also answer codes of its own (for
//! example `EADDRINUSE` when binding `listen_port` fails).

/// Input/output error (wireguard-go: reading or writing the socket failed).
pub const EIO: u32 = 5;
/// Invalid argument: unknown key, key in the wrong section, or a bad value.
pub const EINVAL: u32 = 22;
/// Protocol error: malformed line, unknown operation, truncated request.
pub const EPROTO: u32 = 71;
/// Message too long: a line or a whole request exceeds the reader's limits.
pub const EMSGSIZE: u32 = 90;
/// Address already in use (wireguard-go: rebinding `listen_port` or `fwmark` failed).
pub const EADDRINUSE: u32 = 98;

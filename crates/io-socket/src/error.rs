//! Error types of this crate that are not plain I/O errors.

use std::fmt;

/// Why a datagram could not be added to a [`crate::SendBatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Every slot of the batch is in use; send it and clear it first.
    Full,
    /// Zero-length packets cannot be written to a TUN.
    Empty,
    /// The datagram is longer than the batch's slot length.
    TooLong {
        /// Length offered.
        len: usize,
        /// Slot length of the batch.
        max: usize,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("batch is full"),
            Self::Empty => f.write_str("empty packet"),
            Self::TooLong { len, max } => {
                write!(f, "datagram of {len} bytes exceeds the {max}-byte slot")
            }
        }
    }
}

impl std::error::Error for BatchError {}

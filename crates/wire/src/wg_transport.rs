//! Transport data messages: a 16-byte header, then the encrypted packet and its 16-byte tag.

use crate::error::WireError;
use crate::field;
use crate::wg_layout::{transport, AEAD_TAG_LEN, TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN};
use crate::wg_message::{expect_type, MessageType};

const HEADER_LEN: usize = TRANSPORT_HEADER_LEN;

const _: () = {
    assert!(transport::RECEIVER == 4 && transport::COUNTER == transport::RECEIVER + 4);
    assert!(transport::PAYLOAD == transport::COUNTER + 8 && transport::PAYLOAD == HEADER_LEN);
    assert!(TRANSPORT_MIN_LEN == HEADER_LEN + AEAD_TAG_LEN);
};

/// Checks the length and type word of a transport message.
fn check(bytes: &[u8]) -> Result<(), WireError> {
    if bytes.len() < TRANSPORT_MIN_LEN {
        // The type word is checked first when present so a short message of another kind reports its kind.
        expect_type(bytes, MessageType::Transport)?;
        return Err(WireError::TooShort {
            needed: TRANSPORT_MIN_LEN,
            available: bytes.len(),
        });
    }
    expect_type(bytes, MessageType::Transport)
}

/// The error for a split that [`check`] already proved possible; keeps the code free of panicking paths.
fn truncated(available: usize) -> WireError {
    WireError::TooShort {
        needed: TRANSPORT_MIN_LEN,
        available,
    }
}

/// A checked view of a transport data message: at least 32 bytes, type word checked.
#[derive(Clone, Copy, Debug)]
pub struct TransportData<'a> {
    bytes: &'a [u8],
    header: &'a [u8; HEADER_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; AEAD_TAG_LEN],
}

impl<'a> TransportData<'a> {
    /// Checks `bytes` holds at least a header and a tag and starts with the transport type word.
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        check(bytes)?;
        let available = bytes.len();
        let (header, body) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(truncated(available))?;
        let (ciphertext, tag) = body
            .split_last_chunk::<AEAD_TAG_LEN>()
            .ok_or(truncated(available))?;
        Ok(Self {
            bytes,
            header,
            ciphertext,
            tag,
        })
    }

    /// The receiver's session index, which selects the keypair.
    pub fn receiver_index(&self) -> u32 {
        field::u32_le::<{ transport::RECEIVER }, HEADER_LEN>(self.header)
    }

    /// The nonce counter.
    pub fn counter(&self) -> u64 {
        field::u64_le::<{ transport::COUNTER }, HEADER_LEN>(self.header)
    }

    /// The encrypted, padded packet without its tag (empty for a keepalive).
    pub fn ciphertext(&self) -> &'a [u8] {
        self.ciphertext
    }

    /// The Poly1305 tag.
    pub fn tag(&self) -> &'a [u8; AEAD_TAG_LEN] {
        self.tag
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// A checked, writable view of a transport data message.
#[derive(Debug)]
pub struct TransportDataMut<'a> {
    header: &'a mut [u8; HEADER_LEN],
    body: &'a mut [u8],
}

impl<'a> TransportDataMut<'a> {
    /// Same checks as [`TransportData::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        check(bytes)?;
        Self::split(bytes)
    }

    /// Starts a new message in `bytes` (at least 32 bytes): writes the type word and leaves the rest to the setters.
    pub fn create(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        if bytes.len() < TRANSPORT_MIN_LEN {
            return Err(WireError::BufferTooSmall {
                needed: TRANSPORT_MIN_LEN,
                available: bytes.len(),
            });
        }
        let view = Self::split(bytes)?;
        field::set_array::<0, 4, HEADER_LEN>(
            view.header,
            &[MessageType::Transport.to_u8(), 0, 0, 0],
        );
        Ok(view)
    }

    fn split(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        let available = bytes.len();
        let (header, body) = bytes
            .split_first_chunk_mut::<HEADER_LEN>()
            .ok_or(truncated(available))?;
        if body.len() < AEAD_TAG_LEN {
            return Err(truncated(available));
        }
        Ok(Self { header, body })
    }

    /// Sets the receiver index.
    pub fn set_receiver_index(&mut self, index: u32) {
        field::set_u32_le::<{ transport::RECEIVER }, HEADER_LEN>(self.header, index);
    }

    /// Sets the nonce counter.
    pub fn set_counter(&mut self, counter: u64) {
        field::set_u64_le::<{ transport::COUNTER }, HEADER_LEN>(self.header, counter);
    }

    /// Everything after the header (ciphertext and tag), writable.
    pub fn body_mut(&mut self) -> &mut [u8] {
        self.body
    }
}

/// Writes a transport header (type word, receiver index, counter) at the start of `buf`; the encrypted payload
/// goes right after it. Returns the header length.
pub fn write_transport_header(
    buf: &mut [u8],
    receiver_index: u32,
    counter: u64,
) -> Result<usize, WireError> {
    let available = buf.len();
    let header = buf
        .first_chunk_mut::<HEADER_LEN>()
        .ok_or(WireError::BufferTooSmall {
            needed: HEADER_LEN,
            available,
        })?;
    field::set_array::<0, 4, HEADER_LEN>(header, &[MessageType::Transport.to_u8(), 0, 0, 0]);
    field::set_u32_le::<{ transport::RECEIVER }, HEADER_LEN>(header, receiver_index);
    field::set_u64_le::<{ transport::COUNTER }, HEADER_LEN>(header, counter);
    Ok(HEADER_LEN)
}

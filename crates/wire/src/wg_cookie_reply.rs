//! Cookie reply messages (64 bytes), sent under load instead of a handshake response.

use crate::field;
use crate::wg_fixed::fixed_message;
use crate::wg_layout::{cookie_reply, COOKIE_REPLY_LEN};
use crate::wg_message::MessageType;

// The layout constants must tile the message exactly.
const _: () = {
    assert!(cookie_reply::RECEIVER == 4 && cookie_reply::NONCE == cookie_reply::RECEIVER + 4);
    assert!(cookie_reply::COOKIE == cookie_reply::NONCE + cookie_reply::NONCE_LEN);
    assert!(COOKIE_REPLY_LEN == cookie_reply::COOKIE + cookie_reply::COOKIE_LEN);
};

const NONCE_LEN: usize = cookie_reply::NONCE_LEN;
const COOKIE_LEN: usize = cookie_reply::COOKIE_LEN;

fixed_message!(
    CookieReply,
    CookieReplyMut,
    COOKIE_REPLY_LEN,
    MessageType::CookieReply,
    "cookie reply"
);

impl<'a> CookieReply<'a> {
    /// The session index of the peer whose message triggered the reply.
    pub fn receiver_index(&self) -> u32 {
        field::u32_le::<{ cookie_reply::RECEIVER }, COOKIE_REPLY_LEN>(self.bytes)
    }

    /// The XChaCha20-Poly1305 nonce.
    pub fn nonce(&self) -> &'a [u8; NONCE_LEN] {
        field::array::<{ cookie_reply::NONCE }, NONCE_LEN, COOKIE_REPLY_LEN>(self.bytes)
    }

    /// The encrypted cookie (16 bytes and a tag).
    pub fn encrypted_cookie(&self) -> &'a [u8; COOKIE_LEN] {
        field::array::<{ cookie_reply::COOKIE }, COOKIE_LEN, COOKIE_REPLY_LEN>(self.bytes)
    }
}

impl CookieReplyMut<'_> {
    /// Sets the receiver index.
    pub fn set_receiver_index(&mut self, index: u32) {
        field::set_u32_le::<{ cookie_reply::RECEIVER }, COOKIE_REPLY_LEN>(self.bytes, index);
    }

    /// Sets the nonce.
    pub fn set_nonce(&mut self, nonce: &[u8; NONCE_LEN]) {
        field::set_array::<{ cookie_reply::NONCE }, NONCE_LEN, COOKIE_REPLY_LEN>(self.bytes, nonce);
    }

    /// The encrypted cookie field, writable (for sealing in place).
    pub fn encrypted_cookie_mut(&mut self) -> &mut [u8] {
        field::slice_mut::<{ cookie_reply::COOKIE }, COOKIE_LEN, COOKIE_REPLY_LEN>(self.bytes)
    }
}

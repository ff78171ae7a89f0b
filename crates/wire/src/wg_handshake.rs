//! Handshake initiation (148 bytes) and handshake response (92 bytes) messages.

use crate::field;
use crate::wg_fixed::fixed_message;
use crate::wg_layout::{initiation, response, INITIATION_LEN, MAC_LEN, RESPONSE_LEN};
use crate::wg_message::MessageType;

/// Length of an X25519 public key.
const KEY_LEN: usize = 32;

// The layout constants must tile each message exactly; a mistake there becomes a compile error.
const _: () = {
    assert!(initiation::SENDER == 4 && initiation::EPHEMERAL == initiation::SENDER + 4);
    assert!(initiation::STATIC == initiation::EPHEMERAL + KEY_LEN);
    assert!(initiation::TIMESTAMP == initiation::STATIC + initiation::STATIC_LEN);
    assert!(initiation::MAC1 == initiation::TIMESTAMP + initiation::TIMESTAMP_LEN);
    assert!(initiation::MAC2 == initiation::MAC1 + MAC_LEN);
    assert!(INITIATION_LEN == initiation::MAC2 + MAC_LEN);
    assert!(response::SENDER == 4 && response::RECEIVER == response::SENDER + 4);
    assert!(response::EPHEMERAL == response::RECEIVER + 4);
    assert!(response::EMPTY == response::EPHEMERAL + KEY_LEN);
    assert!(response::MAC1 == response::EMPTY + response::EMPTY_LEN);
    assert!(response::MAC2 == response::MAC1 + MAC_LEN);
    assert!(RESPONSE_LEN == response::MAC2 + MAC_LEN);
};

const INIT_STATIC_LEN: usize = initiation::STATIC_LEN;
const INIT_TIMESTAMP_LEN: usize = initiation::TIMESTAMP_LEN;
const RESP_EMPTY_LEN: usize = response::EMPTY_LEN;

fixed_message!(
    HandshakeInitiation,
    HandshakeInitiationMut,
    INITIATION_LEN,
    MessageType::Initiation,
    "handshake initiation"
);

impl<'a> HandshakeInitiation<'a> {
    /// The initiator's session index.
    pub fn sender_index(&self) -> u32 {
        field::u32_le::<{ initiation::SENDER }, INITIATION_LEN>(self.bytes)
    }

    /// The initiator's ephemeral public key.
    pub fn ephemeral(&self) -> &'a [u8; KEY_LEN] {
        field::array::<{ initiation::EPHEMERAL }, KEY_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The initiator's static public key, encrypted (32 bytes and a tag).
    pub fn encrypted_static(&self) -> &'a [u8; INIT_STATIC_LEN] {
        field::array::<{ initiation::STATIC }, INIT_STATIC_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The TAI64N timestamp, encrypted (12 bytes and a tag).
    pub fn encrypted_timestamp(&self) -> &'a [u8; INIT_TIMESTAMP_LEN] {
        field::array::<{ initiation::TIMESTAMP }, INIT_TIMESTAMP_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The first MAC.
    pub fn mac1(&self) -> &'a [u8; MAC_LEN] {
        field::array::<{ initiation::MAC1 }, MAC_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The second MAC (zero unless the initiator holds a cookie).
    pub fn mac2(&self) -> &'a [u8; MAC_LEN] {
        field::array::<{ initiation::MAC2 }, MAC_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The bytes mac1 is computed over: everything before it.
    pub fn mac1_input(&self) -> &'a [u8] {
        field::array::<0, { initiation::MAC1 }, INITIATION_LEN>(self.bytes)
    }

    /// The bytes mac2 is computed over: everything before it, mac1 included.
    pub fn mac2_input(&self) -> &'a [u8] {
        field::array::<0, { initiation::MAC2 }, INITIATION_LEN>(self.bytes)
    }
}

impl HandshakeInitiationMut<'_> {
    /// Sets the initiator's session index.
    pub fn set_sender_index(&mut self, index: u32) {
        field::set_u32_le::<{ initiation::SENDER }, INITIATION_LEN>(self.bytes, index);
    }

    /// Sets the ephemeral public key.
    pub fn set_ephemeral(&mut self, key: &[u8; KEY_LEN]) {
        field::set_array::<{ initiation::EPHEMERAL }, KEY_LEN, INITIATION_LEN>(self.bytes, key);
    }

    /// The encrypted static key field, writable (for sealing in place).
    pub fn encrypted_static_mut(&mut self) -> &mut [u8] {
        field::slice_mut::<{ initiation::STATIC }, INIT_STATIC_LEN, INITIATION_LEN>(self.bytes)
    }

    /// The encrypted timestamp field, writable (for sealing in place).
    pub fn encrypted_timestamp_mut(&mut self) -> &mut [u8] {
        field::slice_mut::<{ initiation::TIMESTAMP }, INIT_TIMESTAMP_LEN, INITIATION_LEN>(
            self.bytes,
        )
    }

    /// Sets the first MAC.
    pub fn set_mac1(&mut self, mac: &[u8; MAC_LEN]) {
        field::set_array::<{ initiation::MAC1 }, MAC_LEN, INITIATION_LEN>(self.bytes, mac);
    }

    /// Sets the second MAC.
    pub fn set_mac2(&mut self, mac: &[u8; MAC_LEN]) {
        field::set_array::<{ initiation::MAC2 }, MAC_LEN, INITIATION_LEN>(self.bytes, mac);
    }
}

fixed_message!(
    HandshakeResponse,
    HandshakeResponseMut,
    RESPONSE_LEN,
    MessageType::Response,
    "handshake response"
);

impl<'a> HandshakeResponse<'a> {
    /// The responder's session index.
    pub fn sender_index(&self) -> u32 {
        field::u32_le::<{ response::SENDER }, RESPONSE_LEN>(self.bytes)
    }

    /// The initiator's session index, echoed back.
    pub fn receiver_index(&self) -> u32 {
        field::u32_le::<{ response::RECEIVER }, RESPONSE_LEN>(self.bytes)
    }

    /// The responder's ephemeral public key.
    pub fn ephemeral(&self) -> &'a [u8; KEY_LEN] {
        field::array::<{ response::EPHEMERAL }, KEY_LEN, RESPONSE_LEN>(self.bytes)
    }

    /// The encrypted empty payload: just its tag.
    pub fn encrypted_empty(&self) -> &'a [u8; RESP_EMPTY_LEN] {
        field::array::<{ response::EMPTY }, RESP_EMPTY_LEN, RESPONSE_LEN>(self.bytes)
    }

    /// The first MAC.
    pub fn mac1(&self) -> &'a [u8; MAC_LEN] {
        field::array::<{ response::MAC1 }, MAC_LEN, RESPONSE_LEN>(self.bytes)
    }

    /// The second MAC.
    pub fn mac2(&self) -> &'a [u8; MAC_LEN] {
        field::array::<{ response::MAC2 }, MAC_LEN, RESPONSE_LEN>(self.bytes)
    }

    /// The bytes mac1 is computed over.
    pub fn mac1_input(&self) -> &'a [u8] {
        field::array::<0, { response::MAC1 }, RESPONSE_LEN>(self.bytes)
    }

    /// The bytes mac2 is computed over.
    pub fn mac2_input(&self) -> &'a [u8] {
        field::array::<0, { response::MAC2 }, RESPONSE_LEN>(self.bytes)
    }
}

impl HandshakeResponseMut<'_> {
    /// Sets the responder's session index.
    pub fn set_sender_index(&mut self, index: u32) {
        field::set_u32_le::<{ response::SENDER }, RESPONSE_LEN>(self.bytes, index);
    }

    /// Sets the initiator's session index.
    pub fn set_receiver_index(&mut self, index: u32) {
        field::set_u32_le::<{ response::RECEIVER }, RESPONSE_LEN>(self.bytes, index);
    }

    /// Sets the ephemeral public key.
    pub fn set_ephemeral(&mut self, key: &[u8; KEY_LEN]) {
        field::set_array::<{ response::EPHEMERAL }, KEY_LEN, RESPONSE_LEN>(self.bytes, key);
    }

    /// The encrypted empty field, writable (for sealing in place).
    pub fn encrypted_empty_mut(&mut self) -> &mut [u8] {
        field::slice_mut::<{ response::EMPTY }, RESP_EMPTY_LEN, RESPONSE_LEN>(self.bytes)
    }

    /// Sets the first MAC.
    pub fn set_mac1(&mut self, mac: &[u8; MAC_LEN]) {
        field::set_array::<{ response::MAC1 }, MAC_LEN, RESPONSE_LEN>(self.bytes, mac);
    }

    /// Sets the second MAC.
    pub fn set_mac2(&mut self, mac: &[u8; MAC_LEN]) {
        field::set_array::<{ response::MAC2 }, MAC_LEN, RESPONSE_LEN>(self.bytes, mac);
    }
}

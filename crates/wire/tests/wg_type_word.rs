//! The WireGuard type word: type byte must match and the three reserved bytes must be zero.

mod common;

use common::*;
use wgxdp_wire::{
    message_type, write_message_type, CookieReply, HandshakeInitiation, HandshakeInitiationMut,
    HandshakeResponse, MessageType, TransportData, TransportDataMut, WgMessage, WireError,
};

fn all_messages() -> Vec<Vec<u8>> {
    vec![
        initiation().to_vec(),
        response().to_vec(),
        cookie_reply().to_vec(),
        transport(16),
    ]
}

#[test]
fn nonzero_reserved_bytes_are_rejected_by_every_constructor() {
    for message in all_messages() {
        for position in 1..4 {
            for value in [1u8, 0x80, 0xff] {
                let mut bad = message.clone();
                bad[position] = value;
                assert_eq!(
                    WgMessage::parse(&bad).unwrap_err(),
                    WireError::NonZeroReserved
                );
                assert_eq!(message_type(&bad).unwrap_err(), WireError::NonZeroReserved);
                assert!(HandshakeInitiation::new(&bad).is_err());
                assert!(HandshakeResponse::new(&bad).is_err());
                assert!(CookieReply::new(&bad).is_err());
                assert!(TransportData::new(&bad).is_err());
                assert!(HandshakeInitiationMut::new(&mut bad.clone()).is_err());
                assert!(TransportDataMut::new(&mut bad).is_err());
            }
        }
    }
}

#[test]
fn unknown_and_wrong_types_are_rejected() {
    for message in all_messages() {
        for byte in [0u8, 5, 0x41, 0xff] {
            let mut bad = message.clone();
            bad[0] = byte;
            assert_eq!(
                WgMessage::parse(&bad).unwrap_err(),
                WireError::UnknownMessageType { found: byte }
            );
        }
    }
    let init = initiation();
    // A message of one kind is refused by the views of the others, naming both kinds.
    assert_eq!(
        TransportData::new(&init).unwrap_err(),
        WireError::WrongMessageType {
            expected: 4,
            found: 1
        }
    );
    let mut relabelled = response();
    relabelled[0] = 1;
    assert_eq!(
        HandshakeResponse::new(&relabelled).unwrap_err(),
        WireError::WrongMessageType {
            expected: 2,
            found: 1
        }
    );
    // Right size, wrong label: an initiation-sized buffer labelled as a cookie reply is still not an initiation.
    let mut cookie_labelled = init;
    cookie_labelled[0] = 3;
    assert!(HandshakeInitiation::new(&cookie_labelled).is_err());
    assert!(WgMessage::parse(&cookie_labelled).is_err());
}

#[test]
fn create_writes_a_clean_type_word() {
    let mut buf = [0xffu8; 148];
    let view = HandshakeInitiationMut::create(&mut buf).unwrap();
    assert_eq!(
        view.as_view().sender_index(),
        u32::MAX,
        "create leaves the other fields alone"
    );
    assert_eq!(&buf[..4], &[1, 0, 0, 0]);
    assert!(HandshakeInitiation::new(&buf).is_ok());

    let mut word = [0xffu8; 4];
    for kind in [
        MessageType::Initiation,
        MessageType::Response,
        MessageType::CookieReply,
        MessageType::Transport,
    ] {
        write_message_type(&mut word, kind).unwrap();
        assert_eq!(message_type(&word).unwrap(), kind);
        assert_eq!(MessageType::from_u8(kind.to_u8()), Some(kind));
    }
    assert!(write_message_type(&mut [0u8; 3], MessageType::Transport).is_err());
}

//! Sample packets and messages shared by the integration tests, all built through the crate's own emitters.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use wgxdp_wire::wg_layout::{COOKIE_REPLY_LEN, INITIATION_LEN, RESPONSE_LEN, TRANSPORT_MIN_LEN};
use wgxdp_wire::{
    write_transport_header, CookieReplyMut, HandshakeInitiationMut, HandshakeResponseMut,
    Ipv4UdpSpec, Ipv6UdpSpec, LinkFields, MacAddr, UdpChecksumMode,
};

pub const SRC_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
pub const DST_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

pub fn ipv4_spec(vlan_tci: Option<u16>) -> Ipv4UdpSpec {
    Ipv4UdpSpec {
        link: LinkFields {
            src: SRC_MAC,
            dst: DST_MAC,
            vlan_tci,
        },
        src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 51820),
        dst: SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 40000),
        ttl: 64,
        tos: 0x02,
        identification: 0x1234,
        dont_fragment: true,
        udp_checksum: UdpChecksumMode::Full,
    }
}

pub fn ipv6_spec(vlan_tci: Option<u16>) -> Ipv6UdpSpec {
    Ipv6UdpSpec {
        link: LinkFields {
            src: SRC_MAC,
            dst: DST_MAC,
            vlan_tci,
        },
        src: SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 51820, 0, 0),
        dst: SocketAddrV6::new(
            Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x77),
            40000,
            0,
            0,
        ),
        hop_limit: 64,
        traffic_class: 0xb8,
        flow_label: 0xabcde,
        udp_checksum: UdpChecksumMode::Full,
    }
}

/// A payload whose bytes depend on their position, so misplaced bytes show up.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// An Ethernet + IPv4 + UDP frame around `payload`.
pub fn ipv4_frame(spec: &Ipv4UdpSpec, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; spec.header_len() + payload.len()];
    buf[spec.header_len()..].copy_from_slice(payload);
    let len = spec.emit(&mut buf, payload.len()).expect("emit ipv4");
    assert_eq!(len, buf.len());
    buf
}

/// An Ethernet + IPv6 + UDP frame around `payload`.
pub fn ipv6_frame(spec: &Ipv6UdpSpec, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; spec.header_len() + payload.len()];
    buf[spec.header_len()..].copy_from_slice(payload);
    let len = spec.emit(&mut buf, payload.len()).expect("emit ipv6");
    assert_eq!(len, buf.len());
    buf
}

pub fn initiation() -> [u8; INITIATION_LEN] {
    let mut msg = [0xeeu8; INITIATION_LEN];
    let mut view = HandshakeInitiationMut::create_in(&mut msg);
    view.set_sender_index(0x0102_0304);
    view.set_ephemeral(&[0x11; 32]);
    view.encrypted_static_mut().fill(0x22);
    view.encrypted_timestamp_mut().fill(0x33);
    view.set_mac1(&[0x44; 16]);
    view.set_mac2(&[0x55; 16]);
    msg
}

pub fn response() -> [u8; RESPONSE_LEN] {
    let mut msg = [0xeeu8; RESPONSE_LEN];
    let mut view = HandshakeResponseMut::create_in(&mut msg);
    view.set_sender_index(7);
    view.set_receiver_index(0x0102_0304);
    view.set_ephemeral(&[0x66; 32]);
    view.encrypted_empty_mut().fill(0x77);
    view.set_mac1(&[0x88; 16]);
    view.set_mac2(&[0x99; 16]);
    msg
}

pub fn cookie_reply() -> [u8; COOKIE_REPLY_LEN] {
    let mut msg = [0xeeu8; COOKIE_REPLY_LEN];
    let mut view = CookieReplyMut::create_in(&mut msg);
    view.set_receiver_index(0xdead_beef);
    view.set_nonce(&[0xaa; 24]);
    view.encrypted_cookie_mut().fill(0xbb);
    msg
}

/// A transport message carrying `ciphertext_len` bytes before its tag.
pub fn transport(ciphertext_len: usize) -> Vec<u8> {
    let mut msg = vec![0xccu8; TRANSPORT_MIN_LEN + ciphertext_len];
    write_transport_header(&mut msg, 0x0a0b_0c0d, 0x0102_0304_0506_0708).expect("header");
    msg
}

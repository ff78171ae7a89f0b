//! Table-driven tests of `set=1` / `get=1` parsing: every key, every error
//! and the errno each error must be answered with.

use std::net::SocketAddr;

use wgxdp_uapi::errno::{EINVAL, EMSGSIZE, EPROTO};
use wgxdp_uapi::{
    parse_request, AllowedIp, AllowedIpChange, Key, KeyError, KeyUpdate, PeerChange, PrefixError,
    Request, SetRequest, UapiError, ValueError,
};

/// 64 hex characters: the byte `n` repeated.
fn hex_key(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn key(n: u8) -> Key {
    Key::from_bytes([n; 32])
}

fn prefix(text: &str) -> AllowedIp {
    text.parse().unwrap()
}

fn set(body: &str) -> Result<SetRequest, UapiError> {
    match parse_request(format!("set=1\n{body}\n").as_bytes())? {
        Request::Set(request) => Ok(request),
        Request::Get => panic!("set parsed as get"),
    }
}

/// A peer block for key 1 followed by `lines`.
fn peer_body(lines: &str) -> String {
    format!("public_key={}\n{lines}", hex_key(1))
}

fn only_peer(body: &str) -> PeerChange {
    let mut request = set(&peer_body(body)).unwrap();
    assert_eq!(request.peers.len(), 1);
    request.peers.remove(0)
}

#[test]
fn get_request() {
    assert_eq!(parse_request(b"get=1\n\n"), Ok(Request::Get));
}

#[test]
fn empty_set_changes_nothing() {
    assert_eq!(set(""), Ok(SetRequest::default()));
}

#[test]
fn interface_keys() {
    let cases: Vec<(String, SetRequest)> = vec![
        (
            format!("private_key={}\n", hex_key(7)),
            SetRequest {
                private_key: Some(KeyUpdate::Set(key(7))),
                ..SetRequest::default()
            },
        ),
        (
            format!("private_key={}\n", hex_key(0)),
            SetRequest {
                private_key: Some(KeyUpdate::Clear),
                ..SetRequest::default()
            },
        ),
        (
            "private_key=\n".into(),
            SetRequest {
                private_key: Some(KeyUpdate::Clear),
                ..SetRequest::default()
            },
        ),
        (
            format!("private_key={}\n", hex_key(0xab).to_uppercase()),
            SetRequest {
                private_key: Some(KeyUpdate::Set(key(0xab))),
                ..SetRequest::default()
            },
        ),
        (
            "listen_port=51820\n".into(),
            SetRequest {
                listen_port: Some(51820),
                ..SetRequest::default()
            },
        ),
        (
            "listen_port=0\n".into(),
            SetRequest {
                listen_port: Some(0),
                ..SetRequest::default()
            },
        ),
        (
            "listen_port=65535\n".into(),
            SetRequest {
                listen_port: Some(65535),
                ..SetRequest::default()
            },
        ),
        (
            "fwmark=4294967295\n".into(),
            SetRequest {
                fwmark: Some(u32::MAX),
                ..SetRequest::default()
            },
        ),
        (
            "fwmark=0\n".into(),
            SetRequest {
                fwmark: Some(0),
                ..SetRequest::default()
            },
        ),
        (
            "replace_peers=true\n".into(),
            SetRequest {
                replace_peers: true,
                ..SetRequest::default()
            },
        ),
    ];
    for (body, want) in cases {
        assert_eq!(set(&body), Ok(want), "{body:?}");
    }
}

#[test]
fn peer_keys() {
    let v4: SocketAddr = "1.2.3.4:51820".parse().unwrap();
    let v6: SocketAddr = "[fd00::1]:51820".parse().unwrap();
    let scoped: SocketAddr = "[fe80::1%7]:9".parse().unwrap();
    let bare = PeerChange::new(key(1));

    let cases: Vec<(String, PeerChange)> = vec![
        ("".into(), bare.clone()),
        ("remove=true\n".into(), PeerChange { remove: true, ..bare.clone() }),
        ("update_only=true\n".into(), PeerChange { update_only: true, ..bare.clone() }),
        (
            format!("preshared_key={}\n", hex_key(9)),
            PeerChange { preshared_key: Some(KeyUpdate::Set(key(9))), ..bare.clone() },
        ),
        (
            format!("preshared_key={}\n", hex_key(0)),
            PeerChange { preshared_key: Some(KeyUpdate::Clear), ..bare.clone() },
        ),
        ("endpoint=1.2.3.4:51820\n".into(), PeerChange { endpoint: Some(v4), ..bare.clone() }),
        ("endpoint=[fd00::1]:51820\n".into(), PeerChange { endpoint: Some(v6), ..bare.clone() }),
        ("endpoint=[fe80::1%7]:9\n".into(), PeerChange { endpoint: Some(scoped), ..bare.clone() }),
        (
            "persistent_keepalive_interval=25\n".into(),
            PeerChange { persistent_keepalive_interval: Some(25), ..bare.clone() },
        ),
        (
            "persistent_keepalive_interval=0\n".into(),
            PeerChange { persistent_keepalive_interval: Some(0), ..bare.clone() },
        ),
        ("protocol_version=1\n".into(), bare.clone()),
        (
            "replace_allowed_ips=true\n".into(),
            PeerChange { replace_allowed_ips: true, ..bare.clone() },
        ),
        (
            "allowed_ip=10.0.0.0/8\nallowed_ip=fd00::/64\nallowed_ip=-10.1.0.0/16\nallowed_ip=10.0.0.0/8\n"
                .into(),
            PeerChange {
                allowed_ips: vec![
                    AllowedIpChange::Add(prefix("10.0.0.0/8")),
                    AllowedIpChange::Add(prefix("fd00::/64")),
                    AllowedIpChange::Remove(prefix("10.1.0.0/16")),
                    AllowedIpChange::Add(prefix("10.0.0.0/8")),
                ],
                ..bare.clone()
            },
        ),
        (
            // wireguard-go drops edits made before replace_allowed_ips.
            "allowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\nallowed_ip=10.9.0.0/16\n".into(),
            PeerChange {
                replace_allowed_ips: true,
                allowed_ips: vec![AllowedIpChange::Add(prefix("10.9.0.0/16"))],
                ..bare.clone()
            },
        ),
    ];
    for (body, want) in cases {
        assert_eq!(only_peer(&body), want, "{body:?}");
    }
}

#[test]
fn what_wg_set_sends() {
    // Byte-for-byte what wireguard-tools' userspace_set_device writes for
    // `wg set wg0 private-key K listen-port 51820 fwmark 0x10 peer P
    //   preshared-key Q endpoint [fd00::1]:51820 persistent-keepalive 25
    //   allowed-ips 10.0.0.0/24,-10.1.0.0/16 peer R remove`.
    let text = format!(
        "set=1\nprivate_key={}\nlisten_port=51820\nfwmark=16\npublic_key={}\npreshared_key={}\n\
         endpoint=[fd00::1]:51820\npersistent_keepalive_interval=25\nallowed_ip=10.0.0.0/24\n\
         allowed_ip=-10.1.0.0/16\npublic_key={}\nremove=true\n\n",
        hex_key(1),
        hex_key(2),
        hex_key(3),
        hex_key(4)
    );
    let want = SetRequest {
        private_key: Some(KeyUpdate::Set(key(1))),
        listen_port: Some(51820),
        fwmark: Some(16),
        replace_peers: false,
        peers: vec![
            PeerChange {
                preshared_key: Some(KeyUpdate::Set(key(3))),
                endpoint: Some("[fd00::1]:51820".parse().unwrap()),
                persistent_keepalive_interval: Some(25),
                allowed_ips: vec![
                    AllowedIpChange::Add(prefix("10.0.0.0/24")),
                    AllowedIpChange::Remove(prefix("10.1.0.0/16")),
                ],
                ..PeerChange::new(key(2))
            },
            PeerChange {
                remove: true,
                ..PeerChange::new(key(4))
            },
        ],
    };
    assert_eq!(parse_request(text.as_bytes()), Ok(Request::Set(want)));
}

#[test]
fn same_peer_twice_keeps_both_blocks_in_order() {
    let body = format!(
        "public_key={k}\nendpoint=1.1.1.1:1\npublic_key={k}\nendpoint=2.2.2.2:2\n",
        k = hex_key(5)
    );
    let request = set(&body).unwrap();
    assert_eq!(request.peers.len(), 2);
    assert_eq!(
        request.peers[1].endpoint,
        Some("2.2.2.2:2".parse().unwrap())
    );
}

#[test]
fn errors_and_errno() {
    let invalid = |key: &'static str, reason: ValueError| UapiError::InvalidValue { key, reason };
    let short = KeyError::WrongLength {
        expected: 64,
        found: 4,
    };
    let bad_len = ValueError::BadPrefix(PrefixError::InvalidPrefixLength);
    let cases: Vec<(String, UapiError, u32)> = vec![
        // Line structure.
        ("listen_port\n".into(), UapiError::MalformedLine, EPROTO),
        ("\u{0}\n".into(), UapiError::MalformedLine, EPROTO),
        (
            "listen_port=1\u{ff}\n".into(),
            UapiError::InvalidValue {
                key: "listen_port",
                reason: ValueError::BadNumber,
            },
            EINVAL,
        ),
        // Unknown keys, wrong places, duplicates.
        (
            "foo=bar\n".into(),
            UapiError::UnknownKey("foo".into()),
            EINVAL,
        ),
        ("=1\n".into(), UapiError::UnknownKey(String::new()), EINVAL),
        (
            "Listen_Port=1\n".into(),
            UapiError::UnknownKey("Listen_Port".into()),
            EINVAL,
        ),
        (
            "get=1\n".into(),
            UapiError::UnknownKey("get".into()),
            EINVAL,
        ),
        (
            "set=1\n".into(),
            UapiError::UnknownKey("set".into()),
            EINVAL,
        ),
        (
            "errno=0\n".into(),
            UapiError::UnknownKey("errno".into()),
            EINVAL,
        ),
        (
            "last_handshake_time_sec=1\n".into(),
            UapiError::UnknownKey("last_handshake_time_sec".into()),
            EINVAL,
        ),
        (
            peer_body("tx_bytes=1\n"),
            UapiError::UnknownKey("tx_bytes".into()),
            EINVAL,
        ),
        (
            peer_body("listen_port=1\n"),
            UapiError::InterfaceKeyAfterPeer("listen_port"),
            EINVAL,
        ),
        (
            peer_body(&format!("private_key={}\n", hex_key(1))),
            UapiError::InterfaceKeyAfterPeer("private_key"),
            EINVAL,
        ),
        (
            peer_body("fwmark=1\n"),
            UapiError::InterfaceKeyAfterPeer("fwmark"),
            EINVAL,
        ),
        (
            peer_body("replace_peers=true\n"),
            UapiError::InterfaceKeyAfterPeer("replace_peers"),
            EINVAL,
        ),
        (
            "remove=true\n".into(),
            UapiError::PeerKeyWithoutPeer("remove"),
            EINVAL,
        ),
        (
            "endpoint=1.2.3.4:1\n".into(),
            UapiError::PeerKeyWithoutPeer("endpoint"),
            EINVAL,
        ),
        (
            "allowed_ip=10.0.0.0/8\n".into(),
            UapiError::PeerKeyWithoutPeer("allowed_ip"),
            EINVAL,
        ),
        (
            "protocol_version=1\n".into(),
            UapiError::PeerKeyWithoutPeer("protocol_version"),
            EINVAL,
        ),
        (
            "listen_port=1\nlisten_port=2\n".into(),
            UapiError::DuplicateKey("listen_port"),
            EINVAL,
        ),
        (
            "replace_peers=true\nreplace_peers=true\n".into(),
            UapiError::DuplicateKey("replace_peers"),
            EINVAL,
        ),
        (
            peer_body("endpoint=1.1.1.1:1\nendpoint=1.1.1.1:2\n"),
            UapiError::DuplicateKey("endpoint"),
            EINVAL,
        ),
        (
            peer_body("remove=true\nremove=true\n"),
            UapiError::DuplicateKey("remove"),
            EINVAL,
        ),
        (
            peer_body("protocol_version=1\nprotocol_version=1\n"),
            UapiError::DuplicateKey("protocol_version"),
            EINVAL,
        ),
        // Values.
        (
            "private_key=abcd\n".into(),
            invalid("private_key", ValueError::BadKey(short)),
            EINVAL,
        ),
        (
            format!("private_key={}zz\n", &hex_key(1)[..62]),
            invalid("private_key", ValueError::BadKey(KeyError::InvalidHex)),
            EINVAL,
        ),
        (
            "public_key=abcd\n".into(),
            invalid("public_key", ValueError::BadKey(short)),
            EINVAL,
        ),
        (
            "public_key=\n".into(),
            invalid(
                "public_key",
                ValueError::BadKey(KeyError::WrongLength {
                    expected: 64,
                    found: 0,
                }),
            ),
            EINVAL,
        ),
        (
            peer_body("preshared_key=abcd\n"),
            invalid("preshared_key", ValueError::BadKey(short)),
            EINVAL,
        ),
        (
            peer_body("preshared_key=\n"),
            invalid(
                "preshared_key",
                ValueError::BadKey(KeyError::WrongLength {
                    expected: 64,
                    found: 0,
                }),
            ),
            EINVAL,
        ),
        (
            "listen_port=65536\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "listen_port=-1\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "listen_port=+1\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "listen_port=\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "listen_port= 1\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "listen_port=0x10\n".into(),
            invalid("listen_port", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "fwmark=4294967296\n".into(),
            invalid("fwmark", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "fwmark=off\n".into(),
            invalid("fwmark", ValueError::BadNumber),
            EINVAL,
        ),
        (
            "replace_peers=false\n".into(),
            invalid("replace_peers", ValueError::NotTrue),
            EINVAL,
        ),
        (
            "replace_peers=TRUE\n".into(),
            invalid("replace_peers", ValueError::NotTrue),
            EINVAL,
        ),
        (
            "replace_peers=\n".into(),
            invalid("replace_peers", ValueError::NotTrue),
            EINVAL,
        ),
        (
            peer_body("remove=1\n"),
            invalid("remove", ValueError::NotTrue),
            EINVAL,
        ),
        (
            peer_body("update_only=false\n"),
            invalid("update_only", ValueError::NotTrue),
            EINVAL,
        ),
        (
            peer_body("replace_allowed_ips=yes\n"),
            invalid("replace_allowed_ips", ValueError::NotTrue),
            EINVAL,
        ),
        (
            peer_body("endpoint=1.2.3.4\n"),
            invalid("endpoint", ValueError::BadEndpoint),
            EINVAL,
        ),
        (
            peer_body("endpoint=fd00::1:51820\n"),
            invalid("endpoint", ValueError::BadEndpoint),
            EINVAL,
        ),
        (
            peer_body("endpoint=example.com:51820\n"),
            invalid("endpoint", ValueError::BadEndpoint),
            EINVAL,
        ),
        (
            peer_body("endpoint=1.2.3.4:65536\n"),
            invalid("endpoint", ValueError::BadEndpoint),
            EINVAL,
        ),
        (
            peer_body("endpoint=\n"),
            invalid("endpoint", ValueError::BadEndpoint),
            EINVAL,
        ),
        (
            peer_body("persistent_keepalive_interval=65536\n"),
            invalid("persistent_keepalive_interval", ValueError::BadNumber),
            EINVAL,
        ),
        (
            peer_body("persistent_keepalive_interval=off\n"),
            invalid("persistent_keepalive_interval", ValueError::BadNumber),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=10.0.0.1\n"),
            invalid("allowed_ip", bad_len),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=10.0.0.0/33\n"),
            invalid(
                "allowed_ip",
                ValueError::BadPrefix(PrefixError::PrefixLengthTooLarge { cidr: 33, max: 32 }),
            ),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=fd00::/129\n"),
            invalid(
                "allowed_ip",
                ValueError::BadPrefix(PrefixError::PrefixLengthTooLarge {
                    cidr: 129,
                    max: 128,
                }),
            ),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=+10.0.0.0/8\n"),
            invalid(
                "allowed_ip",
                ValueError::BadPrefix(PrefixError::InvalidAddress),
            ),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=--10.0.0.0/8\n"),
            invalid(
                "allowed_ip",
                ValueError::BadPrefix(PrefixError::InvalidAddress),
            ),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=-\n"),
            invalid("allowed_ip", bad_len),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=\n"),
            invalid("allowed_ip", bad_len),
            EINVAL,
        ),
        (
            peer_body("allowed_ip=10.0.0.0/8 \n"),
            invalid("allowed_ip", bad_len),
            EINVAL,
        ),
        (
            peer_body("protocol_version=2\n"),
            invalid("protocol_version", ValueError::UnsupportedProtocolVersion),
            EINVAL,
        ),
        (
            peer_body("protocol_version=\n"),
            invalid("protocol_version", ValueError::UnsupportedProtocolVersion),
            EINVAL,
        ),
        (
            peer_body("remove=true\r\n"),
            invalid("remove", ValueError::NotTrue),
            EINVAL,
        ),
    ];
    for (body, want, errno) in cases {
        let got = set(&body);
        assert_eq!(got, Err(want.clone()), "{body:?}");
        assert_eq!(want.errno(), errno, "{body:?}");
        assert!(!want.is_fatal(), "{body:?}");
        // Messages name keys and reasons, never a key's value.
        assert!(!want.to_string().contains(&hex_key(1)[..16]), "{body:?}");
    }
}

#[test]
fn non_utf8_line_is_einval() {
    let mut text = b"set=1\nlisten_port=".to_vec();
    text.extend_from_slice(&[0xff, 0xfe, b'\n', b'\n']);
    assert_eq!(parse_request(&text), Err(UapiError::NotUtf8));
    assert_eq!(UapiError::NotUtf8.errno(), EINVAL);
}

#[test]
fn operation_and_framing_errors() {
    let cases: Vec<(&[u8], UapiError, u32)> = vec![
        (b"", UapiError::Truncated, EPROTO),
        (b"get=2\n\n", UapiError::UnknownOperation, EPROTO),
        (b"GET=1\n\n", UapiError::UnknownOperation, EPROTO),
        (b"get=1 \n\n", UapiError::UnknownOperation, EPROTO),
        (b"\n", UapiError::UnknownOperation, EPROTO),
        (b"listen_port=1\n\n", UapiError::UnknownOperation, EPROTO),
        (b"get=1\nx=1\n\n", UapiError::GetNotTerminated, EINVAL),
        (b"get=1\n", UapiError::Truncated, EPROTO),
        (b"get=1", UapiError::Truncated, EPROTO),
        (b"set=1\nlisten_port=1\n", UapiError::Truncated, EPROTO),
        (b"set=1\n\nget=1\n\n", UapiError::TrailingData, EPROTO),
        (b"get=1\n\nx", UapiError::TrailingData, EPROTO),
        (b"get=1\n\n\n", UapiError::TrailingData, EPROTO),
    ];
    for (text, want, errno) in cases {
        assert_eq!(
            parse_request(text),
            Err(want.clone()),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        assert_eq!(want.errno(), errno);
    }
}

#[test]
fn oversize_line_and_request_are_emsgsize() {
    let long = format!("set=1\nlisten_port={}\n\n", "1".repeat(600));
    let err = parse_request(long.as_bytes()).unwrap_err();
    assert_eq!(err, UapiError::LineTooLong { limit: 512 });
    assert_eq!(err.errno(), EMSGSIZE);
    assert!(err.is_fatal());

    // Many valid lines: each fits, the sum does not.
    let mut huge = String::from("set=1\n");
    let line = format!("public_key={}\n", hex_key(1));
    while huge.len() <= 16 << 20 {
        huge.push_str(&line);
    }
    huge.push('\n');
    let err = parse_request(huge.as_bytes()).unwrap_err();
    assert_eq!(err, UapiError::RequestTooLarge { limit: 16 << 20 });
    assert_eq!(err.errno(), EMSGSIZE);
}

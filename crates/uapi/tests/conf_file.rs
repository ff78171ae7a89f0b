//! `wg setconf` file parsing, conversion to `SetRequest`, and `showconf`.

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use wgxdp_uapi::{
    write_showconf, AllowedIp, AllowedIpChange, ConfMode, Config, ConfigError, ConfigErrorKind,
    DeviceState, Endpoint, EndpointError, Key, KeyError, KeyUpdate, PeerState, PrefixError,
    SetRequest,
};

fn key(n: u8) -> Key {
    Key::from_bytes([n; 32])
}

fn b64(n: u8) -> String {
    key(n).to_base64().to_string()
}

fn prefix(text: &str) -> AllowedIp {
    text.parse().unwrap()
}

fn no_dns(host: &str, _port: u16) -> Result<SocketAddr, String> {
    Err(format!("no resolver in tests for {host}"))
}

fn sample() -> String {
    format!(
        "# wg0 — two peers\n\
         [Interface]\n\
         PrivateKey = {}   # the device key\n\
         ListenPort = 51820\n\
         FwMark = 0x1f\n\
         \n\
         [Peer]\n\
         PublicKey = {}\n\
         PresharedKey = {}\n\
         AllowedIPs = 10.0.0.0/8, fd00::/64 ,10.9.9.9\n\
         AllowedIPs = 192.168.0.0/16\n\
         Endpoint = vpn.example.com:51820\n\
         PersistentKeepalive = 25\n\
         \n\
         \t[peer]\r\n\
         publickey={}\r\n\
         endPOINT = [fd00::1]:4500\n\
         Persistent Keepalive = off\n",
        b64(1),
        b64(2),
        b64(3),
        b64(4)
    )
}

#[test]
fn parses_comments_case_whitespace_and_multiple_peers() {
    let config = Config::parse(&sample()).unwrap();
    assert_eq!(config.interface.private_key, Some(key(1)));
    assert_eq!(config.interface.listen_port, Some(51820));
    assert_eq!(config.interface.fwmark, Some(0x1f));
    assert_eq!(config.peers.len(), 2);

    let first = &config.peers[0];
    assert_eq!(first.line, 7);
    assert_eq!(first.public_key, key(2));
    assert_eq!(first.preshared_key, Some(key(3)));
    assert!(first.replace_allowed_ips);
    assert_eq!(
        first.allowed_ips,
        vec![
            AllowedIpChange::Add(prefix("10.0.0.0/8")),
            AllowedIpChange::Add(prefix("fd00::/64")),
            AllowedIpChange::Add(prefix("10.9.9.9/32")),
            AllowedIpChange::Add(prefix("192.168.0.0/16")),
        ]
    );
    assert_eq!(
        first.endpoint,
        Some(Endpoint::Host("vpn.example.com".into(), 51820))
    );
    assert_eq!(first.persistent_keepalive, Some(25));

    let second = &config.peers[1];
    assert_eq!(second.line, 15);
    assert_eq!(second.public_key, key(4));
    assert!(second.allowed_ips.is_empty());
    assert!(
        second.replace_allowed_ips,
        "wg replaces even without AllowedIPs"
    );
    assert_eq!(
        second.endpoint,
        Some(Endpoint::Addr("[fd00::1]:4500".parse().unwrap()))
    );
    assert_eq!(second.persistent_keepalive, Some(0));
}

#[test]
fn setconf_request_resets_what_the_file_omits() {
    let config = Config::parse(&format!("[Peer]\nPublicKey = {}\n", b64(9))).unwrap();
    let request = config.to_set_request(ConfMode::Set, no_dns).unwrap();
    assert_eq!(request.private_key, Some(KeyUpdate::Clear));
    assert_eq!(request.listen_port, Some(0));
    assert_eq!(request.fwmark, Some(0));
    assert!(request.replace_peers);
    assert_eq!(request.peers.len(), 1);
    assert!(request.peers[0].replace_allowed_ips);

    let added = config.to_set_request(ConfMode::Add, no_dns).unwrap();
    assert_eq!(
        SetRequest {
            peers: Vec::new(),
            ..added.clone()
        },
        SetRequest::default(),
        "addconf changes only what the file says"
    );
    assert_eq!(added.peers, request.peers);
}

#[test]
fn hostnames_go_through_the_callers_resolver() {
    let config = Config::parse(&sample()).unwrap();
    let err = config.to_set_request(ConfMode::Set, no_dns).unwrap_err();
    assert_eq!(err.line, 7);
    assert_eq!(err.host, "vpn.example.com");
    assert!(err.to_string().contains("vpn.example.com:51820"));

    let mut asked = Vec::new();
    let request = config
        .to_set_request(ConfMode::Set, |host: &str, port| {
            asked.push(host.to_owned());
            Ok::<_, String>(SocketAddr::from(([192, 0, 2, 1], port)))
        })
        .unwrap();
    assert_eq!(asked, ["vpn.example.com"], "IP endpoints are not resolved");
    assert_eq!(
        request.peers[0].endpoint,
        Some("192.0.2.1:51820".parse().unwrap())
    );
    assert_eq!(
        request.peers[1].endpoint,
        Some("[fd00::1]:4500".parse().unwrap())
    );
    assert_eq!(request.private_key, Some(KeyUpdate::Set(key(1))));
    assert_eq!(request.fwmark, Some(0x1f));
    assert_eq!(request.peers[1].persistent_keepalive_interval, Some(0));
}

#[test]
fn incremental_allowed_ips_turn_off_replace() {
    let text = format!(
        "[Peer]\nPublicKey={}\nAllowedIPs = +10.0.0.0/8, -10.1.0.0/16\n\
         [Peer]\nPublicKey={}\nAllowedIPs = -fd00::/8\nAllowedIPs = fd01::/16\n",
        b64(1),
        b64(2)
    );
    let config = Config::parse(&text).unwrap();
    assert!(!config.peers[0].replace_allowed_ips);
    assert_eq!(
        config.peers[0].allowed_ips,
        vec![
            AllowedIpChange::Add(prefix("10.0.0.0/8")),
            AllowedIpChange::Remove(prefix("10.1.0.0/16")),
        ]
    );
    // As in wg, a later plain AllowedIPs line turns replace back on.
    assert!(config.peers[1].replace_allowed_ips);
}

#[test]
fn zero_keys_in_files_clear() {
    let zero = Key::zero().to_base64().to_string();
    let text = format!(
        "[Interface]\nPrivateKey={zero}\n[Peer]\nPublicKey={}\nPresharedKey={zero}\n",
        b64(1)
    );
    let request = Config::parse(&text)
        .unwrap()
        .to_set_request(ConfMode::Add, no_dns)
        .unwrap();
    assert_eq!(request.private_key, Some(KeyUpdate::Clear));
    assert_eq!(request.peers[0].preshared_key, Some(KeyUpdate::Clear));
}

#[test]
fn fwmark_forms() {
    for (value, want) in [
        ("off", 0),
        ("OFF", 0),
        ("0", 0),
        ("42", 42),
        ("0xff", 255),
        ("0xFFFFFFFF", u32::MAX),
        ("4294967295", u32::MAX),
    ] {
        let config = Config::parse(&format!("[Interface]\nFwMark = {value}\n")).unwrap();
        assert_eq!(config.interface.fwmark, Some(want), "{value}");
    }
}

#[test]
fn bad_lines_report_line_numbers() {
    let peer = format!("[Peer]\nPublicKey = {}\n", b64(1));
    let at = |line, kind| ConfigError { line, kind };
    let cases: Vec<(String, ConfigError)> = vec![
        (
            "ListenPort = 1\n".into(),
            at(1, ConfigErrorKind::OutsideSection),
        ),
        (
            "# c\n\n[Interface]\n[Bogus]\n".into(),
            at(4, ConfigErrorKind::UnknownSection("[Bogus]".into())),
        ),
        (
            "[Interface]\nListenPort\n".into(),
            at(2, ConfigErrorKind::NotKeyValue),
        ),
        (
            "[Interface]\nEndpoint = 1.2.3.4:5\n".into(),
            at(
                2,
                ConfigErrorKind::UnknownKey {
                    section: "Interface",
                    key: "Endpoint".into(),
                },
            ),
        ),
        (
            format!("{peer}ListenPort = 5\n"),
            at(
                3,
                ConfigErrorKind::UnknownKey {
                    section: "Peer",
                    key: "ListenPort".into(),
                },
            ),
        ),
        (
            "[Interface]\nAddress = 10.0.0.1/24\n".into(),
            at(2, ConfigErrorKind::WgQuickKey("Address".into())),
        ),
        (
            "[Interface]\nPostUp = iptables -A\n".into(),
            at(2, ConfigErrorKind::WgQuickKey("PostUp".into())),
        ),
        (
            "[Interface]\nListenPort =\n".into(),
            at(2, ConfigErrorKind::EmptyValue("ListenPort")),
        ),
        (
            "[Interface]\nListenPort = 65536\n".into(),
            at(2, ConfigErrorKind::InvalidListenPort),
        ),
        (
            "[Interface]\nListenPort = http\n".into(),
            at(2, ConfigErrorKind::InvalidListenPort),
        ),
        (
            "[Interface]\nFwMark = 0x\n".into(),
            at(2, ConfigErrorKind::InvalidFwMark),
        ),
        (
            "[Interface]\nFwMark = 0X10\n".into(),
            at(2, ConfigErrorKind::InvalidFwMark),
        ),
        (
            "[Interface]\nFwMark = 0x100000000\n".into(),
            at(2, ConfigErrorKind::InvalidFwMark),
        ),
        (
            "[Interface]\nFwMark = -1\n".into(),
            at(2, ConfigErrorKind::InvalidFwMark),
        ),
        (
            "[Interface]\nPrivateKey = abc\n".into(),
            at(
                2,
                ConfigErrorKind::InvalidKey {
                    key: "PrivateKey",
                    error: KeyError::WrongLength {
                        expected: 44,
                        found: 3,
                    },
                },
            ),
        ),
        (
            format!("[Interface]\nPrivateKey = {}\n", b64(1).replace('=', "A")),
            at(
                2,
                ConfigErrorKind::InvalidKey {
                    key: "PrivateKey",
                    error: KeyError::InvalidBase64,
                },
            ),
        ),
        (
            "[Interface]\nPrivateKey =\n".into(),
            at(2, ConfigErrorKind::EmptyValue("PrivateKey")),
        ),
        (
            format!("{peer}AllowedIPs =\n"),
            at(3, ConfigErrorKind::EmptyValue("AllowedIPs")),
        ),
        (
            format!("{peer}AllowedIPs = 10.0.0.0/8,\n"),
            at(
                3,
                ConfigErrorKind::InvalidAllowedIp {
                    entry: String::new(),
                    error: PrefixError::InvalidAddress,
                },
            ),
        ),
        (
            format!("{peer}AllowedIPs = 10.0.0.0/8, 10.0.0.0/33\n"),
            at(
                3,
                ConfigErrorKind::InvalidAllowedIp {
                    entry: "10.0.0.0/33".into(),
                    error: PrefixError::PrefixLengthTooLarge { cidr: 33, max: 32 },
                },
            ),
        ),
        (
            format!("{peer}AllowedIPs = -\n"),
            at(
                3,
                ConfigErrorKind::InvalidAllowedIp {
                    entry: "-".into(),
                    error: PrefixError::InvalidAddress,
                },
            ),
        ),
        (
            format!("{peer}Endpoint = 1.2.3.4\n"),
            at(
                3,
                ConfigErrorKind::InvalidEndpoint(EndpointError::MissingPort),
            ),
        ),
        (
            format!("{peer}Endpoint = [fd00::1:5\n"),
            at(
                3,
                ConfigErrorKind::InvalidEndpoint(EndpointError::UnclosedBracket),
            ),
        ),
        (
            format!("{peer}Endpoint = bad!host:5\n"),
            at(
                3,
                ConfigErrorKind::InvalidEndpoint(EndpointError::InvalidHost),
            ),
        ),
        (
            format!("{peer}PersistentKeepalive = 65536\n"),
            at(3, ConfigErrorKind::InvalidPersistentKeepalive),
        ),
        (
            format!("{peer}PersistentKeepalive = on\n"),
            at(3, ConfigErrorKind::InvalidPersistentKeepalive),
        ),
        (
            format!("{peer}PresharedKey = x\n"),
            at(
                3,
                ConfigErrorKind::InvalidKey {
                    key: "PresharedKey",
                    error: KeyError::WrongLength {
                        expected: 44,
                        found: 1,
                    },
                },
            ),
        ),
        (
            "[Interface]\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n".into(),
            at(3, ConfigErrorKind::MissingPublicKey),
        ),
        (
            format!("[Peer]\n{peer}"),
            at(1, ConfigErrorKind::MissingPublicKey),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Config::parse(&text), Err(want.clone()), "{text:?}");
        let message = want.to_string();
        assert!(
            message.starts_with(&format!("line {}: ", want.line)),
            "{message}"
        );
    }
}

#[test]
fn error_messages_do_not_echo_keys() {
    let secret = b64(0x5a);
    let text = format!("[Peer]\nPrivateKey = {secret}\n");
    let err = Config::parse(&text).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(!err.to_string().contains(&secret[..20]), "{err}");
}

fn showconf_state() -> DeviceState {
    let mut quiet = PeerState::new(key(4));
    quiet.endpoint = Some("1.2.3.4:5".parse().unwrap());
    DeviceState {
        private_key: Some(key(1)),
        listen_port: 51820,
        fwmark: 0x1f,
        peers: vec![
            PeerState {
                public_key: key(2),
                preshared_key: Some(key(3)),
                endpoint: Some("[fd00::1]:4500".parse().unwrap()),
                last_handshake: Some(UNIX_EPOCH + Duration::from_secs(5)),
                tx_bytes: 1,
                rx_bytes: 2,
                persistent_keepalive_interval: 25,
                allowed_ips: vec![prefix("10.0.0.0/8"), prefix("fd00::/64")],
            },
            quiet,
        ],
    }
}

#[test]
fn showconf_exact_output() {
    let mut out = String::new();
    write_showconf(&showconf_state(), &mut out);
    let want = format!(
        "[Interface]\n\
         ListenPort = 51820\n\
         FwMark = 0x1f\n\
         PrivateKey = {}\n\
         \n\
         [Peer]\n\
         PublicKey = {}\n\
         PresharedKey = {}\n\
         AllowedIPs = 10.0.0.0/8, fd00::/64\n\
         Endpoint = [fd00::1]:4500\n\
         PersistentKeepalive = 25\n\
         \n\
         [Peer]\n\
         PublicKey = {}\n\
         Endpoint = 1.2.3.4:5\n",
        b64(1),
        b64(2),
        b64(3),
        b64(4)
    );
    assert_eq!(out, want);

    let mut empty = String::new();
    write_showconf(&DeviceState::default(), &mut empty);
    assert_eq!(empty, "[Interface]\n\n");
}

#[test]
fn showconf_output_parses_back_to_the_same_settings() {
    let state = showconf_state();
    let mut out = String::new();
    write_showconf(&state, &mut out);
    let request = Config::parse(&out)
        .unwrap()
        .to_set_request(ConfMode::Set, no_dns)
        .unwrap();
    assert_eq!(request.private_key, Some(KeyUpdate::Set(key(1))));
    assert_eq!(request.listen_port, Some(51820));
    assert_eq!(request.fwmark, Some(0x1f));
    assert_eq!(request.peers.len(), state.peers.len());
    for (change, peer) in request.peers.iter().zip(&state.peers) {
        assert_eq!(change.public_key, peer.public_key);
        assert_eq!(
            change.preshared_key.as_ref().and_then(KeyUpdate::key),
            peer.preshared_key.as_ref()
        );
        assert_eq!(change.endpoint, peer.endpoint);
        let keepalive = Some(peer.persistent_keepalive_interval).filter(|&k| k != 0);
        assert_eq!(change.persistent_keepalive_interval, keepalive);
        let adds: Vec<_> = peer
            .allowed_ips
            .iter()
            .copied()
            .map(AllowedIpChange::Add)
            .collect();
        assert_eq!(change.allowed_ips, adds);
        assert!(change.replace_allowed_ips);
    }
}

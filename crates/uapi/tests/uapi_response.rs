//! `get` responses: exact bytes, and a round trip through a parser that
//! reads them the way wireguard-tools' `userspace_get_device` does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_uapi::{
    parse_request, write_errno, write_get_response, write_set_errno, write_set_request, AllowedIp,
    AllowedIpChange, DeviceState, Key, KeyUpdate, PeerChange, PeerState, Request, SetRequest,
};

fn key(n: u8) -> Key {
    Key::from_bytes([n; 32])
}

fn hex_key(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn known_state() -> DeviceState {
    DeviceState {
        private_key: Some(key(0x11)),
        listen_port: 51820,
        fwmark: 0x2a,
        peers: vec![
            PeerState {
                public_key: key(0x22),
                preshared_key: Some(key(0x33)),
                endpoint: Some("[fd00::1]:51821".parse().unwrap()),
                last_handshake: Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)),
                tx_bytes: 1000,
                rx_bytes: 2000,
                persistent_keepalive_interval: 25,
                allowed_ips: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/64".parse().unwrap()],
            },
            PeerState::new(key(0x44)),
        ],
    }
}

#[test]
fn exact_bytes_for_a_known_state() {
    let mut out = String::new();
    write_get_response(&known_state(), &mut out);
    let want = format!(
        "private_key={}\n\
         listen_port=51820\n\
         fwmark=42\n\
         public_key={}\n\
         preshared_key={}\n\
         protocol_version=1\n\
         endpoint=[fd00::1]:51821\n\
         last_handshake_time_sec=1700000000\n\
         last_handshake_time_nsec=123456789\n\
         tx_bytes=1000\n\
         rx_bytes=2000\n\
         persistent_keepalive_interval=25\n\
         allowed_ip=10.0.0.0/8\n\
         allowed_ip=fd00::/64\n\
         public_key={}\n\
         protocol_version=1\n\
         last_handshake_time_sec=0\n\
         last_handshake_time_nsec=0\n\
         tx_bytes=0\n\
         rx_bytes=0\n\
         persistent_keepalive_interval=0\n\
         errno=0\n\n",
        hex_key(0x11),
        hex_key(0x22),
        hex_key(0x33),
        hex_key(0x44)
    );
    assert_eq!(out, want);
}

#[test]
fn empty_device_and_unset_keys() {
    let mut state = DeviceState::default();
    let mut out = String::new();
    write_get_response(&state, &mut out);
    assert_eq!(out, "listen_port=0\nerrno=0\n\n");

    // Zero keys mean "not set" and are not printed.
    state.private_key = Some(Key::zero());
    let mut peer = PeerState::new(key(1));
    peer.preshared_key = Some(Key::zero());
    state.peers.push(peer);
    out.clear();
    write_get_response(&state, &mut out);
    assert!(!out.contains("private_key="));
    assert!(!out.contains("preshared_key="));
}

#[test]
fn errno_lines() {
    let mut out = String::new();
    write_errno(0, &mut out);
    write_errno(22, &mut out);
    assert_eq!(out, "errno=0\n\nerrno=22\n\n");
}

/// `wg set` negates the errno it reads (as wireguard-go answers): a refused set
/// carries the negated code, a successful one `errno=0`.
#[test]
fn set_errno_lines_are_negated_as_wireguard_go_answers() {
    let mut out = String::new();
    write_set_errno(0, &mut out);
    write_set_errno(98, &mut out);
    assert_eq!(out, "errno=0\n\nerrno=-98\n\n");
    // What wireguard-tools does with it: `errno = -ret` after `fscanf("errno=%d")`.
    let read: i32 = out
        .lines()
        .nth(2)
        .and_then(|l| l.strip_prefix("errno="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert_eq!(-read, 98, "EADDRINUSE, \"Address already in use\"");
}

/// Reads a get response the way wireguard-tools does: line by line, device
/// keys only before the first peer, numbers range-checked, and the answer
/// ends at the empty line after `errno=`.
fn wg_tool_parse(text: &str) -> Result<DeviceState, String> {
    let mut device = DeviceState::default();
    let mut peers: Vec<PeerState> = Vec::new();
    let mut errno = None;
    let mut lines = text.split_inclusive('\n');
    let mut sec = 0u64;
    let mut nsec = 0u32;
    for line in lines.by_ref() {
        let line = line.strip_suffix('\n').ok_or("unterminated line")?;
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once('=').ok_or("no =")?;
        let num = |max: u64| -> Result<u64, String> {
            if !value.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!("{key}: not a number"));
            }
            let n: u64 = value.parse().map_err(|_| format!("{key}: bad number"))?;
            if n > max {
                return Err(format!("{key}: out of range"));
            }
            Ok(n)
        };
        let in_peer = !peers.is_empty();
        match key {
            "private_key" if !in_peer => {
                device.private_key = Some(Key::from_hex(value).map_err(|e| e.to_string())?)
            }
            "listen_port" if !in_peer => device.listen_port = num(0xffff)? as u16,
            "fwmark" if !in_peer => device.fwmark = num(0xffff_ffff)? as u32,
            "public_key" => {
                if let Some(last) = peers.last_mut() {
                    last.last_handshake = handshake(sec, nsec);
                }
                sec = 0;
                nsec = 0;
                peers.push(PeerState::new(
                    Key::from_hex(value).map_err(|e| e.to_string())?,
                ));
            }
            "preshared_key" if in_peer => {
                let psk = Key::from_hex(value).map_err(|e| e.to_string())?;
                if !psk.is_zero() {
                    peers.last_mut().unwrap().preshared_key = Some(psk);
                }
            }
            "endpoint" if in_peer => {
                peers.last_mut().unwrap().endpoint =
                    Some(value.parse().map_err(|_| "bad endpoint".to_string())?)
            }
            "persistent_keepalive_interval" if in_peer => {
                peers.last_mut().unwrap().persistent_keepalive_interval = num(0xffff)? as u16
            }
            "allowed_ip" if in_peer => {
                if !value.contains('/') {
                    return Err("allowed_ip without /".into());
                }
                let prefix: AllowedIp = value.parse().map_err(|_| "bad allowed_ip".to_string())?;
                peers.last_mut().unwrap().allowed_ips.push(prefix);
            }
            "last_handshake_time_sec" if in_peer => sec = num(i64::MAX as u64)?,
            "last_handshake_time_nsec" if in_peer => nsec = num(999_999_999)? as u32,
            "rx_bytes" if in_peer => peers.last_mut().unwrap().rx_bytes = num(u64::MAX)?,
            "tx_bytes" if in_peer => peers.last_mut().unwrap().tx_bytes = num(u64::MAX)?,
            "errno" => errno = Some(num(0x7fff_ffff)?),
            // wg ignores keys it does not know (protocol_version included).
            _ => {}
        }
    }
    if lines.next().is_some() {
        return Err("data after the empty line".into());
    }
    if let Some(last) = peers.last_mut() {
        last.last_handshake = handshake(sec, nsec);
    }
    match errno {
        Some(0) => {}
        other => return Err(format!("errno {other:?}")),
    }
    device.peers = peers;
    Ok(device)
}

fn handshake(sec: u64, nsec: u32) -> Option<SystemTime> {
    (sec != 0 || nsec != 0).then(|| UNIX_EPOCH + Duration::new(sec, nsec))
}

fn random_prefix(rng: &mut StdRng) -> AllowedIp {
    if rng.gen() {
        let addr = std::net::Ipv4Addr::from(rng.gen::<u32>());
        AllowedIp::new(addr.into(), rng.gen_range(0..=32)).unwrap()
    } else {
        let addr = std::net::Ipv6Addr::from(rng.gen::<u128>());
        AllowedIp::new(addr.into(), rng.gen_range(0..=128)).unwrap()
    }
}

fn random_state(rng: &mut StdRng) -> DeviceState {
    let peers = (0..rng.gen_range(0..5))
        .map(|_| PeerState {
            public_key: Key::from_bytes(rng.gen()),
            preshared_key: rng.gen_bool(0.5).then(|| Key::from_bytes(rng.gen())),
            endpoint: match rng.gen_range(0..3) {
                0 => None,
                1 => Some((std::net::Ipv4Addr::from(rng.gen::<u32>()), rng.gen::<u16>()).into()),
                _ => Some(std::net::SocketAddr::V6(std::net::SocketAddrV6::new(
                    rng.gen::<u128>().into(),
                    rng.gen(),
                    0,
                    rng.gen_range(0..3),
                ))),
            },
            last_handshake: rng.gen_bool(0.7).then(|| {
                UNIX_EPOCH
                    + Duration::new(
                        rng.gen_range(1..4_000_000_000),
                        rng.gen_range(0..1_000_000_000),
                    )
            }),
            tx_bytes: rng.gen(),
            rx_bytes: rng.gen(),
            persistent_keepalive_interval: rng.gen(),
            allowed_ips: (0..rng.gen_range(0..6))
                .map(|_| random_prefix(rng))
                .collect(),
        })
        .collect();
    DeviceState {
        private_key: rng.gen_bool(0.8).then(|| Key::from_bytes(rng.gen())),
        listen_port: rng.gen(),
        fwmark: if rng.gen() { 0 } else { rng.gen() },
        peers,
    }
}

#[test]
fn random_states_round_trip_through_a_wg_style_parser() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..300 {
        let state = random_state(&mut rng);
        let mut out = String::new();
        write_get_response(&state, &mut out);
        assert_eq!(wg_tool_parse(&out), Ok(state.clone()), "{out}");
    }
}

#[test]
fn the_wg_style_parser_rejects_broken_answers() {
    // Guards against the round trip passing vacuously.
    let mut out = String::new();
    write_get_response(&known_state(), &mut out);
    assert!(wg_tool_parse(&out.replace("errno=0", "errno=22")).is_err());
    assert!(wg_tool_parse(&out.replace("fwmark=42", "fwmark=-1")).is_err());
    assert!(wg_tool_parse(&out.replace("/8\n", "\n")).is_err());
    let moved = out
        .replacen("fwmark=42\n", "", 1)
        .replace("errno=0", "fwmark=42\nerrno=0");
    assert_ne!(wg_tool_parse(&moved), Ok(known_state()));
}

fn random_set_request(rng: &mut StdRng) -> SetRequest {
    let key_update = |rng: &mut StdRng| match rng.gen_range(0..3) {
        0 => None,
        1 => Some(KeyUpdate::Clear),
        _ => Some(KeyUpdate::Set(Key::from_bytes(rng.gen()))),
    };
    SetRequest {
        private_key: key_update(rng),
        listen_port: rng.gen_bool(0.5).then(|| rng.gen()),
        fwmark: rng.gen_bool(0.5).then(|| rng.gen()),
        replace_peers: rng.gen(),
        peers: (0..rng.gen_range(0..4))
            .map(|_| PeerChange {
                public_key: Key::from_bytes(rng.gen()),
                remove: rng.gen_bool(0.2),
                update_only: rng.gen_bool(0.2),
                preshared_key: key_update(rng),
                endpoint: rng.gen_bool(0.5).then(|| {
                    (
                        std::net::Ipv6Addr::from(rng.gen::<u128>()),
                        rng.gen::<u16>(),
                    )
                        .into()
                }),
                persistent_keepalive_interval: rng.gen_bool(0.5).then(|| rng.gen()),
                replace_allowed_ips: rng.gen(),
                allowed_ips: (0..rng.gen_range(0..4))
                    .map(|_| {
                        let p = random_prefix(rng);
                        if rng.gen() {
                            AllowedIpChange::Add(p)
                        } else {
                            AllowedIpChange::Remove(p)
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[test]
fn set_requests_round_trip_through_text() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..300 {
        let request = random_set_request(&mut rng);
        let mut text = String::new();
        write_set_request(&request, &mut text);
        assert_eq!(
            parse_request(text.as_bytes()),
            Ok(Request::Set(request)),
            "{text}"
        );
    }
}

#[test]
fn a_get_answer_written_in_pieces_is_the_whole_answer() {
    let state = known_state();
    let mut whole = String::new();
    write_get_response(&state, &mut whole);
    let mut pieces = String::new();
    wgxdp_uapi::write_get_interface(&state, &mut pieces);
    for peer in &state.peers {
        wgxdp_uapi::write_get_peer(peer, &mut pieces);
    }
    write_errno(0, &mut pieces);
    assert_eq!(pieces, whole);
    assert!(state.peers.len() >= 2, "the sample has several peers");
}

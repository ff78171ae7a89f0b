//! Random-input loops over every parser: nothing may panic, and whatever
//! parses must survive a write/parse round trip unchanged.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_uapi::{
    parse_request, write_set_request, AllowedIp, ConfMode, Config, Endpoint, Key, Limits, Request,
    RequestReader,
};

const ITERATIONS: usize = 100_000;

/// Bytes that matter to the grammars, so random input reaches deep states.
const ALPHABET: &[u8] = b"=\n\n\n[]:/-+#.,% \t\r0123456789abcdefxABCDEF\xff\x00";

/// Fragments of valid requests and configs to splice together.
const WORDS: &[&str] = &[
    "set=1\n",
    "get=1\n",
    "\n",
    "private_key=",
    "listen_port=",
    "fwmark=",
    "replace_peers=true\n",
    "public_key=",
    "remove=true\n",
    "update_only=true\n",
    "preshared_key=",
    "endpoint=",
    "persistent_keepalive_interval=",
    "replace_allowed_ips=true\n",
    "allowed_ip=",
    "allowed_ip=-",
    "protocol_version=1\n",
    "0101010101010101010101010101010101010101010101010101010101010101",
    "10.0.0.0/8",
    "fd00::/64",
    "[fd00::1]:51820",
    "1.2.3.4:5",
    "65535",
    "4294967296",
    "true",
    "[Interface]\n",
    "[Peer]\n",
    "PrivateKey = ",
    "PublicKey = ",
    "AllowedIPs = ",
    "Endpoint = ",
    "ListenPort = ",
    "FwMark = 0x",
    "PersistentKeepalive = off",
    " # comment",
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    "example.com:1",
    ", ",
];

const KEYS: &[&str] = &[
    "private_key",
    "listen_port",
    "fwmark",
    "replace_peers",
    "public_key",
    "public_key",
    "remove",
    "update_only",
    "preshared_key",
    "endpoint",
    "persistent_keepalive_interval",
    "replace_allowed_ips",
    "allowed_ip",
    "allowed_ip",
    "protocol_version",
];

const VALUES: &[&str] = &[
    "true",
    "1",
    "0",
    "51820",
    "65535",
    "4294967295",
    "",
    "0101010101010101010101010101010101010101010101010101010101010101",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "1.2.3.4:5",
    "[fd00::1]:51820",
    "[fe80::1%2]:1",
    "10.0.0.0/8",
    "-fd00::/64",
    "::/0",
];

/// A mostly well-formed request: real keys and plausible values, with an
/// occasional corrupted byte, so the parser's success paths get exercised.
fn random_request(rng: &mut StdRng) -> Vec<u8> {
    let mut out = if rng.gen_bool(0.95) {
        b"set=1\n".to_vec()
    } else {
        b"get=1\n".to_vec()
    };
    for _ in 0..rng.gen_range(0..10) {
        out.extend_from_slice(KEYS[rng.gen_range(0..KEYS.len())].as_bytes());
        out.push(b'=');
        out.extend_from_slice(VALUES[rng.gen_range(0..VALUES.len())].as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    if rng.gen_bool(0.3) {
        let at = rng.gen_range(0..out.len());
        out[at] = rng.gen();
    }
    out
}

const CONF_LINES: &[&str] = &[
    "[Interface]",
    "[Peer]",
    "[Peer]",
    "PrivateKey = AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    "PublicKey = AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
    "PresharedKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "ListenPort = 51820",
    "FwMark = 0x10",
    "FwMark = off",
    "AllowedIPs = 10.0.0.0/8, -fd00::/64, +1.2.3.4",
    "Endpoint = [fd00::1]:1",
    "Endpoint = host.example:2",
    "PersistentKeepalive = 25",
    "# c",
    "",
];

/// A mostly well-formed config file with an occasional corrupted byte.
fn random_config(rng: &mut StdRng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.gen_range(0..12) {
        out.extend_from_slice(CONF_LINES[rng.gen_range(0..CONF_LINES.len())].as_bytes());
        out.push(b'\n');
    }
    if rng.gen_bool(0.3) && !out.is_empty() {
        let at = rng.gen_range(0..out.len());
        out[at] = rng.gen();
    }
    out
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(0..200);
    match rng.gen_range(0..5) {
        3 => random_request(rng),
        4 => random_config(rng),
        0 => (0..len).map(|_| rng.gen()).collect(),
        1 => (0..len)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
            .collect(),
        _ => {
            let mut out = Vec::new();
            for _ in 0..rng.gen_range(0..30) {
                if rng.gen_bool(0.1) {
                    out.push(rng.gen());
                } else {
                    out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
                }
            }
            out
        }
    }
}

fn check_set_round_trip(request: &Request) {
    if let Request::Set(set) = request {
        let mut text = String::new();
        write_set_request(set, &mut text);
        assert_eq!(
            parse_request(text.as_bytes()).as_ref(),
            Ok(request),
            "{text}"
        );
    }
}

#[test]
fn parse_request_never_panics() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut parsed = 0;
    for _ in 0..ITERATIONS {
        let input = random_bytes(&mut rng);
        if let Ok(request) = parse_request(&input) {
            check_set_round_trip(&request);
            parsed += 1;
        }
    }
    // The splicing generator must reach the success path sometimes, or the
    // loop only ever exercises early rejections.
    eprintln!("requests parsed: {parsed}");
    assert!(parsed > 50, "only {parsed} inputs parsed");
}

#[test]
fn reader_never_panics_on_random_chunks() {
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..ITERATIONS / 4 {
        let limits = Limits {
            max_line_len: rng.gen_range(0..100),
            max_request_len: rng.gen_range(0..400),
        };
        let mut reader = RequestReader::new(limits);
        let mut input = Vec::new();
        for _ in 0..rng.gen_range(1..6) {
            input.extend(random_bytes(&mut rng));
        }
        let mut rest = input.as_slice();
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(rng.gen_range(1..=rest.len()));
            reader.feed(chunk);
            while let Some(item) = reader.next_request() {
                if let Ok(request) = item {
                    check_set_round_trip(&request);
                }
            }
            rest = tail;
        }
        let _ = reader.finish();
    }
}

#[test]
fn config_parser_never_panics() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut parsed = 0;
    for _ in 0..ITERATIONS {
        let bytes = random_bytes(&mut rng);
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(config) = Config::parse(&text) {
            parsed += 1;
            for mode in [ConfMode::Set, ConfMode::Add] {
                let _ = config
                    .to_set_request(mode, |_: &str, _| Err::<std::net::SocketAddr, _>("none"));
            }
        }
    }
    eprintln!("configs parsed: {parsed}");
    assert!(parsed > 50, "only {parsed} configs parsed");
}

#[test]
fn small_parsers_never_panic() {
    let mut rng = StdRng::seed_from_u64(4);
    for _ in 0..ITERATIONS {
        let bytes = random_bytes(&mut rng);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Key::from_hex(&text);
        let _ = Key::from_base64(&text);
        if let Ok(prefix) = text.parse::<AllowedIp>() {
            assert_eq!(prefix.to_string().parse::<AllowedIp>(), Ok(prefix));
            let _ = prefix.masked();
        }
        let _ = AllowedIp::parse_with_length(&text);
        if let Ok(endpoint) = text.parse::<Endpoint>() {
            assert_eq!(endpoint.to_string().parse::<Endpoint>(), Ok(endpoint));
        }
    }
}

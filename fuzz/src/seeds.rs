//! The seed corpora, made by the code itself: real frames and messages for the wire targets, scripts that walk
//! the handshake and receive targets through their main paths (a real message accepted, replayed, changed; a
//! cookie dance under load; packets out of order, rekeys, expiry), valid UAPI requests and config files.
//!
//! `fuzz/seeds/<target>/` holds what [`all`] returns; `cargo test --manifest-path fuzz/Cargo.toml` checks that it
//! is current (and with `WGXDP_FUZZ_WRITE_SEEDS=1` rewrites it). Every seed is deterministic.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use wgxdp_noise::{CookieChecker, PrivateKey};
use wgxdp_uapi::write_showconf;
use wgxdp_wire::wg_layout::COOKIE_REPLY_LEN;
use wgxdp_wire::{Ipv4UdpSpec, Ipv6UdpSpec, LinkFields, MacAddr, UdpChecksumMode};

use crate::scene::{
    device_config_request, device_public, ipv4_packet, ipv6_packet, keypair, remote_addr,
    remote_private, remote_tunnel_v4, remote_tunnel_v6, Remote, Scene, DEVICE_ADDR,
    DEVICE_TUNNEL_V4, DEVICE_TUNNEL_V6,
};

/// One seed: file name and bytes.
pub type Seed = (String, Vec<u8>);

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Vec<Seed>)> {
    vec![
        ("wire_frame", wire_frame()),
        ("wire_packet", wire_packet()),
        ("handshake_initiation", handshake_initiation()),
        ("handshake_response", handshake_response()),
        ("cookie_reply", cookie_reply()),
        ("device_rx", device_rx()),
        ("uapi_set", uapi_set()),
        ("config_file", config_file()),
    ]
}

/// The bytes a harness reads through `arbitrary::Unstructured`, written choice by choice. A choice in a range of
/// at most 256 values takes one byte (the value's offset from the range's start); integers are little-endian;
/// `int_in_range` over wider ranges reads big-endian.
#[derive(Default)]
pub struct Script(Vec<u8>);

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// A choice among at most 256 values: the offset from the range's start.
    pub fn pick(mut self, offset: u8) -> Self {
        self.0.push(offset);
        self
    }

    /// A `bool`.
    pub fn flag(self, value: bool) -> Self {
        self.pick(u8::from(value))
    }

    /// Raw bytes (`u.bytes`, arrays, little-endian integers).
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// A `u32`.
    pub fn u32(self, value: u32) -> Self {
        self.bytes(&value.to_le_bytes())
    }

    /// A `u64`.
    pub fn u64(self, value: u64) -> Self {
        self.bytes(&value.to_le_bytes())
    }

    /// An `int_in_range` offset that takes `width` bytes (big-endian).
    pub fn wide(self, offset: u64, width: usize) -> Self {
        let bytes = offset.to_be_bytes();
        self.bytes(&bytes[8 - width..])
    }

    /// The script's bytes.
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

fn named(name: &str, bytes: Vec<u8>) -> Seed {
    (name.to_string(), bytes)
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// Real WireGuard messages of every kind, made by the noise crate and the device: an initiation, the device's
/// response to it, a cookie reply and a transport message.
fn real_messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut scene = Scene::new();
    let mut remote = Remote::new(0);
    let timestamp = scene.timestamp();
    let init = remote
        .initiation(7, [0x31; 32], timestamp, scene.now)
        .expect("initiation");
    let (_, sent) = scene.handshake(remote.addr(), &init, false);
    let response = crate::scene::response_in(&sent, remote.addr()).expect("response");
    let keys = remote
        .handshake
        .consume_response(&remote.local, &response)
        .expect("keys");
    let pair = keypair(&keys, scene.now);
    let packet = ipv4_packet(
        remote_tunnel_v4(0),
        DEVICE_TUNNEL_V4,
        b"ping through the tunnel",
    );
    let mut transport = vec![0u8; packet.len() + 48];
    transport[16..16 + packet.len()].copy_from_slice(&packet);
    let len = pair.seal(&mut transport, packet.len(), 1420).expect("seal");
    transport.truncate(len);
    let mut rng = StdRng::seed_from_u64(3);
    let mut checker = CookieChecker::new(&device_public(), &mut rng, scene.now);
    let mut reply = [0u8; COOKIE_REPLY_LEN];
    checker
        .create_reply(
            &init,
            7,
            &[198, 18, 0, 2, 0xca, 0x6c],
            scene.now,
            &mut rng,
            &mut reply,
        )
        .expect("cookie reply");
    vec![
        ("initiation", init.to_vec()),
        ("response", response.to_vec()),
        ("cookie-reply", reply.to_vec()),
        ("transport", transport),
    ]
}

fn link(vlan_tci: Option<u16>) -> LinkFields {
    LinkFields {
        src: MacAddr([0x02, 0, 0, 0, 0, 1]),
        dst: MacAddr([0x02, 0, 0, 0, 0, 2]),
        vlan_tci,
    }
}

/// `payload` in an Ethernet + IPv4 + UDP frame from remote 0 to the device.
fn ipv4_frame(payload: &[u8], vlan_tci: Option<u16>) -> Vec<u8> {
    let spec = Ipv4UdpSpec {
        link: link(vlan_tci),
        src: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), remote_addr(0).port()),
        dst: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), DEVICE_ADDR.port()),
        ttl: 64,
        tos: 0,
        identification: 9,
        dont_fragment: true,
        udp_checksum: UdpChecksumMode::Full,
    };
    let mut frame = vec![0u8; spec.header_len() + payload.len()];
    frame[spec.header_len()..].copy_from_slice(payload);
    let len = spec.emit(&mut frame, payload.len()).expect("emit");
    frame.truncate(len);
    frame
}

/// `payload` in an Ethernet + IPv6 + UDP frame.
fn ipv6_frame(payload: &[u8]) -> Vec<u8> {
    let spec = Ipv6UdpSpec {
        link: link(None),
        src: SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2), 51820, 0, 0),
        dst: SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 51820, 0, 0),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0x12345,
        udp_checksum: UdpChecksumMode::Full,
    };
    let mut frame = vec![0u8; spec.header_len() + payload.len()];
    frame[spec.header_len()..].copy_from_slice(payload);
    let len = spec.emit(&mut frame, payload.len()).expect("emit");
    frame.truncate(len);
    frame
}

fn wire_frame() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, msg) in real_messages() {
        seeds.push(named(
            &format!("ipv4-{name}"),
            [&[0u8][..], &ipv4_frame(&msg, None)].concat(),
        ));
    }
    let transport = real_messages()
        .pop()
        .map(|(_, msg)| msg)
        .unwrap_or_default();
    seeds.push(named(
        "ipv6-transport",
        [&[0u8][..], &ipv6_frame(&transport)].concat(),
    ));
    seeds.push(named(
        "vlan-transport",
        [&[0u8][..], &ipv4_frame(&transport, Some(0x2064))].concat(),
    ));
    // Emitter round trips: the mode byte, then the fields (IPv4 then IPv6).
    seeds.push(named(
        "emit-ipv4",
        [&[1u8, 0][..], &random_bytes(1, 64)].concat(),
    ));
    seeds.push(named(
        "emit-ipv6",
        [&[1u8, 1][..], &random_bytes(2, 64)].concat(),
    ));
    seeds
}

fn wire_packet() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = real_messages()
        .into_iter()
        .map(|(name, msg)| named(name, msg))
        .collect();
    seeds.push(named(
        "ipv4",
        ipv4_packet(remote_tunnel_v4(0), DEVICE_TUNNEL_V4, b"hello"),
    ));
    seeds.push(named(
        "ipv6",
        ipv6_packet(remote_tunnel_v6(0), DEVICE_TUNNEL_V6, b"hello"),
    ));
    // IPv6 with a hop-by-hop options header (8 bytes of padding options) before UDP.
    let mut hop_by_hop = vec![17u8, 0, 1, 4, 0, 0, 0, 0];
    hop_by_hop.extend_from_slice(&[
        0xca, 0x6c, 0xca, 0x6c, 0, 12, 0x12, 0x34, b'd', b'a', b't', b'a',
    ]);
    let mut ext = ipv6_packet(remote_tunnel_v6(0), DEVICE_TUNNEL_V6, &hop_by_hop);
    ext[6] = 0;
    seeds.push(named("ipv6-hop-by-hop-udp", ext));
    seeds
}

/// One initiation step of the `handshake_initiation` harness.
#[allow(clippy::too_many_arguments)]
fn initiation_step(
    script: Script,
    time: u8,
    remote: u8,
    timestamp: u8,
    ephemeral: u8,
    under_load: bool,
    how: u8,
    refixed: bool,
) -> Script {
    let script = script
        .pick(time)
        .pick(remote)
        .pick(timestamp)
        .bytes(&[ephemeral; 32])
        .u32(0x1000 + u32::from(ephemeral))
        .flag(under_load)
        .pick(2)
        .pick(how);
    let script = if how == 1 {
        script.pick(0).pick(30).pick(0x80)
    } else {
        script
    };
    script.flag(refixed)
}

fn handshake_initiation() -> Vec<Seed> {
    let fresh = initiation_step(Script::new(), 0, 0, 0, 1, false, 0, false);
    let replay = initiation_step(
        initiation_step(Script::new(), 0, 0, 0, 1, false, 0, false),
        2,
        0,
        1,
        2,
        false,
        0,
        false,
    );
    let flood = initiation_step(
        initiation_step(Script::new(), 0, 1, 0, 1, false, 0, false),
        1,
        1,
        0,
        2,
        false,
        0,
        false,
    );
    // Under load: a cookie reply first, then the retry with mac2 is accepted.
    let cookie = initiation_step(
        initiation_step(Script::new(), 0, 0, 0, 1, true, 0, false),
        6,
        0,
        0,
        2,
        true,
        0,
        false,
    );
    let stranger = initiation_step(Script::new(), 0, 2, 0, 1, false, 0, false);
    let flipped = initiation_step(Script::new(), 0, 0, 0, 1, false, 1, false);
    let flipped_refixed = initiation_step(Script::new(), 0, 0, 0, 1, false, 1, true);
    vec![
        named("fresh", fresh.done()),
        named("replayed-timestamp", replay.done()),
        named("within-20ms", flood.done()),
        named("cookie-then-mac2", cookie.done()),
        named("stranger", stranger.done()),
        named("flipped", flipped.done()),
        named("flipped-macs-fixed", flipped_refixed.done()),
    ]
}

/// One delivery step of the `handshake_response` and `cookie_reply` harnesses (`refixed` only for responses, and
/// responses are processed at once).
fn delivery_step(
    script: Script,
    time: u8,
    tick: bool,
    under_load: bool,
    how: u8,
    refixed: Option<bool>,
) -> Script {
    let script = script
        .pick(time)
        .flag(tick)
        .flag(under_load)
        .pick(2)
        .pick(how);
    let script = if how == 1 {
        script.pick(0).pick(20).pick(1)
    } else {
        script
    };
    match refixed {
        Some(refixed) => script.flag(refixed).flag(false),
        None => script,
    }
}

/// A response step screened now and processed later.
fn deferred_response(script: Script, time: u8) -> Script {
    script
        .pick(time)
        .flag(false)
        .flag(false)
        .pick(2)
        .pick(0)
        .flag(false)
        .flag(true)
}

fn handshake_response() -> Vec<Seed> {
    let start = || Script::new().pick(0).u32(0x77).bytes(&[0x51; 32]);
    vec![
        named(
            "real",
            delivery_step(start(), 0, false, false, 0, Some(false)).done(),
        ),
        named(
            "real-twice",
            delivery_step(
                delivery_step(start(), 0, false, false, 0, Some(false)),
                6,
                false,
                false,
                0,
                Some(false),
            )
            .done(),
        ),
        named(
            "cookie-then-real",
            delivery_step(
                delivery_step(start(), 0, false, true, 0, Some(false)),
                0,
                false,
                false,
                0,
                Some(false),
            )
            .done(),
        ),
        named(
            "flipped-macs-fixed",
            delivery_step(start(), 0, false, false, 1, Some(true)).done(),
        ),
        named(
            "after-retry",
            delivery_step(start(), 3, true, false, 0, Some(false)).done(),
        ),
        named(
            "queued-twice",
            deferred_response(deferred_response(start(), 0), 0).done(),
        ),
        named(
            "queued-then-at-once",
            delivery_step(
                deferred_response(start(), 0),
                0,
                false,
                false,
                0,
                Some(false),
            )
            .done(),
        ),
    ]
}

fn cookie_reply() -> Vec<Seed> {
    let start = || Script::new().pick(1).u64(5);
    vec![
        named(
            "real",
            delivery_step(start(), 0, false, false, 0, None).done(),
        ),
        named(
            "real-twice",
            delivery_step(
                delivery_step(start(), 0, false, false, 0, None),
                0,
                false,
                false,
                0,
                None,
            )
            .done(),
        ),
        named(
            "flipped",
            delivery_step(start(), 0, false, false, 1, None).done(),
        ),
        named(
            "late",
            delivery_step(start(), 4, true, false, 0, None).done(),
        ),
    ]
}

/// `device_rx` operations (see `device_rx::steps`); `sessions` is how many sessions exist, which decides whether
/// choosing one reads a byte.
struct Ops {
    script: Script,
    sessions: usize,
    made: usize,
    held: usize,
}

impl Ops {
    fn new() -> Self {
        Self {
            script: Script::new(),
            sessions: 1,
            made: 0,
            held: 0,
        }
    }

    fn session(mut self, s: usize) -> Self {
        if self.sessions > 1 {
            self.script = self.script.pick(s as u8);
        }
        self
    }

    /// `choose_index` over `len` items reads nothing when there is only one.
    fn index(mut self, len: usize, k: u8) -> Self {
        if len > 1 {
            self.script = self.script.pick(k);
        }
        self
    }

    /// Seal a valid IPv4 packet (`kind` 1), keepalive (0), IPv6 (2) or spoofed source (3) on session `s`, with
    /// counter jump choice `jump` (0: next, 2: past the window), delivered now or held.
    fn seal(mut self, s: usize, jump: u8, kind: u8, hold: bool) -> Self {
        self.script = self.script.pick(0);
        self = self.session(s);
        self.script = self.script.pick(jump);
        self.script = match jump {
            1 => self.script.pick(9),
            2 => self.script.wide(200, 2),
            3 => self.script.pick(24),
            4 => self.script.u64(1 << 50),
            _ => self.script,
        };
        self.script = self.script.pick(kind);
        self.script = match kind {
            1 | 2 => self.script.pick(12).bytes(b"twelve bytes"),
            3 => self.script.pick(0),
            _ => self.script,
        };
        self.script = self.script.flag(hold);
        self.made += 1;
        self.held += usize::from(hold);
        if !hold {
            self.script = self.script.pick(2);
        }
        self
    }

    fn raw_to_existing(mut self) -> Self {
        // The list of indices has each session's index and the device's own list: never a single entry.
        self.script = self.script.pick(2).flag(true).pick(0);
        self.script = self.script.u64(3).pick(32).bytes(&[0xee; 32]).pick(2);
        self
    }

    fn redeliver(mut self, k: u8) -> Self {
        self.script = self.script.pick(3);
        let made = self.made;
        self = self.index(made, k);
        self.script = self.script.pick(2);
        self
    }

    fn tamper(mut self, k: u8) -> Self {
        self.script = self.script.pick(4);
        let made = self.made;
        self = self.index(made, k);
        self.script = self.script.flag(true).pick(20).pick(0x40).pick(2);
        self
    }

    fn deliver_held(mut self) -> Self {
        self.script = self.script.pick(5);
        let held = self.held;
        self = self.index(held, 0);
        self.held -= 1;
        self.script = self.script.pick(2);
        self
    }

    fn flush(mut self) -> Self {
        self.script = self.script.pick(6);
        self
    }

    fn advance(mut self, step: u8) -> Self {
        self.script = self.script.pick(7).pick(step);
        self
    }

    fn rekey(mut self, r: u8) -> Self {
        self.script = self
            .script
            .pick(8)
            .pick(r)
            .u32(0x900 + u32::from(r))
            .bytes(&[0x60 + r; 32]);
        self.sessions += 1;
        self
    }

    fn done(self) -> Vec<u8> {
        self.script.done()
    }
}

fn device_rx() -> Vec<Seed> {
    let batch = Ops::new()
        .seal(0, 0, 1, false)
        .seal(0, 0, 1, false)
        .seal(0, 0, 0, false)
        .seal(0, 0, 2, false)
        .seal(0, 0, 3, false)
        .flush();
    let reorder = Ops::new()
        .seal(0, 0, 1, true)
        .seal(0, 0, 1, true)
        .seal(0, 0, 1, false)
        .deliver_held()
        .deliver_held()
        .redeliver(0)
        .tamper(1)
        .raw_to_existing()
        .flush();
    let rekey = Ops::new()
        .seal(0, 0, 1, false)
        .rekey(1)
        .seal(1, 0, 1, false)
        .rekey(0)
        .seal(0, 0, 1, false)
        .seal(2, 0, 1, false)
        .seal(0, 0, 1, false)
        .advance(4)
        .seal(2, 0, 1, false)
        .advance(5)
        .seal(2, 0, 1, false);
    let jumps = Ops::new()
        .seal(0, 0, 1, true)
        .seal(0, 2, 1, false)
        .deliver_held()
        .seal(0, 1, 0, false)
        .seal(0, 3, 1, false)
        .seal(0, 4, 1, false)
        .flush();
    vec![
        named("one-batch", batch.done()),
        named("out-of-order-replay-tamper", reorder.done()),
        named("rekey-two-peers-expiry", rekey.done()),
        named("counter-jumps", jumps.done()),
    ]
}

fn hex_key(private: [u8; 32]) -> String {
    PrivateKey::from_bytes(private).to_hex().to_string()
}

fn public_hex(private: [u8; 32]) -> String {
    PrivateKey::from_bytes(private).public_key().to_hex()
}

fn uapi_set() -> Vec<Seed> {
    let full = format!(
        "set=1\nprivate_key={}\nlisten_port=51820\nfwmark=0x10\nreplace_peers=true\n\
         public_key={}\npreshared_key={}\nendpoint=198.18.0.2:51820\npersistent_keepalive_interval=25\n\
         replace_allowed_ips=true\nallowed_ip=100.64.0.2/32\nallowed_ip=fd00::2/128\n\
         public_key={}\nendpoint=[2001:db8::3]:51820\nallowed_ip=100.64.1.0/24\nallowed_ip=-100.64.1.0/24\n\n",
        hex_key(crate::scene::DEVICE_PRIVATE),
        public_hex(remote_private(0)),
        hex_key([0x77; 32]),
        public_hex(remote_private(1)),
    );
    let edit = format!(
        "set=1\npublic_key={}\nupdate_only=true\nendpoint=198.18.0.9:1\n\
         public_key={}\nremove=true\n\n",
        public_hex(remote_private(0)),
        public_hex(remote_private(1)),
    );
    let stream = format!("get=1\n\n{}get=1\n\n", device_config_request());
    let with = |cut: u8, text: &str| [&[cut][..], text.as_bytes()].concat();
    vec![
        named("set-everything", with(63, &full)),
        named("set-everything-bytewise", with(0, &full)),
        named("device-config", with(63, &device_config_request())),
        named("get", with(63, "get=1\n\n")),
        named("edit-and-remove", with(5, &edit)),
        named("get-set-get", with(17, &stream)),
        named("unknown-key", with(63, "set=1\nbogus=1\n\nget=1\n\n")),
    ]
}

fn config_file() -> Vec<Seed> {
    let scene = Scene::new();
    let mut showconf = String::new();
    write_showconf(&scene.dev.get_state(scene.now, scene.wall()), &mut showconf);
    let private = PrivateKey::from_bytes(crate::scene::DEVICE_PRIVATE)
        .to_base64()
        .to_string();
    let peer = |i: usize| {
        PrivateKey::from_bytes(remote_private(i))
            .public_key()
            .to_base64()
    };
    let psk = PrivateKey::from_bytes([0x77; 32]).to_base64().to_string();
    let handwritten = format!(
        "# wg setconf file\n[Interface]\nPrivateKey = {private}\nListenPort = 51820\nFwMark = off\n\n\
         [Peer] # gateway\npublicKey={}\nPresharedKey = {psk}\nAllowed IPs = 100.64.0.2/32, fd00::2/128\n\
         Endpoint = vpn.example:51820\nPersistentKeepalive = off\n\n\
         [peer]\nPublicKey = {}\nAllowedIPs = +100.64.3.0/24, -100.64.3.0/25\nEndpoint = [fd00::3]:51820\n",
        peer(0),
        peer(1)
    );
    vec![
        named("showconf-of-the-scene.conf", showconf.into_bytes()),
        named("handwritten.conf", handwritten.into_bytes()),
        named(
            "wg-quick-key.conf",
            b"[Interface]\nAddress = 100.64.0.1/24\n".to_vec(),
        ),
    ]
}

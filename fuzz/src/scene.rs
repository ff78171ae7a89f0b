//! The device under test and the peers that talk to it, in memory and deterministic.
//!
//! One side is a real [`Device`], configured through UAPI `set` text as the daemon does. The other side is made of
//! [`Remote`]s built from the noise crate's own pieces (handshake, cookie generator, keypair), so a harness can
//! choose every ephemeral key, timestamp, index and transport counter it sends. Everything random comes from a
//! seeded generator: the same input always makes the same run, which is what lets libFuzzer minimise a crash.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::{
    Destination, Device, DeviceConfig, Inbound, Outbound, Outbox, Screened, TxRoom,
};
use wgxdp_noise::{
    identify_initiation, CookieGenerator, Keypair, LocalStatic, PeerHandshake, PrivateKey,
    PublicKey, SessionKeys, Tai64N,
};
use wgxdp_uapi::{parse_request, Request, SetRequest};
use wgxdp_wire::checksum::IPPROTO_UDP;
use wgxdp_wire::ipv4::{write_ipv4_header, Ipv4Fields, IPV4_HEADER_LEN};
use wgxdp_wire::ipv6::{write_ipv6_header, Ipv6Fields, IPV6_HEADER_LEN};
use wgxdp_wire::wg_layout::{INITIATION_LEN, MSG_RESPONSE, RESPONSE_LEN};

/// The device's static private key.
pub const DEVICE_PRIVATE: [u8; 32] = [0x11; 32];
/// Where the device listens (and sends from).
pub const DEVICE_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 51820);
/// How many peers the device is configured with: remotes `0..REMOTES`. Remote `REMOTES` is a stranger, a key the
/// device does not know.
pub const REMOTES: usize = 2;
/// The device's own tunnel address, the destination of what remotes send through the tunnel.
pub const DEVICE_TUNNEL_V4: Ipv4Addr = Ipv4Addr::new(100, 64, 0, 1);
/// The device's own IPv6 tunnel address.
pub const DEVICE_TUNNEL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
/// Monotonic time at the start of every run.
pub const START: Duration = Duration::from_secs(1000);

/// The device's static public key (computed once: a scalar multiplication is a good part of a case's time).
pub fn device_public() -> PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    *KEY.get_or_init(|| PrivateKey::from_bytes(DEVICE_PRIVATE).public_key())
}

/// Remote `i`'s static public key (`i <= REMOTES`), computed once.
pub fn remote_public(i: usize) -> PublicKey {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..=REMOTES)
            .map(|i| PrivateKey::from_bytes(remote_private(i)).public_key())
            .collect()
    });
    keys[i.min(REMOTES)]
}

/// Remote `i`'s private key (`i <= REMOTES`).
pub fn remote_private(i: usize) -> [u8; 32] {
    [0x21 + i as u8; 32]
}

/// Remote `i`'s UDP endpoint.
pub fn remote_addr(i: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2 + i as u8)), 51820)
}

/// Remote `i`'s IPv4 tunnel address (its AllowedIPs on the device).
pub fn remote_tunnel_v4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(100, 64, 0, 2 + i as u8)
}

/// Remote `i`'s IPv6 tunnel address.
pub fn remote_tunnel_v6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2 + i as u16)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The UAPI `set` request that configures the device: its key, its port, and every remote as a peer.
pub fn device_config_request() -> String {
    let mut text = format!(
        "set=1\nprivate_key={}\nlisten_port={}\n",
        hex(&DEVICE_PRIVATE),
        DEVICE_ADDR.port()
    );
    for i in 0..REMOTES {
        let public = remote_public(i);
        text += &format!(
            "public_key={}\nendpoint={}\nallowed_ip={}/32\nallowed_ip={}/128\n",
            hex(public.as_bytes()),
            remote_addr(i),
            remote_tunnel_v4(i),
            remote_tunnel_v6(i)
        );
    }
    text + "\n"
}

/// A UDP-in-IPv4 packet with `payload`, as a TUN would carry it.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; IPV4_HEADER_LEN + payload.len()];
    let fields = Ipv4Fields {
        src,
        dst,
        protocol: IPPROTO_UDP,
        ttl: 64,
        tos: 0,
        identification: 1,
        dont_fragment: true,
    };
    if write_ipv4_header(&mut packet, &fields, payload.len()).is_err() {
        return Vec::new();
    }
    packet[IPV4_HEADER_LEN..].copy_from_slice(payload);
    packet
}

/// A UDP-in-IPv6 packet with `payload` (no UDP header: only the IP header matters to the device).
pub fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; IPV6_HEADER_LEN + payload.len()];
    let fields = Ipv6Fields {
        src,
        dst,
        next_header: IPPROTO_UDP,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    if write_ipv6_header(&mut packet, &fields, payload.len()).is_err() {
        return Vec::new();
    }
    packet[IPV6_HEADER_LEN..].copy_from_slice(payload);
    packet
}

/// The packet the device's TUN has for remote `i` when a harness makes it start a handshake.
pub fn device_tunnel_packet(i: usize) -> Vec<u8> {
    ipv4_packet(
        DEVICE_TUNNEL_V4,
        remote_tunnel_v4(i),
        b"staged for the handshake",
    )
}

/// Room for one sealed message, as a transmit ring would give.
#[derive(Default)]
struct OneMessage {
    buf: Vec<u8>,
    sent: Vec<u8>,
}

impl TxRoom for OneMessage {
    fn message_buffer(&mut self, _endpoint: Destination, max_len: usize) -> Option<&mut [u8]> {
        self.buf.clear();
        self.buf.resize(max_len, 0);
        Some(&mut self.buf)
    }

    fn commit(&mut self, _endpoint: Destination, len: usize) {
        self.sent = self.buf.get(..len).unwrap_or_default().to_vec();
    }
}

/// The device under test at simulated time.
pub struct Scene {
    /// The device.
    pub dev: Device,
    /// Monotonic time.
    pub now: Duration,
    /// Wall-clock time at `now == 0`.
    pub wall0: SystemTime,
    /// The device's random numbers.
    pub rng: StdRng,
}

impl Default for Scene {
    fn default() -> Self {
        Self::new()
    }
}

impl Scene {
    /// A configured device at [`START`].
    pub fn new() -> Self {
        let mut scene = Self {
            dev: Device::new(DeviceConfig::default()),
            now: START,
            wall0: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            rng: StdRng::seed_from_u64(0x5eed),
        };
        static REQUEST: OnceLock<SetRequest> = OnceLock::new();
        let request =
            REQUEST.get_or_init(|| match parse_request(device_config_request().as_bytes()) {
                Ok(Request::Set(request)) => request,
                other => panic!("the scene's own configuration does not parse: {other:?}"),
            });
        if let Err(error) = scene.dev.apply_set(request, scene.now, &mut scene.rng) {
            panic!("the scene's own configuration does not apply: {error}");
        }
        scene
    }

    /// Wall-clock time now.
    pub fn wall(&self) -> SystemTime {
        self.wall0 + self.now
    }

    /// A handshake message from `from`: the device's verdict and what it sent in answer.
    pub fn handshake(
        &mut self,
        from: SocketAddr,
        msg: &[u8],
        under_load: bool,
    ) -> (Inbound, Vec<(SocketAddr, Vec<u8>)>) {
        let mut out = Outbox::new();
        let wall = self.wall();
        let verdict = self.dev.receive_handshake(
            Destination::routed(from),
            msg,
            self.now,
            wall,
            under_load,
            &mut self.rng,
            &mut out,
        );
        (
            verdict,
            out.drain().map(|(to, msg)| (to.addr, msg)).collect(),
        )
    }

    /// Step 1 of a handshake message alone (`Device::screen_handshake`), as where the datagram is received.
    pub fn screen(
        &mut self,
        from: SocketAddr,
        msg: &[u8],
        under_load: bool,
    ) -> (Screened, Vec<(SocketAddr, Vec<u8>)>) {
        let mut out = Outbox::new();
        let screened = self.dev.screen_handshake(
            Destination::routed(from),
            msg,
            self.now,
            under_load,
            &mut self.rng,
            &mut out,
        );
        (
            screened,
            out.drain().map(|(to, msg)| (to.addr, msg)).collect(),
        )
    }

    /// Step 2 (`Device::process_handshake`) for a message step 1 admitted earlier.
    pub fn process(
        &mut self,
        from: SocketAddr,
        msg: &[u8],
    ) -> (Inbound, Vec<(SocketAddr, Vec<u8>)>) {
        let mut out = Outbox::new();
        let wall = self.wall();
        let verdict = self.dev.process_handshake(
            Destination::routed(from),
            msg,
            self.now,
            wall,
            &mut self.rng,
            &mut out,
        );
        (
            verdict,
            out.drain().map(|(to, msg)| (to.addr, msg)).collect(),
        )
    }

    /// Runs the device's timers: what it sends.
    pub fn tick(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Outbox::new();
        let wall = self.wall();
        self.dev.take_handshake_wanted();
        self.dev.tick(self.now, wall, &mut self.rng, &mut out);
        out.drain().map(|(to, msg)| (to.addr, msg)).collect()
    }

    /// A packet from the device's TUN, sent in a batch of one: the verdict and, when sent, the sealed message.
    pub fn send_tun(&mut self, packet: &[u8]) -> (Outbound, Vec<u8>) {
        let mut room = OneMessage::default();
        let mut batch = self.dev.tx_batch(self.now);
        let verdict = batch.send(packet, &mut room);
        batch.finish();
        (verdict, room.sent)
    }

    /// Makes the device start a handshake with remote `i` (a packet for it from TUN, then the timers): the
    /// initiation it sends.
    pub fn device_initiation(&mut self, i: usize) -> Option<[u8; INITIATION_LEN]> {
        let (verdict, _) = self.send_tun(&device_tunnel_packet(i));
        if verdict != Outbound::Staged {
            return None;
        }
        self.tick()
            .into_iter()
            .find(|(to, msg)| *to == remote_addr(i) && msg.len() == INITIATION_LEN)
            .and_then(|(_, msg)| msg.try_into().ok())
    }

    /// Seconds and nanoseconds of the wall clock, for TAI64N timestamps.
    pub fn timestamp(&self) -> Tai64N {
        let since = self.wall().duration_since(UNIX_EPOCH).unwrap_or_default();
        Tai64N::from_unix(since.as_secs(), since.subsec_nanos())
    }
}

/// A peer of the device built from the noise crate's pieces, so that everything it sends is chosen by the harness.
pub struct Remote {
    /// Which remote (`0..REMOTES`, or `REMOTES` for the stranger).
    pub index: usize,
    /// Its static key.
    pub local: LocalStatic,
    /// Its handshake state with the device.
    pub handshake: PeerHandshake,
    /// mac1/mac2 of what it sends to the device, and the cookie it got from the device.
    pub macs: CookieGenerator,
}

impl Remote {
    /// Remote `i` (see [`remote_private`]); `i` above [`REMOTES`] is taken as the stranger.
    pub fn new(i: usize) -> Self {
        let i = i.min(REMOTES);
        let local = LocalStatic::new(PrivateKey::from_bytes(remote_private(i)));
        let handshake = PeerHandshake::new(&local, device_public(), None);
        Self {
            index: i,
            local,
            handshake,
            macs: CookieGenerator::new(&device_public()),
        }
    }

    /// Its UDP endpoint.
    pub fn addr(&self) -> SocketAddr {
        remote_addr(self.index)
    }

    /// An initiation to the device with `sender` as its index, `ephemeral` as its ephemeral private key and
    /// `timestamp`; mac1 filled, mac2 too when a cookie from the device is held. `None` if the noise crate refuses
    /// (a low-order ephemeral).
    pub fn initiation(
        &mut self,
        sender: u32,
        ephemeral: [u8; 32],
        timestamp: Tai64N,
        now: Duration,
    ) -> Option<[u8; INITIATION_LEN]> {
        let mut msg = [0u8; INITIATION_LEN];
        self.handshake
            .create_initiation(
                &self.local,
                sender,
                PrivateKey::from_bytes(ephemeral),
                timestamp,
                &mut msg,
            )
            .ok()?;
        self.macs.add_macs(&mut msg, now);
        Some(msg)
    }

    /// A complete handshake with the device at `scene.now`: our keypair, or `None` if the device did not answer
    /// with a response we accept.
    pub fn connect(
        &mut self,
        scene: &mut Scene,
        sender: u32,
        ephemeral: [u8; 32],
    ) -> Option<Keypair> {
        let timestamp = scene.timestamp();
        let init = self.initiation(sender, ephemeral, timestamp, scene.now)?;
        let (_, sent) = scene.handshake(self.addr(), &init, false);
        let response = response_in(&sent, self.addr())?;
        let keys = self
            .handshake
            .consume_response(&self.local, &response)
            .ok()?;
        Some(keypair(&keys, scene.now))
    }

    /// Responder side: answers the device's initiation `init` with a response (mac1 filled for the device). `None`
    /// if the initiation is not acceptable to the noise crate.
    pub fn respond(
        &mut self,
        init: &[u8; INITIATION_LEN],
        local_index: u32,
        ephemeral: [u8; 32],
        now: Duration,
    ) -> Option<([u8; RESPONSE_LEN], SessionKeys)> {
        let identified = identify_initiation(&self.local, init).ok()?;
        self.handshake
            .consume_initiation(&self.local, identified, now)
            .ok()?;
        let mut msg = [0u8; RESPONSE_LEN];
        let keys = self
            .handshake
            .create_response(
                &self.local,
                local_index,
                PrivateKey::from_bytes(ephemeral),
                &mut msg,
            )
            .ok()?;
        self.macs.add_macs(&mut msg, now);
        Some((msg, keys))
    }
}

/// The transport keypair for `keys`, born at `now`.
pub fn keypair(keys: &SessionKeys, now: Duration) -> Keypair {
    Keypair::new(
        &keys.sending,
        &keys.receiving,
        keys.local_index,
        keys.remote_index,
        keys.is_initiator,
        now,
    )
}

/// The handshake response among `sent` addressed to `to`.
pub fn response_in(sent: &[(SocketAddr, Vec<u8>)], to: SocketAddr) -> Option<[u8; RESPONSE_LEN]> {
    sent.iter()
        .find(|(addr, msg)| {
            *addr == to && msg.len() == RESPONSE_LEN && msg.first() == Some(&MSG_RESPONSE)
        })
        .and_then(|(_, msg)| msg.as_slice().try_into().ok())
}

//! What the steering program leaves to the kernel, over a 2-queue veth pair between scratch namespaces (root
//! only): transport data to an address that is not the link's own (a macvlan neighbour's), from a source outside
//! the allow-list, or with a VLAN tag or tagging the userspace parser cannot take; and the local-address map following the
//! link's addresses as they come and go.

mod common;

use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sched::{setns, CloneFlags};
use wgxdp_io_xdp::{
    AddressChange, AddressFollower, AttachMode, SourcePrefix, SteerConfig, SteerCounters,
    SteerReason, XdpProgram, XskConfig, XskSocket,
};
use wgxdp_wire::{parse_udp_frame, Ipv4UdpSpec, LinkFields, MacAddr, UdpChecksumMode};

const PORT: u16 = 51822;

fn small_config() -> XskConfig {
    XskConfig {
        frame_count: 512,
        ring_size: 256,
        rx_frames: 256,
        ..XskConfig::default()
    }
}

/// The program on side A with a socket on each of its two queues.
struct Steering {
    program: XdpProgram,
    sockets: Vec<XskSocket>,
}

impl Steering {
    /// Attaches in side A (the calling thread must be there).
    fn attach(config: &SteerConfig) -> Self {
        let mut program = XdpProgram::attach_with(A_IF, config, AttachMode::Auto).expect("attach");
        let sockets: Vec<XskSocket> = (0..2)
            .map(|queue| XskSocket::open(A_IF, queue, &small_config()).expect("xsk"))
            .collect();
        for socket in &sockets {
            program
                .register_socket(socket.queue(), socket)
                .expect("register");
        }
        Self { program, sockets }
    }

    fn counters(&self) -> SteerCounters {
        self.program.counters().expect("counters")
    }

    /// Every frame the sockets receive within `window`.
    fn received(&mut self, window: Duration) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let deadline = Instant::now() + window;
        while Instant::now() < deadline {
            for socket in &mut self.sockets {
                if socket.poll_wait(Duration::from_millis(2)).expect("poll") {
                    socket.recv_batch(64, |frame| frames.push(frame.to_vec()));
                }
            }
        }
        frames
    }
}

/// Sends `count` transport-shaped datagrams from side B, from `src` (an address of B's, or any) to `dst`.
fn send_from_b(pair: &NetnsPair, src: Option<&str>, dst: SocketAddr, count: u64) {
    pair.enter_b();
    let bind = match (src, dst) {
        (Some(src), _) => SocketAddr::new(ip(src), 0),
        (None, SocketAddr::V4(_)) => "0.0.0.0:0".parse().expect("any v4"),
        (None, SocketAddr::V6(_)) => "[::]:0".parse().expect("any v6"),
    };
    let socket = UdpSocket::bind(bind).expect("sender");
    for counter in 0..count {
        socket
            .send_to(&transport_payload(counter, 48), dst)
            .expect("send");
    }
    pair.enter_a();
}

/// Datagrams waiting on a kernel socket, with their sources.
fn kernel_datagrams(socket: &UdpSocket) -> Vec<(SocketAddr, Vec<u8>)> {
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((len, from)) = socket.recv_from(&mut buf) {
        out.push((from, buf[..len].to_vec()));
    }
    out
}

fn is_transport(payload: &[u8]) -> bool {
    payload.len() >= 32 && payload.starts_with(&[4, 0, 0, 0])
}

/// The source address of each frame.
fn sources(frames: &[Vec<u8>]) -> Vec<IpAddr> {
    frames
        .iter()
        .map(|f| parse_udp_frame(f).expect("a UDP frame").src.ip())
        .collect()
}

/// A third namespace, removed on drop.
struct ExtraNs {
    name: String,
    fd: File,
}

impl ExtraNs {
    fn create(tag: &str) -> Self {
        let name = format!("wgxdp-{tag}-c-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run("ip", &["netns", "add", &name]);
        let fd = File::open(format!("/var/run/netns/{name}")).expect("namespace file");
        Self { name, fd }
    }

    fn enter(&self) {
        setns(&self.fd, CloneFlags::CLONE_NEWNET).expect("setns C");
    }
}

impl Drop for ExtraNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

#[test]
fn transport_data_for_a_macvlan_neighbour_is_not_stolen() {
    if !can_run("transport_data_for_a_macvlan_neighbour_is_not_stolen") {
        return;
    }
    let pair = NetnsPair::create("mvl");
    // A container on A's link: a macvlan child of xa with addresses of its own, in namespace C.
    let c = ExtraNs::create("mvl");
    #[rustfmt::skip]
    run("ip", &["-n", &pair.a, "link", "add", "mv0", "link", A_IF, "type", "macvlan", "mode", "bridge"]);
    run(
        "ip",
        &["-n", &pair.a, "link", "set", "mv0", "netns", &c.name],
    );
    run(
        "ip",
        &["-n", &c.name, "addr", "add", "198.18.0.9/24", "dev", "mv0"],
    );
    #[rustfmt::skip]
    run("ip", &["-n", &c.name, "addr", "add", "fd00:5::9/64", "dev", "mv0", "nodad"]);
    run("ip", &["-n", &c.name, "link", "set", "mv0", "up"]);
    pair.exec(&pair.b, &["ping", "-c", "1", "-W", "2", "198.18.0.9"]);
    pair.exec(&pair.b, &["ping", "-c", "1", "-W", "2", "fd00:5::9"]);
    pair.exec(&pair.b, &["ping", "-c", "1", "-W", "2", A_V4]);
    c.enter();
    let container = UdpSocket::bind(("::", PORT)).expect("the container's socket");

    pair.enter_a();
    let mut steering = Steering::attach(&SteerConfig::new(PORT));
    let local = steering.program.local_addresses().expect("local addresses");
    assert!(
        local.contains(&ip(A_V4)) && local.contains(&ip(A_V6)),
        "{local:?}"
    );
    assert!(!local.contains(&ip("198.18.0.9")), "{local:?}");
    let before = steering.counters();

    send_from_b(&pair, None, SocketAddr::new(ip("198.18.0.9"), PORT), 20);
    send_from_b(&pair, None, SocketAddr::new(ip("fd00:5::9"), PORT), 20);
    send_from_b(&pair, None, SocketAddr::new(ip(A_V4), PORT), 10);

    let frames = steering.received(Duration::from_millis(500));
    let delta = steering.counters().since(&before);
    eprintln!("steering counters: {delta}");
    assert_eq!(
        frames.len(),
        10,
        "only the transport data to A's own address was redirected"
    );
    assert!(frames
        .iter()
        .all(|f| parse_udp_frame(f).expect("UDP").dst.ip() == ip(A_V4)));
    assert_eq!(delta.get(SteerReason::NotLocal), 40);
    assert_eq!(delta.redirected(), 10);
    let got = kernel_datagrams(&container);
    assert_eq!(
        got.len(),
        40,
        "the container's own socket got its 40 datagrams"
    );
    assert!(got.iter().all(|(_, d)| is_transport(d)));
}

#[test]
fn sources_outside_the_allow_list_take_the_kernel_path() {
    if !can_run("sources_outside_the_allow_list_take_the_kernel_path") {
        return;
    }
    let pair = NetnsPair::create("allow");
    run(
        "ip",
        &["-n", &pair.b, "addr", "add", "198.18.0.3/24", "dev", B_IF],
    );
    #[rustfmt::skip]
    run("ip", &["-n", &pair.b, "addr", "add", "fd00:5::3/64", "dev", B_IF, "nodad"]);
    pair.exec(&pair.b, &["ping", "-c", "1", "-W", "2", A_V4]);
    pair.exec(&pair.b, &["ping", "-c", "1", "-W", "2", A_V6]);

    pair.enter_a();
    let listener = UdpSocket::bind(("::", PORT)).expect("kernel listener");
    let allowed = [
        SourcePrefix::new(ip(B_V4), 32).unwrap(),
        SourcePrefix::new(ip("fd00:5::2"), 127).unwrap(), // ::2 and ::3 differ in the last bit: ::2/127 holds ::3
    ];
    let config = SteerConfig {
        allowed_sources: allowed.to_vec(),
        ..SteerConfig::new(PORT)
    };
    let mut steering = Steering::attach(&config);
    let p = &mut steering.program;
    assert!(p.source_in_allow_list(ip(B_V4)).unwrap());
    assert!(!p.source_in_allow_list(ip("198.18.0.3")).unwrap());
    assert!(p.source_in_allow_list(ip("fd00:5::3")).unwrap());
    assert!(!p.source_in_allow_list(ip("fd00:5::4")).unwrap());
    assert!(
        !p.source_in_allow_list(ip("::ffff:198.18.0.2")).unwrap(),
        "families apart"
    );
    let before = steering.counters();

    let a4 = SocketAddr::new(ip(A_V4), PORT);
    let a6 = SocketAddr::new(ip(A_V6), PORT);
    send_from_b(&pair, Some(B_V4), a4, 10);
    send_from_b(&pair, Some("198.18.0.3"), a4, 10);
    send_from_b(&pair, Some("fd00:5::3"), a6, 10);
    // Outside ::2/127 but on B's link: fd00:5::5 as a further address of B's.
    run(
        "ip",
        &[
            "-n",
            &pair.b,
            "addr",
            "add",
            "fd00:5::5/64",
            "dev",
            B_IF,
            "nodad",
        ],
    );
    send_from_b(&pair, Some("fd00:5::5"), a6, 10);

    let frames = steering.received(Duration::from_millis(500));
    let delta = steering.counters().since(&before);
    eprintln!("steering counters: {delta}");
    let mut steered = sources(&frames);
    steered.sort();
    steered.dedup();
    assert_eq!(
        steered,
        vec![ip(B_V4), ip("fd00:5::3")],
        "only allowed sources were redirected"
    );
    assert_eq!(frames.len(), 20);
    assert_eq!(delta.redirected(), 20);
    assert_eq!(delta.get(SteerReason::SourceNotAllowed), 20);
    let kernel = kernel_datagrams(&listener);
    assert_eq!(kernel.len(), 20, "the others reached the kernel socket");
    for (from, datagram) in &kernel {
        assert!(is_transport(datagram));
        let from = from.ip().to_canonical();
        assert!(
            from == ip("198.18.0.3") || from == ip("fd00:5::5"),
            "{from}"
        );
    }
}

/// Writes an untagged Ethernet/IPv4/UDP frame with a transport payload from B to A.
fn ipv4_frame(src_mac: [u8; 6], dst_mac: [u8; 6], counter: u64) -> Vec<u8> {
    let payload = transport_payload(counter, 48);
    let spec = Ipv4UdpSpec {
        link: LinkFields {
            src: MacAddr(src_mac),
            dst: MacAddr(dst_mac),
            vlan_tci: None,
        },
        src: SocketAddrV4::new(B_V4.parse().unwrap(), 40000),
        dst: SocketAddrV4::new(A_V4.parse().unwrap(), PORT),
        ttl: 64,
        tos: 0,
        identification: 0,
        dont_fragment: true,
        udp_checksum: UdpChecksumMode::Full,
    };
    let mut frame = vec![0u8; 2048];
    let start = spec.header_len();
    frame[start..start + payload.len()].copy_from_slice(&payload);
    let len = spec.emit(&mut frame, payload.len()).expect("emit");
    frame.truncate(len);
    frame
}

/// The same frame with `tags` (TPID, TCI pairs, outermost first) after the MAC addresses.
fn tagged(frame: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    for (tpid, tci) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&frame[12..]);
    out
}

/// Puts raw frames on B's end of the veth (an AF_PACKET socket, so the tags are in the frame itself).
fn inject_from_b(pair: &NetnsPair, frames: &[Vec<u8>]) {
    let script = "import socket, sys\n\
                  s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
                  s.bind((sys.argv[1], 0))\n\
                  for line in sys.stdin:\n    s.send(bytes.fromhex(line.strip()))\n";
    let mut child = Command::new("ip")
        .args(["netns", "exec", &pair.b, "python3", "-c", script, B_IF])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for frame in frames {
            let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(stdin, "{hex}").expect("write a frame");
        }
    }
    assert!(child.wait().expect("python3").success(), "injecting frames");
}

#[test]
fn vlan_and_stacked_tags_are_passed() {
    if !can_run("vlan_and_stacked_tags_are_passed") {
        return;
    }
    let pair = NetnsPair::create("tag");
    let (a_mac, b_mac) = (pair.mac(&pair.a, A_IF), pair.mac(&pair.b, B_IF));
    pair.enter_a();
    let mut steering = Steering::attach(&SteerConfig::new(PORT));
    let before = steering.counters();

    let plain = ipv4_frame(b_mac, a_mac, 1);
    let mut frames = Vec::new();
    for _ in 0..5 {
        frames.push(plain.clone()); // untagged: redirected
        frames.push(tagged(&plain, &[(0x8100, 0xa000)])); // a priority tag (VLAN id 0): redirected
        frames.push(tagged(&plain, &[(0x8100, 100)])); // VLAN 100: the VLAN device's, and replies need the tag
        frames.push(tagged(&plain, &[(0x88a8, 200)])); // 802.1ad outer tag alone
        frames.push(tagged(&plain, &[(0x88a8, 200), (0x8100, 100)])); // QinQ
        frames.push(tagged(&plain, &[(0x8100, 100), (0x8100, 101)])); // two 802.1Q tags
        frames.push(tagged(&plain, &[(0x9100, 300), (0x8100, 100)])); // pre-standard QinQ
    }
    inject_from_b(&pair, &frames);

    let got = steering.received(Duration::from_millis(500));
    let delta = steering.counters().since(&before);
    eprintln!("steering counters: {delta}");
    assert_eq!(delta.get(SteerReason::Tagging), 25);
    assert_eq!(delta.redirected(), 10);
    assert_eq!(got.len(), 10);
    let mut vlans: Vec<Option<u16>> = got
        .iter()
        .map(|f| {
            parse_udp_frame(f)
                .expect("every redirected frame parses")
                .vlan_id
        })
        .collect();
    vlans.sort();
    assert_eq!(vlans, [[None; 5], [Some(0); 5]].concat());
}

/// Applies the follower's changes until `done` holds of the map, for at most `limit`.
fn follow_until(
    follower: &mut AddressFollower,
    program: &mut XdpProgram,
    limit: Duration,
    what: &str,
    done: impl Fn(&[IpAddr]) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let changes = follower.changes().expect("address changes");
        program
            .apply_address_changes(&changes)
            .expect("apply address changes");
        let local = program.local_addresses().expect("local addresses");
        if done(&local) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{what} within {limit:?}: map {local:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_local_address_map_follows_the_link() {
    if !can_run("the_local_address_map_follows_the_link") {
        return;
    }
    let pair = NetnsPair::create("addr");
    let add = |address: &str, extra: &[&str]| {
        let mut args = vec!["-n", &pair.a, "addr", "add", address, "dev", A_IF];
        args.extend_from_slice(extra);
        run("ip", &args);
    };
    let del = |address: &str| run("ip", &["-n", &pair.a, "addr", "del", address, "dev", A_IF]);
    add("198.18.0.7/24", &[]);
    pair.enter_a();
    let mut steering = Steering::attach(&SteerConfig::new(PORT));
    let local = steering.program.local_addresses().unwrap();
    assert!(
        local.contains(&ip("198.18.0.7")),
        "filled at attach: {local:?}"
    );

    // Gone before anyone followed: the follower's first report is the whole set, which drops it.
    del("198.18.0.7/24");
    let mut follower = AddressFollower::open(steering.program.if_index()).expect("follower");
    let first = follower.changes().expect("changes");
    assert!(
        matches!(first.as_slice(), [AddressChange::Resync(_)]),
        "{first:?}"
    );
    let update = steering.program.apply_address_changes(&first).unwrap();
    assert_eq!(update.removed, vec![ip("198.18.0.7")]);

    add("198.18.0.8/24", &[]);
    let took = follow_until(
        &mut follower,
        &mut steering.program,
        Duration::from_secs(1),
        "198.18.0.8 added",
        |m| m.contains(&ip("198.18.0.8")),
    );
    eprintln!("an added address was in the map after {took:?}");
    let before = steering.counters();
    send_from_b(&pair, None, SocketAddr::new(ip("198.18.0.8"), PORT), 10);
    assert_eq!(steering.received(Duration::from_millis(300)).len(), 10);
    assert_eq!(steering.counters().since(&before).redirected(), 10);

    // With duplicate address detection: not local until it is done (about a second), then local.
    add("fd00:5::8/64", &[]);
    let changes = follower.changes().unwrap();
    steering.program.apply_address_changes(&changes).unwrap();
    follow_until(
        &mut follower,
        &mut steering.program,
        Duration::from_secs(5),
        "fd00:5::8 after its DAD",
        |m| m.contains(&ip("fd00:5::8")),
    );

    del("198.18.0.8/24");
    del("fd00:5::8/64");
    follow_until(
        &mut follower,
        &mut steering.program,
        Duration::from_secs(1),
        "both removed",
        |m| !m.contains(&ip("198.18.0.8")) && !m.contains(&ip("fd00:5::8")),
    );
    let local = steering.program.local_addresses().unwrap();
    assert!(
        local.contains(&ip(A_V4)) && local.contains(&ip(A_V6)),
        "{local:?}"
    );
    // B still has A's MAC for .8: its frames arrive, and are the kernel's now.
    let before = steering.counters();
    send_from_b(&pair, None, SocketAddr::new(ip("198.18.0.8"), PORT), 10);
    assert!(steering.received(Duration::from_millis(300)).is_empty());
    assert_eq!(
        steering
            .counters()
            .since(&before)
            .get(SteerReason::NotLocal),
        10
    );
}

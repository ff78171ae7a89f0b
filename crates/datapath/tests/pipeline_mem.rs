//! The worker pipeline end to end without root: two devices, each with a pipeline over an in-memory backend and
//! an in-memory TUN, on worker threads, exactly as the daemon runs them. Handshakes go through the host (which
//! plays the handshake and timer thread), data through the pipelines. Also the error paths: a TUN that goes
//! away, a ring that stays full, sends that fail, receives that find nothing, a stop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::eventfd::{EfdFlags, EventFd};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_datapath::mem::{MemQueue, MemTun, MemUnderlay};
use wgxdp_datapath::{
    Clock, Counter, Host, Pipeline, PipelineConfig, SpinPolicy, StopCause, WorkerStats,
};
use wgxdp_device::{Destination, Device, DeviceConfig, Outbox};
use wgxdp_io_socket::{TunOffload, VirtioNetHdr, VIRTIO_NET_HDR_LEN};
use wgxdp_noise::PrivateKey;
use wgxdp_uapi::{parse_request, Request};

/// The daemon around a pipeline, in miniature: the device, a clock, the stop flag, and the handshake and timer
/// work done inline, its datagrams put straight on the wire.
struct TestHost {
    device: Device,
    clock: Clock,
    stop: AtomicBool,
    local: SocketAddr,
    wire: Arc<MemQueue<(SocketAddr, Vec<u8>)>>,
    rng: Mutex<StdRng>,
}

impl TestHost {
    fn send(&self, outbox: &mut Outbox) {
        self.wire
            .push_all(outbox.drain().map(|(_, payload)| (self.local, payload)));
    }
}

impl Host for TestHost {
    fn device(&self) -> &Device {
        &self.device
    }
    fn now(&self) -> Duration {
        self.clock.now()
    }
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn wake_timers(&self) {
        let mut outbox = Outbox::new();
        let mut rng = self.rng.lock().unwrap();
        self.device
            .tick(self.now(), SystemTime::now(), &mut *rng, &mut outbox);
        drop(rng);
        self.send(&mut outbox);
    }
    fn handshake(&self, from: Destination, message: &[u8]) -> bool {
        let mut outbox = Outbox::new();
        let mut rng = self.rng.lock().unwrap();
        self.device.receive_handshake(
            from,
            message,
            self.now(),
            SystemTime::now(),
            false,
            &mut *rng,
            &mut outbox,
        );
        drop(rng);
        self.send(&mut outbox);
        // A completed handshake may have packets to flush.
        self.wake_timers();
        true
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn configure(device: &Device, seed: u8, peer_seed: u8, allowed: &str, endpoint: SocketAddr) {
    let peer = PrivateKey::from_bytes([peer_seed; 32]).public_key();
    let text = format!(
        "set=1\nprivate_key={}\npublic_key={}\nallowed_ip={allowed}\nendpoint={endpoint}\n\n",
        hex(&[seed; 32]),
        hex(peer.as_bytes())
    );
    let Ok(Request::Set(req)) = parse_request(text.as_bytes()) else {
        panic!("bad request");
    };
    let mut rng = StdRng::seed_from_u64(u64::from(seed));
    device
        .apply_set(&req, Duration::ZERO, &mut rng)
        .expect("configured");
}

fn offload() -> TunOffload {
    TunOffload {
        vnet: true,
        udp: true,
        coalesce: true,
    }
}

/// One side: host, stats, wake descriptor, backend and TUN, not running yet.
struct Side {
    host: Arc<TestHost>,
    stats: Arc<WorkerStats>,
    wake: Arc<EventFd>,
    underlay: Option<MemUnderlay>,
    tun: Option<MemTun>,
}

fn sides() -> (Side, Side) {
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "192.0.2.1:51820".parse().unwrap(),
        "192.0.2.2:51820".parse().unwrap(),
    );
    let (ua, ub) = MemUnderlay::pair(a_addr, b_addr);
    let side = |seed: u8, peer: u8, allowed: &str, local, endpoint, underlay: MemUnderlay, wire| {
        let device = Device::new(DeviceConfig::default());
        configure(&device, seed, peer, allowed, endpoint);
        Side {
            host: Arc::new(TestHost {
                device,
                clock: Clock::start(),
                stop: AtomicBool::new(false),
                local,
                wire,
                rng: Mutex::new(StdRng::seed_from_u64(u64::from(seed) + 100)),
            }),
            stats: Arc::new(WorkerStats::default()),
            wake: Arc::new(EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap()),
            underlay: Some(underlay),
            tun: Some(MemTun::new(offload())),
        }
    };
    let (qa, qb) = (Arc::clone(ua.inbox()), Arc::clone(ub.inbox()));
    (
        side(1, 2, "100.64.0.2/32", a_addr, b_addr, ua, qb),
        side(2, 1, "100.64.0.1/32", b_addr, a_addr, ub, qa),
    )
}

/// Handles to a running side.
struct Running {
    host: Arc<TestHost>,
    stats: Arc<WorkerStats>,
    wake: Arc<EventFd>,
    tun_in: Arc<MemQueue<Vec<u8>>>,
    tun: MemTunView,
    faults: Arc<wgxdp_datapath::mem::Faults>,
    thread: std::thread::JoinHandle<StopCause>,
}

struct MemTunView {
    written: Arc<Mutex<Vec<Vec<u8>>>>,
    gone: Arc<AtomicBool>,
    inbox: Arc<MemQueue<Vec<u8>>>,
}

impl MemTunView {
    fn writes(&self) -> Vec<(VirtioNetHdr, Vec<u8>)> {
        self.written
            .lock()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    VirtioNetHdr::decode(w).unwrap(),
                    w[VIRTIO_NET_HDR_LEN..].to_vec(),
                )
            })
            .collect()
    }
    fn delete(&self) {
        self.gone.store(true, Ordering::Relaxed);
        self.inbox.push(Vec::new());
    }
}

fn start(mut side: Side, spin: SpinPolicy) -> Running {
    let underlay = side.underlay.take().unwrap();
    let tun = side.tun.take().unwrap();
    let view = MemTunView {
        written: Arc::clone(&tun.written),
        gone: Arc::clone(&tun.gone),
        inbox: Arc::clone(&tun.inbox),
    };
    let faults = Arc::clone(&underlay.faults);
    let tun_in = Arc::clone(&tun.inbox);
    let (host, stats, wake) = (
        Arc::clone(&side.host),
        Arc::clone(&side.stats),
        Arc::clone(&side.wake),
    );
    let thread = std::thread::spawn(move || {
        let config = PipelineConfig {
            spin,
            ..PipelineConfig::default()
        };
        let mut pipeline =
            Pipeline::new(&*host, &stats, &wake, underlay, tun, config).expect("pipeline");
        pipeline.run()
    });
    Running {
        host: side.host,
        stats: side.stats,
        wake: side.wake,
        tun_in,
        tun: view,
        faults,
        thread,
    }
}

impl Running {
    fn stop(self) -> StopCause {
        self.host.stop.store(true, Ordering::Relaxed);
        self.wake.write(1).unwrap();
        self.thread.join().expect("worker did not panic")
    }
}

/// A plain packet as a TUN with offloads delivers it: a zeroed virtio-net header in front.
fn from_tun(packet: &[u8]) -> Vec<u8> {
    let mut raw = vec![0u8; VIRTIO_NET_HDR_LEN];
    raw.extend_from_slice(packet);
    raw
}

fn ipv4_udp(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = 28 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let sum = wgxdp_wire::checksum::ipv4_header_checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p[20..22].copy_from_slice(&4000u16.to_be_bytes());
    p[22..24].copy_from_slice(&5000u16.to_be_bytes());
    p[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p[28..].copy_from_slice(payload);
    p
}

/// A TSO super-packet as the TUN hands it over: `segments` segments of `mss` bytes of one TCP flow.
fn tso_super_packet(seq: u32, mss: usize, segments: usize) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..mss * segments).map(|i| (i % 251) as u8).collect();
    let total = 20 + 20 + data.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&[100, 64, 0, 1]);
    p[16..20].copy_from_slice(&[100, 64, 0, 2]);
    let sum = wgxdp_wire::checksum::ipv4_header_checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p[20..22].copy_from_slice(&40000u16.to_be_bytes());
    p[22..24].copy_from_slice(&5201u16.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[32] = 5 << 4;
    p[33] = 0x10;
    p[34..36].copy_from_slice(&1000u16.to_be_bytes());
    p[40..].copy_from_slice(&data);
    // The partial checksum the kernel leaves for NEEDS_CSUM: the pseudo-header sum.
    let mut pseudo = wgxdp_wire::checksum::Checksum::new();
    pseudo.add_bytes(&p[12..20]);
    pseudo.add_u16(6);
    pseudo.add_u16((total - 20) as u16);
    p[36..38].copy_from_slice(&pseudo.folded().to_be_bytes());
    let hdr = VirtioNetHdr {
        flags: 1,
        gso_type: 1,
        hdr_len: 40,
        gso_size: mss as u16,
        csum_start: 20,
        csum_offset: 16,
    };
    let mut raw = vec![0u8; VIRTIO_NET_HDR_LEN];
    hdr.encode(&mut raw);
    raw.extend_from_slice(&p);
    (raw, data)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Brings the session up with one packet from A to B and waits for it to arrive.
fn established() -> (Running, Running) {
    let (a, b) = sides();
    let (a, b) = (
        start(a, SpinPolicy::default()),
        start(b, SpinPolicy::default()),
    );
    let first = ipv4_udp([100, 64, 0, 1], [100, 64, 0, 2], b"hello");
    a.tun_in.push(from_tun(&first));
    wait_until("the first packet", Duration::from_secs(5), || {
        b.tun.writes().iter().any(|(_, p)| *p == first)
    });
    (a, b)
}

#[test]
fn a_tso_super_packet_crosses_in_order_and_arrives_coalesced() {
    let (a, b) = established();
    let before = b.tun.writes().len();
    let (raw, data) = tso_super_packet(1, 1000, 20);
    a.tun_in.push(raw);
    wait_until("the stream", Duration::from_secs(5), || {
        let got: usize = b.tun.writes()[before..]
            .iter()
            .map(|(_, p)| p.len() - 40)
            .sum();
        got == data.len()
    });
    let writes = b.tun.writes()[before..].to_vec();
    // Reassemble by sequence number and compare with what was sent.
    let mut stream = Vec::new();
    for (hdr, packet) in &writes {
        let seq = u32::from_be_bytes(packet[24..28].try_into().unwrap());
        assert_eq!(seq as usize, 1 + stream.len(), "in order");
        stream.extend_from_slice(&packet[40..]);
        if packet.len() - 40 > 1000 {
            assert_eq!(hdr.gso_type, 1, "a super-packet is written as TSO");
            assert_eq!(hdr.gso_size, 1000);
        }
    }
    assert_eq!(stream, data);
    assert!(
        writes.len() < 20,
        "20 segments sealed in one batch are coalesced on the far side ({} writes)",
        writes.len()
    );
    let sa = a.stats.snapshot();
    assert_eq!(sa.get(Counter::TunRxPackets), 21);
    let sb = b.stats.snapshot();
    assert_eq!(sb.get(Counter::TunTxPackets), 21);
    assert_eq!(a.stop(), StopCause::Stopping);
    assert_eq!(b.stop(), StopCause::Stopping);
}

#[test]
fn replies_cross_back_and_both_directions_run_at_once() {
    let (a, b) = established();
    for i in 0..200u16 {
        a.tun_in.push(from_tun(&ipv4_udp(
            [100, 64, 0, 1],
            [100, 64, 0, 2],
            &i.to_be_bytes(),
        )));
        b.tun_in.push(from_tun(&ipv4_udp(
            [100, 64, 0, 2],
            [100, 64, 0, 1],
            &i.to_be_bytes(),
        )));
    }
    let count = |r: &Running| r.stats.snapshot().get(Counter::TunTxPackets);
    wait_until("both directions", Duration::from_secs(5), || {
        count(&a) == 200 && count(&b) == 201
    });
    a.stop();
    b.stop();
}

#[test]
fn a_deleted_tun_stops_the_worker_with_the_reason() {
    let (a, b) = established();
    b.tun.delete();
    let cause = b.thread.join().unwrap();
    assert!(matches!(cause, StopCause::TunGone(_)), "{cause:?}");
    assert!(cause.to_string().contains("TUN"), "{cause}");
    a.stop();
}

#[test]
fn a_ring_that_stays_full_drops_counted_packets_and_the_worker_goes_on() {
    let (a, b) = established();
    a.faults.ring_full.store(true, Ordering::Relaxed);
    for _ in 0..10 {
        a.tun_in.push(from_tun(&ipv4_udp(
            [100, 64, 0, 1],
            [100, 64, 0, 2],
            b"lost",
        )));
    }
    wait_until("the drops", Duration::from_secs(5), || {
        a.stats.snapshot().get(Counter::TxNoRoom) == 10
    });
    a.faults.ring_full.store(false, Ordering::Relaxed);
    let after = ipv4_udp([100, 64, 0, 1], [100, 64, 0, 2], b"after");
    a.tun_in.push(from_tun(&after));
    wait_until("the packet after", Duration::from_secs(5), || {
        b.tun.writes().iter().any(|(_, p)| *p == after)
    });
    assert!(!b.tun.writes().iter().any(|(_, p)| p.ends_with(b"lost")));
    a.stop();
    b.stop();
}

#[test]
fn failed_sends_and_empty_receives_do_not_stop_the_worker() {
    let (a, b) = established();
    a.faults.send_fails.store(true, Ordering::Relaxed);
    a.tun_in.push(from_tun(&ipv4_udp(
        [100, 64, 0, 1],
        [100, 64, 0, 2],
        b"gone",
    )));
    wait_until("the lost send", Duration::from_secs(5), || {
        a.stats.snapshot().get(Counter::TunRxPackets) == 2
    });
    a.faults.send_fails.store(false, Ordering::Relaxed);
    // B finds nothing although messages wait (a spurious readiness), then recovers.
    b.faults.receive_would_block.store(true, Ordering::Relaxed);
    let later = ipv4_udp([100, 64, 0, 1], [100, 64, 0, 2], b"later");
    a.tun_in.push(from_tun(&later));
    std::thread::sleep(Duration::from_millis(50));
    assert!(!b.tun.writes().iter().any(|(_, p)| *p == later));
    b.faults.receive_would_block.store(false, Ordering::Relaxed);
    b.wake.write(1).unwrap();
    wait_until("the later packet", Duration::from_secs(5), || {
        b.tun.writes().iter().any(|(_, p)| *p == later)
    });
    a.stop();
    b.stop();
}

#[test]
fn an_idle_worker_sleeps_and_a_stop_ends_it_at_once() {
    let (a, b) = sides();
    let a = start(a, SpinPolicy::default());
    drop(b);
    std::thread::sleep(Duration::from_millis(100));
    let snap = a.stats.snapshot();
    assert!(snap.get(Counter::Sleeps) >= 1, "asleep in epoll");
    assert!(
        snap.get(Counter::Sleeps) < 5,
        "not waking up over and over: {}",
        snap.get(Counter::Sleeps)
    );
    let asked = Instant::now();
    assert_eq!(a.stop(), StopCause::Stopping);
    assert!(asked.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_spinning_backend_catches_packets_without_sleeping() {
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "192.0.2.1:51820".parse().unwrap(),
        "192.0.2.2:51820".parse().unwrap(),
    );
    let (a, mut b) = sides();
    let (ua, ub) = MemUnderlay::pair(a_addr, b_addr);
    let (ua, ub) = (ua.spinning(), ub.spinning());
    let wire_to_b = Arc::clone(ub.inbox());
    let wire_to_a = Arc::clone(ua.inbox());
    let mut a = a;
    a.underlay = Some(ua);
    b.underlay = Some(ub);
    // The hosts' handshake datagrams must take the new wire.
    let rewire = |side: &mut Side, wire| {
        let host = Arc::get_mut(&mut side.host).expect("not shared yet");
        host.wire = wire;
    };
    rewire(&mut a, wire_to_b);
    rewire(&mut b, wire_to_a);
    let long = SpinPolicy {
        spin: Duration::from_millis(200),
        check_kernel_every: Duration::from_micros(10),
    };
    let (a, b) = (start(a, long), start(b, long));
    let first = ipv4_udp([100, 64, 0, 1], [100, 64, 0, 2], b"spin");
    a.tun_in.push(from_tun(&first));
    wait_until("the packet", Duration::from_secs(5), || {
        b.tun.writes().iter().any(|(_, p)| *p == first)
    });
    assert!(b.stats.snapshot().get(Counter::BusyRounds) > 0);
    a.stop();
    b.stop();
}

//! TUN device I/O, each test in its own network namespace.

mod common;

use common::{checksums_valid, parse, tun_name, udp_packet};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use wgxdp_io_socket::netns::{enter_scratch_netns, ip_output};
use wgxdp_io_socket::{
    TunConfig, TunDevice, TunOffload, TunQueue, TunRecvBatch, TunWriteBatch, DEFAULT_MTU,
};

fn open_tun(offload: bool, coalesce: bool, queues: usize) -> TunDevice {
    let mut config = TunConfig::new(tun_name());
    config.ipv4 = Some(("100.64.0.1".parse().unwrap(), 24));
    config.ipv6 = vec![("fd00::1".parse().unwrap(), 64)];
    config.offload = offload;
    config.coalesce_writes = coalesce;
    config.queues = queues;
    TunDevice::open(&config).unwrap()
}

/// Reads from any queue until a packet satisfying `wanted` shows up (the kernel also sends
/// its own traffic, e.g. IPv6 router solicitations, into a fresh interface).
fn read_until(queues: &[TunQueue], wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut batch = TunRecvBatch::new(DEFAULT_MTU);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "packet never reached the TUN");
        for q in queues {
            match q.recv(&mut batch) {
                Ok(_) => {
                    if let Some(p) = batch.iter().find(|p| wanted(p)) {
                        return p.to_vec();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("tun recv: {e}"),
            }
        }
        queues[0]
            .wait_readable(Some(Duration::from_millis(50)))
            .unwrap();
    }
}

/// Binds a UDP socket to `local`, waiting out the moment after link-up during which a new
/// IPv6 address is still tentative (EADDRNOTAVAIL) while addrconf's work item runs.
fn bind_when_ready(local: IpAddr) -> UdpSocket {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match UdpSocket::bind(SocketAddr::new(local, 0)) {
            Ok(s) => return s,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrNotAvailable
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("bind {local}: {e}"),
        }
    }
}

fn udp_to_tun(offload: bool) {
    let tun = open_tun(offload, true, 2);
    assert_eq!(tun.queues().len(), 2);
    assert_eq!(tun.queues()[0].offload_enabled(), offload);
    let link = ip_output(&["link", "show", tun.name()]).unwrap();
    assert!(link.contains("mtu 1420") && link.contains(",UP"), "{link}");

    for (local, remote) in [("100.64.0.1", "100.64.0.2"), ("fd00::1", "fd00::2")] {
        let local: IpAddr = local.parse().unwrap();
        let remote: IpAddr = remote.parse().unwrap();
        let sock = bind_when_ready(local);
        let sport = sock.local_addr().unwrap().port();
        let payload = b"through the tunnel";
        sock.send_to(payload, SocketAddr::new(remote, 4000))
            .unwrap();

        let packet = read_until(tun.queues(), |p| {
            let v = parse(p);
            v.proto == 17 && v.dst == remote && v.transport[2..4] == 4000u16.to_be_bytes()
        });
        // Exactly the packet the kernel would put on a wire: rebuild it independently.
        let p = parse(&packet);
        assert_eq!(p.src, local);
        assert!(checksums_valid(&packet), "checksums of {packet:02x?}");
        assert_eq!(&p.transport[8..], payload);
        let expected = udp_packet(local, sport, remote, 4000, payload);
        assert_eq!(&packet[p.ip_header.len()..], &expected[p.ip_header.len()..]);
    }
}

#[test]
fn udp_datagram_routed_into_tun_is_read_exactly() {
    if !enter_scratch_netns("udp_datagram_routed_into_tun_is_read_exactly").unwrap() {
        return;
    }
    udp_to_tun(true);
}

#[test]
fn udp_datagram_routed_into_tun_without_offload() {
    if !enter_scratch_netns("udp_datagram_routed_into_tun_without_offload").unwrap() {
        return;
    }
    udp_to_tun(false);
}

fn kernel_receives_written_packets(offload: bool, coalesce: bool) {
    let tun = open_tun(offload, coalesce, 1);
    let queue = &tun.queues()[0];
    let mut batch = TunWriteBatch::new(16, 1420, queue.offload());
    for (local, remote) in [("100.64.0.1", "100.64.0.2"), ("fd00::1", "fd00::2")] {
        let local: IpAddr = local.parse().unwrap();
        let remote: IpAddr = remote.parse().unwrap();
        let sock = bind_when_ready(local);
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let port = sock.local_addr().unwrap().port();
        // Several datagrams of one flow in one batch: candidates for UDP coalescing on write.
        for i in 0..4u8 {
            let payload = vec![i; 200];
            batch
                .push(&udp_packet(remote, 5555, local, port, &payload))
                .unwrap();
        }
        assert_eq!(queue.write_batch(&mut batch).unwrap(), 4);
        assert!(batch.is_empty());
        let mut buf = [0u8; 2048];
        for i in 0..4u8 {
            let (n, from) = sock
                .recv_from(&mut buf)
                .expect("kernel delivered the packet");
            assert_eq!(from, SocketAddr::new(remote, 5555));
            assert_eq!(&buf[..n], &vec![i; 200][..]);
        }
    }
}

#[test]
fn packets_written_to_tun_reach_a_local_socket() {
    if !enter_scratch_netns("packets_written_to_tun_reach_a_local_socket").unwrap() {
        return;
    }
    kernel_receives_written_packets(true, true);
    kernel_receives_written_packets(true, false);
    kernel_receives_written_packets(false, false);
}

#[test]
fn tcp_syn_read_from_tun_has_completed_checksum() {
    // A local TCP connect into the TUN produces a SYN with a partial checksum under
    // offloads: it must come out with the checksum completed.
    if !enter_scratch_netns("tcp_syn_read_from_tun_has_completed_checksum").unwrap() {
        return;
    }
    let tun = open_tun(true, true, 1);
    let target: SocketAddr = "100.64.0.2:80".parse().unwrap();
    let connector = std::thread::spawn(move || {
        let _ = std::net::TcpStream::connect_timeout(&target, Duration::from_millis(500));
    });
    let syn = read_until(tun.queues(), |p| {
        let v = parse(p);
        v.proto == 6 && v.transport[2..4] == 80u16.to_be_bytes()
    });
    assert!(checksums_valid(&syn), "SYN checksum completed: {syn:02x?}");
    connector.join().unwrap();
}

#[test]
fn oversized_push_is_rejected() {
    let mut batch = TunWriteBatch::new(1, 100, TunOffload::default());
    assert!(batch.push(&[0x45; 101]).is_err());
    assert!(batch.push(&[]).is_err());
    batch.push(&[0x45; 100]).unwrap();
    assert!(batch.push(&[0x45; 10]).is_err(), "full");
}

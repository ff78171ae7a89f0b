//! Batched UDP over loopback, each test in its own network namespace.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use wgxdp_io_socket::netns::{enter_scratch_netns, ip};
use wgxdp_io_socket::{
    bind_dual_stack, BatchUdpSocket, RecvBatch, SendBatch, TunConfig, TunDevice, TunRecvBatch,
    UdpSocketOptions, MAX_DATAGRAM,
};

mod common;
use common::tun_name;

/// A received message, owned, for assertions.
#[derive(Debug)]
struct Got {
    data: Vec<u8>,
    source: SocketAddr,
    segment_size: usize,
}

/// Receives until `want` datagrams (after splitting super-datagrams) have arrived.
fn recv_datagrams(sock: &BatchUdpSocket, batch: &mut RecvBatch, want: usize) -> Vec<Got> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut count = 0;
    while count < want {
        assert!(
            Instant::now() < deadline,
            "timed out after {count}/{want} datagrams"
        );
        match sock.recv_batch(batch) {
            Ok(_) => {
                assert_eq!(batch.dropped(), 0, "receiver dropped messages");
                for d in batch.iter() {
                    count += d.segments().count();
                    got.push(Got {
                        data: d.data.to_vec(),
                        source: d.source,
                        segment_size: d.segment_size,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                sock.wait_readable(Some(Duration::from_millis(200)))
                    .unwrap();
            }
            Err(e) => panic!("recv_batch: {e}"),
        }
    }
    got
}

/// Datagram `i` of a test stream: its index, then a pattern derived from it.
fn datagram(i: usize, len: usize) -> Vec<u8> {
    let mut d = vec![(i % 251) as u8; len];
    d[..4].copy_from_slice(&(i as u32).to_be_bytes());
    d
}

fn mixed_len(i: usize) -> usize {
    4 + (i * 7919) % 1400
}

fn stream_between(local: &str) {
    let opts = UdpSocketOptions::default();
    let a = BatchUdpSocket::bind(format!("{local}:0").parse().unwrap(), &opts).unwrap();
    let b = BatchUdpSocket::bind(format!("{local}:0").parse().unwrap(), &opts).unwrap();
    assert_ne!(b.local_addr().port(), 0, "port 0 resolved to a real port");
    let sizes = a.buffer_sizes();
    assert!(sizes.recv >= opts.recv_buffer, "granted {sizes:?}");
    assert!(sizes.forced, "root can force buffers: {sizes:?}");

    let total = 2000;
    let mut send = SendBatch::new(64, 1500);
    let mut recv = RecvBatch::new(64);
    let mut next_expected = 0;
    let mut sent_total = 0;
    for chunk_start in (0..total).step_by(64) {
        send.clear();
        for i in chunk_start..(chunk_start + 64).min(total) {
            send.push(&datagram(i, mixed_len(i)), b.local_addr())
                .unwrap();
        }
        sent_total += a.send_batch(&send).unwrap();
        let want = send.len();
        for got in recv_datagrams(&b, &mut recv, want) {
            assert_eq!(got.source, a.local_addr());
            for seg in got.data.chunks(got.segment_size) {
                let i = u32::from_be_bytes(seg[..4].try_into().unwrap()) as usize;
                assert_eq!(i, next_expected, "in order");
                assert_eq!(seg, &datagram(i, mixed_len(i))[..], "datagram {i} intact");
                next_expected += 1;
            }
        }
    }
    assert_eq!(sent_total, total);
    assert_eq!(next_expected, total);
}

#[test]
fn two_thousand_mixed_datagrams_ipv4() {
    if !enter_scratch_netns("two_thousand_mixed_datagrams_ipv4").unwrap() {
        return;
    }
    stream_between("127.0.0.1");
}

#[test]
fn two_thousand_mixed_datagrams_ipv6() {
    if !enter_scratch_netns("two_thousand_mixed_datagrams_ipv6").unwrap() {
        return;
    }
    stream_between("[::1]");
}

/// Sends `runs` GSO runs of `count` equal datagrams plus a short tail and checks what arrives.
fn gso_run(local: &str, receiver_gro: bool) {
    let sender = BatchUdpSocket::bind(
        format!("{local}:0").parse().unwrap(),
        &UdpSocketOptions::default(),
    )
    .unwrap();
    let opts = UdpSocketOptions {
        gro: receiver_gro,
        ..UdpSocketOptions::default()
    };
    let receiver = BatchUdpSocket::bind(format!("{local}:0").parse().unwrap(), &opts).unwrap();
    assert!(sender.gso_enabled(), "kernel has UDP GSO");
    assert_eq!(receiver.gro_enabled(), receiver_gro);

    let seg = 1200;
    let mut send = SendBatch::new(64, 1500);
    for i in 0..40 {
        send.push(&datagram(i, seg), receiver.local_addr()).unwrap();
    }
    send.push(&datagram(40, 500), receiver.local_addr())
        .unwrap();
    assert_eq!(sender.send_batch(&send).unwrap(), 41);
    assert!(sender.gso_enabled(), "GSO was not refused on loopback");

    let mut recv = RecvBatch::new(64);
    let got = recv_datagrams(&receiver, &mut recv, 41);
    let mut i = 0;
    for g in &got {
        assert_eq!(g.source, sender.local_addr());
        for s in g.data.chunks(g.segment_size) {
            let len = if i == 40 { 500 } else { seg };
            assert_eq!(s, &datagram(i, len)[..], "datagram {i}");
            i += 1;
        }
    }
    assert_eq!(i, 41);
    if receiver_gro {
        // Loopback hands the GSO skb to a GRO socket whole: one super-datagram.
        assert_eq!(got.len(), 1, "one super-datagram");
        assert_eq!(got[0].segment_size, seg);
        assert_eq!(got[0].data.len(), 40 * seg + 500);
    } else {
        // Without UDP_GRO the kernel segments it back into plain datagrams.
        assert_eq!(got.len(), 41);
        assert!(got.iter().all(|g| g.segment_size == g.data.len()));
    }
}

#[test]
fn gso_run_arrives_as_gro_super_datagram() {
    if !enter_scratch_netns("gso_run_arrives_as_gro_super_datagram").unwrap() {
        return;
    }
    gso_run("127.0.0.1", true);
    gso_run("[::1]", true);
}

#[test]
fn gso_run_is_segmented_for_a_non_gro_receiver() {
    if !enter_scratch_netns("gso_run_is_segmented_for_a_non_gro_receiver").unwrap() {
        return;
    }
    gso_run("127.0.0.1", false);
    gso_run("[::1]", false);
}

#[test]
fn gro_segment_sizes_survive_plain_datagrams_between_calls() {
    // Guards the workaround for nix-rust/nix#2813: a recvmmsg slot that received a datagram
    // without a GRO cmsg must still deliver segment sizes on later calls.
    if !enter_scratch_netns("gro_segment_sizes_survive_plain_datagrams_between_calls").unwrap() {
        return;
    }
    let opts = UdpSocketOptions::default();
    let a = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let b = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let mut send = SendBatch::new(8, 1500);
    let mut recv = RecvBatch::new(8);
    for round in 0..4 {
        send.clear();
        send.push(&datagram(0, 100), b.local_addr()).unwrap();
        a.send_batch(&send).unwrap();
        let got = recv_datagrams(&b, &mut recv, 1);
        assert_eq!(got[0].segment_size, 100, "round {round}: plain datagram");

        send.clear();
        for i in 0..4 {
            send.push(&datagram(i, 300), b.local_addr()).unwrap();
        }
        a.send_batch(&send).unwrap();
        let got = recv_datagrams(&b, &mut recv, 4);
        assert_eq!(got.len(), 1, "round {round}: coalesced");
        assert_eq!(
            got[0].segment_size, 300,
            "round {round}: GRO size still delivered"
        );
    }
}

/// Sends five 1600-byte datagrams (one GSO run) from a to b and checks they all arrive.
fn send_run_of_five(a: &BatchUdpSocket, b: &BatchUdpSocket) {
    let mut send = SendBatch::new(8, 2000);
    for i in 0..5 {
        send.push(&datagram(i, 1600), b.local_addr()).unwrap();
    }
    assert_eq!(a.send_batch(&send).unwrap(), 5);
    let mut recv = RecvBatch::new(8);
    let got = recv_datagrams(b, &mut recv, 5);
    let all: Vec<&[u8]> = got
        .iter()
        .flat_map(|g| g.data.chunks(g.segment_size))
        .collect();
    assert_eq!(all.len(), 5);
    for (i, d) in all.iter().enumerate() {
        assert_eq!(*d, &datagram(i, 1600)[..]);
    }
}

#[test]
fn gso_segment_above_mtu_is_resent_plainly() {
    if !enter_scratch_netns("gso_segment_above_mtu_is_resent_plainly").unwrap() {
        return;
    }
    // With a 1500-byte loopback MTU the kernel rejects 1600-byte GSO segments (EMSGSIZE, or
    // EINVAL on older kernels); sent plainly they are fragmented and reassembled.
    ip(&["link", "set", "lo", "mtu", "1500"]).unwrap();
    let opts = UdpSocketOptions::default();
    let a = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let b = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    assert!(a.gso_enabled());
    send_run_of_five(&a, &b);
}

#[test]
fn gso_via_device_without_checksum_offload_still_delivers() {
    if !enter_scratch_netns("gso_via_device_without_checksum_offload_still_delivers").unwrap() {
        return;
    }
    // A TUN without offloads has no TX checksum offload. Kernels before 6.11 answer a GSO
    // send routed through it with EIO (we then disable GSO and resend plainly); newer ones
    // checksum in software. Either way every datagram must come out intact, in order.
    let mut config = TunConfig::new(tun_name());
    config.offload = false;
    config.ipv4 = Some(("198.18.0.1".parse().unwrap(), 24));
    let tun = TunDevice::open(&config).unwrap();
    let queue = &tun.queues()[0];
    let opts = UdpSocketOptions::default();
    let a = BatchUdpSocket::bind("198.18.0.1:0".parse().unwrap(), &opts).unwrap();
    assert!(a.gso_enabled());
    let dest: SocketAddr = "198.18.0.2:7777".parse().unwrap();
    let mut send = SendBatch::new(8, 2000);
    for i in 0..5 {
        send.push(&datagram(i, 1000), dest).unwrap();
    }
    assert_eq!(a.send_batch(&send).unwrap(), 5);
    println!(
        "GSO still enabled after sending via a csum-less device: {}",
        a.gso_enabled()
    );

    let mut packets = TunRecvBatch::new(1420);
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen < 5 {
        assert!(
            Instant::now() < deadline,
            "only {seen} datagrams left through the TUN"
        );
        match queue.recv(&mut packets) {
            Ok(_) => {
                for p in packets.iter() {
                    // IPv4 (no options) + UDP to port 7777: payload is datagram `seen`.
                    if p[0] == 0x45 && p[9] == 17 && p[22..24] == 7777u16.to_be_bytes() {
                        assert_eq!(&p[28..], &datagram(seen, 1000)[..]);
                        seen += 1;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                queue
                    .wait_readable(Some(Duration::from_millis(200)))
                    .unwrap();
            }
            Err(e) => panic!("tun recv: {e}"),
        }
    }
}

#[test]
fn dual_stack_shares_one_port() {
    if !enter_scratch_netns("dual_stack_shares_one_port").unwrap() {
        return;
    }
    let opts = UdpSocketOptions {
        fwmark: Some(0x51820),
        ..UdpSocketOptions::default()
    };
    let pair = bind_dual_stack(0, &opts).unwrap();
    assert_ne!(pair.port(), 0);
    assert_eq!(pair.v6.local_addr().port(), pair.port());
    assert!(pair.v4.local_addr().is_ipv4() && pair.v6.local_addr().is_ipv6());

    let client = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let client6 = BatchUdpSocket::bind("[::1]:0".parse().unwrap(), &opts).unwrap();
    let mut send = SendBatch::new(1, 64);
    let mut recv = RecvBatch::with_slot_len(4, MAX_DATAGRAM);
    for (from, to, server) in [
        (
            &client,
            SocketAddr::from(([127, 0, 0, 1], pair.port())),
            &pair.v4,
        ),
        (
            &client6,
            format!("[::1]:{}", pair.port()).parse().unwrap(),
            &pair.v6,
        ),
    ] {
        send.clear();
        send.push(b"hello", to).unwrap();
        assert!(std::ptr::eq(pair.for_destination(&to), server));
        from.send_batch(&send).unwrap();
        let got = recv_datagrams(server, &mut recv, 1);
        assert_eq!(got[0].data, b"hello");
        assert_eq!(got[0].source, from.local_addr());
    }
    // Nothing queued: a non-blocking receive says so, and a short wait times out.
    assert_eq!(
        pair.v4.recv_batch(&mut recv).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    assert!(!pair
        .v4
        .wait_readable(Some(Duration::from_millis(20)))
        .unwrap());
}

#[test]
fn unroutable_destination_is_dropped_not_fatal() {
    if !enter_scratch_netns("unroutable_destination_is_dropped_not_fatal").unwrap() {
        return;
    }
    let opts = UdpSocketOptions::default();
    let a = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let b = BatchUdpSocket::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let mut send = SendBatch::new(4, 64);
    // No route to 198.18.0.0/15 in the scratch namespace: ENETUNREACH for that one.
    send.push(b"lost", "198.18.0.9:9".parse().unwrap()).unwrap();
    send.push(b"kept", b.local_addr()).unwrap();
    assert_eq!(a.send_batch(&send).unwrap(), 1);
    let mut recv = RecvBatch::new(4);
    assert_eq!(recv_datagrams(&b, &mut recv, 1)[0].data, b"kept");

    send.clear();
    send.push(b"lost", "198.18.0.9:9".parse().unwrap()).unwrap();
    assert!(
        a.send_batch(&send).is_err(),
        "all failed: the error is reported"
    );
}

#[test]
fn replies_leave_from_the_address_the_peer_sent_to() {
    if !enter_scratch_netns("replies_leave_from_the_address_the_peer_sent_to").unwrap() {
        return;
    }
    // Two local addresses per family: the gateway listens on the wildcard and must answer from the one it was
    // asked on (over IPv6 the kernel would otherwise pick the newest address).
    ip(&["addr", "add", "198.18.7.1/24", "dev", "lo"]).unwrap();
    ip(&["addr", "add", "198.18.7.2/24", "dev", "lo"]).unwrap();
    ip(&["-6", "addr", "add", "fd00:7::1/64", "dev", "lo", "nodad"]).unwrap();
    ip(&["-6", "addr", "add", "fd00:7::2/64", "dev", "lo", "nodad"]).unwrap();
    for (wildcard, peer_addr, targets) in [
        (
            "0.0.0.0:0",
            "198.18.7.1:0",
            ["198.18.7.1:P", "198.18.7.2:P"],
        ),
        (
            "[::]:0",
            "[fd00:7::1]:0",
            ["[fd00:7::1]:P", "[fd00:7::2]:P"],
        ),
    ] {
        answer_from_each(wildcard, peer_addr, &targets);
    }
}

fn answer_from_each(wildcard: &str, peer_addr: &str, targets: &[&str]) {
    let opts = UdpSocketOptions::default();
    let gateway = BatchUdpSocket::bind(wildcard.parse().unwrap(), &opts).unwrap();
    let port = gateway.local_addr().port();
    let peer = BatchUdpSocket::bind(peer_addr.parse().unwrap(), &opts).unwrap();
    let mut batch = RecvBatch::new(8);
    for target in targets {
        let to: SocketAddr = target.replace('P', &port.to_string()).parse().unwrap();
        let mut send = SendBatch::new(1, 100);
        send.push(b"ask", to).unwrap();
        assert_eq!(peer.send_batch(&send).unwrap(), 1);
        assert!(gateway.wait_readable(Some(Duration::from_secs(5))).unwrap());
        gateway.recv_batch(&mut batch).unwrap();
        let asked = batch.get(0).unwrap();
        let local = asked
            .local
            .expect("the destination address of the datagram");
        assert_eq!(local.local, to.ip());
        assert_ne!(local.ifindex, 0);
        let (from, source) = (asked.source, asked.local);
        let mut reply = SendBatch::new(1, 100);
        let slot = reply.next_slot_mut(5).unwrap();
        slot.copy_from_slice(b"reply");
        reply.commit_slot(5, from, source);
        assert_eq!(gateway.send_batch(&reply).unwrap(), 1);
        let got = recv_datagrams(&peer, &mut batch, 1);
        assert_eq!(got[0].source, to, "the reply came from the address asked");
    }
    // A source address that is not (any longer) ours: the datagram still leaves, from the routing choice.
    let gone = wgxdp_io_socket::PacketInfo {
        local: if peer.local_addr().is_ipv4() {
            "198.18.9.9".parse().unwrap()
        } else {
            "fd00:9::9".parse().unwrap()
        },
        ifindex: 0,
    };
    let mut reply = SendBatch::new(1, 100);
    reply.next_slot_mut(4).unwrap().copy_from_slice(b"late");
    reply.commit_slot(4, peer.local_addr(), Some(gone));
    assert_eq!(gateway.send_batch(&reply).unwrap(), 1);
    let got = recv_datagrams(&peer, &mut batch, 1);
    assert_eq!(got[0].data, b"late");
}

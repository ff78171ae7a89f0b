//! The AF_XDP worker's per-batch receive pipeline in memory, beside raw `ring` ChaCha20-Poly1305 on buffers of the
//! same sizes: `parse_udp_frame` (no outer checksum check) -> `Device::rx_batch` (index lookup, decrypt in place, replay
//! window, reverse-path ACL per packet; timers and counters once per batch) over a batch of Ethernet frames, for 64- and 1420-byte inner
//! packets. The pipeline should keep at least 85% of the raw AEAD rate; the ratio is printed at the end.
//!
//! Frames are consumed by opening them (decrypted in place, counters used up), so every batch is sealed afresh by
//! the peer device in `iter_batched`'s setup, outside the timed region.
//!
//! Run: `cargo bench -p wgxdp-device --bench pipeline -- --warm-up-time 1 --measurement-time 2`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use common::{ipv4, send_one, Net};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wgxdp_device::{Device, Inbound, Outbound};
use wgxdp_wire::{
    parse_udp_frame, Ipv4UdpSpec, LinkFields, MacAddr, UdpChecksumMode, IPV4_UDP_HEADERS_LEN,
};

/// Inner packet sizes: the smallest common packet and a full 1420-byte MTU packet.
const SIZES: [usize; 2] = [64, 1420];
/// Frames per batch, as one `recv_batch` of the worker takes.
const BATCH: usize = 64;
/// Batches timed per side for the printed ratio.
const RATIO_ROUNDS: usize = 300;

/// Two devices with a session; node 0 seals, node 1 (the one measured) opens.
fn established() -> Net {
    let mut net = Net::pair();
    let first = ipv4("10.0.0.1", "10.0.0.2", 10);
    assert_eq!(net.send_tun(0, &first), Outbound::Staged);
    net.run();
    assert_eq!(net.nodes[1].tun.len(), 1, "handshake completed");
    net
}

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => panic!("the bench network is IPv4"),
    }
}

/// `BATCH` Ethernet frames from node 0 to node 1, each carrying a fresh transport message for an inner packet of
/// `size` bytes, with the full UDP checksum as the worker's transmit path writes it.
fn sealed_frames(net: &Net, size: usize) -> Vec<Vec<u8>> {
    let packet = ipv4("10.0.0.1", "10.0.0.2", size - 20);
    let sender = &net.nodes[0];
    let spec = Ipv4UdpSpec {
        link: LinkFields {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
            vlan_tci: None,
        },
        src: v4(sender.addr),
        dst: v4(net.nodes[1].addr),
        ttl: 64,
        tos: 0,
        identification: 0,
        dont_fragment: true,
        udp_checksum: UdpChecksumMode::Full,
    };
    (0..BATCH)
        .map(|_| {
            let (Outbound::Send { .. }, Some((_, message))) =
                send_one(&sender.dev, &packet, net.now)
            else {
                panic!("no session");
            };
            let mut frame = vec![0u8; IPV4_UDP_HEADERS_LEN + message.len()];
            frame[IPV4_UDP_HEADERS_LEN..].copy_from_slice(&message);
            let total = spec.emit(&mut frame, message.len()).expect("frame fits");
            frame.truncate(total);
            frame
        })
        .collect()
}

/// The worker's receive pipeline over one batch; returns the inner bytes bound for TUN.
fn pipeline(device: &Device, frames: &mut [Vec<u8>], now: Duration) -> usize {
    let mut to_tun = 0;
    let mut batch = device.rx_batch(now);
    for frame in frames.iter_mut() {
        let Ok(udp) = parse_udp_frame(frame) else {
            continue;
        };
        let Some(message) = frame.get_mut(udp.payload) else {
            continue;
        };
        if let Inbound::Tun(range) = batch.receive(udp.src, message) {
            to_tun += range.len();
        }
    }
    // Timers, endpoint and shared counters are told here, once: part of the timed work.
    batch.finish();
    to_tun
}

fn ring_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[0x42; 32]).expect("32-byte key"))
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(n)
}

/// `BATCH` raw AEAD ciphertexts of the same length as the transport messages' encrypted part (padded plaintext
/// plus tag), with their counters.
fn raw_ciphertexts(key: &LessSafeKey, size: usize, first: u64) -> Vec<(u64, Vec<u8>)> {
    let padded = size.next_multiple_of(16);
    (0..BATCH as u64)
        .map(|i| {
            let mut buf = vec![0u8; padded];
            let tag = key
                .seal_in_place_separate_tag(nonce(first + i), Aad::empty(), &mut buf)
                .expect("seal");
            buf.extend_from_slice(tag.as_ref());
            (first + i, buf)
        })
        .collect()
}

fn raw_open(key: &LessSafeKey, batch: &mut [(u64, Vec<u8>)]) -> usize {
    let mut opened = 0;
    for (counter, buf) in batch.iter_mut() {
        if let Ok(plain) = key.open_in_place(nonce(*counter), Aad::empty(), buf) {
            opened += plain.len();
        }
    }
    opened
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("xdp_rx_pipeline");
    for size in SIZES {
        group.throughput(Throughput::Bytes((BATCH * size) as u64));
        let net = established();
        group.bench_with_input(BenchmarkId::new("pipeline", size), &size, |b, &size| {
            b.iter_batched(
                || sealed_frames(&net, size),
                |mut frames| black_box(pipeline(&net.nodes[1].dev, &mut frames, net.now)),
                BatchSize::SmallInput,
            );
        });
        let key = ring_key();
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::new("raw_aead", size), &size, |b, &size| {
            b.iter_batched(
                || {
                    counter += BATCH as u64;
                    raw_ciphertexts(&key, size, counter)
                },
                |mut batch| black_box(raw_open(&key, &mut batch)),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// Times both sides over the same number of batches and prints pipeline/raw throughput.
fn print_ratio() {
    for size in SIZES {
        let net = established();
        let device = &net.nodes[1].dev;
        let mut pipeline_time = Duration::ZERO;
        for _ in 0..RATIO_ROUNDS {
            let mut frames = sealed_frames(&net, size);
            let start = Instant::now();
            let bytes = pipeline(device, &mut frames, net.now);
            pipeline_time += start.elapsed();
            assert_eq!(bytes, BATCH * size, "every frame reached TUN");
        }
        let key = ring_key();
        let mut raw_time = Duration::ZERO;
        for round in 0..RATIO_ROUNDS {
            let mut batch = raw_ciphertexts(&key, size, (round * BATCH) as u64);
            let start = Instant::now();
            black_box(raw_open(&key, &mut batch));
            raw_time += start.elapsed();
        }
        let ratio = raw_time.as_secs_f64() / pipeline_time.as_secs_f64();
        println!(
            "xdp_rx_pipeline/{size}: pipeline keeps {:.1}% of the raw AEAD rate ({:.0} vs {:.0} ns per packet)",
            ratio * 100.0,
            pipeline_time.as_nanos() as f64 / (RATIO_ROUNDS * BATCH) as f64,
            raw_time.as_nanos() as f64 / (RATIO_ROUNDS * BATCH) as f64,
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    print_ratio();
    criterion.final_summary();
}

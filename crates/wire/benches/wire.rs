//! Data-path costs: checksum throughput, frame parse, header emit, WireGuard message dispatch.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wgxdp_wire::checksum::internet_checksum;
use wgxdp_wire::{parse_udp_frame, Ipv4UdpSpec, LinkFields, MacAddr, UdpChecksumMode, WgMessage};

fn spec(udp_checksum: UdpChecksumMode) -> Ipv4UdpSpec {
    Ipv4UdpSpec {
        link: LinkFields {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
            vlan_tci: None,
        },
        src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 51820),
        dst: SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), 40000),
        ttl: 64,
        tos: 0,
        identification: 0,
        dont_fragment: true,
        udp_checksum,
    }
}

fn checksum(c: &mut Criterion) {
    let mut group = c.benchmark_group("internet_checksum");
    for len in [20usize, 1500, 9000] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("{len}B"), |b| {
            b.iter(|| internet_checksum(black_box(&data)))
        });
    }
    group.finish();
}

fn frame(c: &mut Criterion) {
    // A full-size transport message: 1420-byte MTU packet + 32 bytes of WireGuard overhead.
    let payload_len = 1452;
    let mut buf = vec![0u8; 42 + payload_len];
    buf[42..46].copy_from_slice(&[4, 0, 0, 0]);
    spec(UdpChecksumMode::Full)
        .emit(&mut buf, payload_len)
        .unwrap();

    c.bench_function("parse_udp_frame/ipv4_1494B", |b| {
        b.iter(|| parse_udp_frame(black_box(&buf)).unwrap())
    });
    let range = parse_udp_frame(&buf).unwrap().payload;
    c.bench_function("wg_message_parse/transport", |b| {
        b.iter(|| {
            WgMessage::parse(black_box(&buf[range.clone()]))
                .unwrap()
                .message_type()
        })
    });
    for (name, mode) in [
        ("no_udp_checksum", UdpChecksumMode::None),
        ("full_udp_checksum", UdpChecksumMode::Full),
    ] {
        let spec = spec(mode);
        c.bench_function(&format!("emit_ipv4_udp/{name}_1494B"), |b| {
            b.iter(|| spec.emit(black_box(&mut buf), payload_len).unwrap())
        });
    }
}

criterion_group!(benches, checksum, frame);
criterion_main!(benches);

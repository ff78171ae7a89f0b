//! Throughput of the UAPI paths a large deployment hits: parsing a big
//! `set` (wg syncconf of many peers) and writing a big `get` (wg show).

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wgxdp_uapi::{
    parse_request, write_get_response, AllowedIp, DeviceState, Key, PeerState, RequestReader,
};

const PEERS: u32 = 1000;

fn peer_key(i: u32) -> Key {
    let mut bytes = [0x5a; 32];
    bytes[..4].copy_from_slice(&i.to_be_bytes());
    Key::from_bytes(bytes)
}

fn big_set_text() -> String {
    let mut text = String::from("set=1\nreplace_peers=true\n");
    for i in 0..PEERS {
        let [_, _, b, c] = i.to_be_bytes();
        text.push_str(&format!(
            "public_key={}\npreshared_key={}\nendpoint=192.0.2.{c}:51820\n\
             persistent_keepalive_interval=25\nreplace_allowed_ips=true\n\
             allowed_ip=10.{b}.{c}.0/24\nallowed_ip=fd00:{i:x}::/64\n",
            peer_key(i).to_hex().as_str(),
            peer_key(!i).to_hex().as_str(),
        ));
    }
    text.push('\n');
    text
}

fn big_state() -> DeviceState {
    DeviceState {
        private_key: Some(peer_key(u32::MAX)),
        listen_port: 51820,
        fwmark: 0,
        peers: (0..PEERS)
            .map(|i| {
                let [_, _, b, c] = i.to_be_bytes();
                PeerState {
                    public_key: peer_key(i),
                    preshared_key: Some(peer_key(!i)),
                    endpoint: Some(([192, 0, 2, c], 51820).into()),
                    last_handshake: Some(UNIX_EPOCH + Duration::new(1_700_000_000, i)),
                    tx_bytes: u64::from(i) << 20,
                    rx_bytes: u64::from(i) << 21,
                    persistent_keepalive_interval: 25,
                    allowed_ips: vec![
                        AllowedIp::new([10, b, c, 0].into(), 24).unwrap(),
                        AllowedIp::new(format!("fd00:{i:x}::").parse().unwrap(), 64).unwrap(),
                    ],
                }
            })
            .collect(),
    }
}

fn benches(c: &mut Criterion) {
    let text = big_set_text();
    let mut group = c.benchmark_group("uapi");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse_set_1000_peers", |b| {
        b.iter(|| parse_request(black_box(text.as_bytes())).unwrap())
    });
    group.bench_function("reader_4k_chunks_1000_peers", |b| {
        b.iter(|| {
            let mut reader = RequestReader::default();
            for chunk in black_box(text.as_bytes()).chunks(4096) {
                reader.feed(chunk);
            }
            reader.next_request().unwrap().unwrap()
        })
    });
    let state = big_state();
    let mut out = String::new();
    write_get_response(&state, &mut out);
    group.throughput(Throughput::Bytes(out.len() as u64));
    group.bench_function("write_get_1000_peers", |b| {
        b.iter(|| {
            out.clear();
            write_get_response(black_box(&state), &mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(uapi, benches);
criterion_main!(uapi);

//! Transport seal/open throughput, each beside raw `ring` ChaCha20-Poly1305 on the same buffers, so the
//! keypair's own overhead (header, padding, atomic counter, replay window) over the crypto limit is visible.
//!
//! Run: `cargo bench -p wgxdp-noise --bench transport -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use wgxdp_noise::keypair::Keypair;

const SIZES: [usize; 3] = [64, 1420, 8000];
const SEND_KEY: [u8; 32] = [0x42; 32];
const RECEIVE_KEY: [u8; 32] = [0x24; 32];
/// Messages prepared per batch for the open benchmarks: enough to amortise batching, small enough to stay
/// in memory for 8000-byte messages.
const OPEN_BATCH: u64 = 256;

fn ring_key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("32-byte key"))
}

fn wg_nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(n)
}

fn pair() -> (Keypair, Keypair) {
    let sender = Keypair::new(&SEND_KEY, &RECEIVE_KEY, 1, 2, true, Duration::ZERO);
    let receiver = Keypair::new(&RECEIVE_KEY, &SEND_KEY, 2, 1, false, Duration::ZERO);
    (sender, receiver)
}

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    for size in SIZES {
        // MTU = payload size: no padding, so both sides encrypt exactly `size` bytes.
        let mtu = size;
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0xA5u8; 16 + size + 16];

        let (sender, _) = pair();
        group.bench_with_input(BenchmarkId::new("wgxdp", size), &size, |b, &size| {
            b.iter(|| sender.seal(black_box(&mut buf), size, mtu).expect("seal"))
        });

        let key = ring_key(&SEND_KEY);
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::new("ring", size), &size, |b, &size| {
            b.iter(|| {
                let (body, tag_out) = black_box(&mut buf)[16..].split_at_mut(size);
                let tag = key
                    .seal_in_place_separate_tag(wg_nonce(counter), Aad::empty(), body)
                    .expect("seal");
                tag_out.copy_from_slice(tag.as_ref());
                counter += 1;
            })
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    for size in SIZES {
        let mtu = size;
        group.throughput(Throughput::Bytes(size as u64));
        // Each iteration opens a freshly sealed message (new counter: the replay window rejects repeats);
        // sealing happens in the untimed setup of both variants alike.
        let (sender, receiver) = pair();
        let fresh_message = || {
            let mut buf = vec![0xA5u8; 16 + size + 16];
            sender.seal(&mut buf, size, mtu).expect("seal");
            buf
        };

        group.bench_with_input(BenchmarkId::new("wgxdp", size), &size, |b, _| {
            b.iter_batched_ref(
                fresh_message,
                |msg| receiver.open(black_box(msg)).expect("open"),
                BatchSize::NumIterations(OPEN_BATCH),
            )
        });

        let key = ring_key(&SEND_KEY);
        group.bench_with_input(BenchmarkId::new("ring", size), &size, |b, _| {
            b.iter_batched_ref(
                fresh_message,
                |msg| {
                    let counter = u64::from_le_bytes(msg[8..16].try_into().expect("8 bytes"));
                    key.open_in_place(wg_nonce(counter), Aad::empty(), &mut black_box(msg)[16..])
                        .expect("open")
                        .len()
                },
                BatchSize::NumIterations(OPEN_BATCH),
            )
        });
    }
    group.finish();
}

criterion_group!(benches, seal, open);
criterion_main!(benches);

//! The AEAD-only ceiling of one core: ring's ChaCha20-Poly1305 sealing and opening in place, with a fresh nonce
//! per message as WireGuard uses them, at the gateway benchmark's inner packet sizes. Nothing else a gateway does
//! (parsing, routing, copies, I/O) is in it, so packets per second here bound what any implementation can reach
//! on the same core; the gateway benchmark reports every figure also as a fraction of this.
//!
//!     cargo bench -p wgxdp-loadgen --bench aead_ceiling
//!     taskset -c 0 cargo bench -p wgxdp-loadgen --bench aead_ceiling -- --quick   # on the DUT's core

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

/// Inner packet sizes of the gateway benchmark.
const SIZES: [usize; 3] = [64, 512, 1420];

fn key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).expect("32-byte key"))
}

/// WireGuard's nonce: four zero bytes, then the little-endian counter.
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("aead_seal");
    let key = key();
    for size in SIZES {
        group.throughput(Throughput::Elements(1));
        let mut buf = vec![0x5au8; size];
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                counter += 1;
                let tag = key
                    .seal_in_place_separate_tag(nonce(counter), Aad::empty(), &mut buf)
                    .expect("seal");
                let _ = black_box(tag);
            })
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("aead_open");
    let key = key();
    for size in SIZES {
        group.throughput(Throughput::Elements(1));
        // One sealed message, opened from a fresh copy each time (the copy is part of any real receive path too).
        let mut sealed = vec![0x5au8; size];
        let tag = key
            .seal_in_place_separate_tag(nonce(1), Aad::empty(), &mut sealed)
            .expect("seal");
        sealed.extend_from_slice(tag.as_ref());
        let mut work = sealed.clone();
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                work.copy_from_slice(&sealed);
                let plain = key
                    .open_in_place(nonce(1), Aad::empty(), &mut work)
                    .expect("authentic");
                black_box(plain.len());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, seal, open);
criterion_main!(benches);

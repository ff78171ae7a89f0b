//! One single-producer/single-consumer AF_XDP ring: the fill, completion, RX or TX ring of a socket.
//!
//! A ring is a power-of-two array of descriptors plus three shared words: the producer index, the consumer index
//! and a flags word (`XDP_RING_NEED_WAKEUP`). Indices are free-running `u32`s that wrap; a slot is `index & mask`.
//! One side (the kernel, for the RX and completion rings) produces, the other consumes:
//!
//! - the producer writes descriptors into slots it reserved, then publishes them with a release store of the
//!   producer index, so the consumer's acquire load of that index sees the descriptors;
//! - the consumer reads descriptors up to the producer index it loaded, then hands the slots back with a release
//!   store of the consumer index, so the producer's acquire load sees that it is done reading them.
//!
//! Each side caches the other side's index and reloads it only when the cache says the ring is full (producer) or
//! empty (consumer), so a batch costs one shared load and one shared store.
//!
//! The memory is a [`RingMemory`]: the socket's mmap of the ring in production (`xsk_mmap.rs`), a heap buffer in the
//! tests below. The ring owns it, so the memory outlives every access through the ring.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a ring's three words and descriptor array lie.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RingLayout {
    /// The producer index.
    pub producer: NonNull<AtomicU32>,
    /// The consumer index.
    pub consumer: NonNull<AtomicU32>,
    /// The flags word.
    pub flags: NonNull<AtomicU32>,
    /// The first descriptor.
    pub descs: NonNull<u8>,
    /// Number of descriptors.
    pub entries: u32,
    /// Bytes per descriptor.
    pub desc_size: usize,
}

/// Memory that holds one ring.
///
/// # Safety
///
/// [`layout`](Self::layout) must describe memory that stays valid for reads and writes, and does not move, for as
/// long as the implementing value lives: three `AtomicU32` words (4-byte aligned) and `entries` descriptors of
/// `desc_size` bytes each starting at `descs`, the descriptors overlapping none of the words. The words may be
/// accessed concurrently by the other side of the ring only atomically, and the descriptors only as the ring
/// protocol allows (a slot is touched by one side at a time). Every call returns the same layout.
pub(crate) unsafe trait RingMemory {
    /// The ring's layout in this memory.
    fn layout(&self) -> RingLayout;
}

/// Why a [`RingMemory`] cannot carry a ring of descriptor type `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RingLayoutError {
    /// The number of entries is zero or not a power of two.
    Entries(u32),
    /// The descriptors are not of `T`'s size.
    DescSize { expected: usize, got: usize },
    /// The descriptor array is not aligned for `T`.
    Misaligned,
}

impl std::fmt::Display for RingLayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Entries(n) => write!(f, "{n} ring entries is not a power of two"),
            Self::DescSize { expected, got } => {
                write!(f, "ring descriptors of {got} bytes, expected {expected}")
            }
            Self::Misaligned => write!(f, "ring descriptors are misaligned"),
        }
    }
}

/// The shared part of both ring ends: the memory, typed pointers into it and the index mask.
struct RingCore<T, M> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<T>,
    mask: u32,
    size: u32,
    // Owned for its lifetime (and Drop) only, outside the tests: declared last, so dropped after everything that
    // points into it (nothing here has drop glue, but keep it so).
    #[cfg_attr(not(test), allow(dead_code))]
    memory: M,
    _descs: PhantomData<T>,
}

// SAFETY: every pointer points into `memory`, which moves with the core (a mapping or a heap allocation does not
// change address when its owner moves). The words are only accessed atomically and a descriptor slot only by the
// end that owns it under the ring protocol, so using the core from another thread is as sound as from this one;
// `T: Send` because descriptors are moved across the ring.
unsafe impl<T: Send, M: RingMemory + Send> Send for RingCore<T, M> {}

impl<T: Copy, M: RingMemory> RingCore<T, M> {
    fn new(memory: M) -> Result<Self, RingLayoutError> {
        let layout = memory.layout();
        if !layout.entries.is_power_of_two() {
            return Err(RingLayoutError::Entries(layout.entries));
        }
        if layout.desc_size != size_of::<T>() {
            return Err(RingLayoutError::DescSize {
                expected: size_of::<T>(),
                got: layout.desc_size,
            });
        }
        let descs = layout.descs.cast::<T>();
        if !descs.as_ptr().is_aligned() {
            return Err(RingLayoutError::Misaligned);
        }
        Ok(Self {
            producer: layout.producer,
            consumer: layout.consumer,
            flags: layout.flags,
            descs,
            mask: layout.entries - 1,
            size: layout.entries,
            memory,
            _descs: PhantomData,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: the word lies in `self.memory`, valid and aligned while `self` lives (the `RingMemory` contract),
        // and is only ever accessed atomically, so a shared reference to it is sound for `&self`'s lifetime.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.flags.as_ref() }
    }

    /// The slot of free-running index `index`: always inside the array, since `mask` is `entries - 1`.
    fn slot(&self, index: u32) -> *mut T {
        // In bounds (masked), so wrapping arithmetic gives the same pointer as `add` without unsafe.
        self.descs
            .as_ptr()
            .wrapping_add((index & self.mask) as usize)
    }

    /// Whether the other side set `XDP_RING_NEED_WAKEUP`: it stops processing this ring until woken by a system
    /// call. A plain (relaxed) load, as libxdp does: the flag is advisory and re-read on every batch.
    fn needs_wakeup(&self) -> bool {
        self.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }
}

/// Our end of a ring we produce into (fill, TX).
pub(crate) struct ProducerRing<T, M> {
    core: RingCore<T, M>,
    /// Our producer index: everything before it is published.
    cached_prod: u32,
    /// The consumer index last loaded, plus the ring size: `cached_cons - cached_prod` is the free room known
    /// without touching the shared word.
    cached_cons: u32,
}

impl<T: Copy, M: RingMemory> ProducerRing<T, M> {
    /// The producer end of the ring in `memory`, starting from the indices found there.
    pub(crate) fn new(memory: M) -> Result<Self, RingLayoutError> {
        let core = RingCore::new(memory)?;
        let cached_prod = core.producer().load(Ordering::Relaxed);
        let cached_cons = core
            .consumer()
            .load(Ordering::Acquire)
            .wrapping_add(core.size);
        Ok(Self {
            core,
            cached_prod,
            cached_cons,
        })
    }

    /// Free slots, reloading the consumer index only when fewer than `want` are known free.
    pub(crate) fn free(&mut self, want: u32) -> u32 {
        let known = self.cached_cons.wrapping_sub(self.cached_prod);
        if known >= want {
            return known;
        }
        // Acquire: the consumer has finished reading every slot it released before we reuse it.
        self.cached_cons = self
            .core
            .consumer()
            .load(Ordering::Acquire)
            .wrapping_add(self.core.size);
        self.cached_cons.wrapping_sub(self.cached_prod)
    }

    /// Writes up to `max` descriptors, asking `next` for each until it returns `None` or the ring is full, and
    /// publishes them with one release store. Returns the number published.
    pub(crate) fn produce(&mut self, max: u32, mut next: impl FnMut() -> Option<T>) -> u32 {
        let room = self.free(max).min(max);
        let mut written = 0;
        while written < room {
            let Some(desc) = next() else {
                break;
            };
            let slot = self.core.slot(self.cached_prod.wrapping_add(written));
            // SAFETY: `slot` is inside the descriptor array (masked) and aligned (checked in `RingCore::new`); it
            // lies between our producer index and the consumer's index plus the ring size, so the consumer is done
            // with it and will not read it before the release store below publishes it.
            unsafe { slot.write(desc) };
            written += 1;
        }
        if written > 0 {
            self.cached_prod = self.cached_prod.wrapping_add(written);
            // Release: the descriptors written above are visible to whoever acquires this index.
            self.core
                .producer()
                .store(self.cached_prod, Ordering::Release);
        }
        written
    }

    /// Published descriptors the consumer has not taken yet.
    pub(crate) fn pending(&self) -> u32 {
        self.cached_prod
            .wrapping_sub(self.core.consumer().load(Ordering::Acquire))
    }

    /// Whether the consumer asked to be woken (see `XDP_USE_NEED_WAKEUP`).
    pub(crate) fn needs_wakeup(&self) -> bool {
        self.core.needs_wakeup()
    }

    /// The memory behind the ring.
    #[cfg(test)]
    pub(crate) fn memory(&self) -> &M {
        &self.core.memory
    }
}

/// Our end of a ring we consume from (RX, completion).
pub(crate) struct ConsumerRing<T, M> {
    core: RingCore<T, M>,
    /// Our consumer index: everything before it is released.
    cached_cons: u32,
    /// The producer index last loaded: `cached_prod - cached_cons` entries are known to wait.
    cached_prod: u32,
}

impl<T: Copy, M: RingMemory> ConsumerRing<T, M> {
    /// The consumer end of the ring in `memory`, starting from the indices found there.
    pub(crate) fn new(memory: M) -> Result<Self, RingLayoutError> {
        let core = RingCore::new(memory)?;
        let cached_cons = core.consumer().load(Ordering::Relaxed);
        let cached_prod = core.producer().load(Ordering::Acquire);
        Ok(Self {
            core,
            cached_cons,
            cached_prod,
        })
    }

    /// Entries waiting, reloading the producer index only when fewer than `want` are known to wait.
    fn ready(&mut self, want: u32) -> u32 {
        let known = self.cached_prod.wrapping_sub(self.cached_cons);
        if known >= want {
            return known;
        }
        // Acquire: the descriptors the producer wrote before publishing this index are visible.
        self.cached_prod = self.core.producer().load(Ordering::Acquire);
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    /// Reads up to `max` descriptors, calling `on_desc` with each in order, then releases them all with one store.
    /// Returns the number read.
    pub(crate) fn consume(&mut self, max: u32, mut on_desc: impl FnMut(T)) -> u32 {
        let count = self.ready(max).min(max);
        for i in 0..count {
            let slot = self.core.slot(self.cached_cons.wrapping_add(i));
            // SAFETY: `slot` is inside the descriptor array (masked) and aligned (checked in `RingCore::new`); it
            // lies between our consumer index and the producer index we acquired, so the producer wrote it before
            // publishing and will not write it again before we release it below. `T: Copy` has no drop glue.
            let desc = unsafe { slot.read() };
            on_desc(desc);
        }
        if count > 0 {
            self.cached_cons = self.cached_cons.wrapping_add(count);
            // Release: we are done reading these slots before the producer may see them free.
            self.core
                .consumer()
                .store(self.cached_cons, Ordering::Release);
        }
        count
    }

    /// Entries waiting, read from the shared producer index (no system call).
    pub(crate) fn available(&self) -> u32 {
        self.core
            .producer()
            .load(Ordering::Acquire)
            .wrapping_sub(self.cached_cons)
    }

    /// Whether the producer asked to be woken (see `XDP_USE_NEED_WAKEUP`).
    #[cfg(test)]
    pub(crate) fn needs_wakeup(&self) -> bool {
        self.core.needs_wakeup()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::UnsafeCell;
    use std::sync::Arc;

    /// A ring in a plain heap allocation, standing in for the kernel's mapping; shared by both ends via `Arc`.
    struct HeapRing<T> {
        producer: AtomicU32,
        consumer: AtomicU32,
        flags: AtomicU32,
        descs: Box<[UnsafeCell<T>]>,
    }

    // SAFETY: the slots are only accessed through the rings, which follow the SPSC protocol (one end per slot at
    // a time, ordered by the acquire/release index words).
    unsafe impl<T: Send> Sync for HeapRing<T> {}

    impl<T: Copy + Default> HeapRing<T> {
        /// A ring of `entries` slots whose indices both start at `start`.
        fn new(entries: u32, start: u32) -> Arc<Self> {
            Arc::new(Self {
                producer: AtomicU32::new(start),
                consumer: AtomicU32::new(start),
                flags: AtomicU32::new(0),
                descs: (0..entries)
                    .map(|_| UnsafeCell::new(T::default()))
                    .collect(),
            })
        }
    }

    // SAFETY: the words and the boxed slice live in the `Arc`'s allocation, which stays put while any clone lives;
    // the slice has `entries` elements of `T` (`UnsafeCell<T>` has `T`'s layout) and overlaps none of the words.
    unsafe impl<T> RingMemory for Arc<HeapRing<T>> {
        fn layout(&self) -> RingLayout {
            RingLayout {
                producer: NonNull::from(&self.producer),
                consumer: NonNull::from(&self.consumer),
                flags: NonNull::from(&self.flags),
                descs: NonNull::from(&self.descs[..]).cast(),
                entries: self.descs.len() as u32,
                desc_size: size_of::<T>(),
            }
        }
    }

    type Pair = (
        ProducerRing<u64, Arc<HeapRing<u64>>>,
        ConsumerRing<u64, Arc<HeapRing<u64>>>,
    );

    fn pair(entries: u32, start: u32) -> Pair {
        let memory = HeapRing::<u64>::new(entries, start);
        let producer = ProducerRing::new(Arc::clone(&memory)).expect("producer");
        let consumer = ConsumerRing::new(memory).expect("consumer");
        (producer, consumer)
    }

    fn push(producer: &mut ProducerRing<u64, Arc<HeapRing<u64>>>, values: &[u64]) -> u32 {
        let mut values = values.iter().copied();
        producer.produce(u32::MAX, || values.next())
    }

    fn pop(consumer: &mut ConsumerRing<u64, Arc<HeapRing<u64>>>, max: u32) -> Vec<u64> {
        let mut got = Vec::new();
        consumer.consume(max, |v| got.push(v));
        got
    }

    #[test]
    fn descriptors_come_out_in_order_and_the_indices_are_published() {
        let (mut producer, mut consumer) = pair(8, 0);
        assert_eq!(consumer.available(), 0);
        assert_eq!(push(&mut producer, &[10, 11, 12]), 3);
        let memory = Arc::clone(producer.memory());
        assert_eq!(memory.producer.load(Ordering::Relaxed), 3);
        assert_eq!(producer.pending(), 3);
        assert_eq!(consumer.available(), 3);
        assert_eq!(pop(&mut consumer, 64), vec![10, 11, 12]);
        assert_eq!(memory.consumer.load(Ordering::Relaxed), 3);
        assert_eq!(producer.pending(), 0);
        assert_eq!(pop(&mut consumer, 64), Vec::<u64>::new());
    }

    #[test]
    fn a_full_ring_takes_nothing_more_until_the_consumer_releases() {
        let (mut producer, mut consumer) = pair(4, 0);
        assert_eq!(push(&mut producer, &[1, 2, 3, 4, 5, 6]), 4, "only 4 slots");
        assert_eq!(producer.free(1), 0);
        assert_eq!(push(&mut producer, &[7]), 0, "full");
        assert_eq!(pop(&mut consumer, 1), vec![1]);
        assert_eq!(producer.free(1), 1, "the release is seen on reload");
        assert_eq!(push(&mut producer, &[7, 8]), 1);
        assert_eq!(pop(&mut consumer, 64), vec![2, 3, 4, 7]);
    }

    #[test]
    fn partial_consume_leaves_the_rest_in_place() {
        let (mut producer, mut consumer) = pair(8, 0);
        push(&mut producer, &[1, 2, 3, 4, 5]);
        assert_eq!(pop(&mut consumer, 2), vec![1, 2]);
        assert_eq!(consumer.available(), 3);
        assert_eq!(producer.pending(), 3);
        assert_eq!(pop(&mut consumer, 2), vec![3, 4]);
        assert_eq!(pop(&mut consumer, 2), vec![5]);
    }

    #[test]
    fn producer_stops_where_its_source_runs_dry() {
        let (mut producer, mut consumer) = pair(8, 0);
        let mut left = 2;
        let written = producer.produce(8, || {
            (left > 0).then(|| {
                left -= 1;
                left
            })
        });
        assert_eq!(written, 2);
        assert_eq!(pop(&mut consumer, 8), vec![1, 0]);
        assert_eq!(producer.produce(8, || None), 0);
        assert_eq!(producer.pending(), 0);
    }

    #[test]
    fn indices_wrap_around_u32() {
        // Start 3 short of the wrap: the batch straddles u32::MAX -> 0 and the slots straddle the array's end.
        let (mut producer, mut consumer) = pair(4, u32::MAX - 2);
        for round in 0..5u64 {
            let batch = [round * 10, round * 10 + 1, round * 10 + 2];
            assert_eq!(push(&mut producer, &batch), 3);
            assert_eq!(consumer.available(), 3);
            assert_eq!(pop(&mut consumer, 64), batch.to_vec());
        }
        let memory = Arc::clone(producer.memory());
        assert_eq!(
            memory.producer.load(Ordering::Relaxed),
            (u32::MAX - 2).wrapping_add(15)
        );
        assert_eq!(producer.free(4), 4);
    }

    #[test]
    fn need_wakeup_follows_the_flags_word() {
        let (producer, consumer) = pair(4, 0);
        assert!(!producer.needs_wakeup());
        let memory = Arc::clone(producer.memory());
        memory
            .flags
            .store(libc::XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
        assert!(producer.needs_wakeup());
        assert!(consumer.needs_wakeup());
        memory.flags.store(2, Ordering::Relaxed);
        assert!(!producer.needs_wakeup(), "other bits are not the flag");
    }

    #[test]
    fn rx_tx_descriptors_round_trip() {
        let memory = HeapRing::<XdpDescForTest>::new(2, 7);
        let mut producer = ProducerRing::new(Arc::clone(&memory)).expect("producer");
        let mut consumer = ConsumerRing::new(memory).expect("consumer");
        let mut descs = [XdpDescForTest(libc::xdp_desc {
            addr: 4096 + 256,
            len: 60,
            options: 0,
        })]
        .into_iter();
        assert_eq!(producer.produce(2, || descs.next()), 1);
        let mut got = Vec::new();
        consumer.consume(2, |d: XdpDescForTest| got.push((d.0.addr, d.0.len)));
        assert_eq!(got, vec![(4096 + 256, 60)]);
    }

    /// `libc::xdp_desc` with a `Default`, for `HeapRing`.
    #[derive(Clone, Copy)]
    struct XdpDescForTest(libc::xdp_desc);

    impl Default for XdpDescForTest {
        fn default() -> Self {
            Self(libc::xdp_desc {
                addr: 0,
                len: 0,
                options: 0,
            })
        }
    }

    #[test]
    fn bad_layouts_are_refused() {
        let memory = HeapRing::<u64>::new(6, 0);
        assert_eq!(
            ProducerRing::<u64, _>::new(Arc::clone(&memory)).err(),
            Some(RingLayoutError::Entries(6))
        );
        let memory = HeapRing::<u64>::new(4, 0);
        assert_eq!(
            ConsumerRing::<u32, _>::new(memory).err(),
            Some(RingLayoutError::DescSize {
                expected: 4,
                got: 8
            })
        );
    }

    #[test]
    fn a_producer_thread_and_a_consumer_thread_agree() {
        // Two threads over a small ring force many wrap-arounds and full/empty transitions.
        let (mut producer, mut consumer) = pair(16, u32::MAX - 100);
        const N: u64 = 50_000;
        let writer = std::thread::spawn(move || {
            let mut next = 0u64;
            while next < N {
                producer.produce(7, || {
                    (next < N).then(|| {
                        next += 1;
                        next - 1
                    })
                });
                std::hint::spin_loop();
            }
        });
        let mut expected = 0u64;
        let mut spins = 0u64;
        while expected < N {
            let got = consumer.consume(5, |v| {
                assert_eq!(v, expected);
                expected += 1;
            });
            if got == 0 {
                spins += 1;
                assert!(spins < 50_000_000, "consumer starved");
                std::thread::yield_now();
            }
        }
        writer.join().expect("writer");
    }
}

//! The lookup structure: a multibit trie with a direct-indexed root (a "DIR-16-4" stride trie).
//!
//! Why this shape rather than a path-compressed binary trie:
//! - The root is a flat array indexed by the first 16 address bits (256 KiB per family). It stays hot in
//!   cache, so most lookups cost one cached load plus one to three dependent loads of 64-byte chunks.
//!   A binary trie needs one dependent (usually cache-missing) load per branching bit instead.
//! - Below the root every node ("chunk") has 16 slots of `u32` — exactly one cache line — indexed by the
//!   next 4 bits. IPv4 needs at most 4 chunk steps (/17../32), IPv6 at most 28.
//! - Prefixes are expanded into the slots they cover ("controlled prefix expansion" with leaf pushing), so
//!   a lookup never backtracks: the first slot that is not a child pointer is the answer.
//!
//! All chunks live in one `Vec<u32>` (indices, not boxes) so the published snapshot is a single allocation
//! that clones with one `memcpy`. The writer keeps, per slot, the length of the prefix that put its value
//! there (`FibWriter::lens`); that is what makes incremental insert and remove possible: an insert only
//! overwrites slots owned by shorter prefixes, a remove only rewrites slots owned by exactly that prefix.

use std::marker::PhantomData;

use crate::bits::Bits;

/// Address bits resolved by the root array.
const ROOT_BITS: u32 = 16;
/// Address bits resolved by each chunk below the root.
const STRIDE: u32 = 4;
/// Slots in the root array.
const ROOT_SLOTS: usize = 1 << ROOT_BITS;
/// Slots in one chunk (16 x 4 bytes = one cache line).
const CHUNK: usize = 1 << STRIDE;
/// Slot flag: the other 31 bits are the offset of a child chunk, not a value.
const CHILD: u32 = 1 << 31;

/// A slot value: 0 means "no prefix covers this", otherwise a peer slot id plus one.
pub(crate) type Value = u32;

/// The immutable-once-published lookup array of one address family.
#[derive(Clone, Debug)]
pub(crate) struct Fib<K> {
    /// Root slots first, then chunks of `CHUNK` slots each.
    entries: Vec<u32>,
    _family: PhantomData<K>,
}

/// The table is out of 31-bit chunk offsets (about 8 GiB of slots); the insert was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl<K: Bits> Fib<K> {
    /// An empty table: every root slot says "no prefix".
    pub(crate) fn new() -> Self {
        Self {
            entries: vec![0; ROOT_SLOTS],
            _family: PhantomData,
        }
    }

    /// Longest-prefix match: the value of the most specific prefix containing `key`, 0 if none.
    #[inline]
    pub(crate) fn lookup(&self, key: K) -> Value {
        // Chunk steps below the root; bounding the loop keeps a corrupted table from looping forever.
        let max_steps = (u32::from(K::WIDTH) - ROOT_BITS) / STRIDE;
        let mut slot = self.entries.get(key.top(ROOT_BITS)).copied().unwrap_or(0);
        let mut rest = key.shl(ROOT_BITS);
        for _ in 0..max_steps {
            if slot & CHILD == 0 {
                return slot;
            }
            let index = (slot & !CHILD) as usize + rest.top(STRIDE);
            slot = self.entries.get(index).copied().unwrap_or(0);
            rest = rest.shl(STRIDE);
        }
        slot
    }

    /// Bytes held by the lookup array.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u32>()
    }
}

/// What to do to each slot a prefix covers.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Take over every slot owned by a prefix no longer than `len`.
    Insert { value: Value, len: u8 },
    /// Hand the slots owned by the `len`-bit prefix to its nearest shorter prefix (`value`, `with_len`).
    Remove { len: u8, value: Value, with_len: u8 },
}

impl Op {
    fn apply(self, slot: &mut u32, slot_len: &mut u8) {
        match self {
            // A slot with an equal length is this very prefix (two distinct prefixes of one length never
            // overlap), so re-inserting it moves it to the new owner.
            Op::Insert { value, len } if *slot_len <= len => {
                *slot = value;
                *slot_len = len;
            }
            Op::Remove {
                len,
                value,
                with_len,
            } if *slot_len == len => {
                *slot = value;
                *slot_len = with_len;
            }
            _ => {}
        }
    }
}

/// The writer-only side of a `Fib`: prefix length per slot and free chunks.
#[derive(Debug)]
pub(crate) struct FibWriter<K> {
    /// Length of the prefix whose value sits in the slot at the same index of `Fib::entries`.
    lens: Vec<u8>,
    /// Offsets of chunks released by collapsing, reused before growing the array.
    free: Vec<u32>,
    _family: PhantomData<K>,
}

impl<K: Bits> FibWriter<K> {
    pub(crate) fn new() -> Self {
        Self {
            lens: vec![0; ROOT_SLOTS],
            free: Vec::new(),
            _family: PhantomData,
        }
    }

    /// Bytes held by the writer-side metadata.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.lens.capacity() + self.free.capacity() * std::mem::size_of::<u32>()
    }

    /// Whether `inserts` more prefixes are sure to fit: each needs at most one new chunk per level.
    pub(crate) fn has_room_for(&self, inserts: usize) -> bool {
        let levels = (usize::from(K::WIDTH) - ROOT_BITS as usize) / STRIDE as usize;
        let in_use = self.lens.len() - self.free.len() * CHUNK;
        inserts
            .saturating_mul(levels * CHUNK)
            .saturating_add(in_use)
            <= CHILD as usize
    }

    /// Makes `value` the answer for the `len`-bit prefix `key` (host bits already clear), except where a
    /// more specific prefix already answers.
    pub(crate) fn insert(
        &mut self,
        fib: &mut Fib<K>,
        key: K,
        len: u8,
        value: Value,
    ) -> Result<(), Full> {
        self.update(fib, key, len, Op::Insert { value, len })
    }

    /// Removes the `len`-bit prefix `key`: its slots now answer `value` from the `with_len`-bit prefix
    /// that contains it (0 and 0 when none does).
    pub(crate) fn remove(&mut self, fib: &mut Fib<K>, key: K, len: u8, value: Value, with_len: u8) {
        // Removing never allocates, so it cannot run out of space.
        let _ = self.update(
            fib,
            key,
            len,
            Op::Remove {
                len,
                value,
                with_len,
            },
        );
    }

    fn update(&mut self, fib: &mut Fib<K>, key: K, len: u8, op: Op) -> Result<(), Full> {
        let len_bits = u32::from(len);
        if len_bits <= ROOT_BITS {
            let start = key.top(ROOT_BITS);
            let count = 1usize << (ROOT_BITS - len_bits);
            for slot in start..start + count {
                self.apply(fib, slot, op);
            }
            return Ok(());
        }
        // Walk (splitting leaves on insert) to the chunk holding the prefix's last bits, remembering the
        // slots that point at the chunks on the way so they can be collapsed bottom-up afterwards.
        let mut path: Vec<usize> = Vec::with_capacity(usize::from(K::WIDTH) / STRIDE as usize);
        let mut slot = key.top(ROOT_BITS);
        let mut rest = key.shl(ROOT_BITS);
        let mut consumed = ROOT_BITS;
        loop {
            let entry = fib.entries[slot];
            let base = if entry & CHILD != 0 {
                (entry & !CHILD) as usize
            } else {
                match op {
                    Op::Insert { .. } => self.split(fib, slot)?,
                    // No chunk here means the prefix was never expanded below this slot: nothing to undo.
                    Op::Remove { .. } => break,
                }
            };
            path.push(slot);
            let first = base + rest.top(STRIDE);
            if len_bits <= consumed + STRIDE {
                let count = 1usize << (consumed + STRIDE - len_bits);
                for s in first..first + count {
                    self.apply(fib, s, op);
                }
                break;
            }
            slot = first;
            rest = rest.shl(STRIDE);
            consumed += STRIDE;
        }
        for &s in path.iter().rev() {
            self.collapse(fib, s);
        }
        Ok(())
    }

    /// Applies `op` to one slot, or to every slot under it when it points at a chunk.
    fn apply(&mut self, fib: &mut Fib<K>, slot: usize, op: Op) {
        let entry = fib.entries[slot];
        if entry & CHILD != 0 {
            let base = (entry & !CHILD) as usize;
            for s in base..base + CHUNK {
                self.apply(fib, s, op);
            }
            self.collapse(fib, slot);
        } else {
            op.apply(&mut fib.entries[slot], &mut self.lens[slot]);
        }
    }

    /// Replaces the leaf in `slot` with a chunk whose 16 slots all carry that leaf; returns the chunk offset.
    fn split(&mut self, fib: &mut Fib<K>, slot: usize) -> Result<usize, Full> {
        let (value, len) = (fib.entries[slot], self.lens[slot]);
        let base = match self.free.pop() {
            Some(b) => {
                let b = b as usize;
                fib.entries[b..b + CHUNK].fill(value);
                self.lens[b..b + CHUNK].fill(len);
                b
            }
            None => {
                let b = fib.entries.len();
                // Offsets must fit in 31 bits next to the CHILD flag.
                if b + CHUNK > CHILD as usize {
                    return Err(Full);
                }
                fib.entries.resize(b + CHUNK, value);
                self.lens.resize(b + CHUNK, len);
                b
            }
        };
        fib.entries[slot] = CHILD | base as u32;
        Ok(base)
    }

    /// If the chunk under `slot` answers the same thing (same value from the same prefix length) in all
    /// of its slots, folds it back into `slot` and frees it, so removals give memory back.
    fn collapse(&mut self, fib: &mut Fib<K>, slot: usize) {
        let entry = fib.entries[slot];
        if entry & CHILD == 0 {
            return;
        }
        let base = (entry & !CHILD) as usize;
        let (value, len) = (fib.entries[base], self.lens[base]);
        if value & CHILD != 0 {
            return;
        }
        let uniform = fib.entries[base..base + CHUNK].iter().all(|&e| e == value)
            && self.lens[base..base + CHUNK].iter().all(|&l| l == len);
        if uniform {
            fib.entries[slot] = value;
            self.lens[slot] = len;
            self.free.push(base as u32);
        }
    }

    /// Chunks in use (allocated and not free), for memory statistics and leak tests.
    pub(crate) fn chunks_in_use(&self) -> usize {
        (self.lens.len() - ROOT_SLOTS) / CHUNK - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lookup_remove_v4() {
        let mut fib = Fib::<u32>::new();
        let mut w = FibWriter::<u32>::new();
        w.insert(&mut fib, 0x0a00_0000, 8, 1).unwrap();
        w.insert(&mut fib, 0x0a01_0200, 24, 2).unwrap();
        w.insert(&mut fib, 0x0a01_0203, 32, 3).unwrap();
        assert_eq!(fib.lookup(0x0a01_0203), 3);
        assert_eq!(fib.lookup(0x0a01_0204), 2);
        assert_eq!(fib.lookup(0x0a02_0000), 1);
        assert_eq!(fib.lookup(0x0b00_0000), 0);
        // Inserting a shorter prefix afterwards must not override the more specific ones.
        w.insert(&mut fib, 0, 0, 4).unwrap();
        assert_eq!(fib.lookup(0x0a01_0203), 3);
        assert_eq!(fib.lookup(0x0b00_0000), 4);
        w.remove(&mut fib, 0x0a01_0203, 32, 2, 24);
        assert_eq!(fib.lookup(0x0a01_0203), 2);
        w.remove(&mut fib, 0x0a01_0200, 24, 1, 8);
        assert_eq!(fib.lookup(0x0a01_0203), 1);
        // Everything below the root folded back: no chunk leaked.
        assert_eq!(w.chunks_in_use(), 0);
    }

    #[test]
    fn host_route_v6_uses_the_deepest_level() {
        let mut fib = Fib::<u128>::new();
        let mut w = FibWriter::<u128>::new();
        let a: u128 = 0xfd00_0000_0000_0000_0000_0000_0000_0001;
        w.insert(&mut fib, a, 128, 7).unwrap();
        assert_eq!(fib.lookup(a), 7);
        assert_eq!(fib.lookup(a + 1), 0);
        assert_eq!(w.chunks_in_use(), 28);
        w.remove(&mut fib, a, 128, 0, 0);
        assert_eq!(fib.lookup(a), 0);
        assert_eq!(w.chunks_in_use(), 0);
    }
}

//! Control-plane state behind the table's mutex: the exact prefix sets, peer ids, and the per-slot
//! metadata that lets the published tries be updated incrementally.

use std::collections::HashMap;
use std::hash::Hash;

use crate::bits::Bits;
use crate::fib::{Fib, FibWriter, Full};
use crate::prefix::Prefix;
use crate::prefix_set::PrefixSet;
use crate::routes::Routes;

/// Largest peer slot id: values stored in the trie are id + 1 and must stay clear of its child flag.
const MAX_PEER_ID: u32 = (1 << 31) - 2;

/// One address family: the exact prefixes plus the trie's writer-side metadata, kept in step.
#[derive(Debug)]
pub(crate) struct Family<K> {
    pub(crate) routes: Routes<K>,
    meta: FibWriter<K>,
}

impl<K: Bits> Family<K> {
    pub(crate) fn new() -> Self {
        Self {
            routes: Routes::new(),
            meta: FibWriter::new(),
        }
    }

    /// Whether the trie is sure to have room for `inserts` more prefixes (checked when a change is
    /// accepted, because the trie itself is only updated when the transaction publishes).
    pub(crate) fn has_room_for(&self, inserts: usize) -> bool {
        self.meta.has_room_for(inserts)
    }

    /// Brings the trie in line with `routes` for every touched prefix: each touched prefix is either
    /// still present (write its owner) or gone (hand its slots to its nearest shorter prefix).
    ///
    /// Order matters for speed, not correctness: removals go longest first so chunks fold away before
    /// shorter removals walk over them, and inserts go shortest first so a short prefix is written
    /// before the chunks of the longer ones below it exist (inserting a /8 after 100k /24s below it
    /// would rewrite every chunk under it). That makes a bulk load of 1M prefixes linear.
    ///
    /// Returns the touched prefixes that could not be written (only if the trie ran out of index
    /// space despite `has_room_for`); the caller drops them so the table stays consistent.
    pub(crate) fn sync(
        &mut self,
        fib: &mut Fib<K>,
        mut touched: Vec<(K, u8)>,
    ) -> Vec<(K, u8, u32)> {
        touched.sort_unstable_by_key(|&(key, len)| (std::cmp::Reverse(len), key));
        touched.dedup();
        for &(key, len) in &touched {
            if self.routes.get(key, len).is_none() {
                self.unwrite(fib, key, len);
            }
        }
        let mut failed = Vec::new();
        for &(key, len) in touched.iter().rev() {
            if let Some(id) = self.routes.get(key, len) {
                if self.meta.insert(fib, key, len, id + 1).is_err() {
                    // Drop the prefix entirely (an older owner may still be written there).
                    self.routes.remove(key, len);
                    self.unwrite(fib, key, len);
                    failed.push((key, len, id));
                }
            }
        }
        failed
    }

    /// Hands the trie slots of a prefix that is no longer in `routes` to its nearest shorter prefix.
    fn unwrite(&mut self, fib: &mut Fib<K>, key: K, len: u8) {
        let heir = len
            .checked_sub(1)
            .and_then(|shorter| self.routes.longest_match(key, shorter));
        let (value, with_len) = heir.map_or((0, 0), |(_, l, heir_id)| (heir_id + 1, l));
        self.meta.remove(fib, key, len, value, with_len);
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.routes.memory_bytes() + self.meta.memory_bytes()
    }

    pub(crate) fn chunks_in_use(&self) -> usize {
        self.meta.chunks_in_use()
    }
}

/// A peer's slot id and the prefixes it owns.
#[derive(Debug)]
pub(crate) struct PeerEntry {
    pub(crate) id: u32,
    pub(crate) prefixes: PrefixSet,
}

/// Everything the writer needs; only ever touched with the table's mutex held.
#[derive(Debug)]
pub(crate) struct Writer<P> {
    pub(crate) v4: Family<u32>,
    pub(crate) v6: Family<u128>,
    pub(crate) peers: HashMap<P, PeerEntry>,
    /// Slot id -> peer. The trie stores small slot ids rather than `P` so that `P` can be anything
    /// hashable and the trie stays four bytes per slot. Freed ids are reused: a snapshot that still
    /// names the old peer keeps its own copy of this vector.
    pub(crate) slots: Vec<Option<P>>,
    /// A slot was given or freed since the last publish (else the published copy is still right).
    pub(crate) slots_changed: bool,
    free_ids: Vec<u32>,
    /// Number of snapshots published so far.
    pub(crate) generation: u64,
}

impl<P: Copy + Eq + Hash> Writer<P> {
    pub(crate) fn new() -> Self {
        Self {
            v4: Family::new(),
            v6: Family::new(),
            peers: HashMap::new(),
            slots: Vec::new(),
            slots_changed: false,
            free_ids: Vec::new(),
            generation: 0,
        }
    }

    /// The peer's slot id, allocating one for a peer not seen before.
    pub(crate) fn id_for(&mut self, peer: P) -> Result<u32, Full> {
        if let Some(entry) = self.peers.get(&peer) {
            return Ok(entry.id);
        }
        let id = match self.free_ids.pop() {
            Some(id) => id,
            None => {
                let id = u32::try_from(self.slots.len()).map_err(|_| Full)?;
                if id > MAX_PEER_ID {
                    return Err(Full);
                }
                self.slots.push(None);
                id
            }
        };
        if let Some(slot) = self.slots.get_mut(id as usize) {
            *slot = Some(peer);
        }
        self.slots_changed = true;
        self.peers.insert(
            peer,
            PeerEntry {
                id,
                prefixes: PrefixSet::default(),
            },
        );
        Ok(id)
    }

    /// The peer in slot `id`.
    pub(crate) fn peer_of(&self, id: u32) -> Option<P> {
        self.slots.get(id as usize).copied().flatten()
    }

    /// Records that `peer` (slot `id`) now owns `prefix`, taking it from the previous owner if any.
    /// Returns the previous owner.
    pub(crate) fn record_insert(
        &mut self,
        prefix: Prefix,
        peer: P,
        id: u32,
        previous: Option<u32>,
    ) -> Option<P> {
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.prefixes.insert(prefix);
        }
        let previous_peer = previous.and_then(|p| self.peer_of(p));
        if let Some(old) = previous_peer.filter(|_| previous != Some(id)) {
            self.record_removal(prefix, old);
        }
        previous_peer
    }

    /// Records that `peer` no longer owns `prefix`; a peer left with nothing gives its slot back.
    pub(crate) fn record_removal(&mut self, prefix: Prefix, peer: P) {
        let now_empty = match self.peers.get_mut(&peer) {
            Some(entry) => {
                entry.prefixes.remove(&prefix);
                entry.prefixes.is_empty()
            }
            None => false,
        };
        if now_empty {
            self.release(peer);
        }
    }

    /// Drops the peer and frees its slot id; returns the prefixes it still owned.
    pub(crate) fn release(&mut self, peer: P) -> Vec<Prefix> {
        match self.peers.remove(&peer) {
            Some(entry) => {
                if let Some(slot) = self.slots.get_mut(entry.id as usize) {
                    *slot = None;
                }
                self.slots_changed = true;
                self.free_ids.push(entry.id);
                entry.prefixes.iter().copied().collect()
            }
            None => Vec::new(),
        }
    }

    /// Total prefixes in the table.
    pub(crate) fn len(&self) -> usize {
        self.v4.routes.len() + self.v6.routes.len()
    }

    /// Approximate bytes of writer-side state (exact prefix maps, per-peer sets, trie metadata).
    pub(crate) fn memory_bytes(&self) -> usize {
        let per_peer: usize = self.peers.values().map(|e| e.prefixes.heap_bytes()).sum();
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + per_peer
            + self.peers.capacity() * (std::mem::size_of::<(P, PeerEntry)>() + 1)
            + self.slots.capacity() * std::mem::size_of::<Option<P>>()
    }
}

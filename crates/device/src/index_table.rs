//! Receiver-index table: local index -> (peer, keypair or in-flight handshake).
//!
//! Read lock-free by every worker (one `ArcSwap` load per receive batch); changed copy-on-write under a mutex
//! on handshake events, which are rare compared with packets. The map is split into [`SHARDS`] shards by the
//! index's low bits (indices are random, so the shards stay even): a change copies the shard pointers and the
//! one or two shards it touches, so a handshake on a gateway with 100 000 peers (and three keypairs each)
//! copies about a thousand entries, not a third of a million.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::{ArcSwap, Guard};
use rand_core::RngCore;
use wgxdp_noise::{Keypair, KeypairUpdate};

use crate::peer::Peer;

/// What a local index answers to.
#[derive(Clone)]
pub(crate) struct IndexEntry {
    pub peer: Arc<Peer>,
    /// The keypair for transport messages; `None` for our initiation in flight (responses and cookie replies
    /// are addressed to it) or for a response being built.
    pub keypair: Option<Arc<Keypair>>,
}

/// Shards of the index map.
const SHARDS: usize = 256;

type Shard = HashMap<u32, IndexEntry>;

/// One version of the index map.
#[derive(Clone)]
pub(crate) struct IndexMap {
    shards: Vec<Arc<Shard>>,
}

impl Default for IndexMap {
    fn default() -> Self {
        // Every shard starts as the same empty map; the first write to one gives it its own.
        let empty = Arc::new(Shard::new());
        Self {
            shards: vec![empty; SHARDS],
        }
    }
}

impl IndexMap {
    /// What `index` answers to.
    pub fn get(&self, index: &u32) -> Option<&IndexEntry> {
        self.shards.get(*index as usize % SHARDS)?.get(index)
    }

    /// Number of registered indices.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    fn shard_mut(&mut self, index: u32) -> Option<&mut Shard> {
        self.shards
            .get_mut(index as usize % SHARDS)
            .map(Arc::make_mut)
    }

    fn contains(&self, index: u32) -> bool {
        self.get(&index).is_some()
    }

    fn insert(&mut self, index: u32, entry: IndexEntry) {
        if let Some(shard) = self.shard_mut(index) {
            shard.insert(index, entry);
        }
    }

    fn remove(&mut self, index: u32) {
        // Only copy a shard that actually holds the index.
        if self.contains(index) {
            if let Some(shard) = self.shard_mut(index) {
                shard.remove(&index);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&u32, &IndexEntry)> {
        self.shards.iter().flat_map(|s| s.iter())
    }
}

#[derive(Default)]
pub(crate) struct IndexTable {
    map: ArcSwap<IndexMap>,
    /// Serializes writers so two rebuilds cannot lose each other's changes.
    writer: Mutex<()>,
}

impl IndexTable {
    /// Lock-free lookup for the data path.
    pub fn get(&self, index: u32) -> Option<IndexEntry> {
        self.map.load().get(&index).cloned()
    }

    /// The current table, for a batch of lookups: one atomic load per batch instead of one per packet.
    pub fn snapshot(&self) -> Guard<Arc<IndexMap>> {
        self.map.load()
    }

    pub fn len(&self) -> usize {
        self.map.load().len()
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on a copy (sharing every shard `f` does not touch) and publishes it.
    fn edit<R>(&self, f: impl FnOnce(&mut IndexMap) -> R) -> R {
        let _guard = self.lock();
        let mut map = IndexMap::clone(&self.map.load());
        let r = f(&mut map);
        self.map.store(Arc::new(map));
        r
    }

    /// Reserve a fresh random index for `peer` (registered with no keypair yet). Random so indices reveal
    /// nothing and cannot be guessed; unique by construction.
    pub fn reserve(&self, peer: &Arc<Peer>, rng: &mut impl RngCore) -> u32 {
        self.edit(|map| loop {
            let candidate = rng.next_u32();
            if !map.contains(candidate) {
                map.insert(
                    candidate,
                    IndexEntry {
                        peer: Arc::clone(peer),
                        keypair: None,
                    },
                );
                break candidate;
            }
        })
    }

    /// Unregister indices (retired keypairs, replaced or failed handshakes).
    pub fn remove(&self, indices: &[u32]) {
        if indices.is_empty() {
            return;
        }
        self.edit(|map| {
            for &index in indices {
                map.remove(index);
            }
        });
    }

    /// Follow a tunnel's keypair update for `peer`: register the installed keypair under its local index,
    /// unregister the retired ones.
    pub fn apply(&self, peer: &Arc<Peer>, update: &KeypairUpdate) {
        if update.installed.is_none() && update.retired.is_empty() {
            return;
        }
        self.edit(|map| {
            for &index in &update.retired {
                map.remove(index);
            }
            if let Some(keypair) = &update.installed {
                map.insert(
                    keypair.local_index(),
                    IndexEntry {
                        peer: Arc::clone(peer),
                        keypair: Some(Arc::clone(keypair)),
                    },
                );
            }
        });
    }

    /// Every index registered for `peer_id` (a scan, for tests).
    pub fn indices_of(&self, peer_id: u32) -> Vec<u32> {
        self.map
            .load()
            .iter()
            .filter(|(_, e)| e.peer.id == peer_id)
            .map(|(&i, _)| i)
            .collect()
    }
}

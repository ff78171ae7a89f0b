//! Receiver-index table: local index -> (peer, keypair or in-flight handshake).
//!
//! Read lock-free by every worker (one `ArcSwap` load per receive batch); rebuilt copy-on-write under a mutex on
//! handshake events, which are rare compared with packets. A table with many thousands of entries costs a
//! clone per handshake; acceptable at this stage.

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

pub(crate) type IndexMap = HashMap<u32, IndexEntry>;

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
            if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(candidate) {
                slot.insert(IndexEntry {
                    peer: Arc::clone(peer),
                    keypair: None,
                });
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
            for index in indices {
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
            for index in &update.retired {
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

    /// Keep only the entries whose peer id passes `keep` (one rebuild for a batch of removed peers).
    pub fn retain(&self, keep: impl Fn(u32) -> bool) {
        self.edit(|map| map.retain(|_, e| keep(e.peer.id)));
    }

    /// Every index registered for `peer_id` (for removal and tests).
    pub fn indices_of(&self, peer_id: u32) -> Vec<u32> {
        self.map
            .load()
            .iter()
            .filter(|(_, e)| e.peer.id == peer_id)
            .map(|(&i, _)| i)
            .collect()
    }
}

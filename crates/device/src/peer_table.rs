//! The published set of peers, copy-on-write in parts.
//!
//! Workers, the handshake and timer threads and `get` read one version through an `ArcSwap` without locking;
//! `apply_set` edits a copy and publishes it. A copy only duplicates the parts an edit touches:
//! - by id, in segments of [`SEGMENT`] consecutive ids (ids are handed out in creation order and never reused,
//!   so iterating the segments lists peers in the order `get` reports them);
//! - by public key, in [`KEY_SHARDS`] hash maps chosen by the key's first byte (keys are X25519 outputs,
//!   evenly spread).
//!
//! Copying the table itself costs one pointer per segment and shard; adding or changing one peer of 100 000
//! then copies one segment and one shard, not the whole table.

use std::collections::HashMap;
use std::sync::Arc;

use wgxdp_allowedips::Prefix;
use wgxdp_noise::PublicKey;

use crate::peer::{Peer, PeerId};

/// Ids per segment.
const SEGMENT: usize = 1024;
/// Shards of the by-key index.
const KEY_SHARDS: usize = 256;

/// One peer as a version of the table knows it.
#[derive(Clone)]
pub(crate) struct PeerEntry {
    pub peer: Arc<Peer>,
    /// Its allowed IPs in this version, sorted: what `get` lists, published together with the peer.
    pub allowed: Arc<[Prefix]>,
}

#[derive(Clone)]
struct Segment {
    /// `SEGMENT` slots, indexed by `id % SEGMENT`.
    slots: Vec<Option<PeerEntry>>,
    live: usize,
}

impl Segment {
    fn new() -> Self {
        Self {
            slots: vec![None; SEGMENT],
            live: 0,
        }
    }
}

/// One published version of the peer set.
#[derive(Clone)]
pub(crate) struct PeerTable {
    /// By id: what the data path resolves a route's peer id with.
    pub by_id: PeersById,
    /// Public key -> id, in `KEY_SHARDS` shards.
    keys: Vec<Arc<HashMap<PublicKey, PeerId>>>,
    len: usize,
}

/// The peers by id, in segments.
#[derive(Clone, Default)]
pub(crate) struct PeersById {
    /// `segments[id / SEGMENT]`; `None` for a segment without peers.
    segments: Vec<Option<Arc<Segment>>>,
}

impl PeersById {
    /// Peer `id`.
    pub fn get(&self, id: &PeerId) -> Option<&Arc<Peer>> {
        self.entry(*id).map(|e| &e.peer)
    }

    fn entry(&self, id: PeerId) -> Option<&PeerEntry> {
        let (segment, slot) = split(id);
        self.segments
            .get(segment)?
            .as_ref()?
            .slots
            .get(slot)?
            .as_ref()
    }
}

impl Default for PeerTable {
    fn default() -> Self {
        // Every shard starts as the same empty map; the first write to one gives it its own.
        let empty = Arc::new(HashMap::new());
        Self {
            by_id: PeersById::default(),
            keys: vec![empty; KEY_SHARDS],
            len: 0,
        }
    }
}

fn split(id: PeerId) -> (usize, usize) {
    let id = id as usize;
    (id / SEGMENT, id % SEGMENT)
}

fn shard_of(key: &PublicKey) -> usize {
    usize::from(key.as_bytes()[0]) % KEY_SHARDS
}

impl PeerTable {
    /// Number of peers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The entry of peer `id`.
    pub fn get(&self, id: PeerId) -> Option<&PeerEntry> {
        self.by_id.entry(id)
    }

    /// Peer `id`.
    pub fn peer(&self, id: PeerId) -> Option<&Arc<Peer>> {
        self.get(id).map(|e| &e.peer)
    }

    /// The id of the peer with this public key.
    pub fn id_of(&self, key: &PublicKey) -> Option<PeerId> {
        self.keys.get(shard_of(key))?.get(key).copied()
    }

    /// The entry of the peer with this public key.
    pub fn by_key(&self, key: &PublicKey) -> Option<&PeerEntry> {
        self.get(self.id_of(key)?)
    }

    /// The peer with this public key.
    pub fn peer_by_key(&self, key: &PublicKey) -> Option<&Arc<Peer>> {
        self.by_key(key).map(|e| &e.peer)
    }

    /// Every peer, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &PeerEntry> {
        self.by_id
            .segments
            .iter()
            .flatten()
            .flat_map(|segment| segment.slots.iter().flatten())
    }

    /// Adds `entry` (or replaces the entry with its id).
    pub fn insert(&mut self, entry: PeerEntry) {
        let id = entry.peer.id;
        let key = entry.peer.public;
        let (segment, slot) = split(id);
        let segments = &mut self.by_id.segments;
        if segments.len() <= segment {
            segments.resize(segment + 1, None);
        }
        let Some(place) = segments.get_mut(segment) else {
            return;
        };
        let segment = Arc::make_mut(place.get_or_insert_with(|| Arc::new(Segment::new())));
        let Some(place) = segment.slots.get_mut(slot) else {
            return;
        };
        if place.replace(entry).is_none() {
            segment.live += 1;
            self.len += 1;
        }
        if let Some(shard) = self.keys.get_mut(shard_of(&key)) {
            Arc::make_mut(shard).insert(key, id);
        }
    }

    /// Removes peer `id`; returns its entry.
    pub fn remove(&mut self, id: PeerId) -> Option<PeerEntry> {
        let (segment, slot) = split(id);
        let segments = &mut self.by_id.segments;
        let place = segments.get_mut(segment)?;
        place.as_ref()?.slots.get(slot)?.as_ref()?;
        let seg = Arc::make_mut(place.as_mut()?);
        let entry = seg.slots.get_mut(slot)?.take()?;
        seg.live -= 1;
        if seg.live == 0 {
            *place = None;
        }
        while matches!(segments.last(), Some(None)) {
            segments.pop();
        }
        self.len -= 1;
        let key = entry.peer.public;
        if let Some(shard) = self.keys.get_mut(shard_of(&key)) {
            if shard.get(&key) == Some(&id) {
                Arc::make_mut(shard).remove(&key);
            }
        }
        Some(entry)
    }

    /// Replaces the allowed IPs listed for peer `id`.
    pub fn set_allowed(&mut self, id: PeerId, allowed: Arc<[Prefix]>) {
        let (segment, slot) = split(id);
        let Some(Some(place)) = self.by_id.segments.get_mut(segment) else {
            return;
        };
        if let Some(Some(entry)) = Arc::make_mut(place).slots.get_mut(slot) {
            entry.allowed = allowed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timer_queue::TimerQueue;
    use wgxdp_noise::PrivateKey;

    fn entry(id: PeerId, timers: &Arc<TimerQueue>) -> PeerEntry {
        let mut seed = [0u8; 32];
        seed[1..5].copy_from_slice(&id.to_le_bytes());
        seed[31] = 1;
        let public = PrivateKey::from_bytes(seed).public_key();
        PeerEntry {
            peer: Arc::new(Peer::new(id, public, None, 1, Arc::clone(timers))),
            allowed: Arc::from(Vec::new()),
        }
    }

    #[test]
    fn lookups_order_and_copy_on_write() {
        let timers = Arc::new(TimerQueue::default());
        let mut table = PeerTable::default();
        for id in [3, 5000, 7, 1024] {
            table.insert(entry(id, &timers));
        }
        assert_eq!(table.len(), 4);
        let ids: Vec<PeerId> = table.iter().map(|e| e.peer.id).collect();
        assert_eq!(ids, vec![3, 7, 1024, 5000]);
        let key = table.peer(7).unwrap().public;
        assert_eq!(table.id_of(&key), Some(7));
        assert_eq!(table.peer_by_key(&key).map(|p| p.id), Some(7));

        // An edit of a copy leaves the original alone and shares what it did not touch.
        let before = table.clone();
        let mut after = table.clone();
        assert_eq!(after.remove(7).map(|e| e.peer.id), Some(7));
        after.set_allowed(3, Arc::from(vec!["10.0.0.0/8".parse::<Prefix>().unwrap()]));
        assert!(after.remove(7).is_none());
        assert!(after.get(7).is_none() && after.id_of(&key).is_none());
        assert_eq!(after.len(), 3);
        assert_eq!(after.get(3).unwrap().allowed.len(), 1);
        assert!(before.get(3).unwrap().allowed.is_empty());
        assert_eq!(before.id_of(&key), Some(7));
        let shared = |a: &PeerTable, b: &PeerTable, seg: usize| match (
            &a.by_id.segments[seg],
            &b.by_id.segments[seg],
        ) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(!shared(&before, &after, 0));
        assert!(shared(&before, &after, 1));

        // Removing the last peer of the last segment trims it.
        after.remove(5000);
        assert_eq!(after.by_id.segments.len(), 2);
        assert_eq!(after.by_id.get(&3).map(|p| p.id), Some(3));
        assert!(after.get(5000).is_none());
    }
}

//! `AllowedIps`: the shared table — lock-free lookups, serialized updates published atomically.
//!
//! RCU scheme: readers `load()` the current `Arc<Snapshot>` through `arc_swap::ArcSwap` and never lock.
//! Writers take a mutex (updates are rare and come from the control plane), record any number of
//! changes, then copy the lookup array of each family they touched, bring the copy up to date, and
//! publish the result with one atomic pointer store. A reader therefore sees either the old
//! or the new version, never a half-applied change; a batch of changes (`apply`) publishes once.

use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use crate::explain::{self, Route, Shadow, SourceVerdict};
use crate::fib::Full;
use crate::prefix::{Prefix, PrefixError};
use crate::snapshot::{Snapshot, SnapshotGuard};
use crate::writer::Writer;

/// Why an insert was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertError {
    /// The address and length do not form a prefix.
    Prefix(PrefixError),
    /// The table has run out of internal index space (billions of slots or peers); nothing was changed.
    TableFull,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Prefix(e) => write!(f, "invalid prefix: {e}"),
            Self::TableFull => f.write_str("allowed-IPs table is full"),
        }
    }
}

impl std::error::Error for InsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Prefix(e) => Some(e),
            Self::TableFull => None,
        }
    }
}

impl From<PrefixError> for InsertError {
    fn from(e: PrefixError) -> Self {
        Self::Prefix(e)
    }
}

/// Memory held by the table, for capacity planning (`memory()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Prefixes in the table.
    pub prefixes: usize,
    /// Bytes of the current published snapshot (what lookups touch).
    pub lookup_bytes: usize,
    /// Approximate bytes of control-plane state (exact prefix maps, per-peer sets, trie metadata).
    pub writer_bytes: usize,
}

impl MemoryUsage {
    /// Snapshot bytes per prefix (0 for an empty table).
    pub fn lookup_bytes_per_prefix(&self) -> f64 {
        per_prefix(self.lookup_bytes, self.prefixes)
    }

    /// All bytes per prefix (0 for an empty table).
    pub fn total_bytes_per_prefix(&self) -> f64 {
        per_prefix(self.lookup_bytes + self.writer_bytes, self.prefixes)
    }
}

fn per_prefix(bytes: usize, prefixes: usize) -> f64 {
    if prefixes == 0 {
        0.0
    } else {
        bytes as f64 / prefixes as f64
    }
}

/// The cryptokey routing table of one device: IPv4 and IPv6 prefixes, each owned by one peer.
///
/// `P` is the peer identity the device uses (e.g. a `u32` peer slot); it must be small and `Copy`.
pub struct AllowedIps<P> {
    current: ArcSwap<Snapshot<P>>,
    writer: Mutex<Writer<P>>,
}

impl<P: Copy + Eq + Hash> Default for AllowedIps<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Copy + Eq + Hash> AllowedIps<P> {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::empty()),
            writer: Mutex::new(Writer::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Writer<P>> {
        // A panic in a caller's `apply` closure poisons the mutex, but the writer state is still
        // consistent (each change completes before control returns to the closure, and the
        // transaction publishes on unwind), so carrying on is safe.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- data path: lock-free reads ----

    /// The current version, for a batch of lookups.
    #[inline]
    pub fn snapshot(&self) -> SnapshotGuard<P> {
        SnapshotGuard(self.current.load())
    }

    /// Outbound routing: the peer of the most specific prefix containing `dst`.
    #[inline]
    pub fn lookup(&self, dst: IpAddr) -> Option<P> {
        self.current.load().lookup(dst)
    }

    /// [`Self::lookup`] for a numeric IPv4 address (`u32::from(Ipv4Addr)`).
    #[inline]
    pub fn lookup_v4(&self, dst: u32) -> Option<P> {
        self.current.load().lookup_v4(dst)
    }

    /// [`Self::lookup`] for a numeric IPv6 address (`u128::from(Ipv6Addr)`).
    #[inline]
    pub fn lookup_v6(&self, dst: u128) -> Option<P> {
        self.current.load().lookup_v6(dst)
    }

    /// Inbound ACL: true only if the global lookup of `source` names `peer`.
    #[inline]
    pub fn check_source(&self, peer: P, source: IpAddr) -> bool {
        self.current.load().check_source(peer, source)
    }

    // ---- control plane: serialized updates ----

    /// Starts a batch of changes; they become visible to lookups together when the transaction is
    /// dropped (including when a panic unwinds through it, so the table never keeps unpublished state).
    /// Holds the writer lock until then.
    pub fn transaction(&self) -> Transaction<'_, P> {
        Transaction {
            table: self,
            writer: self.lock(),
            touched_v4: Vec::new(),
            touched_v6: Vec::new(),
        }
    }

    /// Runs `f` on a transaction and publishes its changes once.
    ///
    /// `f` runs with the writer lock held: use the transaction's methods, not this table's update or
    /// explain methods (those would wait for the lock forever). Lookups are fine.
    pub fn apply<R>(&self, f: impl FnOnce(&mut Transaction<'_, P>) -> R) -> R {
        let mut txn = self.transaction();
        f(&mut txn)
    }

    /// Gives `prefix` to `peer` (moving it if another peer had it); returns the previous owner.
    pub fn insert(&self, prefix: Prefix, peer: P) -> Result<Option<P>, InsertError> {
        self.transaction().insert(prefix, peer)
    }

    /// [`Self::insert`] from an address and a length; host bits are cleared, a length longer than the
    /// address is an error.
    pub fn insert_addr(&self, addr: IpAddr, len: u8, peer: P) -> Result<Option<P>, InsertError> {
        self.insert(Prefix::new(addr, len)?, peer)
    }

    /// Removes one prefix; returns the peer that owned it.
    pub fn remove(&self, prefix: Prefix) -> Option<P> {
        self.transaction().remove(prefix)
    }

    /// Removes every prefix of `peer`; returns how many there were.
    pub fn remove_peer(&self, peer: P) -> usize {
        self.transaction().remove_peer(peer)
    }

    /// The prefixes `peer` owns, sorted.
    pub fn prefixes_of(&self, peer: P) -> Vec<Prefix> {
        sorted_prefixes(&self.lock(), peer)
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.current.load().len()
    }

    /// True when the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory held by the table.
    pub fn memory(&self) -> MemoryUsage {
        let w = self.lock();
        let snap = self.current.load();
        MemoryUsage {
            prefixes: w.len(),
            lookup_bytes: snap.memory_bytes(),
            writer_bytes: w.memory_bytes(),
        }
    }

    /// Trie chunks in use (IPv4, IPv6): memory that removals must give back. For tests and statistics.
    pub fn chunk_count(&self) -> (usize, usize) {
        let w = self.lock();
        (w.v4.chunks_in_use(), w.v6.chunks_in_use())
    }

    // ---- explanations (control plane; take the writer lock, never block lookups) ----

    /// Would a packet from `peer` with inner source `source` be accepted, and why.
    pub fn explain_source(&self, peer: P, source: IpAddr) -> SourceVerdict<P> {
        explain::source(&self.lock(), peer, source)
    }

    /// Where a packet to `dst` goes, and which less specific prefixes it overrides.
    pub fn explain_route(&self, dst: IpAddr) -> Route<P> {
        explain::route(&self.lock(), dst)
    }

    /// Each prefix of `peer` that other peers' more specific prefixes cut into, with those prefixes.
    /// Costs `peer`'s prefixes and what lies directly inside them.
    pub fn shadowed(&self, peer: P) -> Vec<Shadow<P>> {
        explain::shadowed(&self.lock(), peer)
    }

    /// The other peers' prefixes that `peer`'s more specific prefixes cut into, one [`Shadow`] each, whose
    /// `by` lists only `peer`'s prefixes. Costs `peer`'s prefixes, not the table.
    pub fn shadowed_by(&self, peer: P) -> Vec<Shadow<P>> {
        explain::shadowed_by(&self.lock(), peer)
    }

    /// The shadows that a change of `prefixes` (inserted, moved or removed) may have created or altered:
    /// those of the prefixes themselves and of their nearest enclosing prefixes, sorted, each once. What a
    /// control plane reports after a change without rescanning the whole table.
    pub fn shadows_around(&self, prefixes: &[Prefix]) -> Vec<Shadow<P>> {
        explain::shadows_around(&self.lock(), prefixes)
    }
}

fn sorted_prefixes<P: Copy + Eq + Hash>(w: &Writer<P>, peer: P) -> Vec<Prefix> {
    let mut list: Vec<Prefix> = w
        .peers
        .get(&peer)
        .map(|e| e.prefixes.iter().copied().collect())
        .unwrap_or_default();
    list.sort();
    list
}

/// A batch of changes holding the writer lock; published atomically when dropped.
///
/// Changes update the exact prefix maps at once (so return values, `len` and `prefixes_of` reflect
/// them) and the lookup tries once, in sorted order, when publishing.
pub struct Transaction<'a, P: Copy + Eq + Hash> {
    table: &'a AllowedIps<P>,
    writer: MutexGuard<'a, Writer<P>>,
    /// Prefixes inserted, moved or removed since the last publish (duplicates allowed: a vector is
    /// much cheaper than a set for bulk loads, and publishing sorts and deduplicates anyway).
    touched_v4: Vec<(u32, u8)>,
    touched_v6: Vec<(u128, u8)>,
}

impl<P: Copy + Eq + Hash> Transaction<'_, P> {
    /// Gives `prefix` to `peer` (moving it if another peer had it); returns the previous owner.
    pub fn insert(&mut self, prefix: Prefix, peer: P) -> Result<Option<P>, InsertError> {
        let w = &mut *self.writer;
        let len = prefix.len();
        let room = match prefix.addr() {
            IpAddr::V4(_) => w.v4.has_room_for(self.touched_v4.len() + 1),
            IpAddr::V6(_) => w.v6.has_room_for(self.touched_v6.len() + 1),
        };
        if !room {
            return Err(InsertError::TableFull);
        }
        let id = w.id_for(peer).map_err(|Full| InsertError::TableFull)?;
        let previous = match prefix.addr() {
            IpAddr::V4(a) => {
                self.touched_v4.push((u32::from(a), len));
                w.v4.routes.insert(u32::from(a), len, id)
            }
            IpAddr::V6(a) => {
                self.touched_v6.push((u128::from(a), len));
                w.v6.routes.insert(u128::from(a), len, id)
            }
        };
        Ok(w.record_insert(prefix, peer, id, previous))
    }

    /// [`Self::insert`] from an address and a length.
    pub fn insert_addr(
        &mut self,
        addr: IpAddr,
        len: u8,
        peer: P,
    ) -> Result<Option<P>, InsertError> {
        self.insert(Prefix::new(addr, len)?, peer)
    }

    /// Removes one prefix; returns the peer that owned it.
    pub fn remove(&mut self, prefix: Prefix) -> Option<P> {
        let id = self.remove_route(prefix)?;
        let w = &mut *self.writer;
        let peer = w.peer_of(id)?;
        w.record_removal(prefix, peer);
        Some(peer)
    }

    /// Removes every prefix of `peer`; returns how many there were.
    pub fn remove_peer(&mut self, peer: P) -> usize {
        let prefixes = self.writer.release(peer);
        for &prefix in &prefixes {
            self.remove_route(prefix);
        }
        prefixes.len()
    }

    /// Removes the prefix from the exact map (not from its peer's set); returns its owner.
    fn remove_route(&mut self, prefix: Prefix) -> Option<u32> {
        let w = &mut *self.writer;
        let len = prefix.len();
        match prefix.addr() {
            IpAddr::V4(a) => {
                let id = w.v4.routes.remove(u32::from(a), len)?;
                self.touched_v4.push((u32::from(a), len));
                Some(id)
            }
            IpAddr::V6(a) => {
                let id = w.v6.routes.remove(u128::from(a), len)?;
                self.touched_v6.push((u128::from(a), len));
                Some(id)
            }
        }
    }

    /// The prefixes `peer` owns in this transaction's state, sorted.
    pub fn prefixes_of(&self, peer: P) -> Vec<Prefix> {
        sorted_prefixes(&self.writer, peer)
    }

    /// The owner of exactly `prefix` in this transaction's state (not a longest-prefix match).
    pub fn get(&self, prefix: Prefix) -> Option<P> {
        let w = &*self.writer;
        let id = match prefix.addr() {
            IpAddr::V4(a) => w.v4.routes.get(u32::from(a), prefix.len()),
            IpAddr::V6(a) => w.v6.routes.get(u128::from(a), prefix.len()),
        }?;
        w.peer_of(id)
    }

    /// Number of prefixes in this transaction's state.
    pub fn len(&self) -> usize {
        self.writer.len()
    }

    /// True when this transaction's state holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Publishes the changes made so far (done automatically on drop). Lets a long batch become visible
    /// in steps without releasing the writer lock.
    pub fn publish(&mut self) {
        if self.touched_v4.is_empty() && self.touched_v6.is_empty() {
            return;
        }
        let w = &mut *self.writer;
        let base = self.table.current.load();
        let mut unwritable: Vec<(Prefix, u32)> = Vec::new();
        // Copy-on-write per family: an untouched family's array is shared with the previous version.
        let v4 = if self.touched_v4.is_empty() {
            Arc::clone(&base.v4)
        } else {
            let mut fib = (*base.v4).clone();
            let failed = w.v4.sync(&mut fib, std::mem::take(&mut self.touched_v4));
            unwritable.extend(
                failed
                    .into_iter()
                    .map(|(k, l, id)| (Prefix::from_key(k, l), id)),
            );
            Arc::new(fib)
        };
        let v6 = if self.touched_v6.is_empty() {
            Arc::clone(&base.v6)
        } else {
            let mut fib = (*base.v6).clone();
            let failed = w.v6.sync(&mut fib, std::mem::take(&mut self.touched_v6));
            unwritable.extend(
                failed
                    .into_iter()
                    .map(|(k, l, id)| (Prefix::from_key(k, l), id)),
            );
            Arc::new(fib)
        };
        for (prefix, id) in unwritable {
            if let Some(peer) = w.peer_of(id) {
                w.record_removal(prefix, peer);
            }
        }
        w.generation += 1;
        let snapshot = Snapshot {
            v4,
            v6,
            // The slot list is copied only when a peer got or gave back a slot: a change of one peer's
            // prefixes on a large table shares it with the previous version.
            peers: if std::mem::take(&mut w.slots_changed) {
                Arc::from(w.slots.as_slice())
            } else {
                Arc::clone(&base.peers)
            },
            generation: w.generation,
            prefixes: w.len(),
        };
        self.table.current.store(Arc::new(snapshot));
    }
}

impl<P: Copy + Eq + Hash> Drop for Transaction<'_, P> {
    fn drop(&mut self) {
        self.publish();
    }
}

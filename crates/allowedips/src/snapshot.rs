//! `Snapshot`: one published, immutable version of the table, which lookups read without locking.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use crate::fib::{Fib, Value};

/// One published version of the table. Never changes once published; updates publish a new one.
///
/// Data-path workers should take one snapshot per batch of packets ([`crate::AllowedIps::snapshot`])
/// and look every packet of the batch up in it: one atomic load per batch, and the whole batch sees
/// one consistent version.
#[derive(Debug)]
pub struct Snapshot<P> {
    // Per-family `Arc`s: a transaction that only touches one family shares the other one's array with
    // the previous snapshot instead of copying it.
    pub(crate) v4: Arc<Fib<u32>>,
    pub(crate) v6: Arc<Fib<u128>>,
    /// Slot id -> peer, as of this version; shared with the previous version when no slot changed.
    pub(crate) peers: Arc<[Option<P>]>,
    pub(crate) generation: u64,
    pub(crate) prefixes: usize,
}

impl<P: Copy + Eq> Snapshot<P> {
    pub(crate) fn empty() -> Self {
        Self {
            v4: Arc::new(Fib::new()),
            v6: Arc::new(Fib::new()),
            peers: Arc::from(Vec::new()),
            generation: 0,
            prefixes: 0,
        }
    }

    #[inline]
    fn peer(&self, value: Value) -> Option<P> {
        let id = value.checked_sub(1)?;
        self.peers.get(id as usize).copied().flatten()
    }

    /// The peer owning the most specific prefix that contains `addr` (outbound routing).
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<P> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }
    }

    /// [`Self::lookup`] for an IPv4 address given as its numeric value (`u32::from(Ipv4Addr)`, i.e.
    /// `u32::from_be_bytes` of the header bytes).
    #[inline]
    pub fn lookup_v4(&self, addr: u32) -> Option<P> {
        self.peer(self.v4.lookup(addr))
    }

    /// [`Self::lookup`] for an IPv6 address given as its numeric value (`u128::from(Ipv6Addr)`).
    #[inline]
    pub fn lookup_v6(&self, addr: u128) -> Option<P> {
        self.peer(self.v6.lookup(addr))
    }

    /// Inbound ACL: accept a packet decrypted from `peer` with inner source `source` only if the
    /// global lookup of `source` names `peer` (not merely if one of `peer`'s prefixes contains it).
    #[inline]
    pub fn check_source(&self, peer: P, source: IpAddr) -> bool {
        self.lookup(source) == Some(peer)
    }

    /// How many versions were published before this one (0 for the initial empty table).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of prefixes in this version.
    pub fn len(&self) -> usize {
        self.prefixes
    }

    /// True when this version holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.prefixes == 0
    }

    /// Bytes held by this version's lookup arrays and peer list.
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + self.peers.len() * std::mem::size_of::<Option<P>>()
    }
}

/// A loaded snapshot. Cheap to take (no lock, no shared counter on the fast path); hold it only for
/// a batch, since a held guard keeps its version's memory alive.
pub struct SnapshotGuard<P>(pub(crate) arc_swap::Guard<Arc<Snapshot<P>>>);

impl<P> Deref for SnapshotGuard<P> {
    type Target = Snapshot<P>;

    fn deref(&self) -> &Snapshot<P> {
        &self.0
    }
}

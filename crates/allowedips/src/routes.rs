//! The writer's source of truth for one address family: exact prefix -> peer slot id.
//!
//! The trie answers "which value for this address" fast but forgets which prefix put it there; the
//! control plane needs the prefixes themselves (to find the prefix that takes over after a removal, to
//! explain a verdict, to list shadows). A hash map keyed by (network, length) answers those with at most
//! one probe per prefix length in use.

use std::collections::HashMap;

use crate::bits::Bits;

/// One family's prefixes, keyed by (network bits with host bits clear, length).
#[derive(Debug)]
pub(crate) struct Routes<K> {
    map: HashMap<(K, u8), u32>,
    /// How many prefixes exist of each length, so searches skip lengths nobody uses (a real table uses
    /// a couple of dozen lengths, not 129).
    per_len: Vec<u32>,
}

impl<K: Bits> Routes<K> {
    pub(crate) fn new() -> Self {
        Self {
            map: HashMap::new(),
            per_len: vec![0; usize::from(K::WIDTH) + 1],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Sets the owner of a prefix; returns the previous owner.
    pub(crate) fn insert(&mut self, key: K, len: u8, id: u32) -> Option<u32> {
        let previous = self.map.insert((key, len), id);
        if previous.is_none() {
            self.count(len, true);
        }
        previous
    }

    /// The owner of exactly this prefix.
    pub(crate) fn get(&self, key: K, len: u8) -> Option<u32> {
        self.map.get(&(key, len)).copied()
    }

    /// Removes a prefix; returns its owner.
    pub(crate) fn remove(&mut self, key: K, len: u8) -> Option<u32> {
        let previous = self.map.remove(&(key, len));
        if previous.is_some() {
            self.count(len, false);
        }
        previous
    }

    fn count(&mut self, len: u8, up: bool) {
        if let Some(n) = self.per_len.get_mut(usize::from(len)) {
            *n = if up {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        }
    }

    /// The most specific prefix containing `addr` whose length is at most `max_len`, as
    /// (network, length, owner).
    pub(crate) fn longest_match(&self, addr: K, max_len: u8) -> Option<(K, u8, u32)> {
        self.matches(addr, max_len).next()
    }

    /// Every prefix containing `addr` with length at most `max_len`, most specific first.
    pub(crate) fn matches(&self, addr: K, max_len: u8) -> impl Iterator<Item = (K, u8, u32)> + '_ {
        let top = usize::from(max_len.min(K::WIDTH));
        (0..=top).rev().filter_map(move |l| {
            if self.per_len.get(l).copied().unwrap_or(0) == 0 {
                return None;
            }
            let len = u8::try_from(l).ok()?;
            let key = addr.masked(len);
            self.map.get(&(key, len)).map(|&id| (key, len, id))
        })
    }

    /// All prefixes, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, u8, u32)> + '_ {
        self.map.iter().map(|(&(k, l), &id)| (k, l, id))
    }

    /// Approximate bytes held (hash table slots plus one control byte each).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<((K, u8), u32)>() + 1)
            + self.per_len.capacity() * std::mem::size_of::<u32>()
    }
}

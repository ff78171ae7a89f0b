//! The writer's source of truth for one address family: exact prefix -> peer slot id.
//!
//! The trie answers "which value for this address" fast but forgets which prefix put it there; the
//! control plane needs the prefixes themselves (to find the prefix that takes over after a removal, to
//! explain a verdict, to list shadows). An ordered map keyed by (network, length) answers those with at
//! most one probe per prefix length in use, and keeps every prefix inside a given one in one contiguous
//! range, so "what lies directly inside this prefix" costs the answer, not a scan of the table.

use std::collections::BTreeMap;

use crate::bits::Bits;

/// One family's prefixes, keyed by (network bits with host bits clear, length).
#[derive(Debug)]
pub(crate) struct Routes<K> {
    /// Ordered by network, then length: a prefix is followed by everything inside it.
    map: BTreeMap<(K, u8), u32>,
    /// How many prefixes exist of each length, so searches skip lengths nobody uses (a real table uses
    /// a couple of dozen lengths, not 129).
    per_len: Vec<u32>,
}

impl<K: Bits> Routes<K> {
    pub(crate) fn new() -> Self {
        Self {
            map: BTreeMap::new(),
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

    /// The prefixes directly inside the `len`-bit prefix `key` (which need not be in the table): those
    /// inside it whose nearest enclosing prefix, among it and the table's prefixes, is it. In address order.
    ///
    /// Costs one ordered-map seek per answer: after each child the walk jumps past everything inside that
    /// child instead of visiting it.
    pub(crate) fn children(&self, key: K, len: u8) -> Vec<(K, u8, u32)> {
        let mut out = Vec::new();
        if len >= K::WIDTH {
            return out;
        }
        let last = key.with_host_bits(len);
        // Everything at `key` with a longer length, then every later network up to `last`, is inside it (a
        // later network inside the range cannot belong to a prefix as short as `len` or shorter).
        let mut from = (key, len + 1);
        while let Some((&(k, l), &id)) = self.map.range(from..).next() {
            if k > last {
                break;
            }
            out.push((k, l, id));
            match k.with_host_bits(l).successor() {
                Some(next) if next <= last => from = (next, 0),
                _ => break,
            }
        }
        out
    }

    /// Approximate bytes held: the ordered map's entries plus their share of node overhead (about a third
    /// on top of the payload for a B-tree of this fan-out), and the per-length counters.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.map.len() * (std::mem::size_of::<((K, u8), u32)>() * 4 / 3 + 2)
            + self.per_len.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(list: &[(u32, u8, u32)]) -> Routes<u32> {
        let mut r = Routes::new();
        for &(k, l, id) in list {
            r.insert(k, l, id);
        }
        r
    }

    #[test]
    fn children_skip_grandchildren() {
        let r = routes(&[
            (0x0a00_0000, 8, 1),
            (0x0a01_0000, 16, 2),
            (0x0a01_0200, 24, 3), // inside 10.1/16: a grandchild of 10/8
            (0x0a02_0000, 16, 4),
            (0x0aff_ff00, 24, 5),
            (0x0b00_0000, 8, 6), // outside
            (0x0a00_0000, 7, 7), // encloses 10/8: not inside it
        ]);
        let kids: Vec<u32> = r
            .children(0x0a00_0000, 8)
            .into_iter()
            .map(|c| c.2)
            .collect();
        assert_eq!(kids, vec![2, 4, 5]);
        let kids: Vec<u32> = r
            .children(0x0a01_0000, 16)
            .into_iter()
            .map(|c| c.2)
            .collect();
        assert_eq!(kids, vec![3]);
        assert!(r.children(0x0a01_0200, 24).is_empty());
        assert!(r.children(0x0a01_0203, 32).is_empty());
        // The whole space: the /7 (10.0.0.0-11.255.255.255) is the outermost one.
        let kids: Vec<u32> = r.children(0, 0).into_iter().map(|c| c.2).collect();
        assert_eq!(kids, vec![7]);
        let kids: Vec<u32> = r
            .children(0x0a00_0000, 7)
            .into_iter()
            .map(|c| c.2)
            .collect();
        assert_eq!(kids, vec![1, 6]);
    }

    #[test]
    fn children_reach_the_end_of_the_space() {
        let r = routes(&[(0x8000_0000, 1, 1), (0xffff_ffff, 32, 2)]);
        let kids: Vec<u32> = r.children(0, 0).into_iter().map(|c| c.2).collect();
        assert_eq!(kids, vec![1]);
        let kids: Vec<u32> = r
            .children(0x8000_0000, 1)
            .into_iter()
            .map(|c| c.2)
            .collect();
        assert_eq!(kids, vec![2]);
    }
}

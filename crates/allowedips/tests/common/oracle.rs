//! Naive reference table: a linear scan over every prefix. Obviously correct, deliberately slow; the
//! tests compare the real table against it and the benchmark uses it as the baseline.
#![allow(dead_code)] // each test binary uses a different part of it

use std::net::IpAddr;

use wgxdp_allowedips::Prefix;

/// Prefixes with owners, scanned linearly. Kept sorted longest first so the first hit is the answer
/// (the scan stays naive: no index, just an early exit).
#[derive(Debug, Clone)]
pub struct LinearTable<P> {
    v4: Vec<(u32, u8, P)>,
    v6: Vec<(u128, u8, P)>,
}

impl<P: Copy + PartialEq> Default for LinearTable<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn contains_v4(net: u32, len: u8, addr: u32) -> bool {
    len == 0 || (addr ^ net) >> (32 - u32::from(len)) == 0
}

fn contains_v6(net: u128, len: u8, addr: u128) -> bool {
    len == 0 || (addr ^ net) >> (128 - u32::from(len)) == 0
}

impl<P: Copy + PartialEq> LinearTable<P> {
    pub fn new() -> Self {
        Self {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives the prefix to `peer`; returns the previous owner.
    pub fn insert(&mut self, prefix: Prefix, peer: P) -> Option<P> {
        match prefix.addr() {
            IpAddr::V4(a) => upsert(&mut self.v4, u32::from(a), prefix.len(), peer),
            IpAddr::V6(a) => upsert(&mut self.v6, u128::from(a), prefix.len(), peer),
        }
    }

    pub fn remove(&mut self, prefix: Prefix) -> Option<P> {
        match prefix.addr() {
            IpAddr::V4(a) => take(&mut self.v4, u32::from(a), prefix.len()),
            IpAddr::V6(a) => take(&mut self.v6, u128::from(a), prefix.len()),
        }
    }

    pub fn remove_peer(&mut self, peer: P) -> usize {
        let before = self.len();
        self.v4.retain(|e| e.2 != peer);
        self.v6.retain(|e| e.2 != peer);
        before - self.len()
    }

    /// Every (prefix, owner), IPv4 first.
    pub fn entries(&self) -> Vec<(Prefix, P)> {
        let v4 = self
            .v4
            .iter()
            .map(|&(n, l, p)| (Prefix::new(IpAddr::V4(n.into()), l).unwrap(), p));
        let v6 = self
            .v6
            .iter()
            .map(|&(n, l, p)| (Prefix::new(IpAddr::V6(n.into()), l).unwrap(), p));
        v4.chain(v6).collect()
    }

    pub fn prefixes_of(&self, peer: P) -> Vec<Prefix> {
        let mut list: Vec<Prefix> = self
            .entries()
            .into_iter()
            .filter(|e| e.1 == peer)
            .map(|e| e.0)
            .collect();
        list.sort();
        list
    }

    pub fn lookup(&self, addr: IpAddr) -> Option<P> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }
    }

    pub fn lookup_v4(&self, addr: u32) -> Option<P> {
        self.v4
            .iter()
            .find(|&&(n, l, _)| contains_v4(n, l, addr))
            .map(|e| e.2)
    }

    pub fn lookup_v6(&self, addr: u128) -> Option<P> {
        self.v6
            .iter()
            .find(|&&(n, l, _)| contains_v6(n, l, addr))
            .map(|e| e.2)
    }
}

fn upsert<K: PartialEq, P: Copy>(
    list: &mut Vec<(K, u8, P)>,
    net: K,
    len: u8,
    peer: P,
) -> Option<P> {
    if let Some(e) = list.iter_mut().find(|e| e.0 == net && e.1 == len) {
        return Some(std::mem::replace(&mut e.2, peer));
    }
    // Longest first, so lookups can stop at the first hit.
    let at = list.partition_point(|e| e.1 >= len);
    list.insert(at, (net, len, peer));
    None
}

fn take<K: PartialEq, P: Copy>(list: &mut Vec<(K, u8, P)>, net: K, len: u8) -> Option<P> {
    let at = list.iter().position(|e| e.0 == net && e.1 == len)?;
    Some(list.remove(at).2)
}

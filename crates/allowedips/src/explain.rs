//! Human-readable answers to "why was this packet dropped / where does this go / what of my prefixes
//! is lost to other peers" — the backing of `wgxdp explain`.
//!
//! These run on the writer-side exact prefix maps (under the writer lock, so they see exactly the
//! latest published version) rather than on the trie, because the trie forgets which prefix put a
//! value in a slot. They are control-plane speed, not data-path speed.

use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;

use crate::bits::Bits;
use crate::prefix::Prefix;
use crate::routes::Routes;
use crate::writer::Writer;

/// The inbound ACL decision for a (peer, inner source address) pair, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceVerdict<P> {
    /// The most specific prefix containing the source belongs to the sending peer.
    Accept {
        /// The inner source address.
        source: IpAddr,
        /// The sending peer.
        peer: P,
        /// The peer's prefix that matched.
        via: Prefix,
    },
    /// The most specific prefix containing the source belongs to another peer.
    OtherPeer {
        /// The inner source address.
        source: IpAddr,
        /// The sending peer.
        peer: P,
        /// The peer the source routes to.
        winner: P,
        /// The winning prefix.
        via: Prefix,
        /// The sending peer's own (less specific) prefix containing the source, if it has one.
        own: Option<Prefix>,
    },
    /// No prefix of any peer contains the source.
    NoRoute {
        /// The inner source address.
        source: IpAddr,
        /// The sending peer.
        peer: P,
    },
}

impl<P> SourceVerdict<P> {
    /// True when the packet is accepted.
    pub fn is_accept(&self) -> bool {
        matches!(self, Self::Accept { .. })
    }

    /// The same verdict with peers translated (e.g. slot ids to public keys or names) for display.
    pub fn map_peer<Q>(self, mut f: impl FnMut(P) -> Q) -> SourceVerdict<Q> {
        match self {
            Self::Accept { source, peer, via } => SourceVerdict::Accept {
                source,
                peer: f(peer),
                via,
            },
            Self::OtherPeer {
                source,
                peer,
                winner,
                via,
                own,
            } => SourceVerdict::OtherPeer {
                source,
                peer: f(peer),
                winner: f(winner),
                via,
                own,
            },
            Self::NoRoute { source, peer } => SourceVerdict::NoRoute {
                source,
                peer: f(peer),
            },
        }
    }
}

impl<P: fmt::Display> fmt::Display for SourceVerdict<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept { source, peer, via } => {
                write!(f, "accept: {source} from peer {peer} is inside its allowed IP {via}")
            }
            Self::OtherPeer { source, peer, winner, via, own: Some(own) } => write!(
                f,
                "drop: {source} routes to peer {winner} via {via} (more specific than peer {peer}'s {own})"
            ),
            Self::OtherPeer { source, peer, winner, via, own: None } => write!(
                f,
                "drop: {source} routes to peer {winner} via {via}; peer {peer} has no allowed IP containing it"
            ),
            Self::NoRoute { source, peer } => {
                write!(f, "drop: {source} from peer {peer}: no peer's allowed IPs contain it")
            }
        }
    }
}

/// Where a destination routes, and which less specific prefixes it overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<P> {
    /// The destination address.
    pub destination: IpAddr,
    /// The most specific prefix containing it and its peer; `None` means the packet has no route.
    pub via: Option<(Prefix, P)>,
    /// The other prefixes that contain it, most specific first: they lose to `via`.
    pub overrides: Vec<(Prefix, P)>,
}

impl<P> Route<P> {
    /// The same route with peers translated for display.
    pub fn map_peer<Q>(self, mut f: impl FnMut(P) -> Q) -> Route<Q> {
        Route {
            destination: self.destination,
            via: self.via.map(|(p, peer)| (p, f(peer))),
            overrides: self
                .overrides
                .into_iter()
                .map(|(p, peer)| (p, f(peer)))
                .collect(),
        }
    }
}

impl<P: fmt::Display> fmt::Display for Route<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.via {
            None => write!(
                f,
                "{}: no route (no peer's allowed IPs contain it)",
                self.destination
            ),
            Some((prefix, peer)) => {
                write!(f, "{} routes to peer {peer} via {prefix}", self.destination)?;
                if !self.overrides.is_empty() {
                    f.write_str(" (more specific than ")?;
                    write_owned_list(f, &self.overrides)?;
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

/// One prefix of a peer that other peers' more specific prefixes cut into.
///
/// Traffic to the `by` parts goes to those peers, and packets from there sent by `peer` are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow<P> {
    /// The peer whose prefix is shadowed.
    pub peer: P,
    /// The shadowed prefix.
    pub prefix: Prefix,
    /// The outermost more specific prefixes of other peers inside `prefix`, sorted. (Prefixes nested in
    /// those are not listed again; the peer's own more specific prefixes get their own `Shadow`.)
    pub by: Vec<(Prefix, P)>,
    /// True when `by` covers all of `prefix`: this prefix routes nothing to its peer at all.
    pub fully: bool,
}

impl<P> Shadow<P> {
    /// The same shadow with peers translated for display.
    pub fn map_peer<Q>(self, mut f: impl FnMut(P) -> Q) -> Shadow<Q> {
        Shadow {
            peer: f(self.peer),
            prefix: self.prefix,
            by: self.by.into_iter().map(|(p, peer)| (p, f(peer))).collect(),
            fully: self.fully,
        }
    }
}

impl<P: fmt::Display> fmt::Display for Shadow<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.fully { "entirely" } else { "partly" };
        write!(
            f,
            "peer {}'s {} is {how} shadowed by ",
            self.peer, self.prefix
        )?;
        write_owned_list(f, &self.by)?;
        let consequence = if self.fully {
            "no traffic routes to it there, and every packet it sends from there is dropped"
        } else {
            "traffic to those parts goes elsewhere, and packets it sends from them are dropped"
        };
        write!(f, ": {consequence}")
    }
}

fn write_owned_list<P: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    list: &[(Prefix, P)],
) -> fmt::Result {
    for (i, (prefix, peer)) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "peer {peer}'s {prefix}")?;
    }
    Ok(())
}

/// Every prefix containing `addr`, most specific first, with owners.
fn chain<K: Bits, P: Copy + Eq + Hash>(
    w: &Writer<P>,
    routes: &Routes<K>,
    addr: K,
) -> Vec<(Prefix, P)> {
    routes
        .matches(addr, K::WIDTH)
        .filter_map(|(key, len, id)| Some((Prefix::from_key(key, len), w.peer_of(id)?)))
        .collect()
}

fn chain_of<P: Copy + Eq + Hash>(w: &Writer<P>, addr: IpAddr) -> Vec<(Prefix, P)> {
    match addr {
        IpAddr::V4(a) => chain(w, &w.v4.routes, u32::from(a)),
        IpAddr::V6(a) => chain(w, &w.v6.routes, u128::from(a)),
    }
}

pub(crate) fn source<P: Copy + Eq + Hash>(
    w: &Writer<P>,
    peer: P,
    source: IpAddr,
) -> SourceVerdict<P> {
    let chain = chain_of(w, source);
    match chain.first() {
        None => SourceVerdict::NoRoute { source, peer },
        Some(&(via, winner)) if winner == peer => SourceVerdict::Accept { source, peer, via },
        Some(&(via, winner)) => {
            let own = chain
                .iter()
                .find(|(_, p)| *p == peer)
                .map(|(prefix, _)| *prefix);
            SourceVerdict::OtherPeer {
                source,
                peer,
                winner,
                via,
                own,
            }
        }
    }
}

pub(crate) fn route<P: Copy + Eq + Hash>(w: &Writer<P>, destination: IpAddr) -> Route<P> {
    let mut chain = chain_of(w, destination).into_iter();
    let via = chain.next();
    Route {
        destination,
        via,
        overrides: chain.collect(),
    }
}

/// The shadow of one prefix of the table: its owner and the other peers' prefixes directly inside it.
/// `None` when the prefix is not in the table or nothing foreign lies directly inside it.
fn shadow_in<K: Bits, P: Copy + Eq + Hash>(
    w: &Writer<P>,
    routes: &Routes<K>,
    key: K,
    len: u8,
) -> Option<Shadow<P>> {
    let owner_id = routes.get(key, len)?;
    let peer = w.peer_of(owner_id)?;
    let mut by: Vec<(Prefix, P)> = routes
        .children(key, len)
        .into_iter()
        .filter(|&(_, _, id)| id != owner_id)
        .filter_map(|(k, l, id)| Some((Prefix::from_key(k, l), w.peer_of(id)?)))
        .collect();
    if by.is_empty() {
        return None;
    }
    by.sort_by_key(|(p, _)| *p);
    let prefix = Prefix::from_key(key, len);
    let fully = covers_entirely(&prefix, &by);
    Some(Shadow {
        peer,
        prefix,
        by,
        fully,
    })
}

/// [`shadow_in`] for a prefix of either family.
fn shadow_of<P: Copy + Eq + Hash>(w: &Writer<P>, prefix: &Prefix) -> Option<Shadow<P>> {
    match prefix.addr() {
        IpAddr::V4(a) => shadow_in(w, &w.v4.routes, u32::from(a), prefix.len()),
        IpAddr::V6(a) => shadow_in(w, &w.v6.routes, u128::from(a), prefix.len()),
    }
}

/// The nearest prefix of the table strictly enclosing `prefix` (which need not be in the table), with its
/// owner's slot id.
fn parent_of<P>(w: &Writer<P>, prefix: &Prefix) -> Option<(Prefix, u32)> {
    let shorter = prefix.len().checked_sub(1)?;
    match prefix.addr() {
        IpAddr::V4(a) => {
            w.v4.routes
                .longest_match(u32::from(a), shorter)
                .map(|(k, l, id)| (Prefix::from_key(k, l), id))
        }
        IpAddr::V6(a) => {
            w.v6.routes
                .longest_match(u128::from(a), shorter)
                .map(|(k, l, id)| (Prefix::from_key(k, l), id))
        }
    }
}

/// The shadows of `candidates` (prefixes of the table or not), sorted by prefix. Each distinct prefix is
/// looked at once, however often it is named: many host routes share one enclosing prefix.
fn shadows_of<P: Copy + Eq + Hash>(w: &Writer<P>, mut candidates: Vec<Prefix>) -> Vec<Shadow<P>> {
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .iter()
        .filter_map(|prefix| shadow_of(w, prefix))
        .collect()
}

/// Each prefix of `peer` that other peers' prefixes cut into. Costs the peer's prefixes and what lies
/// directly inside them, not a scan of the table.
pub(crate) fn shadowed<P: Copy + Eq + Hash>(w: &Writer<P>, peer: P) -> Vec<Shadow<P>> {
    let Some(entry) = w.peers.get(&peer) else {
        return Vec::new();
    };
    shadows_of(w, entry.prefixes.iter().copied().collect())
}

/// The other peers' prefixes that `peer`'s prefixes cut into: one shadow per such prefix, whose `by` lists
/// only `peer`'s prefixes directly inside it (other peers' parts are theirs to explain), so the answer costs
/// the peer's prefixes and a parent lookup each, however many peers share the enclosing prefix.
pub(crate) fn shadowed_by<P: Copy + Eq + Hash>(w: &Writer<P>, peer: P) -> Vec<Shadow<P>> {
    let Some(entry) = w.peers.get(&peer) else {
        return Vec::new();
    };
    let mut parts: Vec<(Prefix, P, Prefix)> = entry
        .prefixes
        .iter()
        .filter_map(|prefix| {
            let (parent, owner) = parent_of(w, prefix)?;
            if owner == entry.id {
                return None;
            }
            Some((parent, w.peer_of(owner)?, *prefix))
        })
        .collect();
    parts.sort_unstable_by_key(|&(parent, _, prefix)| (parent, prefix));
    let mut shadows: Vec<Shadow<P>> = Vec::new();
    for (parent, owner, prefix) in parts {
        match shadows.last_mut() {
            Some(last) if last.prefix == parent => last.by.push((prefix, peer)),
            _ => shadows.push(Shadow {
                peer: owner,
                prefix: parent,
                by: vec![(prefix, peer)],
                fully: false,
            }),
        }
    }
    for shadow in &mut shadows {
        shadow.fully = covers_entirely(&shadow.prefix, &shadow.by);
    }
    shadows
}

/// The shadows a change of `prefixes` (inserted, moved or removed) can have created or altered: those of
/// the prefixes themselves and of their nearest enclosing prefixes.
pub(crate) fn shadows_around<P: Copy + Eq + Hash>(
    w: &Writer<P>,
    prefixes: &[Prefix],
) -> Vec<Shadow<P>> {
    let candidates = prefixes
        .iter()
        .flat_map(|prefix| [Some(*prefix), parent_of(w, prefix).map(|(p, _)| p)])
        .flatten()
        .collect();
    shadows_of(w, candidates)
}

/// Number of addresses in a prefix; `None` stands for 2^128 (IPv6 `/0`), which `u128` cannot hold.
fn size(prefix: &Prefix) -> Option<u128> {
    let width: u32 = if prefix.is_ipv4() { 32 } else { 128 };
    1u128.checked_shl(width - u32::from(prefix.len()))
}

/// Whether disjoint sub-prefixes `parts` cover all of `whole` (they are disjoint because none of them
/// contains another: each one's nearest enclosing prefix is `whole`).
fn covers_entirely<P>(whole: &Prefix, parts: &[(Prefix, P)]) -> bool {
    let total = parts
        .iter()
        .try_fold(0u128, |acc, (p, _)| acc.checked_add(size(p)?));
    match (total, size(whole)) {
        (Some(t), Some(s)) => t == s,
        // Overflowing u128 means the parts add up to 2^128 addresses, i.e. all of an IPv6 /0.
        (None, None) => true,
        _ => false,
    }
}

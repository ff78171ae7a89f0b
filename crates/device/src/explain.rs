//! Operator explanations ("why does traffic to X go to peer Y", "why was a packet from X dropped"), built on
//! the allowed-IPs table's own explanations with peers shown by their base64 public keys.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use wgxdp_allowedips::{Prefix, Route, Shadow, SourceVerdict};

/// How a peer is named in explanations: its base64 public key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerLabel(pub String);

impl fmt::Display for PeerLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Routing and ACL facts about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressExplanation {
    /// The address explained.
    pub address: IpAddr,
    /// Where traffic to the address goes (winning prefix and the prefixes it overrides).
    pub route: Route<PeerLabel>,
    /// The endpoint of the peer the address routes to, if known.
    pub route_endpoint: Option<SocketAddr>,
    /// The ACL verdict for a packet with this source from each peer that has a prefix containing it.
    pub sources: Vec<SourceVerdict<PeerLabel>>,
    /// Number of peers with no prefix containing the address (their packets from it are dropped too).
    pub other_peers: usize,
}

impl fmt::Display for AddressExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "address {}", self.address)?;
        match &self.route.via {
            Some(_) => {
                write!(f, "  outbound: traffic to {}", self.route)?;
                if let Some(ep) = self.route_endpoint {
                    write!(f, " (endpoint {ep})")?;
                }
                writeln!(f)?;
            }
            None => writeln!(f, "  outbound: {}", self.route)?,
        }
        match &self.route.via {
            Some((prefix, peer)) => writeln!(
                f,
                "  inbound: a packet with source {} is accepted only from peer {peer} (its {prefix} is the most specific match)",
                self.address
            )?,
            None => writeln!(
                f,
                "  inbound: a packet with source {} is dropped from every peer (no allowed IP contains it)",
                self.address
            )?,
        }
        for verdict in self.sources.iter().filter(|v| !v.is_accept()) {
            writeln!(f, "    from peer {}: {verdict}", verdict_peer(verdict))?;
        }
        if self.other_peers > 0 {
            writeln!(
                f,
                "    from the {} other peer(s): dropped, none of their allowed IPs contain it",
                self.other_peers
            )?;
        }
        Ok(())
    }
}

fn verdict_peer(v: &SourceVerdict<PeerLabel>) -> &PeerLabel {
    match v {
        SourceVerdict::Accept { peer, .. }
        | SourceVerdict::OtherPeer { peer, .. }
        | SourceVerdict::NoRoute { peer, .. } => peer,
    }
}

/// One peer's allowed IPs and how other peers' prefixes cut into them (and it into theirs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerExplanation {
    /// The peer.
    pub peer: PeerLabel,
    /// Its endpoint, if known.
    pub endpoint: Option<SocketAddr>,
    /// Its allowed IPs, sorted.
    pub allowed_ips: Vec<Prefix>,
    /// Its prefixes that other peers' more specific prefixes shadow.
    pub shadowed: Vec<Shadow<PeerLabel>>,
    /// Other peers' prefixes that this peer's more specific prefixes shadow (each listing only this peer's parts).
    pub shadows_others: Vec<Shadow<PeerLabel>>,
}

impl fmt::Display for PeerExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer {}", self.peer)?;
        if let Some(ep) = self.endpoint {
            write!(f, " (endpoint {ep})")?;
        }
        writeln!(f)?;
        if self.allowed_ips.is_empty() {
            writeln!(
                f,
                "  allowed IPs: (none): no traffic routes to it and every packet from it is dropped"
            )?;
        } else {
            let list: Vec<String> = self.allowed_ips.iter().map(ToString::to_string).collect();
            writeln!(f, "  allowed IPs: {}", list.join(", "))?;
        }
        if self.shadowed.is_empty() {
            writeln!(f, "  none of its allowed IPs is shadowed by another peer")?;
        }
        for shadow in &self.shadowed {
            writeln!(f, "  {shadow}")?;
        }
        for shadow in &self.shadows_others {
            writeln!(f, "  it takes over part of another peer's range: {shadow}")?;
        }
        Ok(())
    }
}

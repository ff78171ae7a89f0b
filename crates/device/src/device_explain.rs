//! `wgxdp explain`: the device's answers about addresses and peers, with peers named by public key.

use core::net::IpAddr;
use std::collections::BTreeSet;

use wgxdp_noise::PublicKey;

use crate::device::Device;
use crate::explain::{AddressExplanation, PeerExplanation, PeerLabel};
use crate::peer::{Peer, PeerId};
use crate::peer_table::PeerTable;

impl Device {
    pub(crate) fn label_of(&self, table: &PeerTable, id: PeerId) -> PeerLabel {
        PeerLabel(match table.peer(id) {
            Some(peer) => peer.public.to_base64(),
            // A peer removed between two reads; never shown for a consistent table.
            None => format!("#{id}"),
        })
    }

    /// For `addr`: which peer traffic to it is routed to (and via which prefix), and from which peer a packet
    /// with that source would be accepted, with the reason others would be dropped. `Display` is multi-line.
    pub fn explain_address(&self, addr: IpAddr) -> AddressExplanation {
        let table = self.peers.load_full();
        let route = self.routes.explain_route(addr);
        let mut contenders: Vec<PeerId> = Vec::new();
        for &(_, id) in route.via.iter().chain(route.overrides.iter()) {
            if !contenders.contains(&id) {
                contenders.push(id);
            }
        }
        let sources = contenders
            .iter()
            .map(|&id| {
                self.routes
                    .explain_source(id, addr)
                    .map_peer(|p| self.label_of(&table, p))
            })
            .collect();
        let route_endpoint = route
            .via
            .as_ref()
            .and_then(|(_, id)| table.peer(*id))
            .and_then(|peer| peer.lock().endpoint);
        AddressExplanation {
            address: addr,
            route: route.map_peer(|p| self.label_of(&table, p)),
            route_endpoint,
            sources,
            other_peers: table.len().saturating_sub(contenders.len()),
        }
    }

    /// For one peer: its allowed IPs, which of them other peers' more specific prefixes shadow, and which
    /// other peers' prefixes it shadows. `None` when the key is not a peer. Costs the peer's own prefixes
    /// (and what lies directly inside them), not the table.
    pub fn explain_peer(&self, key: &PublicKey) -> Option<PeerExplanation> {
        let table = self.peers.load_full();
        let peer = table.peer_by_key(key)?;
        Some(self.explain(&table, peer))
    }

    /// [`explain_peer`](Self::explain_peer) for every peer, in peer order.
    pub fn explain_all(&self) -> Vec<PeerExplanation> {
        let table = self.peers.load_full();
        table
            .iter()
            .map(|entry| self.explain(&table, &entry.peer))
            .collect()
    }

    fn explain(&self, table: &PeerTable, peer: &Peer) -> PeerExplanation {
        let shadowed = self
            .routes
            .shadowed(peer.id)
            .into_iter()
            .map(|s| s.map_peer(|p| self.label_of(table, p)))
            .collect();
        let shadows_others = self
            .routes
            .shadowed_by(peer.id)
            .into_iter()
            .map(|s| s.map_peer(|p| self.label_of(table, p)))
            .collect();
        let allowed_ips: BTreeSet<_> = self.routes.prefixes_of(peer.id).into_iter().collect();
        PeerExplanation {
            peer: PeerLabel(peer.public.to_base64()),
            endpoint: peer.lock().endpoint,
            allowed_ips: allowed_ips.into_iter().collect(),
            shadowed,
            shadows_others,
        }
    }
}

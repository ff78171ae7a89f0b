//! `apply_set`: UAPI `set` requests applied all-or-nothing.
//!
//! The request is first replayed onto a plan (a copy of the configuration: peer list, allowed IPs, private
//! key), which is where every error is found. Only then is the plan committed: new peers are built and
//! published, the allowed IPs change in ONE transaction (the only step that can still fail, with the table
//! full; it is then rolled back), removed peers are torn down, and per-peer edits applied.

use core::sync::atomic::Ordering;
use core::time::Duration;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rand_core::{CryptoRng, RngCore};
use wgxdp_allowedips::{InsertError, Prefix, Transaction};
use wgxdp_noise::{CookieChecker, LocalStatic, PresharedKey, PrivateKey, PublicKey, Tunnel};
use wgxdp_uapi::{AllowedIpChange, Key, KeyUpdate, SetRequest};

use crate::apply_error::{ApplyError, ApplyErrorKind, ApplyOutcome};
use crate::device::{Device, Identity, PeerTable};
use crate::peer::{Peer, PeerId};

/// The edits a request makes to one peer's settings (later lines override earlier ones).
#[derive(Default)]
struct PeerEdits {
    psk: Option<Option<PresharedKey>>,
    endpoint: Option<SocketAddr>,
    keepalive: Option<u16>,
}

/// The configuration as it will be once the request is applied.
struct Plan {
    /// `Some` when the private key changes (`Some(None)`: cleared).
    private_key: Option<Option<Key>>,
    /// Peers in order, by key and id.
    peers: Vec<(PublicKey, PeerId)>,
    /// Ids created by this request.
    created: HashSet<PeerId>,
    edits: HashMap<PeerId, PeerEdits>,
    routes: HashMap<Prefix, PeerId>,
    next_id: PeerId,
}

fn public_of(key: &Key) -> PublicKey {
    PrivateKey::from_bytes(*key.as_bytes()).public_key()
}

fn keepalive_interval(seconds: u16) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(u64::from(seconds)))
}

impl Device {
    /// Apply a UAPI `set` request. All-or-nothing: the whole request is validated first; on error nothing
    /// changed. A peer whose key equals our own public key is ignored (as wireguard-go does).
    pub fn apply_set(
        &self,
        req: &SetRequest,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ApplyOutcome, ApplyError> {
        let mut model = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let table = self.peers.load_full();
        let plan = self.plan(req, &table, &model.routes, model.next_id)?;

        // New identity, not yet published: new peers are built with it.
        let new_identity = plan.private_key.as_ref().map(|key| {
            key.as_ref().map(|k| {
                let local = LocalStatic::new(PrivateKey::from_bytes(*k.as_bytes()));
                let cookies = Mutex::new(CookieChecker::new(local.public_key(), rng, now));
                Arc::new(Identity {
                    local,
                    private: k.clone(),
                    cookies,
                })
            })
        });
        let identity = match &new_identity {
            Some(id) => id.clone(),
            None => self.identity.load_full(),
        };

        let mut built: HashMap<PeerId, Arc<Peer>> = HashMap::new();
        for &(public, id) in &plan.peers {
            if !plan.created.contains(&id) {
                continue;
            }
            let edits = plan.edits.get(&id);
            let psk = edits.and_then(|e| e.psk.clone()).flatten();
            let keepalive = edits.and_then(|e| e.keepalive).unwrap_or(0);
            let tunnel = identity.as_ref().map(|i| {
                Tunnel::new(
                    &i.local,
                    public,
                    psk.clone(),
                    keepalive_interval(keepalive),
                    now,
                )
            });
            let peer = Arc::new(Peer::new(id, public, tunnel, rng.next_u64()));
            {
                let mut st = peer.lock();
                st.psk = psk;
                st.persistent_keepalive = keepalive;
                st.endpoint = edits.and_then(|e| e.endpoint);
                st.local = None;
            }
            built.insert(id, peer);
        }

        // Publish the new peers before any route names them (still listing the removed ones).
        let mut interim = table.order.clone();
        interim.extend(
            plan.peers
                .iter()
                .filter_map(|(_, id)| built.get(id).cloned()),
        );
        self.peers.store(Arc::new(PeerTable::from_order(interim)));

        if let Err(e) = self.sync_routes(&model.routes, &plan.routes) {
            self.peers.store(Arc::clone(&table));
            return Err(ApplyError::new(match e {
                InsertError::Prefix(p) => ApplyErrorKind::InvalidAllowedIp(p.to_string()),
                InsertError::TableFull => ApplyErrorKind::TableFull,
            }));
        }

        // ---- from here on nothing can fail ----
        let keep: HashSet<PeerId> = plan.peers.iter().map(|&(_, id)| id).collect();
        let final_order: Vec<Arc<Peer>> = plan
            .peers
            .iter()
            .filter_map(|(_, id)| {
                built
                    .get(id)
                    .cloned()
                    .or_else(|| table.by_id.get(id).cloned())
            })
            .collect();
        self.peers
            .store(Arc::new(PeerTable::from_order(final_order)));

        let removed: Vec<Arc<Peer>> = table
            .order
            .iter()
            .filter(|p| !keep.contains(&p.id))
            .cloned()
            .collect();
        for peer in &removed {
            self.retire_peer(peer);
        }
        if !removed.is_empty() {
            let gone: HashSet<PeerId> = removed.iter().map(|p| p.id).collect();
            self.indices.retain(|id| !gone.contains(&id));
        }

        if let Some(identity) = new_identity {
            self.identity.store(identity.clone());
            for peer in table.order.iter().filter(|p| keep.contains(&p.id)) {
                self.rebuild_tunnel(peer, identity.as_deref(), now);
            }
        }

        for peer in table.order.iter().filter(|p| keep.contains(&p.id)) {
            if let Some(edits) = plan.edits.get(&peer.id) {
                Self::apply_edits(peer, edits, now);
            }
        }

        model.routes = plan.routes;
        model.next_id = plan.next_id;
        let mut outcome = ApplyOutcome::default();
        if let Some(port) = req.listen_port.filter(|&p| p != model.listen_port) {
            model.listen_port = port;
            self.listen_port.store(port, Ordering::Relaxed);
            self.bound_port.store(0, Ordering::Relaxed);
            outcome.listen_port = Some(port);
        }
        if let Some(mark) = req.fwmark.filter(|&m| m != model.fwmark) {
            model.fwmark = mark;
            self.fwmark.store(mark, Ordering::Relaxed);
            outcome.fwmark = Some(mark);
        }
        drop(model);
        outcome.warnings = self.shadow_warnings();
        // Persistent keepalives just enabled and new sessions to start are timer work.
        self.request_wake();
        Ok(outcome)
    }

    /// Test hook: make the next new peer get `id` (to reach id exhaustion without creating billions of
    /// peers). Ids only move forward, so no id is ever reused.
    #[doc(hidden)]
    pub fn advance_next_peer_id_for_tests(&self, id: PeerId) {
        let mut model = self.control.lock().unwrap_or_else(|e| e.into_inner());
        model.next_id = model.next_id.max(id);
    }

    /// Replay the request onto a copy of the configuration, finding every error before anything changes.
    fn plan(
        &self,
        req: &SetRequest,
        table: &PeerTable,
        routes: &HashMap<Prefix, PeerId>,
        next_id: PeerId,
    ) -> Result<Plan, ApplyError> {
        let current = self.identity.load();
        let mut own_public = current.as_ref().map(|i| *i.local.public_key());
        let mut plan = Plan {
            private_key: None,
            peers: table.order.iter().map(|p| (p.public, p.id)).collect(),
            created: HashSet::new(),
            edits: HashMap::new(),
            routes: routes.clone(),
            next_id,
        };

        if let Some(update) = &req.private_key {
            // Stored (and reported by `get`) clamped, as the kernel and wireguard-go do.
            let new_key = update.key().map(clamped);
            let unchanged = match (&new_key, current.as_ref()) {
                (Some(k), Some(i)) => *k == i.private,
                (None, None) => true,
                _ => false,
            };
            if !unchanged {
                own_public = new_key.as_ref().map(public_of);
                plan.private_key = Some(new_key);
            }
        }
        if req.replace_peers {
            plan.peers.clear();
            plan.routes.clear();
        } else if let (Some(_), Some(own)) = (&plan.private_key, own_public) {
            // wireguard-go drops a peer whose key became our own.
            plan.remove_peer_with_key(&own);
        }

        for change in &req.peers {
            let public = PublicKey::from_bytes(*change.public_key.as_bytes());
            if Some(public) == own_public {
                continue;
            }
            if change.remove {
                plan.remove_peer_with_key(&public);
                continue;
            }
            let id = match plan.peers.iter().find(|(k, _)| *k == public) {
                Some(&(_, id)) => id,
                None if change.update_only => continue,
                None => {
                    let id = plan.next_id;
                    plan.next_id = id
                        .checked_add(1)
                        .ok_or_else(|| ApplyError::new(ApplyErrorKind::PeerIdsExhausted))?;
                    plan.peers.push((public, id));
                    plan.created.insert(id);
                    id
                }
            };
            let edits = plan.edits.entry(id).or_default();
            if let Some(psk) = &change.preshared_key {
                edits.psk = Some(match psk {
                    KeyUpdate::Set(k) => Some(PresharedKey::from_bytes(*k.as_bytes())),
                    KeyUpdate::Clear => None,
                });
            }
            if let Some(endpoint) = change.endpoint {
                edits.endpoint = Some(endpoint);
            }
            if let Some(k) = change.persistent_keepalive_interval {
                edits.keepalive = Some(k);
            }
            if change.replace_allowed_ips {
                plan.routes.retain(|_, owner| *owner != id);
            }
            for edit in &change.allowed_ips {
                let ip = edit.prefix();
                let prefix = Prefix::new(ip.addr(), ip.cidr()).map_err(|_| {
                    ApplyError::new(ApplyErrorKind::InvalidAllowedIp(ip.to_string()))
                })?;
                match edit {
                    AllowedIpChange::Add(_) => {
                        plan.routes.insert(prefix, id);
                    }
                    AllowedIpChange::Remove(_) => {
                        if plan.routes.get(&prefix) == Some(&id) {
                            plan.routes.remove(&prefix);
                        }
                    }
                }
            }
        }
        Ok(plan)
    }

    /// Make the allowed-IPs table equal `new` (it equals `old` now) in one transaction; on failure restore
    /// `old` within the same transaction so lookups never see a partial request.
    fn sync_routes(
        &self,
        old: &HashMap<Prefix, PeerId>,
        new: &HashMap<Prefix, PeerId>,
    ) -> Result<(), InsertError> {
        self.routes.apply(|tx| {
            let mut undo: Vec<(Prefix, Option<PeerId>)> = Vec::new();
            // Removals first: they free room and cannot fail.
            for (&prefix, &owner) in old {
                if !new.contains_key(&prefix) {
                    tx.remove(prefix);
                    undo.push((prefix, Some(owner)));
                }
            }
            for (&prefix, &owner) in new {
                if old.get(&prefix) == Some(&owner) {
                    continue;
                }
                match tx.insert(prefix, owner) {
                    Ok(previous) => undo.push((prefix, previous)),
                    Err(e) => {
                        rollback(tx, undo);
                        return Err(e);
                    }
                }
            }
            Ok(())
        })
    }

    /// Tear a removed peer down: no keys, no indices, nothing staged, and no late registration.
    fn retire_peer(&self, peer: &Arc<Peer>) {
        let mut st = peer.lock();
        st.removed = true;
        if let Some(tunnel) = st.tunnel.as_mut() {
            let update = tunnel.zero_keys();
            self.indices.remove(&update.retired);
        }
        st.tunnel = None;
        st.staged.clear();
        peer.refresh_sending(&st);
    }

    /// The private key changed: every session and handshake of this peer is void; its settings stay.
    fn rebuild_tunnel(&self, peer: &Arc<Peer>, identity: Option<&Identity>, now: Duration) {
        let mut st = peer.lock();
        if let Some(tunnel) = st.tunnel.as_mut() {
            let update = tunnel.zero_keys();
            self.indices.remove(&update.retired);
        }
        st.last_handshake = st.last_handshake();
        let psk = st.psk.clone();
        let keepalive = keepalive_interval(st.persistent_keepalive);
        st.tunnel = identity.map(|i| Tunnel::new(&i.local, peer.public, psk, keepalive, now));
        if !st.staged.is_empty() {
            if let Some(tunnel) = st.tunnel.as_mut() {
                tunnel.request_handshake(now);
            }
        }
        peer.refresh_sending(&st);
    }

    fn apply_edits(peer: &Peer, edits: &PeerEdits, now: Duration) {
        let mut st = peer.lock();
        if let Some(psk) = &edits.psk {
            st.psk = psk.clone();
            if let Some(tunnel) = st.tunnel.as_mut() {
                tunnel.set_preshared_key(psk.clone());
            }
        }
        if let Some(endpoint) = edits.endpoint {
            st.endpoint = Some(endpoint);
            // A configured endpoint starts from the routing choice of source.
            st.local = None;
        }
        if let Some(seconds) = edits.keepalive {
            st.persistent_keepalive = seconds;
            if let Some(tunnel) = st.tunnel.as_mut() {
                tunnel.set_persistent_keepalive(now, keepalive_interval(seconds));
            }
        }
    }

    /// One line per shadowed allowed IP of every peer.
    fn shadow_warnings(&self) -> Vec<String> {
        let table = self.peers.load();
        table
            .order
            .iter()
            .flat_map(|peer| self.routes.shadowed(peer.id))
            .map(|shadow| shadow.map_peer(|id| self.label_of(&table, id)).to_string())
            .collect()
    }
}

impl Plan {
    fn remove_peer_with_key(&mut self, key: &PublicKey) {
        if let Some(pos) = self.peers.iter().position(|(k, _)| k == key) {
            let (_, id) = self.peers.remove(pos);
            self.routes.retain(|_, owner| *owner != id);
            self.edits.remove(&id);
            self.created.remove(&id);
        }
    }
}

fn rollback(tx: &mut Transaction<'_, PeerId>, undo: Vec<(Prefix, Option<PeerId>)>) {
    for (prefix, previous) in undo.into_iter().rev() {
        match previous {
            // Re-inserting a prefix that was there before the transaction needs no new room.
            Some(owner) => {
                let _ = tx.insert(prefix, owner);
            }
            None => {
                tx.remove(prefix);
            }
        }
    }
}

/// A Curve25519 private key as X25519 uses it: low 3 bits of the first byte cleared, top bit of the last cleared
/// and the one below it set.
fn clamped(key: &Key) -> Key {
    let mut bytes = *key.as_bytes();
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    Key::from_bytes(bytes)
}

//! `apply_set`: UAPI `set` requests applied all-or-nothing, in time proportional to what they change.
//!
//! The request is first replayed onto a [`Plan`]: an overlay naming only the peers and prefixes the request
//! touches, on top of the published peer table and the allowed-IPs table (read through a transaction that
//! writes nothing). Every error is found there, before anything changes. Only then is the plan committed: new
//! peers are built (their X25519 work possibly spread over the caller's cores, see [`Parallel`]), the allowed
//! IPs change in ONE transaction (the only step that can still fail, with the table full; it is then rolled
//! back and nothing else has changed), the new peer table (new peers, new allowed-IP lists, removed peers gone)
//! is published, then the routes; removed peers are torn down and per-peer edits applied.
//!
//! Nothing here is proportional to the peers or prefixes the request does not name: the peer table is copied
//! per changed part (`peer_table`), the allowed-IPs transaction writes only the named prefixes, and the
//! shadowing warnings are those around the changed prefixes. The exceptions are inherent: `replace_peers`
//! (what `wg setconf` sends) removes every existing peer, and a new private key rebuilds every session.

use core::sync::atomic::Ordering;
use core::time::Duration;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rand_core::{CryptoRng, RngCore};
use wgxdp_allowedips::{InsertError, Prefix, Transaction};
use wgxdp_noise::{CookieChecker, LocalStatic, PresharedKey, PrivateKey, PublicKey, Tunnel};
use wgxdp_uapi::{AllowedIpChange, Key, KeyUpdate, PeerChange, SetRequest};

use crate::apply_error::{ApplyError, ApplyErrorKind, ApplyOutcome};
use crate::device::{Device, Identity};
use crate::peer::{Peer, PeerId};
use crate::peer_table::{PeerEntry, PeerTable};
use crate::timer_queue::TimerQueue;

/// The edits a request makes to one peer's settings (later lines override earlier ones).
#[derive(Default)]
struct PeerEdits {
    psk: Option<Option<PresharedKey>>,
    endpoint: Option<SocketAddr>,
    keepalive: Option<u16>,
}

/// What the request changes, as an overlay on the current configuration.
#[derive(Default)]
struct Plan {
    /// `Some` when the private key changes (`Some(None)`: cleared).
    private_key: Option<Option<Key>>,
    /// Every existing peer goes (`replace_peers`).
    replace_all: bool,
    /// Existing peers the request removes.
    removed: HashSet<PeerId>,
    /// Peers the request creates, in order (ids ascending).
    created: Vec<(PublicKey, PeerId)>,
    /// The created peers still wanted, by key (one removed again in the same request is not here).
    created_by_key: HashMap<PublicKey, PeerId>,
    /// Their ids.
    created_ids: HashSet<PeerId>,
    edits: HashMap<PeerId, PeerEdits>,
    /// Existing peers whose prefixes from before the request all go (`replace_allowed_ips`).
    cleared: HashSet<PeerId>,
    /// Every prefix the request names and who claimed it last (`None`: removed from its owner).
    routes: HashMap<Prefix, Option<Claim>>,
    /// Peers whose claims were all taken back (removed, or `replace_allowed_ips` after claims): a claim
    /// counts only if made in the peer's current epoch. That takes claims back without a list per peer.
    epochs: HashMap<PeerId, u32>,
    next_id: PeerId,
}

/// A prefix given to `owner` by the request, in the owner's `epoch`.
#[derive(Clone, Copy)]
struct Claim {
    owner: PeerId,
    epoch: u32,
}

fn public_of(key: &Key) -> PublicKey {
    PrivateKey::from_bytes(*key.as_bytes()).public_key()
}

fn keepalive_interval(seconds: u16) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(u64::from(seconds)))
}

fn invalid(text: String) -> ApplyError {
    ApplyError::new(ApplyErrorKind::InvalidAllowedIp(text))
}

impl From<InsertError> for ApplyError {
    fn from(e: InsertError) -> Self {
        ApplyError::new(match e {
            InsertError::Prefix(p) => ApplyErrorKind::InvalidAllowedIp(p.to_string()),
            InsertError::TableFull => ApplyErrorKind::TableFull,
        })
    }
}

/// A task [`Parallel`] runs.
pub type Task<'a> = Box<dyn FnOnce() + Send + 'a>;

/// How the caller lends [`Device::apply_set_parallel`] more than one core: the device starts no thread, but
/// splits the costly part of creating peers (one X25519 operation each, most of the time of applying a
/// large configuration) into independent tasks for the caller to run.
pub trait Parallel {
    /// Into how many tasks to split the work (the threads the caller will run them on).
    fn width(&self) -> usize;
    /// Runs every task to completion before returning, in any order, at the same time or not.
    fn run<'a>(&self, tasks: Vec<Task<'a>>);
}

/// Runs the tasks one after the other on the calling thread.
pub struct Serial;

impl Parallel for Serial {
    fn width(&self) -> usize {
        1
    }

    fn run<'a>(&self, tasks: Vec<Task<'a>>) {
        for task in tasks {
            task();
        }
    }
}

/// New peers per task at least when splitting their creation over [`Parallel`].
const MIN_PEERS_PER_TASK: usize = 128;

/// What a new peer is built from.
struct PeerSpec {
    id: PeerId,
    public: PublicKey,
    psk: Option<PresharedKey>,
    keepalive: u16,
    endpoint: Option<SocketAddr>,
    jitter_seed: u64,
}

/// New peers with their settings and tunnels (none without a private key), built in `par.width()` tasks:
/// each costs one X25519 operation, most of the time a large configuration takes to apply.
fn build_peers(
    specs: &[PeerSpec],
    identity: Option<&Identity>,
    timers: &Arc<TimerQueue>,
    now: Duration,
    par: &dyn Parallel,
) -> Vec<Option<Arc<Peer>>> {
    let mut peers: Vec<Option<Arc<Peer>>> = specs.iter().map(|_| None).collect();
    // Small requests stay in one task: a thread costs more than a few X25519 operations.
    let per_task = specs
        .len()
        .div_ceil(par.width().max(1))
        .max(MIN_PEERS_PER_TASK);
    let tasks: Vec<Task<'_>> = specs
        .chunks(per_task)
        .zip(peers.chunks_mut(per_task))
        .map(|(specs, out)| {
            Box::new(move || {
                for (spec, slot) in specs.iter().zip(out) {
                    *slot = Some(new_peer(spec, identity, timers, now));
                }
            }) as Task<'_>
        })
        .collect();
    par.run(tasks);
    peers
}

fn new_peer(
    spec: &PeerSpec,
    identity: Option<&Identity>,
    timers: &Arc<TimerQueue>,
    now: Duration,
) -> Arc<Peer> {
    let tunnel = identity.map(|i| {
        Tunnel::new(
            &i.local,
            spec.public,
            spec.psk.clone(),
            keepalive_interval(spec.keepalive),
            now,
        )
    });
    let peer = Arc::new(Peer::new(
        spec.id,
        spec.public,
        tunnel,
        spec.jitter_seed,
        Arc::clone(timers),
    ));
    {
        let mut st = peer.lock();
        st.psk = spec.psk.clone();
        st.persistent_keepalive = spec.keepalive;
        st.endpoint = spec.endpoint;
    }
    peer
}

impl Device {
    /// Apply a UAPI `set` request. All-or-nothing: the whole request is validated first; on error nothing
    /// changed. A peer whose key equals our own public key is ignored (as wireguard-go does).
    ///
    /// Costs what the request names (peers, prefixes), not the size of the device; readers (workers, `get`)
    /// never wait for it.
    pub fn apply_set(
        &self,
        req: &SetRequest,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ApplyOutcome, ApplyError> {
        self.apply_set_parallel(req, now, rng, &Serial)
    }

    /// [`apply_set`](Self::apply_set), with the X25519 work of new peers split over `par`.
    pub fn apply_set_parallel(
        &self,
        req: &SetRequest,
        now: Duration,
        rng: &mut (impl RngCore + CryptoRng),
        par: &dyn Parallel,
    ) -> Result<ApplyOutcome, ApplyError> {
        let mut model = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let table = self.peers.load_full();
        // Planning reads the allowed-IPs table through a transaction that writes nothing (so publishes
        // nothing); the writes come in a second one after the new peers are built, so `explain` (which takes
        // the same lock) does not wait for their X25519 work. Only `apply_set` writes routes, serialized by
        // `control`, so nothing can change in between.
        let (plan, lists) = {
            let tx = self.routes.transaction();
            let plan = self.plan(req, &table, &tx, model.next_id)?;
            let lists = plan.final_lists(&table, &tx);
            (plan, lists)
        };

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
        let leaving: Vec<PeerId> = if plan.replace_all {
            table.iter().map(|e| e.peer.id).collect()
        } else {
            plan.removed.iter().copied().collect()
        };
        let specs: Vec<PeerSpec> = plan
            .created
            .iter()
            .filter(|(_, id)| plan.is_created(*id))
            .map(|&(public, id)| {
                let edits = plan.edits.get(&id);
                PeerSpec {
                    id,
                    public,
                    psk: edits.and_then(|e| e.psk.clone()).flatten(),
                    keepalive: edits.and_then(|e| e.keepalive).unwrap_or(0),
                    endpoint: edits.and_then(|e| e.endpoint),
                    jitter_seed: rng.next_u64(),
                }
            })
            .collect();
        // Not published yet: if the routes do not fit below, they are simply dropped.
        let built = build_peers(&specs, identity.as_deref(), &self.timers, now, par);
        drop(specs);

        let mut tx = self.routes.transaction();
        let changed = plan.write_routes(&mut tx, &leaving)?;

        // ---- from here on nothing can fail ----
        let mut next = PeerTable::clone(&table);
        for &id in &leaving {
            next.remove(id);
        }
        for peer in built.into_iter().flatten() {
            let allowed = lists
                .get(&peer.id)
                .cloned()
                .unwrap_or_else(|| Arc::from(Vec::new()));
            next.insert(PeerEntry { peer, allowed });
        }
        for (&id, allowed) in &lists {
            if !plan.is_created(id) {
                next.set_allowed(id, Arc::clone(allowed));
            }
        }
        // The peers first, then the routes naming them: a worker that finds a new route finds its peer.
        self.peers.store(Arc::new(next));
        drop(tx);

        for &id in &leaving {
            if let Some(peer) = table.peer(id) {
                self.retire_peer(peer);
            }
        }
        let kept = table
            .iter()
            .filter(|e| !plan.replace_all && !plan.removed.contains(&e.peer.id));
        if let Some(identity) = new_identity {
            self.identity.store(identity.clone());
            for entry in kept {
                self.rebuild_tunnel(&entry.peer, identity.as_deref(), now);
            }
        }
        for (id, edits) in &plan.edits {
            if let Some(peer) = table.peer(*id).filter(|_| !plan.replace_all) {
                Self::apply_edits(peer, edits, now);
            }
        }

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
        outcome.warnings = self.shadow_warnings(&changed);
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

    /// Replay the request onto an overlay of the configuration, finding every error before anything changes.
    fn plan(
        &self,
        req: &SetRequest,
        table: &PeerTable,
        tx: &Transaction<'_, PeerId>,
        next_id: PeerId,
    ) -> Result<Plan, ApplyError> {
        let current = self.identity.load();
        let mut own_public = current.as_ref().map(|i| *i.local.public_key());
        let mut plan = Plan {
            next_id,
            ..Plan::default()
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
            plan.replace_all = true;
        } else if let (Some(_), Some(own)) = (&plan.private_key, own_public) {
            // wireguard-go drops a peer whose key became our own.
            plan.remove_peer(table, &own);
        }

        for change in &req.peers {
            let public = PublicKey::from_bytes(*change.public_key.as_bytes());
            if Some(public) == own_public {
                continue;
            }
            if change.remove {
                plan.remove_peer(table, &public);
                continue;
            }
            let id = match plan.find(table, &public) {
                Some(id) => id,
                None if change.update_only => continue,
                None => plan.create(public)?,
            };
            plan.change_peer(tx, id, change)?;
        }
        Ok(plan)
    }

    /// Tear a removed peer down: no keys, no indices, nothing staged, and no late registration. Every index
    /// of the peer is one its tunnel knows (all are registered under its lock), so nothing else is scanned.
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

    /// One line per shadowed allowed IP that the changed prefixes created or altered (their own shadows and
    /// those of the prefixes enclosing them), not a rescan of every peer.
    fn shadow_warnings(&self, changed: &[Prefix]) -> Vec<String> {
        if changed.is_empty() {
            return Vec::new();
        }
        let table = self.peers.load();
        self.routes
            .shadows_around(changed)
            .into_iter()
            .map(|shadow| shadow.map_peer(|id| self.label_of(&table, id)).to_string())
            .collect()
    }
}

impl Plan {
    /// The id the key has in the configuration as planned so far.
    fn find(&self, table: &PeerTable, key: &PublicKey) -> Option<PeerId> {
        if let Some(&id) = self.created_by_key.get(key) {
            return Some(id);
        }
        if self.replace_all {
            return None;
        }
        table.id_of(key).filter(|id| !self.removed.contains(id))
    }

    fn create(&mut self, public: PublicKey) -> Result<PeerId, ApplyError> {
        let id = self.next_id;
        self.next_id = id
            .checked_add(1)
            .ok_or_else(|| ApplyError::new(ApplyErrorKind::PeerIdsExhausted))?;
        self.created.push((public, id));
        self.created_by_key.insert(public, id);
        self.created_ids.insert(id);
        Ok(id)
    }

    fn remove_peer(&mut self, table: &PeerTable, key: &PublicKey) {
        let Some(id) = self.find(table, key) else {
            return;
        };
        if self.created_by_key.remove(key).is_some() {
            self.created_ids.remove(&id);
        } else {
            self.removed.insert(id);
        }
        self.edits.remove(&id);
        self.drop_claims(id);
    }

    /// Takes back every prefix the request gave `id` so far.
    fn drop_claims(&mut self, id: PeerId) {
        let epoch = self.epochs.entry(id).or_insert(0);
        *epoch = epoch.wrapping_add(1);
    }

    fn epoch(&self, id: PeerId) -> u32 {
        self.epochs.get(&id).copied().unwrap_or(0)
    }

    /// The final owner a claim stands for (`None` once its owner's claims were taken back).
    fn claimed(&self, claim: Option<Claim>) -> Option<PeerId> {
        claim
            .filter(|c| c.epoch == self.epoch(c.owner))
            .map(|c| c.owner)
    }

    /// Every prefix the request names, with its final owner.
    fn named(&self) -> impl Iterator<Item = (Prefix, Option<PeerId>)> + '_ {
        self.routes
            .iter()
            .map(|(&prefix, &claim)| (prefix, self.claimed(claim)))
    }

    /// The owner of exactly `prefix` in the configuration as planned so far.
    fn owner(&self, tx: &Transaction<'_, PeerId>, prefix: Prefix) -> Option<PeerId> {
        if let Some(&claim) = self.routes.get(&prefix) {
            return self.claimed(claim);
        }
        if self.replace_all {
            return None;
        }
        tx.get(prefix)
            .filter(|o| !self.removed.contains(o) && !self.cleared.contains(o))
    }

    /// Whether `id` is a peer the request creates (and does not remove again).
    fn is_created(&self, id: PeerId) -> bool {
        self.created_ids.contains(&id)
    }

    fn change_peer(
        &mut self,
        tx: &Transaction<'_, PeerId>,
        id: PeerId,
        change: &PeerChange,
    ) -> Result<(), ApplyError> {
        let edits = self.edits.entry(id).or_default();
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
            self.drop_claims(id);
            if !self.replace_all && !self.is_created(id) {
                self.cleared.insert(id);
            }
        }
        for edit in &change.allowed_ips {
            let ip = edit.prefix();
            let prefix = Prefix::new(ip.addr(), ip.cidr()).map_err(|_| invalid(ip.to_string()))?;
            match edit {
                AllowedIpChange::Add(_) => {
                    let epoch = self.epoch(id);
                    self.routes.insert(prefix, Some(Claim { owner: id, epoch }));
                }
                AllowedIpChange::Remove(_) => {
                    if self.owner(tx, prefix) == Some(id) {
                        self.routes.insert(prefix, None);
                    }
                }
            }
        }
        Ok(())
    }

    /// The allowed-IP list, as it will be, of every peer whose list changes (created peers included).
    fn final_lists(
        &self,
        table: &PeerTable,
        tx: &Transaction<'_, PeerId>,
    ) -> HashMap<PeerId, Arc<[Prefix]>> {
        // (owner, prefix) of every named prefix that has one, grouped by owner below; one allocation.
        let mut gained: Vec<(PeerId, Prefix)> = Vec::with_capacity(self.routes.len());
        let mut touched: HashSet<PeerId> = self.cleared.clone();
        for (prefix, owner) in self.named() {
            if let Some(owner) = owner {
                gained.push((owner, prefix));
                touched.insert(owner);
            }
            if !self.replace_all {
                if let Some(old) = tx.get(prefix) {
                    touched.insert(old);
                }
            }
        }
        gained.sort_unstable();
        let mut lists = HashMap::with_capacity(touched.len());
        for id in touched {
            let created = self.is_created(id);
            if !created && (self.replace_all || self.removed.contains(&id)) {
                continue;
            }
            let mut list: Vec<Prefix> = match table.get(id) {
                Some(entry) if !created && !self.cleared.contains(&id) => entry
                    .allowed
                    .iter()
                    .filter(|p| !self.routes.contains_key(p))
                    .copied()
                    .collect(),
                _ => Vec::new(),
            };
            let from = gained.partition_point(|&(owner, _)| owner < id);
            list.extend(
                gained[from..]
                    .iter()
                    .take_while(|&&(owner, _)| owner == id)
                    .map(|&(_, prefix)| prefix),
            );
            list.sort_unstable();
            list.dedup();
            lists.insert(id, Arc::from(list));
        }
        lists
    }

    /// Writes the plan's routes into the transaction: the leaving and cleared peers' prefixes go, then the
    /// named prefixes get their final owners. On error (table full) everything is undone and the error
    /// returned. Returns the prefixes whose owner changed.
    fn write_routes(
        &self,
        tx: &mut Transaction<'_, PeerId>,
        leaving: &[PeerId],
    ) -> Result<Vec<Prefix>, InsertError> {
        let mut undo: Vec<(Prefix, Option<PeerId>)> = Vec::new();
        // Removals first: they free room and cannot fail.
        for &id in leaving.iter().chain(self.cleared.iter()) {
            for prefix in tx.prefixes_of(id) {
                // A prefix the request names gets its final owner below.
                if !self.routes.contains_key(&prefix) {
                    tx.remove(prefix);
                    undo.push((prefix, Some(id)));
                }
            }
        }
        for (prefix, owner) in self.named() {
            if owner.is_none() {
                if let Some(old) = tx.remove(prefix) {
                    undo.push((prefix, Some(old)));
                }
            }
        }
        for (prefix, owner) in self.named() {
            let Some(owner) = owner else {
                continue;
            };
            if tx.get(prefix) == Some(owner) {
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
        let mut changed: Vec<Prefix> = undo.into_iter().map(|(p, _)| p).collect();
        changed.sort_unstable();
        changed.dedup();
        Ok(changed)
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

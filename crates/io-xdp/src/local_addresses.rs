//! The steering program's map of the link's own addresses (`local_v4`, `local_v6`): only transport data to one
//! of them is redirected, so traffic on the same wire for other hosts (bridged VMs, macvlan containers, packets
//! being routed) stays the kernel's. The loader fills the map when it attaches the program; an
//! [`AddressFollower`] then reports the kernel's address events on the link, which
//! [`XdpProgram::apply_address_changes`](crate::XdpProgram::apply_address_changes) applies.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

use aya::maps::{HashMap, MapData};
use aya::Ebpf;

use crate::error::{key_absent, Result, XdpError};
use crate::link_monitor::{LinkAddress, LinkEvent, LinkMonitor};

const LOCAL_V4: &str = "local_v4";
const LOCAL_V6: &str = "local_v6";

/// One change to the set of addresses the program steers traffic to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressChange {
    /// The link has this address (again, or now usable): steer traffic to it.
    Added(IpAddr),
    /// The address left the link (or is not usable yet): stop steering traffic to it.
    Removed(IpAddr),
    /// The link's whole set of usable addresses, after events were lost or when following starts: steer exactly
    /// these.
    Resync(Vec<IpAddr>),
}

/// What applying changes did to the map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressUpdate {
    /// Addresses now steered that were not before.
    pub added: Vec<IpAddr>,
    /// Addresses no longer steered.
    pub removed: Vec<IpAddr>,
}

impl AddressUpdate {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Address events of one link, turned into [`AddressChange`]s. Opened in the link's network namespace (the
/// calling thread's); poll its descriptor, then call [`AddressFollower::changes`].
pub struct AddressFollower {
    monitor: LinkMonitor,
    ifindex: u32,
    resync: bool,
}

impl std::fmt::Debug for AddressFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressFollower")
            .field("ifindex", &self.ifindex)
            .finish_non_exhaustive()
    }
}

impl AddressFollower {
    /// Subscribes to the address events of interface `ifindex`. The first [`AddressFollower::changes`] starts with
    /// a [`AddressChange::Resync`], which covers anything that changed before the subscription.
    pub fn open(ifindex: u32) -> Result<Self> {
        Ok(Self {
            monitor: LinkMonitor::open_addresses()?,
            ifindex,
            resync: true,
        })
    }

    /// The interface followed.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// What changed since the last call (possibly nothing); never blocks.
    pub fn changes(&mut self) -> Result<Vec<AddressChange>> {
        let events = self.monitor.events()?;
        let mut changes = Vec::new();
        for event in events {
            match event {
                LinkEvent::AddressAdded(a) if a.index == self.ifindex => {
                    changes.push(if a.usable {
                        AddressChange::Added(a.address)
                    } else {
                        AddressChange::Removed(a.address)
                    })
                }
                LinkEvent::AddressRemoved(a) if a.index == self.ifindex => {
                    changes.push(AddressChange::Removed(a.address));
                }
                LinkEvent::Lost => self.resync = true,
                _ => {}
            }
        }
        if self.resync {
            // Asked after the events were read, so the answer supersedes them; a change that races with it comes
            // again as an event, and applying one twice changes nothing.
            let all = usable(&self.monitor.addresses(self.ifindex)?);
            self.resync = false;
            return Ok(vec![AddressChange::Resync(all)]);
        }
        Ok(changes)
    }
}

impl AsFd for AddressFollower {
    /// Readable when address events are queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.monitor.as_fd()
    }
}

/// The addresses among `addresses` that take traffic now, without duplicates.
pub(crate) fn usable(addresses: &[LinkAddress]) -> Vec<IpAddr> {
    let set: BTreeSet<IpAddr> = addresses
        .iter()
        .filter(|a| a.usable)
        .map(|a| a.address)
        .collect();
    set.into_iter().collect()
}

fn v4(ebpf: &mut Ebpf) -> Result<HashMap<&mut MapData, [u8; 4], u8>> {
    let map = ebpf
        .map_mut(LOCAL_V4)
        .ok_or(XdpError::MissingObject("map local_v4"))?;
    HashMap::try_from(map).map_err(XdpError::map("opening local_v4"))
}

fn v6(ebpf: &mut Ebpf) -> Result<HashMap<&mut MapData, [u8; 16], u8>> {
    let map = ebpf
        .map_mut(LOCAL_V6)
        .ok_or(XdpError::MissingObject("map local_v6"))?;
    HashMap::try_from(map).map_err(XdpError::map("opening local_v6"))
}

/// Puts `address` in the map; `Ok(false)` if it was there already.
pub(crate) fn insert(ebpf: &mut Ebpf, address: IpAddr) -> Result<bool> {
    if contains(ebpf, address)? {
        return Ok(false);
    }
    let action = "adding a local address (the map holds 1024 per family)";
    match address {
        IpAddr::V4(a) => v4(ebpf)?
            .insert(a.octets(), 1, 0)
            .map_err(XdpError::map(action))?,
        IpAddr::V6(a) => v6(ebpf)?
            .insert(a.octets(), 1, 0)
            .map_err(XdpError::map(action))?,
    }
    Ok(true)
}

/// Takes `address` out of the map; `Ok(false)` if it was not there.
pub(crate) fn remove(ebpf: &mut Ebpf, address: IpAddr) -> Result<bool> {
    let result = match address {
        IpAddr::V4(a) => v4(ebpf)?.remove(&a.octets()),
        IpAddr::V6(a) => v6(ebpf)?.remove(&a.octets()),
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if key_absent(&e) => Ok(false),
        Err(e) => Err(XdpError::map("removing a local address")(e)),
    }
}

fn contains(ebpf: &mut Ebpf, address: IpAddr) -> Result<bool> {
    let result = match address {
        IpAddr::V4(a) => v4(ebpf)?.get(&a.octets(), 0),
        IpAddr::V6(a) => v6(ebpf)?.get(&a.octets(), 0),
    };
    match result {
        Ok(_) => Ok(true),
        Err(e) if key_absent(&e) => Ok(false),
        Err(e) => Err(XdpError::map("reading a local address")(e)),
    }
}

/// Every address in the map, sorted.
pub(crate) fn list(ebpf: &mut Ebpf) -> Result<Vec<IpAddr>> {
    let action = "listing the local addresses";
    let mut out = BTreeSet::new();
    for key in v4(ebpf)?.keys() {
        out.insert(IpAddr::from(key.map_err(XdpError::map(action))?));
    }
    for key in v6(ebpf)?.keys() {
        out.insert(IpAddr::from(key.map_err(XdpError::map(action))?));
    }
    Ok(out.into_iter().collect())
}

/// Applies `changes` in order. Removals come before additions within a resync, so a full map makes room first.
/// On an error the map holds what was applied up to it (an address missing from it only takes the kernel path).
pub(crate) fn apply(ebpf: &mut Ebpf, changes: &[AddressChange]) -> Result<AddressUpdate> {
    let mut update = AddressUpdate::default();
    for change in changes {
        match change {
            AddressChange::Added(a) => {
                if insert(ebpf, *a)? {
                    update.added.push(*a);
                }
            }
            AddressChange::Removed(a) => {
                if remove(ebpf, *a)? {
                    update.removed.push(*a);
                }
            }
            AddressChange::Resync(all) => {
                let wanted: BTreeSet<IpAddr> = all.iter().copied().collect();
                for stale in list(ebpf)?.into_iter().filter(|a| !wanted.contains(a)) {
                    if remove(ebpf, stale)? {
                        update.removed.push(stale);
                    }
                }
                for a in wanted {
                    if insert(ebpf, a)? {
                        update.added.push(a);
                    }
                }
            }
        }
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_usable_addresses_count_once_each() {
        let at = |address: &str, usable| LinkAddress {
            index: 3,
            address: address.parse().unwrap(),
            usable,
        };
        let list = [
            at("198.18.0.1", true),
            at("fd00::1", false),
            at("198.18.0.1", true),
            at("fd00::2", true),
        ];
        let expected: Vec<IpAddr> = vec!["198.18.0.1".parse().unwrap(), "fd00::2".parse().unwrap()];
        assert_eq!(usable(&list), expected);
    }

    #[test]
    fn an_update_says_whether_it_did_anything() {
        assert!(AddressUpdate::default().is_empty());
        let update = AddressUpdate {
            added: vec!["fd00::1".parse().unwrap()],
            removed: Vec::new(),
        };
        assert!(!update.is_empty());
    }
}

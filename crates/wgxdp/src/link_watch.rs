//! Following the TUN itself, wherever it is: the main thread's view of the interface it serves.
//!
//! The interface may be moved to another network namespace (`ip link set wg0 netns B`, the WireGuard container
//! pattern: the UDP sockets stay where the daemon is), renamed, or given a new MTU (`ip link set wg0 mtu 8921`,
//! as wg-quick does after start), and only its deletion ends the daemon. So nothing here looks the interface up
//! by name in the daemon's own namespace. Instead:
//!
//! - a duplicate of a TUN queue descriptor says whether the interface still exists: once it is deleted the
//!   descriptor is detached and `TUNGETIFF` fails (`EBADFD`); a move keeps it attached;
//! - `TUNGETDEVNETNS` on it names the namespace the interface is in now; a link monitor (rtnetlink) opened in that
//!   namespace, by a short-lived thread that enters it, reports MTU changes (`RTM_NEWLINK`) and the moment the
//!   interface leaves (`RTM_DELLINK`: deleted, or moved on, which the descriptor then tells apart).
//!
//! [`TunWatch::check`] runs when the monitor's descriptor is readable and once a second besides (a lost event,
//! a move between two checks), so the daemon follows within a second at worst and at once usually.

use crate::{log_info, log_warn};
use anyhow::Context as _;
use nix::sched::CloneFlags;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use wgxdp_device::Device;
use wgxdp_io_xdp::{tun_name, tun_netns, LinkEvent, LinkMonitor, LinkState};

/// A network namespace, as the kernel identifies it (device and inode of its nsfs file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NetnsId {
    dev: u64,
    ino: u64,
}

impl NetnsId {
    fn of(fd: BorrowedFd<'_>) -> anyhow::Result<Self> {
        let stat = nix::sys::stat::fstat(fd).context("fstat of a namespace")?;
        Ok(Self {
            dev: stat.st_dev,
            ino: stat.st_ino,
        })
    }
}

impl std::fmt::Display for NetnsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As /proc/PID/ns/net and `ip netns identify` name it.
        write!(f, "net:[{}]", self.ino)
    }
}

/// Where the TUN is and what it looks like, as last seen.
pub struct TunWatch {
    tun: OwnedFd,
    netns: NetnsId,
    monitor: LinkMonitor,
    link: LinkState,
}

impl std::fmt::Debug for TunWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunWatch")
            .field("netns", &self.netns)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl TunWatch {
    /// Starts following the interface `tun` (a queue descriptor) is attached to; the device's MTU is set from it.
    pub fn new(tun: BorrowedFd<'_>, device: &Device) -> anyhow::Result<Self> {
        let tun = tun
            .try_clone_to_owned()
            .context("cannot duplicate the TUN descriptor")?;
        let (netns, mut monitor) = monitor_where(tun.as_fd())?;
        let name = tun_name(tun.as_fd()).context("TUNGETIFF")?;
        let link = monitor
            .link_by_name(&name)
            .with_context(|| format!("looking up {name}"))?
            .with_context(|| format!("interface {name} not found in {netns}"))?;
        let watch = Self {
            tun,
            netns,
            monitor,
            link,
        };
        watch.apply_mtu(device, None);
        Ok(watch)
    }

    /// The descriptor to poll: readable when the interface's namespace has link events.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.monitor.as_fd()
    }

    /// The interface's current name.
    #[cfg(test)]
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// Takes in what happened since the last call; returns why the daemon must stop (the interface was deleted),
    /// or `None` while it exists, wherever it is.
    pub fn check(&mut self, device: &Device) -> Option<String> {
        let mut relocate = false;
        match self.monitor.events() {
            Ok(events) => {
                for event in events {
                    match event {
                        LinkEvent::Changed(state) if state.index == self.link.index => {
                            let before = self.link.mtu;
                            self.link = state;
                            self.apply_mtu(device, Some(before));
                        }
                        LinkEvent::Removed { index } if index == self.link.index => relocate = true,
                        LinkEvent::Lost => relocate = true,
                        // Address events come only to a monitor opened for them (xdp_addresses.rs).
                        LinkEvent::Changed(_)
                        | LinkEvent::Removed { .. }
                        | LinkEvent::AddressAdded(_)
                        | LinkEvent::AddressRemoved(_) => {}
                    }
                }
            }
            Err(e) => {
                log_warn!("{}: reading link events: {e}", self.link.name);
                relocate = true;
            }
        }
        // The descriptor is the authority: detached means deleted, whatever the events said.
        let name = match tun_name(self.tun.as_fd()) {
            Ok(name) => name,
            Err(e) => return Some(deleted(&self.link.name, &e)),
        };
        let netns = match tun_netns(self.tun.as_fd()) {
            Ok(fd) => NetnsId::of(fd.as_fd()).ok(),
            Err(e) => return Some(deleted(&self.link.name, &e)),
        };
        if relocate || name != self.link.name || netns.is_some_and(|ns| ns != self.netns) {
            if let Err(e) = self.relocate(&name, device) {
                // Still attached, so still alive: try again at the next check.
                log_warn!("{name}: cannot follow the interface: {e}");
            }
        }
        None
    }

    /// Re-opens the monitor where the interface is now and reads its state there.
    fn relocate(&mut self, name: &str, device: &Device) -> anyhow::Result<()> {
        let (netns, mut monitor) = monitor_where(self.tun.as_fd())?;
        let link = monitor
            .link_by_name(name)
            .with_context(|| format!("looking up {name} in {netns}"))?
            .with_context(|| format!("{name} not found in {netns}"))?;
        if netns != self.netns {
            log_info!(
                "{}: interface moved from {} to {} (now {name}, index {}); following it there",
                self.link.name,
                self.netns,
                netns,
                link.index
            );
        } else if name != self.link.name {
            log_info!("{}: interface renamed to {name}", self.link.name);
        }
        let before = self.link.mtu;
        self.netns = netns;
        self.monitor = monitor;
        self.link = link;
        self.apply_mtu(device, Some(before));
        Ok(())
    }

    /// Hands the interface's MTU to the device when it changed (or at start, `before == None`).
    fn apply_mtu(&self, device: &Device, before: Option<u32>) {
        let mtu = self.link.mtu;
        if mtu == 0 || before == Some(mtu) {
            return;
        }
        let previous = device.set_mtu(mtu as usize);
        if previous != device.mtu() {
            log_info!(
                "{}: MTU {previous} -> {}: padding now caps at it",
                self.link.name,
                device.mtu()
            );
        }
    }
}

/// Why the daemon stops once its TUN descriptor is detached.
fn deleted(name: &str, error: &std::io::Error) -> String {
    format!("interface {name} was deleted: its TUN descriptor answers {error}")
}

/// The namespace the TUN is in now, and a link monitor opened there by a thread that enters it (a netlink socket
/// belongs to the namespace it was created in; the daemon's own threads never change namespace).
fn monitor_where(tun: BorrowedFd<'_>) -> anyhow::Result<(NetnsId, LinkMonitor)> {
    let ns = tun_netns(tun).context("TUNGETDEVNETNS")?;
    let id = NetnsId::of(ns.as_fd())?;
    let monitor = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET)
                    .with_context(|| format!("entering {id}"))?;
                LinkMonitor::open().with_context(|| format!("link monitor in {id}"))
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the link monitor thread panicked")))
    })?;
    Ok((id, monitor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgxdp_device::DeviceConfig;
    use wgxdp_io_socket::netns::{enter_scratch_netns, ip, ip_output};
    use wgxdp_io_socket::{TunConfig, TunDevice};

    /// A TUN in a scratch namespace, moved into a second one, renamed and given new MTUs there: followed all the
    /// way, and only its deletion is reported.
    #[test]
    fn follows_the_tun_across_namespaces_until_it_is_deleted() {
        if !enter_scratch_netns("follows_the_tun_across_namespaces_until_it_is_deleted").unwrap() {
            return;
        }
        let name = format!("wlw{}", std::process::id() % 100_000);
        let other = format!("wgxdp-lw-{}", std::process::id());
        let mut config = TunConfig::new(name.clone());
        config.mtu = 1420;
        let tun = TunDevice::open(&config).expect("TUN");
        let queues = tun.into_queues();
        let queue = queues.first().expect("one queue");
        let device = Device::new(DeviceConfig::default());
        let mut watch = TunWatch::new(queue.as_fd(), &device).expect("watch");
        assert_eq!(device.mtu(), 1420);

        ip(&["link", "set", &name, "mtu", "1300"]).unwrap();
        assert_eq!(watch.check(&device), None);
        assert_eq!(device.mtu(), 1300, "MTU change in our own namespace");

        // A named namespace for the second one (`ip netns add` does not move this thread).
        ip(&["netns", "add", &other]).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ip(&["link", "set", &name, "netns", &other]).unwrap();
            assert_eq!(watch.check(&device), None, "a move is not a deletion");
            assert!(
                ip_output(&["link", "show", &name]).is_err(),
                "gone from here"
            );
            ip(&["-n", &other, "link", "set", &name, "mtu", "8921"]).unwrap();
            assert_eq!(watch.check(&device), None);
            assert_eq!(
                device.mtu(),
                8921,
                "MTU change in the namespace it moved to"
            );
            ip(&["-n", &other, "link", "set", &name, "name", "wlwrenamed"]).unwrap();
            assert_eq!(watch.check(&device), None);
            assert_eq!(watch.name(), "wlwrenamed");
            ip(&["-n", &other, "link", "del", "wlwrenamed"]).unwrap();
            let reason = watch.check(&device).expect("deletion is reported");
            assert!(reason.contains("was deleted"), "{reason}");
        }));
        let _ = ip(&["netns", "del", &other]);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}

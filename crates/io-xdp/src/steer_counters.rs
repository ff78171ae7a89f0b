//! The steering program's per-reason packet counters, as read back from its per-CPU `counters` map.

use std::fmt;

/// Why the steering program sent a packet where it did. The discriminants are the indices of the `counters` map
/// and mirror `enum steer_reason` in `ebpf/wgxdp_steer.bpf.c` (a unit test keeps the two in step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SteerReason {
    /// WireGuard transport data, redirected to the queue's AF_XDP socket.
    Redirected = 0,
    /// Passed: neither IPv4 nor IPv6 (ARP, LLDP, MPLS, a bad IPv4 header).
    NotIp = 1,
    /// Passed: an IP fragment, for the kernel to reassemble.
    Fragment = 2,
    /// Passed: IP but not UDP (ICMP, ND, TCP, ...).
    NotUdp = 3,
    /// Passed: UDP to another port.
    OtherPort = 4,
    /// Passed: to the listen port but not transport data (handshake, cookie reply, junk).
    NotTransport = 5,
    /// Passed: truncated headers or a UDP payload shorter than the smallest transport message.
    Short = 6,
    /// Passed: IPv6 with extension headers before UDP.
    Ipv6Extension = 7,
    /// Passed: transport data, but no AF_XDP socket is registered for the packet's RX queue.
    NoSocket = 8,
    /// Passed: the address family is not steered by this load's flags.
    FamilyDisabled = 9,
    /// Passed: transport data, but the program was loaded in observe-only mode.
    ObserveOnly = 10,
    /// Passed: transport data in a frame longer than an AF_XDP socket's UMEM frame takes (a large MTU): the
    /// kernel's UDP socket gets it instead of the redirect dropping it.
    TooBig = 11,
    /// Passed: transport data to the listen port, but for an address that is not one of the link's own (a
    /// bridged VM, a macvlan container, routed traffic): the kernel delivers or forwards it.
    NotLocal = 12,
    /// Passed: a VLAN's frame (802.1Q with a VLAN id: the VLAN device's, and the datapath answers untagged) or
    /// tagging the userspace parser does not take (an 802.1ad or 0x9100 outer tag, or two tags); only untagged
    /// and priority-tagged (VLAN id 0) frames are redirected.
    Tagging = 13,
    /// Passed: transport data from a source outside the `--xdp-allow-source` list, for the host firewall and the
    /// kernel socket to see.
    SourceNotAllowed = 14,
}

impl SteerReason {
    /// Every reason, in map-index order.
    pub const ALL: [SteerReason; 15] = [
        Self::Redirected,
        Self::NotIp,
        Self::Fragment,
        Self::NotUdp,
        Self::OtherPort,
        Self::NotTransport,
        Self::Short,
        Self::Ipv6Extension,
        Self::NoSocket,
        Self::FamilyDisabled,
        Self::ObserveOnly,
        Self::TooBig,
        Self::NotLocal,
        Self::Tagging,
        Self::SourceNotAllowed,
    ];

    /// A short stable name for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Redirected => "redirected",
            Self::NotIp => "not-ip",
            Self::Fragment => "fragment",
            Self::NotUdp => "not-udp",
            Self::OtherPort => "other-port",
            Self::NotTransport => "not-transport",
            Self::Short => "short",
            Self::Ipv6Extension => "ipv6-extension",
            Self::NoSocket => "no-socket",
            Self::FamilyDisabled => "family-disabled",
            Self::ObserveOnly => "observe-only",
            Self::TooBig => "too-big",
            Self::NotLocal => "not-local",
            Self::Tagging => "tagging",
            Self::SourceNotAllowed => "source-not-allowed",
        }
    }
}

/// A snapshot of the counters, summed over all CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SteerCounters {
    counts: [u64; SteerReason::ALL.len()],
}

impl SteerCounters {
    /// Builds a snapshot from one total per reason, in [`SteerReason::ALL`] order.
    pub fn from_counts(counts: [u64; SteerReason::ALL.len()]) -> Self {
        Self { counts }
    }

    /// Packets counted under `reason`.
    pub fn get(&self, reason: SteerReason) -> u64 {
        self.counts.get(reason as usize).copied().unwrap_or(0)
    }

    /// Packets redirected to AF_XDP sockets.
    pub fn redirected(&self) -> u64 {
        self.get(SteerReason::Redirected)
    }

    /// Packets passed to the kernel, whatever the reason.
    pub fn passed(&self) -> u64 {
        self.counts.iter().skip(1).sum()
    }

    /// Both snapshots added up (the counts of a program replaced by a re-attach, plus its successor's).
    pub fn plus(&self, other: &SteerCounters) -> SteerCounters {
        let mut counts = self.counts;
        for (sum, more) in counts.iter_mut().zip(other.counts) {
            *sum = sum.saturating_add(more);
        }
        Self { counts }
    }

    /// The growth since an earlier snapshot (saturating, in case the program was reloaded in between).
    pub fn since(&self, earlier: &SteerCounters) -> SteerCounters {
        let mut counts = self.counts;
        for (now, before) in counts.iter_mut().zip(earlier.counts) {
            *now = now.saturating_sub(before);
        }
        Self { counts }
    }
}

impl fmt::Display for SteerCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for reason in SteerReason::ALL {
            let count = self.get(reason);
            if count == 0 {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={count}", reason.name())?;
        }
        if first {
            f.write_str("(no packets)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C enum and this one must agree, or every counter read would be mislabelled.
    #[test]
    fn reasons_match_the_c_program() {
        let source = include_str!("../../../ebpf/wgxdp_steer.bpf.c");
        let mut found = 0;
        for line in source.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("REASON_") else {
                continue;
            };
            let Some((name, value)) = rest.trim_end_matches(',').split_once(" = ") else {
                continue;
            };
            let value: usize = value.parse().expect("numeric reason");
            if name == "COUNT" {
                assert_eq!(value, SteerReason::ALL.len(), "REASON_COUNT");
                continue;
            }
            let reason = *SteerReason::ALL.get(value).expect("reason index in range");
            let expected = reason.name().replace('-', "_").to_uppercase();
            assert_eq!(name, expected, "C reason {value}");
            assert_eq!(reason as usize, value);
            found += 1;
        }
        assert_eq!(found, SteerReason::ALL.len());
    }

    #[test]
    fn totals_and_deltas() {
        let before = SteerCounters::from_counts([1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        let after = SteerCounters::from_counts([5, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 3, 1, 6]);
        let delta = after.since(&before);
        assert_eq!(delta.redirected(), 4);
        assert_eq!(delta.passed(), 16);
        assert_eq!(delta.get(SteerReason::NotUdp), 3);
        assert_eq!(delta.get(SteerReason::TooBig), 4);
        assert_eq!(delta.get(SteerReason::NotLocal), 2);
        assert_eq!(delta.plus(&before), after);
        assert_eq!(
            delta.to_string(),
            "redirected=4 not-udp=3 too-big=4 not-local=2 tagging=1 source-not-allowed=6"
        );
        assert_eq!(SteerCounters::default().to_string(), "(no packets)");
    }
}

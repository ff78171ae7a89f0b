//! The sink program's per-CPU counters (see `ebpf/wgxdp_sink.bpf.c`), as read back and summed over the CPUs.

/// What the sink program counted. The discriminants are the indices of its `counters` map and mirror
/// `enum sink_counter` in `ebpf/wgxdp_sink.bpf.c` (a unit test keeps the two in step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SinkCounter {
    /// Packets of the load (counted, then dropped or passed as samples).
    DataPackets = 0,
    /// Bytes of those packets, whole Ethernet frames.
    DataBytes = 1,
    /// Load packets passed to the kernel as samples.
    Sampled = 2,
    /// WireGuard keepalives (transport data with an empty payload) to the load's port, dropped.
    Keepalives = 3,
    /// Handshake initiations, responses and cookie replies to the load's port, passed.
    Handshakes = 4,
    /// Anything else (ARP, ND, other ports, fragments...), passed untouched.
    Other = 5,
    /// To the load's port but not load: wrong magic, too short, unknown WireGuard type. Dropped.
    Malformed = 6,
}

impl SinkCounter {
    /// Every counter, in map-index order.
    pub const ALL: [SinkCounter; 7] = [
        Self::DataPackets,
        Self::DataBytes,
        Self::Sampled,
        Self::Keepalives,
        Self::Handshakes,
        Self::Other,
        Self::Malformed,
    ];

    /// A short stable name for logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::DataPackets => "data-packets",
            Self::DataBytes => "data-bytes",
            Self::Sampled => "sampled",
            Self::Keepalives => "keepalives",
            Self::Handshakes => "handshakes",
            Self::Other => "other",
            Self::Malformed => "malformed",
        }
    }
}

/// A snapshot of the counters, summed over all CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkCounters {
    counts: [u64; SinkCounter::ALL.len()],
}

impl SinkCounters {
    /// Builds a snapshot from one total per counter, in [`SinkCounter::ALL`] order.
    pub fn from_counts(counts: [u64; SinkCounter::ALL.len()]) -> Self {
        Self { counts }
    }

    /// The value of one counter.
    pub fn get(&self, counter: SinkCounter) -> u64 {
        self.counts.get(counter as usize).copied().unwrap_or(0)
    }

    /// The growth since an earlier snapshot (saturating, in case the program was reloaded in between).
    pub fn since(&self, earlier: &SinkCounters) -> SinkCounters {
        let mut counts = self.counts;
        for (now, before) in counts.iter_mut().zip(earlier.counts) {
            *now = now.saturating_sub(before);
        }
        Self { counts }
    }
}

impl std::fmt::Display for SinkCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, counter) in SinkCounter::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={}", counter.name(), self.get(counter))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C enum and this one must agree, or every counter read would be mislabelled.
    #[test]
    fn counters_match_the_c_program() {
        let source = include_str!("../../../ebpf/wgxdp_sink.bpf.c");
        let mut found = 0;
        for line in source.lines() {
            let Some(rest) = line.trim().strip_prefix("COUNTER_") else {
                continue;
            };
            let Some((name, value)) = rest.trim_end_matches(',').split_once(" = ") else {
                continue;
            };
            let value: usize = value.parse().expect("numeric counter index");
            if name == "COUNT" {
                assert_eq!(value, SinkCounter::ALL.len(), "COUNTER_COUNT");
                continue;
            }
            let counter = *SinkCounter::ALL.get(value).expect("index in range");
            assert_eq!(
                name,
                counter.name().replace('-', "_").to_uppercase(),
                "C counter {value}"
            );
            found += 1;
        }
        assert_eq!(found, SinkCounter::ALL.len());
    }

    #[test]
    fn deltas_saturate_and_print_every_counter() {
        let before = SinkCounters::from_counts([5, 500, 1, 0, 0, 2, 0]);
        let after = SinkCounters::from_counts([9, 900, 1, 1, 0, 1, 0]);
        let delta = after.since(&before);
        assert_eq!(delta.get(SinkCounter::DataPackets), 4);
        assert_eq!(delta.get(SinkCounter::Other), 0, "saturating");
        assert_eq!(
            delta.to_string(),
            "data-packets=4 data-bytes=400 sampled=0 keepalives=1 handshakes=0 other=0 malformed=0"
        );
    }
}

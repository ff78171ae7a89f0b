//! What one counter is, for every report that lists it: the stable snake_case name (JSON key, table row,
//! metric name), a one-line help text and its kind. Each counter set (device counters, drop reasons, the
//! binary's per-worker and handshake counters) describes its members with this, in one place, and the text
//! `stats`, `stats --json` and `/metrics` all iterate over that one list.

/// How a value behaves over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterKind {
    /// Only grows (until the daemon restarts).
    Counter,
    /// Goes up and down: a level now.
    Gauge,
}

/// One counter's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterInfo {
    /// Stable snake_case name.
    pub name: &'static str,
    /// One line saying what is counted.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: CounterKind,
}

impl CounterInfo {
    /// A counter.
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: CounterKind::Counter,
        }
    }

    /// A gauge.
    pub const fn gauge(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: CounterKind::Gauge,
        }
    }
}

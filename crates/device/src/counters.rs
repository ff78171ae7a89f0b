//! Device counters: atomics updated by the data path, and a plain snapshot ([`Counters`]) for `stats`.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::device_counter::DeviceCounter;
use crate::drop_reason::DropReason;

/// Live counters of one device. Relaxed atomics: each is an independent statistic.
///
/// Every worker increments the same cache lines; acceptable at this stage (the binary also keeps per-worker
/// counters); shard per worker if profiles show contention.
#[derive(Debug, Default)]
pub(crate) struct LiveCounters {
    drops: [AtomicU64; DropReason::COUNT],
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_packets: AtomicU64,
    pub tx_bytes: AtomicU64,
    pub keepalives_received: AtomicU64,
    pub keepalives_sent: AtomicU64,
    pub initiations_sent: AtomicU64,
    pub initiations_received: AtomicU64,
    pub responses_sent: AtomicU64,
    pub responses_received: AtomicU64,
    pub cookie_replies_sent: AtomicU64,
    pub cookie_replies_received: AtomicU64,
    pub handshakes_completed: AtomicU64,
    pub staged: AtomicU64,
}

impl LiveCounters {
    pub fn drop(&self, reason: DropReason) {
        self.drop_n(reason, 1);
    }

    pub fn drop_n(&self, reason: DropReason, n: u64) {
        if let Some(counter) = self.drops.get(reason.index()) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self, peers: Vec<PeerCounters>) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            drops: DropReason::ALL
                .iter()
                .map(|&r| (r, get(&self.drops[r.index()])))
                .collect(),
            rx_packets: get(&self.rx_packets),
            rx_bytes: get(&self.rx_bytes),
            tx_packets: get(&self.tx_packets),
            tx_bytes: get(&self.tx_bytes),
            keepalives_received: get(&self.keepalives_received),
            keepalives_sent: get(&self.keepalives_sent),
            initiations_sent: get(&self.initiations_sent),
            initiations_received: get(&self.initiations_received),
            responses_sent: get(&self.responses_sent),
            responses_received: get(&self.responses_received),
            cookie_replies_sent: get(&self.cookie_replies_sent),
            cookie_replies_received: get(&self.cookie_replies_received),
            handshakes_completed: get(&self.handshakes_completed),
            staged: get(&self.staged),
            peers,
        }
    }
}

/// Counters of one receive batch, kept in plain integers while the batch runs and added to the shared atomics
/// once at its end: every worker bumping the same cache lines per packet is what this avoids.
#[derive(Debug)]
pub(crate) struct RxTally {
    drops: [u64; DropReason::COUNT],
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub keepalives_received: u64,
}

impl Default for RxTally {
    fn default() -> Self {
        Self {
            drops: [0; DropReason::COUNT],
            rx_packets: 0,
            rx_bytes: 0,
            keepalives_received: 0,
        }
    }
}

impl RxTally {
    pub fn drop(&mut self, reason: DropReason) {
        if let Some(n) = self.drops.get_mut(reason.index()) {
            *n += 1;
        }
    }

    /// Adds everything counted so far to `live` and starts again from zero.
    pub fn flush_into(&mut self, live: &LiveCounters) {
        let add = |counter: &AtomicU64, n: u64| {
            if n != 0 {
                LiveCounters::add(counter, n);
            }
        };
        add(&live.rx_packets, self.rx_packets);
        add(&live.rx_bytes, self.rx_bytes);
        add(&live.keepalives_received, self.keepalives_received);
        for (counter, &n) in live.drops.iter().zip(self.drops.iter()) {
            add(counter, n);
        }
        *self = Self::default();
    }
}

/// Counters of one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerCounters {
    /// The peer's public key, base64.
    pub public_key: String,
    /// Bytes received from the peer (whole UDP payloads of authenticated messages, as `wg` counts them).
    pub rx_bytes: u64,
    /// Bytes sent to the peer (whole UDP payloads).
    pub tx_bytes: u64,
    /// Packets currently staged for the peer.
    pub staged: usize,
    /// When the last handshake with the peer completed, on the caller's monotonic clock (`now` of the device
    /// calls); `None` before the first. Not in the JSON (`stats --json` keeps its fields); `/metrics` turns it
    /// into wall-clock seconds.
    #[serde(skip)]
    pub last_handshake: Option<Duration>,
}

/// A snapshot of the device counters: plain data for `wgxdp stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Drops by reason, every reason listed (zero included), in [`DropReason::ALL`] order.
    pub drops: Vec<(DropReason, u64)>,
    /// Transport messages received and authenticated (keepalives included).
    pub rx_packets: u64,
    /// Their bytes (UDP payloads).
    pub rx_bytes: u64,
    /// Transport messages sealed for sending (keepalives and flushed staged packets included).
    pub tx_packets: u64,
    /// Their bytes (UDP payloads).
    pub tx_bytes: u64,
    /// Keepalives received.
    pub keepalives_received: u64,
    /// Keepalives sent.
    pub keepalives_sent: u64,
    /// Handshake initiations sent.
    pub initiations_sent: u64,
    /// Handshake initiations received that passed the macs.
    pub initiations_received: u64,
    /// Handshake responses sent.
    pub responses_sent: u64,
    /// Handshake responses received that passed the macs.
    pub responses_received: u64,
    /// Cookie replies sent (we were under load).
    pub cookie_replies_sent: u64,
    /// Cookie replies received and accepted.
    pub cookie_replies_received: u64,
    /// Handshakes completed (as initiator: response consumed; as responder: keypair confirmed).
    pub handshakes_completed: u64,
    /// Packets staged while waiting for a handshake (cumulative).
    pub staged: u64,
    /// Per-peer counters, in peer order.
    pub peers: Vec<PeerCounters>,
}

impl Counters {
    /// The value of one device-wide counter.
    pub fn get(&self, counter: DeviceCounter) -> u64 {
        match counter {
            DeviceCounter::RxPackets => self.rx_packets,
            DeviceCounter::RxBytes => self.rx_bytes,
            DeviceCounter::TxPackets => self.tx_packets,
            DeviceCounter::TxBytes => self.tx_bytes,
            DeviceCounter::KeepalivesReceived => self.keepalives_received,
            DeviceCounter::KeepalivesSent => self.keepalives_sent,
            DeviceCounter::InitiationsSent => self.initiations_sent,
            DeviceCounter::InitiationsReceived => self.initiations_received,
            DeviceCounter::ResponsesSent => self.responses_sent,
            DeviceCounter::ResponsesReceived => self.responses_received,
            DeviceCounter::CookieRepliesSent => self.cookie_replies_sent,
            DeviceCounter::CookieRepliesReceived => self.cookie_replies_received,
            DeviceCounter::HandshakesCompleted => self.handshakes_completed,
            DeviceCounter::Staged => self.staged,
        }
    }

    /// The count for one drop reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |&(_, n)| n)
    }

    /// Sum of every drop counter.
    pub fn total_dropped(&self) -> u64 {
        self.drops.iter().map(|&(_, n)| n).sum()
    }
}

/// JSON: `{"rx_packets":..., ... (every [`DeviceCounter`]), "dropped_total":.., "drops":{"acl":3,...},
/// "peers":[{"public_key":..,"rx_bytes":..,"tx_bytes":..,"staged":..}]}`. Keys are the stable snake_case names.
impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(DeviceCounter::ALL.len() + 3))?;
        for counter in DeviceCounter::ALL {
            map.serialize_entry(counter.name(), &self.get(counter))?;
        }
        map.serialize_entry("dropped_total", &self.total_dropped())?;
        map.serialize_entry("drops", &Drops(&self.drops))?;
        map.serialize_entry("peers", &self.peers)?;
        map.end()
    }
}

/// The drops as one object keyed by reason name.
struct Drops<'a>(&'a [(DropReason, u64)]);

impl Serialize for Drops<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (reason, n) in self.0 {
            map.serialize_entry(reason.name(), n)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_every_reason_and_peer() {
        let live = LiveCounters::default();
        live.drop(DropReason::Acl);
        live.drop(DropReason::Acl);
        LiveCounters::add(&live.rx_bytes, 148);
        let c = live.snapshot(vec![PeerCounters {
            public_key: "abc=".into(),
            rx_bytes: 1,
            tx_bytes: 2,
            staged: 0,
            last_handshake: Some(Duration::from_secs(1)),
        }]);
        assert_eq!(c.dropped(DropReason::Acl), 2);
        assert_eq!(c.total_dropped(), 2);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"acl\":2"), "{json}");
        assert!(
            json.contains("\"dropped_total\":2,\"drops\":{\"malformed\":0,"),
            "{json}"
        );
        assert!(json.ends_with("\"staged\":0}]}"), "{json}");
        assert!(json.contains("\"rx_bytes\":148"), "{json}");
        assert!(json.contains("\"public_key\":\"abc=\""), "{json}");
        for reason in DropReason::ALL {
            assert!(json.contains(&format!("\"{}\":", reason.name())));
        }
        for counter in DeviceCounter::ALL {
            assert!(json.contains(&format!("\"{}\":", counter.name())));
        }
        assert!(
            json.starts_with("{\"rx_packets\":0,\"rx_bytes\":148,"),
            "{json}"
        );
        assert!(json.starts_with('{') && json.ends_with('}'));
    }

    #[test]
    fn tally_adds_once_and_resets() {
        let live = LiveCounters::default();
        let mut tally = RxTally::default();
        tally.drop(DropReason::Replay);
        tally.drop(DropReason::Replay);
        tally.rx_packets += 3;
        tally.rx_bytes += 96;
        tally.flush_into(&live);
        tally.flush_into(&live);
        let c = live.snapshot(Vec::new());
        assert_eq!(c.dropped(DropReason::Replay), 2);
        assert_eq!((c.rx_packets, c.rx_bytes), (3, 96));
    }
}

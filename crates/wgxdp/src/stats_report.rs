//! `wgxdp stats`: the daemon's counters as one JSON object (serde) or as a readable table; `/metrics` encodes
//! the same report (`metrics_registry.rs`). Every counter set comes with its one list of names and help texts
//! (`Counter::ALL`, `DeviceCounter::ALL`, `DropReason::ALL`, `HANDSHAKE_COUNTERS`, `SteerReason::ALL`), which
//! all three walk.

use crate::handshake_rx::HANDSHAKE_COUNTERS;
use crate::shared::Shared;
use crate::xdp_control::XdpReport;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wgxdp_datapath::{Counter, WorkerSnapshot};
use wgxdp_device::{Counters, DeviceCounter, PeerCounters};
use wgxdp_io_xdp::SteerReason;

/// Everything `stats` reports, read at one moment.
#[derive(Debug)]
pub struct StatsReport {
    /// Interface name.
    pub interface: String,
    /// UDP port bound.
    pub listen_port: u16,
    /// The daemon clock when read (time since the daemon started).
    pub now: Duration,
    /// The wall clock when read, to turn the daemon clock's times into dates.
    pub wall: SystemTime,
    /// Admitted handshake messages waiting for the handshake workers.
    pub handshake_queue_depth: usize,
    /// The handshake receiver's counters, in [`HANDSHAKE_COUNTERS`] order.
    pub handshakes: [u64; HANDSHAKE_COUNTERS.len()],
    /// Whether the device is under load (cookie replies instead of handshakes without a valid mac2).
    pub under_load: bool,
    /// One entry per worker, by id.
    pub workers: Vec<WorkerSnapshot>,
    /// The device's counters.
    pub device: Counters,
    /// The XDP program's state and counters, when the AF_XDP path is in use.
    pub xdp: Option<XdpReport>,
}

impl StatsReport {
    /// Reads the counters now.
    pub fn collect(shared: &Shared) -> Self {
        let now = shared.clock.now();
        Self {
            interface: shared.interface.clone(),
            listen_port: shared.sockets.bound_port(),
            now,
            wall: SystemTime::now(),
            handshake_queue_depth: shared.handshakes.depth(),
            handshakes: shared.handshake_rx.snapshot(),
            under_load: shared.handshakes.under_load(now),
            workers: shared.workers.iter().map(|w| w.snapshot()).collect(),
            device: shared.device.counters(),
            xdp: shared.xdp.get().map(|x| x.report()),
        }
    }

    /// Seconds since the daemon started.
    pub fn uptime_secs(&self) -> f64 {
        self.now.as_secs_f64()
    }

    /// Sum over the workers.
    pub fn totals(&self) -> WorkerSnapshot {
        self.workers
            .iter()
            .fold(WorkerSnapshot::default(), |sum, w| sum.plus(w))
    }

    /// When the peer's last handshake completed, in seconds since the Unix epoch (`None`: never).
    pub fn latest_handshake_unix_secs(&self, peer: &PeerCounters) -> Option<f64> {
        let at = peer.last_handshake?;
        let date = self.wall.checked_sub(self.now.saturating_sub(at))?;
        date.duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs_f64())
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain numbers and strings into a String cannot fail; were it ever to, say so in JSON.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }

    /// A table: one row per worker counter (workers as columns, then the total), then the
    /// device counters, drops by reason and per-peer bytes.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "interface {}  listen_port {}  workers {}  uptime {:.1}s  handshake_queue {}",
            self.interface,
            self.listen_port,
            self.workers.len(),
            self.uptime_secs(),
            self.handshake_queue_depth
        );
        out.push('\n');
        let _ = write!(out, "{:<22}", "worker");
        for id in 0..self.workers.len() {
            let _ = write!(out, "{:>14}", id);
        }
        let _ = writeln!(out, "{:>14}", "total");
        let totals = self.totals();
        for counter in Counter::ALL {
            let _ = write!(out, "{:<22}", counter.name());
            for w in &self.workers {
                let _ = write!(out, "{:>14}", w.get(counter));
            }
            let _ = writeln!(out, "{:>14}", totals.get(counter));
        }
        let _ = writeln!(out, "\nhandshakes (under load: {})", self.under_load);
        for (info, value) in HANDSHAKE_COUNTERS.iter().zip(self.handshakes) {
            let _ = writeln!(out, "  {:<24}{value:>14}", info.name);
        }
        if let Some(xdp) = &self.xdp {
            let _ = writeln!(
                out,
                "\nxdp  link {}  mode {}  port {}  queues {}",
                xdp.link, xdp.mode, xdp.port, xdp.queues
            );
            let addresses: Vec<String> =
                xdp.local_addresses.iter().map(|a| a.to_string()).collect();
            let sources: Vec<String> = xdp.allowed_sources.iter().map(|p| p.to_string()).collect();
            let _ = writeln!(out, "  steered to  {}", addresses.join(" "));
            let _ = writeln!(
                out,
                "  steered from  {}",
                if sources.is_empty() {
                    "any source".to_owned()
                } else {
                    sources.join(" ")
                }
            );
            if let Some(c) = &xdp.counters {
                for reason in SteerReason::ALL {
                    let _ = writeln!(out, "  {:<24}{:>14}", reason.name(), c.get(reason));
                }
            }
        }
        let d = &self.device;
        out.push_str("\ndevice\n");
        for counter in DeviceCounter::ALL {
            let _ = writeln!(out, "  {:<24}{:>14}", counter.name(), d.get(counter));
        }
        let _ = writeln!(out, "\ndrops (total {})", d.total_dropped());
        for (reason, n) in &d.drops {
            let _ = writeln!(out, "  {:<24}{n:>14}  {reason}", reason.name());
        }
        if !d.peers.is_empty() {
            out.push_str("\npeers\n");
            for p in &d.peers {
                let _ = writeln!(
                    out,
                    "  {}  rx_bytes {}  tx_bytes {}  staged {}",
                    p.public_key, p.rx_bytes, p.tx_bytes, p.staged
                );
            }
        }
        out
    }
}

/// JSON: `{"interface":..,"listen_port":..,"uptime_secs":..,"handshake_queue_depth":..,"workers":[{"id":0,...}],
/// "handshakes":{..,"under_load":..},"totals":{...},"device":{...}}`, plus `"xdp":{...}` on the AF_XDP path.
impl Serialize for StatsReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("interface", &self.interface)?;
        map.serialize_entry("listen_port", &self.listen_port)?;
        // Milliseconds are plenty (and what the report always showed).
        map.serialize_entry("uptime_secs", &(self.now.as_millis() as f64 / 1000.0))?;
        map.serialize_entry("handshake_queue_depth", &self.handshake_queue_depth)?;
        let workers: Vec<WorkerEntry<'_>> = self
            .workers
            .iter()
            .enumerate()
            .map(|(id, counters)| WorkerEntry { id, counters })
            .collect();
        map.serialize_entry("workers", &workers)?;
        map.serialize_entry("handshakes", &Handshakes(self))?;
        map.serialize_entry("totals", &self.totals())?;
        map.serialize_entry("device", &self.device)?;
        if let Some(xdp) = &self.xdp {
            map.serialize_entry("xdp", xdp)?;
        }
        map.end()
    }
}

/// `{"id":N, counters...}`.
#[derive(Serialize)]
struct WorkerEntry<'a> {
    id: usize,
    #[serde(flatten)]
    counters: &'a WorkerSnapshot,
}

/// `{"received":..,...,"under_load":..}`.
struct Handshakes<'a>(&'a StatsReport);

impl Serialize for Handshakes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(HANDSHAKE_COUNTERS.len() + 1))?;
        for (info, value) in HANDSHAKE_COUNTERS.iter().zip(self.0.handshakes) {
            map.serialize_entry(info.name, &value)?;
        }
        map.serialize_entry("under_load", &self.0.under_load)?;
        map.end()
    }
}

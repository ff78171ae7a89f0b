//! `wgxdp stats`: the daemon's counters as one JSON object or as a readable table.

use crate::shared::Shared;
use crate::xdp_control::XdpReport;
use std::fmt::Write as _;
use wgxdp_datapath::{Counter, WorkerSnapshot};
use wgxdp_device::Counters;
use wgxdp_io_xdp::SteerReason;

/// Everything `stats` reports, read at one moment.
#[derive(Debug)]
pub struct StatsReport {
    /// Interface name.
    pub interface: String,
    /// UDP port bound.
    pub listen_port: u16,
    /// Seconds since the daemon started.
    pub uptime_secs: f64,
    /// Admitted handshake messages waiting for the handshake workers.
    pub handshake_queue_depth: usize,
    /// The slow path's screening: received, queued, queue_full, answered, dropped; and whether under load now.
    pub handshakes: [(&'static str, u64); 5],
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
        Self {
            interface: shared.interface.clone(),
            listen_port: shared.sockets.bound_port(),
            uptime_secs: shared.clock.now().as_secs_f64(),
            handshake_queue_depth: shared.handshakes.depth(),
            handshakes: {
                let h = &shared.handshake_rx;
                let get =
                    |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
                [
                    ("received", get(&h.received)),
                    ("queued", get(&h.queued)),
                    ("queue_full", get(&h.queue_full)),
                    ("answered", get(&h.answered)),
                    ("dropped", get(&h.dropped)),
                ]
            },
            under_load: shared.handshakes.under_load(shared.clock.now()),
            workers: shared.workers.iter().map(|w| w.snapshot()).collect(),
            device: shared.device.counters(),
            xdp: shared.xdp.get().map(|x| x.report()),
        }
    }

    /// Sum over the workers.
    pub fn totals(&self) -> WorkerSnapshot {
        self.workers
            .iter()
            .fold(WorkerSnapshot::default(), |sum, w| sum.plus(w))
    }

    /// `{"interface":..,"listen_port":..,"uptime_secs":..,"handshake_queue_depth":..,
    /// "workers":[{"id":0,...}],"totals":{...},"device":{...}}`, plus `"xdp":{...}` on the AF_XDP path.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"interface\":\"{}\",\"listen_port\":{},\"uptime_secs\":{:.3},\"handshake_queue_depth\":{},\"workers\":[",
            json_safe(&self.interface),
            self.listen_port,
            self.uptime_secs,
            self.handshake_queue_depth
        );
        for (id, w) in self.workers.iter().enumerate() {
            let sep = if id == 0 { "" } else { "," };
            let _ = write!(out, "{sep}{{\"id\":{id},");
            w.write_json_fields(&mut out);
            out.push('}');
        }
        out.push_str("],\"handshakes\":{");
        for (name, value) in &self.handshakes {
            let _ = write!(out, "\"{name}\":{value},");
        }
        let _ = write!(out, "\"under_load\":{}}}", self.under_load);
        out.push_str(",\"totals\":{");
        self.totals().write_json_fields(&mut out);
        out.push_str("},\"device\":");
        out.push_str(&self.device.to_json());
        if let Some(xdp) = &self.xdp {
            out.push_str(",\"xdp\":");
            out.push_str(&xdp.to_json());
        }
        out.push('}');
        out
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
            self.uptime_secs,
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
        for (name, value) in &self.handshakes {
            let _ = writeln!(out, "  {name:<24}{value:>14}");
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
        for (name, value) in [
            ("rx_packets", d.rx_packets),
            ("rx_bytes", d.rx_bytes),
            ("tx_packets", d.tx_packets),
            ("tx_bytes", d.tx_bytes),
            ("keepalives_received", d.keepalives_received),
            ("keepalives_sent", d.keepalives_sent),
            ("initiations_sent", d.initiations_sent),
            ("initiations_received", d.initiations_received),
            ("responses_sent", d.responses_sent),
            ("responses_received", d.responses_received),
            ("cookie_replies_sent", d.cookie_replies_sent),
            ("cookie_replies_received", d.cookie_replies_received),
            ("handshakes_completed", d.handshakes_completed),
            ("staged", d.staged),
        ] {
            let _ = writeln!(out, "  {name:<24}{value:>14}");
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

/// Drops characters that would need JSON escaping (a valid interface name has none).
fn json_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

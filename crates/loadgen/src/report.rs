//! The load generator's report: what was offered, what the DUT delivered, what its CPU spent, and every problem
//! seen on the way. Written as JSON (this structure, read back by `wgxdp-loadgen report` and by the gateway
//! benchmark), as markdown and as an SVG chart.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cpu::CpuUse;
use crate::handshakes::HandshakeCounts;
use crate::peers::InnerFamily;
use crate::rate_search::Trial;
use crate::samples::SampleSummary;
use crate::tx_backend::TxPath;
use crate::tx_loop::TxOutcome;

/// A whole run against one DUT.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `wgxdp-loadgen VERSION`.
    pub tool: String,
    /// What the DUT is (`--label`), e.g. `wireguard-go`.
    pub label: String,
    /// The settings of the run.
    pub config: RunConfig,
    /// Bringing every session up.
    pub bring_up: BringUp,
    /// The tests, in the order they ran.
    pub tests: Vec<TestResult>,
    /// Handshake initiations the DUT sent to emulated peers (not answered).
    pub dut_initiations: u64,
    /// Datagrams from the DUT that were no valid WireGuard message for a live session.
    pub garbage_from_dut: u64,
    /// What went wrong, in words; empty for a clean run.
    pub problems: Vec<String>,
}

/// The settings of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Emulated peers.
    pub peers: u32,
    /// Inner packet family.
    pub inner: Option<InnerFamily>,
    /// The generator's transmit path.
    pub tx: Option<TxPath>,
    /// Target rate in packets per second (0: flat out).
    pub rate: u64,
    /// Seconds per test.
    pub duration_s: f64,
    /// One sample every this many packets.
    pub sample_every: u64,
    /// The DUT's underlay endpoint.
    pub dut_endpoint: String,
    /// The DUT's tunnel MTU.
    pub mtu: usize,
    /// The CPU the DUT is pinned to, if given.
    pub dut_cpu: Option<u32>,
}

/// Bringing up one session per peer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BringUp {
    /// Peers asked for.
    pub peers: u32,
    /// Peers with a session at the end.
    pub established: u32,
    /// From the first initiation to the last completed handshake.
    pub seconds: f64,
    /// Sessions per second.
    pub sessions_per_second: f64,
    /// Handshake counters.
    pub handshakes: HandshakeCounts,
}

/// What a test measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Underlay -> DUT -> LAN: the DUT decrypts.
    Ingress,
    /// LAN -> DUT -> underlay: the DUT encrypts.
    Egress,
    /// Handshakes the DUT answers per second.
    Handshakes,
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// e.g. `ingress-1420`.
    pub name: String,
    /// The direction or the handshake test.
    pub kind: TestKind,
    /// Inner IP packet size (data tests).
    pub size: Option<usize>,
    /// Peers carrying the load.
    pub peers: u64,
    /// Target rate (0: flat out).
    pub target_pps: u64,
    /// Packets (or initiations) offered.
    pub sent: u64,
    /// Packets counted at the far side (or handshakes completed).
    pub delivered: u64,
    /// `1 - delivered / sent`.
    pub loss: f64,
    /// Length of the timed phase in seconds.
    pub seconds: f64,
    /// Offered packets per second.
    pub offered_pps: f64,
    /// Delivered packets per second.
    pub delivered_pps: f64,
    /// Offered inner IP bytes in Gbit/s.
    pub offered_gbps: f64,
    /// Delivered inner IP bytes in Gbit/s.
    pub delivered_gbps: f64,
    /// What the samples say (data tests).
    pub samples: Option<SampleSummary>,
    /// Handshake counters during the test (handshake test).
    pub handshakes: Option<HandshakeCounts>,
    /// The DUT's CPU during the test.
    pub cpu: CpuUse,
    /// The DUT's threads' CPU time per delivered packet, ns.
    pub dut_process_ns_per_packet: Option<f64>,
    /// The busy time of the DUT's CPU (softirq included) per delivered packet, ns.
    pub dut_core_ns_per_packet: Option<f64>,
    /// The DUT CPU's busy cores per delivered Gbit/s.
    pub dut_cores_per_gbps: Option<f64>,
    /// The receiving sink program's counters over the test.
    pub sink: SinkDelta,
    /// How the sending went.
    pub tx: TxOutcome,
    /// Packets delivered by the end of each 100 ms step.
    pub delivered_timeline: Vec<u64>,
    /// What went wrong in this test.
    pub problems: Vec<String>,
    /// The capacity search that chose the rate of this run (`--search`).
    #[serde(default)]
    pub search: Option<SearchTrace>,
}

/// How the rate of a data test was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchTrace {
    /// Loss a passing trial could have.
    pub loss_threshold: f64,
    /// The highest rate carried within it (`None`: none was).
    pub rate: Option<u64>,
    /// Every trial: the flood (rate 0) first.
    pub trials: Vec<Trial>,
}

/// The sink program's counters over one test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkDelta {
    /// Load packets counted.
    pub data_packets: u64,
    /// Their bytes (whole frames).
    pub data_bytes: u64,
    /// Passed up as samples.
    pub sampled: u64,
    /// Keepalives.
    pub keepalives: u64,
    /// Handshake messages.
    pub handshakes: u64,
    /// Not load.
    pub other: u64,
    /// To the load's port but malformed.
    pub malformed: u64,
}

impl Report {
    /// Writes the report as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// Reads a report written by [`Report::write_json`].
    pub fn read_json(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a load generator report", path.display()))
    }
}

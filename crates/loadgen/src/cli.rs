//! Command line of `wgxdp-loadgen`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use wgxdp_uapi::AllowedIp;

use crate::peers::{source_addresses, InnerFamily, PeerPlan};
use crate::report::TestKind;
use crate::tx_backend::TxPath;

/// A WireGuard traffic generator that measures one gateway's capacity.
#[derive(Parser, Debug)]
#[command(name = "wgxdp-loadgen", version)]
pub struct Cli {
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Warnings and errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Configure the DUT's peers, bring the sessions up and run the tests.
    Run(Box<RunArgs>),
    /// Write the DUT's configuration for the emulated peers (wg setconf format) and exit.
    Conf(ConfArgs),
    /// Print a JSON report as markdown (and optionally as an SVG chart).
    Report(ReportArgs),
}

/// The emulated peers.
#[derive(Args, Debug, Clone)]
pub struct PeerArgs {
    /// Emulated peers (1 to 100000).
    #[arg(long, default_value_t = 1)]
    pub peers: u32,
    /// Seed of the peers' keys (same seed, same peers); random when not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Peer i gets address i+1 of this IPv4 prefix as its tunnel address.
    #[arg(long, default_value = "100.64.0.0/10", value_parser = parse_prefix)]
    pub tunnel4: AllowedIp,
    /// Peer i gets address i+1 of this IPv6 prefix.
    #[arg(long, default_value = "fd00:64::/64", value_parser = parse_prefix)]
    pub tunnel6: AllowedIp,
    /// Underlay source addresses of the peers: the first --src-count addresses after this prefix's base. They
    /// must be local in the generator's namespace (e.g. `ip route add local PREFIX dev lo`).
    #[arg(long, default_value = "198.18.64.0/18", value_parser = parse_prefix)]
    pub src_net: AllowedIp,
    /// How many source addresses the peers spread over (default: one per peer, at most 1024).
    #[arg(long)]
    pub src_count: Option<u32>,
    /// UDP port of every emulated peer.
    #[arg(long, default_value_t = 51900)]
    pub src_port: u16,
    /// Inner packet family: v4, v6, or mixed (even peers v4, odd v6).
    #[arg(long, value_enum, default_value = "v4")]
    pub inner: InnerArg,
}

/// `--inner`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum InnerArg {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
    /// Both.
    Mixed,
}

impl PeerArgs {
    /// The plan these arguments describe.
    pub fn plan(&self, seed: u64) -> Result<PeerPlan> {
        let count = self.src_count.unwrap_or(self.peers.min(1024));
        Ok(PeerPlan {
            count: self.peers,
            tunnel4: self.tunnel4,
            tunnel6: self.tunnel6,
            sources: source_addresses(&self.src_net, count)?,
            port: self.src_port,
            family: match self.inner {
                InnerArg::V4 => InnerFamily::V4,
                InnerArg::V6 => InnerFamily::V6,
                InnerArg::Mixed => InnerFamily::Mixed,
            },
            seed,
        })
    }
}

/// `wgxdp-loadgen run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The emulated peers.
    #[command(flatten)]
    pub peers: PeerArgs,
    /// A name for the DUT in the report (e.g. `wireguard-go`).
    #[arg(long, default_value = "")]
    pub label: String,
    /// Network namespace of the generator's underlay interface (default: the current one).
    #[arg(long)]
    pub gen_ns: Option<String>,
    /// The generator's underlay interface, facing the DUT's.
    #[arg(long)]
    pub gen_dev: String,
    /// Network namespace of the sink's LAN interface (default: the current one).
    #[arg(long)]
    pub sink_ns: Option<String>,
    /// The sink's LAN interface, facing the DUT's LAN side.
    #[arg(long)]
    pub sink_dev: String,
    /// The sink's IPv4 LAN address (ingress destination, egress source).
    #[arg(long, default_value = "198.19.1.2")]
    pub sink4: Ipv4Addr,
    /// The sink's IPv6 LAN address.
    #[arg(long, default_value = "fd00:19:1::2")]
    pub sink6: Ipv6Addr,
    /// UDP port of the sink (ingress destination; egress plaintext leaves from the next port).
    #[arg(long, default_value_t = 9000)]
    pub sink_port: u16,
    /// The DUT's underlay endpoint (IPv4 address and port).
    #[arg(long)]
    pub dut: SocketAddrV4,
    /// The DUT's public key (base64).
    #[arg(long)]
    pub dut_public_key: String,
    /// Apply the peers through this UAPI socket (e.g. /var/run/wireguard/wg0.sock); replaces the DUT's peers.
    #[arg(long)]
    pub uapi: Option<PathBuf>,
    /// Seconds the DUT may take to answer one UAPI request (of up to 2000 peers).
    #[arg(long, default_value_t = 120.0)]
    pub uapi_timeout: f64,
    /// Also write the DUT's peer configuration here (wg setconf format).
    #[arg(long)]
    pub write_conf: Option<PathBuf>,
    /// The tests, in order: ingress:SIZE, egress:SIZE (inner IP packet bytes) and handshakes.
    #[arg(long, value_delimiter = ',', default_value = "ingress:64,egress:64,handshakes", value_parser = parse_test)]
    pub tests: Vec<TestSpec>,
    /// Target rate in packets per second; 0 sends flat out (as fast as the generator can).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Find each data test's capacity: a flood, then a bisection for the highest rate carried with at most
    /// --loss-threshold loss (trials of --trial seconds), then --duration at that rate. Without it each data test
    /// is one run at --rate.
    #[arg(long)]
    pub search: bool,
    /// Seconds per search trial.
    #[arg(long, default_value_t = 0.5)]
    pub trial: f64,
    /// Search trials after the flood, at most.
    #[arg(long, default_value_t = 7)]
    pub search_steps: u32,
    /// Loss a search trial may have and pass (0.001 is 0.1 %).
    #[arg(long, default_value_t = 0.001)]
    pub loss_threshold: f64,
    /// Seconds per test (at most 60: sessions are refreshed between tests, not during one).
    #[arg(long, default_value_t = 3.0)]
    pub duration: f64,
    /// Memory for one ingress pool in MiB; a flat-out test ends early when its pool is used up.
    #[arg(long, default_value_t = 1024)]
    pub pool_mib: u64,
    /// One packet in this many is a sample (checked, timed); 1 samples every packet.
    #[arg(long, default_value_t = 1024)]
    pub sample_every: u64,
    /// The generator's transmit path.
    #[arg(long, value_enum, default_value = "xdp")]
    pub tx: TxPath,
    /// The DUT's tunnel MTU (caps WireGuard's padding).
    #[arg(long, default_value_t = 1420)]
    pub mtu: usize,
    /// Most handshake initiations in flight.
    #[arg(long, default_value_t = 256)]
    pub handshake_window: usize,
    /// Milliseconds before an unanswered initiation is sent again.
    #[arg(long, default_value_t = 1000)]
    pub handshake_timeout_ms: u64,
    /// Initiations per peer before it is given up.
    #[arg(long, default_value_t = 5)]
    pub handshake_attempts: u32,
    /// Seconds the bring-up of all sessions may take (default: 20 + 1 per 500 peers).
    #[arg(long)]
    pub bring_up_deadline: Option<f64>,
    /// The DUT's process id, for its per-thread CPU time.
    #[arg(long)]
    pub dut_pid: Option<u32>,
    /// The CPU the DUT is pinned to, for its system-wide CPU time (softirq included).
    #[arg(long)]
    pub dut_cpu: Option<u32>,
    /// How the sink programs attach.
    #[arg(long, value_enum, default_value = "native")]
    pub xdp_mode: XdpModeArg,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the markdown report here (default: standard output).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the SVG chart here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// `--xdp-mode`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum XdpModeArg {
    /// In the driver.
    Native,
    /// Generic XDP.
    Generic,
    /// Native, else generic.
    Auto,
}

/// One test of `--tests`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestSpec {
    /// What it measures.
    pub kind: TestKind,
    /// Inner packet size (data tests).
    pub size: Option<usize>,
}

impl TestSpec {
    /// `ingress-64`, `handshakes`.
    pub fn name(&self) -> String {
        match (self.kind, self.size) {
            (TestKind::Ingress, Some(size)) => format!("ingress-{size}"),
            (TestKind::Egress, Some(size)) => format!("egress-{size}"),
            _ => "handshakes".to_string(),
        }
    }
}

/// Largest inner packet: a standard 1500-byte underlay MTU minus WireGuard's 60 bytes over IPv4.
pub const MAX_SIZE: usize = 1440;

fn parse_test(text: &str) -> Result<TestSpec, String> {
    if text == "handshakes" {
        return Ok(TestSpec {
            kind: TestKind::Handshakes,
            size: None,
        });
    }
    let (kind, size) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected ingress:SIZE, egress:SIZE or handshakes"))?;
    let kind = match kind {
        "ingress" => TestKind::Ingress,
        "egress" => TestKind::Egress,
        _ => return Err(format!("{kind:?}: expected ingress, egress or handshakes")),
    };
    let size: usize = size
        .parse()
        .map_err(|_| format!("{size:?} is not a packet size"))?;
    if !(60..=MAX_SIZE).contains(&size) {
        return Err(format!("packet size {size}: 60 to {MAX_SIZE} bytes"));
    }
    Ok(TestSpec {
        kind,
        size: Some(size),
    })
}

fn parse_prefix(text: &str) -> Result<AllowedIp, String> {
    AllowedIp::parse_with_length(text).map_err(|e| format!("{text:?}: {e}"))
}

/// `wgxdp-loadgen conf`.
#[derive(Args, Debug)]
pub struct ConfArgs {
    /// The emulated peers (use the same --seed for `run`).
    #[command(flatten)]
    pub peers: PeerArgs,
    /// Where to write the configuration.
    #[arg(long)]
    pub out: PathBuf,
}

/// `wgxdp-loadgen report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A JSON report of `wgxdp-loadgen run --json`.
    pub json: PathBuf,
    /// Also write the SVG chart here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

impl RunArgs {
    /// Checks what clap cannot.
    pub fn validate(&self) -> Result<()> {
        if !(0.1..=60.0).contains(&self.duration) {
            return Err(anyhow!("--duration {}: 0.1 to 60 seconds", self.duration));
        }
        if !(0.1..=60.0).contains(&self.trial) {
            return Err(anyhow!("--trial {}: 0.1 to 60 seconds", self.trial));
        }
        if !(0.0..1.0).contains(&self.loss_threshold) {
            return Err(anyhow!(
                "--loss-threshold {}: from 0 to below 1",
                self.loss_threshold
            ));
        }
        if self.sample_every == 0 {
            return Err(anyhow!("--sample-every must be at least 1"));
        }
        if self.handshake_window == 0 || self.handshake_attempts == 0 {
            return Err(anyhow!(
                "--handshake-window and --handshake-attempts must be at least 1"
            ));
        }
        if !(0.1..=3600.0).contains(&self.uapi_timeout) {
            return Err(anyhow!(
                "--uapi-timeout {}: 0.1 to 3600 seconds",
                self.uapi_timeout
            ));
        }
        if self.mtu < 576 {
            return Err(anyhow!("--mtu {} is below 576", self.mtu));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_parse() {
        assert_eq!(
            parse_test("ingress:64"),
            Ok(TestSpec {
                kind: TestKind::Ingress,
                size: Some(64)
            })
        );
        assert_eq!(
            parse_test("handshakes").map(|t| t.name()),
            Ok("handshakes".to_string())
        );
        assert_eq!(
            parse_test("egress:1420").map(|t| t.name()),
            Ok("egress-1420".to_string())
        );
        assert!(parse_test("egress:20").is_err());
        assert!(parse_test("egress:9000").is_err());
        assert!(parse_test("sideways:64").is_err());
        assert!(parse_test("ingress").is_err());
    }

    #[test]
    fn command_line_parses() {
        let cli = Cli::try_parse_from([
            "wgxdp-loadgen",
            "run",
            "--gen-dev",
            "g",
            "--sink-dev",
            "s",
            "--dut",
            "198.18.1.1:51820",
            "--dut-public-key",
            "x",
            "--peers",
            "3",
            "--tests",
            "ingress:64,handshakes",
            "--inner",
            "mixed",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run");
        };
        assert_eq!(args.tests.len(), 2);
        assert_eq!(args.peers.peers, 3);
        args.validate().unwrap();
        let plan = args.peers.plan(1).unwrap();
        assert_eq!(plan.sources.len(), 3);
        assert_eq!(plan.family, InnerFamily::Mixed);
    }
}

//! The two data tests. Ingress: seal a pool per peer, replay it from the generator into the DUT's underlay side,
//! count the plaintext at the LAN sink. Egress: send plaintext from the sink into the DUT's LAN side, count the
//! transport data at the generator and decrypt the samples.

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use wgxdp_io_xdp::{FrameSize, SinkProgram, XskConfig, XskSocket};
use wgxdp_noise::Keypair;
use wgxdp_wire::LinkFields;

use crate::cli::RunArgs;
use crate::egress_frames::{egress_flow, EgressFrames, EgressSpec};
use crate::handshakes::Handshakes;
use crate::ingress_pool::{IngressPool, IngressSpec};
use crate::measure::{timed, DutCpu, Figures};
use crate::rate_search::{RateSearch, SearchConfig, Trial};
use crate::report::{SearchTrace, TestKind, TestResult};
use crate::rig::{next_hop, Rig, PEER_DATA_PORT};
use crate::samples::summarize;
use crate::tx_backend::{SocketTx, TxBackend, TxPath, XdpTx};
use crate::tx_loop::{self, TxPlan};
use crate::tx_source::{PoolSource, TemplateSource};

/// Egress keepalives: each peer tells the DUT it is alive this often, or the DUT would start handshakes of its
/// own after 15 s of sending without hearing back.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(5);

/// A flat-out ingress trial gets a pool for this rate at most: more than one core sends through a veth, so the
/// pool lasts the whole trial without sealing what is never sent.
const FLOOD_POOL_PPS: f64 = 1_500_000.0;

/// What both data tests need.
pub struct DataContext<'a> {
    /// The command line.
    pub args: &'a RunArgs,
    /// The run's pieces.
    pub rig: &'a Rig,
    /// The peers and their sessions.
    pub engine: &'a Handshakes,
    /// The DUT's CPU.
    pub dut: DutCpu,
}

impl DataContext<'_> {
    fn active(&self) -> Vec<(u32, Arc<Keypair>)> {
        (0..self.engine.peers().len() as u32)
            .filter_map(|p| self.engine.session(p).map(|k| (p, k.clone())))
            .collect()
    }
}

/// One trial: a rate (0: flat out) for a time.
#[derive(Clone, Copy, Debug)]
pub struct TrialPlan {
    /// Packets per second.
    pub rate: u64,
    /// Seconds.
    pub duration: f64,
}

impl TrialPlan {
    fn tx(&self) -> TxPlan {
        TxPlan {
            rate: self.rate,
            duration: Duration::from_secs_f64(self.duration),
        }
    }

    fn limit(&self) -> Duration {
        Duration::from_secs_f64(self.duration) + Duration::from_secs(5)
    }

    /// Packets the trial sends at its rate (`None` flat out).
    fn packets(&self) -> Option<u64> {
        (self.rate > 0).then(|| (self.rate as f64 * self.duration).ceil() as u64)
    }
}

impl DataContext<'_> {
    fn sink(program: &Option<SinkProgram>) -> Result<&SinkProgram> {
        program
            .as_ref()
            .ok_or_else(|| anyhow!("the sink program is gone"))
    }
}

/// An AF_XDP socket for sending only, on queue 0 of `dev` (in the calling thread's namespace).
fn xdp_tx(dev: &str) -> Result<XdpTx> {
    let config = XskConfig {
        frame_count: 4096,
        frame_size: FrameSize::Half,
        ring_size: 2048,
        rx_frames: 0,
        ..XskConfig::default()
    };
    let socket = XskSocket::open(dev, 0, &config)
        .with_context(|| format!("opening an AF_XDP socket on {dev}"))?;
    Ok(XdpTx::new(socket))
}

/// Underlay -> DUT -> LAN at packet size `size`: capacity (see [`capacity`]) or one trial at `--rate`.
pub fn ingress(ctx: &DataContext<'_>, size: usize) -> Result<TestResult> {
    capacity(ctx, |plan| ingress_trial(ctx, size, plan))
}

/// LAN -> DUT -> underlay at packet size `size`.
pub fn egress(ctx: &DataContext<'_>, size: usize) -> Result<TestResult> {
    capacity(ctx, |plan| egress_trial(ctx, size, plan))
}

/// The summary of a trial, for the search.
fn as_trial(rate: u64, result: &TestResult) -> Trial {
    Trial {
        rate,
        offered_pps: result.offered_pps,
        delivered_pps: result.delivered_pps,
        loss: result.loss,
    }
}

/// With `--search`: a flood trial, a bisection for the highest rate carried within `--loss-threshold` (a rate
/// fails only when two trials at it both exceed it), then a run of `--duration` at that rate, whose figures the test reports (with every trial beside them). Without: one
/// run at `--rate`.
fn capacity(
    ctx: &DataContext<'_>,
    mut trial: impl FnMut(TrialPlan) -> Result<TestResult>,
) -> Result<TestResult> {
    let args = ctx.args;
    let full = |rate| TrialPlan {
        rate,
        duration: args.duration,
    };
    if !args.search {
        return trial(full(args.rate));
    }
    let short = |rate| TrialPlan {
        rate,
        duration: args.trial,
    };
    let config = SearchConfig {
        steps: args.search_steps,
        loss_threshold: args.loss_threshold,
        resolution: 0.05,
    };
    let flood = trial(short(0))?;
    let mut search = RateSearch::new(config, as_trial(0, &flood));
    while let Some(rate) = search.next_rate() {
        let mut result = trial(short(rate))?;
        // One more try before a rate counts as failed: a shared machine can steal the DUT's core for a moment.
        if result.loss > args.loss_threshold {
            let again = trial(short(rate))?;
            if again.loss < result.loss {
                result = again;
            }
        }
        log::debug!(
            "{} at {rate} pps: loss {:.4}%",
            result.name,
            result.loss * 100.0
        );
        search.record(as_trial(rate, &result));
    }
    let mut result = match search.best() {
        Some(rate) => trial(full(rate))?,
        None if search.kept_up() => {
            let mut result = trial(full(0))?;
            result.problems.push(
                "the DUT carried everything the generator could send: its capacity is higher than this figure".into(),
            );
            result
        }
        None => {
            let mut result = flood;
            result.problems.push(format!(
                "no offered rate was carried with at most {:.2}% loss: the figures are the flood's",
                args.loss_threshold * 100.0
            ));
            result
        }
    };
    result.search = Some(SearchTrace {
        loss_threshold: args.loss_threshold,
        rate: search.best(),
        trials: search.trials().to_vec(),
    });
    Ok(result)
}

/// One ingress trial.
fn ingress_trial(ctx: &DataContext<'_>, size: usize, trial: TrialPlan) -> Result<TestResult> {
    let args = ctx.args;
    let active = ctx.active();
    let mut problems = Vec::new();
    let hop = next_hop(ctx.rig.gen_ns(), IpAddr::V4(*args.dut.ip()))?;
    let budget = args.pool_mib * (1 << 20);
    let per_frame = IngressPool::bytes_for(size, args.mtu, 1).max(1);
    let max_frames = budget / per_frame;
    let wanted = trial
        .packets()
        .unwrap_or((FLOOD_POOL_PPS * trial.duration).ceil() as u64);
    let total = wanted.min(max_frames);
    if trial.rate > 0 && total < wanted {
        problems.push(format!(
            "the pool holds {total} of the {wanted} packets the rate and duration ask for (--pool-mib {})",
            args.pool_mib
        ));
    }
    let spec = IngressSpec {
        size,
        total,
        sample_every: args.sample_every,
        rate: trial.rate,
        mtu: args.mtu,
        dut: args.dut,
        link: LinkFields {
            src: hop.src_mac,
            dst: hop.dst_mac,
            vlan_tci: None,
        },
        sink4: args.sink4,
        sink6: args.sink6,
        sink_port: args.sink_port,
        src_port: PEER_DATA_PORT,
    };
    let sealing = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = IngressPool::seal(&spec, ctx.engine.peers(), &active, threads)?;
    log::info!(
        "ingress {size} B: sealed {total} messages for {} peers in {:.2} s ({} MiB)",
        active.len(),
        sealing.elapsed().as_secs_f64(),
        (pool.len() * per_frame) >> 20
    );
    let sink_rx = ctx
        .rig
        .sink_rx
        .as_ref()
        .ok_or_else(|| anyhow!("the sink receiver is gone"))?;
    sink_rx.take_log();
    let plan = trial.tx();
    let gen_socket = ctx.rig.gen_socket.socket().clone();
    let measured = timed(
        ctx.rig.gen_ns(),
        DataContext::sink(&ctx.rig.lan_sink)?,
        ctx.dut,
        trial.limit(),
        || {},
        |stop: &AtomicBool| {
            let mut backend: Box<dyn TxBackend> = match args.tx {
                TxPath::Xdp => Box::new(xdp_tx(&args.gen_dev)?),
                TxPath::Socket => Box::new(SocketTx::new(gen_socket, None)),
            };
            let mut source = PoolSource::new(&pool, args.sample_every);
            let outcome = tx_loop::run(backend.as_mut(), &mut source, plan, stop);
            Ok((outcome, source.into_send_log()))
        },
    )?;
    let (outcome, send_log) = measured.sent;
    let log = sink_rx.take_log();
    let every = args.sample_every;
    let samples = summarize(&log, |s| {
        send_log.get((s.position / every) as usize).copied()
    });
    let measured = crate::measure::Measured {
        sent: outcome,
        sink: measured.sink,
        cpu: measured.cpu,
        timeline: measured.timeline,
    };
    if measured.sent.source_exhausted && trial.rate == 0 {
        log::info!(
            "ingress {size} B: the pool ran out after {:.2} s",
            measured.sent.seconds()
        );
    }
    let figures = Figures {
        name: format!("ingress-{size}"),
        kind: TestKind::Ingress,
        size: Some(size),
        peers: active.len() as u64,
        target_pps: trial.rate,
        sent: measured.sent.sent,
        delivered: measured.sink.data_packets,
        seconds: measured.sent.seconds(),
        unit: "packets",
    };
    Ok(figures.result(ctx.dut, measured, Some(samples), problems))
}

/// One egress trial.
fn egress_trial(ctx: &DataContext<'_>, size: usize, trial: TrialPlan) -> Result<TestResult> {
    let args = ctx.args;
    let active = ctx.active();
    let peers = ctx.engine.peers();
    let first = active
        .first()
        .ok_or_else(|| anyhow!("no peer has a session: nothing to send"))?
        .0;
    let hop = next_hop(ctx.rig.sink_ns(), peers[first as usize].tunnel_addr())?;
    let spec = EgressSpec {
        size,
        link: LinkFields {
            src: hop.src_mac,
            dst: hop.dst_mac,
            vlan_tci: None,
        },
        sink4: args.sink4,
        sink6: args.sink6,
        src_port: args.sink_port + 1,
        dst_port: PEER_DATA_PORT,
    };
    let indices: Vec<u32> = active.iter().map(|(p, _)| *p).collect();
    let mut frames = EgressFrames::new(&spec, peers, &indices)?;
    ctx.rig.shared.egress_flows.store(Arc::new(
        peers.iter().map(|p| egress_flow(p, &spec)).collect(),
    ));
    ctx.rig.shared.take_log();
    let limit = trial.packets();
    let plan = trial.tx();
    let sink_ns = ctx.rig.sink_ns();
    // The first round goes out at once: the tests before this one may have been egress tests too.
    let mut last_keepalive: Option<Instant> = None;
    let mut keepalive_errors = 0u64;
    let keepalive = || {
        if last_keepalive.is_some_and(|at| at.elapsed() < KEEPALIVE_EVERY) {
            return;
        }
        last_keepalive = Some(Instant::now());
        for (peer, keypair) in &active {
            let mut message = [0u8; 32];
            let sent = keypair
                .seal(&mut message, 0, args.mtu)
                .map_err(|e| anyhow!("{e}"))
                .and_then(|len| {
                    ctx.rig.gen_socket.send_from(
                        peers[*peer as usize].endpoint,
                        args.dut,
                        &message[..len],
                    )
                });
            if sent.is_err() {
                keepalive_errors += 1;
            }
        }
    };
    let measured = timed(
        sink_ns,
        DataContext::sink(&ctx.rig.gen_sink)?,
        ctx.dut,
        trial.limit(),
        keepalive,
        |stop: &AtomicBool| {
            let mut backend: Box<dyn TxBackend> = match args.tx {
                TxPath::Xdp => Box::new(xdp_tx(&args.sink_dev)?),
                TxPath::Socket => {
                    let [v4, v6] = crate::sink_rx::bind(args.sink_port + 1)?;
                    Box::new(SocketTx::new(Arc::new(v4), Some(Arc::new(v6))))
                }
            };
            let mut source = TemplateSource::new(&mut frames, limit);
            Ok(tx_loop::run(backend.as_mut(), &mut source, plan, stop))
        },
    )?;
    let log = ctx.rig.shared.take_log();
    let samples = summarize(&log, |_| None);
    let mut problems = Vec::new();
    if keepalive_errors > 0 {
        problems.push(format!("{keepalive_errors} keepalives could not be sent"));
    }
    let figures = Figures {
        name: format!("egress-{size}"),
        kind: TestKind::Egress,
        size: Some(size),
        peers: active.len() as u64,
        target_pps: trial.rate,
        sent: measured.sent.sent,
        delivered: measured.sink.data_packets,
        seconds: measured.sent.seconds(),
        unit: "packets",
    };
    Ok(figures.result(ctx.dut, measured, Some(samples), problems))
}

//! `wgxdp-loadgen run`: configure the DUT's peers, bring every session up, run the tests in order (refreshing
//! sessions between them), and gather the report. A test that fails is reported and the next one runs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use wgxdp_noise::PublicKey;

use crate::cli::RunArgs;
use crate::clock;
use crate::data_test::{self, DataContext};
use crate::dut_config::{setconf_file, uapi_requests, Interface};
use crate::handshake_driver::Driver;
use crate::handshake_test;
use crate::handshakes::{HandshakeConfig, Handshakes};
use crate::measure::DutCpu;
use crate::report::{BringUp, Report, RunConfig, TestKind};
use crate::rig::Rig;
use crate::uapi_client;

/// A session this old is renewed before the next test: the DUT rejects keypairs at 180 s, and a test with its
/// pool may take 70 s.
const REFRESH_AGE: Duration = Duration::from_secs(100);

/// Runs everything the arguments ask for.
pub fn run(args: &RunArgs) -> Result<Report> {
    args.validate()?;
    let seed = args.peers.seed.unwrap_or_else(rand::random);
    let dut_key = PublicKey::from_base64(args.dut_public_key.trim())
        .map_err(|e| anyhow!("--dut-public-key: {e}"))?;
    let plan = args.peers.plan(seed)?;
    let started = clock::now();
    let peers = plan.build()?;
    log::info!(
        "{} peers over {} source addresses (seed {seed}) in {:.2} s",
        peers.len(),
        plan.sources.len(),
        (clock::now() - started).as_secs_f64()
    );
    let interface = Interface {
        private_key: None,
        listen_port: None,
    };
    if let Some(path) = &args.write_conf {
        std::fs::write(path, setconf_file(&interface, &peers))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(socket) = &args.uapi {
        let requests = uapi_requests(&interface, &peers);
        let applying = clock::now();
        uapi_client::apply(
            socket,
            &requests,
            Duration::from_secs_f64(args.uapi_timeout),
        )?;
        log::info!(
            "{} peers applied through {} in {:.2} s",
            peers.len(),
            socket.display(),
            (clock::now() - applying).as_secs_f64()
        );
    }

    let mut report = Report {
        tool: format!("wgxdp-loadgen {}", env!("CARGO_PKG_VERSION")),
        label: args.label.clone(),
        config: RunConfig {
            peers: args.peers.peers,
            inner: Some(plan.family),
            tx: Some(args.tx),
            rate: args.rate,
            duration_s: args.duration,
            sample_every: args.sample_every,
            dut_endpoint: args.dut.to_string(),
            mtu: args.mtu,
            dut_cpu: args.dut_cpu,
        },
        ..Report::default()
    };
    let mut rig = Rig::build(args, &peers)?;
    let config = HandshakeConfig {
        window: args.handshake_window,
        retransmit: Duration::from_millis(args.handshake_timeout_ms),
        attempts: args.handshake_attempts,
    };
    let mut engine = Handshakes::new(
        peers,
        &dut_key,
        config,
        args.mtu,
        rand::random::<u32>().max(1),
        clock::now(),
    );
    report.bring_up = bring_up(args, &rig, &mut engine);
    log::info!(
        "bring-up: {} of {} sessions in {:.3} s",
        report.bring_up.established,
        report.bring_up.peers,
        report.bring_up.seconds
    );
    if report.bring_up.established < report.bring_up.peers {
        report.problems.push(format!(
            "only {} of {} peers completed a handshake",
            report.bring_up.established, report.bring_up.peers
        ));
    }
    let dut = DutCpu {
        pid: args.dut_pid,
        cpu: args.dut_cpu,
    };
    if report.bring_up.established == 0 {
        report.problems.push("no session: no test ran".into());
    } else {
        for test in &args.tests {
            refresh(args, &rig, &mut engine, &mut report);
            log::info!("test {}", test.name());
            let result = match (test.kind, test.size) {
                (TestKind::Ingress, Some(size)) => data_test::ingress(
                    &DataContext {
                        args,
                        rig: &rig,
                        engine: &engine,
                        dut,
                    },
                    size,
                ),
                (TestKind::Egress, Some(size)) => data_test::egress(
                    &DataContext {
                        args,
                        rig: &rig,
                        engine: &engine,
                        dut,
                    },
                    size,
                ),
                _ => handshake_test::handshakes(
                    &rig,
                    &mut engine,
                    dut,
                    Duration::from_secs_f64(args.duration),
                    args.dut,
                ),
            };
            match result {
                Ok(result) => {
                    log::info!(
                        "{}: offered {:.0}/s, delivered {:.0}/s{}",
                        result.name,
                        result.offered_pps,
                        result.delivered_pps,
                        if result.problems.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", result.problems.join("; "))
                        }
                    );
                    report.tests.push(result);
                }
                Err(e) => {
                    log::error!("test {} failed: {e:#}", test.name());
                    report
                        .problems
                        .push(format!("test {} failed: {e:#}", test.name()));
                }
            }
        }
    }
    let shared = &rig.shared;
    report.dut_initiations = shared
        .dut_initiations
        .load(std::sync::atomic::Ordering::Relaxed);
    report.garbage_from_dut = shared.garbage.load(std::sync::atomic::Ordering::Relaxed);
    if report.dut_initiations > 0 {
        report.problems.push(format!(
            "the DUT sent {} handshake initiations to emulated peers (not answered: sessions are the load generator's to start)",
            report.dut_initiations
        ));
    }
    if report.garbage_from_dut > 0 {
        report.problems.push(format!(
            "{} datagrams from the DUT were no valid message for a live session",
            report.garbage_from_dut
        ));
    }
    rig.tear_down()?;
    Ok(report)
}

/// Brings every session up, paced to what the DUT answers, within the bring-up deadline.
fn bring_up(args: &RunArgs, rig: &Rig, engine: &mut Handshakes) -> BringUp {
    let peers = engine.peers().len() as u32;
    let deadline = args
        .bring_up_deadline
        .unwrap_or(20.0 + f64::from(peers) / 500.0);
    let start = clock::now();
    let mut driver = Driver::new(engine, &rig.gen_socket, &rig.answers, args.dut);
    driver.engine.request_all();
    let done = driver.run_until(
        start + Duration::from_secs_f64(deadline),
        Handshakes::is_idle,
    );
    if !done {
        log::warn!(
            "bring-up: deadline of {deadline} s passed with {} handshakes in flight",
            driver.engine.in_flight()
        );
    }
    let counts = engine.counts();
    let seconds = engine
        .last_completion()
        .map_or(0.0, |at| at.saturating_sub(start).as_secs_f64());
    let established = engine.established() as u32;
    rig.shared.sessions.store(Arc::new(engine.session_table()));
    BringUp {
        peers,
        established,
        seconds,
        sessions_per_second: if seconds > 0.0 {
            f64::from(established) / seconds
        } else {
            0.0
        },
        handshakes: counts,
    }
}

/// Renews the sessions that are too old (or missing) before a test.
fn refresh(args: &RunArgs, rig: &Rig, engine: &mut Handshakes, report: &mut Report) {
    let stale = engine.stale_peers(clock::now(), REFRESH_AGE);
    if stale.is_empty() {
        return;
    }
    log::info!("renewing {} sessions", stale.len());
    let deadline = clock::now() + Duration::from_secs(20);
    let mut driver = Driver::new(engine, &rig.gen_socket, &rig.answers, args.dut);
    for peer in &stale {
        driver.engine.request(*peer);
    }
    if !driver.run_until(deadline, Handshakes::is_idle) {
        report.problems.push(format!(
            "renewing {} sessions did not finish in 20 s",
            stale.len()
        ));
    }
    rig.shared.sessions.store(Arc::new(engine.session_table()));
}

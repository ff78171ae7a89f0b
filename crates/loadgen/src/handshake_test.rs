//! The handshake test: every peer re-initiates as soon as its last handshake completed (and 25 ms have passed),
//! within the window, for the test's duration; the rate is the handshakes the DUT completed per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use wgxdp_io_xdp::SinkCounter;

use crate::clock;
use crate::cpu::{CpuSnapshot, CpuUse};
use crate::handshake_driver::Driver;
use crate::handshakes::{HandshakeCounts, Handshakes};
use crate::measure::{DutCpu, Figures, Measured};
use crate::report::{SinkDelta, TestKind, TestResult};
use crate::rig::Rig;
use crate::tx_loop::TxOutcome;

fn counts_since(now: HandshakeCounts, before: HandshakeCounts) -> HandshakeCounts {
    HandshakeCounts {
        initiations: now.initiations - before.initiations,
        retransmits: now.retransmits - before.retransmits,
        completed: now.completed - before.completed,
        cookie_replies: now.cookie_replies - before.cookie_replies,
        rejected_answers: now.rejected_answers - before.rejected_answers,
        unexpected_answers: now.unexpected_answers - before.unexpected_answers,
        failed_peers: now.failed_peers - before.failed_peers,
    }
}

/// Runs the sustained handshake test for `duration`.
pub fn handshakes(
    rig: &Rig,
    engine: &mut Handshakes,
    dut: DutCpu,
    duration: Duration,
    dut_addr: std::net::SocketAddrV4,
) -> Result<TestResult> {
    let sink = rig
        .gen_sink
        .as_ref()
        .ok_or_else(|| anyhow!("the sink program is gone"))?;
    let peers = engine.peers().len() as u64;
    let mut driver = Driver::new(engine, &rig.gen_socket, &rig.answers, dut_addr);
    driver.discard_answers();
    let before = driver.engine.counts();
    let sink_before = sink.counters()?;
    let cpu_before = CpuSnapshot::take(dut.pid);
    let started = Instant::now();
    let start_ns = clock::now_ns();
    driver.engine.set_repeat(true);
    driver.engine.request_all();
    driver.run_until(clock::now() + duration, |_| false);
    let seconds = started.elapsed().as_secs_f64();
    let during = counts_since(driver.engine.counts(), before);
    let cpu = CpuUse::between(&cpu_before, &CpuSnapshot::take(dut.pid), seconds);
    let sink_after = sink.counters()?;
    let end_ns = clock::now_ns();
    // Let the handshakes in flight finish, so every peer ends with one confirmed session.
    driver.engine.set_repeat(false);
    driver.engine.clear_queue();
    let settle = clock::now() + Duration::from_secs(5);
    driver.run_until(settle, |e| e.in_flight() == 0);
    let send_errors = driver.send_errors;
    rig.shared.sessions.store(Arc::new(engine.session_table()));
    let d = sink_after.since(&sink_before);
    let measured = Measured {
        sent: TxOutcome {
            sent: during.initiations,
            start_ns,
            end_ns,
            ..TxOutcome::default()
        },
        sink: SinkDelta {
            handshakes: d.get(SinkCounter::Handshakes),
            other: d.get(SinkCounter::Other),
            malformed: d.get(SinkCounter::Malformed),
            ..SinkDelta::default()
        },
        cpu,
        timeline: Vec::new(),
    };
    let mut problems = Vec::new();
    if during.cookie_replies > 0 {
        problems.push(format!(
            "the DUT was under load: {} cookie replies",
            during.cookie_replies
        ));
    }
    if during.retransmits > 0 {
        problems.push(format!(
            "{} initiations went unanswered and were sent again",
            during.retransmits
        ));
    }
    if during.rejected_answers > 0 {
        problems.push(format!(
            "{} answers from the DUT were refused",
            during.rejected_answers
        ));
    }
    if send_errors > 0 {
        problems.push(format!(
            "{send_errors} handshake datagrams could not be sent"
        ));
    }
    let figures = Figures {
        name: "handshakes".into(),
        kind: TestKind::Handshakes,
        size: None,
        peers,
        target_pps: 0,
        sent: during.initiations,
        delivered: during.completed,
        seconds,
        unit: "initiations",
    };
    let mut result = figures.result(dut, measured, None, problems);
    result.handshakes = Some(during);
    Ok(result)
}

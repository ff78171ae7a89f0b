//! One timed phase and the figures made from it: counters and CPU before, the sender running in its namespace
//! while the control thread records what arrives every 100 ms, a drain until nothing more arrives, counters and
//! CPU after; then rates, loss and the DUT's cost per packet, with every problem put in words.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use wgxdp_io_xdp::{SinkCounter, SinkCounters, SinkProgram};

use crate::cpu::{CpuSnapshot, CpuUse};
use crate::netns;
use crate::report::{SinkDelta, TestKind, TestResult};
use crate::samples::SampleSummary;
use crate::tx_loop::{TxOutcome, TIMELINE_STEP_NS};

/// Where the DUT runs, for its CPU time.
#[derive(Clone, Copy, Debug)]
pub struct DutCpu {
    /// Its process.
    pub pid: Option<u32>,
    /// The CPU it is pinned to.
    pub cpu: Option<u32>,
}

/// What a timed phase yields besides the sender's own result.
pub struct Measured<T> {
    /// What the sender returned.
    pub sent: T,
    /// The receiving sink's counters over the phase, drain included.
    pub sink: SinkDelta,
    /// The DUT's CPU over the phase.
    pub cpu: CpuUse,
    /// Load packets counted by the end of each 100 ms step.
    pub timeline: Vec<u64>,
}

fn delta(after: &SinkCounters, before: &SinkCounters) -> SinkDelta {
    let d = after.since(before);
    SinkDelta {
        data_packets: d.get(SinkCounter::DataPackets),
        data_bytes: d.get(SinkCounter::DataBytes),
        sampled: d.get(SinkCounter::Sampled),
        keepalives: d.get(SinkCounter::Keepalives),
        handshakes: d.get(SinkCounter::Handshakes),
        other: d.get(SinkCounter::Other),
        malformed: d.get(SinkCounter::Malformed),
    }
}

/// Runs `send` on its own thread in namespace `ns` (it must stop when the flag is set) while counting what
/// `sink` sees; `tick` runs on the control thread every 100 ms. `limit` bounds the whole phase.
pub fn timed<T: Send>(
    ns: Option<&str>,
    sink: &SinkProgram,
    dut: DutCpu,
    limit: Duration,
    mut tick: impl FnMut(),
    send: impl FnOnce(&AtomicBool) -> Result<T> + Send,
) -> Result<Measured<T>> {
    let before = sink.counters()?;
    let cpu_before = CpuSnapshot::take(dut.pid);
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let mut timeline = Vec::new();
    let sent = std::thread::scope(|scope| {
        let sender = scope.spawn(|| {
            netns::enter(ns)?;
            send(&stop)
        });
        let step = Duration::from_nanos(TIMELINE_STEP_NS);
        let mut next = started + step;
        while !sender.is_finished() {
            let now = Instant::now();
            if now >= next {
                if let Ok(counters) = sink.counters() {
                    timeline.push(delta(&counters, &before).data_packets);
                }
                tick();
                next += step;
            }
            if now.duration_since(started) > limit {
                stop.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        sender
            .join()
            .map_err(|_| anyhow!("the sending thread panicked"))?
    })?;
    // Drain: until the count holds still for 150 ms (at most 2 s).
    let drain_until = Instant::now() + Duration::from_secs(2);
    let mut last = sink.counters()?;
    let mut still_since = Instant::now();
    while Instant::now() < drain_until && still_since.elapsed() < Duration::from_millis(150) {
        std::thread::sleep(Duration::from_millis(20));
        let now = sink.counters()?;
        if now != last {
            last = now;
            still_since = Instant::now();
        }
    }
    let after = sink.counters()?;
    let cpu = CpuUse::between(
        &cpu_before,
        &CpuSnapshot::take(dut.pid),
        started.elapsed().as_secs_f64(),
    );
    Ok(Measured {
        sent,
        sink: delta(&after, &before),
        cpu,
        timeline,
    })
}

/// The figures of a test, from what was sent and what arrived.
pub struct Figures {
    /// Test name.
    pub name: String,
    /// What it measured.
    pub kind: TestKind,
    /// Inner packet size.
    pub size: Option<usize>,
    /// Peers carrying the load.
    pub peers: u64,
    /// Target rate.
    pub target_pps: u64,
    /// Packets offered.
    pub sent: u64,
    /// Packets delivered.
    pub delivered: u64,
    /// Length of the phase, seconds.
    pub seconds: f64,
    /// What is counted, for the problem texts ("packets").
    pub unit: &'static str,
}

impl Figures {
    /// The test result, with the DUT's cost and every problem found.
    pub fn result(
        self,
        dut: DutCpu,
        measured: Measured<TxOutcome>,
        samples: Option<SampleSummary>,
        mut problems: Vec<String>,
    ) -> TestResult {
        let Measured {
            sent: tx,
            sink,
            cpu,
            timeline,
        } = measured;
        let seconds = self.seconds.max(1e-9);
        let bits = self.size.unwrap_or(0) as f64 * 8.0;
        let delivered_gbps = self.delivered as f64 * bits / seconds / 1e9;
        let per = |secs: f64| (self.delivered > 0).then(|| secs * 1e9 / self.delivered as f64);
        let core_busy = dut.cpu.and_then(|c| cpu.cpus.get(&c)).map(|c| c.busy);
        if !cpu.process_alive && dut.pid.is_some() {
            problems.push("the DUT process was gone at the end of the test".into());
        }
        // Handshakes still in flight when the window closes are neither delivered nor lost: the handshake test
        // reports its timeouts itself.
        if self.kind != TestKind::Handshakes {
            if self.delivered > self.sent {
                problems.push(format!(
                    "the DUT delivered {} {}, more than the {} sent",
                    self.delivered, self.unit, self.sent
                ));
            } else if self.delivered < self.sent {
                problems.push(format!(
                    "{} of {} {} lost",
                    self.sent - self.delivered,
                    self.sent,
                    self.unit
                ));
            }
        }
        if self.delivered == 0 && self.sent > 0 {
            problems.push("the DUT delivered nothing (stopped answering?)".into());
        }
        if tx.written_off > 0 {
            problems.push(format!(
                "the generator fell behind the target rate: {} packets written off",
                tx.written_off
            ));
        }
        if tx.dropped > 0 {
            problems.push(format!(
                "the generator's kernel socket refused {} packets",
                tx.dropped
            ));
        }
        if sink.malformed > 0 {
            problems.push(format!(
                "{} malformed packets reached the sink",
                sink.malformed
            ));
        }
        if let Some(s) = &samples {
            let bad: u64 = s.defects.values().sum();
            if bad > 0 {
                problems.push(format!("{bad} sampled packets were wrong: {:?}", s.defects));
            }
            if s.duplicates > 0 {
                problems.push(format!("{} sampled packets arrived twice", s.duplicates));
            }
        }
        TestResult {
            name: self.name,
            kind: self.kind,
            size: self.size,
            peers: self.peers,
            target_pps: self.target_pps,
            sent: self.sent,
            delivered: self.delivered,
            loss: if self.sent == 0 {
                0.0
            } else {
                (1.0 - self.delivered as f64 / self.sent as f64).max(0.0)
            },
            seconds: self.seconds,
            offered_pps: self.sent as f64 / seconds,
            delivered_pps: self.delivered as f64 / seconds,
            offered_gbps: self.sent as f64 * bits / seconds / 1e9,
            delivered_gbps,
            samples,
            handshakes: None,
            dut_process_ns_per_packet: dut.pid.and(per(cpu.process_seconds)),
            dut_core_ns_per_packet: core_busy.and_then(per),
            dut_cores_per_gbps: core_busy
                .filter(|_| delivered_gbps > 0.0 && cpu.seconds > 0.0)
                .map(|busy| busy / cpu.seconds / delivered_gbps),
            cpu,
            sink,
            tx,
            delivered_timeline: timeline,
            problems,
            search: None,
        }
    }
}

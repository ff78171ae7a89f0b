//! What the samples say: how many arrived intact, reordering and duplicates per peer, and latency percentiles.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::datagram::Defect;

/// One sample as it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The peer it belongs to.
    pub peer: u32,
    /// Its per-peer sequence number.
    pub seq: u32,
    /// Its send position.
    pub position: u64,
    /// When it arrived (load generator clock, ns).
    pub received_ns: u64,
    /// When it was sent, if known at arrival (egress: from its payload).
    pub sent_ns: Option<u64>,
}

/// Samples and defects collected during one test.
#[derive(Clone, Debug, Default)]
pub struct SampleLog {
    /// Intact samples in arrival order.
    pub samples: Vec<Sample>,
    /// Packets that came back wrong, by defect.
    pub defects: HashMap<String, u64>,
}

impl SampleLog {
    /// Records a defective packet.
    pub fn defect(&mut self, defect: Defect) {
        *self
            .defects
            .entry(format!("{defect:?}").to_lowercase())
            .or_default() += 1;
    }

    /// Records a packet wrong for a reason outside [`Defect`].
    pub fn defect_named(&mut self, name: &str) {
        *self.defects.entry(name.to_string()).or_default() += 1;
    }
}

/// The summary of a test's samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleSummary {
    /// Intact samples received.
    pub received: u64,
    /// Defective packets, by defect (a correct DUT has none).
    pub defects: HashMap<String, u64>,
    /// Samples that arrived after a later one of the same peer.
    pub reordered: u64,
    /// Samples seen twice.
    pub duplicates: u64,
    /// Latency percentiles in microseconds, over the samples whose send time is known.
    pub latency_us_p50: Option<f64>,
    /// 99th percentile.
    pub latency_us_p99: Option<f64>,
    /// Largest.
    pub latency_us_max: Option<f64>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], pct: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Summarises `log`; `send_time(sample)` gives the send time of samples that did not carry one.
pub fn summarize(log: &SampleLog, send_time: impl Fn(&Sample) -> Option<u64>) -> SampleSummary {
    let mut highest: HashMap<u32, u32> = HashMap::new();
    let mut seen: HashMap<(u32, u32), ()> = HashMap::new();
    let mut reordered = 0;
    let mut duplicates = 0;
    let mut latencies = Vec::with_capacity(log.samples.len());
    for sample in &log.samples {
        if seen.insert((sample.peer, sample.seq), ()).is_some() {
            duplicates += 1;
            continue;
        }
        match highest.get_mut(&sample.peer) {
            Some(top) if sample.seq < *top => reordered += 1,
            Some(top) => *top = sample.seq,
            None => {
                highest.insert(sample.peer, sample.seq);
            }
        }
        if let Some(sent) = sample.sent_ns.or_else(|| send_time(sample)) {
            latencies.push(sample.received_ns.saturating_sub(sent));
        }
    }
    latencies.sort_unstable();
    let us = |ns: Option<u64>| ns.map(|ns| ns as f64 / 1000.0);
    SampleSummary {
        received: log.samples.len() as u64,
        defects: log.defects.clone(),
        reordered,
        duplicates,
        latency_us_p50: us(percentile(&latencies, 50.0)),
        latency_us_p99: us(percentile(&latencies, 99.0)),
        latency_us_max: us(latencies.last().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(peer: u32, seq: u32, received_ns: u64, sent_ns: Option<u64>) -> Sample {
        Sample {
            peer,
            seq,
            position: u64::from(seq),
            received_ns,
            sent_ns,
        }
    }

    #[test]
    fn reordering_duplicates_and_latency() {
        let mut log = SampleLog {
            samples: vec![
                sample(0, 0, 1_000, Some(0)),
                sample(0, 2, 2_000, Some(0)),
                sample(0, 1, 3_000, Some(0)), // late
                sample(1, 5, 4_000, None),
                sample(0, 2, 5_000, Some(0)), // twice
            ],
            ..SampleLog::default()
        };
        log.defect(Defect::Udp);
        let summary = summarize(&log, |s| (s.peer == 1).then_some(3_500));
        assert_eq!(summary.received, 5);
        assert_eq!(summary.reordered, 1);
        assert_eq!(summary.duplicates, 1);
        assert_eq!(summary.defects.get("udp"), Some(&1));
        // Latencies 1000, 2000, 3000 and 500 ns.
        assert_eq!(summary.latency_us_p50, Some(1.0));
        assert_eq!(summary.latency_us_p99, Some(3.0));
        assert_eq!(summary.latency_us_max, Some(3.0));
        assert_eq!(
            summarize(&SampleLog::default(), |_| None).latency_us_p50,
            None
        );
    }
}

//! `/metrics`: one [`StatsReport`] encoded as OpenMetrics text (which Prometheus reads) by the
//! `prometheus-client` crate. Every family comes from the counter sets' own lists (names, help texts and kinds:
//! see `stats_report.rs`), so a counter added to a set shows up here, in `stats` and in `stats --json` alike.
//!
//! Families (every one labelled `interface`):
//! - per peer (`public_key`), as prometheus_wireguard_exporter names them: `wireguard_sent_bytes_total`,
//!   `wireguard_received_bytes_total`, `wireguard_latest_handshake_seconds` (Unix time, 0: never);
//! - per worker (`worker`): `wgxdp_worker_<counter>_total` for every worker counter (packets, bytes, batches,
//!   busy rounds, sleeps, the AF_XDP rings' and the kernel's XDP_STATISTICS figures...);
//! - `wgxdp_device_<counter>_total`, `wgxdp_dropped_packets_total` (`reason`), `wgxdp_handshake_<counter>_total`;
//! - gauges: `wgxdp_peers`, `wgxdp_handshake_queue_depth`, `wgxdp_under_load`, `wgxdp_uptime_seconds`;
//! - on the AF_XDP path (`link`): `wgxdp_xdp_redirected_packets_total` and `wgxdp_xdp_passed_packets_total`
//!   (`reason`), the steering program's counters.

use crate::handshake_rx::HANDSHAKE_COUNTERS;
use crate::stats_report::StatsReport;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use wgxdp_datapath::Counter;
use wgxdp_device::{CounterInfo, CounterKind, DeviceCounter, DropReason};
use wgxdp_io_xdp::SteerReason;

/// The content type of what [`encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The report as one OpenMetrics exposition (ending in `# EOF`).
pub fn encode(report: StatsReport) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ReportCollector(report)));
    // Roughly what 100 peers and a few workers take; grows as needed.
    let mut out = String::with_capacity(32 * 1024);
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// One scrape's report, encoded when the registry is.
#[derive(Debug)]
struct ReportCollector(StatsReport);

/// A peer's labels: an array, not a vector: 100 000 peers make 300 000 samples, none of which should allocate.
fn peer_labels<'a>(interface: &'a str, key: &'a str) -> [(&'static str, &'a str); 2] {
    [("interface", interface), ("public_key", key)]
}

/// Labels of one sample.
type Labels<'a> = Vec<(&'static str, &'a str)>;

impl Collector for ReportCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let r = &self.0;
        let interface = r.interface.as_str();
        let base = || -> Labels<'_> { vec![("interface", interface)] };

        let peers = &r.device.peers;
        // Arrays, not vectors: 100 000 peers make 300 000 samples, none of which should allocate.
        family(
            &mut encoder,
            "",
            &CounterInfo::counter("wireguard_sent_bytes", "Bytes sent to the peer."),
            peers
                .iter()
                .map(|p| (peer_labels(interface, &p.public_key), p.tx_bytes as f64)),
        )?;
        family(
            &mut encoder,
            "",
            &CounterInfo::counter("wireguard_received_bytes", "Bytes received from the peer."),
            peers
                .iter()
                .map(|p| (peer_labels(interface, &p.public_key), p.rx_bytes as f64)),
        )?;
        family(
            &mut encoder,
            "",
            &CounterInfo::gauge(
                "wireguard_latest_handshake_seconds",
                "Unix time of the peer's last completed handshake (0: none yet).",
            ),
            peers.iter().map(|p| {
                let at = r.latest_handshake_unix_secs(p).unwrap_or(0.0);
                (peer_labels(interface, &p.public_key), at)
            }),
        )?;

        let ids: Vec<String> = (0..r.workers.len()).map(|id| id.to_string()).collect();
        for counter in Counter::ALL {
            let info = counter.info();
            family(
                &mut encoder,
                "wgxdp_worker_",
                &info,
                r.workers.iter().zip(&ids).map(|(w, id)| {
                    let mut labels = base();
                    labels.push(("worker", id.as_str()));
                    (labels, w.get(counter) as f64)
                }),
            )?;
        }

        for counter in DeviceCounter::ALL {
            let info = counter.info();
            family(
                &mut encoder,
                "wgxdp_device_",
                &info,
                std::iter::once((base(), r.device.get(counter) as f64)),
            )?;
        }
        family(
            &mut encoder,
            "",
            &CounterInfo::counter(
                "wgxdp_dropped_packets",
                "Packets the device dropped, by reason (`wgxdp stats` explains each).",
            ),
            DropReason::ALL.iter().map(|reason| {
                let mut labels = base();
                labels.push(("reason", reason.name()));
                (labels, r.device.dropped(*reason) as f64)
            }),
        )?;
        for (info, value) in HANDSHAKE_COUNTERS.iter().zip(r.handshakes) {
            family(
                &mut encoder,
                "wgxdp_handshake_",
                info,
                std::iter::once((base(), value as f64)),
            )?;
        }

        let gauges = [
            (
                CounterInfo::gauge("wgxdp_peers", "Peers configured."),
                peers.len() as f64,
            ),
            (
                CounterInfo::gauge(
                    "wgxdp_handshake_queue_depth",
                    "Admitted handshake messages waiting for the handshake workers.",
                ),
                r.handshake_queue_depth as f64,
            ),
            (
                CounterInfo::gauge(
                    "wgxdp_under_load",
                    "1 while the device is under load (cookie replies instead of handshakes without a valid mac2).",
                ),
                f64::from(u8::from(r.under_load)),
            ),
            (
                CounterInfo::gauge("wgxdp_uptime_seconds", "Seconds since the daemon started."),
                r.uptime_secs(),
            ),
        ];
        for (info, value) in &gauges {
            family(&mut encoder, "", info, std::iter::once((base(), *value)))?;
        }

        if let Some(xdp) = &r.xdp {
            if let Some(c) = &xdp.counters {
                let link_labels = || {
                    let mut labels = base();
                    labels.push(("link", xdp.link.as_str()));
                    labels
                };
                family(
                    &mut encoder,
                    "",
                    &CounterInfo::counter(
                        "wgxdp_xdp_redirected_packets",
                        "Transport data the XDP program redirected to the AF_XDP sockets.",
                    ),
                    std::iter::once((link_labels(), c.redirected() as f64)),
                )?;
                family(
            &mut encoder,
            "",
            &CounterInfo::counter(
                        "wgxdp_xdp_passed_packets",
                        "Packets the XDP program passed to the kernel, by reason (see `wgxdp stats`).",
                    ),
                    SteerReason::ALL
                        .iter()
                        .filter(|reason| **reason != SteerReason::Redirected)
                        .map(|reason| {
                            let mut labels = link_labels();
                            labels.push(("reason", reason.name()));
                            (labels, c.get(*reason) as f64)
                        }),
                )?;
            }
        }
        Ok(())
    }
}

/// One family named `prefix` + `info.name`: its descriptor, then one sample per `(labels, value)`. Counters'
/// values are whole numbers; the encoder appends `_total` to a counter's name.
fn family<L, I>(
    encoder: &mut DescriptorEncoder,
    prefix: &str,
    info: &CounterInfo,
    samples: I,
) -> fmt::Result
where
    L: EncodeLabelSet,
    I: IntoIterator<Item = (L, f64)>,
{
    let metric_type = match info.kind {
        CounterKind::Counter => MetricType::Counter,
        CounterKind::Gauge => MetricType::Gauge,
    };
    let name = format!("{prefix}{}", info.name);
    let mut metric = encoder.encode_descriptor(&name, info.help, None, metric_type)?;
    for (labels, value) in samples {
        sample(&mut metric, &labels, info.kind, value)?;
    }
    Ok(())
}

fn sample(
    metric: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    kind: CounterKind,
    value: f64,
) -> fmt::Result {
    let encoder = metric.encode_family(labels)?;
    match kind {
        // Exact for every count below 2^53, far beyond what a daemon's lifetime reaches.
        CounterKind::Counter => ConstCounter::new(value as u64).encode(encoder),
        CounterKind::Gauge => ConstGauge::new(value).encode(encoder),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use wgxdp_datapath::WorkerStats;
    use wgxdp_device::{Counters, PeerCounters};

    fn report() -> StatsReport {
        let worker = WorkerStats::default();
        worker.add(Counter::TunRxPackets, 7);
        worker.add(Counter::XskRxRingFull, 2);
        let mut device = Counters {
            drops: DropReason::ALL.iter().map(|r| (*r, 0)).collect(),
            rx_packets: 3,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            keepalives_received: 0,
            keepalives_sent: 0,
            initiations_sent: 0,
            initiations_received: 0,
            responses_sent: 0,
            responses_received: 0,
            cookie_replies_sent: 0,
            cookie_replies_received: 0,
            handshakes_completed: 1,
            staged: 0,
            peers: vec![
                PeerCounters {
                    public_key: "a+b/c=".into(),
                    rx_bytes: 148,
                    tx_bytes: 92,
                    staged: 0,
                    last_handshake: Some(Duration::from_secs(90)),
                },
                PeerCounters {
                    public_key: "never=".into(),
                    rx_bytes: 0,
                    tx_bytes: 0,
                    staged: 1,
                    last_handshake: None,
                },
            ],
        };
        if let Some(acl) = device.drops.iter_mut().find(|(r, _)| *r == DropReason::Acl) {
            acl.1 = 4;
        }
        StatsReport {
            interface: "wg\"0".into(),
            listen_port: 51820,
            now: Duration::from_secs(100),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
            handshake_queue_depth: 2,
            handshakes: [5, 4, 0, 1, 0],
            under_load: true,
            workers: vec![worker.snapshot(), WorkerStats::default().snapshot()],
            device,
            xdp: None,
        }
    }

    #[test]
    fn exposition_has_the_exporter_names_and_every_counter() {
        let text = encode(report()).unwrap();
        // Label values are escaped: the quote in the interface name cannot break the line.
        let iface = r#"interface="wg\"0""#;
        for line in [
            format!(r#"wireguard_sent_bytes_total{{{iface},public_key="a+b/c="}} 92"#),
            format!(r#"wireguard_received_bytes_total{{{iface},public_key="a+b/c="}} 148"#),
            // Handshake at daemon second 90, read at second 100 = Unix second 1_000_000.
            format!(
                r#"wireguard_latest_handshake_seconds{{{iface},public_key="a+b/c="}} 999990.0"#
            ),
            format!(r#"wireguard_latest_handshake_seconds{{{iface},public_key="never="}} 0.0"#),
            format!(r#"wgxdp_worker_tun_rx_packets_total{{{iface},worker="0"}} 7"#),
            format!(r#"wgxdp_worker_tun_rx_packets_total{{{iface},worker="1"}} 0"#),
            format!(r#"wgxdp_worker_xsk_rx_ring_full_total{{{iface},worker="0"}} 2"#),
            format!(r#"wgxdp_device_rx_packets_total{{{iface}}} 3"#),
            format!(r#"wgxdp_device_handshakes_completed_total{{{iface}}} 1"#),
            format!(r#"wgxdp_dropped_packets_total{{{iface},reason="acl"}} 4"#),
            format!(r#"wgxdp_handshake_received_total{{{iface}}} 5"#),
            format!(r#"wgxdp_peers{{{iface}}} 2.0"#),
            format!(r#"wgxdp_under_load{{{iface}}} 1.0"#),
            format!(r#"wgxdp_handshake_queue_depth{{{iface}}} 2.0"#),
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(
            text.contains("# TYPE wireguard_sent_bytes counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE wireguard_latest_handshake_seconds gauge\n"),
            "{text}"
        );
        for counter in Counter::ALL {
            let name = format!("# TYPE wgxdp_worker_{} counter\n", counter.name());
            assert!(text.contains(&name), "no {name:?}");
        }
        for counter in DeviceCounter::ALL {
            let name = format!("# TYPE wgxdp_device_{} counter\n", counter.name());
            assert!(text.contains(&name), "no {name:?}");
        }
        for reason in DropReason::ALL {
            assert!(text.contains(&format!("reason=\"{}\"", reason.name())));
        }
        // No AF_XDP path, no XDP families.
        assert!(!text.contains("wgxdp_xdp_"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn xdp_families_appear_on_the_xdp_path() {
        let mut r = report();
        r.xdp = Some(crate::xdp_control::XdpReport {
            link: "veth0".into(),
            mode: "native",
            port: 51820,
            queues: 1,
            local_addresses: Vec::new(),
            allowed_sources: Vec::new(),
            counters: Some(wgxdp_io_xdp::SteerCounters::from_counts([
                9, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ])),
        });
        let text = encode(r).unwrap();
        assert!(text.contains(
            "wgxdp_xdp_redirected_packets_total{interface=\"wg\\\"0\",link=\"veth0\"} 9\n"
        ));
        assert!(text.contains(
            "wgxdp_xdp_passed_packets_total{interface=\"wg\\\"0\",link=\"veth0\",reason=\"not-transport\"} 2\n"
        ));
        assert!(!text.contains("reason=\"redirected\""));
    }
}

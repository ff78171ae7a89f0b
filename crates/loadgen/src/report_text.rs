//! The report as markdown (a summary table a person reads) and as an SVG bar chart (offered and delivered rate
//! of every data test, and the DUT's cost per packet).

use std::fmt::Write as _;

use crate::report::{Report, TestKind};

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// The report as markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let c = &report.config;
    let _ = writeln!(
        out,
        "# {} against {}\n",
        report.tool,
        if report.label.is_empty() {
            "the DUT"
        } else {
            &report.label
        }
    );
    let _ = writeln!(
        out,
        "{} peers, inner {:?}, generator TX {:?}, rate {}, {} s per test, one sample every {} packets, DUT {} (MTU {}){}.\n",
        c.peers,
        c.inner,
        c.tx,
        if c.rate == 0 { "flat out".to_string() } else { format!("{} pps", c.rate) },
        c.duration_s,
        c.sample_every,
        c.dut_endpoint,
        c.mtu,
        c.dut_cpu.map_or(String::new(), |cpu| format!(", DUT on CPU {cpu}")),
    );
    let b = &report.bring_up;
    let _ = writeln!(
        out,
        "Bring-up: {} of {} sessions in {:.3} s ({:.0} per second; {} initiations, {} retransmitted, {} cookie replies, {} peers failed).\n",
        b.established,
        b.peers,
        b.seconds,
        b.sessions_per_second,
        b.handshakes.initiations,
        b.handshakes.retransmits,
        b.handshakes.cookie_replies,
        b.handshakes.failed_peers,
    );
    out.push_str("| test | offered pps | delivered pps | delivered Gbit/s | loss | reordered | p50 / p99 latency (us) | DUT threads ns/pkt | DUT core ns/pkt | cores per Gbit/s |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for t in &report.tests {
        let (reordered, latency) =
            t.samples
                .as_ref()
                .map_or(("-".to_string(), "-".to_string()), |s| {
                    (
                        s.reordered.to_string(),
                        format!(
                            "{} / {}",
                            opt(s.latency_us_p50, 1),
                            opt(s.latency_us_p99, 1)
                        ),
                    )
                });
        let gbps = if t.kind == TestKind::Handshakes {
            "-".to_string()
        } else {
            format!("{:.3}", t.delivered_gbps)
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {gbps} | {:.4}% | {reordered} | {latency} | {} | {} | {} |",
            t.name,
            t.offered_pps,
            t.delivered_pps,
            t.loss * 100.0,
            opt(t.dut_process_ns_per_packet, 0),
            opt(t.dut_core_ns_per_packet, 0),
            opt(t.dut_cores_per_gbps, 3),
        );
    }
    let problems: Vec<String> = report
        .problems
        .iter()
        .cloned()
        .chain(
            report
                .tests
                .iter()
                .flat_map(|t| t.problems.iter().map(move |p| format!("{}: {p}", t.name))),
        )
        .collect();
    if problems.is_empty() {
        out.push_str("\nNo problems.\n");
    } else {
        out.push_str("\nProblems:\n\n");
        for p in problems {
            let _ = writeln!(out, "- {p}");
        }
    }
    out
}

/// An SVG chart: offered and delivered Mpps per data test.
pub fn svg(report: &Report) -> String {
    let tests: Vec<_> = report
        .tests
        .iter()
        .filter(|t| t.kind != TestKind::Handshakes)
        .collect();
    let (width, height, left, top, bottom) = (760.0, 360.0, 60.0, 40.0, 70.0);
    let plot_h = height - top - bottom;
    let max = tests
        .iter()
        .map(|t| t.offered_pps.max(t.delivered_pps))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        / 1e6;
    let slot = (width - left - 20.0) / tests.len().max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="20" font-size="14">{} - offered (grey) and delivered (blue), Mpps</text>"#,
        escape(if report.label.is_empty() {
            "DUT"
        } else {
            &report.label
        })
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = top + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = writeln!(
            out,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.2}</text>"##,
            width - 20.0,
            left - 4.0,
            y + 4.0
        );
    }
    for (i, t) in tests.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        let bar = slot * 0.35;
        for (j, (value, color)) in [(t.offered_pps, "#bbb"), (t.delivered_pps, "#36c")]
            .into_iter()
            .enumerate()
        {
            let h = plot_h * value / 1e6 / max;
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}" fill="{color}"/>"#,
                x + bar * j as f64,
                top + plot_h - h
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle">{:.3}</text>"#,
            x + bar,
            top + plot_h + 16.0,
            escape(&t.name),
            x + bar,
            top + plot_h + 30.0,
            t.delivered_pps / 1e6
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Escapes text for XML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{SinkDelta, TestResult};
    use crate::samples::SampleSummary;

    fn report() -> Report {
        let test = TestResult {
            name: "ingress-64".into(),
            kind: TestKind::Ingress,
            size: Some(64),
            peers: 3,
            target_pps: 1000,
            sent: 1000,
            delivered: 990,
            loss: 0.01,
            seconds: 1.0,
            offered_pps: 1000.0,
            delivered_pps: 990.0,
            offered_gbps: 0.000512,
            delivered_gbps: 0.000507,
            samples: Some(SampleSummary {
                received: 10,
                reordered: 2,
                latency_us_p50: Some(12.5),
                latency_us_p99: Some(40.0),
                ..SampleSummary::default()
            }),
            handshakes: None,
            cpu: Default::default(),
            dut_process_ns_per_packet: Some(800.0),
            dut_core_ns_per_packet: None,
            dut_cores_per_gbps: Some(1.5),
            sink: SinkDelta::default(),
            tx: Default::default(),
            delivered_timeline: vec![400, 990],
            problems: vec!["lost 10 packets".into()],
            search: None,
        };
        Report {
            tool: "wgxdp-loadgen 0.1.0".into(),
            label: "wgxdp <xdp>".into(),
            tests: vec![test],
            ..Report::default()
        }
    }

    #[test]
    fn a_report_survives_json_and_renders() {
        let dir = std::env::temp_dir().join(format!("wgxdp-loadgen-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.json");
        let original = report();
        original.write_json(&path).unwrap();
        let back = Report::read_json(&path).unwrap();
        assert_eq!(back, original);
        let text = markdown(&back);
        assert!(
            text.contains(
                "| ingress-64 | 1000 | 990 | 0.001 | 1.0000% | 2 | 12.5 / 40.0 | 800 | - | 1.500 |"
            ),
            "{text}"
        );
        assert!(text.contains("- ingress-64: lost 10 packets"));
        let chart = svg(&back);
        assert!(chart.starts_with("<svg") && chart.contains("wgxdp &lt;xdp&gt;"));
        std::fs::write(&path, "{\"tool\": 3}").unwrap();
        assert!(Report::read_json(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#!/usr/bin/env python3
"""Tests of bench/report.py on synthetic results folders: python3 -m unittest discover -s bench -p 'test_*.py'."""

import contextlib
import json
import os
import tempfile
import unittest
import xml.etree.ElementTree as ET

import report


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def iperf_json(bytes_, seconds, packets=None, lost=None):
    received = {"bytes": bytes_, "seconds": seconds, "bits_per_second": bytes_ * 8 / seconds}
    if packets is not None:
        received.update(packets=packets, lost_packets=lost)
    return json.dumps({"start": {}, "end": {"sum_received": received}})


def make_run(root, impl, run, tcp1_gbit, cpu_ticks=None, rtts=(0.1, 0.2, 0.3), udp64_received=90_000):
    """One run folder: a 1-second TCP test moving tcp1_gbit Gbit, a 64 B UDP flood, idle CPU and pings."""
    d = os.path.join(root, "raw", impl, run)
    write(os.path.join(d, "tcp1.iperf.json"), iperf_json(int(tcp1_gbit * 1e9 / 8), 1.0))
    write(os.path.join(d, "udp64.iperf.json"),
          iperf_json(64 * udp64_received, 1.0, packets=100_000, lost=100_000 - udp64_received))
    if cpu_ticks is None:
        write(os.path.join(d, "tcp1.cpu"), "na na na na 1.2 100\n")
        write(os.path.join(d, "idle.cpu"), "na na na na 2.0 100\n")
    else:
        a, b = cpu_ticks
        # The whole machine was busy for 1.5 CPU-seconds over the 1.2 s window.
        write(os.path.join(d, "tcp1.cpu"), f"1000 2000 {1000 + a} {2000 + b} 1.2 100 500 650\n")
        write(os.path.join(d, "idle.cpu"), "5 5 6 5 2.0 100\n")
        write(os.path.join(d, "udp1400-at-100M.iperf.json"), iperf_json(int(0.1e9 / 8), 1.0, 9000, 0))
        write(os.path.join(d, "udp1400-at-100M.cpu"), f"0 0 {a // 10} {b // 10} 1.0 100\n")
    write(os.path.join(d, "ping-idle.ping"), "".join(f"64 bytes from x: icmp_seq=1 ttl=64 time={t} ms\n" for t in rtts))
    write(os.path.join(d, "ok"), "ok\n")


class StatisticsTest(unittest.TestCase):
    def test_percentile_is_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(report.percentile(values, 50), 50)
        self.assertEqual(report.percentile(values, 99), 99)
        self.assertEqual(report.percentile([3.0, 1.0, 2.0], 99), 3.0)
        self.assertEqual(report.percentile([7.0], 50), 7.0)
        self.assertIsNone(report.percentile([], 50))

    def test_summarize_ignores_missing_runs(self):
        self.assertEqual(report.summarize([3.0, None, 1.0, 2.0]), {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3})
        self.assertIsNone(report.summarize([None, None]))

    def test_fmt_shows_range_only_with_several_runs(self):
        self.assertEqual(report.fmt({"median": 1.5, "min": 1.0, "max": 2.25, "n": 3}), "1.50 (1.00–2.25)")
        self.assertEqual(report.fmt({"median": 1.5, "min": 1.5, "max": 1.5, "n": 1}), "1.50")
        self.assertEqual(report.fmt(None), "n/a")


class RawFilesTest(unittest.TestCase):
    def test_iperf_error_or_garbage_yields_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            write(os.path.join(d, "x.iperf.json"), '{"error": "unable to connect"}')
            write(os.path.join(d, "y.iperf.json"), "not json")
            self.assertEqual(report.transfer_metrics(d, "x"), {})
            self.assertEqual(report.transfer_metrics(d, "y"), {})
            self.assertEqual(report.transfer_metrics(d, "missing"), {})

    def test_cpu_line_must_have_six_fields(self):
        with tempfile.TemporaryDirectory() as d:
            write(os.path.join(d, "a.cpu"), "1 2 3\n")
            write(os.path.join(d, "b.cpu"), "100 na 350 na 2.5 100\n")
            self.assertIsNone(report.load_cpu(os.path.join(d, "a.cpu")))
            self.assertEqual(report.load_cpu(os.path.join(d, "b.cpu")),
                             {"a": 2.5, "b": None, "wall": 2.5, "machine": None})
            write(os.path.join(d, "c.cpu"), "100 100 350 200 2.5 100 1000 1400\n")
            self.assertEqual(report.load_cpu(os.path.join(d, "c.cpu"))["machine"], 4.0)

    def test_transfer_metrics_cost_and_packets(self):
        with tempfile.TemporaryDirectory() as d:
            make_run(d, "x", "r1", tcp1_gbit=2.0, cpu_ticks=(40, 20))
            run = os.path.join(d, "raw", "x", "r1")
            tcp = report.transfer_metrics(run, "tcp1")
            self.assertAlmostEqual(tcp["gbps"], 2.0, places=6)
            # 0.4 CPU-seconds over 2 Gbit moved: 0.2 cores per Gbit/s on side a, 0.1 on side b.
            self.assertAlmostEqual(tcp["cores_per_gbps_a"], 0.2, places=6)
            self.assertAlmostEqual(tcp["cores_per_gbps_b"], 0.1, places=6)
            self.assertAlmostEqual(tcp["cores_a"], 0.4, places=6)
            udp = report.transfer_metrics(run, "udp64")
            self.assertAlmostEqual(udp["kpps"], 90.0, places=6)
            self.assertAlmostEqual(udp["loss_pct"], 10.0, places=6)


class ReportTest(unittest.TestCase):
    def make_results(self, d):
        write(os.path.join(d, "meta.txt"),
              "date=2026-01-01\nnproc=2\ncpu_model=Test CPU\nkernel=6.0\nrepeat=3\nsweep_1400=100M\n")
        write(os.path.join(d, "skips.txt"), "gotatun\tgotatun not installed\n")
        for i, gbit in enumerate((30.0, 38.0, 35.0)):
            make_run(d, "bare@gso", f"r{i + 1}", gbit)
        for i, gbit in enumerate((3.6, 3.9, 3.5)):
            make_run(d, "wgxdp-xdp@gso", f"r{i + 1}", gbit, cpu_ticks=(30, 20), udp64_received=95_000)
        for i, gbit in enumerate((3.0, 3.3, 2.9)):
            make_run(d, "wgxdp-socket@gso", f"r{i + 1}", gbit, cpu_ticks=(30, 20))
        for i, gbit in enumerate((0.9, 1.0, 0.96)):
            make_run(d, "wireguard-go@gso", f"r{i + 1}", gbit, cpu_ticks=(90, 80), rtts=(0.2, 0.4, 9.0))
        return report.collect(d)

    def test_collect_medians_and_targets(self):
        with tempfile.TemporaryDirectory() as d:
            results = self.make_results(d)
            self.assertEqual(list(results["impls"]),
                             ["bare@gso", "wgxdp-xdp@gso", "wgxdp-socket@gso", "wireguard-go@gso"])
            tcp = results["impls"]["wgxdp-socket@gso"]["summary"]["tcp1.gbps"]
            self.assertAlmostEqual(tcp["median"], 3.0)
            self.assertAlmostEqual(tcp["min"], 2.9)
            self.assertAlmostEqual(tcp["max"], 3.3)
            ping = results["impls"]["wireguard-go@gso"]["summary"]["ping-idle.p99_ms"]
            self.assertEqual(ping["median"], 9.0)
            checks = {c["target"]: c for c in results["targets"]}
            over_socket = checks["TCP 1 stream >= 1.2x the socket path"]
            self.assertAlmostEqual(over_socket["value"], 3.6 / 3.0)
            self.assertTrue(over_socket["pass"])
            over_peer = checks["TCP 1 stream >= 3x the best other implementation"]
            self.assertAlmostEqual(over_peer["value"], 3.6 / 0.96)
            self.assertTrue(over_peer["pass"])
            # 0.3 CPU-seconds per 3.6 Gbit: 0.083 cores per Gbit/s, below both the socket path's 0.1 and 0.12.
            cpu = [c for t, c in checks.items() if t.startswith("CPU-cores per Gbit/s")][0]
            self.assertTrue(cpu["pass"])
            flood = [c for t, c in checks.items() if t.startswith("UDP 64 B")][0]
            self.assertAlmostEqual(flood["value"], 95 / 90)
            self.assertFalse(flood["pass"])
            at_100m = [c for t, c in checks.items() if t.startswith("UDP 1400 B at 100")][0]
            self.assertAlmostEqual(at_100m["value"], 1.0)
            self.assertTrue(at_100m["pass"])
            machine = results["impls"]["wgxdp-xdp@gso"]["summary"]["tcp1.machine_cores_per_gbps"]
            # 1.5 busy CPU-seconds over 1.2 s is 1.25 cores; at 3.6 Gbit/s that is 0.347 cores per Gbit/s.
            self.assertAlmostEqual(machine["median"], 1.25 / 3.6, places=3)
            self.assertNotIn("cores_per_gbps_a", str(results["impls"]["bare@gso"]["summary"]))

    def test_markdown_and_svg(self):
        with tempfile.TemporaryDirectory() as d:
            results = self.make_results(d)
            md = report.markdown(results)
            self.assertIn("SKIP gotatun: gotatun not installed", md)
            self.assertIn("| wgxdp (socket) | 3.00 (2.90–3.30) |", md)
            self.assertIn("## Bed: veth as created", md)
            self.assertIn("| gso | TCP 1 stream >= 1.2x the socket path | 1.20", md)
            self.assertIn("2 CPUs, Test CPU, kernel 6.0", md)
            svg = report.svg_chart(results)
            root = ET.fromstring(svg)
            texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
            # bare veth is ten times the tunnels: drawn off scale rather than squashing them.
            self.assertIn("35 Gbit/s (off scale)", texts)
            self.assertIn("3 Gbit/s", texts)

    def test_spin_variants_are_labelled_and_follow_the_spin_variant_by_microseconds(self):
        units = ["gotatun@gso", "wgxdp-xdp-spin-25@gso", "wgxdp-xdp-spin@gso", "wgxdp-xdp-spin-5@gso", "wgxdp-xdp@gso"]
        self.assertEqual(
            sorted(units, key=report.impl_sort_key),
            ["wgxdp-xdp@gso", "wgxdp-xdp-spin@gso", "wgxdp-xdp-spin-5@gso", "wgxdp-xdp-spin-25@gso", "gotatun@gso"],
        )
        self.assertEqual(report.label("wgxdp-xdp-spin-25@mtu"), "wgxdp (xdp, --spin-us 25)")
        self.assertEqual(report.label("wgxdp-xdp-spin@mtu"), "wgxdp (xdp, --spin-us 50 --busy-poll-us 20)")

    def test_main_writes_the_three_files(self):
        with tempfile.TemporaryDirectory() as d:
            self.make_results(d)
            with open(os.devnull, "w", encoding="utf-8") as null:
                with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                    self.assertEqual(report.main(["report.py", d]), 0)
            for name in ("results.json", "results.md", "chart.svg"):
                self.assertTrue(os.path.getsize(os.path.join(d, name)) > 0, name)
            with open(os.path.join(d, "results.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["meta"]["nproc"], "2")

    def test_missing_meta_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(report.ReportError):
                report.collect(d)


if __name__ == "__main__":
    unittest.main()

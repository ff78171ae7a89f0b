"""Tests of bench/gateway/report.py: python3 -m unittest discover -s bench/gateway -p 'test_*.py'"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (bench/gateway/report.py)


def loadgen_test(name, delivered_pps, size=None, kind=None, **extra):
    kind = kind or name.split("-")[0]
    test = {
        "name": name, "kind": kind, "size": size, "peers": 1, "sent": 1000, "delivered": 900, "seconds": 1.0,
        "offered_pps": delivered_pps * 1.1, "delivered_pps": delivered_pps, "delivered_gbps": 0.5, "loss": 0.1,
        "samples": {"latency_us_p50": 10.0, "latency_us_p99": 50.0, "reordered": 0, "received": 9,
                    "defects": {}, "duplicates": 0},
        "dut_process_ns_per_packet": 900.0, "dut_core_ns_per_packet": 1000.0, "dut_cores_per_gbps": 0.4,
        "handshakes": None, "problems": [],
        "search": {"loss_threshold": 0.001, "rate": int(delivered_pps),
                   "trials": [{"rate": 0, "offered_pps": 9e5, "delivered_pps": delivered_pps / 2, "loss": 0.5}]},
    }
    test.update(extra)
    return test


def write_run(root, impl, peers, scale, hs_rate):
    d = os.path.join(root, "raw", impl, f"p{peers}")
    os.makedirs(d)
    tests = [loadgen_test(f"{k}-{s}", scale * base, size=s) for k in ("ingress", "egress")
             for s, base in ((64, 1e6), (1420, 5e5))]
    tests.append(loadgen_test("handshakes", hs_rate, kind="handshakes", samples=None,
                              handshakes={"cookie_replies": 3}))
    with open(os.path.join(d, "report.json"), "w", encoding="utf-8") as f:
        json.dump({"tests": tests, "bring_up": {"seconds": 0.5, "sessions_per_second": 2 * peers},
                   "problems": []}, f)


class GatewayReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = self.root = self.tmp.name
        with open(os.path.join(root, "meta.txt"), "w", encoding="utf-8") as f:
            f.write("dut_cpu=0\ngen_cpu=1\nnproc=2\nkernel=6.18\n")
        with open(os.path.join(root, "skips.txt"), "w", encoding="utf-8") as f:
            f.write("gotatun\tgotatun not installed\n")
        os.makedirs(os.path.join(root, "raw", "aead"))
        for op, ns in (("open", 1000.0), ("seal", 800.0)):
            for size in (64, 1420):
                with open(os.path.join(root, "raw", "aead", f"{op}-{size}.json"), "w", encoding="utf-8") as f:
                    json.dump({"mean": {"point_estimate": ns * (1 if size == 64 else 4)}}, f)
        write_run(root, "wgxdp-xdp", 1, 2.5, 5000)
        write_run(root, "wgxdp-xdp", 10000, 2.4, 4000)
        write_run(root, "wireguard-go", 1, 1.0, 2000)
        write_run(root, "wireguard-go", 10000, 0.5, 1500)
        failed = os.path.join(root, "raw", "boringtun", "p1")
        os.makedirs(failed)
        with open(os.path.join(failed, "failed"), "w", encoding="utf-8") as f:
            f.write("boringtun exited at start: boom\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_collects_every_run_with_ceiling_shares(self):
        results = report.collect(self.root)
        self.assertEqual([(r["impl"], r["peers"]) for r in results["runs"]],
                         [("wgxdp-xdp", 1), ("wgxdp-xdp", 10000), ("wireguard-go", 1), ("wireguard-go", 10000),
                          ("boringtun", 1)])
        self.assertEqual(results["ceiling"]["open"][1420]["pps"], 250000.0)
        ingress = report.find(results, "wgxdp-xdp", 1, "ingress-1420")
        self.assertAlmostEqual(ingress["ceiling_share"], 1.25e6 / 2.5e5)
        self.assertEqual(results["runs"][-1]["failed"], "boringtun exited at start: boom")

    def test_targets_are_judged_from_the_same_run(self):
        verdicts = {t["target"]: t for t in report.collect(self.root)["targets"]}
        ratio = verdicts["wgxdp AF_XDP ingress at 64 B >= 2x the best peer (1 peer)"]
        self.assertTrue(ratio["met"])
        self.assertIn("2.50x", ratio["detail"])
        self.assertTrue(verdicts["wgxdp AF_XDP answers >= 3000 handshakes per second on one core"]["met"])
        cost = verdicts["10 000 peers cost <= 10% of the 1-peer throughput (wgxdp AF_XDP)"]
        self.assertTrue(cost["met"], cost)
        self.assertIn("+4.0%", cost["detail"])

    def test_markdown_and_chart_render(self):
        results = report.collect(self.root)
        text = report.markdown(results)
        self.assertIn("| wgxdp (AF_XDP) | 1 | 2500 (250%) | 1250 (500%) | 0.50 | 1250 | 10.00% |", text)
        self.assertIn("| boringtun | 1 | failed: boringtun exited at start: boom |", text)
        self.assertIn("- SKIP GotaTun: gotatun not installed", text)
        self.assertIn("**met**", text)
        chart = report.svg_chart(results)
        self.assertTrue(chart.startswith("<svg") and chart.rstrip().endswith("</svg>"))
        self.assertIn("Handshakes per second, 10000 peers", chart)

    def test_bad_inputs_are_reported_not_raised(self):
        with open(os.path.join(self.root, "raw", "wireguard-go", "p1", "report.json"), "w", encoding="utf-8") as f:
            f.write("{not json")
        results = report.collect(self.root)
        run = next(r for r in results["runs"] if r["impl"] == "wireguard-go" and r["peers"] == 1)
        self.assertIn("unreadable report", run["failed"])
        with open(os.path.join(self.root, "raw", "aead", "open-64.json"), "w", encoding="utf-8") as f:
            f.write("[]")
        with self.assertRaises(report.ReportError):
            report.collect(self.root)
        self.assertEqual(report.main(["report.py"]), 2)


if __name__ == "__main__":
    unittest.main()

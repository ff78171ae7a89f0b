"""Tests of bench/flood/report.py: python3 -m unittest discover -s bench/flood -p 'test_*.py'"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (bench/flood/report.py)


def flood(first_reply_ms=5100, answered=90, median=0.5, cpu=2500, lines=0):
    return {"round": 1, "flood_sent": 1_800_000, "new_peer_first_reply_ms": first_reply_ms,
            "pings_answered": answered, "pings_sent": 90, "median_ms": median,
            "cpu_ns_per_flood_datagram": cpu, "log_lines": lines}


def summary(dut="wgxdp", io="socket", floods=None, rss=(8000, 8400)):
    return {"dut": dut, "io": io, "rate": 150000, "seconds": 12, "rss_before_kb": rss[0],
            "rss_after_kb": rss[1], "floods": floods or [flood(), flood()]}


class Report(unittest.TestCase):
    def test_all_targets_met(self):
        text = report.render([summary()])
        self.assertNotIn("MISSED", text)
        self.assertEqual(text.count("MET:"), 6)
        self.assertIn("| new peer got a ping reply within 11 s | 2 of 2 |", text)

    def test_each_target_can_be_missed(self):
        cases = [
            (summary(floods=[flood(), flood(first_reply_ms=-1)]), "new peer's first ping reply"),
            (summary(floods=[flood(first_reply_ms=11_500)]), "new peer's first ping reply"),
            (summary(floods=[flood(answered=85)]), "answers >= 95 %"),
            (summary(floods=[flood(median=12.0)]), "median ping <= 10 ms"),
            (summary(floods=[flood(median=None)]), "median ping <= 10 ms"),
            (summary(floods=[flood(cpu=3100), flood(cpu=3200)]), "CPU per flood datagram"),
            (summary(rss=(8000, 10100)), "RSS growth"),
            (summary(floods=[flood(lines=500)]), "nothing logged"),
        ]
        for case, target in cases:
            missed = [line for line in report.render([case]).splitlines() if line.startswith("- MISSED")]
            self.assertEqual(len(missed), 1, f"{target}: {missed}")
            self.assertIn(target, missed[0])

    def test_comparison_columns_have_no_targets(self):
        text = report.render([summary(io="xdp"), summary(dut="wireguard-go", floods=[flood(answered=50)])])
        self.assertIn("| wgxdp xdp | wireguard-go |", text)
        self.assertIn("Targets, wgxdp xdp:", text)
        self.assertNotIn("Targets, wireguard-go", text)
        self.assertIn("| 100% | 56% |", text)


if __name__ == "__main__":
    unittest.main()

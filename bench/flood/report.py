#!/usr/bin/env python3
"""The handshake-flood benchmark's table: one column per device (the flood-summary.json files that
tests/netns/t_flood.sh writes), one row per figure of issue 13, then each wgxdp device's targets, met or not.

    python3 bench/flood/report.py results/flood-*/wgxdp-socket.json results/flood-*/wireguard-go.json ...
"""

import json
import statistics
import sys

# Issue 13's targets.
NEW_PEER_MS = 11_000
ANSWERED_SHARE = 0.95
MEDIAN_MS = 10.0
CPU_NS = 3000
RSS_KB = 2048
LOG_LINES = 20


def label(summary):
    dut = summary["dut"]
    return f"{dut} {summary['io']}" if dut.startswith("wgxdp") else dut


def span(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return fmt(low) if low == high else f"{fmt(low)} to {fmt(high)}"


def figures(summary):
    """The figures of one device, over all its floods."""
    floods = summary["floods"]
    shares = [f["pings_answered"] / f["pings_sent"] if f["pings_sent"] else 0.0 for f in floods]
    medians = [f["median_ms"] for f in floods]
    cpu = [f["cpu_ns_per_flood_datagram"] for f in floods]
    seconds = summary["seconds"]
    return {
        "floods": len(floods),
        "new_peer_ok": sum(1 for f in floods if 0 <= f["new_peer_first_reply_ms"] <= NEW_PEER_MS),
        "new_peer_ms": [f["new_peer_first_reply_ms"] for f in floods if f["new_peer_first_reply_ms"] >= 0],
        "shares": shares,
        "medians": medians,
        "cpu": cpu,
        "cpu_median": statistics.median(cpu) if cpu else None,
        "rss_kb": summary["rss_after_kb"] - summary["rss_before_kb"],
        "log_lines": max((f["log_lines"] for f in floods), default=0),
        "rate": [f["flood_sent"] / seconds for f in floods],
    }


def targets(fig):
    """(target, met) pairs of one device."""
    return [
        (f"new peer's first ping reply within 11 s in every flood ({fig['new_peer_ok']} of {fig['floods']})",
         fig["new_peer_ok"] == fig["floods"]),
        (f"established tunnel answers >= 95 % of its pings in every flood (lowest {min(fig['shares']):.0%})",
         min(fig["shares"]) >= ANSWERED_SHARE),
        ("established tunnel's median ping <= 10 ms in every flood (highest "
         f"{span([max((m for m in fig['medians'] if m is not None), default=None)], lambda v: f'{v:.2f} ms')})",
         all(m is not None and m <= MEDIAN_MS for m in fig["medians"])),
        (f"gateway CPU per flood datagram <= 3 us (median over the floods {fig['cpu_median'] / 1000:.2f} us)",
         fig["cpu_median"] is not None and fig["cpu_median"] <= CPU_NS),
        (f"RSS growth <= 2 MB ({fig['rss_kb']} kB)", fig["rss_kb"] <= RSS_KB),
        (f"nothing logged per attacking packet (at most {fig['log_lines']} lines in a flood)",
         fig["log_lines"] <= LOG_LINES),
    ]


def render(summaries):
    columns = [(label(s), figures(s)) for s in summaries]
    rate = summaries[0]["rate"] if summaries else 0
    lines = [
        f"Handshake floods of {rate} initiations/s with a valid mac1 (wgxdp-flood, 20 sources x 32 ports), "
        f"{summaries[0]['seconds'] if summaries else 0} s each:",
        "",
        "| during the flood | " + " | ".join(name for name, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    rows = [
        ("floods", lambda f: str(f["floods"])),
        ("flood rate achieved (datagrams/s)", lambda f: span(f["rate"], lambda v: f"{v / 1000:.0f} k")),
        ("new peer got a ping reply within 11 s", lambda f: f"{f['new_peer_ok']} of {f['floods']}"),
        ("new peer's first reply", lambda f: span(f["new_peer_ms"], lambda v: f"{v / 1000:.1f} s")),
        ("established tunnel: share of pings answered", lambda f: span(f["shares"], lambda v: f"{v:.0%}")),
        ("established tunnel: median ping", lambda f: span(f["medians"], lambda v: f"{v:.2f} ms")),
        ("gateway CPU per flood datagram (median; range)",
         lambda f: "n/a" if f["cpu_median"] is None
         else f"{f['cpu_median'] / 1000:.2f} us; {span(f['cpu'], lambda v: f'{v / 1000:.2f}')}"),
        ("RSS growth over all floods", lambda f: f"{f['rss_kb'] / 1024:+.1f} MB"),
        ("log lines in a flood (most)", lambda f: str(f["log_lines"])),
    ]
    for name, cell in rows:
        lines.append(f"| {name} | " + " | ".join(cell(f) for _, f in columns) + " |")
    for name, fig in columns:
        if not name.startswith("wgxdp"):
            continue
        lines += ["", f"Targets, {name}:"]
        lines += [f"- {'MET' if met else 'MISSED'}: {text}" for text, met in targets(fig)]
    return "\n".join(lines) + "\n"


def main(paths):
    if not paths:
        print("usage: report.py SUMMARY.json...", file=sys.stderr)
        return 2
    summaries = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            summaries.append(json.load(f))
    sys.stdout.write(render(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

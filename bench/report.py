#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into results.json, results.md and chart.svg.

    python3 bench/report.py RESULTS_DIR

RESULTS_DIR holds meta.txt, skips.txt and raw/IMPL/rN/ (see bench/lib/measure.sh for the file formats). Every
figure is the median over the repeats with the minimum and maximum beside it, because one noisy run on a shared
machine should neither hide nor fake a difference. Standard library only, so it runs wherever the bench runs.
"""

import json
import math
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape

# Display order; anything else found on disk follows in name order.
IMPL_ORDER = ["bare", "wgxdp-xdp", "wgxdp-xdp-spin", "wgxdp-xdp-generic", "wgxdp-socket", "wireguard-go", "wireguard-go-bpo", "boringtun", "boringtun-t1",
              "gotatun"]
PEERS = ["wireguard-go", "wireguard-go-bpo", "boringtun", "boringtun-t1", "gotatun"]
IMPL_LABEL = {
    "bare": "bare veth",
    "wgxdp-xdp": "wgxdp (xdp)",
    "wgxdp-xdp-spin": "wgxdp (xdp, --spin-us 50 --busy-poll-us 20)",
    "wgxdp-xdp-generic": "wgxdp (xdp, --xdp-mode generic)",
    "wgxdp-socket": "wgxdp (socket)",
    "wireguard-go": "wireguard-go (Debian)",
    "wireguard-go-bpo": "wireguard-go 0.0.20231211",
    "boringtun": "boringtun",
    "boringtun-t1": "boringtun --threads 1",
    "gotatun": "GotaTun",
}
# bench/run.sh's wgxdp-xdp-spin-N: the AF_XDP path with --spin-us N.
SPIN_VARIANT = re.compile(r"wgxdp-xdp-spin-([0-9]+)")
BED_ORDER = ["gso", "mtu"]
BED_LABEL = {
    "gso": "veth as created (GSO/GRO super-packets cross it)",
    "mtu": "MTU wire (GSO, TSO, GRO, UDP segmentation off: MTU-sized frames, as a NIC carries them)",
}
# Targets of issue 9, checked against wgxdp in the same run.
TARGET_XDP_OVER_SOCKET_TCP = {"gso": 1.2, "mtu": 1.5}
TARGET_TCP_OVER_BEST_PEER = 3.0
TARGET_CORES_PER_GBPS = 0.12
TARGET_CPU_100M_RATIO = 1.2
TARGET_PING_IDLE_SLACK_MS = 0.05
TARGET_PING_LOAD_P99_MS = 3.0
TARGET_UDP64_OVER_SOCKET = 1.5


class ReportError(Exception):
    """A results folder that cannot be read (missing or malformed top-level files)."""


# ---- small statistics ----------------------------------------------------------------------------------------


def percentile(values, pct):
    """Nearest-rank percentile: always one of the samples, so a p99 is an RTT that was really seen."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(values):
    """Median, min, max and count of the values that exist (None entries are runs that did not yield it)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "n": len(present),
    }


# ---- raw files -> per-run metrics ----------------------------------------------------------------------------


def read_meta(path):
    meta = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    meta[key] = value
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e}") from e
    return meta


def read_skips(path):
    skips = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                impl, sep, reason = line.rstrip("\n").partition("\t")
                if sep:
                    skips.append({"impl": impl, "reason": reason})
    return skips


def load_iperf(path):
    """The client's iperf3 JSON, or None when the run produced none or reported an error."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("error"):
        return None
    received = data.get("end", {}).get("sum_received")
    if not isinstance(received, dict) or not received.get("seconds"):
        return None
    return received


def load_cpu(path):
    """CPU-seconds of side a and b and the wall time from a NAME.cpu line; sides are None when unknown."""
    try:
        with open(path, encoding="utf-8") as f:
            fields = f.read().split()
    except OSError:
        return None
    if len(fields) not in (6, 8):
        return None
    try:
        wall = float(fields[4])
        hz = float(fields[5])
    except ValueError:
        return None
    machine = None
    if len(fields) == 8 and fields[6].isdigit() and fields[7].isdigit() and hz > 0:
        machine = (int(fields[7]) - int(fields[6])) / hz
    sides = []
    for before, after in ((fields[0], fields[2]), (fields[1], fields[3])):
        if before.isdigit() and after.isdigit() and hz > 0:
            sides.append((int(after) - int(before)) / hz)
        else:
            sides.append(None)
    return {"a": sides[0], "b": sides[1], "wall": wall, "machine": machine}


PING_TIME = re.compile(r"time[=<]([0-9.]+) ms")


def load_ping(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [float(m.group(1)) for m in PING_TIME.finditer(f.read())]
    except OSError:
        return []


def transfer_metrics(run_dir, name, unit_bytes=None):
    """Received rate, loss and CPU cost of one iperf3 test. unit_bytes set: also packets per second."""
    received = load_iperf(os.path.join(run_dir, name + ".iperf.json"))
    if received is None:
        return {}
    seconds = received["seconds"]
    gbits = received.get("bytes", 0) * 8 / 1e9
    out = {"gbps": gbits / seconds}
    packets = received.get("packets")
    lost = received.get("lost_packets")
    if isinstance(packets, int) and isinstance(lost, int) and packets > 0:
        out["loss_pct"] = 100.0 * lost / packets
        out["kpps"] = (packets - lost) / seconds / 1e3
    elif unit_bytes:
        out["kpps"] = received.get("bytes", 0) / unit_bytes / seconds / 1e3
    cpu = load_cpu(os.path.join(run_dir, name + ".cpu"))
    for side in ("a", "b"):
        cpu_s = cpu and cpu[side]
        if cpu_s is None:
            continue
        out["cores_" + side] = cpu_s / seconds
        # CPU-seconds per Gbit moved equals cores per Gbit/s, without depending on which window is the "duration".
        if gbits > 0:
            out["cores_per_gbps_" + side] = cpu_s / gbits
    machine = cpu and cpu.get("machine")
    if machine is not None and cpu["wall"] > 0:
        # The whole machine over the window: both daemons, both iperf3s, softirq and every kernel thread.
        out["machine_cores"] = machine / cpu["wall"]
        if gbits > 0:
            out["machine_cores_per_gbps"] = machine / (gbits * cpu["wall"] / seconds)
    return out


def run_metrics(run_dir, meta):
    """Every figure one run yields, flattened to "test.metric" keys."""
    metrics = {}
    for name in ("tcp1", "tcp4", "udp1400", "udp64"):
        for key, value in transfer_metrics(run_dir, name).items():
            metrics[f"{name}.{key}"] = value
    for size in ("1400", "64"):
        for rate in meta.get("sweep_" + size, "").split():
            for key, value in transfer_metrics(run_dir, f"udp{size}-at-{rate}").items():
                metrics[f"udp{size}-at-{rate}.{key}"] = value
    idle = load_cpu(os.path.join(run_dir, "idle.cpu"))
    if idle and idle["wall"] > 0:
        for side in ("a", "b"):
            if idle[side] is not None:
                metrics["idle.cores_" + side] = idle[side] / idle["wall"]
    for name in ("ping-idle", "ping-load"):
        rtts = load_ping(os.path.join(run_dir, name + ".ping"))
        if rtts:
            metrics[name + ".p50_ms"] = percentile(rtts, 50)
            metrics[name + ".p99_ms"] = percentile(rtts, 99)
            metrics[name + ".samples"] = len(rtts)
    return metrics


def split_unit(unit):
    """"IMPL@BED" -> (IMPL, BED); results of runs before beds existed are on the gso bed."""
    impl, sep, bed = unit.partition("@")
    return impl, (bed if sep else "gso")


def impl_sort_key(unit):
    impl, bed = split_unit(unit)
    spin = SPIN_VARIANT.fullmatch(impl)
    # The spin-N variants follow the spin variant, by N.
    base = "wgxdp-xdp-spin" if spin else impl
    order = IMPL_ORDER.index(base) if base in IMPL_ORDER else len(IMPL_ORDER)
    bed_order = BED_ORDER.index(bed) if bed in BED_ORDER else len(BED_ORDER)
    return (bed_order, bed, order, int(spin.group(1)) if spin else -1, impl)


def collect(results_dir):
    meta = read_meta(os.path.join(results_dir, "meta.txt"))
    skips = read_skips(os.path.join(results_dir, "skips.txt"))
    raw = os.path.join(results_dir, "raw")
    impls = {}
    for impl in sorted(os.listdir(raw) if os.path.isdir(raw) else [], key=impl_sort_key):
        runs = []
        impl_dir = os.path.join(raw, impl)
        for run in sorted(os.listdir(impl_dir)):
            run_dir = os.path.join(impl_dir, run)
            if not os.path.isdir(run_dir):
                continue
            failed = None
            if os.path.exists(os.path.join(run_dir, "failed")):
                with open(os.path.join(run_dir, "failed"), encoding="utf-8") as f:
                    failed = f.read().strip() or "failed"
            runs.append({"run": run, "failed": failed, "metrics": run_metrics(run_dir, meta)})
        keys = sorted({k for r in runs for k in r["metrics"]})
        summary = {}
        for key in keys:
            s = summarize([r["metrics"].get(key) for r in runs])
            if s:
                summary[key] = s
        impls[impl] = {"runs": runs, "summary": summary}
    return {"meta": meta, "skips": skips, "impls": impls, "targets": targets(impls)}


# ---- targets ---------------------------------------------------------------------------------------------------


def median_of(impls, impl, key):
    s = impls.get(impl, {}).get("summary", {}).get(key)
    return s["median"] if s else None


def targets(impls):
    """The issue's targets for the AF_XDP path on each bed measured, with the figures they were judged on."""
    checks = []
    beds = sorted({split_unit(u)[1] for u in impls}, key=lambda b: BED_ORDER.index(b) if b in BED_ORDER else 99)
    for bed in beds:
        xdp, sock = f"wgxdp-xdp@{bed}", f"wgxdp-socket@{bed}"
        if xdp not in impls:
            continue

        def m(unit, key):
            return median_of(impls, unit, key)

        def check(target, value, detail, ok):
            checks.append({"impl": xdp, "bed": bed, "target": target, "value": value, "detail": detail,
                           "pass": None if value is None else ok})

        tcp_x, tcp_s = m(xdp, "tcp1.gbps"), m(sock, "tcp1.gbps")
        want = TARGET_XDP_OVER_SOCKET_TCP.get(bed, 1.0)
        ratio = tcp_x / tcp_s if tcp_x is not None and tcp_s else None
        check(f"TCP 1 stream >= {want:g}x the socket path", ratio,
              f"{tcp_x:.2f} vs {tcp_s:.2f} Gbit/s" if ratio is not None else "no figure",
              ratio is not None and ratio >= want)
        peers = [(m(f"{p}@{bed}", "tcp1.gbps"), p) for p in PEERS]
        peers = [(v, p) for v, p in peers if v is not None]
        best = max(peers) if peers else None
        ratio = tcp_x / best[0] if tcp_x is not None and best and best[0] > 0 else None
        check(f"TCP 1 stream >= {TARGET_TCP_OVER_BEST_PEER:g}x the best other implementation", ratio,
              f"{tcp_x:.2f} vs {label(best[1])} {best[0]:.2f} Gbit/s" if ratio is not None else "no peer figure",
              ratio is not None and ratio >= TARGET_TCP_OVER_BEST_PEER)
        sides_x = [m(xdp, "tcp1.cores_per_gbps_" + s) for s in ("a", "b")]
        sides_s = [m(sock, "tcp1.cores_per_gbps_" + s) for s in ("a", "b")]
        worst = max(sides_x) if None not in sides_x else None
        ok = worst is not None and worst <= TARGET_CORES_PER_GBPS and None not in sides_s and all(
            x <= y for x, y in zip(sides_x, sides_s))
        check(f"CPU-cores per Gbit/s (TCP 1) per side <= the socket path's and <= {TARGET_CORES_PER_GBPS:g}",
              worst,
              (f"xdp {sides_x[0]:.3f} / {sides_x[1]:.3f}, socket "
               + (f"{sides_s[0]:.3f} / {sides_s[1]:.3f}" if None not in sides_s else "n/a"))
              if worst is not None else "no CPU figure", ok)
        cpu_x = [m(xdp, "udp1400-at-100M.cores_" + s) for s in ("a", "b")]
        cpu_s = [m(sock, "udp1400-at-100M.cores_" + s) for s in ("a", "b")]
        ratios = [x / y for x, y in zip(cpu_x, cpu_s) if x is not None and y]
        ratio = max(ratios) if len(ratios) == 2 else None
        check(f"UDP 1400 B at 100 Mbit/s: CPU per side <= {TARGET_CPU_100M_RATIO:g}x the socket path's", ratio,
              (f"xdp {cpu_x[0]:.3f} / {cpu_x[1]:.3f} cores, socket {cpu_s[0]:.3f} / {cpu_s[1]:.3f}"
               if ratio is not None else "no figure"), ratio is not None and ratio <= TARGET_CPU_100M_RATIO)
        p50_x, p50_s = m(xdp, "ping-idle.p50_ms"), m(sock, "ping-idle.p50_ms")
        diff = p50_x - p50_s if p50_x is not None and p50_s is not None else None
        check(f"ping at idle p50 <= the socket path's + {TARGET_PING_IDLE_SLACK_MS:g} ms", diff,
              f"{p50_x:.3f} vs {p50_s:.3f} ms (difference shown)" if diff is not None else "no figure",
              diff is not None and diff <= TARGET_PING_IDLE_SLACK_MS)
        p99 = m(xdp, "ping-load.p99_ms")
        check(f"ping p99 during the TCP transfer <= {TARGET_PING_LOAD_P99_MS:g} ms", p99,
              f"{p99:.3f} ms" if p99 is not None else "no figure",
              p99 is not None and p99 <= TARGET_PING_LOAD_P99_MS)
        udp_x, udp_s = m(xdp, "udp64.kpps"), m(sock, "udp64.kpps")
        ratio = udp_x / udp_s if udp_x is not None and udp_s else None
        check(f"UDP 64 B flood received >= {TARGET_UDP64_OVER_SOCKET:g}x the socket path's", ratio,
              f"{udp_x:.0f} vs {udp_s:.0f} kpps" if ratio is not None else "no figure",
              ratio is not None and ratio >= TARGET_UDP64_OVER_SOCKET)
    return checks


# ---- markdown --------------------------------------------------------------------------------------------------


def fmt(summary, digits=2, scale=1.0):
    """"median (min-max)", or the single value when there was one run, or "n/a"."""
    if not summary:
        return "n/a"
    med, lo, hi = (summary[k] * scale for k in ("median", "min", "max"))
    if summary["n"] == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def fmt_lost(rate, loss, digits):
    """A received rate with its range, then the median share lost: "0.94 (0.69–1.06), 87.8 % lost"."""
    if not rate:
        return "n/a"
    lost = f", {loss['median']:.1f} % lost" if loss else ""
    return fmt(rate, digits) + lost


def label(unit):
    impl, _ = split_unit(unit)
    spin = SPIN_VARIANT.fullmatch(impl)
    if spin:
        return f"wgxdp (xdp, --spin-us {spin.group(1)})"
    return IMPL_LABEL.get(impl, impl)


def markdown(results):
    meta, impls = results["meta"], results["impls"]
    lines = [
        "# wgxdp benchmark",
        "",
        f"- Date: {meta.get('date', '?')}, commit {meta.get('git_commit', '?')}",
        f"- Machine: {meta.get('nproc', '?')} CPUs, {meta.get('cpu_model', '?')}, kernel {meta.get('kernel', '?')}",
        f"- Load average (1/5/15 min): {meta.get('loadavg_start', '?')} at start, "
        f"{meta.get('loadavg_end', '?')} at end",
        f"- Bed: two network namespaces over veth (MTU 1500), both tunnel ends on this host, tunnel MTU "
        f"{meta.get('tunnel_mtu', '?')}; beds: {meta.get('beds', 'gso')}; {meta.get('iperf3', 'iperf3')}",
        f"- Runs: {meta.get('repeat', '?')} per implementation, interleaved; {meta.get('durations', '')}"
        + (" (--quick)" if meta.get("quick") == "1" else ""),
        "- Figures: median (min–max) over the runs. CPU: utime+stime of each daemon from /proc/PID/stat; "
        "cores/Gbit/s = CPU-seconds per Gbit received, sender side (a) / receiver side (b). Kernel work done "
        "in softirq context on behalf of a daemon is not in its account; bare veth has no daemon (n/a). "
        "Machine cores/Gbit/s: busy time of every CPU (/proc/stat: user, system, irq, softirq...) per Gbit/s, "
        "the daemons, iperf3 and all kernel work together. "
        "Idle CPU is counted in 10 ms ticks: 0.000 means under one tick in the idle window.",
        "",
    ]
    versions = [f"{label(k[len('version.'):])}: {v}" for k, v in meta.items() if k.startswith("version.") and v]
    if "wgxdp_binary" in meta:
        versions.append("binary " + meta["wgxdp_binary"])
    if versions:
        lines += ["- Versions: " + "; ".join(versions), ""]
    for skip in results["skips"]:
        lines.append(f"- SKIP {skip['impl']}: {skip['reason']}")
    if results["skips"]:
        lines.append("")
    beds = {}
    for unit, data in impls.items():
        beds.setdefault(split_unit(unit)[1], []).append((unit, data))
    for bed, units in beds.items():
        lines += [f"## Bed: {BED_LABEL.get(bed, bed)}", ""]
        head = ["implementation", "TCP 1 stream Gbit/s", "TCP 4 streams Gbit/s", "cores/Gbit/s TCP 1 (a / b)",
                "machine cores/Gbit/s TCP 1", "UDP 1400 B flood Gbit/s received", "UDP 64 B flood kpps received",
                "ping idle p50 / p99 ms", "ping under TCP load p50 / p99 ms", "idle CPU cores (a / b)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for unit, data in units:
            s = data["summary"]
            failed = [r["run"] for r in data["runs"] if r["failed"]]
            name = label(unit) + (f" (broken runs: {', '.join(failed)})" if failed else "")
            row = [
                name,
                fmt(s.get("tcp1.gbps")),
                fmt(s.get("tcp4.gbps")),
                f"{fmt(s.get('tcp1.cores_per_gbps_a'), 3)} / {fmt(s.get('tcp1.cores_per_gbps_b'), 3)}",
                fmt(s.get("tcp1.machine_cores_per_gbps"), 3),
                fmt_lost(s.get("udp1400.gbps"), s.get("udp1400.loss_pct"), 2),
                fmt_lost(s.get("udp64.kpps"), s.get("udp64.loss_pct"), 0),
                f"{fmt(s.get('ping-idle.p50_ms'), 3)} / {fmt(s.get('ping-idle.p99_ms'), 3)}",
                f"{fmt(s.get('ping-load.p50_ms'), 3)} / {fmt(s.get('ping-load.p99_ms'), 3)}",
                f"{fmt(s.get('idle.cores_a'), 3)} / {fmt(s.get('idle.cores_b'), 3)}",
            ]
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", "UDP at fixed offered rates: received, and the CPU each side's daemon used (cores).", ""]
        for size, unit_name, key, digits in (("1400", "Gbit/s", "gbps", 2), ("64", "kpps", "kpps", 0)):
            rates = meta.get("sweep_" + size, "").split()
            if not rates:
                continue
            head = ["implementation"] + [f"{size} B at {r}: {unit_name} / cores a / b" for r in rates]
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for unit, data in units:
                s = data["summary"]
                cells = [
                    fmt_lost(s.get(f"udp{size}-at-{r}.{key}"), s.get(f"udp{size}-at-{r}.loss_pct"), digits)
                    + f" / {fmt(s.get(f'udp{size}-at-{r}.cores_a'), 3)} / {fmt(s.get(f'udp{size}-at-{r}.cores_b'), 3)}"
                    for r in rates
                ]
                lines.append("| " + " | ".join([label(unit)] + cells) + " |")
            lines.append("")
    if results["targets"]:
        lines += ["## Targets (issue 9), AF_XDP path", "", "| bed | target | measured | result |",
                  "|---|---|---|---|"]
        for t in results["targets"]:
            verdict = {True: "PASS", False: "FAIL", None: "n/a"}[t["pass"]]
            value = "n/a" if t["value"] is None else f"{t['value']:.2f}"
            lines.append(f"| {t['bed']} | {t['target']} | {value} ({t['detail']}) | {verdict} |")
        lines.append("")
    return "\n".join(lines)


# ---- SVG -------------------------------------------------------------------------------------------------------

SERIES_COLORS = ["#4e79a7", "#f28e2b", "#59a14f"]


def svg_panel(title, unit, impls, series, top, width, clip_bare=True):
    """One horizontal bar panel: a group of bars per implementation (one per series) with min-max whiskers.

    series: [(legend, metric key)]. With clip_bare, bare veth is drawn off scale (clipped, value written) when it
    would squash every tunnel's bar into a sliver, since the point of such a panel is comparing tunnels.
    Returns (svg elements, height used).
    """
    left, right, bar_h, gap = 190, 150, 12, 8
    plot_w = width - left - right
    rows = [(impl, [data["summary"].get(key) for _, key in series]) for impl, data in impls.items()]
    rows = [(impl, sums) for impl, sums in rows if any(sums)]
    tunnel_max = max([s["max"] for impl, sums in rows if split_unit(impl)[0] != "bare" for s in sums if s] or [0])
    several_beds = len({split_unit(impl)[1] for impl, _ in rows}) > 1
    all_max = max([s["max"] for _, sums in rows for s in sums if s] or [0])
    clip = clip_bare and tunnel_max > 0 and all_max > 3 * tunnel_max
    scale_max = tunnel_max if clip else all_max
    scale_max = scale_max * 1.1 or 1.0
    out = [f'<text x="10" y="{top + 16}" font-size="14" font-weight="bold">{escape(title)}</text>']
    legend_x = left
    for i, (legend, _) in enumerate(series):
        out.append(f'<rect x="{legend_x}" y="{top + 24}" width="10" height="10" fill="{SERIES_COLORS[i % 3]}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{top + 33}" font-size="11">{escape(legend)}</text>')
        legend_x += 14 + 7 * len(legend) + 20
    y = top + 44
    if not rows:
        out.append(f'<text x="{left}" y="{y + 12}" font-size="11">no data</text>')
        return out, y + 24 - top
    for impl, sums in rows:
        group_h = len(series) * (bar_h + 2)
        name = label(impl) + (f" [{split_unit(impl)[1]}]" if several_beds else "")
        out.append(f'<text x="{left - 8}" y="{y + group_h / 2 + 4:.1f}" font-size="12" text-anchor="end">'
                   f'{escape(name)}</text>')
        for i, s in enumerate(sums):
            by = y + i * (bar_h + 2)
            if not s:
                out.append(f'<text x="{left + 4}" y="{by + bar_h - 2}" font-size="10" fill="#777">n/a</text>')
                continue
            clipped = s["median"] > scale_max
            w = min(s["median"], scale_max) / scale_max * plot_w
            out.append(f'<rect x="{left}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{SERIES_COLORS[i % 3]}"/>')
            if clipped:
                # A white double slash across the bar end: the usual mark of a broken axis.
                for dx in (-14, -9):
                    out.append(f'<line x1="{left + w + dx:.1f}" y1="{by + bar_h + 1}" x2="{left + w + dx + 4:.1f}" '
                               f'y2="{by - 1}" stroke="white" stroke-width="2"/>')
            if not clipped and s["n"] > 1:
                x0 = left + s["min"] / scale_max * plot_w
                x1 = left + min(s["max"], scale_max) / scale_max * plot_w
                mid = by + bar_h / 2
                out.append(f'<line x1="{x0:.1f}" y1="{mid}" x2="{x1:.1f}" y2="{mid}" stroke="#222"/>')
                for x in (x0, x1):
                    out.append(f'<line x1="{x:.1f}" y1="{by + 2}" x2="{x:.1f}" y2="{by + bar_h - 2}" stroke="#222"/>')
            text = f"{s['median']:.3g} {unit}".strip() + (" (off scale)" if clipped else "")
            # After the whisker's end, so the label never sits on it.
            text_x = left + min(max(s["median"], s["max"]), scale_max) / scale_max * plot_w + 4
            out.append(f'<text x="{text_x:.1f}" y="{by + bar_h - 2}" font-size="10">{escape(text)}</text>')
        y += group_h + gap
    # Axis with ticks at round values.
    step = 10 ** math.floor(math.log10(scale_max / 4)) if scale_max > 0 else 1
    for mult in (1, 2, 5, 10):
        if scale_max / (step * mult) <= 6:
            step *= mult
            break
    out.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#999"/>')
    tick = 0.0
    while tick <= scale_max:
        x = left + tick / scale_max * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#999"/>')
        out.append(f'<text x="{x:.1f}" y="{y + 15}" font-size="10" text-anchor="middle">{tick:g}</text>')
        tick = round(tick + step, 10)
    return out, y + 24 - top


def svg_chart(results):
    width = 820
    impls = results["impls"]
    meta = results["meta"]
    panels = [
        ("Throughput through the tunnel (median, whiskers min-max)", "Gbit/s",
         [("TCP 1 stream", "tcp1.gbps"), ("TCP 4 streams", "tcp4.gbps")], True),
        ("CPU cost, TCP 1 stream: CPU-cores per Gbit/s (lower is better)", "",
         [("sender side (a)", "tcp1.cores_per_gbps_a"), ("receiver side (b)", "tcp1.cores_per_gbps_b")], True),
        # Unclipped: how far each tunnel is from the bare veth ceiling is the point of this panel.
        ("UDP 64 B flood: packets received (same iperf3 sender for all)", "kpps", [("received", "udp64.kpps")],
         False),
    ]
    body, top = [], 8
    for title, unit, series, clip_bare in panels:
        elements, height = svg_panel(title, unit, impls, series, top, width, clip_bare)
        body += elements
        top += height + 16
    caption = (f"{meta.get('nproc', '?')} CPUs, {meta.get('cpu_model', '?')}, kernel {meta.get('kernel', '?')}, "
               f"{meta.get('date', '?')}, load {meta.get('loadavg_start', '?')}")
    return svg_document(body, top, width, caption)


def svg_document(body, top, width, caption):
    """The chart's SVG document: the panels' elements in `body` (they end at `top`), then the caption line."""
    body = body + [f'<text x="10" y="{top + 4}" font-size="10" fill="#555">{escape(caption)}</text>']
    height = top + 14
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
            f'<rect width="{width}" height="{height}" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")


def main(argv):
    if len(argv) != 2:
        print("usage: report.py RESULTS_DIR", file=sys.stderr)
        return 2
    results_dir = argv[1]
    try:
        results = collect(results_dir)
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    with open(os.path.join(results_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    md = markdown(results)
    with open(os.path.join(results_dir, "results.md"), "w", encoding="utf-8") as f:
        f.write(md + "\n")
    with open(os.path.join(results_dir, "chart.svg"), "w", encoding="utf-8") as f:
        f.write(svg_chart(results))
    print(md)
    print(f"\nreport.py: wrote results.json, results.md and chart.svg in {results_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

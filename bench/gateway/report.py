#!/usr/bin/env python3
"""Turns a gateway benchmark folder (bench/gateway/run.sh) into results.json, results.md and chart.svg.

    python3 bench/gateway/report.py RESULTS_DIR

RESULTS_DIR holds meta.txt, skips.txt, raw/aead/{seal,open}-SIZE.json (criterion estimates of the AEAD-only
ceiling) and raw/IMPL/pPEERS/report.json (one wgxdp-loadgen report per implementation and peer count, or a
`failed` file saying why there is none). Every figure is one run on one DUT core; the table also gives each as a
share of the AEAD-only ceiling of that core, and the issue's targets are checked against the same run.
Standard library only; the chart's panels come from bench/report.py.
"""

import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("bench_report", os.path.join(HERE, "..", "report.py"))
bench_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_report)

IMPL_ORDER = ["wgxdp-xdp", "wgxdp-socket", "wireguard-go", "wireguard-go-bpo", "boringtun", "gotatun"]
IMPL_LABEL = {
    "wgxdp-xdp": "wgxdp (AF_XDP)",
    "wgxdp-socket": "wgxdp (socket)",
    "wireguard-go": "wireguard-go (Debian)",
    "wireguard-go-bpo": "wireguard-go 0.0.20231211",
    "boringtun": "boringtun",
    "gotatun": "GotaTun",
}
OURS = "wgxdp-xdp"
# Targets of the issue (one DUT core, same run).
TARGET_RATIO = {64: 2.0, 1420: 1.5}
TARGET_CEILING_SHARE = 0.60
TARGET_HANDSHAKES = 3000.0
TARGET_PEER_COST = 0.10

ReportError = bench_report.ReportError


def label(impl):
    return IMPL_LABEL.get(impl, impl)


def impl_key(impl):
    return (IMPL_ORDER.index(impl) if impl in IMPL_ORDER else len(IMPL_ORDER), impl)


# ---- raw files -----------------------------------------------------------------------------------------------


def read_ceiling(aead_dir):
    """Criterion's mean estimate per operation and size: ns per message and messages per second."""
    ceiling = {"seal": {}, "open": {}}
    if not os.path.isdir(aead_dir):
        return ceiling
    for name in sorted(os.listdir(aead_dir)):
        op, sep, rest = name.partition("-")
        if not sep or op not in ceiling or not rest.endswith(".json"):
            continue
        try:
            size = int(rest[:-5])
            with open(os.path.join(aead_dir, name), encoding="utf-8") as f:
                ns = float(json.load(f)["mean"]["point_estimate"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ReportError(f"bad criterion estimate {name}: {e}") from e
        if ns > 0:
            ceiling[op][size] = {"ns": ns, "pps": 1e9 / ns}
    return ceiling


def test_row(test, ceiling):
    """The figures of one loadgen test, with its share of the AEAD-only ceiling."""
    samples = test.get("samples") or {}
    row = {
        "name": test["name"],
        "kind": test["kind"],
        "size": test.get("size"),
        "peers": test.get("peers"),
        "sent": test.get("sent", 0),
        "delivered": test.get("delivered", 0),
        "seconds": test.get("seconds", 0.0),
        "offered_pps": test.get("offered_pps", 0.0),
        "delivered_pps": test.get("delivered_pps", 0.0),
        "delivered_gbps": test.get("delivered_gbps", 0.0),
        "loss": test.get("loss", 0.0),
        "latency_us_p50": samples.get("latency_us_p50"),
        "latency_us_p99": samples.get("latency_us_p99"),
        "reordered": samples.get("reordered"),
        "thread_ns": test.get("dut_process_ns_per_packet"),
        "core_ns": test.get("dut_core_ns_per_packet"),
        "cores_per_gbps": test.get("dut_cores_per_gbps"),
        "handshakes": test.get("handshakes"),
        "problems": test.get("problems", []),
        "ceiling_share": None,
        "flood_pps": None,
        "search_rate": None,
    }
    search = test.get("search") or {}
    trials = search.get("trials") or []
    if trials:
        row["flood_pps"] = trials[0].get("delivered_pps")
        row["search_rate"] = search.get("rate")
    op = {"ingress": "open", "egress": "seal"}.get(test["kind"])
    limit = ceiling.get(op, {}).get(test.get("size")) if op else None
    if limit:
        row["ceiling_share"] = row["delivered_pps"] / limit["pps"]
    return row


def read_run(run_dir, ceiling):
    """One implementation at one peer count: its report, or why there is none."""
    failed_path = os.path.join(run_dir, "failed")
    failed = None
    if os.path.exists(failed_path):
        with open(failed_path, encoding="utf-8") as f:
            failed = f.read().strip() or "failed"
    report_path = os.path.join(run_dir, "report.json")
    if not os.path.exists(report_path):
        return {"failed": failed or "no report", "tests": [], "bring_up": None, "problems": []}
    try:
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        tests = [test_row(t, ceiling) for t in report.get("tests", [])]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return {"failed": f"unreadable report: {e}", "tests": [], "bring_up": None, "problems": []}
    return {
        "failed": failed,
        "bring_up": report.get("bring_up"),
        "tests": tests,
        "problems": report.get("problems", []),
    }


def collect(results_dir):
    meta = bench_report.read_meta(os.path.join(results_dir, "meta.txt"))
    skips = bench_report.read_skips(os.path.join(results_dir, "skips.txt"))
    raw = os.path.join(results_dir, "raw")
    ceiling = read_ceiling(os.path.join(raw, "aead"))
    runs = []
    if os.path.isdir(raw):
        for impl in sorted((d for d in os.listdir(raw) if d != "aead"), key=impl_key):
            impl_dir = os.path.join(raw, impl)
            if not os.path.isdir(impl_dir):
                continue
            for entry in os.listdir(impl_dir):
                if entry.startswith("p") and entry[1:].isdigit():
                    run = read_run(os.path.join(impl_dir, entry), ceiling)
                    run.update({"impl": impl, "peers": int(entry[1:])})
                    runs.append(run)
    runs.sort(key=lambda r: (impl_key(r["impl"]), r["peers"]))
    results = {"meta": meta, "skips": skips, "ceiling": ceiling, "runs": runs}
    results["targets"] = targets(results)
    return results


# ---- lookups and targets -------------------------------------------------------------------------------------


def find(results, impl, peers, name):
    for run in results["runs"]:
        if run["impl"] == impl and run["peers"] == peers:
            for test in run["tests"]:
                if test["name"] == name:
                    return test
    return None


def peer_counts(results):
    return sorted({r["peers"] for r in results["runs"]})


def targets(results):
    """The issue's targets, each met (True), not met (False) or not measured (None), with the figures."""
    out = []
    counts = peer_counts(results)
    impls = sorted({r["impl"] for r in results["runs"]}, key=impl_key)
    others = [i for i in impls if not i.startswith("wgxdp")]
    if not counts:
        return out
    base = counts[0]
    for kind in ("ingress", "egress"):
        for size, ratio in TARGET_RATIO.items():
            name = f"{kind}-{size}"
            ours = find(results, OURS, base, name)
            best = max(((find(results, i, base, name) or {}).get("delivered_pps", 0.0), i) for i in others) if others else (0.0, None)
            text = f"wgxdp AF_XDP {kind} at {size} B >= {ratio:g}x the best peer ({base} peer{'s' if base != 1 else ''})"
            if not ours or not best[1] or best[0] <= 0:
                out.append({"target": text, "met": None, "detail": "not measured"})
                continue
            got = ours["delivered_pps"] / best[0]
            out.append({"target": text, "met": got >= ratio,
                        "detail": f"{ours['delivered_pps'] / 1e3:.0f} kpps vs {label(best[1])} {best[0] / 1e3:.0f} kpps: {got:.2f}x"})
    ours = find(results, OURS, base, "ingress-1420")
    text = f"wgxdp AF_XDP ingress at 1420 B >= {TARGET_CEILING_SHARE:.0%} of the AEAD-only ceiling"
    if ours and ours.get("ceiling_share") is not None:
        limit = results["ceiling"]["open"][1420]["pps"]
        out.append({"target": text, "met": ours["ceiling_share"] >= TARGET_CEILING_SHARE,
                    "detail": f"{ours['delivered_pps'] / 1e3:.0f} kpps of {limit / 1e3:.0f} kpps: {ours['ceiling_share']:.0%}"})
    else:
        out.append({"target": text, "met": None, "detail": "not measured"})
    top = counts[-1]
    hs = find(results, OURS, top, "handshakes")
    text = f"wgxdp AF_XDP answers >= {TARGET_HANDSHAKES:.0f} handshakes per second on one core"
    if hs:
        out.append({"target": text, "met": hs["delivered_pps"] >= TARGET_HANDSHAKES,
                    "detail": f"{hs['delivered_pps']:.0f} per second with {top} peers"})
    else:
        out.append({"target": text, "met": None, "detail": "not measured"})
    text = f"10 000 peers cost <= {TARGET_PEER_COST:.0%} of the 1-peer throughput (wgxdp AF_XDP)"
    if 1 in counts and 10000 in counts:
        worst = None
        for test in next((r["tests"] for r in results["runs"] if r["impl"] == OURS and r["peers"] == 1), []):
            if test["kind"] == "handshakes" or test["delivered_pps"] <= 0:
                continue
            many = find(results, OURS, 10000, test["name"])
            if many:
                cost = 1.0 - many["delivered_pps"] / test["delivered_pps"]
                if worst is None or cost > worst[0]:
                    worst = (cost, test["name"])
        if worst:
            out.append({"target": text, "met": worst[0] <= TARGET_PEER_COST,
                        "detail": f"worst: {worst[1]}, {worst[0]:+.1%} at 10 000 peers"})
        else:
            out.append({"target": text, "met": None, "detail": "not measured"})
    else:
        out.append({"target": text, "met": None, "detail": "needs runs at 1 and 10 000 peers"})
    return out


# ---- markdown ------------------------------------------------------------------------------------------------


def fmt(value, digits=0, scale=1.0, suffix=""):
    if value is None:
        return "-"
    return f"{value * scale:.{digits}f}{suffix}"


def sizes_of(results, kind):
    return sorted({t["size"] for r in results["runs"] for t in r["tests"] if t["kind"] == kind and t["size"]})


def markdown(results):
    meta = results["meta"]
    lines = ["# One gateway core", ""]
    lines.append(
        f"DUT pinned to CPU {meta.get('dut_cpu', '?')} (process, threads and the NAPI threads of its interfaces), "
        f"load generator and sinks on CPU {meta.get('gen_cpu', '?')}; {meta.get('nproc', '?')} CPUs "
        f"({meta.get('cpu_model', '?')}), kernel {meta.get('kernel', '?')}, {meta.get('date', '?')}, commit "
        f"{meta.get('git_commit', '?')}; capacity search per data test ({meta.get('search', '?')}), then "
        f"{meta.get('duration_s', '?')} s at the rate found; load average "
        f"{meta.get('loadavg_start', '?')} at the start and {meta.get('loadavg_end', '?')} at the end. "
        f"{meta.get('loadgen', '')}.")
    lines.append("")
    for kind, title, op in (("ingress", "Ingress (underlay -> DUT decrypts -> LAN)", "open"),
                            ("egress", "Egress (LAN -> DUT encrypts -> underlay)", "seal")):
        sizes = sizes_of(results, kind)
        if not sizes:
            continue
        lines.append(f"## {title}")
        lines.append("")
        lines.append(f"Delivered kpps at the highest rate carried with at most 1 % loss (share of the AEAD-only "
                     f"{op} ceiling); what the DUT delivered when flooded; at {sizes[0]} B the loss, the DUT's cost "
                     f"per packet (its threads' CPU time / the busy time of its core, softirq included) and latency.")
        lines.append("")
        header = "| implementation | peers | " + " | ".join(f"{s} B" for s in sizes)
        header += (f" | {sizes[-1]} B Gbit/s | flooded, {sizes[0]} B | loss at {sizes[0]} B | ns/pkt threads / core "
                   f"| p50 / p99 latency (us) |")
        lines.append(header)
        lines.append("|---|---:|" + "---:|" * (len(sizes) + 5))
        for run in results["runs"]:
            if run["failed"] and not run["tests"]:
                lines.append(f"| {label(run['impl'])} | {run['peers']} | failed: {run['failed']} |")
                continue
            cells = []
            for s in sizes:
                t = find(results, run["impl"], run["peers"], f"{kind}-{s}")
                if not t:
                    cells.append("-")
                    continue
                share = f" ({t['ceiling_share']:.0%})" if t.get("ceiling_share") is not None else ""
                cells.append(f"{t['delivered_pps'] / 1e3:.0f}{share}")
            first = find(results, run["impl"], run["peers"], f"{kind}-{sizes[0]}") or {}
            last = find(results, run["impl"], run["peers"], f"{kind}-{sizes[-1]}") or {}
            lines.append(
                f"| {label(run['impl'])} | {run['peers']} | " + " | ".join(cells)
                + f" | {fmt(last.get('delivered_gbps'), 2)} | {fmt(first.get('flood_pps'), 0, 1e-3)}"
                + f" | {fmt(first.get('loss'), 2, 100, '%')}"
                + f" | {fmt(first.get('thread_ns'))} / {fmt(first.get('core_ns'))}"
                + f" | {fmt(first.get('latency_us_p50'))} / {fmt(first.get('latency_us_p99'))} |")
        lines.append("")
    lines.append("## Handshakes")
    lines.append("")
    lines.append("| implementation | peers | bring-up (s) | sessions per s | handshakes per s (sustained) | cookie replies "
                 "| DUT us per handshake (threads) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for run in results["runs"]:
        b = run.get("bring_up") or {}
        hs = find(results, run["impl"], run["peers"], "handshakes") or {}
        cookies = (hs.get("handshakes") or {}).get("cookie_replies")
        lines.append(
            f"| {label(run['impl'])} | {run['peers']} | {fmt(b.get('seconds'), 3)} | {fmt(b.get('sessions_per_second'))} "
            f"| {fmt(hs.get('delivered_pps'))} | {fmt(cookies)} | {fmt(hs.get('thread_ns'), 1, 1e-3)} |")
    lines.append("")
    ceiling = results["ceiling"]
    if ceiling["seal"] or ceiling["open"]:
        lines.append("## AEAD-only ceiling of the DUT's core")
        lines.append("")
        lines.append("ring's ChaCha20-Poly1305, in place, one message at a time (`cargo bench -p wgxdp-loadgen "
                     "--bench aead_ceiling`, pinned to the DUT's CPU).")
        lines.append("")
        lines.append("| size | seal ns | seal kpps | open ns | open kpps |")
        lines.append("|---:|---:|---:|---:|---:|")
        for size in sorted(set(ceiling["seal"]) | set(ceiling["open"])):
            s, o = ceiling["seal"].get(size, {}), ceiling["open"].get(size, {})
            lines.append(f"| {size} B | {fmt(s.get('ns'))} | {fmt(s.get('pps'), 0, 1e-3)} | {fmt(o.get('ns'))} "
                         f"| {fmt(o.get('pps'), 0, 1e-3)} |")
        lines.append("")
    lines.append("## Targets")
    lines.append("")
    for t in results["targets"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"- {t['target']}: **{verdict}** ({t['detail']})")
    lines.append("")
    problems = [(r, p) for r in results["runs"] for p in r["problems"] + [
        f"{t['name']}: {q}" for t in r["tests"] for q in t["problems"]]]
    failed = [r for r in results["runs"] if r["failed"]]
    if results["skips"] or problems or failed:
        lines.append("## Skipped, failed and problems")
        lines.append("")
        for s in results["skips"]:
            lines.append(f"- SKIP {label(s['impl'])}: {s['reason']}")
        for r in failed:
            lines.append(f"- {label(r['impl'])}, {r['peers']} peers: {r['failed']}")
        for r, p in problems:
            lines.append(f"- {label(r['impl'])}, {r['peers']} peers: {p}")
        lines.append("")
    return "\n".join(lines)


# ---- chart ---------------------------------------------------------------------------------------------------


def one(value):
    return {"median": value, "min": value, "max": value, "n": 1} if value else None


def svg_chart(results):
    """Delivered kpps per implementation at the smallest peer count, one panel per direction, and handshakes."""
    width = 820
    counts = peer_counts(results)
    body, top = [], 8
    if counts:
        base, most = counts[0], counts[-1]
        impls = sorted({r["impl"] for r in results["runs"]}, key=impl_key)
        for kind in ("ingress", "egress"):
            sizes = sizes_of(results, kind)[:3]
            panel = {i: {"summary": {f"{kind}-{s}": one((find(results, i, base, f"{kind}-{s}") or {}).get("delivered_pps", 0) / 1e3)
                                     for s in sizes}} for i in impls}
            series = [(f"{s} B", f"{kind}-{s}") for s in sizes]
            elements, height = bench_report.svg_panel(
                f"{kind.capitalize()}, {base} peer{'s' if base != 1 else ''}: delivered on one DUT core", "kpps",
                {label(i): v for i, v in panel.items()}, series, top, width, False)
            body += elements
            top += height + 16
        panel = {label(i): {"summary": {"hs": one((find(results, i, most, "handshakes") or {}).get("delivered_pps", 0))}}
                 for i in impls}
        elements, height = bench_report.svg_panel(f"Handshakes per second, {most} peers", "/s", panel,
                                                  [("answered", "hs")], top, width, False)
        body += elements
        top += height + 16
    meta = results["meta"]
    caption = (f"one DUT core (CPU {meta.get('dut_cpu', '?')}), {meta.get('cpu_model', '?')}, kernel "
               f"{meta.get('kernel', '?')}, {meta.get('date', '?')}, load {meta.get('loadavg_start', '?')}")
    return bench_report.svg_document(body, top, width, caption)


def main(argv):
    if len(argv) != 2:
        print("usage: report.py RESULTS_DIR", file=sys.stderr)
        return 2
    try:
        results = collect(argv[1])
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    with open(os.path.join(argv[1], "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True, default=str)
    text = markdown(results)
    with open(os.path.join(argv[1], "results.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(os.path.join(argv[1], "chart.svg"), "w", encoding="utf-8") as f:
        f.write(svg_chart(results))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

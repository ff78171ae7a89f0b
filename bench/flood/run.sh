#!/usr/bin/env bash
# The handshake-flood benchmark (issue 13): the netns flood test (tests/netns/t_flood.sh, flood_keeps_tunnels_alive)
# with 10 floods and every figure recorded instead of asserted, against wgxdp on each I/O path (release build)
# and wireguard-go as the comparison, one after the other; then one table of all of them and the targets.
#
#   bench/flood/run.sh [--rate PPS] [--floods N] [--out DIR] [--dut wgxdp-socket|wgxdp-xdp|wireguard-go]...
#   cargo xtask bench --flood [same options]
#
# Defaults: 150000 datagrams per second (what this 2-core machine's attacker namespace offers next to the rest),
# 10 floods of 12 s each, all three devices. Needs root. BENCH_WGXDP: the wgxdp binary (default
# target/release/wgxdp, next to which wgxdp-flood must be). Results: results/flood-DATE/ (one summary JSON per
# device, the suite's logs, report.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rate=150000 floods=10 out="" duts=()
while (($#)); do
    case "$1" in
    --rate) rate="$2" && shift 2 ;;
    --floods) floods="$2" && shift 2 ;;
    --out) out="$2" && shift 2 ;;
    --dut) duts+=("$2") && shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" && exit 0 ;;
    *) echo "flood/run.sh: unknown argument $1" >&2 && exit 2 ;;
    esac
done
((${#duts[@]})) || duts=(wgxdp-socket wgxdp-xdp wireguard-go)
out="${out:-$repo/results/flood-$(date +%Y%m%d-%H%M%S)}"
wgxdp="${BENCH_WGXDP:-$repo/target/release/wgxdp}"
[[ -x "$wgxdp" && -x "$(dirname "$wgxdp")/wgxdp-flood" ]] ||
    { echo "flood/run.sh: build first: cargo build --release -p wgxdp -p wgxdp-flood (or cargo xtask bench --flood)" >&2; exit 1; }
mkdir -p "$out"

for dut in "${duts[@]}"; do
    case "$dut" in
    wgxdp-socket) env=(WGT_DUT=wgxdp WGT_IO=socket) ;;
    wgxdp-xdp) env=(WGT_DUT=wgxdp WGT_IO=xdp) ;;
    wireguard-go) env=(WGT_DUT=wireguard-go WGT_IO=socket) ;;
    *) echo "flood/run.sh: unknown device $dut" >&2 && exit 2 ;;
    esac
    echo "flood/run.sh: $dut, $floods floods of $rate/s" >&2
    # A flood run is ~13 s; the setup and the checks after take under a minute.
    env "${env[@]}" WGT_WGXDP="$wgxdp" WGT_FLOOD_ROUNDS="$floods" WGT_FLOOD_RATE="$rate" WGT_FLOOD_MEASURE_ONLY=1 \
        WGT_RETRIES=0 WGT_TEST_TIMEOUT=$((floods * 15 + 90)) "$repo/tests/netns/run.sh" flood_keeps_tunnels_alive \
        >"$out/$dut.suite.log" 2>&1 || echo "flood/run.sh: $dut: the run failed (see $out/$dut.suite.log)" >&2
    run_dir="$(grep -oE 'logs in [^ ]+' "$out/$dut.suite.log" | head -1 | cut -d' ' -f3)"
    # The test's directory carries the I/O path when it is not the socket path (flood_keeps_tunnels_alive@xdp).
    summary="$(compgen -G "$run_dir/flood_keeps_tunnels_alive*/flood-summary.json" | head -1 || true)"
    if [[ -n "$run_dir" && -n "$summary" ]]; then
        cp "$summary" "$out/$dut.json"
    else
        echo "flood/run.sh: $dut: no figures (see $out/$dut.suite.log)" >&2
    fi
done
python3 "$here/report.py" "$out"/*.json | tee "$out/report.md"

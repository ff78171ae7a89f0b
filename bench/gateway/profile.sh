#!/usr/bin/env bash
# Profiles the DUT's core under one load generator test on the gateway bed: `perf record` of everything that runs
# on the DUT's CPU (its threads, its interfaces' NAPI threads, softirq) while wgxdp-loadgen offers the load, then
# the hottest symbols by thread name. What a target of the gateway benchmark misses is explained from this.
#
#   bench/gateway/profile.sh [IMPL [TEST [RATE [OUT_DIR]]]]
#
# IMPL as in run.sh (default wgxdp-xdp); TEST a loadgen test (default ingress:1420); RATE packets per second
# (default 0: flat out). Needs root, perf, and the binaries run.sh uses (BENCH_WGXDP, BENCH_LOADGEN).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
impl="${1:-wgxdp-xdp}"
test_spec="${2:-ingress:1420}"
rate="${3:-0}"
out="${4:-$repo/results/gateway-profile-$impl-$(date +%Y%m%d-%H%M%S)}"
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "profile.sh: needs root" >&2; exit 1; }
mkdir -p "$out" || exit 1
out="$(cd "$out" && pwd)"

DUT_CPU="${BENCH_DUT_CPU:-0}"
GEN_CPU="${BENCH_GEN_CPU:-1}"
TOOLS="${WGT_TOOLS_ROOT:-$repo/target/tools}"
target="${CARGO_TARGET_DIR:-$repo/target}"
BENCH_WGXDP="${BENCH_WGXDP:-$target/release/wgxdp}"
BENCH_LOADGEN="${BENCH_LOADGEN:-$target/release/wgxdp-loadgen}"
# shellcheck source=bench/gateway/lib/topology.sh
source "$here/lib/topology.sh"
# shellcheck source=bench/gateway/lib/dut.sh
source "$here/lib/dut.sh"
trap gw_bed_down EXIT
trap 'exit 130' INT TERM HUP

problem="$(gw_dut_missing "$impl")"
[[ -z "$problem" ]] || { echo "profile.sh: $problem" >&2; exit 1; }
gw_bed_up "$impl" "$out" || { echo "profile.sh: $GW_ERROR" >&2; exit 1; }
ip netns exec "$GW_NS_GEN" taskset -c "$GEN_CPU" timeout -k 5 120 "$BENCH_LOADGEN" run --label "$impl" \
    --gen-dev "$GW_DEV_GEN" --sink-ns "$GW_NS_SINK" --sink-dev "$GW_DEV_SINK" --dut "$GW_DUT_UL_IP:$GW_PORT" \
    --dut-public-key "$GW_DUT_PUB" --uapi "/var/run/wireguard/$GW_IF.sock" --dut-pid "$GW_DUT_PID" \
    --dut-cpu "$DUT_CPU" --tests "$test_spec" --rate "$rate" --duration 8 --pool-mib 2048 \
    --json "$out/report.json" --markdown "$out/report.md" >"$out/loadgen.out" 2>"$out/loadgen.log" &
loadgen=$!
# The recording covers the timed phase and nothing else: it starts when the load starts (an ingress test logs
# "sealed" just before it replays its pool; an egress test starts sending once it is named) and stops when the
# test reports its result. A flat-out ingress test lasts only as long as its pool (about a second for 2 GiB of
# 1420 B frames), so a fixed window after the start would record mostly an idle DUT.
log_has() { grep -q "$1" "$out/loadgen.log" 2>/dev/null; }
deadline=$((SECONDS + 90))
until log_has "sealed\|INFO  test egress" || ! kill -0 "$loadgen" 2>/dev/null || ((SECONDS >= deadline)); do
    sleep 0.05
done
perf record -F 1999 -g -C "$DUT_CPU" -o "$out/perf.data" -- sleep 30 >"$out/perf-record.log" 2>&1 &
perf_pid=$!
deadline=$((SECONDS + 40))
until log_has "offered .*delivered\|test .* failed" || ! kill -0 "$loadgen" 2>/dev/null || ((SECONDS >= deadline)); do
    sleep 0.05
done
kill -TERM "$perf_pid" 2>/dev/null  # perf record stops and writes its data on SIGTERM
wait "$perf_pid"
wait "$loadgen"
echo "== the test (report.md):"
cat "$out/report.md"
echo "== CPU $DUT_CPU by thread:"
perf report -i "$out/perf.data" --stdio --no-children --sort comm -g none 2>/dev/null | grep -E '^ +[0-9]' | head -15
echo "== hottest symbols on CPU $DUT_CPU:"
perf report -i "$out/perf.data" --stdio --no-children --sort comm,sym -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40 |
    tee "$out/top-symbols.txt"
echo "perf data and logs in $out"

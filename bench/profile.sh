#!/usr/bin/env bash
# Profiles one implementation under an iperf3 transfer on the benchmark bed: perf samples of both daemons
# (user and kernel stacks in their context) and, when FlameGraph's scripts are on PATH, a flame graph.
#
#   bench/profile.sh [IMPL [OUT_DIR [IPERF3 ARGS...]]]
#
# IMPL: wgxdp-socket (default), wgxdp-xdp, wireguard-go, wireguard-go-bpo, boringtun, boringtun-t1, gotatun; BENCH_BED=mtu
# profiles on the MTU-wire bed (see lib/bed.sh). IPERF3 ARGS: the transfer,
# TCP 1 stream by default; e.g. `-u -b 0 -l 64` profiles the 64 B UDP flood.
#
# BENCH_PROFILE_SCOPE=machine samples every CPU (perf -a) instead of the two daemons, so iperf3, softirq work
# outside the daemons' context and idle time show too; the report then also gives the share per command.
#
# Prints the hottest symbols, the per-thread CPU of side a, and the transfer's rate. Needs root and perf.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
impl="${1:-wgxdp-socket}"
out="${2:-$repo/results/profile-$impl-$(date +%Y%m%d-%H%M%S)}"
iperf_args=("${@:3}")
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[[ "$impl" != bare ]] || { echo "profile.sh: bare veth has no daemon to profile" >&2; exit 2; }
scope="${BENCH_PROFILE_SCOPE:-daemons}"
case "$scope" in
daemons | machine) ;;
*) echo "profile.sh: BENCH_PROFILE_SCOPE is daemons or machine" >&2; exit 2 ;;
esac
mkdir -p "$out" || exit 1

# shellcheck source=bench/lib/one_bed.sh
source "$here/lib/one_bed.sh"

one_bed_up profile.sh "$impl" "$out"
timeout 40 ip netns exec "$BED_NS_A" iperf3 -c "$BENCH_DST" -t 8 -i 0 -J "${iperf_args[@]}" >"$out/transfer.iperf.json" 2>&1 &
client=$!
# Skips the first 1.5 s (TCP slow start) and samples 5 s of steady state.
sleep 1.5
if [[ "$scope" == machine ]]; then
    targets=(-a) sort=comm,dso,sym
else
    targets=(-p "$BED_PID_A,$BED_PID_B") sort=dso,sym
fi
perf record -F 999 -g -o "$out/perf.data" "${targets[@]}" -- sleep 5 >"$out/perf-record.log" 2>&1
wait "$client"
echo "== threads of side a (CPU ticks):"
for task in /proc/"$BED_PID_A"/task/*; do
    read -r -a fields <<<"$(sed 's/.*) //' "$task/stat")"
    echo "  $(cat "$task/comm"): $((fields[11] + fields[12]))"
done
# The rate through bench/report.py, the one parser of the raw files (as bench/queues.sh does).
rate="$(python3 - "$here" "$out" 2>/dev/null <<'PY'
import sys

sys.path.insert(0, sys.argv[1])
import report  # noqa: E402

gbps = report.transfer_metrics(sys.argv[2], "transfer").get("gbps")
print(f"{gbps:.2f}" if gbps else "")
PY
)"
echo "== iperf3 ${iperf_args[*]:-(TCP 1 stream)}: ${rate:-?} Gbit/s received"
bed_down
if [[ "$scope" == machine ]]; then
    echo "== share of samples per command (all CPUs):"
    perf report -i "$out/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8 |
        tee "$out/commands.txt"
fi
echo "== hottest symbols ($scope):"
perf report -i "$out/perf.data" --no-children --sort "$sort" --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 |
    tee "$out/top-symbols.txt"
if command -v stackcollapse-perf.pl >/dev/null && command -v flamegraph.pl >/dev/null; then
    perf script -i "$out/perf.data" 2>/dev/null | stackcollapse-perf.pl | flamegraph.pl >"$out/flamegraph.svg" &&
        echo "== flame graph: $out/flamegraph.svg"
else
    echo "== no flame graph (FlameGraph's stackcollapse-perf.pl/flamegraph.pl not on PATH); perf data: $out/perf.data"
fi

#!/usr/bin/env bash
# Where the packets of a TCP transfer wait: runs TCP 1 stream through the bench bed with ping alongside (as the
# bench's "ping under TCP load" does) and samples, every 0.5 s on the sending side, the TCP socket's RTT and
# congestion window (`ss -tni`) and the TUN's qdisc backlog (`tc -s qdisc`). A TCP RTT far above the ping's with
# an empty qdisc means the standing queue is the TUN's own ring of the queue the TCP flow hashes to.
#
#   bench/queues.sh [IMPL [OUT_DIR]]
#
# IMPL: as for bench/profile.sh (default wgxdp-xdp); BENCH_BED=mtu for the MTU-wire bed; BENCH_TUN_TXQUEUELEN=N
# sets the TUN's queue length on both sides first (the kernel's default is 500). Prints the transfer's rate, the
# ping's p50/p99 and the samples. Needs root.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
impl="${1:-wgxdp-xdp}"
out="${2:-$repo/results/queues-$impl-$(date +%Y%m%d-%H%M%S)}"
[[ "$impl" != bare ]] || { echo "queues.sh: bare veth has no tunnel to look into" >&2; exit 2; }
mkdir -p "$out" || exit 1

# shellcheck source=bench/lib/one_bed.sh
source "$here/lib/one_bed.sh"

one_bed_up queues.sh "$impl" "$out"
if [[ -n "${BENCH_TUN_TXQUEUELEN:-}" ]]; then
    for side in "$BED_NS_A $BED_TUN_A" "$BED_NS_B $BED_TUN_B"; do
        read -r ns tun <<<"$side"
        ip -n "$ns" link set dev "$tun" txqueuelen "$BENCH_TUN_TXQUEUELEN" ||
            { echo "queues.sh: cannot set txqueuelen $BENCH_TUN_TXQUEUELEN on $tun" >&2; exit 1; }
    done
fi
BENCH_PING_DURING_LOAD=ping-load measure_iperf "$out" tcp1 6 &
transfer=$!
: >"$out/samples.txt"
for _ in $(seq 11); do
    sleep 0.5
    {
        printf '%s qdisc backlog:' "$(date +%T.%N | cut -c1-12)"
        tc -n "$BED_NS_A" -s qdisc show dev "$BED_TUN_A" | awk '/backlog/ {printf " %s %s", $2, $3}'
        printf ' | tcp:'
        # One bracket per socket (iperf3's control connection and its data connection).
        ip netns exec "$BED_NS_A" ss -tniH dst "$BENCH_DST" dport = :5201 | awk '/cwnd:/ {
            s = ""
            for (i = 1; i <= NF; i++) if ($i ~ /^(rtt|cwnd|unacked|notsent):/) s = s " " $i
            printf " [%s ]", s
        } END { print "" }'

    } >>"$out/samples.txt"
done
wait "$transfer"
python3 - "$here" "$out" <<'PY'
import os
import sys

sys.path.insert(0, sys.argv[1])
import report  # noqa: E402  (bench/report.py: the one parser of the raw files)

out = sys.argv[2]
rate = report.transfer_metrics(out, "tcp1").get("gbps")
rtts = report.load_ping(os.path.join(out, "ping-load.ping"))
line = f"TCP 1 stream: {rate:.2f} Gbit/s" if rate else "TCP 1 stream: no result"
if rtts:
    line += f"; ping during it: p50 {report.percentile(rtts, 50):.3f} ms, p99 {report.percentile(rtts, 99):.3f} ms"
print(line)
PY
cat "$out/samples.txt"

#!/usr/bin/env bash
# Benchmark of wgxdp against wireguard-go and boringtun on a two-namespace veth bed, with bare veth as the
# ceiling. Entry point of `cargo xtask bench`. Needs root (namespaces, TUN).
#
#   bench/run.sh [--quick] [--repeat N] [--impl LIST] [--bed LIST] [--out DIR] [--no-install] [--no-build]
#
# Beds (--bed, default both): gso, veth as created (64 KiB GSO/GRO super-packets cross it untouched), and mtu, the
# "MTU wire" (GSO, TSO, GRO and UDP segmentation off on both veth ends, so every implementation puts MTU-sized
# frames on the wire as a NIC would). Each implementation runs on each bed; a run is named IMPL@BED.
#
# Implementations are interleaved run by run (A B C A B C ...) so that slow drifts of the shared machine (other
# builds, thermal state) spread over all of them instead of penalising whichever ran last. Every run gets a fresh
# bed. Raw measurements land under OUT/raw/IMPL/rN/; bench/report.py turns them into OUT/results.json,
# OUT/results.md and OUT/chart.svg (medians with min-max over the repeats).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ALL_IMPLS="bare,wgxdp-xdp,wgxdp-socket,wireguard-go,wireguard-go-bpo,boringtun,boringtun-t1,gotatun"
ALL_BEDS="gso,mtu"
# Variants for tuning, not in the default set, each the AF_XDP path with other settings, to weigh them against the
# defaults in one interleaved run: wgxdp-xdp-spin spins and busy polls (--spin-us 50 --busy-poll-us 20, the
# settings for a worker with a core to itself); wgxdp-xdp-spin-N spins N microseconds without busy polling
# (--spin-us N); wgxdp-xdp-generic attaches the XDP program in generic (skb) mode.
EXTRA_IMPLS="wgxdp-xdp-spin,wgxdp-xdp-generic"

usage() {
    cat <<USAGE
usage: bench/run.sh [--quick] [--repeat N] [--impl LIST] [--bed LIST] [--out DIR] [--no-install] [--no-build]
  --quick       a few minutes: 1 repeat, short transfers, fewer UDP rates
  --repeat N    runs per implementation and bed (default 3; 1 with --quick)
  --impl LIST   comma-separated subset of: $ALL_IMPLS (default: all), or the variants $EXTRA_IMPLS,
                wgxdp-xdp-spin-N (N: microseconds)
  --bed LIST    comma-separated subset of: $ALL_BEDS (default: both)
  --out DIR     results folder (default: results/<timestamp> in the repository)
  --no-install  do not try to install missing peers (they are skipped)
  --no-build    use the existing wgxdp binary (BENCH_WGXDP, else target/release/wgxdp)
USAGE
}

quick=0 repeat="" impls="$ALL_IMPLS" beds="$ALL_BEDS" out="" install=1 build=1
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --repeat)
        repeat="${2:-}"
        shift
        [[ "$repeat" =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --repeat needs a number from 1 to 99" >&2; exit 2; }
        ;;
    --impl)
        impls="${2:-}"
        shift
        ;;
    --bed)
        beds="${2:-}"
        shift
        ;;
    --out)
        out="${2:-}"
        shift
        [[ -n "$out" ]] || { echo "run.sh: --out needs a directory" >&2; exit 2; }
        ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

IFS=, read -r -a impl_list <<<"$impls"
for impl in "${impl_list[@]}"; do
    if [[ ",$ALL_IMPLS,$EXTRA_IMPLS," != *",$impl,"* && ! "$impl" =~ ^wgxdp-xdp-spin-[0-9]+$ ]]; then
        echo "run.sh: unknown implementation '$impl' (known: $ALL_IMPLS,$EXTRA_IMPLS,wgxdp-xdp-spin-N)" >&2
        exit 2
    fi
done
((${#impl_list[@]})) || { echo "run.sh: --impl is empty" >&2; exit 2; }
IFS=, read -r -a bed_list <<<"$beds"
for bed in "${bed_list[@]}"; do
    [[ ",$ALL_BEDS," == *",$bed,"* ]] || { echo "run.sh: unknown bed '$bed' (known: $ALL_BEDS)" >&2; exit 2; }
done
((${#bed_list[@]})) || { echo "run.sh: --bed is empty" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run.sh: needs root (network namespaces, TUN devices)" >&2; exit 1; }

# Durations in whole seconds: iperf3 -t takes integers only (a fraction is read as 0, which means "forever").
if ((quick)); then
    repeat="${repeat:-1}" T_TCP=2 T_UDP=1 T_SWEEP=1 T_IDLE=1 PING_COUNT=50
    SWEEP_1400=(100M 1G) SWEEP_64=(50M)
else
    repeat="${repeat:-3}" T_TCP=5 T_UDP=3 T_SWEEP=2 T_IDLE=3 PING_COUNT=200
    # 1400 B: a light load (100M: what CPU does a lightly loaded gateway pay), 1G, and above what userspace
    # tunnels carry here. 64 B: iperf3's -b counts payload bits, so 20M/50M/100M are about 39k/98k/195k packets
    # per second.
    SWEEP_1400=(100M 1G 2G) SWEEP_64=(20M 50M 100M)
fi

out="${out:-$repo/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out/raw" || exit 1
out="$(cd "$out" && pwd)"
: >"$out/skips.txt"

# shellcheck source=bench/lib/bed.sh
source "$here/lib/bed.sh"
# shellcheck source=bench/lib/measure.sh
source "$here/lib/measure.sh"
trap bed_down EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM HUP

say() { echo "bench: $*" >&2; }
skip_impl() {
    echo "SKIP $1: $2" >&2
    printf '%s\t%s\n' "$1" "$2" >>"$out/skips.txt"
}

if ((install)); then
    "$here/install.sh" || say "install.sh failed; missing peers will be skipped"
fi

BENCH_WGXDP="${BENCH_WGXDP:-${CARGO_TARGET_DIR:-$repo/target}/release/wgxdp}"
wgxdp_problem=""
if ((build)) && [[ "$impls" == *wgxdp* ]]; then
    say "cargo build --release -p wgxdp"
    (cd "$repo" && cargo build --release -q -p wgxdp) || wgxdp_problem="cargo build --release -p wgxdp failed"
fi
[[ -z "$wgxdp_problem" && ! -x "$BENCH_WGXDP" ]] && wgxdp_problem="no wgxdp binary at $BENCH_WGXDP"
tools="${BENCH_TOOLS_ROOT:-$repo/target/tools}"
BENCH_GOTATUN="${BENCH_GOTATUN:-$tools/bin/gotatun}"
BENCH_WGGO_BPO="${BENCH_WGGO_BPO:-$tools/wireguard-go-bpo/usr/bin/wireguard-go}"
BENCH_BORINGTUN="${BENCH_BORINGTUN:-}"
if [[ -z "$BENCH_BORINGTUN" ]]; then
    if [[ -x "$repo/target/tools/bin/boringtun-cli" ]]; then
        BENCH_BORINGTUN="$repo/target/tools/bin/boringtun-cli"
    else
        BENCH_BORINGTUN="$(command -v boringtun-cli || true)"
    fi
fi

# Decides once, before any run, which implementations can take part; the rest get one SKIP line each.
active=()
for impl in "${impl_list[@]}"; do
    case "$impl" in
    wgxdp-*) [[ -n "$wgxdp_problem" ]] && { skip_impl "$impl" "$wgxdp_problem"; continue; } ;;
    wireguard-go) command -v wireguard-go >/dev/null || { skip_impl "$impl" "wireguard-go not installed"; continue; } ;;
    wireguard-go-bpo)
        [[ -x "$BENCH_WGGO_BPO" ]] || { skip_impl "$impl" "no backports wireguard-go at $BENCH_WGGO_BPO (bench/install.sh)"; continue; }
        ;;
    gotatun) [[ -x "$BENCH_GOTATUN" ]] || { skip_impl "$impl" "gotatun not installed (bench/install.sh)"; continue; } ;;
    boringtun*)
        [[ -x "$BENCH_BORINGTUN" ]] || { skip_impl "$impl" "boringtun-cli not installed (bench/install.sh)"; continue; }
        ;;
    esac
    if [[ "$impl" != bare ]] && ! command -v wg >/dev/null; then
        skip_impl "$impl" "wg (wireguard-tools) not installed"
        continue
    fi
    active+=("$impl")
done
command -v iperf3 >/dev/null || { say "iperf3 is not installed: nothing can be measured"; exit 1; }

version_of() {
    case "$1" in
    bare) uname -r ;;
    wgxdp-*) "$BENCH_WGXDP" --version 2>/dev/null | head -n 1 ;;
    wireguard-go) wireguard-go --version 2>/dev/null | head -n 1 ;;
    wireguard-go-bpo)
        echo "Debian package $(cat "$(dirname "$BENCH_WGGO_BPO")/../../VERSION" 2>/dev/null || echo '?') ($("$BENCH_WGGO_BPO" --version 2>/dev/null | head -n 1))"
        ;;
    gotatun) "$BENCH_GOTATUN" --version 2>/dev/null | head -n 1 ;;
    boringtun*) "$BENCH_BORINGTUN" --version 2>/dev/null | head -n 1 ;;
    esac
}

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "kernel=$(uname -r)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git_commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "iperf3=$(iperf3 --version | head -n 1)"
    echo "quick=$quick"
    echo "repeat=$repeat"
    echo "impls=$impls"
    echo "beds=$beds"
    echo "tunnel_mtu=$BED_TUN_MTU"
    echo "durations=tcp ${T_TCP}s, udp flood ${T_UDP}s, udp sweep ${T_SWEEP}s per rate, idle ${T_IDLE}s," \
        "ping ${PING_COUNT} x 10 ms"
    echo "sweep_1400=${SWEEP_1400[*]}"
    echo "sweep_64=${SWEEP_64[*]}"
    for impl in "${active[@]}"; do echo "version.$impl=$(version_of "$impl")"; done
    # HEAD may be newer than the binary when --no-build is used: the binary's own date says what was measured.
    [[ -x "$BENCH_WGXDP" ]] && echo "wgxdp_binary=$BENCH_WGXDP, built $(date -u -r "$BENCH_WGXDP" +%Y-%m-%dT%H:%M:%SZ)"
} >"$out/meta.txt"

# run_one IMPL@BED REPEAT: one fresh bed, every measurement, teardown. Returns 2 when the implementation cannot
# start at all (it is then skipped for the remaining repeats), 1 when the run broke midway.
run_one() {
    local unit="$1" rep="$2" dir="$out/raw/$1/r$2"
    local impl="${unit%@*}" bed="${unit#*@}"
    mkdir -p "$dir"
    if ! bed_up "$impl" "$dir" "$bed"; then
        bed_down
        echo "$BED_ERROR" >"$dir/failed"
        return 2
    fi
    if ! iperf_server_up "$dir"; then
        bed_down
        echo "iperf3 server did not start" >"$dir/failed"
        return 1
    fi
    measure_cpu_window "$dir" idle "$T_IDLE"
    measure_ping "$dir" ping-idle "$PING_COUNT"
    BENCH_PING_DURING_LOAD=ping-load measure_iperf "$dir" tcp1 "$T_TCP"
    measure_iperf "$dir" tcp4 "$T_TCP" -P 4
    measure_iperf "$dir" udp1400 "$T_UDP" -u -b 0 -l 1400
    measure_iperf "$dir" udp64 "$T_UDP" -u -b 0 -l 64
    local rate
    for rate in "${SWEEP_1400[@]}"; do measure_iperf "$dir" "udp1400-at-$rate" "$T_SWEEP" -u -b "$rate" -l 1400; done
    for rate in "${SWEEP_64[@]}"; do measure_iperf "$dir" "udp64-at-$rate" "$T_SWEEP" -u -b "$rate" -l 64; done
    local alive=1
    bed_daemons_alive || alive=0
    bed_down
    if ((!alive)); then
        echo "a daemon died during the run (see daemon-*.log)" >"$dir/failed"
        return 1
    fi
    echo ok >"$dir/ok"
}

# Every implementation on every bed, interleaved as one list of units.
units=()
for bed in "${bed_list[@]}"; do
    for impl in "${active[@]}"; do units+=("$impl@$bed"); done
done
active=("${units[@]}")
started=$SECONDS
say "results in $out; ${#active[@]} run(s) (implementation@bed) x $repeat repeat(s): ${active[*]}"
for ((rep = 1; rep <= repeat; rep++)); do
    next=()
    for impl in "${active[@]}"; do
        say "run $rep/$repeat: $impl"
        run_one "$impl" "$rep"
        case $? in
        0) next+=("$impl") ;;
        1) say "run $rep of $impl broke: $(cat "$out/raw/$impl/r$rep/failed")"; next+=("$impl") ;;
        2) skip_impl "$impl" "$(cat "$out/raw/$impl/r$rep/failed")"; rm -rf "${out:?}/raw/$impl" ;;
        esac
    done
    active=("${next[@]}")
    ((${#active[@]})) || break
done
{
    echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "elapsed_s=$((SECONDS - started))"
} >>"$out/meta.txt"

say "done in $((SECONDS - started)) s; writing the report"
python3 "$here/report.py" "$out" || exit 1

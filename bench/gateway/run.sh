#!/usr/bin/env bash
# The gateway benchmark: one DUT core under wgxdp-loadgen. Entry point of `cargo xtask bench --gateway`. Needs root.
#
#   bench/gateway/run.sh [--quick] [--impl LIST] [--peers LIST] [--sizes LIST] [--duration S] [--out DIR]
#                        [--no-install] [--no-build] [--no-ceiling]
#
# For every implementation and peer count, a fresh bed of three namespaces (generator - DUT - sink, see
# lib/topology.sh): the DUT pinned to one CPU (taskset for the process and all its threads, and the NAPI threads of
# its two interfaces), the load generator and the sinks on the other. One load generator run per bed configures
# the DUT's peers over UAPI, brings up the sessions (timed), then runs ingress and egress at every size flat out
# and the handshake test. Beside them, the AEAD-only ceiling of the same core (criterion bench aead_ceiling,
# pinned to the DUT's CPU). Raw reports land under OUT/raw/IMPL/pN/; bench/gateway/report.py turns them into
# OUT/results.json, OUT/results.md and OUT/chart.svg.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ALL_IMPLS="wgxdp-xdp,wgxdp-socket,wireguard-go,wireguard-go-bpo,boringtun,gotatun"

usage() {
    cat <<USAGE
usage: bench/gateway/run.sh [--quick] [--impl LIST] [--peers LIST] [--sizes LIST] [--duration S] [--out DIR]
                            [--no-install] [--no-build] [--no-ceiling]
  --quick       a few minutes: sizes 64,1420, peers 1,1000, a shorter capacity search
  --impl LIST   comma-separated subset of: $ALL_IMPLS
  --peers LIST  peer counts (default 1,100,10000)
  --sizes LIST  inner packet sizes in bytes (default 64,512,1420)
  --duration S  seconds of the run at the capacity found (default 2; 0.5 with --quick)
  --out DIR     results folder (default: results/gateway-<timestamp> in the repository)
  --no-install  do not run tests/netns/install-peers.sh --bench (missing peers are skipped)
  --no-build    use the existing binaries (BENCH_WGXDP, BENCH_LOADGEN, else target/release/)
  --no-ceiling  skip the AEAD-only ceiling
Environment: BENCH_DUT_CPU (default 0), BENCH_GEN_CPU (default 1), WGT_TOOLS_ROOT (peers' install root),
BENCH_POOL_MIB (ingress pool per test, default 1024).
USAGE
}

quick=0 impls="$ALL_IMPLS" peers_list="" sizes_list="" duration="" out="" install=1 build=1 ceiling=1
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --impl) impls="${2:-}"; shift ;;
    --peers) peers_list="${2:-}"; shift ;;
    --sizes) sizes_list="${2:-}"; shift ;;
    --duration) duration="${2:-}"; shift ;;
    --out) out="${2:-}"; shift; [[ -n "$out" ]] || { echo "run.sh: --out needs a directory" >&2; exit 2; } ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    --no-ceiling) ceiling=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gateway/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
# Each data test searches the DUT's capacity: a flood, then bisection for the highest rate carried with at most
# 1 % loss (trials of TRIAL s, at most STEPS; a rate fails when two trials at it do), then DURATION s at that rate (see crates/loadgen/src/rate_search.rs).
if ((quick)); then
    peers_list="${peers_list:-1,1000}" sizes_list="${sizes_list:-64,1420}" duration="${duration:-0.5}"
    TRIAL=0.25 STEPS=3
else
    peers_list="${peers_list:-1,100,10000}" sizes_list="${sizes_list:-64,512,1420}" duration="${duration:-2}"
    TRIAL=0.4 STEPS=6
fi
IFS=, read -r -a impl_list <<<"$impls"
IFS=, read -r -a peer_counts <<<"$peers_list"
IFS=, read -r -a sizes <<<"$sizes_list"
for impl in "${impl_list[@]}"; do
    [[ ",$ALL_IMPLS," == *",$impl,"* ]] || { echo "gateway/run.sh: unknown implementation '$impl' (known: $ALL_IMPLS)" >&2; exit 2; }
done
for n in "${peer_counts[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] && ((n <= 100000)) || { echo "gateway/run.sh: peer count '$n': 1 to 100000" >&2; exit 2; }
done
for s in "${sizes[@]}"; do
    [[ "$s" =~ ^[0-9]+$ ]] && ((s >= 60 && s <= 1420)) || { echo "gateway/run.sh: size '$s': 60 to 1420" >&2; exit 2; }
done
[[ "$duration" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "gateway/run.sh: --duration needs seconds" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "gateway/run.sh: needs root (network namespaces, XDP)" >&2; exit 1; }
(($(nproc) >= 2)) || { echo "gateway/run.sh: needs two CPUs (one for the DUT, one for the generator)" >&2; exit 1; }

DUT_CPU="${BENCH_DUT_CPU:-0}"
GEN_CPU="${BENCH_GEN_CPU:-1}"
POOL_MIB="${BENCH_POOL_MIB:-1024}"
TOOLS="${WGT_TOOLS_ROOT:-$repo/target/tools}"
target="${CARGO_TARGET_DIR:-$repo/target}"
BENCH_WGXDP="${BENCH_WGXDP:-$target/release/wgxdp}"
BENCH_LOADGEN="${BENCH_LOADGEN:-$target/release/wgxdp-loadgen}"

out="${out:-$repo/results/gateway-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out/raw" || exit 1
out="$(cd "$out" && pwd)"
: >"$out/skips.txt"
say() { echo "gateway: $*" >&2; }
skip_impl() {
    echo "SKIP $1: $2" >&2
    printf '%s\t%s\n' "$1" "$2" >>"$out/skips.txt"
}

# shellcheck source=bench/gateway/lib/topology.sh
source "$here/lib/topology.sh"
# shellcheck source=bench/gateway/lib/dut.sh
source "$here/lib/dut.sh"
trap gw_bed_down EXIT
trap 'echo "gateway/run.sh: interrupted" >&2; exit 130' INT TERM HUP

if ((install)); then
    WGT_TOOLS_ROOT="$TOOLS" "$repo/tests/netns/install-peers.sh" --bench || say "install-peers.sh failed; missing peers will be skipped"
fi
if ((build)); then
    say "cargo build --release -p wgxdp -p wgxdp-loadgen"
    (cd "$repo" && cargo build --release -q -p wgxdp -p wgxdp-loadgen) || { say "build failed"; exit 1; }
fi
[[ -x "$BENCH_LOADGEN" ]] || { say "no wgxdp-loadgen at $BENCH_LOADGEN"; exit 1; }

active=()
for impl in "${impl_list[@]}"; do
    problem="$(gw_dut_missing "$impl")"
    if [[ -n "$problem" ]]; then skip_impl "$impl" "$problem"; else active+=("$impl"); fi
done

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "kernel=$(uname -r)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git_commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "quick=$quick"
    echo "duration_s=$duration"
    echo "search=flood, then at most $STEPS trials of ${TRIAL} s, loss threshold 1 %"
    echo "peers=$peers_list"
    echo "sizes=$sizes_list"
    echo "dut_cpu=$DUT_CPU"
    echo "gen_cpu=$GEN_CPU"
    echo "pool_mib=$POOL_MIB"
    echo "loadgen=$("$BENCH_LOADGEN" --version 2>/dev/null)"
    for impl in "${active[@]}"; do echo "version.$impl=$(gw_dut_version "$impl")"; done
} >"$out/meta.txt"

if ((ceiling)); then
    say "AEAD-only ceiling on CPU $DUT_CPU (criterion bench aead_ceiling)"
    mkdir -p "$out/raw/aead"
    times=(--warm-up-time 1 --measurement-time 2)
    ((quick)) && times=(--warm-up-time 0.5 --measurement-time 1)
    (cd "$repo" && cargo bench -q -p wgxdp-loadgen --bench aead_ceiling --no-run >/dev/null 2>&1) ||
        say "cannot build the aead_ceiling bench"
    if (cd "$repo" && taskset -c "$DUT_CPU" cargo bench -q -p wgxdp-loadgen --bench aead_ceiling -- "${times[@]}" \
        --noplot >"$out/raw/aead/criterion.txt" 2>&1); then
        for op in seal open; do
            for s in "${sizes[@]}" 64 512 1420; do
                est="$target/criterion/aead_$op/$s/new/estimates.json"
                [[ -f "$est" ]] && cp "$est" "$out/raw/aead/$op-$s.json"
            done
        done
    else
        say "the aead_ceiling bench failed (see raw/aead/criterion.txt)"
    fi
fi

tests=""
for s in "${sizes[@]}"; do tests+="ingress:$s,"; done
for s in "${sizes[@]}"; do tests+="egress:$s,"; done
tests+="handshakes"
started=$SECONDS
say "results in $out; ${#active[@]} implementation(s) x ${#peer_counts[@]} peer count(s): ${active[*]}"
for impl in "${active[@]}"; do
    for n in "${peer_counts[@]}"; do
        dir="$out/raw/$impl/p$n"
        mkdir -p "$dir"
        say "$impl, $n peers"
        if ! gw_bed_up "$impl" "$dir"; then
            echo "$GW_ERROR" >"$dir/failed"
            say "$impl: $GW_ERROR"
            gw_bed_down
            continue
        fi
        # Generous bound: bring-up, sealing and every test; the load generator has deadlines of its own.
        limit=$((400 + n / 100 + (${#sizes[@]} * 2 + 1) * (${duration%.*} + 30)))
        ip netns exec "$GW_NS_GEN" taskset -c "$GEN_CPU" timeout -k 5 "$limit" "$BENCH_LOADGEN" run \
            --label "$impl" --gen-dev "$GW_DEV_GEN" --sink-ns "$GW_NS_SINK" --sink-dev "$GW_DEV_SINK" \
            --dut "$GW_DUT_UL_IP:$GW_PORT" --dut-public-key "$GW_DUT_PUB" --uapi "/var/run/wireguard/$GW_IF.sock" \
            --dut-pid "$GW_DUT_PID" --dut-cpu "$DUT_CPU" --peers "$n" --tests "$tests" --duration "$duration" \
            --search --trial "$TRIAL" --search-steps "$STEPS" --loss-threshold 0.01 --uapi-timeout 300 \
            --pool-mib "$POOL_MIB" --json "$dir/report.json" --markdown "$dir/report.md" --svg "$dir/chart.svg" \
            >"$dir/loadgen.out" 2>"$dir/loadgen.log"
        rc=$?
        gw_napi_threads >"$dir/napi-threads.txt"
        ((rc == 0)) || { echo "wgxdp-loadgen exited with $rc: $(tail -n 1 "$dir/loadgen.log")" >"$dir/failed"; say "$impl: loadgen exit $rc"; }
        gw_dut_alive || echo "the DUT died during the run (see dut.log)" >>"$dir/failed"
        gw_bed_down
    done
done
{
    echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "elapsed_s=$((SECONDS - started))"
} >>"$out/meta.txt"
say "done in $((SECONDS - started)) s; writing the report"
python3 "$here/report.py" "$out" || exit 1

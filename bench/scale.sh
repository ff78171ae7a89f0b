#!/usr/bin/env bash
# Gateway-scale benchmark, end to end with the real `wg` tool against a running release wgxdp (socket path), and
# `wg setconf` times of Debian's wireguard-go beside it. Needs root (a network namespace, TUN). One command:
#
#   bench/scale.sh [--peers "50000 100000"] [--go-peers "50000"] [--no-build] [--out DIR]
#
# Measured for wgxdp (in namespace wgt-TAG-scale, interface wtTAGs, nothing else on it):
#   - `wg setconf` of each --peers size (replace_peers: the previous set is removed), checked with `wg show dump`;
#   - at the largest size: one-peer `wg set IF peer K allowed-ips A endpoint E` (new peer, then an existing one's
#     change; median of 21 each, process start of `wg` included), `wg show IF dump` (median of 5),
#     `wgxdp explain IF PEER` and `wgxdp explain IF ADDRESS` (median of 5), RSS per peer (VmRSS from /proc, the
#     loaded device minus the empty one, over the peer count: after all these steps, and on a fresh daemon after
#     one `wg setconf`), idle CPU over 10 s (utime+stime of all threads);
#   - `wg show IF dump` while a `wg setconf` of the largest size runs (how long `get` waits behind an apply).
# wireguard-go gets the same `wg setconf` (and RSS) for each --go-peers size (it refuses more than 65 536 peers).
#
# Peers: one /32 in 100.64.0.0/10 and an endpoint in 198.19.0.0/16 each, real X25519 keys from
# `peer_config` (crates/device/examples), generated before timing. Output: a markdown table on stdout and
# OUT/scale.json (OUT defaults to target/scale-<timestamp>). Runs under flock /tmp/wgxdp-bench.lock.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

if [[ "${WGXDP_SCALE_LOCKED:-}" != 1 ]]; then
    export WGXDP_SCALE_LOCKED=1
    exec flock /tmp/wgxdp-bench.lock "$0" "$@"
fi

peers="50000 100000" go_peers="50000" build=1 out=""
while (($#)); do
    case "$1" in
    --peers) peers="${2:?--peers needs a list}"; shift ;;
    --go-peers) go_peers="${2-}"; shift ;;
    --no-build) build=0 ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for n in $peers $go_peers; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: bad peer count '$n'" >&2; exit 2; }
done
((EUID == 0)) || { echo "scale.sh: needs root (network namespace, TUN)" >&2; exit 1; }
command -v wg >/dev/null || { echo "scale.sh: wg (wireguard-tools) is not installed" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$repo/target}"
if ((build)); then
    (cd "$repo" && cargo build --release -q -p wgxdp && cargo build --release -q -p wgxdp-device --example peer_config)
fi
export WGT_WGXDP="${WGT_WGXDP:-$target/release/wgxdp}"
gen="$target/release/examples/peer_config"
[[ -x "$WGT_WGXDP" && -x "$gen" ]] || { echo "scale.sh: missing $WGT_WGXDP or $gen (drop --no-build)" >&2; exit 1; }
out="${out:-$target/scale-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
export WGT_LOGDIR="$out/logs"
# shellcheck source=../tests/netns/lib.sh
source "$repo/tests/netns/lib.sh"
lib_init

now() { echo "$EPOCHREALTIME"; }
# The timed `wg` commands talk to the daemon's UAPI socket (/var/run/wireguard is shared by all namespaces), so they
# run without `ip netns exec` and its own cost; nothing of the default namespace is read or changed.
# elapsed START: seconds since START (from `now`), to the microsecond.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pid_in() { ip netns pids "$1" | head -n 1; }

results=()
record() { # record NAME VALUE UNIT TARGET
    results+=("$1|$2|$3|$4")
    log "$1: $2 $3 (target: $4)"
}

largest=0
for n in $peers; do ((n > largest)) && largest=$n; done
for n in $go_peers; do ((n > largest)) && largest=$n; done

log "generating $largest real key pairs"
t0="$(now)"
"$gen" "$largest" 16 >"$out/peers.conf"
log "generated in $(elapsed "$t0") s"
# conf N FILE: the interface section and the first N peers.
conf() {
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n' "$(wg genkey)"
        awk -v n="$1" '/^\[Peer\]/ { c++ } c > n { exit } { print }' "$out/peers.conf"
    } >"$2"
}

ns_new ns scale
ifname dif s

# ---- wgxdp ----
empty="$out/empty.conf"
conf 0 "$empty"
start_impl wgxdp "$ns" "$dif" "$empty"
pid="$(pid_in "$ns")"
sleep 1
rss0="$(rss_kib "$pid")"
# timed_setconf IF N NAME: writes OUT/NAME-N.conf with N peers, times `wg setconf` of it on IF, checks that
# `wg show IF dump` then lists N peers, and sets t to the seconds it took.
timed_setconf() {
    local conf_file="$out/$3-$2.conf" t0 listed
    conf "$2" "$conf_file"
    t0="$(now)"
    wg setconf "$1" "$conf_file"
    t="$(elapsed "$t0")"
    listed=$(($(wg show "$1" dump | wc -l) - 1))
    ((listed == $2)) || fail "$3: wg show $1 dump lists $listed peers after setconf of $2"
}

for n in $peers; do
    timed_setconf "$dif" "$n" wgxdp
    case $n in 50000) goal="<= 2 s" ;; 100000) goal="<= 5 s" ;; *) goal="-" ;; esac
    record "wgxdp wg setconf $n peers" "$t" s "$goal"
done
n_last=0
for n in $peers; do ((n > n_last)) && n_last=$n; done
# The measurements below run on the largest device.
if [[ "$(wg show "$dif" dump | wc -l)" -ne $((n_last + 1)) ]]; then
    wg setconf "$dif" "$out/wgxdp-$n_last.conf"
fi

# One-peer changes on the largest device.
times=()
for i in $(seq 1 21); do
    key="$(wg genkey | wg pubkey)"
    t0="$(now)"
    wg set "$dif" peer "$key" allowed-ips "100.127.0.$i/32" endpoint "198.18.200.$i:51820"
    times+=("$(elapsed "$t0")")
done
record "wgxdp one-peer wg set (new peer) at $n_last" \
    "$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')" ms "<= 5 ms"
existing="$(awk '/^PublicKey/ { print $3; exit }' "$out/wgxdp-$n_last.conf")"
times=()
for i in $(seq 1 21); do
    t0="$(now)"
    wg set "$dif" peer "$existing" allowed-ips "100.126.0.$i/32" endpoint "198.18.201.$i:51820"
    times+=("$(elapsed "$t0")")
done
record "wgxdp one-peer wg set (existing peer) at $n_last" \
    "$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')" ms "<= 5 ms"
# Baseline: a `set` that changes nothing (fwmark 0 stays 0), the same round trip and `wg` process start.
times=()
for _ in $(seq 1 21); do
    t0="$(now)"
    wg set "$dif" fwmark 0
    times+=("$(elapsed "$t0")")
done
record "(baseline) wg set IF fwmark 0, a set that changes nothing, at $n_last" \
    "$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')" ms "-"

times=()
for _ in 1 2 3 4 5; do
    t0="$(now)"
    wg show "$dif" dump >"$out/dump.txt"
    times+=("$(elapsed "$t0")")
done
listed=$(($(wc -l <"$out/dump.txt") - 1))
record "wgxdp wg show dump of $listed peers" "$(printf '%s\n' "${times[@]}" | median)" s "<= 1 s"

middle="$(awk -v n="$((n_last / 2))" '/^PublicKey/ { c++; if (c == n) { print $3; exit } }' "$out/wgxdp-$n_last.conf")"
for what in peer address; do
    arg="$middle"
    [[ "$what" == address ]] && arg="$(awk -v n="$((n_last / 2))" '/^AllowedIPs/ { c++; if (c == n) { sub(/\/.*/, "", $3); print $3; exit } }' "$out/wgxdp-$n_last.conf")"
    times=()
    for _ in 1 2 3 4 5; do
        t0="$(now)"
        "$WGT_WGXDP" explain "$dif" "$arg" >"$out/explain-$what.txt"
        times+=("$(elapsed "$t0")")
    done
    grep -q . "$out/explain-$what.txt" || fail "wgxdp explain $dif $arg printed nothing"
    record "wgxdp explain IF ${what^^} at $n_last" \
        "$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')" ms "<= 50 ms"
done

sleep 2
rss="$(rss_kib "$pid")"
record "wgxdp RSS per peer at $n_last after all the steps above (VmRSS $rss KiB, empty $rss0 KiB)" \
    "$(awk -v a="$rss" -v b="$rss0" -v n="$n_last" 'BEGIN { printf "%.2f", (a - b) / n }')" KiB "<= 2 KiB"

hz="$(getconf CLK_TCK)"
c0="$(cpu_ticks "$pid")"
sleep 10
c1="$(cpu_ticks "$pid")"
record "wgxdp idle CPU with $n_last peers over 10 s" \
    "$(awk -v d="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.2f", d * 100 / hz / 10 }')" "% of a core" "<= 0.5 %"

# `get` while a large apply runs: start the setconf, then time dumps until it is done.
wg setconf "$dif" "$out/wgxdp-$n_last.conf" &
setconf_pid=$!
sleep 0.2
worst=0
samples=0
while kill -0 "$setconf_pid" 2>/dev/null; do
    t0="$(now)"
    wg show "$dif" dump >/dev/null
    t="$(elapsed "$t0")"
    samples=$((samples + 1))
    worst="$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')"
done
wait "$setconf_pid" || fail "wg setconf during the get test failed"
record "wgxdp slowest wg show dump during a setconf of $n_last ($samples samples)" "$worst" s "bounded"

kill -TERM "$pid"
wait_for 10 "wgxdp to stop" bash -c "! kill -0 $pid"

# RSS as a new user sees it: a fresh daemon, one `wg setconf` of the largest size.
ifname rif r
start_impl wgxdp "$ns" "$rif" "$empty"
pid="$(pid_in "$ns")"
sleep 1
rss0="$(rss_kib "$pid")"
wg setconf "$rif" "$out/wgxdp-$n_last.conf"
sleep 2
rss="$(rss_kib "$pid")"
record "wgxdp RSS per peer, fresh daemon after one setconf of $n_last (VmRSS $rss KiB, empty $rss0 KiB)" \
    "$(awk -v a="$rss" -v b="$rss0" -v n="$n_last" 'BEGIN { printf "%.2f", (a - b) / n }')" KiB "<= 2 KiB"
kill -TERM "$pid"
wait_for 10 "wgxdp to stop" bash -c "! kill -0 $pid"

# ---- wireguard-go ----
if [[ -n "$go_peers" ]] && command -v wireguard-go >/dev/null; then
    ifname gif g
    start_impl wireguard-go "$ns" "$gif" "$empty"
    gpid="$(pid_in "$ns")"
    sleep 1
    grss0="$(rss_kib "$gpid")"
    for n in $go_peers; do
        timed_setconf "$gif" "$n" go
        record "wireguard-go wg setconf $n peers" "$t" s "-"
    done
    sleep 2
    grss="$(rss_kib "$gpid")"
    record "wireguard-go RSS per peer at $n (VmRSS $grss KiB)" \
        "$(awk -v a="$grss" -v b="$grss0" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }')" KiB "-"
else
    log "wireguard-go not measured (no --go-peers or not installed)"
fi

record "load average (1 min) at the end, 2 CPUs shared with other work" "$(cut -d' ' -f1 /proc/loadavg)" "" "-"
{
    echo "| measurement | value | unit | target |"
    echo "|---|---|---|---|"
    for r in "${results[@]}"; do
        IFS='|' read -r name value unit goal <<<"$r"
        echo "| $name | $value | $unit | $goal |"
    done
} | tee "$out/scale.md"
python3 - "$out/scale.json" "${results[@]}" <<'PY'
import json, sys
rows = [dict(zip(("measurement", "value", "unit", "target"), r.split("|"))) for r in sys.argv[2:]]
json.dump(rows, open(sys.argv[1], "w"), indent=1)
PY
log "results: $out/scale.md, $out/scale.json"

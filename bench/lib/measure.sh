# shellcheck shell=bash
# Measurements on a bed that bench/lib/bed.sh has brought up: iperf3 transfers with the daemons' CPU accounted
# around them, ping RTT samples, idle CPU. Every function only records raw output under the run directory;
# bench/report.py turns it into figures, so a results folder can always be re-rendered or re-checked by hand.
#
# Files per test NAME in the run directory:
#   NAME.iperf.json  iperf3 -J output of the client (side a); for UDP its end.sum_received is the server's count
#   NAME.cpu         "TICKS_A_BEFORE TICKS_B_BEFORE TICKS_A_AFTER TICKS_B_AFTER WALL_SECONDS CLK_TCK MACHINE_BEFORE
#                    MACHINE_AFTER" (the last two: busy ticks of the whole machine, all CPUs, from /proc/stat)
#   NAME.ping        ping output (one "time=X ms" line per reply)

BENCH_CLK_TCK="$(getconf CLK_TCK)"

# measure_cpu_window DIR NAME SECONDS: the daemons' CPU over SECONDS of no traffic (idle cost of a tunnel that is up).
measure_cpu_window() {
    local dir="$1" name="$2" seconds="$3" before after t0
    local m0 m1
    t0="$EPOCHREALTIME"
    before="$(bed_cpu_ticks)"
    m0="$(machine_busy_ticks)"
    sleep "$seconds"
    after="$(bed_cpu_ticks)"
    m1="$(machine_busy_ticks)"
    echo "$before $after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}') $BENCH_CLK_TCK $m0 $m1" \
        >"$dir/$name.cpu"
}

# measure_ping DIR NAME COUNT: COUNT echo requests 10 ms apart from side a to the far end.
measure_ping() {
    local dir="$1" name="$2" count="$3"
    timeout $((count / 50 + 10)) ip netns exec "$BED_NS_A" ping -n -i 0.01 -c "$count" -W 1 "$BENCH_DST" \
        >"$dir/$name.ping" 2>&1 || true
}

# iperf_server_up: one iperf3 server on side b for the whole run (it serves tests one after another).
iperf_server_up() { # DIR: where its log goes
    local dir="$1"
    ip netns exec "$BED_NS_B" iperf3 -s -B "$BENCH_DST" >"$dir/iperf3-server.log" 2>&1 &
    local deadline=$((SECONDS + 5))
    until ip netns exec "$BED_NS_B" ss -Htln "sport = :5201" | grep -q .; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

# measure_iperf DIR NAME SECONDS [IPERF ARGS...]: one iperf3 client run from side a with CPU accounted around it.
# With BENCH_PING_DURING_LOAD=NAME2 set, ping samples are taken into NAME2.ping while the transfer runs.
measure_iperf() {
    local dir="$1" name="$2" seconds="$3"
    shift 3
    local before after t0 m0 m1 pinger=""
    t0="$EPOCHREALTIME"
    before="$(bed_cpu_ticks)"
    m0="$(machine_busy_ticks)"
    if [[ -n "${BENCH_PING_DURING_LOAD:-}" ]]; then
        # Starts after the transfer's first half second (ramp-up) and stops before its end.
        (
            sleep 0.5
            exec ip netns exec "$BED_NS_A" ping -n -i 0.01 -w "$((seconds > 1 ? seconds - 1 : 1))" -W 1 "$BENCH_DST"
        ) >"$dir/$BENCH_PING_DURING_LOAD.ping" 2>&1 &
        pinger=$!
    fi
    # -i 0: no interval reports, the JSON stays small; the hard timeout bounds a wedged tunnel.
    timeout $((seconds + 20)) ip netns exec "$BED_NS_A" iperf3 -c "$BENCH_DST" -t "$seconds" -i 0 -J "$@" \
        >"$dir/$name.iperf.json" 2>"$dir/$name.iperf.err" || true
    after="$(bed_cpu_ticks)"
    m1="$(machine_busy_ticks)"
    echo "$before $after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}') $BENCH_CLK_TCK $m0 $m1" \
        >"$dir/$name.cpu"
    [[ -n "$pinger" ]] && wait "$pinger" 2>/dev/null
    # A UDP flood can leave the server busy draining for a moment; the next test must not find it refusing.
    sleep 0.2
}

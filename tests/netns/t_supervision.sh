# shellcheck shell=bash
# io: socket xdp
# No half-alive daemon: a thread that panics ends the process (abort, after logging which thread and why); a
# thread that stops making progress is found by the watchdog, which stops the daemon with that reason and a
# failure status. Each thread kind is made to panic and to wedge in turn (WGXDP_TEST_FAULT, a hook of debug
# builds), and the daemon must exit non-zero within a bound, its log naming the thread.

SUPERVISION_WATCHDOG_SECS=2
# Bound on the exit: watchdog limit + its one-second check + the stop itself.
SUPERVISION_EXIT_LIMIT=15

# fault_case NS UNDERLAY THREAD MODE: starts wgxdp with the fault, waits for it to exit, checks status and log.
fault_case() {
    local ns="$1" underlay="$2" thread="$3" mode="$4" tif
    ifname tif f
    local logfile="$WGT_LOGDIR/wgxdp-$thread-$mode.log" extra=()
    [[ "$WGT_IO_MODE" == xdp ]] && extra=(--io xdp --link "$underlay")
    log "WGXDP_TEST_FAULT=$thread:$mode wgxdp up $tif ${extra[*]} --watchdog-secs $SUPERVISION_WATCHDOG_SECS"
    ip netns exec "$ns" env WGXDP_TEST_FAULT="$thread:$mode" "$WGT_WGXDP" up "$tif" "${extra[@]}" \
        --watchdog-secs "$SUPERVISION_WATCHDOG_SECS" >"$logfile" 2>&1 &
    local pid=$! waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < SUPERVISION_EXIT_LIMIT * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        fail "$thread $mode: wgxdp still running after ${SUPERVISION_EXIT_LIMIT}s; its log ends with:
$(tail -n 5 "$logfile")"
    fi
    local status=0
    wait "$pid" || status=$?
    ((status != 0)) || fail "$thread $mode: wgxdp exited with status 0; its log ends with:
$(tail -n 5 "$logfile")"
    local expected
    case "$mode" in
    panic) expected="thread $thread panicked" ;;
    wedge) expected="thread $thread made no progress .* wedged" ;;
    esac
    grep -Eq "$expected" "$logfile" || fail "$thread $mode: no line matching '$expected' in its log:
$(tail -n 8 "$logfile")"
    log "$thread $mode: exit status $status after $((waited / 10)).$((waited % 10))s; log: $(grep -Eo "$expected" "$logfile" | head -n 1)"
}

test_threads_that_die_or_wedge_stop_the_daemon() {
    dut_is_wgxdp || skip "a wgxdp test (WGT_DUT=$WGT_DUT)"
    [[ "$WGT_WGXDP" == */debug/* ]] || skip "WGXDP_TEST_FAULT is a hook of debug builds ($WGT_WGXDP)"
    local dns pns
    ns_new dns d
    ns_new pns p
    link_ns "$dns" "$pns" 1
    local threads=(wgxdp-worker-0 wgxdp-hs-rx wgxdp-hs-0 wgxdp-timers wgxdp-uapi wgxdp-control)
    # On the AF_XDP path the workers differ (their threads are named wgxdp-xdp-N), and the link's addresses are
    # followed by a thread of their own.
    [[ "$WGT_IO_MODE" == xdp ]] && threads=(wgxdp-xdp-0 wgxdp-addresses)
    local thread mode
    for thread in "${threads[@]}"; do
        for mode in panic wedge; do
            fault_case "$dns" ul1 "$thread" "$mode"
        done
    done
}

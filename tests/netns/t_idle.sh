# shellcheck shell=bash
# io: xdp
# Adaptive polling: with the spin on (--spin-us 50; it is off by default, when the workers sleep at once) the
# AF_XDP workers spin while packets flow (their busy_rounds grow) and still sleep when the link is quiet, so an
# idle wgxdp costs almost no CPU (its sleeps grow, its CPU time nearly stops).

# Most CPU an idle wgxdp may use, in percent of one CPU.
IDLE_MAX_CPU_PERCENT=5
IDLE_SECONDS=3

# cpu_ticks PID: user + system clock ticks of the process so far, every thread included (/proc/PID/stat
# fields 14 and 15, counted after the parenthesised command name, which may contain spaces).
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")" || fail "cannot read /proc/$1/stat"
    stat="${stat##*) }"
    awk '{print $12 + $13}' <<<"$stat"
}

test_idle_cpu() {
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" 100.64.0.2/32 198.18.1.2:51821
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" 100.64.0.1/32
    WGT_DUT_ARGS="$WGT_DUT_ARGS --spin-us 50"
    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    assert_ping "$dns" 100.64.0.2

    local pid
    pid="$(ip netns pids "$dns")"
    [[ "$pid" =~ ^[0-9]+$ ]] || fail "expected one wgxdp process in $dns, saw: $pid"

    log "under load: flood ping"
    local stats0 stats1 busy0 busy1
    stats0="$(wgxdp_stats_json "$dns" "$dif")"
    in_ns "$dns" ping -n -q -f -c 500 -w 20 100.64.0.2 >/dev/null 2>&1 || fail "flood ping 100.64.0.2 failed"
    stats1="$(wgxdp_stats_json "$dns" "$dif")"
    busy0="$(jq -e '.totals.busy_rounds' <<<"$stats0")" || fail "no totals.busy_rounds in: $stats0"
    busy1="$(jq -e '.totals.busy_rounds' <<<"$stats1")" || fail "no totals.busy_rounds in: $stats1"
    assert_gt "busy_rounds growth during 500 flood pings" $((busy1 - busy0)) 0

    # A quiet second first: the workers may spin a while after the last packet before they sleep.
    sleep 1
    local ticks0 ticks1 hz sleeps0 sleeps1
    hz="$(getconf CLK_TCK)"
    stats0="$(wgxdp_stats_json "$dns" "$dif")"
    ticks0="$(cpu_ticks "$pid")"
    sleep "$IDLE_SECONDS"
    ticks1="$(cpu_ticks "$pid")"
    stats1="$(wgxdp_stats_json "$dns" "$dif")"
    sleeps0="$(jq -e '.totals.sleeps' <<<"$stats0")" || fail "no totals.sleeps in: $stats0"
    sleeps1="$(jq -e '.totals.sleeps' <<<"$stats1")" || fail "no totals.sleeps in: $stats1"
    local percent=$(((ticks1 - ticks0) * 100 / (hz * IDLE_SECONDS)))
    log "idle ${IDLE_SECONDS}s: wgxdp used $((ticks1 - ticks0)) ticks of ${hz}/s (${percent}% of a CPU); sleeps +$((sleeps1 - sleeps0))"
    ((percent <= IDLE_MAX_CPU_PERCENT)) ||
        fail "idle wgxdp used ${percent}% of a CPU over ${IDLE_SECONDS}s: expected <= ${IDLE_MAX_CPU_PERCENT}% (workers should sleep when idle)"
    assert_gt "sleeps growth while idle" $((sleeps1 - sleeps0)) 0
}

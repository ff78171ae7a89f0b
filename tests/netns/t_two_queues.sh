# shellcheck shell=bash
# io: xdp
# Multi-queue: the link has 2 RX queues, wgxdp runs 2 workers (one AF_XDP socket per queue), and traffic lands
# on both queues, so both workers receive.
# On veth a packet arrives on the RX queue numbered as the sender's TX queue, and the sender's TX queue follows
# XPS (the CPU that sends). So the peer namespace P gets XPS tx-0 -> CPU 0 and tx-1 -> CPU 1, and two
# wireguard-go peers, each pinned to one of those CPUs: peer 1's datagrams reach D's queue 0, peer 2's queue 1.

TWO_QUEUES_PINGS=200

test_two_queues() {
    local dns pns dif p1if p2if dpriv dpub p1priv p1pub p2priv p2pub
    ns_new dns d
    ns_new pns p
    ifname dif d
    ifname p1if p1
    ifname p2if p2
    WGT_XDP_QUEUES=2 link_ns "$dns" "$pns" 1
    local q
    for q in 0 1; do
        # xps_cpus is a CPU bitmask: queue q is used by CPU q only.
        echo $((1 << q)) | in_ns "$pns" tee "/sys/class/net/ul1/queues/tx-$q/xps_cpus" >/dev/null ||
            fail "cannot set XPS for tx-$q of ul1 in $pns"
    done
    log "XPS of ul1 in $pns: tx-0 $(in_ns "$pns" cat /sys/class/net/ul1/queues/tx-0/xps_cpus)," \
        "tx-1 $(in_ns "$pns" cat /sys/class/net/ul1/queues/tx-1/xps_cpus)"

    keys dpriv dpub
    keys p1priv p1pub
    keys p2priv p2pub
    local dconf="$WGT_LOGDIR/d.conf" p1conf="$WGT_LOGDIR/p1.conf" p2conf="$WGT_LOGDIR/p2.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$p1pub" 100.64.0.2/32
    add_conf_peer "$dconf" "$p2pub" 100.64.0.3/32
    write_conf "$p1conf" "$p1priv" 51821
    add_conf_peer "$p1conf" "$dpub" 100.64.0.0/10 198.18.1.1:51820
    write_conf "$p2conf" "$p2priv" 51822
    add_conf_peer "$p2conf" "$dpub" 100.64.0.0/10 198.18.1.1:51820

    WGT_DUT_ARGS="$WGT_DUT_ARGS --workers 2 --cpus 0,1" start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    WGT_PIN_CPU=0 start_impl wireguard-go "$pns" "$p1if" "$p1conf"
    WGT_PIN_CPU=1 start_impl wireguard-go "$pns" "$p2if" "$p2conf"
    # D answers on two addresses; in P each tunnel routes only its own one, so a ping picks the peer (and so
    # the CPU, the TX queue and D's RX queue).
    ip -n "$dns" addr add 100.64.0.1/10 dev "$dif"
    ip -n "$dns" addr add 100.64.1.1/32 dev "$dif"
    ip -n "$pns" addr add 100.64.0.2/32 peer 100.64.0.1/32 dev "$p1if"
    ip -n "$pns" addr add 100.64.0.3/32 peer 100.64.1.1/32 dev "$p2if"

    local stats workers mode
    stats="$(wgxdp_stats_json "$dns" "$dif")"
    workers="$(jq '.workers | length' <<<"$stats")"
    assert_eq "workers in \`wgxdp stats $dif --json\` (--workers 2)" "$workers" 2
    # Generic XDP on veth sees every packet on RX queue 0 (veth only keeps the sender's TX queue as the RX queue
    # on its native-XDP path; seen here: worker 1 received nothing), so queue 1 gets traffic in native mode only.
    # Asked for generic: nothing to test here; fallen back to generic unasked: that is the failure.
    mode="$(jq -r '.xdp.mode // "none"' <<<"$stats")"
    if [[ "$mode" != native ]]; then
        [[ " $WGT_DUT_ARGS " == *" --xdp-mode generic "* ]] &&
            skip "generic XDP (asked for in WGT_XDP_ARGS): veth delivers every packet to RX queue 0"
        fail "wgxdp attached in mode '$mode' without being asked to: expected native XDP on veth"
    fi
    local rx0_0 rx0_1
    rx0_0="$(xdp_worker_counter "$stats" rx 0)"
    rx0_1="$(xdp_worker_counter "$stats" rx 1)"

    assert_ping "$pns" 100.64.0.1
    assert_ping "$pns" 100.64.1.1
    local out
    for dst in 100.64.0.1 100.64.1.1; do
        out="$(in_ns "$pns" ping -n -q -f -c "$TWO_QUEUES_PINGS" -w 20 "$dst" 2>&1)" ||
            fail "flood ping $dst from $pns: expected $TWO_QUEUES_PINGS replies, saw: $(grep -E 'transmitted' <<<"$out")"
        log "flood ping $dst from $pns: $(grep -E 'transmitted' <<<"$out")"
    done

    stats="$(wgxdp_stats_json "$dns" "$dif")"
    local rx1_0 rx1_1
    rx1_0="$(xdp_worker_counter "$stats" rx 0)"
    rx1_1="$(xdp_worker_counter "$stats" rx 1)"
    local rx_0=$((rx1_0 - rx0_0)) rx_1=$((rx1_1 - rx0_1))
    log "AF_XDP rx frames during the pings: worker 0 +$rx_0, worker 1 +$rx_1"
    log "workers: $(jq -c '.workers' <<<"$stats")"
    # Each peer's pings (>= 205 data packets) land on one queue; a handful either way is not "carrying traffic".
    assert_gt "AF_XDP rx frames of worker 0 (queue 0: peer 1 on CPU 0)" "$rx_0" 100
    assert_gt "AF_XDP rx frames of worker 1 (queue 1: peer 2 on CPU 1)" "$rx_1" 100
}

# shellcheck shell=bash
# io: socket xdp
# Live reconfiguration with `wg set` on the running device under test, no restart (the daemon's pid is the same at
# the end): add a second peer C (traffic to it works), change C's allowed-ips (the old prefix stops routing, the
# new one works), remove C (its traffic stops) while peer B keeps working throughout.
# Topology: D has two underlays, ul1 to B and ul2 to C. With WGT_DUT=wgxdp (and no extra args) D is started in
# the wireguard-go drop-in form (`wgxdp IFNAME`, then `wg setconf`), as wg-quick would.

test_reconfig() {
    local dns bns cns dif bif cif dpriv dpub bpriv bpub cpriv cpub
    ns_new dns d
    ns_new bns b
    ns_new cns c
    ifname dif d
    ifname bif b
    ifname cif c
    link_ns "$dns" "$bns" 1
    link_ns "$dns" "$cns" 2
    keys dpriv dpub
    keys bpriv bpub
    keys cpriv cpub

    local dconf="$WGT_LOGDIR/d.conf" bconf="$WGT_LOGDIR/b.conf" cconf="$WGT_LOGDIR/c.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$bpub" 100.64.0.2/32 "198.18.1.2:51821"
    write_conf "$bconf" "$bpriv" 51821
    add_conf_peer "$bconf" "$dpub" 100.64.0.0/10
    write_conf "$cconf" "$cpriv" 51822
    add_conf_peer "$cconf" "$dpub" 100.64.0.0/10

    local kind="$WGT_DUT"
    [[ "$kind" == wgxdp && -z "$WGT_DUT_ARGS" ]] && kind=wgxdp-dropin
    start_impl "$kind" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$bns" "$bif" "$bconf"
    start_impl wireguard-go "$cns" "$cif" "$cconf"
    ip -n "$dns" addr add 100.64.0.1/10 dev "$dif"
    ip -n "$bns" addr add 100.64.0.2/10 dev "$bif"
    ip -n "$cns" addr add 100.64.0.3/10 dev "$cif"
    ip -n "$cns" addr add 100.64.3.3/32 dev "$cif"
    local pids_before
    pids_before="$(ip netns pids "$dns" | sort | tr '\n' ' ')"

    assert_ping "$dns" 100.64.0.2
    assert_no_ping "$dns" 100.64.0.3

    log "wg set: add peer C with 100.64.0.3/32"
    in_ns "$dns" wg set "$dif" peer "$cpub" allowed-ips 100.64.0.3/32 endpoint 198.18.2.2:51822 ||
        fail "wg set $dif peer C failed"
    assert_ping "$dns" 100.64.0.3
    assert_eq "C's endpoint" "$(peer_field "$dns" "$dif" "$cpub" endpoint)" 198.18.2.2:51822

    log "wg set: C's allowed-ips 100.64.0.3/32 -> 100.64.3.0/24"
    in_ns "$dns" wg set "$dif" peer "$cpub" allowed-ips 100.64.3.0/24 || fail "wg set $dif allowed-ips failed"
    assert_eq "C's allowed-ips" "$(peer_field "$dns" "$dif" "$cpub" allowed)" 100.64.3.0/24
    assert_ping "$dns" 100.64.3.3
    assert_no_ping "$dns" 100.64.0.3

    log "wg set: remove C"
    in_ns "$dns" wg set "$dif" peer "$cpub" remove || fail "wg set $dif peer C remove failed"
    local peers
    peers="$(in_ns "$dns" wg show "$dif" peers)"
    grep -qF "$cpub" <<<"$peers" && fail "wg show $dif peers after removing C: expected no C, saw: $peers"
    assert_no_ping "$dns" 100.64.3.3
    assert_ping "$dns" 100.64.0.2

    assert_eq "daemon pids in $dns (no restart)" "$(ip netns pids "$dns" | sort | tr '\n' ' ')" "$pids_before"
    # In xdp mode the link is ul1 (B's side); C's traffic over ul2 takes the kernel socket.
    assert_xdp_carried "$dns" "$dif"
}

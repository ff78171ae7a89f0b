# shellcheck shell=bash
# io: xdp
# The steering program takes only what is ours (issue 13, item 2), with wgxdp as gateway D on the AF_XDP path
# (--link ul1):
#   steering_new_address: an address added to ul1 after start is in the program's map within a second and its
#     tunnel traffic is redirected; once removed it is not steered any more;
#   steering_not_local: WireGuard traffic on the same UDP port for a host behind D (R, routed through D from P) is
#     passed to the kernel (the not-local counter grows) and reaches R: a tunnel P <-> R works through the gateway;
#   steering_allow_source: with --xdp-allow-source 198.18.1.2/32, peer P (inside) is steered and peer Q (outside,
#     routed through P) still works, through the kernel socket path (source-not-allowed grows, so do D's kernel UDP
#     counters).

# xdp_local_addresses JSON: the addresses the program steers to, one per line.
xdp_local_addresses() {
    jq -e -r '.xdp.local_addresses[]' <<<"$1" ||
        fail "cannot read xdp.local_addresses from: $1"
}

# udp_in NS: the kernel's UDP datagrams received in NS (IPv4 + IPv6), with a history file of our own.
udp_in() {
    in_ns "$1" env NSTAT_HISTORY="$WGT_LOGDIR/nstat.history" nstat -asz UdpInDatagrams Udp6InDatagrams |
        awk '$1 ~ /^Udp6?InDatagrams$/ {n += $2} END {print n + 0}'
}

# pings NS DST COUNT: COUNT quick pings; prints how many were answered.
pings() {
    local out
    out="$(in_ns "$1" ping -n -q -c "$3" -i 0.01 -W 1 "$2" 2>&1)" || true
    sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out"
}

# wait_local NS IFNAME ADDRESS yes|no: waits at most 1 s until ADDRESS is (yes) or is not (no) in the program's map;
# prints how long it took in ms.
wait_local() {
    local ns="$1" dif="$2" address="$3" want="$4" start now
    start="$(date +%s%N)"
    while :; do
        local present=no
        xdp_local_addresses "$(wgxdp_stats_json "$ns" "$dif")" | grep -qxF "$address" && present=yes
        now="$(date +%s%N)"
        [[ "$present" == "$want" ]] && break
        (((now - start) / 1000000 < 1000)) ||
            fail "$address in the steering program's map: expected '$want' within 1 s of the address change"
        sleep 0.05
    done
    echo $(((now - start) / 1000000))
}

# gateway_and_peer DNS PNS DIF PIF DPUB PPUB: wgxdp on D (ul1 to P), a wireguard-go peer on P, tunnel up.
gateway_and_peer() {
    local -n g_dns="$1" g_pns="$2" g_dif="$3" g_pif="$4" g_dpub="$5" g_ppub="$6"
    local dpriv ppriv
    ns_new g_dns d
    ns_new g_pns p
    ifname g_dif d
    ifname g_pif p
    link_ns "$g_dns" "$g_pns" 1
    keys dpriv g_dpub
    keys ppriv g_ppub
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$g_ppub" "100.64.0.2/32"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$g_dpub" "100.64.0.1/32" "198.18.1.1:51820"
    start_impl wgxdp "$g_dns" "$g_dif" "$dconf"
    start_impl wireguard-go "$g_pns" "$g_pif" "$pconf"
    tun_addrs "$g_dns" "$g_dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$g_pns" "$g_pif" 100.64.0.2/24 fd00:64::2/64
    assert_ping "$g_pns" 100.64.0.1
}

test_steering_new_address() {
    dut_is_wgxdp || skip "wgxdp's steering program only"
    local dns pns dif pif dpub ppub
    gateway_and_peer dns pns dif pif dpub ppub
    local stats
    stats="$(wgxdp_stats_json "$dns" "$dif")"
    xdp_local_addresses "$stats" | grep -qxF 198.18.1.1 || fail "198.18.1.1 not in the map at start: $stats"

    log "a second subnet on ul1 after start: D 198.18.9.1, P 198.18.9.2; P's endpoint for D moves there"
    ip -n "$dns" addr add 198.18.9.1/24 dev ul1
    ip -n "$pns" addr add 198.18.9.2/24 dev ul1
    local took
    took="$(wait_local "$dns" "$dif" 198.18.9.1 yes)"
    log "198.18.9.1 was in the steering program's map ${took} ms after it was added"
    in_ns "$pns" wg set "$pif" peer "$dpub" endpoint 198.18.9.1:51820
    wait_ping 5 "$pns" 100.64.0.1
    wait_for 5 "D to learn P's endpoint 198.18.9.2" \
        eval '[[ "$(peer_field "$dns" "$dif" "$ppub" endpoint)" == "198.18.9.2:51821" ]]'

    local s0 s1 answered
    s0="$(wgxdp_stats_json "$dns" "$dif")"
    answered="$(pings "$pns" 100.64.0.1 200)"
    s1="$(wgxdp_stats_json "$dns" "$dif")"
    local redirected=$(($(xdp_program_counter "$s1" redirected) - $(xdp_program_counter "$s0" redirected)))
    local not_local=$(($(xdp_program_counter "$s1" not-local) - $(xdp_program_counter "$s0" not-local)))
    log "to 198.18.9.1: $answered of 200 pings answered; redirected +$redirected, not-local +$not_local"
    assert_gt "pings answered through the new address" "$answered" 179
    assert_gt "transport data to the new address redirected (one per ping)" "$redirected" $((answered - 1))
    assert_eq "not-local growth while the address is on the link" "$not_local" 0

    log "the address leaves the link: no longer steered"
    ip -n "$dns" addr del 198.18.9.1/24 dev ul1
    took="$(wait_local "$dns" "$dif" 198.18.9.1 no)"
    log "198.18.9.1 left the map ${took} ms after it was removed"
    s0="$(wgxdp_stats_json "$dns" "$dif")"
    answered="$(pings "$pns" 100.64.0.1 20)"
    s1="$(wgxdp_stats_json "$dns" "$dif")"
    redirected=$(($(xdp_program_counter "$s1" redirected) - $(xdp_program_counter "$s0" redirected)))
    not_local=$(($(xdp_program_counter "$s1" not-local) - $(xdp_program_counter "$s0" not-local)))
    log "to the removed 198.18.9.1: $answered of 20 answered; redirected +$redirected, not-local +$not_local"
    assert_eq "pings answered through a removed address" "${answered:-0}" 0
    assert_eq "transport data to a removed address redirected" "$redirected" 0
    assert_gt "transport data to the removed address counted not-local" "$not_local" 9
}

test_steering_not_local() {
    dut_is_wgxdp || skip "wgxdp's steering program only"
    local dns pns rns dif pif rif dpriv dpub ppriv ppub rpriv rpub
    ns_new dns d
    ns_new pns p
    ns_new rns r
    ifname dif d
    ifname pif p
    ifname rif r
    link_ns "$dns" "$pns" 1
    link_ns "$dns" "$rns" 2
    # D routes between P (ul1, the XDP link) and R (ul2): P's WireGuard traffic to R crosses D's ul1 on port 51820.
    in_ns "$dns" sysctl -q -w net.ipv4.ip_forward=1
    ip -n "$pns" route add 198.18.2.0/24 via 198.18.1.1
    ip -n "$rns" route add 198.18.1.0/24 via 198.18.2.1
    keys dpriv dpub
    keys ppriv ppub
    keys rpriv rpub
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf" rconf="$WGT_LOGDIR/r.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32" "198.18.1.1:51820"
    add_conf_peer "$pconf" "$rpub" "100.64.2.1/32" "198.18.2.2:51820"
    write_conf "$rconf" "$rpriv" 51820
    add_conf_peer "$rconf" "$ppub" "100.64.0.2/32"
    start_impl wgxdp "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    start_impl wireguard-go "$rns" "$rif" "$rconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    tun_addrs "$rns" "$rif" 100.64.2.1/24 fd00:64:2::1/64
    ip -n "$pns" route add 100.64.2.0/24 dev "$pif"
    ip -n "$rns" route add 100.64.0.0/24 dev "$rif"

    assert_ping "$pns" 100.64.0.1
    local s0 s1
    s0="$(wgxdp_stats_json "$dns" "$dif")"
    log "P's tunnel to R, through gateway D on the same UDP port"
    assert_ping "$pns" 100.64.2.1
    local answered
    answered="$(pings "$pns" 100.64.2.1 100)"
    s1="$(wgxdp_stats_json "$dns" "$dif")"
    local not_local=$(($(xdp_program_counter "$s1" not-local) - $(xdp_program_counter "$s0" not-local)))
    log "P -> R through D: $answered of 100 quick pings answered; D's program: not-local +$not_local"
    assert_gt "pings P -> R answered through the gateway" "$answered" 89
    # Each request from P is one transport message crossing ul1 for R (the handshake initiation is not-transport).
    assert_gt "P's transport data for R counted not-local by D's program" "$not_local" $((answered + 4))
    local r_rx
    r_rx="$(peer_field "$rns" "$rif" "$ppub" rx)"
    assert_gt "bytes R received from P" "${r_rx:-0}" $((answered * 100))
    # D's own tunnel is still steered.
    s0="$(wgxdp_stats_json "$dns" "$dif")"
    answered="$(pings "$pns" 100.64.0.1 50)"
    s1="$(wgxdp_stats_json "$dns" "$dif")"
    local redirected=$(($(xdp_program_counter "$s1" redirected) - $(xdp_program_counter "$s0" redirected)))
    assert_gt "D's own transport data redirected" "$redirected" $((answered - 1))
}

test_steering_allow_source() {
    dut_is_wgxdp || skip "wgxdp's steering program only"
    local dns pns qns dif pif qif dpriv dpub ppriv ppub qpriv qpub
    ns_new dns d
    ns_new pns p
    ns_new qns q
    ifname dif d
    ifname pif p
    ifname qif q
    link_ns "$dns" "$pns" 1
    link_ns "$pns" "$qns" 3
    # Q is outside the allow-list and reaches D over the same link, routed through P.
    in_ns "$pns" sysctl -q -w net.ipv4.ip_forward=1
    ip -n "$qns" route add default via 198.18.3.1
    ip -n "$dns" route add 198.18.3.0/24 via 198.18.1.2
    keys dpriv dpub
    keys ppriv ppub
    keys qpriv qpub
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf" qconf="$WGT_LOGDIR/q.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32"
    add_conf_peer "$dconf" "$qpub" "100.64.0.3/32"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32" "198.18.1.1:51820"
    write_conf "$qconf" "$qpriv" 51822
    add_conf_peer "$qconf" "$dpub" "100.64.0.1/32" "198.18.1.1:51820"
    local WGT_DUT_ARGS="$WGT_DUT_ARGS --xdp-allow-source 198.18.1.2/32 --xdp-allow-source fd00:198:18:1::2/128"
    start_impl wgxdp "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    start_impl wireguard-go "$qns" "$qif" "$qconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    tun_addrs "$qns" "$qif" 100.64.0.3/24 fd00:64::3/64
    local stats
    stats="$(wgxdp_stats_json "$dns" "$dif")"
    assert_eq "the allow-list in wgxdp stats" "$(jq -c '.xdp.allowed_sources' <<<"$stats")" \
        '["198.18.1.2/32","fd00:198:18:1::2/128"]'

    assert_ping "$pns" 100.64.0.1
    assert_ping "$qns" 100.64.0.1
    local s0 s1 u0 u1 from_p from_q
    s0="$(wgxdp_stats_json "$dns" "$dif")"
    u0="$(udp_in "$dns")"
    from_p="$(pings "$pns" 100.64.0.1 100)"
    from_q="$(pings "$qns" 100.64.0.1 100)"
    u1="$(udp_in "$dns")"
    s1="$(wgxdp_stats_json "$dns" "$dif")"
    local redirected=$(($(xdp_program_counter "$s1" redirected) - $(xdp_program_counter "$s0" redirected)))
    local refused=$(($(xdp_program_counter "$s1" source-not-allowed) - $(xdp_program_counter "$s0" source-not-allowed)))
    log "P (allowed): $from_p/100 answered, Q (not allowed): $from_q/100 answered; redirected +$redirected," \
        "source-not-allowed +$refused, D's kernel UDP in +$((u1 - u0))"
    assert_gt "P's pings answered" "$from_p" 89
    assert_gt "Q's pings answered (through the kernel socket path)" "$from_q" 89
    assert_gt "P's transport data redirected" "$redirected" $((from_p - 1))
    assert_gt "Q's transport data passed as source-not-allowed" "$refused" $((from_q - 1))
    assert_gt "D's kernel UDP datagrams (Q's transport data)" $((u1 - u0)) $((from_q - 1))
    ((redirected < from_p + 10)) || fail "redirected grew by $redirected for $from_p steered pings: Q's were steered too?"
}

# shellcheck shell=bash
# io: socket xdp
# The seed's case. The gateway D (device under test) has peer P with AllowedIPs 100.64.0.0/16 and peer C with
# 100.64.9.0/24 (C never connects: only its key matters). P (wireguard-go) routes all of 100.64.0.0/10 to D.
# A packet from P with source 100.64.1.1 is P's by longest match: it arrives (D answers the ping). A packet from P
# with source 100.64.9.9 belongs to C's prefix: D must drop it after decrypting it, count it as an ACL drop, and
# `wgxdp explain` must say why (C's 100.64.9.0/24 wins).

test_acl_seed() {
    local dns pns dif pif dpriv dpub ppriv ppub cpriv cpub
    two_hosts
    keys cpriv cpub

    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" 100.64.0.0/16
    add_conf_peer "$dconf" "$cpub" 100.64.9.0/24
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" 100.64.0.0/10 "198.18.1.1:51820"

    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    # D's own tunnel address lies outside both peers' prefixes; the /10 routes the whole range into the tunnel.
    ip -n "$dns" addr add 100.127.0.1/10 dev "$dif"
    ip -n "$pns" addr add 100.64.1.1/10 dev "$pif"
    ip -n "$pns" addr add 100.64.9.9/32 dev "$pif"

    assert_ping "$pns" 100.127.0.1 -I 100.64.1.1

    local stats0="" rx0 rx1
    dut_is_wgxdp && stats0="$(wgxdp_stats_json "$dns" "$dif")"
    rx0="$(peer_field "$dns" "$dif" "$ppub" rx)"
    assert_no_ping "$pns" 100.127.0.1 -I 100.64.9.9
    # The packets did reach D and were authenticated as P's (so the drop is the ACL's, not the network's).
    rx1="$(peer_field "$dns" "$dif" "$ppub" rx)"
    assert_gt "rx bytes from P on $dif while pinging from 100.64.9.9" "$rx1" "$rx0"
    # And P's legitimate address still works afterwards.
    assert_ping "$pns" 100.127.0.1 -I 100.64.1.1

    if ! dut_is_wgxdp; then
        log "device under test is $WGT_DUT: wgxdp stats/explain checks not applicable"
        return 0
    fi
    local stats1 acl0 acl1
    stats1="$(wgxdp_stats_json "$dns" "$dif")"
    acl0="$(drop_count "$stats0" acl)"
    acl1="$(drop_count "$stats1" acl)"
    log "acl drops: $acl0 -> $acl1"
    # 3 echo requests from 100.64.9.9 (P's ping may also retry nothing: ICMP has no retransmission).
    assert_gt "ACL drop counter growth in \`wgxdp stats $dif --json\`" $((acl1 - acl0)) 2

    local explain
    explain="$(in_ns "$dns" "$WGT_WGXDP" explain "$dif" 100.64.9.9 2>&1)" ||
        fail "wgxdp explain $dif 100.64.9.9 failed: $explain"
    log "wgxdp explain $dif 100.64.9.9:"$'\n'"$explain"
    assert_contains "wgxdp explain $dif 100.64.9.9" "$explain" 100.64.9.0/24
    assert_contains "wgxdp explain $dif 100.64.9.9" "$explain" "$cpub"

    # For peer P: the part of its /16 that C's /24 shadows.
    explain="$(in_ns "$dns" "$WGT_WGXDP" explain "$dif" "$ppub" 2>&1)" ||
        fail "wgxdp explain $dif <P's key> failed: $explain"
    log "wgxdp explain $dif $ppub:"$'\n'"$explain"
    assert_contains "wgxdp explain $dif <P's key> (shadowed prefixes)" "$explain" 100.64.9.0/24
    assert_xdp_carried "$dns" "$dif"
}

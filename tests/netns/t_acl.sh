# shellcheck shell=bash
# io: socket xdp
# The seed's case. The gateway G (device under test) has peer B with AllowedIPs 100.64.0.0/16 and peer C with
# 100.64.9.0/24 (C never connects: only its key matters). B (wireguard-go) routes all of 100.64.0.0/10 to G.
# A packet from B with source 100.64.1.1 is B's by longest match: it arrives (G answers the ping). A packet from B
# with source 100.64.9.9 belongs to C's prefix: G must drop it after decrypting it, count it as an ACL drop, and
# `wgxdp explain` must say why (C's 100.64.9.0/24 wins).

test_acl_seed() {
    local gns bns gif bif gpriv gpub bpriv bpub cpriv cpub
    ns_new gns g
    ns_new bns b
    ifname gif g
    ifname bif b
    link_ns "$gns" "$bns" 1
    keys gpriv gpub
    keys bpriv bpub
    keys cpriv cpub

    local gconf="$WGT_LOGDIR/g.conf" bconf="$WGT_LOGDIR/b.conf"
    write_conf "$gconf" "$gpriv" 51820
    add_conf_peer "$gconf" "$bpub" 100.64.0.0/16
    add_conf_peer "$gconf" "$cpub" 100.64.9.0/24
    write_conf "$bconf" "$bpriv" 51821
    add_conf_peer "$bconf" "$gpub" 100.64.0.0/10 "198.18.1.1:51820"

    start_impl "$WGT_DUT" "$gns" "$gif" "$gconf"
    start_impl wireguard-go "$bns" "$bif" "$bconf"
    # G's own tunnel address lies outside both peers' prefixes; the /10 routes the whole range into the tunnel.
    ip -n "$gns" addr add 100.127.0.1/10 dev "$gif"
    ip -n "$bns" addr add 100.64.1.1/10 dev "$bif"
    ip -n "$bns" addr add 100.64.9.9/32 dev "$bif"

    assert_ping "$bns" 100.127.0.1 -I 100.64.1.1

    local stats0="" rx0 rx1
    dut_is_wgxdp && stats0="$(wgxdp_stats_json "$gns" "$gif")"
    rx0="$(peer_field "$gns" "$gif" "$bpub" rx)"
    assert_no_ping "$bns" 100.127.0.1 -I 100.64.9.9
    # The packets did reach G and were authenticated as B's (so the drop is the ACL's, not the network's).
    rx1="$(peer_field "$gns" "$gif" "$bpub" rx)"
    assert_gt "rx bytes from B on $gif while pinging from 100.64.9.9" "$rx1" "$rx0"
    # And B's legitimate address still works afterwards.
    assert_ping "$bns" 100.127.0.1 -I 100.64.1.1

    if ! dut_is_wgxdp; then
        log "device under test is $WGT_DUT: wgxdp stats/explain checks not applicable"
        return 0
    fi
    local stats1 acl0 acl1
    stats1="$(wgxdp_stats_json "$gns" "$gif")"
    acl0="$(drop_count "$stats0" acl)"
    acl1="$(drop_count "$stats1" acl)"
    log "acl drops: $acl0 -> $acl1"
    # 3 echo requests from 100.64.9.9 (B's ping may also retry nothing: ICMP has no retransmission).
    assert_gt "ACL drop counter growth in \`wgxdp stats $gif --json\`" $((acl1 - acl0)) 2

    local explain
    explain="$(in_ns "$gns" "$WGT_WGXDP" explain "$gif" 100.64.9.9 2>&1)" ||
        fail "wgxdp explain $gif 100.64.9.9 failed: $explain"
    log "wgxdp explain $gif 100.64.9.9:"$'\n'"$explain"
    assert_contains "wgxdp explain $gif 100.64.9.9" "$explain" 100.64.9.0/24
    assert_contains "wgxdp explain $gif 100.64.9.9" "$explain" "$cpub"

    # For peer B: the part of its /16 that C's /24 shadows.
    explain="$(in_ns "$gns" "$WGT_WGXDP" explain "$gif" "$bpub" 2>&1)" ||
        fail "wgxdp explain $gif <B's key> failed: $explain"
    log "wgxdp explain $gif $bpub:"$'\n'"$explain"
    assert_contains "wgxdp explain $gif <B's key> (shadowed prefixes)" "$explain" 100.64.9.0/24
    assert_xdp_carried "$gns" "$gif"
}

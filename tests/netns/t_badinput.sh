# shellcheck shell=bash
# io: socket xdp
# Bad input: with a working tunnel between the device under test D and a wireguard-go peer P, P's namespace sends
# a bounded stream of random and truncated/oversized WireGuard-shaped UDP datagrams to D's listen port (outer IPv4
# and IPv6), and malformed requests go to D's UAPI socket while silent connections are held open. Afterwards the
# daemon is alive, nothing from a failed request was half-applied, wgxdp counts the drops, and the tunnel still
# passes traffic both ways.

test_bad_input() {
    local dns pns dif pif dpriv dpub ppriv ppub xpriv xpub
    two_hosts
    keys xpriv xpub

    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128" "198.18.1.1:51820"
    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    assert_ping "$pns" 100.64.0.1

    local pids
    pids="$(ip netns pids "$dns" | sort | tr '\n' ' ')"
    local stats0="" drops0=0
    if dut_is_wgxdp; then
        stats0="$(wgxdp_stats_json "$dns" "$dif")"
        drops0="$(total_drops "$stats0")"
    fi

    local here sent4 sent6
    here="$(dirname "${BASH_SOURCE[0]}")"
    sent4="$(in_ns "$pns" python3 "$here/udp_garbage.py" 198.18.1.1 51820 --count 1500 --seed 1)"
    sent6="$(in_ns "$pns" python3 "$here/udp_garbage.py" fd00:198:18:1::1 51820 --count 500 --seed 2)"
    log "sent $sent4 hostile datagrams over outer IPv4 and $sent6 over outer IPv6"

    local answers sign=()
    # Refused sets answer a negative errno, as wireguard-go does and as `wg set` expects (it negates it).
    dut_is_wgxdp && sign=(--negative)
    answers="$(timeout 120 python3 "$here/uapi_abuse.py" "${sign[@]}" --hold 3 "/var/run/wireguard/$dif.sock" \
        "$xpub" 2>&1)" ||
        fail "malformed UAPI requests: expected a negative errno or a closed connection each, saw:
$answers"
    log "malformed UAPI requests:"$'\n'"$answers"

    assert_eq "daemon pids in $dns after the abuse (still the same process)" \
        "$(ip netns pids "$dns" | sort | tr '\n' ' ')" "$pids"
    local dump
    dump="$(timeout 5 ip netns exec "$dns" wg show "$dif" dump)" || fail "wg show $dif dump after the abuse failed"
    if dut_is_wgxdp; then
        # wgxdp applies a set request whole or not at all (wireguard-go applies it line by line, so it would keep
        # the listen port of the "bad endpoint" request).
        grep -qF "$xpub" <<<"$dump" && fail "a failed set left peer $xpub half-applied:
$dump"
        assert_eq "listen port after a failed set that also changed it" \
            "$(in_ns "$dns" wg show "$dif" listen-port)" 51820
        assert_eq "number of peers after the abuse" "$(in_ns "$dns" wg show "$dif" peers | wc -l)" 1
    else
        # Undo what a line-by-line implementation kept, so the rest of the test still means something.
        in_ns "$dns" wg set "$dif" listen-port 51820
    fi

    assert_ping "$pns" 100.64.0.1
    assert_ping "$dns" fd00:64::2
    assert_bulk "$pns" 100.64.0.2 "$dns"

    if dut_is_wgxdp; then
        local stats1 drops1
        stats1="$(wgxdp_stats_json "$dns" "$dif")"
        drops1="$(total_drops "$stats1")"
        log "drops: $drops0 -> $drops1; by reason: $(jq -c '.. | objects | .drops? // empty' <<<"$stats1" | head -1)"
        # Every hostile datagram must be dropped and counted once; allow a little for socket-buffer losses.
        local sent=$((sent4 + sent6)) reason
        assert_gt "drop counters growth in \`wgxdp stats $dif --json\` for $sent hostile datagrams" \
            $((drops1 - drops0)) $((sent * 9 / 10))
        ((drops1 - drops0 <= sent + 20)) ||
            fail "drop counters grew by $((drops1 - drops0)) for $sent hostile datagrams: counted twice?"
        # The stream has each kind: unparsable (random/truncated), handshakes with bad MACs, transport data
        # for receiver indices nobody owns.
        for reason in malformed bad_mac unknown_index; do
            assert_gt "'$reason' drops growth" $(($(drop_count "$stats1" "$reason") - $(drop_count "$stats0" "$reason"))) 0
        done
    fi
    assert_xdp_carried "$dns" "$dif"
}

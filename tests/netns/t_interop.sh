# shellcheck shell=bash
# io: socket xdp
# Interop: the device under test (namespace D) and a reference peer (namespace P: wireguard-go or boringtun) over
# one veth underlay, outer IPv4 or IPv6. The side that should initiate is the only one given the other's endpoint,
# so the handshake really starts there (and the other side has to learn the endpoint from the handshake).
# Checks: the first ping from the initiator, ping both ways over inner IPv4 and IPv6, a bulk TCP transfer each way
# (inner IPv4 D->P, inner IPv6 P->D), and `wg show IFNAME dump` on D: a latest handshake, the peer's endpoint and
# rx/tx bytes that grew by at least what the transfers moved.

# interop PEER_KIND OUTER_FAMILY FIRST   (FIRST: dut|peer, the side that pings first and so initiates)
interop() {
    local peer_kind="$1" family="$2" first="$3"
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts

    local d_under p_under
    d_under="$(underlay_addr 1 1 "$family")"
    p_under="$(underlay_addr 1 2 "$family")"
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    write_conf "$pconf" "$ppriv" 51821
    if [[ "$first" == dut ]]; then
        add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128" "$(endpoint_of "$p_under" 51821)"
        add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128"
    else
        add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128"
        add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128" "$(endpoint_of "$d_under" 51820)"
    fi

    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl "$peer_kind" "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64

    local hs
    hs="$(peer_field "$dns" "$dif" "$ppub" handshake)"
    assert_eq "latest handshake on $dif before any traffic" "$hs" 0

    if [[ "$first" == dut ]]; then
        wait_ping 10 "$dns" 100.64.0.2
    else
        wait_ping 10 "$pns" 100.64.0.1
    fi
    assert_ping "$dns" 100.64.0.2
    assert_ping "$pns" 100.64.0.1
    assert_ping "$dns" fd00:64::2
    assert_ping "$pns" fd00:64::1

    local rx0 tx0
    rx0="$(peer_field "$dns" "$dif" "$ppub" rx)"
    tx0="$(peer_field "$dns" "$dif" "$ppub" tx)"
    assert_bulk "$pns" 100.64.0.2 "$dns"
    assert_bulk "$pns" fd00:64::2 "$dns" -R

    local dump endpoint rx1 tx1
    dump="$(in_ns "$dns" wg show "$dif" dump)"
    log "wg show $dif dump:"$'\n'"$dump"
    hs="$(peer_field "$dns" "$dif" "$ppub" handshake)"
    assert_gt "latest handshake (unix seconds) on $dif" "${hs:-0}" 0
    endpoint="$(peer_field "$dns" "$dif" "$ppub" endpoint)"
    assert_eq "endpoint of the peer on $dif" "$endpoint" "$(endpoint_of "$p_under" 51821)"
    rx1="$(peer_field "$dns" "$dif" "$ppub" rx)"
    tx1="$(peer_field "$dns" "$dif" "$ppub" tx)"
    # Each transfer moved at least 1 MiB in its direction (assert_bulk), so both counters grew by at least that.
    assert_gt "rx bytes growth on $dif during the transfers" $((rx1 - rx0)) 1048575
    assert_gt "tx bytes growth on $dif during the transfers" $((tx1 - tx0)) 1048575
    assert_xdp_carried "$dns" "$dif"
}

test_interop_wggo_v4_dut_first() { interop wireguard-go 4 dut; }
test_interop_wggo_v4_peer_first() { interop wireguard-go 4 peer; }
test_interop_wggo_v6_dut_first() { interop wireguard-go 6 dut; }
test_interop_wggo_v6_peer_first() { interop wireguard-go 6 peer; }
test_interop_boringtun_v4_dut_first() { interop boringtun 4 dut; }
test_interop_boringtun_v4_peer_first() { interop boringtun 4 peer; }
test_interop_boringtun_v6_dut_first() { interop boringtun 6 dut; }
test_interop_boringtun_v6_peer_first() { interop boringtun 6 peer; }

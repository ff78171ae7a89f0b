# shellcheck shell=bash
# io: socket xdp
# Roaming: the peer P (wireguard-go) moves to a new underlay address (a new address is added, the old one removed
# so the new one becomes the source). Traffic continues and the device under test follows: `wg show` reports the
# new endpoint, learnt from the first authenticated packet from it.

test_roaming() {
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts
    # Removing the primary address would otherwise delete the secondary (new) one with it.
    in_ns "$pns" sysctl -q -w net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.ul1.promote_secondaries=1

    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128" "198.18.1.2:51821"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128" "198.18.1.1:51820"
    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64

    assert_ping "$dns" 100.64.0.2
    assert_eq "endpoint before roaming" "$(peer_field "$dns" "$dif" "$ppub" endpoint)" 198.18.1.2:51821

    log "peer moves from 198.18.1.2 to 198.18.1.3"
    ip -n "$pns" addr add 198.18.1.3/24 dev ul1
    ip -n "$pns" addr del 198.18.1.2/24 dev ul1
    local src
    src="$(ip -n "$pns" -4 -o addr show dev ul1 | awk '{print $4}')"
    assert_eq "peer's underlay address after the move" "$src" 198.18.1.3/24
    # wireguard-go pins the source address it last used (IP_PKTINFO) and does not recover when that address
    # vanishes (ENETUNREACH); re-setting the endpoint drops the pinned source, as a roaming client reconnecting
    # would. The device under test is told nothing.
    in_ns "$pns" wg set "$pif" peer "$dpub" endpoint 198.18.1.1:51820

    # The peer speaks first from its new address; the device must follow it.
    assert_ping "$pns" 100.64.0.1
    assert_eq "endpoint after roaming" "$(peer_field "$dns" "$dif" "$ppub" endpoint)" 198.18.1.3:51821
    assert_ping "$dns" 100.64.0.2
    assert_ping "$dns" fd00:64::2
    assert_bulk "$pns" 100.64.0.2 "$dns"
    assert_xdp_carried "$dns" "$dif"
}

# shellcheck shell=bash
# io: socket xdp
# Order within a flow: a numbered UDP stream (iperf3, 100 Mbit/s of 1300-byte datagrams) through a gateway with
# two workers arrives in the order it was sent, into the gateway and out of it. Each worker has its own socket
# (SO_REUSEPORT with a flow-hash steering program) on the socket path, its own RX queue on the AF_XDP path, so a
# flow stays on one worker; two workers sharing one socket reorder such a stream.
# The peer is pinned to one CPU: on veth the RX queue is the sender's TX queue, chosen by the sending CPU, where a
# NIC's RSS would hash the flow; pinned, the flow stays on one queue as RSS keeps it.

ORDER_SECONDS=3
ORDER_RATE="${WGT_ORDER_RATE:-100M}"
ORDER_LEN=1300

# order_check DIRECTION JSON: out_of_order of the stream is 0 and it delivered most of what was sent.
order_check() {
    local what="$1" json="$2" out_of_order packets lost
    out_of_order="$(jq -e '.end.streams[0].udp.out_of_order' <<<"$json")" ||
        fail "$what: no out_of_order in iperf3's JSON: $(head -c 400 <<<"$json")"
    packets="$(jq -e '.end.streams[0].udp.packets' <<<"$json")" || fail "$what: no packet count"
    lost="$(jq -e '.end.streams[0].udp.lost_packets' <<<"$json")" || fail "$what: no loss count"
    log "$what: $packets datagrams, $lost lost, $out_of_order out of order"
    ((packets > 10000)) || fail "$what: expected a stream of more than 10000 datagrams, saw $packets"
    assert_eq "$what: datagrams out of order" "$out_of_order" 0
}

test_udp_stream_order() {
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" 100.64.0.2/32 198.18.1.2:51821
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" 100.64.0.1/32 198.18.1.1:51820
    # Two workers on both paths (the AF_XDP path has one per RX queue: the veth has 2).
    local workers=()
    [[ "$WGT_IO_MODE" == socket ]] && workers=(--workers 2)
    WGT_DUT_ARGS="$WGT_DUT_ARGS ${workers[*]}" start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    WGT_PIN_CPU=0 start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    assert_ping "$pns" 100.64.0.1
    if dut_is_wgxdp; then
        local workers_seen
        workers_seen="$(jq '.workers | length' <<<"$(wgxdp_stats_json "$dns" "$dif")")"
        assert_eq "workers of $dif" "$workers_seen" 2
    fi
    local json
    json="$(iperf_json "$dns" 100.64.0.1 "$pns" "$ORDER_SECONDS" -u -b "$ORDER_RATE" -l "$ORDER_LEN")"
    order_check "into the gateway" "$json"
    json="$(iperf_json "$dns" 100.64.0.1 "$pns" "$ORDER_SECONDS" -u -b "$ORDER_RATE" -l "$ORDER_LEN" -R)"
    order_check "out of the gateway" "$json"
    assert_xdp_carried "$dns" "$dif"
}

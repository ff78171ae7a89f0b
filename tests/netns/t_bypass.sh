# shellcheck shell=bash
# io: xdp
# Proof of bypass: with wgxdp on the AF_XDP path (D) and a wireguard-go peer (P), WireGuard data packets never
# touch D's kernel UDP stack. Around a transfer of data packets both ways (flood pings from each side: every
# request and reply is one transport message, so the replies ping counts are a lower bound of what D carried),
# D's kernel UDP counters (nstat UdpIn/OutDatagrams, Udp6In/OutDatagrams, per namespace) grow by at most a
# handshake's and keepalives' worth, while wgxdp's AF_XDP sockets and the steering program count every packet.
# Done over outer IPv4, then again over outer IPv6 after P moves its endpoint to D's IPv6 address.

# Pings per direction and round. Each one is a data packet in and a data packet out on D.
BYPASS_PINGS="${WGT_BYPASS_PINGS:-1000}"
# Kernel datagrams a round may see besides data: a handshake (initiation/response/cookie), keepalives.
BYPASS_SLACK=10

# udp_datagrams NS: "in out" datagrams of the namespace's kernel UDP (IPv4 + IPv6), absolute (nstat -a), read
# without touching nstat's history (-s) and with a history file of our own, so nothing is shared with other users.
udp_datagrams() {
    local out
    out="$(in_ns "$1" env NSTAT_HISTORY="$WGT_LOGDIR/nstat.history" \
        nstat -asz UdpInDatagrams UdpOutDatagrams Udp6InDatagrams Udp6OutDatagrams)" ||
        fail "nstat in $1 failed: $out"
    awk '$1 ~ /^Udp6?InDatagrams$/ {i += $2; n++} $1 ~ /^Udp6?OutDatagrams$/ {o += $2; n++}
        END {if (n != 4) exit 1; print i + 0, o + 0}' <<<"$out" ||
        fail "nstat in $1: expected the 4 UDP datagram counters, saw: $out"
}

# flood_replies NS DST: BYPASS_PINGS flood pings (each sent when the previous reply came back, or after 10 ms)
# and prints how many were answered.
flood_replies() {
    local out received
    out="$(in_ns "$1" ping -n -q -f -c "$BYPASS_PINGS" -w 30 "$2" 2>&1)" || true
    received="$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out")"
    log "flood ping $2 from $1: $(grep -E 'transmitted' <<<"$out")"
    echo "${received:-0}"
}

# bypass_round LABEL DNS DIF PNS D_TUN P_TUN: one measured transfer and its assertions.
bypass_round() {
    local label="$1" dns="$2" dif="$3" pns="$4" d_tun="$5" p_tun="$6"
    local stats0 stats1 udp0 udp1 in0 out0 in1 out1
    stats0="$(wgxdp_stats_json "$dns" "$dif")"
    udp0="$(udp_datagrams "$dns")"

    local answered_by_p answered_by_d
    answered_by_p="$(flood_replies "$dns" "$p_tun")"
    answered_by_d="$(flood_replies "$pns" "$d_tun")"

    udp1="$(udp_datagrams "$dns")"
    stats1="$(wgxdp_stats_json "$dns" "$dif")"
    read -r in0 out0 <<<"$udp0"
    read -r in1 out1 <<<"$udp1"

    # Each answered ping is a request and a reply through D: one data packet in and one out either way.
    local data=$((answered_by_p + answered_by_d))
    # Most pings must get through, or the counts below prove little.
    assert_gt "$label: pings answered (of $((2 * BYPASS_PINGS)))" "$data" $((2 * BYPASS_PINGS * 9 / 10))

    log "$label: $data data packets each way; D's kernel UDP datagrams: in +$((in1 - in0)), out +$((out1 - out0))"
    ((in1 - in0 <= BYPASS_SLACK)) ||
        fail "$label: D's kernel UdpInDatagrams (v4+v6) grew by $((in1 - in0)) for $data data packets received: expected <= $BYPASS_SLACK (handshakes and keepalives only)"
    ((out1 - out0 <= BYPASS_SLACK)) ||
        fail "$label: D's kernel UdpOutDatagrams (v4+v6) grew by $((out1 - out0)) for $data data packets sent: expected <= $BYPASS_SLACK (handshakes and keepalives only; did TX fall back to the kernel socket?)"

    # One assignment per read: a failed read then ends the test (set -e) instead of leaving an empty operand.
    local rx0 rx1 tx0 tx1 redirected0 redirected1
    rx0="$(xdp_worker_counter "$stats0" rx)"
    rx1="$(xdp_worker_counter "$stats1" rx)"
    tx0="$(xdp_worker_counter "$stats0" tx)"
    tx1="$(xdp_worker_counter "$stats1" tx)"
    redirected0="$(xdp_program_counter "$stats0" redirected)"
    redirected1="$(xdp_program_counter "$stats1" redirected)"
    local rx=$((rx1 - rx0)) tx=$((tx1 - tx0)) redirected=$((redirected1 - redirected0))
    log "$label: AF_XDP rx +$rx, tx +$tx frames; the steering program redirected +$redirected"
    assert_gt "$label: AF_XDP rx frames growth (workers' xdp_rx_frames) for $data data packets" "$rx" $((data - 1))
    assert_gt "$label: AF_XDP tx frames growth (workers' xdp_tx_frames) for $data data packets" "$tx" $((data - 1))
    assert_gt "$label: packets the steering program redirected for $data data packets" "$redirected" $((data - 1))
}

test_bypass() {
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128"
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128" "198.18.1.1:51820"
    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64

    # Warm-up outside the measurement: the handshake, and D learning P's MAC address (until it knows it, D sends
    # through the kernel socket by design).
    assert_ping "$pns" 100.64.0.1
    assert_ping "$dns" 100.64.0.2
    bypass_round "outer IPv4" "$dns" "$dif" "$pns" 100.64.0.1 100.64.0.2

    log "P moves its endpoint to D's IPv6 underlay address"
    in_ns "$pns" wg set "$pif" peer "$dpub" endpoint "[fd00:198:18:1::1]:51820"
    assert_ping "$pns" fd00:64::1
    wait_for 5 "D to learn P's IPv6 endpoint" \
        eval '[[ "$(peer_field "$dns" "$dif" "$ppub" endpoint)" == "[fd00:198:18:1::2]:51821" ]]'
    assert_ping "$dns" fd00:64::2
    bypass_round "outer IPv6" "$dns" "$dif" "$pns" fd00:64::1 fd00:64::2
}

#!/usr/bin/env bash
# `cargo xtask demo`: the main job end to end, in throwaway network namespaces (two per pair, joined by a veth).
#
#   1. wgxdp as the gateway on the AF_XDP path (the XDP program on its veth underlay steers transport data into
#      AF_XDP sockets, one worker per RX queue) against a wireguard-go peer: ping both ways over inner IPv4 and
#      IPv6, iperf3 TCP each way, `wg show`, `wgxdp stats`, and the proof of bypass: during the transfers the
#      gateway namespace's kernel UDP counters (/proc/net/snmp Udp InDatagrams/OutDatagrams) stay flat while the
#      workers' xdp_rx_frames/xdp_tx_frames grow;
#   2. the same gateway and peer with wgxdp on the kernel UDP socket path: the same transfers, and the kernel's
#      UDP counters grow with them;
#   3. wgxdp on both ends, AF_XDP path, then 4. both ends on the socket path;
#   then a table of Gbit/s per path, and the time the demo took.
# Everything is removed at the end, on failure and on Ctrl-C too (lib.sh's trap).
# Knobs: WGT_WGXDP (binary; xtask passes the release build), WGT_DEMO_SECONDS (each iperf3 run, default 3).
# The Gbit/s are those of veth pairs on this machine, both ends sharing its CPUs: a demonstration, not a
# benchmark (that is `cargo xtask bench`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export WGT_LOGDIR="${WGT_LOGDIR:-$(cd "$here/../.." && pwd)/target/netns-logs/demo}"
export WGT_IO_MODE=xdp
# shellcheck source=lib.sh
source "$here/lib.sh"
lib_init
seconds="${WGT_DEMO_SECONDS:-3}"
# During a transfer of hundreds of thousands of packets the kernel's UDP socket sees only what is not transport
# data on the AF_XDP path: handshakes and keepalives, a few.
bypass_max_kernel_datagrams=20

[[ $(id -u) -eq 0 ]] || fail "the demo needs root (network namespaces)"
for tool in wg wireguard-go iperf3 jq; do
    command -v "$tool" >/dev/null || fail "'$tool' is missing: run cargo xtask install"
done
[[ -x "$WGT_WGXDP" ]] || fail "wgxdp binary not found (cargo build --release -p wgxdp, or set WGT_WGXDP)"

section() { printf '\n=== %s\n' "$*"; }

# udp_counter NS FIELD: a field of the Udp line of /proc/net/snmp as NS's kernel counts it (InDatagrams, ...).
udp_counter() {
    in_ns "$1" awk -v f="$2" '$1 == "Udp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col[f] }' \
        /proc/net/snmp
}

# xdp_frames NS IFNAME rx|tx: the workers' AF_XDP frame counter (0 on the socket path, which has none).
xdp_frames() {
    local stats
    stats="$(wgxdp_stats_json "$1" "$2")"
    jq '[.workers[]? | objects | .["xdp_'"$3"'_frames"] // 0] | add // 0' <<<"$stats"
}

# gbits JSON: the receiver's rate of an iperf3 JSON result, in Gbit/s with two decimals.
gbits() {
    printf '%.2f' "$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$1")"
}

rows=()

# pair TAG MODE PEER: the gateway (wgxdp, MODE xdp or socket) and PEER (wireguard-go or wgxdp, the same MODE)
# in two fresh namespaces; ping, iperf3 each way, the counters; a row for the table. TAG: a short unique name.
pair() {
    local tag="$1" mode="$2" peer="$3"
    WGT_IO_MODE="$mode"
    if [[ "$mode" == xdp ]]; then WGT_DUT_ARGS="--io xdp --link {underlay}"; else WGT_DUT_ARGS="--io socket"; fi
    local gw pe gif pif gpriv gpub ppriv ppub
    ns_new gw "${tag}gw"
    ns_new pe "${tag}pe"
    ifname gif "${tag}g"
    ifname pif "${tag}p"
    link_ns "$gw" "$pe" 1
    keys gpriv gpub
    keys ppriv ppub
    write_conf "$WGT_LOGDIR/$gif.conf" "$gpriv" 51820
    add_conf_peer "$WGT_LOGDIR/$gif.conf" "$ppub" "100.64.0.2/32, fd00:64::2/128" "198.18.1.2:51821"
    write_conf "$WGT_LOGDIR/$pif.conf" "$ppriv" 51821
    add_conf_peer "$WGT_LOGDIR/$pif.conf" "$gpub" "100.64.0.1/32, fd00:64::1/128"

    section "[$tag] gateway: wgxdp ${WGT_DUT_ARGS//\{underlay\}/ul1} as $gif in $gw [100.64.0.1, fd00:64::1]  <->  peer: $peer as $pif in $pe [100.64.0.2, fd00:64::2]; underlay veth ul1 198.18.1.0/24"
    start_impl wgxdp "$gw" "$gif" "$WGT_LOGDIR/$gif.conf"
    start_impl "$peer" "$pe" "$pif" "$WGT_LOGDIR/$pif.conf"
    tun_addrs "$gw" "$gif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pe" "$pif" 100.64.0.2/24 fd00:64::2/64
    if [[ "$mode" == xdp ]]; then
        echo "XDP program on the gateway's ul1: $(xdp_prog_summary "$gw" ul1)"
    fi

    wait_ping 10 "$gw" 100.64.0.2
    local targets=("$gw 100.64.0.2" "$pe 100.64.0.1" "$gw fd00:64::2" "$pe fd00:64::1") target ns dst
    for target in "${targets[@]}"; do
        read -r ns dst <<<"$target"
        printf 'ping %-12s -> %-12s ' "${ns##*-}" "$dst"
        in_ns "$ns" ping -n -q -c 5 -i 0.2 -W 2 "$dst" | grep -E 'transmitted|rtt' | paste -sd' ' -
    done

    local in0 out0 rx0 tx0 in1 out1 rx1 tx1 up down json
    in0="$(udp_counter "$gw" InDatagrams)"
    out0="$(udp_counter "$gw" OutDatagrams)"
    rx0="$(xdp_frames "$gw" "$gif" rx)"
    tx0="$(xdp_frames "$gw" "$gif" tx)"
    json="$(iperf_json "$pe" 100.64.0.2 "$gw" "$seconds")"
    up="$(gbits "$json")"
    echo "iperf3 TCP ${seconds}s gateway -> peer: $up Gbit/s"
    json="$(iperf_json "$pe" 100.64.0.2 "$gw" "$seconds" -R)"
    down="$(gbits "$json")"
    echo "iperf3 TCP ${seconds}s peer -> gateway: $down Gbit/s"
    in1="$(udp_counter "$gw" InDatagrams)"
    out1="$(udp_counter "$gw" OutDatagrams)"
    rx1="$(xdp_frames "$gw" "$gif" rx)"
    tx1="$(xdp_frames "$gw" "$gif" tx)"
    local din=$((in1 - in0)) dout=$((out1 - out0)) drx=$((rx1 - rx0)) dtx=$((tx1 - tx0))
    echo "during the transfers, on the gateway: kernel UDP InDatagrams +$din, OutDatagrams +$dout;" \
        "AF_XDP xdp_rx_frames +$drx, xdp_tx_frames +$dtx"
    if [[ "$mode" == xdp ]]; then
        ((din <= bypass_max_kernel_datagrams)) ||
            fail "[$tag] bypass: the gateway's kernel UDP socket received $din datagrams during the transfers (expected <= $bypass_max_kernel_datagrams)"
        ((drx >= 10000 && dtx >= 10000)) ||
            fail "[$tag] bypass: the AF_XDP sockets carried too little (xdp_rx_frames +$drx, xdp_tx_frames +$dtx; expected >= 10000 each)"
        echo "bypass: the transport data took the AF_XDP path; the kernel's UDP stack saw $din datagrams of it (at most the handshakes)"
        assert_xdp_carried "$gw" "$gif"
    fi
    rows+=("$(printf '%-4s %-7s %-13s %8s %8s %10s %10s %12s %12s' "$tag" "$mode" "$peer" "$up" "$down" \
        "+$din" "+$dout" "+$drx" "+$dtx")")
    LAST_GW="$gw" LAST_GIF="$gif"
}

start=$SECONDS
pair x1 xdp wireguard-go
section "wg show $LAST_GIF (the gateway, AF_XDP path)"
in_ns "$LAST_GW" wg show "$LAST_GIF"
section "wgxdp stats $LAST_GIF"
in_ns "$LAST_GW" "$WGT_WGXDP" stats "$LAST_GIF"
pair s1 socket wireguard-go
pair x2 xdp wgxdp
section "wgxdp stats $LAST_GIF (the gateway, wgxdp on both ends, AF_XDP path)"
in_ns "$LAST_GW" "$WGT_WGXDP" stats "$LAST_GIF"
pair s2 socket wgxdp

section "iperf3 TCP ${seconds}s per direction, Gbit/s; the gateway's kernel UDP counters and AF_XDP frames during the transfers"
printf '%-4s %-7s %-13s %8s %8s %10s %10s %12s %12s\n' pair path peer "gw->peer" "peer->gw" "UDP in" "UDP out" \
    "xdp rx" "xdp tx"
printf '%s\n' "${rows[@]}"
section "demo OK in $((SECONDS - start)) s (cleaning up)"

#!/usr/bin/env bash
# `cargo xtask demo`: the main job end to end. wgxdp on the AF_XDP path (the XDP program on its veth underlay steers
# transport data into AF_XDP sockets, one worker per RX queue) in one namespace, wireguard-go in another.
# Handshake, ping both ways over inner IPv4 and IPv6, a few seconds of iperf3 TCP each way, then `wg show`,
# `wgxdp stats` and a check that the traffic really took the AF_XDP path.
# Everything is removed at the end, on failure and on Ctrl-C too (lib.sh's trap).
# Knobs: WGT_WGXDP (binary; xtask passes the release build), WGT_DEMO_SECONDS (iperf3 duration, default 3),
# WGT_DEMO_ARGS (wgxdp's I/O options; default "--io xdp --link {underlay}"; "--io socket" shows the kernel path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export WGT_DUT_ARGS="${WGT_DEMO_ARGS:---io xdp --link {underlay}}"
export WGT_LOGDIR="${WGT_LOGDIR:-$(cd "$here/../.." && pwd)/target/netns-logs/demo}"
# shellcheck source=lib.sh
source "$here/lib.sh"
lib_init
seconds="${WGT_DEMO_SECONDS:-3}"

[[ $(id -u) -eq 0 ]] || fail "the demo needs root (network namespaces)"
for tool in wg wireguard-go iperf3; do
    command -v "$tool" >/dev/null || fail "'$tool' is missing: run tests/netns/install-peers.sh"
done

section() { printf '\n=== %s\n' "$*"; }

ns_new xns wgxdp
ns_new gns wggo
ifname xif x
ifname gif g
link_ns "$xns" "$gns" 1
keys xpriv xpub
keys gpriv gpub
write_conf "$WGT_LOGDIR/x.conf" "$xpriv" 51820
add_conf_peer "$WGT_LOGDIR/x.conf" "$gpub" "100.64.0.2/32, fd00:64::2/128" "198.18.1.2:51821"
write_conf "$WGT_LOGDIR/g.conf" "$gpriv" 51821
add_conf_peer "$WGT_LOGDIR/g.conf" "$xpub" "100.64.0.1/32, fd00:64::1/128"

section "wgxdp ($WGT_WGXDP, $WGT_DUT_ARGS) as $xif in $xns [100.64.0.1, fd00:64::1] <-> wireguard-go as $gif in $gns [100.64.0.2, fd00:64::2], underlay 198.18.1.0/24"
start_impl wgxdp "$xns" "$xif" "$WGT_LOGDIR/x.conf"
start_impl wireguard-go "$gns" "$gif" "$WGT_LOGDIR/g.conf"
tun_addrs "$xns" "$xif" 100.64.0.1/24 fd00:64::1/64
tun_addrs "$gns" "$gif" 100.64.0.2/24 fd00:64::2/64

section "ping (the first one triggers the handshake)"
wait_ping 10 "$xns" 100.64.0.2
for target in "$xns 100.64.0.2" "$gns 100.64.0.1" "$xns fd00:64::2" "$gns fd00:64::1"; do
    read -r ns dst <<<"$target"
    printf '%-14s -> %-12s ' "${ns##*-}" "$dst"
    in_ns "$ns" ping -n -q -c 5 -i 0.2 -W 2 "$dst" | grep -E 'transmitted|rtt'| paste -sd' ' -
done

for direction in "wgxdp -> wireguard-go:" "wireguard-go -> wgxdp:-R"; do
    section "iperf3 TCP ${seconds}s, ${direction%%:*}"
    ip netns exec "$gns" iperf3 -s -1 -B 100.64.0.2 >/dev/null 2>&1 &
    server=$!
    wait_for 5 "iperf3 server" in_ns "$gns" ss -Htln "sport = :5201"
    # shellcheck disable=SC2046 # the optional -R on purpose
    in_ns "$xns" iperf3 -c 100.64.0.2 -t "$seconds" -f m $( [[ "$direction" == *-R ]] && echo -R) |
        grep -E 'sender|receiver'
    wait "$server"
done

section "wg show $xif"
in_ns "$xns" wg show "$xif"
section "wgxdp stats $xif"
in_ns "$xns" "$WGT_WGXDP" stats "$xif"
if [[ "$WGT_IO_MODE" == xdp ]]; then
    section "the AF_XDP path carried the traffic"
    assert_xdp_carried "$xns" "$xif"
fi
section "demo OK (cleaning up)"

# shellcheck shell=bash
# io: socket xdp
# The Linux kernel's own WireGuard selftest (tools/testing/selftests/wireguard/netns.sh), its userspace-applicable
# checks re-expressed for wgxdp (both ends are wgxdp), plus one test per case of issue 11 (netns moves, sticky
# sources, live MTU, restarts, UAPI errno, a foreign XDP program, the background form's log).
#
# Two topologies:
#   peers   each daemon in the namespace of its interface, the two namespaces joined by a veth (ul1);
#   kernel  the selftest's own: the daemons (and so their UDP sockets) in one namespace, talking over its loopback,
#           each TUN moved out into a namespace of its own after start (`ip link set IF netns B`), where it is
#           configured, set up and used. On the xdp path AF_XDP needs a real link for --link, and between two
#           sockets of one namespace the kernel routes over lo, never over a veth (the AF_XDP path would never
#           be taken): there the daemons sit in two underlay namespaces joined by a veth (ul1), and the TUNs are
#           moved out of those into their own namespaces all the same. What the topology is about (interface and
#           UDP socket in different namespaces) stays.
#
# Addresses: the selftest's 192.168.241.0/24 and fd00::/112 inside the tunnel are 100.64.241.0/24 and
# fd00:241::/112 here; its 10.0.0.0/24 underlays are 198.18.N.0/24 and fd00:198:18:N::/64 (lib.sh's plan).
#
# Where wgxdp differs from the kernel on purpose (or cannot do what the kernel does), the check says so.
# Left out from netns.sh (with the reason):
#   - `ip -stats link show wg0` counters: the kernel's wg device counts encrypted bytes there; a TUN's counters are
#     the kernel's count of plaintext packets, so only `wg show transfer` carries the selftest's numbers.
#   - the route-MTU padding case (route MTU 1299 on a 1300 device): a TUN packet does not carry the MTU of the
#     route it took, so userspace (wireguard-go too) pads to the device MTU; that is what `padding` checks.
#   - routing wg through wg and the routing loop, onion routing, wg-quick policy routing, the fwmark/mangle
#     reroute and the ICMP-error-via-NAT case: they check how the kernel routes the skbs of its own wg device
#     (sk_bound_dev_if, skb marks, dst caches); a userspace daemon's UDP socket is an ordinary socket there.
#   - the iperf3 runs of `tests()` are kept short (1 s, one TCP stream each family, 4 streams once) and the 50
#     parallel streams are left out: CI time, not behaviour.
#   - the final /dev/kmsg object-leak check: kernel objects only.

ST_PSK=""

# st_keys: key pairs 1 and 2 and a preshared key, as the selftest makes them.
st_keys() {
    keys ST_KEY1 ST_PUB1
    keys ST_KEY2 ST_PUB2
    ST_PSK="$(wg genpsk)"
}

# st_conf FILE PRIVATE PORT PEER_PUB PEER_ALLOWED: a wg setconf file with one peer and the shared PSK.
st_conf() {
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = %s\n' \
        "$2" "$3" "$4" "$ST_PSK" "$5" >"$1"
}

# st_topology peers|kernel: builds the namespaces and starts the two daemons (ports 1 and 2, as the selftest),
# with tunnel addresses 100.64.241.{1,2}/24 and fd00:241::{1,2}/112. Sets ST_T1/ST_T2 (where the interfaces
# are), ST_D1/ST_D2 (where the daemons are), ST_IF1/ST_IF2, and ST_A1/ST_A2, ST_A1_6/ST_A2_6 (the underlay
# addresses the daemons are reached at).
st_topology() {
    ST_TOPO="$1"
    ns_new ST_T1 t1
    ns_new ST_T2 t2
    ifname ST_IF1 s1
    ifname ST_IF2 s2
    case "$ST_TOPO" in
    peers)
        ST_D1="$ST_T1" ST_D2="$ST_T2"
        link_ns "$ST_T1" "$ST_T2" 1
        ST_A1=198.18.1.1 ST_A2=198.18.1.2 ST_A1_6=fd00:198:18:1::1 ST_A2_6=fd00:198:18:1::2
        ;;
    kernel)
        if [[ "$WGT_IO_MODE" == xdp ]]; then
            ns_new ST_D1 d1
            ns_new ST_D2 d2
            link_ns "$ST_D1" "$ST_D2" 1
            ST_A1=198.18.1.1 ST_A2=198.18.1.2 ST_A1_6=fd00:198:18:1::1 ST_A2_6=fd00:198:18:1::2
        else
            ns_new ST_D1 d0
            ST_D2="$ST_D1"
            ST_A1=127.0.0.1 ST_A2=127.0.0.1 ST_A1_6=::1 ST_A2_6=::1
        fi
        ;;
    *) fail "st_topology: unknown topology $ST_TOPO" ;;
    esac
    st_keys
    st_conf "$WGT_LOGDIR/s1.conf" "$ST_KEY1" 1 "$ST_PUB2" "100.64.241.2/32, fd00:241::2/128"
    st_conf "$WGT_LOGDIR/s2.conf" "$ST_KEY2" 2 "$ST_PUB1" "100.64.241.1/32, fd00:241::1/128"
    start_impl wgxdp "$ST_D1" "$ST_IF1" "$WGT_LOGDIR/s1.conf"
    start_impl wgxdp "$ST_D2" "$ST_IF2" "$WGT_LOGDIR/s2.conf"
    if [[ "$ST_TOPO" == kernel ]]; then
        # The selftest's move: the interface leaves, its UDP socket stays behind with the daemon.
        ip -n "$ST_D1" link set "$ST_IF1" netns "$ST_T1"
        ip -n "$ST_D2" link set "$ST_IF2" netns "$ST_T2"
        ip -n "$ST_T1" link set "$ST_IF1" mtu 1420 up
        ip -n "$ST_T2" link set "$ST_IF2" mtu 1420 up
        sleep 1.2
        st_alive "after moving the interfaces into their own namespaces"
    fi
    ip -n "$ST_T1" addr add 100.64.241.1/24 dev "$ST_IF1"
    ip -n "$ST_T1" -6 addr add fd00:241::1/112 dev "$ST_IF1" nodad
    ip -n "$ST_T2" addr add 100.64.241.2/24 dev "$ST_IF2"
    ip -n "$ST_T2" -6 addr add fd00:241::2/112 dev "$ST_IF2" nodad
}

# st_alive WHEN: both daemons still serve their UAPI sockets.
st_alive() {
    local ifn
    for ifn in "$ST_IF1" "$ST_IF2"; do
        timeout 5 wg show "$ifn" listen-port >/dev/null 2>&1 ||
            fail "$1: the daemon of $ifn no longer answers (its log ends with: $(tail -n 3 "$WGT_LOGDIR/wgxdp-$ifn.log"))"
    done
}

# st_endpoints A1 A2: each side's endpoint of the other, v4 or v6 address (ports 1 and 2).
st_endpoints() {
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint "$(endpoint_of "$2" 2)"
    wg set "$ST_IF2" peer "$ST_PUB1" endpoint "$(endpoint_of "$1" 1)"
}

# st_flood NS DST [PING ARGS]: the selftest's `ping -c 10 -f -W 1`; all 10 must be answered.
st_flood() {
    local ns="$1" dst="$2" out
    shift 2
    out="$(in_ns "$ns" ping -n -q -c 10 -f -W 1 "$@" "$dst" 2>&1)" || true
    grep -qE ' 10 received' <<<"$out" ||
        fail "ping -c 10 -f $* $dst from $ns: expected 10 replies, saw: $(grep -E 'transmitted' <<<"$out");
interface counters: $(ip -n "$ST_T1" -s link show dev "$ST_IF1"; ip -n "$ST_T2" -s link show dev "$ST_IF2")"
}

# st_transfer IFNAME: "RX TX" of its one peer (`wg show IF transfer`).
st_transfer() {
    wg show "$1" transfer | awk -F'\t' '{print $2, $3}'
}

# st_tcp SERVER_NS SERVER_ADDR CLIENT_NS [IPERF ARGS]: a 1-second TCP transfer moves at least 64 KiB.
st_tcp() {
    local bytes
    bytes="$(iperf_bytes "$1" "$2" "$3" 1 "${@:4}")"
    ((bytes >= 65536)) || fail "TCP to $2 ${*:4} over the tunnel: expected >= 65536 bytes, saw $bytes"
    log "TCP to $2 ${*:4}: $bytes bytes in 1 s"
}

# st_tests: the selftest's `tests()`: flood pings over inner IPv4 and IPv6 both ways, TCP both families, 4
# parallel streams once.
st_tests() {
    st_flood "$ST_T2" 100.64.241.1
    st_flood "$ST_T1" 100.64.241.2
    st_flood "$ST_T2" fd00:241::1
    st_flood "$ST_T1" fd00:241::2
    st_tcp "$ST_T2" 100.64.241.2 "$ST_T1"
    st_tcp "$ST_T1" fd00:241::1 "$ST_T2"
    st_tcp "$ST_T2" 100.64.241.2 "$ST_T1" -P 4
}

# st_set_mtu MTU: both interfaces, where they are.
st_set_mtu() {
    ip -n "$ST_T1" link set "$ST_IF1" mtu "$1"
    ip -n "$ST_T2" link set "$ST_IF2" mtu "$1"
}

# st_tx_grown CMD...: runs CMD (it must succeed) and prints how many bytes ST_IF2's peer counter `tx` grew by.
st_tx_grown() {
    local before after
    before="$(st_transfer "$ST_IF2" | awk '{print $2}')"
    "$@" >/dev/null || fail "$* failed"
    after="$(st_transfer "$ST_IF2" | awk '{print $2}')"
    echo $((after - before))
}

# st_padded WHAT INNER_LEN EXPECTED_PADDED: one ping from T2 whose inner IPv4 packet is INNER_LEN bytes; the
# message ST_IF2 sends for it must be 16 (header) + EXPECTED_PADDED + 16 (tag) bytes: `wg show transfer` counts
# whole messages. A passive keepalive (32 bytes) may ride along.
st_padded() {
    local what="$1" inner="$2" padded="$3" grown want=$((16 + $3 + 16))
    sleep 0.3
    grown="$(st_tx_grown in_ns "$ST_T2" ping -n -q -c 1 -W 2 -M do -s $((inner - 28)) 100.64.241.1)"
    [[ "$grown" == "$want" || "$grown" == $((want + 32)) ]] ||
        fail "$what: a $inner-byte inner packet should leave as a $want-byte message (padded to $padded), tx grew by $grown"
    log "$what: $inner-byte packet sent as a $want-byte message (tx +$grown)"
}

# st_counters_and_padding: the selftest's first checks (exact transfer counters after 10 pings, handshake time),
# `tests()` at the normal and at a big MTU, then padding to 16 and capped at the device MTU.
st_counters_and_padding() {
    st_endpoints "$ST_A1" "$ST_A2"
    st_flood "$ST_T2" 100.64.241.1
    local rx tx
    # 10 echo replies of 84 bytes padded to 96 (+32: 128-byte messages) and the 92-byte handshake response in;
    # 10 requests and the 148-byte initiation out, maybe one 32-byte keepalive: rx 1372, tx 1428 or 1460.
    read -r rx tx < <(st_transfer "$ST_IF2")
    ((rx == 1372 && (tx == 1428 || tx == 1460))) ||
        fail "transfer of $ST_IF2 after 10 pings: expected rx 1372 and tx 1428 or 1460, saw rx $rx tx $tx"
    read -r rx tx < <(st_transfer "$ST_IF1")
    ((tx == 1372 && (rx == 1428 || rx == 1460))) ||
        fail "transfer of $ST_IF1 after 10 pings: expected tx 1372 and rx 1428 or 1460, saw rx $rx tx $tx"
    local stamp
    stamp="$(wg show "$ST_IF1" latest-handshakes | awk '{print $2}')"
    ((stamp != 0)) || fail "latest handshake of $ST_IF1 is 0 after traffic"
    log "exact counters after 10 pings: ok (rx $rx tx $tx on $ST_IF1)"

    st_tests
    # The selftest's big MTU: 34816 - 1500 + the original 1420.
    local big=$((34816 - 1500 + 1420))
    st_set_mtu "$big"
    st_tests
    assert_ping "$ST_T2" 100.64.241.1 -s 30000
    assert_ping "$ST_T1" fd00:241::2 -s 30000
    st_set_mtu 1420

    # Outer IPv6 as the selftest's second round.
    st_endpoints "$ST_A1_6" "$ST_A2_6"
    st_tests

    # Padding: to a multiple of 16, capped at the device MTU, which changed after start (and, in the kernel
    # topology, in another namespace than the daemon's).
    st_endpoints "$ST_A1" "$ST_A2"
    st_padded "padding to 16" 29 32
    st_padded "padding to 16" 100 112
    st_set_mtu 1300
    st_padded "padding at device MTU 1300" 1290 1296
    st_padded "padding at device MTU 1300" 1300 1300
    st_set_mtu 1420
    st_padded "padding after the MTU went back to 1420" 1300 1312
}

test_selftest_counters_peers() {
    st_topology peers
    st_counters_and_padding
    assert_xdp_carried "$ST_D1" "$ST_IF1"
}

test_selftest_counters_kernel() {
    st_topology kernel
    st_counters_and_padding
    st_alive "at the end"
    assert_xdp_carried "$ST_D1" "$ST_IF1"
}

# st_udp_reaches NS_FROM NS_TO EXPECT(yes|no): a datagram "X" from NS_FROM to 100.64.241.1:1111 (a listener in
# NS_TO) arrives within a second, or must not.
st_udp_reaches() {
    local from="$1" to="$2" expect="$3" out="$WGT_LOGDIR/udp1111.out"
    : >"$out"
    in_ns "$to" timeout 3 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("100.64.241.1", 1111))
print("bound", flush=True)
s.settimeout(1.5)
try:
    print("got", s.recvfrom(64)[0].decode(), flush=True)
except socket.timeout:
    print("nothing", flush=True)
' >"$out" 2>&1 &
    local listener=$!
    wait_for 3 "a UDP listener on 100.64.241.1:1111" grep -q bound "$out"
    in_ns "$from" python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"X", ("100.64.241.1", 1111))'
    wait "$listener" || true
    if [[ "$expect" == yes ]]; then
        grep -q '^got X' "$out" || fail "a UDP datagram from $from to 100.64.241.1:1111 did not arrive: $(cat "$out")"
    else
        grep -q '^nothing' "$out" || fail "a UDP datagram from $from to 100.64.241.1:1111 arrived though it should be filtered: $(cat "$out")"
    fi
}

# st_roaming_and_rp: the selftest's roaming (v4: the first daemon's address changes and it sends from a new port;
# v6: new port again) and the crypto reverse-path filter (a more specific peer takes the source away; the packet
# is dropped, the endpoint still follows the authenticated packet, as in the kernel).
st_roaming_and_rp() {
    st_endpoints "$ST_A1" "$ST_A2"
    assert_ping "$ST_T2" 100.64.241.1
    local new_a1
    if [[ "$ST_A1" == 127.0.0.1 ]]; then
        # The selftest's own move, on the shared loopback: 127.0.0.1 becomes 127.212.121.99.
        ip -n "$ST_D1" -4 addr del 127.0.0.1/8 dev lo
        ip -n "$ST_D1" -4 addr add 127.212.121.99/8 dev lo
        new_a1=127.212.121.99
    else
        in_ns "$ST_D1" sysctl -q -w net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.ul1.promote_secondaries=1
        ip -n "$ST_D1" addr add 198.18.1.3/24 dev ul1
        ip -n "$ST_D1" addr del 198.18.1.1/24 dev ul1
        new_a1=198.18.1.3
    fi
    wg set "$ST_IF1" listen-port 9999
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint "$(endpoint_of "$ST_A2" 2)"
    wait_ping 5 "$ST_T1" fd00:241::2
    assert_eq "roaming v4: endpoint $ST_IF2 learnt" "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	$new_a1:9999"

    wg set "$ST_IF1" listen-port 9998
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint "$(endpoint_of "$ST_A2_6" 2)"
    wait_ping 5 "$ST_T1" 100.64.241.2
    assert_eq "roaming v6: endpoint $ST_IF2 learnt" "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	[$ST_A1_6]:9998"

    log "crypto reverse-path filter"
    wg set "$ST_IF1" peer "$ST_PUB2" allowed-ips 100.64.241.0/24
    st_udp_reaches "$ST_T2" "$ST_T1" yes
    local more_specific
    more_specific="$(wg genkey | wg pubkey)"
    wg set "$ST_IF1" peer "$more_specific" allowed-ips 100.64.241.2/32
    wg set "$ST_IF2" listen-port 9997
    st_udp_reaches "$ST_T2" "$ST_T1" no
    wg set "$ST_IF1" peer "$more_specific" remove
    assert_eq "endpoint after the filtered packets (it follows authenticated packets, as in the kernel)" \
        "$(wg show "$ST_IF1" endpoints)" "$ST_PUB2	[$ST_A2_6]:9997"
}

test_selftest_roaming_peers() {
    st_topology peers
    st_roaming_and_rp
    assert_xdp_carried "$ST_D1" "$ST_IF1"
}

test_selftest_roaming_kernel() {
    st_topology kernel
    st_roaming_and_rp
    st_alive "at the end"
}

# NAT, the selftest's topology: the first peer behind a router that SNATs it (nft; conntrack UDP timeouts of 2 s),
# the second reachable. The kernel test creates its wg devices in the peers' namespaces: so do the daemons here.
test_selftest_nat() {
    command -v nft >/dev/null || fail "nft is missing: run tests/netns/install-peers.sh"
    local r c s
    ns_new r r
    ns_new c c
    ns_new s s
    ifname ST_IF1 n1
    ifname ST_IF2 n2
    ST_T1="$c" ST_T2="$s" ST_D1="$c" ST_D2="$s"
    link_ns "$r" "$c" 1
    link_ns "$r" "$s" 2
    # c: 198.18.1.2 behind r (198.18.1.1); s: 198.18.2.2; r SNATs 198.18.1.0/24 to 198.18.2.1.
    ip -n "$c" route add default via 198.18.1.1
    in_ns "$r" sysctl -q -w net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_udp_timeout=2 \
        net.netfilter.nf_conntrack_udp_timeout_stream=2
    in_ns "$r" nft -f - <<'EOF'
table ip wgtnat {
    chain post {
        type nat hook postrouting priority 100;
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 snat to 198.18.2.1
    }
}
EOF
    st_keys
    st_conf "$WGT_LOGDIR/n1.conf" "$ST_KEY1" 1 "$ST_PUB2" "100.64.241.2/32, fd00:241::2/128"
    st_conf "$WGT_LOGDIR/n2.conf" "$ST_KEY2" 2 "$ST_PUB1" "100.64.241.1/32, fd00:241::1/128"
    start_impl wgxdp "$c" "$ST_IF1" "$WGT_LOGDIR/n1.conf"
    start_impl wgxdp "$s" "$ST_IF2" "$WGT_LOGDIR/n2.conf"
    tun_addrs "$c" "$ST_IF1" 100.64.241.1/24 fd00:241::1/112
    tun_addrs "$s" "$ST_IF2" 100.64.241.2/24 fd00:241::2/112

    wg set "$ST_IF1" peer "$ST_PUB2" endpoint 198.18.2.2:2 persistent-keepalive 1
    wait_ping 5 "$c" 100.64.241.2
    assert_ping "$s" 100.64.241.1
    assert_eq "endpoint the NATed peer is seen at" "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	198.18.2.1:1"
    # The persistent keepalive keeps the conntrack entry alive past its 2-second timeout.
    sleep 3
    ping_ok "$s" 100.64.241.1 || fail "after 3 s idle behind a 2 s UDP conntrack timeout with keepalive 1, the NATed peer is unreachable"
    wg set "$ST_IF1" peer "$ST_PUB2" persistent-keepalive 0
    # The selftest's sk_bound_dev_if case: a ping bound to the interface.
    in_ns "$c" ping -n -q -c 1 -W 1 -I "$ST_IF1" 100.64.241.2 >/dev/null ||
        fail "ping -I $ST_IF1 100.64.241.2 failed"
    assert_xdp_carried "$s" "$ST_IF2"
}

# Sticky sources and fall-over, the selftest's "saddr routing is sticky but not too sticky" section: the two
# peers on one veth (ul1), daemons in their own namespaces as the kernel test has its wg devices.
test_selftest_sticky() {
    local n1 n2
    ns_new n1 k1
    ns_new n2 k2
    ifname ST_IF1 k1
    ifname ST_IF2 k2
    ST_T1="$n1" ST_T2="$n2" ST_D1="$n1" ST_D2="$n2"
    link_ns "$n1" "$n2" 1
    in_ns "$n1" sysctl -q -w net.ipv4.conf.ul1.promote_secondaries=1 net.ipv4.conf.all.promote_secondaries=1
    st_keys
    st_conf "$WGT_LOGDIR/k1.conf" "$ST_KEY1" 1 "$ST_PUB2" "100.64.241.2/32, fd00:241::2/128"
    st_conf "$WGT_LOGDIR/k2.conf" "$ST_KEY2" 2 "$ST_PUB1" "100.64.241.1/32, fd00:241::1/128"
    start_impl wgxdp "$n1" "$ST_IF1" "$WGT_LOGDIR/k1.conf"
    start_impl wgxdp "$n2" "$ST_IF2" "$WGT_LOGDIR/k2.conf"
    tun_addrs "$n1" "$ST_IF1" 100.64.241.1/24 fd00:241::1/112
    tun_addrs "$n2" "$ST_IF2" 100.64.241.2/24 fd00:241::2/112

    log "sticky_fallover: the source address in use disappears; the next packets leave from the new one"
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint 198.18.1.2:2
    wait_ping 5 "$n1" 100.64.241.2
    ip -n "$n1" addr add 198.18.1.10/24 dev ul1
    ip -n "$n1" addr del 198.18.1.1/24 dev ul1
    wait_ping 3 "$n1" 100.64.241.2
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint "[fd00:198:18:1::2]:2"
    wait_ping 3 "$n1" 100.64.241.2
    ip -n "$n1" -6 addr add fd00:198:18:1::10/64 dev ul1 nodad
    ip -n "$n1" -6 addr del fd00:198:18:1::1/64 dev ul1
    wait_ping 3 "$n1" 100.64.241.2

    log "sticky_reply: replies leave from the address the peer sent to"
    ip -n "$n1" addr flush dev ul1
    ip -n "$n2" addr flush dev ul1
    ip -n "$n1" addr add 198.18.1.1/24 dev ul1
    ip -n "$n1" addr add 198.18.1.2/24 dev ul1
    ip -n "$n1" -6 addr add fd00:198:18:1::1/64 dev ul1 nodad
    ip -n "$n1" -6 addr add fd00:198:18:1::2/64 dev ul1 nodad
    ip -n "$n2" addr add 198.18.1.3/24 dev ul1
    ip -n "$n2" -6 addr add fd00:198:18:1::3/64 dev ul1 nodad
    local target
    for target in 198.18.1.1:1 "[fd00:198:18:1::1]:1" 198.18.1.2:1 "[fd00:198:18:1::2]:1"; do
        wg set "$ST_IF2" peer "$ST_PUB1" endpoint "$target"
        wait_ping 3 "$n2" 100.64.241.1
        assert_eq "sticky_reply: endpoint $ST_IF2 sees after talking to $target" \
            "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	$target"
    done

    log "sticky_other_interface: the destination address is on another interface than the route back"
    # The selftest uses a dummy interface; this kernel has none, a veth pair inside the namespace does the same.
    ip -n "$n1" link add st0 type veth peer name st1
    ip -n "$n1" addr add 198.18.50.1/24 dev st0
    ip -n "$n1" link set st0 up
    ip -n "$n1" link set st1 up
    ip -n "$n2" route add 198.18.50.0/24 dev ul1
    wg set "$ST_IF2" peer "$ST_PUB1" endpoint 198.18.50.1:1
    wait_ping 3 "$n2" 100.64.241.1
    assert_eq "sticky_other_interface: endpoint $ST_IF2 sees" "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	198.18.50.1:1"
    ip -n "$n1" link del st0
    ip -n "$n1" addr flush dev ul1
    ip -n "$n2" addr flush dev ul1
    ip -n "$n1" route flush dev ul1
    ip -n "$n2" route flush dev ul1

    log "sticky_not_too_sticky: a better route through another interface wins over the remembered source"
    ip -n "$n1" link add ul3 type veth peer name ul4 netns "$n2"
    ip -n "$n1" addr add 198.18.1.1/24 dev ul1
    ip -n "$n2" addr add 198.18.1.2/24 dev ul1
    ip -n "$n1" addr add 198.18.1.3/24 dev ul3
    ip -n "$n1" link set ul3 up
    ip -n "$n2" link set ul4 up
    ip -n "$n1" route flush dev ul1
    ip -n "$n1" route flush dev ul3
    ip -n "$n1" route add 198.18.1.0/24 dev ul1 src 198.18.1.1 metric 2
    wg set "$ST_IF1" peer "$ST_PUB2" endpoint 198.18.1.2:2
    wait_ping 3 "$n1" 100.64.241.2
    assert_eq "sticky_not_too_sticky: endpoint $ST_IF2 sees first" "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	198.18.1.1:1"
    ip -n "$n1" route add 198.18.1.0/24 dev ul3 src 198.18.1.3 metric 1
    in_ns "$n1" sysctl -q -w net.ipv4.conf.ul1.rp_filter=0 net.ipv4.conf.all.rp_filter=0
    in_ns "$n2" sysctl -q -w net.ipv4.conf.ul4.rp_filter=0 net.ipv4.conf.all.rp_filter=0
    wait_ping 3 "$n1" 100.64.241.2
    assert_eq "sticky_not_too_sticky: endpoint $ST_IF2 sees after the route change" \
        "$(wg show "$ST_IF2" endpoints)" "$ST_PUB1	198.18.1.3:1"
}

# st_ipc_device NS: a bare wgxdp (no peers) in NS, for the IPC checks; sets ST_IF1.
st_ipc_device() {
    local ns="$1" priv pub
    ifname ST_IF1 "$2"
    keys priv pub
    write_conf "$WGT_LOGDIR/$2.conf" "$priv" 0
    start_impl wgxdp "$ns" "$ST_IF1" "$WGT_LOGDIR/$2.conf"
}

# st_ipc_ns VAR: a namespace for a daemon; on the xdp path with a veth for --link.
st_ipc_ns() {
    local -n out="$1"
    ns_new out "$2"
    if [[ "$WGT_IO_MODE" == xdp ]]; then
        local other
        ns_new other "$2x"
        link_ns "$out" "$other" 1
    fi
}

# The selftest's netlink/IPC checks that make split answers (130 560 allowed IPs in one peer, 40 peers x 52), and
# issue 11's restart right after `ip link del` with that configuration loaded.
test_selftest_ipc_big() {
    local ns
    st_ipc_ns ns i
    st_ipc_device "$ns" i
    local conf="$WGT_LOGDIR/big.conf"
    python3 - "$conf" "$(wg genkey)" "$(wg genkey | wg pubkey)" <<'EOF'
import sys
path, private, public = sys.argv[1:4]
with open(path, "w") as f:
    f.write(f"[Interface]\nPrivateKey={private}\n[Peer]\nPublicKey={public}\n")
    for a in range(1, 256):
        for b in range(256):
            f.write(f"AllowedIPs={a}.{b}.0.0/16,{a}::{b}/128\n")
EOF
    local start=$SECONDS
    timeout 60 wg setconf "$ST_IF1" "$conf" || fail "wg setconf with 130 560 allowed IPs failed"
    local count
    count="$(timeout 30 wg show "$ST_IF1" allowed-ips | wc -w)"
    assert_eq "words of \`wg show allowed-ips\` with 255*256*2 prefixes (+1 key)" "$count" $((255 * 256 * 2 + 1))
    log "130 560 allowed IPs set and read back in $((SECONDS - start)) s"

    log "restart right after \`ip link del\` with that configuration loaded"
    local old_pids
    old_pids="$(ip netns pids "$ns" | tr '\n' ' ')"
    ip -n "$ns" link del "$ST_IF1"
    local extra=()
    [[ -n "$WGT_DUT_ARGS" ]] && read -r -a extra <<<"${WGT_DUT_ARGS//\{underlay\}/ul1}"
    in_ns "$ns" "$WGT_WGXDP" up "$ST_IF1" --config "$WGT_LOGDIR/i.conf" "${extra[@]}" \
        >>"$WGT_LOGDIR/wgxdp-$ST_IF1-restart.log" 2>&1 &
    local new=$!
    wait_for 10 "the restarted daemon's UAPI socket" timeout 2 wg show "$ST_IF1" listen-port
    kill -0 "$new" 2>/dev/null || fail "the restarted daemon exited: $(tail -n 3 "$WGT_LOGDIR/wgxdp-$ST_IF1-restart.log")"
    local pid
    for pid in $old_pids; do
        wait_for 5 "the old daemon $pid to finish exiting" eval "! kill -0 $pid 2>/dev/null"
    done
    assert_eq "peers of the restarted daemon" "$(wg show "$ST_IF1" peers | wc -l)" 0
    grep -q "stopping (interface $ST_IF1 was deleted" "$WGT_LOGDIR/wgxdp-$ST_IF1.log" ||
        fail "the old daemon's log does not say it stopped because its interface was deleted: $(tail -n 3 "$WGT_LOGDIR/wgxdp-$ST_IF1.log")"

    log "40 peers x 52 allowed IPs"
    python3 - "$conf" "$(wg genkey)" <<'EOF'
import subprocess, sys
path, private = sys.argv[1:3]
keys = subprocess.run(["bash", "-c", "for i in $(seq 40); do wg genkey | wg pubkey; done"],
                      capture_output=True, text=True, check=True).stdout.split()
with open(path, "w") as f:
    f.write(f"[Interface]\nPrivateKey={private}\n")
    for a, key in enumerate(keys, start=1):
        f.write(f"[Peer]\nPublicKey={key}\n")
        for b in range(1, 53):
            f.write(f"AllowedIPs={a}.{b}.0.0/16\n")
EOF
    wg setconf "$ST_IF1" "$conf"
    local lines bad
    lines="$(wg show "$ST_IF1" allowed-ips | wc -l)"
    bad="$(wg show "$ST_IF1" allowed-ips | awk 'NF != 53' | wc -l)"
    assert_eq "peers listed by \`wg show allowed-ips\`" "$lines" 40
    assert_eq "peers whose line is not the key and 52 prefixes" "$bad" 0
}

# The rest of the selftest's IPC checks: empty peers beside one with prefixes, 197 IPv6 prefixes, keys and their
# removal, our own public key as a peer, clamping, overlapping prefix changes, low-order public keys.
test_selftest_ipc_keys() {
    local ns
    st_ipc_ns ns j
    st_ipc_device "$ns" j
    local ifn="$ST_IF1" conf="$WGT_LOGDIR/j2.conf"
    {
        for _ in $(seq 29); do printf '[Peer]\nPublicKey=%s\n' "$(wg genkey | wg pubkey)"; done
        printf '[Peer]\nPublicKey=%s\nAllowedIPs=255.2.3.4/32,abcd::255/128\n' "$(wg genkey | wg pubkey)"
    } >"$conf"
    wg setconf "$ifn" "$conf"
    wg showconf "$ifn" >/dev/null || fail "wg showconf after 29 empty peers and one with prefixes failed"
    wg setconf "$ifn" /dev/null

    st_keys
    local v6=() i
    for i in $(seq 197); do v6+=("abcd::$i"); done
    wg set "$ifn" peer "$ST_PUB1"
    wg set "$ifn" peer "$ST_PUB2" allowed-ips "$(IFS=,; echo "${v6[*]}")"
    local first second
    { read -r first; read -r second; } < <(wg show "$ifn" allowed-ips)
    assert_eq "first peer's allowed IPs" "$first" "$ST_PUB1	(none)"
    assert_eq "second peer's allowed IPs" "$(wc -w <<<"${second#*	}")" 197
    wg setconf "$ifn" /dev/null
    in_ns "$ns" wg show doesnotexist >/dev/null 2>&1 && fail "wg show doesnotexist succeeded"

    wg set "$ifn" private-key <(echo "$ST_KEY1") peer "$ST_PUB2" preshared-key <(echo "$ST_PSK")
    assert_eq "private key read back" "$(wg show "$ifn" private-key)" "$ST_KEY1"
    assert_eq "preshared key read back" "$(wg show "$ifn" preshared-keys)" "$ST_PUB2	$ST_PSK"
    wg set "$ifn" private-key /dev/null peer "$ST_PUB2" preshared-key /dev/null
    assert_eq "private key after /dev/null" "$(wg show "$ifn" private-key)" "(none)"
    assert_eq "preshared key after /dev/null" "$(wg show "$ifn" preshared-keys)" "$ST_PUB2	(none)"
    wg set "$ifn" peer "$ST_PUB2"
    wg set "$ifn" private-key <(echo "$ST_KEY2")
    assert_eq "public key" "$(wg show "$ifn" public-key)" "$ST_PUB2"
    assert_eq "peers once our own public key is a peer's (it is removed)" "$(wg show "$ifn" peers)" ""
    wg set "$ifn" peer "$ST_PUB2"
    assert_eq "adding a peer with our own public key (refused)" "$(wg show "$ifn" peers)" ""
    wg set "$ifn" private-key <(echo "$ST_KEY1")
    wg set "$ifn" peer "$ST_PUB2"
    assert_eq "peers after the private key changed back" "$(wg show "$ifn" peers)" "$ST_PUB2"
    # A private key is clamped when set: a first byte with its low 3 bits set reads back with them cleared.
    wg set "$ifn" private-key <(echo "/${ST_KEY1:1}")
    assert_eq "clamped private key read back" "$(wg show "$ifn" private-key)" "+${ST_KEY1:1}"
    wg set "$ifn" peer "$ST_PUB2" allowed-ips 0.0.0.0/0,10.0.0.0/8,100.0.0.0/10,172.16.0.0/12,192.168.0.0/16
    wg set "$ifn" peer "$ST_PUB2" allowed-ips 0.0.0.0/0
    wg set "$ifn" peer "$ST_PUB2" allowed-ips ::/0,1700::/111,5000::/4,e000::/37,9000::/75
    wg set "$ifn" peer "$ST_PUB2" allowed-ips ::/0
    wg set "$ifn" peer "$ST_PUB2" remove

    log "low-order public keys: accepted as peers, never sent a handshake"
    local point out="$WGT_LOGDIR/lowo.out"
    for point in AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
        4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc= \
        7P///////////////////////////////////////38= 7f///////////////////////////////////////38= \
        7v///////////////////////////////////////38=; do
        wg set "$ifn" peer "$point" persistent-keepalive 1 endpoint 127.0.0.1:1111
    done
    [[ -n "$(wg show "$ifn" peers)" ]] || fail "the low-order peers were not added"
    in_ns "$ns" timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 1111))
print("bound", flush=True)
s.settimeout(2.5)
try:
    print("got", len(s.recvfrom(2048)[0]), flush=True)
except socket.timeout:
    print("nothing", flush=True)
' >"$out" 2>&1 &
    local listener=$!
    wait_for 3 "a UDP listener on 127.0.0.1:1111" grep -q bound "$out"
    ip -n "$ns" link set "$ifn" down
    ip -n "$ns" link set "$ifn" up
    wait "$listener" || true
    grep -q '^nothing' "$out" || fail "a packet went to a low-order peer's endpoint: $(cat "$out")"
}

# Issue 11, case 5: `wg set IF listen-port N` on a taken port prints the errno's name.
test_selftest_errno() {
    local ns
    st_ipc_ns ns e
    st_ipc_device "$ns" e
    local out="$WGT_LOGDIR/holder.out"
    in_ns "$ns" timeout 10 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 0))
print(s.getsockname()[1], flush=True)
time.sleep(8)' >"$out" &
    local holder=$!
    wait_for 3 "a UDP port holder" grep -qE '^[0-9]+$' "$out"
    local taken message
    taken="$(head -1 "$out")"
    message="$(in_ns "$ns" wg set "$ST_IF1" listen-port "$taken" 2>&1)" &&
        fail "wg set listen-port $taken (taken) succeeded"
    assert_contains "wg's message for a taken listen port" "$message" "Address already in use"
    log "wg set listen-port $taken: $message"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null || true
}

# Issue 11, case 1: the interface moves on twice (the daemon's namespace -> A -> B) and keeps working; its
# deletion in B ends the daemon, which says why. The daemon runs in the drop-in form, as wg-quick starts it.
test_selftest_netns_move() {
    local d a b p dif pif dpriv dpub ppriv ppub
    ns_new d d
    ns_new a a
    ns_new b b
    ns_new p p
    ifname dif m
    ifname pif mp
    link_ns "$d" "$p" 1
    keys dpriv dpub
    keys ppriv ppub
    write_conf "$WGT_LOGDIR/m.conf" "$dpriv" 51820
    add_conf_peer "$WGT_LOGDIR/m.conf" "$ppub" "100.64.0.2/32" 198.18.1.2:51821
    write_conf "$WGT_LOGDIR/mp.conf" "$ppriv" 51821
    add_conf_peer "$WGT_LOGDIR/mp.conf" "$dpub" "100.64.0.1/32" 198.18.1.1:51820
    local log="$WGT_LOGDIR/wgxdp-dropin-$dif.log"
    if [[ "$WGT_IO_MODE" == xdp ]]; then
        start_impl wgxdp "$d" "$dif" "$WGT_LOGDIR/m.conf"
        log="$WGT_LOGDIR/wgxdp-$dif.log"
    else
        in_ns "$d" "$WGT_WGXDP" --log-file "$log" "$dif" || fail "wgxdp $dif failed"
        wg setconf "$dif" "$WGT_LOGDIR/m.conf"
    fi
    start_impl wireguard-go "$p" "$pif" "$WGT_LOGDIR/mp.conf"
    tun_addrs "$p" "$pif" 100.64.0.2/24 fd00:64::2/64
    local pid
    pid="$(ip netns pids "$d" | head -1)"
    local ns from="$d"
    for ns in "$a" "$b"; do
        ip -n "$from" link set "$dif" netns "$ns"
        ip -n "$ns" addr add 100.64.0.1/24 dev "$dif"
        ip -n "$ns" link set "$dif" mtu 1420 up
        assert_ping "$ns" 100.64.0.2
        kill -0 "$pid" 2>/dev/null || fail "the daemon exited after its interface moved to $ns: $(tail -n 3 "$log")"
        log "interface moved from $from to $ns (the daemon stays in $d): tunnel works, daemon $pid alive"
        from="$ns"
    done
    grep -q "interface moved from" "$log" || fail "the daemon's log does not say it followed the interface: $(tail -n 3 "$log")"
    ip -n "$b" link del "$dif"
    wait_for 3 "the daemon to exit after its interface was deleted in another namespace" \
        eval "! kill -0 $pid 2>/dev/null"
    grep -q "stopped (interface $dif was deleted" "$log" ||
        fail "the daemon's log does not say why it stopped: $(tail -n 3 "$log")"
}

# Issue 11, case 3: the MTU set after start is followed live: 8921 (wg-quick on a jumbo-frame link) carries pings
# of that size and TCP; on the xdp path such frames exceed a UMEM frame and the program passes them to the
# kernel socket (its too-big count grows) instead of the redirect dropping them.
test_selftest_live_mtu() {
    local d p dif pif dpriv dpub ppriv ppub
    ns_new d u
    ns_new p up
    ifname dif u
    ifname pif up
    link_ns "$d" "$p" 1
    ip -n "$d" link set ul1 mtu 9000
    ip -n "$p" link set ul1 mtu 9000
    keys dpriv dpub
    keys ppriv ppub
    write_conf "$WGT_LOGDIR/u.conf" "$dpriv" 51820
    add_conf_peer "$WGT_LOGDIR/u.conf" "$ppub" "100.64.0.2/32, fd00:64::2/128" 198.18.1.2:51821
    write_conf "$WGT_LOGDIR/up.conf" "$ppriv" 51821
    add_conf_peer "$WGT_LOGDIR/up.conf" "$dpub" "100.64.0.1/32, fd00:64::1/128" 198.18.1.1:51820
    start_impl wgxdp "$d" "$dif" "$WGT_LOGDIR/u.conf"
    start_impl wireguard-go "$p" "$pif" "$WGT_LOGDIR/up.conf"
    tun_addrs "$d" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$p" "$pif" 100.64.0.2/24 fd00:64::2/64
    assert_ping "$d" 100.64.0.2
    local before=0
    [[ "$WGT_IO_MODE" == xdp ]] && before="$(xdp_program_counter "$(wgxdp_stats_json "$d" "$dif")" too-big)"
    ip -n "$d" link set "$dif" mtu 8921
    ip -n "$p" link set "$pif" mtu 8921
    sleep 0.5
    grep -q "MTU 1420 -> 8921" "$WGT_LOGDIR/wgxdp-$dif.log" ||
        fail "the daemon's log does not show the MTU change: $(tail -n 3 "$WGT_LOGDIR/wgxdp-$dif.log")"
    if [[ "$WGT_IO_MODE" == xdp ]]; then
        # An 8981-byte frame from the peer is more than a UMEM frame takes (4096 less the kernel's 256 of headroom):
        # the steering program must pass it to the kernel socket (too-big) instead of redirecting it to its drop.
        in_ns "$p" ping -n -q -c 1 -W 1 -M do -s $((8921 - 28)) 100.64.0.1 >/dev/null 2>&1 || true
        local after
        after="$(xdp_program_counter "$(wgxdp_stats_json "$d" "$dif")" too-big)"
        assert_gt "frames the steering program passed to the kernel as too big for a UMEM frame" "$after" "$before"
    fi
    # 8921-byte inner packets, unfragmented, both ways (outer v4: 8981 bytes on a 9000-byte link).
    assert_ping "$d" 100.64.0.2 -M do -s $((8921 - 28))
    assert_ping "$p" 100.64.0.1 -M do -s $((8921 - 28))
    assert_ping "$p" fd00:64::1 -s 8000
    st_tcp "$p" 100.64.0.2 "$d"
    st_tcp "$d" 100.64.0.1 "$p"
}

# st_xdp_pass_object FILE: a foreign XDP program (passes everything), compiled with the clang the build uses.
st_xdp_pass_object() {
    printf '%s\n' '__attribute__((section("xdp"), used)) int foreign_pass(void *ctx) { return 2; }' \
        'char _license[] __attribute__((section("license"), used)) = "GPL";' >"$1.c"
    "${CLANG:-clang}" -O2 -target bpf -c "$1.c" -o "$1" || fail "cannot compile the foreign XDP program"
}

# Issue 11, case 6: a foreign XDP program on --link. The refusal names it (id, name, mode), keeps the errno of
# each mode tried (native first) and says how to remove it; --io auto falls back saying the same; --xdp-replace
# replaces it.
test_selftest_foreign_xdp() {
    local d p dif priv pub
    ns_new d f
    ns_new p fp
    ifname dif f
    link_ns "$d" "$p" 1
    keys priv pub
    write_conf "$WGT_LOGDIR/f.conf" "$priv" 51820
    local obj="$WGT_LOGDIR/foreign.o"
    st_xdp_pass_object "$obj"
    ip -n "$d" link set dev ul1 xdpgeneric obj "$obj" sec xdp || fail "cannot attach the foreign program"
    local id
    id="$(ip -n "$d" -d link show dev ul1 | grep -oE 'prog/xdp(generic)? id [0-9]+' | awk '{print $3}')"
    [[ -n "$id" ]] || fail "no program id on ul1 after attaching the foreign program"
    local out
    out="$(in_ns "$d" timeout 20 "$WGT_WGXDP" up "$dif" --config "$WGT_LOGDIR/f.conf" --io xdp --link ul1 2>&1)" &&
        fail "wgxdp --io xdp started over a foreign XDP program: $out"
    log "refusal: $out"
    local want
    for want in "XDP program id $id" '"foreign_pass"' "xdpgeneric mode" "attaching in native mode:" \
        "os error" "ip link set dev ul1 xdpgeneric off" "--xdp-replace"; do
        assert_contains "wgxdp --io xdp's refusal over a foreign program" "$out" "$want"
    done
    if [[ "$WGT_IO_MODE" == socket ]]; then
        # --io auto: the socket path, and the log says what is on the link.
        local log="$WGT_LOGDIR/wgxdp-auto.log"
        in_ns "$d" "$WGT_WGXDP" up "$dif" --config "$WGT_LOGDIR/f.conf" --io auto --link ul1 >"$log" 2>&1 &
        wait_for 10 "wgxdp --io auto to come up" grep -q ": up:" "$log"
        assert_contains "--io auto's fallback message" "$(cat "$log")" "falling back to the socket path"
        assert_contains "--io auto's fallback message" "$(cat "$log")" "XDP program id $id"
        assert_eq "program on ul1 after --io auto" \
            "$(ip -n "$d" -d link show dev ul1 | grep -oE 'prog/xdp(generic)? id [0-9]+' | awk '{print $3}')" "$id"
    else
        local log="$WGT_LOGDIR/wgxdp-replace.log"
        local extra=()
        read -r -a extra <<<"${WGT_DUT_ARGS//\{underlay\}/ul1}"
        in_ns "$d" "$WGT_WGXDP" up "$dif" --config "$WGT_LOGDIR/f.conf" "${extra[@]}" --xdp-replace >"$log" 2>&1 &
        wait_for 10 "wgxdp --xdp-replace to attach" grep -q "AF_XDP on ul1" "$log"
        assert_contains "--xdp-replace's log" "$(cat "$log")" "--xdp-replace: removed the XDP program id $id"
        local now
        now="$(ip -n "$d" -d link show dev ul1 | grep -oE 'prog/xdp[a-z]* id [0-9]+' | awk '{print $3}')"
        [[ -n "$now" && "$now" != "$id" ]] || fail "after --xdp-replace ul1 has program '$now' (the foreign one was $id)"
        log "ul1 now runs program $now (wgxdp's), the foreign $id is gone"
    fi
}

# Issue 11, case 7: the background form logs to syslog (a private /dev/log in a private mount namespace here:
# this machine runs no syslog), to --log-file when asked, to stderr in front; every exit says why.
test_selftest_background_log() {
    local ns
    ns_new ns g
    local if1 if2 if3
    ifname if1 g1
    ifname if2 g2
    ifname if3 g3
    local dir="$WGT_LOGDIR/syslog"
    mkdir -p "$dir"
    # Inside `unshare -m`: /dev becomes a tmpfs holding only what the daemon needs (the tun device, null) and a
    # datagram listener on /dev/log that records every message.
    unshare -m --propagation private bash -s "$WGT_WGXDP" "$ns" "$if1" "$dir" <<'EOF' >"$dir/run.log" 2>&1 ||
set -eu
wgxdp="$1" ns="$2" ifn="$3" dir="$4"
mkdir -p "$dir/realdev"
mount --rbind /dev "$dir/realdev"
mount -t tmpfs tmpfs /dev
mkdir /dev/net
touch /dev/null /dev/net/tun
mount --bind "$dir/realdev/null" /dev/null
mount --bind "$dir/realdev/net/tun" /dev/net/tun
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(8)
print("bound", flush=True)
with open(sys.argv[1], "w") as out:
    try:
        while True:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
    except socket.timeout:
        pass
' "$dir/syslog.txt" >"$dir/listener.out" &
for _ in $(seq 50); do grep -q bound "$dir/listener.out" && break; sleep 0.1; done
ip netns exec "$ns" "$wgxdp" "$ifn" 2>"$dir/parent.err"
for _ in $(seq 50); do grep -q ": up:" "$dir/syslog.txt" 2>/dev/null && break; sleep 0.1; done
ip -n "$ns" link del "$ifn"
for _ in $(seq 50); do grep -q "stopped" "$dir/syslog.txt" 2>/dev/null && break; sleep 0.1; done
EOF
        fail "the syslog run failed: $(tail -n 5 "$dir/run.log")"
    local syslog
    syslog="$(cat "$dir/syslog.txt" 2>/dev/null)"
    log "syslog got:"$'\n'"$syslog"
    assert_contains "syslog of the detached daemon" "$syslog" ">wgxdp["
    assert_contains "syslog of the detached daemon" "$syslog" "$if1: up:"
    assert_contains "syslog of the detached daemon" "$syslog" "$if1: stopped (interface $if1 was deleted"
    [[ -s "$dir/parent.err" ]] && fail "the parent complained although syslog listens: $(cat "$dir/parent.err")"

    log "--log-file, and the warning where no syslog listens"
    local file="$WGT_LOGDIR/g2.log" err
    err="$(in_ns "$ns" "$WGT_WGXDP" --log-file "$file" "$if2" 2>&1)" || fail "wgxdp --log-file $file $if2 failed: $err"
    [[ -z "$err" ]] || fail "wgxdp --log-file printed: $err"
    local pid
    pid="$(ip netns pids "$ns" | head -1)"
    kill -TERM "$pid"
    wait_for 5 "the daemon to exit on SIGTERM" eval "! kill -0 $pid 2>/dev/null"
    assert_contains "--log-file" "$(cat "$file")" "$if2: up:"
    assert_contains "--log-file" "$(cat "$file")" "$if2: stopped (received SIGTERM)"
    if [[ ! -S /dev/log ]]; then
        err="$(in_ns "$ns" "$WGT_WGXDP" "$if3" 2>&1)" || fail "wgxdp $if3 failed: $err"
        assert_contains "the drop-in form without syslog" "$err" "no syslog listens on /dev/log"
        rm -f "/var/run/wireguard/$if3.sock"
        wait_for 5 "the daemon of $if3 to exit" eval "[[ -z \"\$(ip netns pids $ns)\" ]]"
    fi

    log "stderr in the foreground"
    in_ns "$ns" "$WGT_WGXDP" -f "$if3" >"$WGT_LOGDIR/g3.out" 2>"$WGT_LOGDIR/g3.err" &
    wait_for 10 "wgxdp -f $if3's UAPI socket" uapi_socket_ready "$if3"
    ip -n "$ns" link del "$if3"
    wait_for 5 "wgxdp -f $if3 to exit" eval "[[ -z \"\$(ip netns pids $ns)\" ]]"
    assert_contains "wgxdp -f's stderr" "$(cat "$WGT_LOGDIR/g3.err")" "$if3: stopped (interface $if3 was deleted"
}

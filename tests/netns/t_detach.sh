# shellcheck shell=bash
# io: xdp
# Stopping wgxdp gives the link back: after each way the daemon can end (SIGTERM, its interface deleted, its
# UAPI socket removed), the steering program is gone from the link and the link carries ordinary traffic again:
# ping over outer IPv4 and IPv6 both ways, and a UDP datagram shaped like WireGuard transport data to the old
# listen port reaches a plain kernel socket (while attached, the program would have taken it for the dead
# AF_XDP socket).

# udp_reaches RECV_NS RECV_ADDR SEND_NS: a 32-byte datagram of type 4 (transport data) sent from SEND_NS to
# RECV_ADDR:51820 arrives at a kernel UDP socket bound there.
udp_reaches() {
    local rns="$1" raddr="$2" sns="$3" out="$WGT_LOGDIR/udp-recv.out"
    local family=AF_INET
    [[ "$raddr" == *:* ]] && family=AF_INET6
    : >"$out"
    in_ns "$rns" timeout 5 python3 -c '
import socket, sys
s = socket.socket(getattr(socket, sys.argv[1]), socket.SOCK_DGRAM)
s.bind((sys.argv[2], 51820))
print("bound", flush=True)
data, src = s.recvfrom(2048)
print("got", len(data), data[:4].hex(), flush=True)
' "$family" "$raddr" >"$out" 2>&1 &
    local receiver=$!
    wait_for 3 "a UDP receiver on $raddr:51820 in $rns" grep -q bound "$out"
    # Type 4, receiver index 1, counter 0, 16 bytes of "ciphertext": the smallest transport message. Sent up
    # to 3 times: the receiver may still be between bind and recvfrom.
    for _ in 1 2 3; do
        in_ns "$sns" python3 -c '
import socket, sys
s = socket.socket(getattr(socket, sys.argv[1]), socket.SOCK_DGRAM)
s.sendto(bytes([4, 0, 0, 0, 1, 0, 0, 0]) + bytes(8) + bytes(16), (sys.argv[2], 51820))
' "$family" "$raddr"
        grep -q '^got 32 04000000' "$out" && break
        sleep 0.3
    done
    wait "$receiver" 2>/dev/null || true
    grep -q '^got 32 04000000' "$out" ||
        fail "a transport-shaped UDP datagram to $raddr:51820 from $sns did not reach a kernel socket in $rns: $(cat "$out")"
    log "a transport-shaped datagram to $raddr:51820 reached the kernel socket in $rns"
}

# detach_start DNS DIF CONF: starts wgxdp on the link (start_impl checks the program is attached) and checks
# that the tunnel works.
detach_start() {
    local dns="$1" dif="$2" conf="$3"
    start_impl "$WGT_DUT" "$dns" "$dif" "$conf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    assert_ping "$dns" 100.64.0.2
}

# detach_check HOW DNS PNS: after the daemon ended by HOW: no program on ul1, ordinary traffic flows.
detach_check() {
    local how="$1" dns="$2" pns="$3"
    wait_for 5 "wgxdp to exit after $how" eval '[[ -z "$(ip netns pids "$dns")" ]]'
    xdp_attached "$dns" ul1 && fail "after $how: an XDP program is still attached to ul1:
$(ip -n "$dns" -d link show dev ul1)"
    log "after $how: ul1 has no XDP program: $(ip -n "$dns" link show dev ul1 | head -1)"
    assert_ping "$dns" 198.18.1.2
    assert_ping "$pns" 198.18.1.1
    assert_ping "$dns" fd00:198:18:1::2
    assert_ping "$pns" fd00:198:18:1::1
    udp_reaches "$dns" 198.18.1.1 "$pns"
    udp_reaches "$dns" fd00:198:18:1::1 "$pns"
}

test_detach() {
    local dns pns dif pif dpriv dpub ppriv ppub
    two_hosts
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" "100.64.0.2/32, fd00:64::2/128" 198.18.1.2:51821
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" "100.64.0.1/32, fd00:64::1/128"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64

    local pids
    log "SIGTERM"
    detach_start "$dns" "$dif" "$dconf"
    pids="$(ip netns pids "$dns" | tr '\n' ' ')"
    [[ -n "${pids// /}" ]] || fail "no wgxdp process in $dns after start"
    # shellcheck disable=SC2086 # several pids on purpose
    kill -TERM $pids
    detach_check SIGTERM "$dns" "$pns"

    log "deleting the interface"
    detach_start "$dns" "$dif" "$dconf"
    ip -n "$dns" link del "$dif"
    detach_check "\`ip link del $dif\`" "$dns" "$pns"

    log "removing the UAPI socket"
    detach_start "$dns" "$dif" "$dconf"
    rm -f "/var/run/wireguard/$dif.sock"
    detach_check "removing /var/run/wireguard/$dif.sock" "$dns" "$pns"
}

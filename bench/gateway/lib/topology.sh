# shellcheck shell=bash
# The three-namespace bed of the gateway benchmark and of tests/netns/t_loadgen.sh:
#
#   GEN  -- underlay veth --  DUT  -- LAN veth --  SINK
#   198.18.1.2          198.18.1.1   198.19.1.1           198.19.1.2 / fd00:19:1::2
#
# The emulated peers' underlay addresses are 198.18.64.0/18: local in GEN through a local route (so one socket
# answers for all of them and sends from any of them), routed there from DUT through 198.18.1.2. Their tunnel
# addresses are 100.64.0.0/10 and fd00:64::/64, routed by DUT into its WireGuard interface and by SINK to DUT.
# Every address is in the ranges the project tests with (198.18.0.0/15, 100.64.0.0/10, fd00::/8).

GW_GEN_UL_IP=198.18.1.2
GW_DUT_UL_IP=198.18.1.1
GW_DUT_LAN_IP=198.19.1.1
GW_SINK_IP=198.19.1.2
GW_DUT_LAN_IP6=fd00:19:1::1
GW_SINK_IP6=fd00:19:1::2
GW_PEER_SRC_NET=198.18.64.0/18
GW_TUNNEL4=100.64.0.0/10
GW_TUNNEL6=fd00:64::/64
GW_PORT=51820

# gw_links GEN DUT SINK PREFIX: creates the two veth pairs and the addressing between three existing namespaces.
# Interfaces: PREFIXg (GEN) <-> PREFIXu (DUT underlay), PREFIXl (DUT LAN) <-> PREFIXs (SINK). PREFIX is at most 14
# characters. Fails (status 1) on the first command that fails.
gw_links() {
    local gen="$1" dut="$2" sink="$3" p="$4"
    ip -n "$gen" link add name "${p}g" type veth peer name "${p}u" netns "$dut" || return 1
    ip -n "$dut" link add name "${p}l" type veth peer name "${p}s" netns "$sink" || return 1
    ip -n "$gen" addr add "$GW_GEN_UL_IP/24" dev "${p}g" || return 1
    ip -n "$dut" addr add "$GW_DUT_UL_IP/24" dev "${p}u" || return 1
    ip -n "$dut" addr add "$GW_DUT_LAN_IP/24" dev "${p}l" || return 1
    ip -n "$dut" -6 addr add "$GW_DUT_LAN_IP6/64" dev "${p}l" nodad || return 1
    ip -n "$sink" addr add "$GW_SINK_IP/24" dev "${p}s" || return 1
    ip -n "$sink" -6 addr add "$GW_SINK_IP6/64" dev "${p}s" nodad || return 1
    local ns dev
    for ns in "$gen" "$dut" "$sink"; do ip -n "$ns" link set lo up || return 1; done
    for dev in "$gen:${p}g" "$dut:${p}u" "$dut:${p}l" "$sink:${p}s"; do
        ip -n "${dev%%:*}" link set "${dev#*:}" up || return 1
    done
    # Permanent neighbour entries on both links: no packet of a test waits for (or is dropped behind) ARP or
    # neighbour discovery, which at the start of a run would otherwise cost an IPv6 flow hundreds of milliseconds.
    gw_neigh "$dut" "${p}u" "$GW_GEN_UL_IP" "$gen" "${p}g" || return 1
    gw_neigh "$gen" "${p}g" "$GW_DUT_UL_IP" "$dut" "${p}u" || return 1
    gw_neigh "$dut" "${p}l" "$GW_SINK_IP" "$sink" "${p}s" || return 1
    gw_neigh "$dut" "${p}l" "$GW_SINK_IP6" "$sink" "${p}s" || return 1
    gw_neigh "$sink" "${p}s" "$GW_DUT_LAN_IP" "$dut" "${p}l" || return 1
    gw_neigh "$sink" "${p}s" "$GW_DUT_LAN_IP6" "$dut" "${p}l" || return 1
    ip -n "$gen" route add local "$GW_PEER_SRC_NET" dev lo || return 1
    ip -n "$dut" route add "$GW_PEER_SRC_NET" via "$GW_GEN_UL_IP" || return 1
    ip -n "$sink" route add "$GW_TUNNEL4" via "$GW_DUT_LAN_IP" || return 1
    ip -n "$sink" -6 route add "$GW_TUNNEL6" via "$GW_DUT_LAN_IP6" || return 1
    ip netns exec "$dut" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
}

# gw_neigh NS DEV ADDRESS PEER_NS PEER_DEV: a permanent neighbour entry in NS on DEV for ADDRESS, at PEER_DEV's MAC.
gw_neigh() {
    local mac
    mac="$(ip -n "$4" -br link show dev "$5" | awk '{ print $3 }')"
    [[ -n "$mac" ]] || return 1
    ip -n "$1" neigh replace "$3" lladdr "$mac" dev "$2" nud permanent
}

# gw_tunnel_routes DUT IFNAME MTU: addresses and routes of the DUT's WireGuard interface once it exists.
gw_tunnel_routes() {
    local dut="$1" ifname="$2" mtu="$3"
    ip -n "$dut" link set "$ifname" mtu "$mtu" up || return 1
    ip -n "$dut" -6 addr add fd00:64:ffff::1/128 dev "$ifname" nodad 2>/dev/null
    ip -n "$dut" route add "$GW_TUNNEL4" dev "$ifname" || return 1
    ip -n "$dut" -6 route add "$GW_TUNNEL6" dev "$ifname" || return 1
    ip netns exec "$dut" sysctl -qw "net.ipv4.conf.$ifname.rp_filter=0" 2>/dev/null
    return 0
}

# gw_napi NS DEV CPU: makes DEV receive through NAPI (GRO on: veth then uses it) in a kernel thread of its own, and
# pins that thread to CPU. On veth the receive work otherwise runs as softirq of whichever CPU transmitted, so the
# DUT's receive path would be charged to the generator's CPU: with this, every DUT-side interface does its receive
# work on the DUT's core, as a NIC's interrupts would, and the sink's interfaces on the generator's.
gw_napi() {
    local ns="$1" dev="$2" cpu="$3"
    ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null 2>&1 || return 1
    ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded" || return 1
    gw_napi_pin "$dev" "$cpu"
}

# gw_napi_pin DEV CPU: pins DEV's NAPI threads (kernel threads named napi/DEV-ID) to CPU; fails if there is none.
# Call again after anything that recreates them (attaching an XDP program may).
gw_napi_pin() {
    local dev="$1" cpu="$2" comm_file comm pid found=0
    for comm_file in /proc/[0-9]*/comm; do
        { read -r comm <"$comm_file"; } 2>/dev/null || continue
        [[ "$comm" == "napi/$dev-"* ]] || continue
        pid="${comm_file#/proc/}"
        pid="${pid%/comm}"
        taskset -pc "$cpu" "$pid" >/dev/null 2>&1 && found=1
    done
    ((found))
}

# gw_napi_threads: every NAPI thread with its CPU list, for the record.
gw_napi_threads() {
    local comm_file comm pid
    for comm_file in /proc/[0-9]*/comm; do
        { read -r comm <"$comm_file"; } 2>/dev/null || continue
        [[ "$comm" == napi/* ]] || continue
        pid="${comm_file#/proc/}"
        pid="${pid%/comm}"
        echo "$comm pid $pid cpus $(taskset -pc "$pid" 2>/dev/null | sed 's/.*: //')"
    done
}

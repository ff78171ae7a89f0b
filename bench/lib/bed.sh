# shellcheck shell=bash
# The test bed of the benchmark: two network namespaces joined by a veth pair (the underlay), the same WireGuard
# implementation started on both ends, and teardown of everything on exit. Sourced by bench/run.sh.
#
# Address plan (only ranges reserved for benchmarking / shared address space / ULA):
#   underlay: 198.18.0.1/24 (side a) <-> 198.18.0.2/24 (side b), MTU 1500
#   tunnel:   100.64.0.1/24 (side a) <-> 100.64.0.2/24 (side b), fd00:64::1/2
# Names carry the run's PID so that concurrent runs (and the netns test suite) never collide: UAPI sockets in
# /var/run/wireguard are global across namespaces, so tunnel interface names must differ between sides and runs.

BED_TAG="$(($$ % 100000))"
BED_NS_A="wgb-$$-a"
BED_NS_B="wgb-$$-b"
BED_UL_A="wbu${BED_TAG}a"
BED_UL_B="wbu${BED_TAG}b"
BED_TUN_A="wbt${BED_TAG}a"
BED_TUN_B="wbt${BED_TAG}b"
BED_UL_IP_A=198.18.0.1
BED_UL_IP_B=198.18.0.2
BED_TUN_IP_A=100.64.0.1
BED_TUN_IP_B=100.64.0.2
BED_PORT=51820
# 1400 B of UDP payload is a 1428 B inner packet; WireGuard pads it to 1440 and adds 32 B of header and tag plus
# 28 B of outer IPv4/UDP: exactly the 1500 B underlay MTU. The usual 1420 would fragment it.
BED_TUN_MTU=1440

# PIDs of the daemons on side a and b of the current bed (empty for bare veth).
BED_PID_A=""
BED_PID_B=""

bed_log() { echo "[$(date +%T)] $*" >&2; }

# bed_pids: every process left in our namespaces.
bed_pids() {
    ip netns pids "$BED_NS_A" 2>/dev/null
    ip netns pids "$BED_NS_B" 2>/dev/null
}

# bed_down: kills every process left in our namespaces (by PID) and deletes them; removes leftover UAPI sockets.
# Safe to call repeatedly; it is also the EXIT trap.
bed_down() {
    local ns pid
    for ns in "$BED_NS_A" "$BED_NS_B"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
    done
    local waited=0
    while ((waited < 20)) && [[ -n "$(bed_pids)" ]]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    for ns in "$BED_NS_A" "$BED_NS_B"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    # Throwaway keys, but a results folder may be shared or committed: no private key stays in it.
    [[ -n "$BED_CONF_DIR" ]] && rm -f "$BED_CONF_DIR/a.conf" "$BED_CONF_DIR/b.conf"
    rm -f "/var/run/wireguard/$BED_TUN_A.sock" "/var/run/wireguard/$BED_TUN_B.sock" \
        "/var/run/wgxdp/$BED_TUN_A.ctl" "/var/run/wgxdp/$BED_TUN_B.ctl"
    BED_PID_A=""
    BED_PID_B=""
    return 0
}

# bed_underlay [BED]: the two namespaces and the veth between them, with one RX/TX queue per CPU (BENCH_QUEUES) for
# every implementation alike: wgxdp's AF_XDP path runs one worker per RX queue, the others are unaffected.
# BED gso (default): veth as created, which passes 64 KiB GSO/GRO super-packets between the namespaces untouched.
# BED mtu ("MTU wire"): GSO, TSO, GRO and UDP segmentation off on both ends, so every implementation puts
# MTU-sized frames on the wire, as a physical NIC would carry them.
bed_underlay() {
    local bed="${1:-gso}"
    local queues="${BENCH_QUEUES:-$(nproc)}"
    ip netns add "$BED_NS_A" && ip netns add "$BED_NS_B" || return 1
    ip -n "$BED_NS_A" link set lo up
    ip -n "$BED_NS_B" link set lo up
    ip -n "$BED_NS_A" link add name "$BED_UL_A" mtu 1500 numrxqueues "$queues" numtxqueues "$queues" type veth \
        peer name "$BED_UL_B" mtu 1500 numrxqueues "$queues" numtxqueues "$queues" netns "$BED_NS_B" ||
        return 1
    ip -n "$BED_NS_A" addr add "$BED_UL_IP_A/24" dev "$BED_UL_A"
    ip -n "$BED_NS_B" addr add "$BED_UL_IP_B/24" dev "$BED_UL_B"
    if [[ "$bed" == mtu ]]; then
        local ns dev
        for ns_dev in "$BED_NS_A:$BED_UL_A" "$BED_NS_B:$BED_UL_B"; do
            ns="${ns_dev%%:*}" dev="${ns_dev#*:}"
            ip netns exec "$ns" ethtool -K "$dev" gso off tso off gro off tx-udp-segmentation off \
                >/dev/null 2>&1 || return 1
        done
    fi
    ip -n "$BED_NS_A" link set "$BED_UL_A" up
    ip -n "$BED_NS_B" link set "$BED_UL_B" up
}

# bed_write_conf FILE PRIVATE_KEY PEER_PUBLIC_KEY PEER_TUNNEL_IP PEER_ENDPOINT: one side's `wg setconf` file.
bed_write_conf() {
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$2" "$BED_PORT" >"$1"
    printf '[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s:%s\n' "$3" "$4" "$5" "$BED_PORT" >>"$1"
}

# bed_start_daemon IMPL NS IFNAME UNDERLAY CONF LOG: starts one implementation in the foreground as a background
# job of this shell and prints its PID. `ip netns exec` execs the command, so $! is the daemon itself and
# /proc/$!/stat is its CPU account.
bed_start_daemon() {
    local impl="$1" ns="$2" ifname="$3" underlay="$4" conf="$5" logfile="$6"
    case "$impl" in
    wgxdp-socket)
        # shellcheck disable=SC2086 # BENCH_WGXDP_ARGS: extra options, split on purpose
        ip netns exec "$ns" "$BENCH_WGXDP" up "$ifname" --config "$conf" --io socket --mtu "$BED_TUN_MTU" \
            ${BENCH_WGXDP_ARGS:-} >>"$logfile" 2>&1 &
        ;;
    wgxdp-xdp | wgxdp-xdp-*)
        local variant=()
        case "$impl" in
        wgxdp-xdp-spin) variant=(--spin-us 50 --busy-poll-us 20) ;;
        wgxdp-xdp-spin-[0-9]*) variant=(--spin-us "${impl#wgxdp-xdp-spin-}") ;;
        wgxdp-xdp-generic) variant=(--xdp-mode generic) ;;
        esac
        # shellcheck disable=SC2086 # BENCH_WGXDP_ARGS: extra options, split on purpose
        ip netns exec "$ns" "$BENCH_WGXDP" up "$ifname" --config "$conf" --io xdp --link "$underlay" \
            --mtu "$BED_TUN_MTU" "${variant[@]}" ${BENCH_WGXDP_ARGS:-} >>"$logfile" 2>&1 &
        ;;
    wireguard-go)
        ip netns exec "$ns" wireguard-go -f "$ifname" >>"$logfile" 2>&1 &
        ;;
    wireguard-go-bpo)
        ip netns exec "$ns" "$BENCH_WGGO_BPO" -f "$ifname" >>"$logfile" 2>&1 &
        ;;
    gotatun)
        # shellcheck disable=SC2094 # gotatun writes its log file itself; stdout/stderr only catch start-up errors.
        WG_SUDO=1 ip netns exec "$ns" "$BENCH_GOTATUN" --foreground --disable-drop-privileges --log "$logfile" \
            "$ifname" >>"$logfile" 2>&1 &
        ;;
    boringtun | boringtun-t1)
        local threads=()
        [[ "$impl" == boringtun-t1 ]] && threads=(--threads 1)
        # shellcheck disable=SC2094 # boringtun writes its log file itself; stdout/stderr only catch start-up errors.
        WG_SUDO=1 ip netns exec "$ns" "$BENCH_BORINGTUN" --foreground --disable-drop-privileges "${threads[@]}" \
            --log "$logfile" "$ifname" >>"$logfile" 2>&1 &
        ;;
    *)
        echo "unknown implementation $impl" >>"$logfile"
        return 1
        ;;
    esac
    echo $!
}

# bed_wait_daemon PID IFNAME LOG: waits (at most 15 s) until the daemon's UAPI socket exists; fails with the
# daemon's own last words if it exits first.
bed_wait_daemon() {
    local pid="$1" ifname="$2" logfile="$3" deadline=$((SECONDS + 15))
    until [[ -S "/var/run/wireguard/$ifname.sock" ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            BED_ERROR="exited at start: $(grep -v '^\s*$' "$logfile" | head -n 1)"
            [[ "$BED_ERROR" == "exited at start: " ]] && BED_ERROR="exited at start without a message"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            BED_ERROR="no UAPI socket /var/run/wireguard/$ifname.sock after 15 s"
            return 1
        fi
        sleep 0.05
    done
}

# bed_up IMPL LOGDIR [BED]: builds the bed (gso or mtu, see bed_underlay) for IMPL and waits for the first packet
# through it. On failure returns 1 with
# the reason in BED_ERROR (the caller turns that into a SKIP line). Sets BENCH_DST (the address iperf3 and ping
# target from side a) and BED_PID_A/B.
BED_ERROR=""
BED_CONF_DIR=""
bed_up() {
    local impl="$1" logdir="$2" bed="${3:-gso}"
    BED_ERROR=""
    BED_CONF_DIR="$logdir"
    bed_underlay "$bed" || {
        BED_ERROR="cannot create namespaces/veth (bed $bed)"
        return 1
    }
    if [[ "$impl" == bare ]]; then
        BENCH_DST="$BED_UL_IP_B"
        return 0
    fi
    local priv_a pub_a priv_b pub_b
    if ! { priv_a="$(wg genkey)" && pub_a="$(wg pubkey <<<"$priv_a")" &&
        priv_b="$(wg genkey)" && pub_b="$(wg pubkey <<<"$priv_b")"; }; then
        BED_ERROR="wg genkey failed"
        return 1
    fi
    bed_write_conf "$logdir/a.conf" "$priv_a" "$pub_b" "$BED_TUN_IP_B" "$BED_UL_IP_B"
    bed_write_conf "$logdir/b.conf" "$priv_b" "$pub_a" "$BED_TUN_IP_A" "$BED_UL_IP_A"
    BED_PID_A="$(bed_start_daemon "$impl" "$BED_NS_A" "$BED_TUN_A" "$BED_UL_A" "$logdir/a.conf" \
        "$logdir/daemon-a.log")" || return 1
    BED_PID_B="$(bed_start_daemon "$impl" "$BED_NS_B" "$BED_TUN_B" "$BED_UL_B" "$logdir/b.conf" \
        "$logdir/daemon-b.log")" || return 1
    bed_wait_daemon "$BED_PID_A" "$BED_TUN_A" "$logdir/daemon-a.log" || return 1
    bed_wait_daemon "$BED_PID_B" "$BED_TUN_B" "$logdir/daemon-b.log" || return 1
    local side ns ifname conf ip
    for side in a b; do
        if [[ "$side" == a ]]; then
            ns="$BED_NS_A" ifname="$BED_TUN_A" conf="$logdir/a.conf" ip="$BED_TUN_IP_A"
        else
            ns="$BED_NS_B" ifname="$BED_TUN_B" conf="$logdir/b.conf" ip="$BED_TUN_IP_B"
        fi
        local deadline=$((SECONDS + 5))
        until ip -n "$ns" link show dev "$ifname" >/dev/null 2>&1; do
            ((SECONDS < deadline)) || {
                BED_ERROR="interface $ifname never appeared"
                return 1
            }
            sleep 0.05
        done
        # wgxdp applies --config itself; the others are configured over UAPI like wg-quick does.
        if [[ "$impl" != wgxdp-* ]]; then
            ip netns exec "$ns" wg setconf "$ifname" "$conf" 2>>"$logdir/daemon-$side.log" || {
                BED_ERROR="wg setconf $ifname failed"
                return 1
            }
        fi
        ip -n "$ns" addr add "$ip/24" dev "$ifname"
        ip -n "$ns" link set "$ifname" mtu "$BED_TUN_MTU" up || {
            BED_ERROR="cannot set $ifname up with MTU $BED_TUN_MTU"
            return 1
        }
    done
    BENCH_DST="$BED_TUN_IP_B"
    # The first reply proves the handshake is done, so no measurement pays for it.
    local deadline=$((SECONDS + 10))
    until ip netns exec "$BED_NS_A" ping -n -q -c 1 -W 1 "$BENCH_DST" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || {
            BED_ERROR="no ping reply through the tunnel within 10 s"
            return 1
        }
    done
}

# bed_cpu_ticks: "TICKS_A TICKS_B", utime+stime of both daemons (all threads) from /proc/PID/stat, or "na na".
bed_cpu_ticks() {
    local ticks=() pid stat fields
    for pid in "$BED_PID_A" "$BED_PID_B"; do
        if [[ -n "$pid" ]] && stat="$(cat "/proc/$pid/stat" 2>/dev/null)"; then
            # The command name (field 2) may contain spaces; everything after its closing parenthesis is fixed.
            read -r -a fields <<<"${stat##*) }"
            ticks+=("$((fields[11] + fields[12]))")
        else
            ticks+=(na)
        fi
    done
    echo "${ticks[*]}"
}

# machine_busy_ticks: busy clock ticks of the whole machine so far (every CPU: user, nice, system, irq, softirq and
# steal from /proc/stat), so kernel work done outside the daemons (softirq, ksoftirqd, the iperf3s) is counted too.
machine_busy_ticks() {
    awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}

# bed_daemons_alive: both daemons still running (bare veth has none and is always "alive").
bed_daemons_alive() {
    local pid
    for pid in "$BED_PID_A" "$BED_PID_B"; do
        [[ -z "$pid" ]] || kill -0 "$pid" 2>/dev/null || return 1
    done
}

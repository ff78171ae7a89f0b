# shellcheck shell=bash
# The device under test of the gateway benchmark: which implementations exist, how each is started on one CPU,
# and the bed around it (lib/topology.sh). Sourced by bench/gateway/run.sh, which sets BENCH_WGXDP, TOOLS,
# DUT_CPU and GEN_CPU.

GW_TAG="$(($$ % 100000))"
GW_NS_GEN="wgl-$$-g"
GW_NS_DUT="wgl-$$-d"
GW_NS_SINK="wgl-$$-s"
# Interface names stay within 9 characters so the NAPI threads' names (napi/DEV-ID, 15 at most) keep them whole.
GW_PREFIX="wgl$GW_TAG"
GW_DEV_GEN="${GW_PREFIX}g"
GW_DEV_SINK="${GW_PREFIX}s"
GW_IF="wgl${GW_TAG}w"
GW_DUT_PID=""
GW_DUT_PUB=""
GW_ERROR=""

gw_gotatun() {
    local b
    for b in "$TOOLS/bin/gotatun" "$TOOLS/bin/gotatun-cli"; do [[ -x "$b" ]] && { echo "$b"; return; }; done
    command -v gotatun || command -v gotatun-cli || true
}

gw_boringtun() {
    if [[ -x "$TOOLS/bin/boringtun-cli" ]]; then echo "$TOOLS/bin/boringtun-cli"; else command -v boringtun-cli || true; fi
}

# gw_dut_missing IMPL: why IMPL cannot run here (empty when it can).
gw_dut_missing() {
    command -v wg >/dev/null || { echo "wg (wireguard-tools) not installed"; return; }
    case "$1" in
    wgxdp-*) [[ -x "$BENCH_WGXDP" ]] || echo "no wgxdp binary at $BENCH_WGXDP" ;;
    wireguard-go) command -v wireguard-go >/dev/null || echo "wireguard-go not installed" ;;
    wireguard-go-bpo) [[ -x "$TOOLS/wireguard-go-bpo/usr/bin/wireguard-go" ]] ||
        echo "no bookworm-backports wireguard-go in $TOOLS/wireguard-go-bpo (tests/netns/install-peers.sh --bench)" ;;
    boringtun) [[ -n "$(gw_boringtun)" ]] || echo "boringtun-cli not installed" ;;
    gotatun) [[ -n "$(gw_gotatun)" ]] || echo "gotatun not installed (tests/netns/install-peers.sh --bench)" ;;
    esac
}

gw_dut_version() {
    case "$1" in
    wgxdp-*) "$BENCH_WGXDP" --version 2>/dev/null | head -n 1 ;;
    wireguard-go) echo "$(wireguard-go --version 2>/dev/null | head -n 1) (Debian $(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null))" ;;
    wireguard-go-bpo) echo "bookworm-backports $(cat "$TOOLS/wireguard-go-bpo/VERSION" 2>/dev/null)" ;;
    boringtun) "$(gw_boringtun)" --version 2>/dev/null | head -n 1 ;;
    gotatun) "$(gw_gotatun)" --version 2>/dev/null | head -n 1 ;;
    esac
}

# gw_dut_start IMPL CONF LOG: starts IMPL on GW_IF in the DUT namespace, pinned to DUT_CPU; sets GW_DUT_PID.
# `ip netns exec` and `taskset` exec, so the PID is the daemon's own.
gw_dut_start() {
    local impl="$1" conf="$2" logfile="$3" pin=(taskset -c "$DUT_CPU")
    case "$impl" in
    wgxdp-xdp)
        ip netns exec "$GW_NS_DUT" "${pin[@]}" "$BENCH_WGXDP" up "$GW_IF" --config "$conf" --io xdp \
            --link "${GW_PREFIX}u" --workers 1 --cpus "$DUT_CPU" >>"$logfile" 2>&1 &
        ;;
    wgxdp-socket)
        ip netns exec "$GW_NS_DUT" "${pin[@]}" "$BENCH_WGXDP" up "$GW_IF" --config "$conf" --io socket \
            --workers 1 >>"$logfile" 2>&1 &
        ;;
    wireguard-go) ip netns exec "$GW_NS_DUT" "${pin[@]}" wireguard-go -f "$GW_IF" >>"$logfile" 2>&1 & ;;
    wireguard-go-bpo)
        ip netns exec "$GW_NS_DUT" "${pin[@]}" "$TOOLS/wireguard-go-bpo/usr/bin/wireguard-go" -f "$GW_IF" \
            >>"$logfile" 2>&1 &
        ;;
    boringtun)
        # shellcheck disable=SC2094 # boringtun writes its log itself; stdout/stderr only catch start-up errors.
        WG_SUDO=1 ip netns exec "$GW_NS_DUT" "${pin[@]}" "$(gw_boringtun)" --foreground --disable-drop-privileges \
            --threads 1 --log "$logfile" "$GW_IF" >>"$logfile" 2>&1 &
        ;;
    gotatun)
        # shellcheck disable=SC2094
        WG_SUDO=1 ip netns exec "$GW_NS_DUT" "${pin[@]}" "$(gw_gotatun)" --foreground --disable-drop-privileges \
            --log "$logfile" "$GW_IF" >>"$logfile" 2>&1 &
        ;;
    *) echo "unknown implementation $impl" >>"$logfile"; return 1 ;;
    esac
    GW_DUT_PID=$!
}

gw_dut_alive() { [[ -n "$GW_DUT_PID" ]] && kill -0 "$GW_DUT_PID" 2>/dev/null; }

# gw_bed_up IMPL DIR: namespaces, links, the DUT up with its key and port, routes and NAPI threads pinned. On
# failure returns 1 with the reason in GW_ERROR.
gw_bed_up() {
    local impl="$1" dir="$2" ns
    GW_ERROR=""
    for ns in "$GW_NS_GEN" "$GW_NS_DUT" "$GW_NS_SINK"; do
        ip netns add "$ns" || { GW_ERROR="cannot create namespace $ns"; return 1; }
    done
    gw_links "$GW_NS_GEN" "$GW_NS_DUT" "$GW_NS_SINK" "$GW_PREFIX" || { GW_ERROR="cannot build the links"; return 1; }
    local priv
    priv="$(wg genkey)" && GW_DUT_PUB="$(wg pubkey <<<"$priv")" || { GW_ERROR="wg genkey failed"; return 1; }
    local conf="$dir/dut.conf"
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' "$priv" "$GW_PORT" >"$conf"
    gw_dut_start "$impl" "$conf" "$dir/dut.log" || { GW_ERROR="cannot start $impl"; return 1; }
    local deadline=$((SECONDS + 15))
    until [[ -S "/var/run/wireguard/$GW_IF.sock" ]] && ip -n "$GW_NS_DUT" link show dev "$GW_IF" >/dev/null 2>&1; do
        if ! gw_dut_alive; then
            GW_ERROR="$impl exited at start: $(grep -v '^\s*$' "$dir/dut.log" | tail -n 1)"
            return 1
        fi
        ((SECONDS < deadline)) || { GW_ERROR="$impl: no UAPI socket and interface after 15 s"; return 1; }
        sleep 0.05
    done
    if [[ "$impl" != wgxdp-* ]]; then
        ip netns exec "$GW_NS_DUT" wg setconf "$GW_IF" "$conf" 2>>"$dir/dut.log" || { GW_ERROR="wg setconf failed"; return 1; }
    fi
    rm -f "$conf"
    gw_tunnel_routes "$GW_NS_DUT" "$GW_IF" 1420 || { GW_ERROR="cannot route into $GW_IF"; return 1; }
    gw_napi "$GW_NS_DUT" "${GW_PREFIX}u" "$DUT_CPU" && gw_napi "$GW_NS_DUT" "${GW_PREFIX}l" "$DUT_CPU" &&
        gw_napi "$GW_NS_GEN" "$GW_DEV_GEN" "$GEN_CPU" && gw_napi "$GW_NS_SINK" "$GW_DEV_SINK" "$GEN_CPU" ||
        { GW_ERROR="cannot put the veth NAPI threads on their CPUs"; return 1; }
}

# gw_bed_down: every process of our namespaces (by PID), the namespaces, the leftover UAPI socket. Idempotent.
gw_bed_down() {
    local ns pid waited=0
    for ns in "$GW_NS_GEN" "$GW_NS_DUT" "$GW_NS_SINK"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
    done
    while ((waited < 30)) && [[ -n "$(for ns in "$GW_NS_GEN" "$GW_NS_DUT" "$GW_NS_SINK"; do ip netns pids "$ns" 2>/dev/null; done)" ]]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    for ns in "$GW_NS_GEN" "$GW_NS_DUT" "$GW_NS_SINK"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -f "/var/run/wireguard/$GW_IF.sock" "/var/run/wgxdp/$GW_IF.ctl"
    GW_DUT_PID=""
    return 0
}

# shellcheck shell=bash
# Daemon lifecycle, as wg-quick and wireguard-go users rely on it: the daemon ends (and removes its sockets) on
# SIGTERM, when its interface is deleted, and when its UAPI socket file is removed; a second daemon for a name
# whose daemon is alive refuses to start and leaves the first one serving.

# lifecycle_start NS IFNAME CONF: starts the device under test and prints its pid(s) in NS.
lifecycle_start() {
    start_impl "$WGT_DUT" "$1" "$2" "$3" >&2
    ip netns pids "$1" | tr '\n' ' '
}

daemon_gone() { [[ -z "$(ip netns pids "$1")" ]]; }

test_lifecycle() {
    local ns ifn priv pub conf pids
    ns_new ns l
    ifname ifn l
    keys priv pub
    conf="$WGT_LOGDIR/l.conf"
    write_conf "$conf" "$priv" 0

    log "SIGTERM ends the daemon and removes its sockets"
    pids="$(lifecycle_start "$ns" "$ifn" "$conf")"
    [[ -n "${pids// /}" ]] || fail "no daemon process in $ns after start"
    # shellcheck disable=SC2086 # several pids on purpose
    kill -TERM $pids
    wait_for 5 "the daemon to exit after SIGTERM" daemon_gone "$ns"
    [[ -e "/var/run/wireguard/$ifn.sock" ]] && fail "UAPI socket /var/run/wireguard/$ifn.sock left after SIGTERM"
    if dut_is_wgxdp; then
        [[ -e "/var/run/wgxdp/$ifn.ctl" ]] && fail "control socket /var/run/wgxdp/$ifn.ctl left after SIGTERM"
    fi

    log "deleting the interface ends the daemon"
    lifecycle_start "$ns" "$ifn" "$conf" >/dev/null
    ip -n "$ns" link del "$ifn"
    wait_for 5 "the daemon to exit after \`ip link del $ifn\`" daemon_gone "$ns"

    log "removing the UAPI socket ends the daemon"
    lifecycle_start "$ns" "$ifn" "$conf" >/dev/null
    rm -f "/var/run/wireguard/$ifn.sock"
    wait_for 5 "the daemon to exit after its UAPI socket was removed" daemon_gone "$ns"
    link_exists "$ns" "$ifn" >/dev/null 2>&1 && fail "interface $ifn still exists after its daemon exited"

    if dut_is_wgxdp; then
        log "a second daemon for a live name refuses to start"
        lifecycle_start "$ns" "$ifn" "$conf" >/dev/null
        local other out
        ns_new other l2
        out="$(in_ns "$other" timeout 10 "$WGT_WGXDP" up "$ifn" --config "$conf" 2>&1)" &&
            fail "a second \`wgxdp up $ifn\` while the first is alive: expected a non-zero exit, it succeeded: $out"
        log "second daemon refused: $(tail -n 1 <<<"$out")"
        [[ -n "$(ip netns pids "$other")" ]] && fail "the second daemon is still running"
        local port
        port="$(timeout 5 ip netns exec "$ns" wg show "$ifn" listen-port)" ||
            fail "the first daemon no longer answers on /var/run/wireguard/$ifn.sock"
        assert_gt "listen port reported by the first daemon" "$port" 0
    fi
}

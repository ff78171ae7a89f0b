# shellcheck shell=bash
# io: socket xdp
# `--metrics ADDR:PORT` (and WGXDP_METRICS, the drop-in's form): the gateway D (wgxdp) serves OpenMetrics text at
# /metrics while it carries ping and iperf3 traffic to and from P (wireguard-go). Scraped with curl, a real HTTP
# client: the per-peer byte counters (prometheus_wireguard_exporter's names) grow, the latest handshake is a Unix
# time, the workers' counters grow, and on the xdp path the AF_XDP sockets' frames and the steering program's
# redirects grow too. Bad requests (another path, another method, garbage, a head too large, clients that
# connect and say nothing) get 404/405/400/431 or are dropped on a timeout, and the daemon serves on.

METRICS_ADDR=127.0.0.1:9586

# scrape NS: GET /metrics, the body (fails the test if the answer is not 200 within 5 s).
scrape() {
    local out
    out="$(in_ns "$1" curl -sS --fail --max-time 5 "http://$METRICS_ADDR/metrics" 2>&1)" ||
        fail "GET http://$METRICS_ADDR/metrics in $1 failed: $out"
    printf '%s\n' "$out"
}

# scrape_ok NS: the endpoint answers 200 now.
scrape_ok() { in_ns "$1" curl -s --fail --max-time 3 -o /dev/null "http://$METRICS_ADDR/metrics"; }

# metric TEXT NAME [LABEL]: the sum of the samples of NAME whose labels contain LABEL (e.g. public_key="...").
metric() {
    awk -v n="$2" -v l="${3:-}" '
        (index($1, n "{") == 1 || $1 == n) && index($1, l) { s += $NF; found = 1 }
        END { if (!found) exit 1; printf "%d\n", s }' <<<"$1" ||
        fail "no sample of $2${3:+ with $3} in the scrape:
$(head -c 2000 <<<"$1")"
}

# http_status NS CURL_ARGS...: the status code curl saw.
http_status() {
    local ns="$1"
    shift
    in_ns "$ns" curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@" || true
}

# raw_status NS BYTES_FILE: sends the file's bytes over a plain TCP connection, prints the status code answered
# (or "none").
raw_status() {
    in_ns "$1" python3 - "$METRICS_ADDR" "$2" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
answer = b""
try:
    while chunk := s.recv(4096):
        answer += chunk
except OSError:
    pass
parts = answer.split(b" ", 2)
print(parts[1].decode() if len(parts) > 1 and answer.startswith(b"HTTP/1.") else "none")
EOF
}

# Two namespaces, D (wgxdp, serving metrics) and P (wireguard-go); sets dns pns dif pif dpub ppub dlog.
metrics_setup() {
    local dut="$1" dpriv ppriv
    two_hosts
    local dconf="$WGT_LOGDIR/d.conf" pconf="$WGT_LOGDIR/p.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$ppub" 100.64.0.2/32,fd00:64::2/128
    write_conf "$pconf" "$ppriv" 51821
    add_conf_peer "$pconf" "$dpub" 100.64.0.1/32,fd00:64::1/128 "198.18.1.1:51820"
    start_impl "$dut" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$pns" "$pif" "$pconf"
    tun_addrs "$dns" "$dif" 100.64.0.1/24 fd00:64::1/64
    tun_addrs "$pns" "$pif" 100.64.0.2/24 fd00:64::2/64
    dlog="$WGT_LOGDIR/$dut-$dif.log"
}

test_metrics_scrape() {
    dut_is_wgxdp || skip "device under test is $WGT_DUT: /metrics is wgxdp's"
    local dns pns dif pif dpub ppub dlog
    local saved_args="$WGT_DUT_ARGS"
    WGT_DUT_ARGS="$WGT_DUT_ARGS --metrics $METRICS_ADDR"
    metrics_setup wgxdp
    WGT_DUT_ARGS="$saved_args"
    wait_for 5 "/metrics answering in $dns" scrape_ok "$dns"
    assert_contains "wgxdp's log" "$(cat "$dlog")" "metrics at http://$METRICS_ADDR/metrics"

    local m0 m1 peer="public_key=\"$ppub\""
    m0="$(scrape "$dns")"
    assert_contains "a scrape" "$m0" "# EOF"
    assert_contains "a scrape" "$m0" "# TYPE wireguard_sent_bytes counter"
    assert_ping "$pns" 100.64.0.1
    assert_bulk "$dns" 100.64.0.1 "$pns"
    assert_bulk "$dns" 100.64.0.1 "$pns" -R
    m1="$(scrape "$dns")"

    local rx0 rx1 tx0 tx1 hs wrx0 wrx1 wg_rx
    rx0="$(metric "$m0" wireguard_received_bytes_total "$peer")"
    rx1="$(metric "$m1" wireguard_received_bytes_total "$peer")"
    tx0="$(metric "$m0" wireguard_sent_bytes_total "$peer")"
    tx1="$(metric "$m1" wireguard_sent_bytes_total "$peer")"
    hs="$(metric "$m1" wireguard_latest_handshake_seconds "$peer")"
    wrx0="$(metric "$m0" wgxdp_worker_tun_tx_packets_total)"
    wrx1="$(metric "$m1" wgxdp_worker_tun_tx_packets_total)"
    log "peer P: received $rx0 -> $rx1 bytes, sent $tx0 -> $tx1 bytes, latest handshake $hs; workers' TUN writes $wrx0 -> $wrx1 packets"
    assert_gt "wireguard_received_bytes_total of P grew by 1 MiB" $((rx1 - rx0)) 1048576
    assert_gt "wireguard_sent_bytes_total of P grew by 1 MiB" $((tx1 - tx0)) 1048576
    # A Unix time of this century, not a monotonic second count: within a day of now.
    assert_gt "wireguard_latest_handshake_seconds of P (Unix time)" "$hs" $(($(date +%s) - 86400))
    assert_gt "wgxdp_worker_tun_tx_packets_total growth" $((wrx1 - wrx0)) 0
    # The same figure `wg` shows, read a moment later: at least what the scrape said.
    wg_rx="$(peer_field "$dns" "$dif" "$ppub" rx)"
    ((wg_rx >= rx1)) || fail "wg show says $wg_rx bytes received from P, less than the scrape's $rx1"
    assert_contains "a scrape" "$m1" "wgxdp_dropped_packets_total{interface=\"$dif\",reason=\"acl\"}"
    assert_contains "a scrape" "$m1" "wgxdp_worker_xsk_rx_ring_full_total{interface=\"$dif\",worker=\"0\"}"

    if [[ "$WGT_IO_MODE" == xdp ]]; then
        local fr0 fr1 red0 red1
        fr0="$(metric "$m0" wgxdp_worker_xdp_rx_frames_total)"
        fr1="$(metric "$m1" wgxdp_worker_xdp_rx_frames_total)"
        red0="$(metric "$m0" wgxdp_xdp_redirected_packets_total)"
        red1="$(metric "$m1" wgxdp_xdp_redirected_packets_total)"
        log "AF_XDP: frames received $fr0 -> $fr1, steering program redirected $red0 -> $red1"
        assert_gt "wgxdp_worker_xdp_rx_frames_total growth" $((fr1 - fr0)) 100
        assert_gt "wgxdp_xdp_redirected_packets_total growth" $((red1 - red0)) 100
        metric "$m1" wgxdp_xdp_passed_packets_total 'reason="not-transport"' >/dev/null
    else
        [[ "$m1" != *wgxdp_xdp_redirected_packets_total* ]] ||
            fail "the socket path's scrape has XDP steering counters"
    fi

    # Bad requests: answered with an error, and the daemon serves on.
    assert_eq "GET /" "$(http_status "$dns" "http://$METRICS_ADDR/")" 404
    assert_eq "GET /metrics/../x" "$(http_status "$dns" --path-as-is "http://$METRICS_ADDR/metrics/../x")" 404
    assert_eq "POST /metrics" "$(http_status "$dns" -X POST -d x "http://$METRICS_ADDR/metrics")" 405
    local junk="$WGT_LOGDIR/junk.bin" big="$WGT_LOGDIR/big.bin"
    printf '\x16\x03\x01\x02\x00garbage\r\n\r\n' >"$junk"
    assert_eq "garbage instead of a request" "$(raw_status "$dns" "$junk")" 400
    { printf 'GET /metrics HTTP/1.1\r\nX-Filler: '; head -c 20000 /dev/zero | tr '\0' a; } >"$big"
    assert_eq "a 20 kB request head" "$(raw_status "$dns" "$big")" 431
    # Clients that connect and send nothing hold every slot for a moment; then scrapes work again.
    in_ns "$dns" python3 - "$METRICS_ADDR" <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(8)]
time.sleep(4)
EOF
    local idle=$!
    sleep 0.5
    wait_for 10 "/metrics answering while idle clients hold connections" scrape_ok "$dns"
    wait "$idle" || true
    assert_ping "$pns" 100.64.0.1
    local m2
    m2="$(scrape "$dns")"
    assert_gt "received bytes after the bad requests" "$(metric "$m2" wireguard_received_bytes_total "$peer")" "$rx1"
    assert_xdp_carried "$dns" "$dif"
}

# The drop-in form, as wg-quick starts it: no options, WGXDP_METRICS from the environment.
test_metrics_dropin_env() {
    dut_is_wgxdp || skip "device under test is $WGT_DUT: /metrics is wgxdp's"
    [[ "$WGT_IO_MODE" == socket ]] || skip "the drop-in form runs the socket path (its metrics are tested there)"
    local dns pns dif pif dpub ppub dlog
    export WGXDP_METRICS="$METRICS_ADDR"
    metrics_setup wgxdp-dropin
    unset WGXDP_METRICS
    wait_for 5 "/metrics of the drop-in daemon answering in $dns" scrape_ok "$dns"
    assert_ping "$pns" 100.64.0.1
    local m hs
    m="$(scrape "$dns")"
    hs="$(metric "$m" wireguard_latest_handshake_seconds "public_key=\"$ppub\"")"
    assert_gt "wireguard_latest_handshake_seconds of P (drop-in form)" "$hs" $(($(date +%s) - 86400))
    assert_gt "wireguard_received_bytes_total of P (drop-in form)" \
        "$(metric "$m" wireguard_received_bytes_total "public_key=\"$ppub\"")" 0
    # A bad WGXDP_METRICS fails the start with the reason, and creates nothing.
    local bad bad_out
    ifname bad x
    bad_out="$(WGXDP_METRICS=nonsense in_ns "$dns" "$WGT_WGXDP" "$bad" 2>&1)" &&
        fail "wgxdp $bad started with WGXDP_METRICS=nonsense"
    assert_contains "wgxdp with WGXDP_METRICS=nonsense" "$bad_out" "WGXDP_METRICS"
    ! link_exists "$dns" "$bad" >/dev/null 2>&1 || fail "interface $bad exists after the refused start"
    # A port already taken: the start fails and says so.
    bad_out="$(WGXDP_METRICS="$METRICS_ADDR" in_ns "$dns" "$WGT_WGXDP" "$bad" 2>&1)" &&
        fail "wgxdp $bad started on a metrics port already in use"
    assert_contains "wgxdp on a metrics port in use" "$bad_out" "--metrics: cannot listen on $METRICS_ADDR"
}

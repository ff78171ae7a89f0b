# shellcheck shell=bash
# io: socket xdp
# wgxdp-loadgen against wgxdp: three namespaces G (generator) - D (wgxdp) - S (sink), the bed of the gateway
# benchmark (bench/gateway/lib/topology.sh). The load generator configures D's peers over UAPI, brings up one
# session per emulated peer, then sends at a low rate in both directions: ingress (sealed transport data from G,
# decrypted by D, counted by the XDP sink on S's interface) and egress (plaintext from S, encrypted by D, counted
# on G's interface, every packet decrypted again by the load generator). Checks, from its JSON report: every
# handshake completed, delivered == sent in every test, every sample intact (and, egress, decrypted correctly),
# no problem reported.

# shellcheck source=bench/gateway/lib/topology.sh
source "$WGT_REPO/bench/gateway/lib/topology.sh"

# The load generator built next to the wgxdp binary under test (cargo xtask test builds both).
loadgen_binary() {
    local bin="${WGT_LOADGEN:-$(dirname "$WGT_WGXDP")/wgxdp-loadgen}"
    [[ -x "$bin" ]] || fail "wgxdp-loadgen not found at $bin (cargo build -p wgxdp-loadgen, or set WGT_LOADGEN)"
    echo "$bin"
}

# loadgen_run PEERS INNER RATE TESTS: the whole scenario; leaves the report in $WGT_LOGDIR/loadgen.json.
loadgen_run() {
    local peers="$1" inner="$2" rate="$3" tests="$4"
    local loadgen gns dns sns dif p="wl$WGT_TAG"
    loadgen="$(loadgen_binary)"
    ns_new gns g
    ns_new dns d
    ns_new sns s
    ifname dif d
    gw_links "$gns" "$dns" "$sns" "$p" || fail "cannot build the three-namespace bed"
    local dpriv dpub dconf="$WGT_LOGDIR/d.conf"
    keys dpriv dpub
    write_conf "$dconf" "$dpriv" "$GW_PORT"
    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    gw_tunnel_routes "$dns" "$dif" 1420 || fail "cannot route the tunnel prefixes into $dif"

    local report="$WGT_LOGDIR/loadgen.json"
    log "wgxdp-loadgen: $peers peers, inner $inner, $rate pps, tests $tests"
    local rc=0
    timeout -k 5 45 ip netns exec "$gns" "$loadgen" run --label "wgxdp ($WGT_IO_MODE)" \
        --gen-ns "$gns" --gen-dev "${p}g" --sink-ns "$sns" --sink-dev "${p}s" \
        --dut "$GW_DUT_UL_IP:$GW_PORT" --dut-public-key "$dpub" --uapi "/var/run/wireguard/$dif.sock" \
        --peers "$peers" --inner "$inner" --rate "$rate" --duration 1 --sample-every 1 --tests "$tests" \
        --json "$report" --markdown "$WGT_LOGDIR/loadgen.md" >>"$WGT_LOGDIR/loadgen.log" 2>&1 || rc=$?
    # The DUT namespace's kernel counters (forwarding, neighbour and queue drops) for a loss after the DUT's TUN.
    ip netns exec "$dns" nstat -az >"$WGT_LOGDIR/dut-nstat.txt" 2>&1
    ip -n "$dns" -s -s link show >"$WGT_LOGDIR/dut-links.txt" 2>&1
    ((rc == 0)) || fail "wgxdp-loadgen exited with $rc; its log ends with:
$(tail -n 15 "$WGT_LOGDIR/loadgen.log")"
    cat "$WGT_LOGDIR/loadgen.md" >&2
    assert_xdp_carried "$dns" "$dif"
}

# loadgen_check PEERS TESTS: the report says what a correct DUT must give.
loadgen_check() {
    local peers="$1" tests="$2" report="$WGT_LOGDIR/loadgen.json"
    jq -e . "$report" >/dev/null || fail "the load generator's report is not JSON: $report"
    assert_eq "sessions established" "$(jq '.bring_up.established' "$report")" "$peers"
    assert_eq "handshakes completed in the bring-up" "$(jq '.bring_up.handshakes.completed' "$report")" "$peers"
    assert_eq "tests in the report" "$(jq '.tests | length' "$report")" "$(tr ',' '\n' <<<"$tests" | wc -l)"
    local name sent delivered samples
    for name in $(jq -r '.tests[].name' "$report"); do
        sent="$(jq --arg n "$name" '.tests[] | select(.name == $n) | .sent' "$report")"
        delivered="$(jq --arg n "$name" '.tests[] | select(.name == $n) | .delivered' "$report")"
        assert_gt "$name: packets sent" "$sent" 0
        if [[ "$name" == handshakes ]]; then
            # Each peer may have one initiation in flight when the test's time is up.
            ((delivered + peers >= sent)) ||
                fail "handshakes: expected at least $((sent - peers)) of $sent initiations answered, saw $delivered"
            continue
        fi
        assert_eq "$name: delivered (counted by the sink's XDP program) == sent" "$delivered" "$sent"
        samples="$(jq --arg n "$name" '.tests[] | select(.name == $n) | .samples.received' "$report")"
        # Every packet is a sample here: each one arrived intact (egress: decrypted and checked by the generator).
        assert_eq "$name: intact samples (every packet)" "$samples" "$sent"
        assert_eq "$name: defective samples" \
            "$(jq --arg n "$name" '.tests[] | select(.name == $n) | .samples.defects | length' "$report")" 0
    done
    # A generator that falls behind its rate on a busy machine writes packets off (it says so); that is no fault of
    # the DUT's, and delivered == sent above still holds for what it did send.
    assert_eq "problems reported" \
        "$(jq -c '[.problems[], .tests[].problems[]] | map(select(test("generator fell behind") | not))' "$report")" "[]"
}

test_loadgen_3_peers() {
    local tests="ingress:64,egress:64,ingress:1420,egress:1420,handshakes"
    loadgen_run 3 v4 2000 "$tests"
    loadgen_check 3 "$tests"
}

test_loadgen_1000_peers() {
    local tests="ingress:128,egress:128,ingress:1420,egress:1420"
    loadgen_run 1000 mixed 5000 "$tests"
    loadgen_check 1000 "$tests"
}

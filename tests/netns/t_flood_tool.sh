# shellcheck shell=bash
# The flood generator itself (crates/flood, `wgxdp-flood`), at a low rate against a wgxdp gateway G from an
# attacker namespace A with three extra source addresses: initiations keyed to G's public key pass mac1 and are
# refused at the first Diffie-Hellman step (`handshake_failed`, never `bad_mac`, never an identified initiation);
# the same flood keyed to another key is all `bad_mac`. The tool's JSON summary must match the rate it was given.
# A smoke test of the tool for the flood tests, so it is short (about 5 s) and runs on the socket path only.

# wgxdp_flood_bin: the flood generator next to the wgxdp binary under test, or WGT_FLOOD.
wgxdp_flood_bin() {
    local bin="${WGT_FLOOD:-$(dirname "$WGT_WGXDP")/wgxdp-flood}"
    [[ -x "$bin" ]] || fail "wgxdp-flood not found at $bin (cargo build -p wgxdp-flood, or set WGT_FLOOD)"
    echo "$bin"
}

# counter JSON NAME: a top-level counter of `wgxdp stats --json`, summed over every place it appears.
counter() {
    jq --arg n "$2" '[.. | objects | .[$n]? | numbers] | add // 0' <<<"$1"
}

# summary_field JSON NAME: a field of the flood tool's summary.
summary_field() {
    jq -e --arg n "$2" '.[$n]' <<<"$1" || fail "flood summary has no $2: $1"
}

test_flood_tool() {
    dut_is_wgxdp || skip "the flood tool's checks read wgxdp's counters"
    local flood gns ans gif gpriv gpub ppriv ppub xpriv xpub
    flood="$(wgxdp_flood_bin)"
    ns_new gns g
    ns_new ans a
    ifname gif g
    link_ns "$gns" "$ans" 1
    local i
    for i in 10 11 12; do
        ip -n "$ans" addr add "198.18.1.$i/24" dev ul1
    done
    keys gpriv gpub
    keys ppriv ppub
    keys xpriv xpub
    local gconf="$WGT_LOGDIR/g.conf"
    write_conf "$gconf" "$gpriv" 51820
    add_conf_peer "$gconf" "$ppub" "100.64.0.2/32"
    start_impl "$WGT_DUT" "$gns" "$gif" "$gconf"

    local before after summary sent rate
    before="$(wgxdp_stats_json "$gns" "$gif")"
    summary="$(in_ns "$ans" timeout 10 "$flood" --target 198.18.1.1:51820 --public-key "$gpub" --rate 200 \
        --seconds 2 --ports 8 --source 198.18.1.2 --source 198.18.1.10-198.18.1.12 --seed 1)" ||
        fail "wgxdp-flood failed: $summary"
    log "flood keyed to the gateway: $summary"
    sent="$(summary_field "$summary" sent)"
    rate="$(summary_field "$summary" achieved_pps)"
    assert_eq "flood sockets (4 sources x 8 ports)" "$(summary_field "$summary" sockets)" 32
    assert_eq "flood send errors" "$(summary_field "$summary" errors)" 0
    assert_gt "datagrams sent at 200/s for 2 s" "$sent" 380
    ((sent <= 400)) || fail "the flood sent $sent datagrams at 200/s for 2 s: its cap is 400"
    assert_gt "achieved rate of the flood (per second, x10)" "$(jq -n "$rate * 10 | floor")" 1800
    # Counters are flushed by the handshake thread as it goes; give it a moment to catch up.
    sleep 0.5
    after="$(wgxdp_stats_json "$gns" "$gif")"
    local failed bad identified
    failed=$(($(drop_count "$after" handshake_failed) - $(drop_count "$before" handshake_failed)))
    bad=$(($(drop_count "$after" bad_mac) - $(drop_count "$before" bad_mac)))
    identified=$(($(counter "$after" initiations_received) - $(counter "$before" initiations_received)))
    log "after the keyed flood: handshake_failed +$failed, bad_mac +$bad, initiations_received +$identified"
    assert_gt "'handshake_failed' growth for $sent initiations with a valid mac1 (at least 90 %)" \
        "$failed" $((sent * 9 / 10))
    ((failed <= sent)) || fail "'handshake_failed' grew by $failed for $sent initiations: counted twice?"
    assert_eq "'bad_mac' growth for initiations with a valid mac1" "$bad" 0
    assert_eq "initiations identified as a peer's (garbage never is)" "$identified" 0

    before="$after"
    summary="$(in_ns "$ans" timeout 10 "$flood" --target 198.18.1.1:51820 --public-key "$xpub" --rate 100 \
        --seconds 1 --ports 4 --seed 2)" || fail "wgxdp-flood failed: $summary"
    log "flood keyed to another key: $summary"
    sent="$(summary_field "$summary" sent)"
    sleep 0.5
    after="$(wgxdp_stats_json "$gns" "$gif")"
    bad=$(($(drop_count "$after" bad_mac) - $(drop_count "$before" bad_mac)))
    failed=$(($(drop_count "$after" handshake_failed) - $(drop_count "$before" handshake_failed)))
    log "after the flood keyed to another key: bad_mac +$bad, handshake_failed +$failed"
    assert_gt "'bad_mac' growth for $sent initiations keyed to another key (at least 90 %)" "$bad" $((sent * 9 / 10))
    assert_eq "'handshake_failed' growth for initiations that fail mac1" "$failed" 0

    # Bad arguments are refused with a clear error and exit status 2.
    local out status=0
    out="$("$flood" --target 198.18.1.1:51820 --public-key "$gpub" --rate 0 --seconds 1 2>&1)" || status=$?
    assert_eq "exit status of wgxdp-flood --rate 0" "$status" 2
    assert_contains "error of wgxdp-flood --rate 0" "$out" "--rate 0"
}

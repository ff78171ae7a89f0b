# shellcheck shell=bash
# Gateway scale: 20 000 peers (real X25519 keys, one /32 and an endpoint each) applied with `wg addconf` to the
# running device under test, which already has one real wireguard-go peer B. While that apply runs, B handshakes
# and pings through the tunnel (its first reply must come before `wg addconf` returns) and `wg show dump` answers
# (it must not wait for the apply); afterwards `wg show dump` lists all 20 001 peers and B still pings.
# Topology: D (device under test) -- ul1 -- B (wireguard-go).

# scale_peer_config: the path of the peer_config generator (crates/device/examples), built next to the wgxdp
# binary if it is not there yet; empty if it cannot be had.
scale_peer_config() {
    local target="" profile=debug
    [[ -n "${WGT_WGXDP:-}" ]] && target="$(dirname "$(dirname "$WGT_WGXDP")")"
    [[ "$WGT_WGXDP" == */release/* ]] && profile=release
    [[ -n "$target" ]] || target="${CARGO_TARGET_DIR:-$WGT_REPO/target}"
    local gen="$target/$profile/examples/peer_config"
    if [[ ! -x "$gen" ]] && command -v cargo >/dev/null; then
        local flags=()
        [[ "$profile" == release ]] && flags=(--release)
        (cd "$WGT_REPO" && CARGO_TARGET_DIR="$target" cargo build -q "${flags[@]}" -p wgxdp-device --example peer_config) >&2 ||
            return 0
    fi
    [[ -x "$gen" ]] && echo "$gen"
    return 0
}

test_scale_20k_peers_while_a_peer_talks() {
    local count=20000
    local gen
    gen="$(scale_peer_config)"
    [[ -n "$gen" ]] || skip "no peer_config generator (cargo build -p wgxdp-device --example peer_config)"

    local dns bns dif bif dpriv dpub bpriv bpub
    ns_new dns d
    ns_new bns b
    ifname dif d
    ifname bif b
    link_ns "$dns" "$bns" 1
    keys dpriv dpub
    keys bpriv bpub

    local dconf="$WGT_LOGDIR/d.conf" bconf="$WGT_LOGDIR/b.conf" many="$WGT_LOGDIR/many.conf"
    write_conf "$dconf" "$dpriv" 51820
    add_conf_peer "$dconf" "$bpub" 100.64.0.2/32 "198.18.1.2:51821"
    write_conf "$bconf" "$bpriv" 51821
    add_conf_peer "$bconf" "$dpub" 100.64.0.0/10 "198.18.1.1:51820"
    local t0=$SECONDS
    # Peers from 100.64.0.16 on; 100.64.0.1 and .2 are D and B.
    "$gen" "$count" 16 >"$many" || fail "peer_config $count failed"
    log "generated $count key pairs in $((SECONDS - t0)) s"

    start_impl "$WGT_DUT" "$dns" "$dif" "$dconf"
    start_impl wireguard-go "$bns" "$bif" "$bconf"
    ip -n "$dns" addr add 100.64.0.1/10 dev "$dif"
    ip -n "$bns" addr add 100.64.0.2/10 dev "$bif"

    # The apply, in the background. B has not talked yet: its handshake and first ping happen during it.
    local started ended
    started="$EPOCHREALTIME"
    in_ns "$dns" wg addconf "$dif" "$many" >"$WGT_LOGDIR/addconf.log" 2>&1 &
    local apply_pid=$!
    in_ns "$bns" ping -n -D -i 0.05 -W 1 -w 30 100.64.0.1 >"$WGT_LOGDIR/ping-during.log" 2>&1 &
    local ping_pid=$!

    # `get` during the apply: answered from the last published state, not after the apply.
    local got_during=""
    local before_get="$EPOCHREALTIME"
    got_during="$(timeout 10 wg show "$dif" dump)" || fail "wg show $dif dump during the apply failed or took over 10 s"
    local get_seconds
    get_seconds="$(awk -v a="$before_get" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
    log "wg show dump during the apply: $(($(wc -l <<<"$got_during") - 1)) peers in ${get_seconds} s"

    # Wait for the first reply (or the apply to end), then for the apply.
    local first=""
    while [[ -z "$first" ]] && kill -0 "$apply_pid" 2>/dev/null; do
        first="$(awk '/bytes from/ { gsub(/[][]/, "", $1); print $1; exit }' "$WGT_LOGDIR/ping-during.log")"
        [[ -n "$first" ]] || sleep 0.05
    done
    wait "$apply_pid" || fail "wg addconf of $count peers failed: $(tail -3 "$WGT_LOGDIR/addconf.log")"
    ended="$EPOCHREALTIME"
    kill "$ping_pid" 2>/dev/null
    wait "$ping_pid" 2>/dev/null || true
    [[ -n "$first" ]] || first="$(awk '/bytes from/ { gsub(/[][]/, "", $1); print $1; exit }' "$WGT_LOGDIR/ping-during.log")"
    local apply_seconds
    apply_seconds="$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')"
    log "wg addconf of $count peers took ${apply_seconds} s; first ping reply at ${first:-never}"
    [[ -n "$first" ]] || fail "B never got a ping reply (during the ${apply_seconds} s apply or after): $(tail -3 "$WGT_LOGDIR/ping-during.log")"
    awk -v f="$first" -v e="$ended" 'BEGIN { exit !(f < e) }' ||
        fail "B's first ping reply ($first) came only after the apply ended ($ended): the handshake waited for it"

    local dump listed
    dump="$(in_ns "$dns" wg show "$dif" dump)"
    listed=$(($(wc -l <<<"$dump") - 1))
    assert_eq "peers listed by wg show dump" "$listed" "$((count + 1))"
    # Every generated key is there, with its /32.
    local missing
    missing="$(awk 'NR == FNR { if ($1 == "PublicKey") want[$3] = 1; next } { delete want[$1] }
        END { n = 0; for (k in want) n++; print n }' "$many" <(tail -n +2 <<<"$dump"))"
    assert_eq "generated peers missing from wg show dump" "$missing" 0
    local handshake
    handshake="$(peer_field "$dns" "$dif" "$bpub" handshake)"
    assert_gt "B's latest handshake on D" "$handshake" 0
    assert_ping "$dns" 100.64.0.2
}

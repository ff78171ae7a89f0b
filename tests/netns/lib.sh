# shellcheck shell=bash
# Shared helpers of the netns interop suite: namespaces and veth underlays, starting WireGuard implementations
# (the device under test and the reference peers), keys and configs, traffic, `wg show` parsing, and assertions
# that say what they expected and what they saw. Sourced by run.sh (once per test, in a fresh bash) and demo.sh.
#
# Everything a test creates is registered here and torn down by the EXIT trap that `lib_init` installs, so a
# failing assertion, a timeout (SIGTERM from `timeout`) or Ctrl-C leaves no namespace, process or socket behind.
#
# Address plan (only ranges reserved for this kind of use):
#   underlay link N:  198.18.N.1/24 <-> 198.18.N.2/24   and  fd00:198:18:N::1/64 <-> fd00:198:18:N::2/64
#   tunnel:           100.64.0.0/10                      and  fd00:64::/64
#
# Knobs (environment):
#   WGT_DUT       implementation under test: wgxdp (default), wgxdp-dropin, wireguard-go, boringtun
#   WGT_WGXDP     path of the wgxdp binary (default: the newest of target/{release,debug}/wgxdp)
#   WGT_DUT_ARGS  extra arguments for `wgxdp up`, e.g. "--io xdp --link {underlay}"; {underlay} becomes the name
#                 of the device's underlay interface in its namespace
#   WGT_IO_MODE   socket or xdp: the I/O path this test runs wgxdp with (run.sh sets it per test, with the
#                 matching WGT_DUT_ARGS); xdp also gives the veth underlays 2 RX/TX queues and makes start_impl
#                 check that the steering program is attached
#   WGT_BORINGTUN path of boringtun-cli (default: target/tools/bin/boringtun-cli, else $PATH)
#   WGT_LOGDIR    where process logs go (run.sh sets one directory per test)

WGT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WGT_DUT="${WGT_DUT:-wgxdp}"
WGT_DUT_ARGS="${WGT_DUT_ARGS:-}"
# Without run.sh (demo.sh, by hand), the mode follows what WGT_DUT_ARGS asks for.
if [[ -z "${WGT_IO_MODE:-}" ]]; then
    if [[ " $WGT_DUT_ARGS " == *" --io xdp "* ]]; then WGT_IO_MODE=xdp; else WGT_IO_MODE=socket; fi
fi
WGT_LOGDIR="${WGT_LOGDIR:-$WGT_REPO/target/netns-logs/adhoc-$$}"
# Short, per-process unique tag: interface names are global for UAPI sockets (/var/run/wireguard is shared by all
# namespaces) and must stay within 15 characters.
WGT_TAG="${WGT_TAG:-$(($$ % 100000))}"

WGT_NAMESPACES=()
WGT_IFACES=()

# Picks the wgxdp binary: explicit path, else whichever build is newest, so a stale release binary does not win
# over a fresh debug build (or the other way round).
wgt_find_wgxdp() {
    if [[ -n "${WGT_WGXDP:-}" ]]; then
        echo "$WGT_WGXDP"
        return
    fi
    local best="" candidate
    for candidate in "$WGT_REPO/target/release/wgxdp" "$WGT_REPO/target/debug/wgxdp"; do
        if [[ -x "$candidate" ]] && { [[ -z "$best" ]] || [[ "$candidate" -nt "$best" ]]; }; then
            best="$candidate"
        fi
    done
    echo "$best"
}
WGT_WGXDP="$(wgt_find_wgxdp)"

wgt_find_boringtun() {
    if [[ -n "${WGT_BORINGTUN:-}" ]]; then
        echo "$WGT_BORINGTUN"
    elif [[ -x "$WGT_REPO/target/tools/bin/boringtun-cli" ]]; then
        echo "$WGT_REPO/target/tools/bin/boringtun-cli"
    else
        command -v boringtun-cli || true
    fi
}
WGT_BORINGTUN="$(wgt_find_boringtun)"

log() { echo "[$(date +%T.%3N)] $*" >&2; }

# Ends the test as failed. Assertion helpers call this with "expected ... / saw ..." text.
fail() {
    echo "ASSERTION FAILED: $*" >&2
    exit 1
}

# Ends the test as skipped (run.sh maps exit status 77 to SKIP, as automake does).
skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}

lib_init() {
    mkdir -p "$WGT_LOGDIR"
    # A command failing under `set -e` says which and where, like an assertion would.
    set -E
    trap 'echo "ASSERTION FAILED: command failed (exit $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR
    trap wgt_cleanup EXIT
    # `timeout` sends TERM; turning it into a normal exit runs the EXIT trap.
    trap 'echo "interrupted (signal)" >&2; exit 124' TERM INT HUP
}

# Kills every process of our namespaces (by pid, as `ip netns pids` lists them), deletes the namespaces, and
# removes the UAPI/control sockets of our interfaces if a killed daemon left them behind.
wgt_cleanup() {
    local status=$?
    set +e
    trap - ERR
    ((status != 0)) && wgt_save_wgxdp_stats
    local ns pid pids
    for ns in "${WGT_NAMESPACES[@]}"; do
        pids="$(ip netns pids "$ns" 2>/dev/null)"
        for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    done
    # Give daemons a moment to remove their own sockets (part of what we test), then force.
    local waited=0
    while ((waited < 20)); do
        local alive=0
        for ns in "${WGT_NAMESPACES[@]}"; do
            [[ -n "$(ip netns pids "$ns" 2>/dev/null)" ]] && alive=1
        done
        ((alive)) || break
        sleep 0.1
        waited=$((waited + 1))
    done
    for ns in "${WGT_NAMESPACES[@]}"; do
        pids="$(ip netns pids "$ns" 2>/dev/null)"
        for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    local ifname
    for ifname in "${WGT_IFACES[@]}"; do
        rm -f "/var/run/wireguard/$ifname.sock" "/var/run/wgxdp/$ifname.ctl"
    done
    return "$status"
}

# On a failure, the counters of every wgxdp still serving one of our interfaces (its control socket path is
# global, so no namespace is needed) go to WGT_LOGDIR/wgxdp-stats-IFNAME.{txt,json}: where packets stopped.
wgt_save_wgxdp_stats() {
    [[ -x "$WGT_WGXDP" ]] || return 0
    local ifname
    for ifname in "${WGT_IFACES[@]}"; do
        [[ -S "/var/run/wgxdp/$ifname.ctl" ]] || continue
        timeout 5 "$WGT_WGXDP" stats "$ifname" >"$WGT_LOGDIR/wgxdp-stats-$ifname.txt" 2>&1
        timeout 5 "$WGT_WGXDP" stats "$ifname" --json >"$WGT_LOGDIR/wgxdp-stats-$ifname.json" 2>&1
        echo "counters of $ifname at the failure: $WGT_LOGDIR/wgxdp-stats-$ifname.txt" >&2
    done
}

# ns_new VAR SUFFIX: creates namespace wgt-TAG-SUFFIX with loopback up and stores its name in VAR.
ns_new() {
    local -n out_ns="$1"
    local name="wgt-$WGT_TAG-$2"
    ip netns add "$name" || fail "cannot create namespace $name"
    WGT_NAMESPACES+=("$name")
    ip -n "$name" link set lo up
    out_ns="$name"
}

# in_ns NS CMD...: runs a command inside a namespace.
in_ns() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@"
}

# tcp_listening NS PORT: something listens on TCP PORT in NS. `ss` exits 0 whether or not a socket matches, so
# the answer is whether it printed one; bounded, since `ip netns exec` itself has been seen to stall.
tcp_listening() {
    timeout -k 2 3 ip netns exec "$1" ss -Htln "sport = :$2" | grep -q .
}

# ifname VAR ROLE: a tunnel interface name unique to this run (UAPI sockets are global), e.g. wt12345d1.
ifname() {
    local -n out_if="$1"
    out_if="wt${WGT_TAG}$2"
    ((${#out_if} <= 15)) || fail "interface name $out_if is longer than 15 characters"
    WGT_IFACES+=("$out_if")
}

# link_ns NS_A NS_B N [IFNAME]: a veth pair ul<N> between two namespaces with 198.18.N.{1,2}/24 and
# fd00:198:18:N::{1,2}/64 (NS_A gets .1/::1). nodad: the outer IPv6 addresses are usable at once.
# In xdp mode both ends get WGT_XDP_QUEUES (default 2) RX/TX queues, so the AF_XDP path runs one worker per
# queue as it would on a multi-queue NIC (on veth a packet arrives on the RX queue of the sender's TX queue).
link_ns() {
    local a="$1" b="$2" n="$3" dev="${4:-ul$3}"
    local queues=()
    if [[ "$WGT_IO_MODE" == xdp ]]; then
        local q="${WGT_XDP_QUEUES:-2}"
        queues=(numrxqueues "$q" numtxqueues "$q")
    fi
    ip -n "$a" link add name "$dev" "${queues[@]}" type veth peer name "$dev" "${queues[@]}" netns "$b" ||
        fail "cannot create veth $dev"
    ip -n "$a" addr add "198.18.$n.1/24" dev "$dev"
    ip -n "$b" addr add "198.18.$n.2/24" dev "$dev"
    ip -n "$a" -6 addr add "fd00:198:18:$n::1/64" dev "$dev" nodad
    ip -n "$b" -6 addr add "fd00:198:18:$n::2/64" dev "$dev" nodad
    ip -n "$a" link set "$dev" up
    ip -n "$b" link set "$dev" up
}

# underlay_addr N SIDE FAMILY: the underlay address of side 1 or 2 of link N (FAMILY 4 or 6).
underlay_addr() {
    local n="$1" side="$2" family="$3"
    if [[ "$family" == 4 ]]; then echo "198.18.$n.$side"; else echo "fd00:198:18:$n::$side"; fi
}

# endpoint_of ADDR PORT: host:port as `wg` writes it ([v6]:port).
endpoint_of() {
    if [[ "$1" == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi
}

# keys PRIV_VAR PUB_VAR: a fresh key pair.
keys() {
    local -n out_priv="$1" out_pub="$2"
    out_priv="$(wg genkey)"
    out_pub="$(printf '%s' "$out_priv" | wg pubkey)"
}

# two_hosts: the two-host scene most tests start from. Sets the caller's (local) dns pns dif pif dpriv dpub ppriv
# ppub: namespaces D and P linked by veth ul1 (D at 198.18.1.1, P at 198.18.1.2), an interface name and a key
# pair for each side.
two_hosts() {
    ns_new dns d
    ns_new pns p
    ifname dif d
    ifname pif p
    link_ns "$dns" "$pns" 1
    keys dpriv dpub
    keys ppriv ppub
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s until it succeeds; fails the test with WHAT otherwise.
wait_for() {
    local seconds="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for $what"
        sleep 0.1
    done
}

uapi_socket_ready() { [[ -S "/var/run/wireguard/$1.sock" ]]; }
link_exists() { ip -n "$1" link show dev "$2"; }

# start_impl KIND NS IFNAME CONF: starts a WireGuard implementation on IFNAME in NS configured from CONF (wg
# setconf format), waits for the interface and its UAPI socket, and sets the link up with MTU 1420.
# KIND: wgxdp (`wgxdp up IFNAME --config CONF`, foreground, our background job), wgxdp-dropin (`wgxdp IFNAME`
# like wg-quick runs it, then `wg setconf`), wireguard-go (pinned to CPU WGT_PIN_CPU if set), boringtun.
start_impl() {
    local kind="$1" ns="$2" ifname="$3" conf="$4"
    local logfile="$WGT_LOGDIR/$kind-$ifname.log"
    local underlay="" extra=()
    log "starting $kind as $ifname in $ns (log: $logfile)"
    case "$kind" in
    wgxdp)
        [[ -x "$WGT_WGXDP" ]] || fail "wgxdp binary not found (build it or set WGT_WGXDP)"
        underlay="$(ip -n "$ns" -o link show type veth | awk -F': ' 'NR==1 {sub(/@.*/, "", $2); print $2}')"
        if [[ -n "$WGT_DUT_ARGS" ]]; then
            read -r -a extra <<<"${WGT_DUT_ARGS//\{underlay\}/$underlay}"
        fi
        log "wgxdp up $ifname --config $conf ${extra[*]}"
        ip netns exec "$ns" "$WGT_WGXDP" up "$ifname" --config "$conf" "${extra[@]}" >>"$logfile" 2>&1 &
        ;;
    wgxdp-dropin)
        [[ -x "$WGT_WGXDP" ]] || fail "wgxdp binary not found (build it or set WGT_WGXDP)"
        # The drop-in form returns once the interface and the UAPI socket are ready: check exactly that.
        # WGXDP_LOG_FILE: the detached daemon's log (its stderr goes nowhere otherwise, as wireguard-go's).
        WGXDP_LOG_FILE="$logfile" in_ns "$ns" "$WGT_WGXDP" "$ifname" >>"$logfile" 2>&1 ||
            fail "\`wgxdp $ifname\` exited non-zero: $(tail -5 "$logfile")"
        uapi_socket_ready "$ifname" || fail "\`wgxdp $ifname\` returned but /var/run/wireguard/$ifname.sock is missing"
        link_exists "$ns" "$ifname" >/dev/null 2>&1 || fail "\`wgxdp $ifname\` returned but the interface is missing"
        ;;
    wireguard-go)
        # WGT_PIN_CPU: run it on that CPU only (its sends then leave by that CPU's XPS queue).
        local pin=()
        [[ -n "${WGT_PIN_CPU:-}" ]] && pin=(taskset -c "$WGT_PIN_CPU")
        ip netns exec "$ns" "${pin[@]}" wireguard-go -f "$ifname" >>"$logfile" 2>&1 &
        ;;
    boringtun)
        [[ -n "$WGT_BORINGTUN" ]] || skip "boringtun-cli not installed (run tests/netns/install-peers.sh)"
        ip netns exec "$ns" "$WGT_BORINGTUN" --foreground --disable-drop-privileges --threads 2 --log "$logfile" \
            "$ifname" >>"$logfile" 2>&1 &
        ;;
    *) fail "unknown implementation '$kind'" ;;
    esac
    local daemon=""
    [[ "$kind" != wgxdp-dropin ]] && daemon=$!
    local deadline=$((SECONDS + 15))
    until uapi_socket_ready "$ifname"; do
        # A daemon that dies at start should fail the test at once, with its own words.
        if [[ -n "$daemon" ]] && ! kill -0 "$daemon" 2>/dev/null; then
            fail "$kind exited before creating /var/run/wireguard/$ifname.sock; its log ends with:
$(tail -n 5 "$logfile")"
        fi
        ((SECONDS < deadline)) || fail "timed out after 15s waiting for $kind's UAPI socket /var/run/wireguard/$ifname.sock"
        sleep 0.1
    done
    wait_for 5 "$kind: interface $ifname in $ns" link_exists "$ns" "$ifname"
    # A daemon that quietly fell back to the socket path would pass every interop check of the xdp variants
    # without testing the XDP path at all: the program must be on the link once the device is up. The UAPI
    # socket appears first (it claims the interface name), the program a moment later: wait a bounded time.
    if [[ "$kind" == wgxdp && " ${extra[*]} " == *" --io xdp "* ]]; then
        local attach_deadline=$((SECONDS + 5))
        until xdp_attached "$ns" "$underlay" || ((SECONDS >= attach_deadline)) || ! kill -0 "$daemon" 2>/dev/null; do
            sleep 0.05
        done
        xdp_attached "$ns" "$underlay" ||
            fail "wgxdp up ${extra[*]} is ready but no XDP program is attached to $underlay in $ns:
$(ip -n "$ns" link show dev "$underlay")
its log ends with:
$(tail -n 5 "$logfile")"
        log "XDP program attached to $underlay: $(xdp_prog_summary "$ns" "$underlay")"
    fi
    if [[ "$kind" != wgxdp ]]; then
        in_ns "$ns" wg setconf "$ifname" "$conf" || fail "wg setconf $ifname failed for $kind"
    fi
    ip -n "$ns" link set "$ifname" mtu 1420 up
}

# tun_addrs NS IFNAME V4/LEN V6/LEN: addresses on a tunnel interface (nodad: usable at once).
tun_addrs() {
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$1" -6 addr add "$4" dev "$2" nodad
}

# write_conf FILE PRIVATE_KEY LISTEN_PORT: starts a wg setconf file; add peers with add_conf_peer.
write_conf() {
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' "$2" "$3" >"$1"
}

# add_conf_peer FILE PUBLIC_KEY ALLOWED_IPS [ENDPOINT] [KEEPALIVE]
add_conf_peer() {
    {
        printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n' "$2" "$3"
        [[ -n "${4:-}" ]] && printf 'Endpoint = %s\n' "$4"
        [[ -n "${5:-}" ]] && printf 'PersistentKeepalive = %s\n' "$5"
        true
    } >>"$1"
}

# ping_ok NS DST [PING ARGS...]: one echo request, one second to answer.
ping_ok() {
    local ns="$1" dst="$2"
    shift 2
    in_ns "$ns" ping -n -q -c 1 -W 1 "$@" "$dst" >/dev/null 2>&1
}

# wait_ping SECONDS NS DST [PING ARGS...]: the first reply (covers the handshake), else fail.
wait_ping() {
    local seconds="$1"
    shift
    wait_for "$seconds" "a ping reply from $2 in $1 (ping ${*:3})" ping_ok "$@"
}

# assert_ping NS DST [PING ARGS...]: after warm-up, 5 echo requests all answered.
assert_ping() {
    local ns="$1" dst="$2"
    shift 2
    wait_ping 10 "$ns" "$dst" "$@"
    local out
    out="$(in_ns "$ns" ping -n -q -c 5 -i 0.2 -W 2 "$@" "$dst" 2>&1)" ||
        fail "ping $dst from $ns: expected 5/5 replies, saw: $(grep -E 'transmitted' <<<"$out")"
    log "ping $dst from $ns ok: $(grep -E 'transmitted' <<<"$out")"
}

# assert_no_ping NS DST [PING ARGS...]: 3 echo requests, none answered.
assert_no_ping() {
    local ns="$1" dst="$2"
    shift 2
    local out
    out="$(in_ns "$ns" ping -n -q -c 3 -i 0.3 -W 1 "$@" "$dst" 2>&1)" || true
    local received
    received="$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out")"
    [[ "${received:-0}" == 0 ]] ||
        fail "ping $dst from $ns $*: expected no reply, saw: $(grep -E 'transmitted' <<<"$out")"
    log "ping $dst from $ns $*: no reply, as expected"
}

# iperf_bytes SERVER_NS SERVER_ADDR CLIENT_NS SECONDS [-R]: runs a TCP transfer with iperf3 and prints the bytes the
# receiver got (with -R the server sends).
iperf_bytes() {
    iperf_json "$@" | jq -r '.end.sum_received.bytes // 0 | floor'
}

# iperf_json SERVER_NS SERVER_ADDR CLIENT_NS SECONDS [IPERF3 ARGS...]: runs one iperf3 test (a one-off server in
# SERVER_NS, the client in CLIENT_NS) and prints the client's JSON; fails the test if iperf3 does.
iperf_json() {
    local sns="$1" saddr="$2" cns="$3" secs="$4"
    shift 4
    ip netns exec "$sns" iperf3 -s -1 -B "$saddr" >"$WGT_LOGDIR/iperf3-server.log" 2>&1 &
    local server=$!
    wait_for 5 "iperf3 server on $saddr" tcp_listening "$sns" 5201
    log "iperf3 -c $saddr -t $secs $* from $cns (server in $sns)"
    local json
    # -k: iperf3 answers TERM by telling the server over its control connection, which blocks when the tunnel
    # has stalled; KILL it then, so the test fails with the reason instead of running into its own timeout.
    # The timeout is outside `ip netns exec` so that it bounds that too.
    json="$(timeout -k 5 $((secs + 15)) ip netns exec "$cns" iperf3 -c "$saddr" -t "$secs" -J "$@" 2>&1)" || {
        kill "$server" 2>/dev/null
        fail "iperf3 -c $saddr $* failed: $(jq -r '.error // empty' <<<"$json" 2>/dev/null || tail -3 <<<"$json")"
    }
    # With -J, Debian's iperf3 exits 0 even when it could not connect: the error is only in the JSON.
    if jq -e '.error' <<<"$json" >/dev/null 2>&1; then
        kill "$server" 2>/dev/null
        fail "iperf3 -c $saddr $* failed: $(jq -r '.error' <<<"$json")"
    fi
    # The client's JSON has the result; a one-off server exits with its client. Bounded all the same: about 1 run
    # in 80 (both I/O paths) hung here, after the client was started, until the test's own timeout; give the
    # server 5 s, then end it (and say so, which tells whether that hang was the server's).
    local waited=0
    while kill -0 "$server" 2>/dev/null && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill "$server" 2>/dev/null; then
        log "iperf3 server in $sns still running 5 s after its client ended: stopped it"
    fi
    wait "$server" 2>/dev/null || true
    printf '%s\n' "$json"
}

# assert_bulk SERVER_NS SERVER_ADDR CLIENT_NS [-R]: a 2-second TCP transfer moves at least 1 MiB.
assert_bulk() {
    local bytes
    bytes="$(iperf_bytes "$1" "$2" "$3" 2 "${@:4}")"
    ((bytes >= 1048576)) || fail "bulk TCP to $2 ${*:4}: expected >= 1048576 bytes received, saw $bytes"
    log "bulk TCP to $2 ${*:4}: $bytes bytes received ($((bytes * 8 / 2 / 1000000)) Mbit/s)"
}

# peer_field NS IFNAME PUBKEY FIELD: one column of `wg show IFNAME dump` for a peer (FIELD: endpoint, allowed,
# handshake, rx, tx, keepalive). Prints nothing when the peer is absent.
peer_field() {
    local col
    case "$4" in
    endpoint) col=3 ;; allowed) col=4 ;; handshake) col=5 ;; rx) col=6 ;; tx) col=7 ;; keepalive) col=8 ;;
    *) fail "peer_field: unknown field $4" ;;
    esac
    in_ns "$1" wg show "$2" dump | awk -F'\t' -v key="$3" -v col="$col" 'NR > 1 && $1 == key {print $col}'
}

assert_eq() {
    [[ "$2" == "$3" ]] || fail "$1: expected '$3', saw '$2'"
}

assert_contains() {
    grep -qF -- "$3" <<<"$2" || fail "$1: expected output to contain '$3', saw:
$2"
}

assert_gt() {
    (($2 > $3)) || fail "$1: expected more than $3, saw $2"
}

# --- wgxdp-only observability ------------------------------------------------------------------------------------

dut_is_wgxdp() { [[ "$WGT_DUT" == wgxdp* ]]; }

# wgxdp_stats_json NS IFNAME: `wgxdp stats IFNAME --json`, validated as JSON.
wgxdp_stats_json() {
    local out
    out="$(in_ns "$1" "$WGT_WGXDP" stats "$2" --json 2>&1)" || fail "wgxdp stats $2 --json failed: $out"
    jq -e . >/dev/null 2>&1 <<<"$out" || fail "wgxdp stats $2 --json is not JSON: $out"
    printf '%s\n' "$out"
}

# drop_count JSON REASON: how many drops of REASON (the snake_case name, e.g. acl) the stats report, summed over
# every place the reason appears (per worker, per peer, totals): the tests compare before/after, so only growth
# matters. Accepts both {"acl": N} maps and [{"reason": "acl", "count": N}] lists.
drop_count() {
    jq --arg r "$2" '[.. | objects | (.[$r]? // empty | numbers),
        (select(.reason? == $r) | (.count? // .value? // empty) | numbers)] | add // 0' <<<"$1"
}

# total_drops JSON: the drops by reason summed (every "drops" map of reason -> count; wgxdp has one, under
# "device"). Totals such as "dropped_total" are left out so that nothing is counted twice.
total_drops() {
    jq '[.. | objects | .drops? | objects | [.[] | numbers] | add // 0] | add // 0' <<<"$1"
}

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

# summary_field JSON NAME: a field of the flood tool's JSON summary.
summary_field() {
    jq -e --arg n "$2" '.[$n]' <<<"$1" || fail "flood summary has no $2: $1"
}

# --- the AF_XDP path ---------------------------------------------------------------------------------------------

# xdp_attached NS DEV: an XDP program (native or generic) is attached to DEV.
xdp_attached() {
    ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -qE 'prog/xdp(generic|drv|offload)? id [0-9]+'
}

# xdp_prog_summary NS DEV: the attach mode and program id as `ip link` reports them (for logs and failures).
xdp_prog_summary() {
    ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -oE '(xdp(generic|drv|offload)?\b|prog/xdp[a-z]* id [0-9]+)' |
        paste -sd' ' -
}

# xdp_worker_counter JSON rx|tx [WORKER]: frames the AF_XDP sockets received from / put on the link, summed over
# the workers (or of worker WORKER, by position in "workers"). Kernel-socket traffic is not in these counters.
xdp_worker_counter() {
    local field="xdp_$2_frames"
    jq -e --arg f "$field" --arg w "${3:-}" '
        [.workers[] | objects] as $ws
        | (if $w == "" then $ws else [$ws[$w | tonumber]] end)
        | map(.[$f] // error("no \($f) in a worker of `wgxdp stats --json`")) | add // 0' <<<"$1" ||
        fail "xdp_worker_counter: cannot read xdp_$2_frames${3:+ of worker $3} from: $1"
}

# xdp_program_counter JSON REASON: packets the steering program counted under REASON: redirected, passed (all
# reasons) or one reason it passed for (not-udp, not-transport, ...).
xdp_program_counter() {
    jq -e --arg r "$2" '.xdp[$r] // .xdp.passed_by_reason[$r] // error("no xdp.\($r)")' <<<"$1" ||
        fail "xdp_program_counter: cannot read the steering program's '$2' counter from: $1"
}

# assert_xdp_carried NS IFNAME: in xdp mode, the traffic of the test went through the AF_XDP sockets (frames
# received and sent) and the steering program redirected some; a no-op in socket mode. Called at the end of the
# tests that run in both modes, so that an xdp variant cannot pass on the kernel-socket path alone.
assert_xdp_carried() {
    [[ "$WGT_IO_MODE" == xdp ]] || return 0
    local stats rx tx redirected
    stats="$(wgxdp_stats_json "$1" "$2")"
    rx="$(xdp_worker_counter "$stats" rx)"
    tx="$(xdp_worker_counter "$stats" tx)"
    redirected="$(xdp_program_counter "$stats" redirected)"
    log "AF_XDP path of $2: rx $rx, tx $tx frames; program redirected $redirected"
    assert_gt "AF_XDP rx frames of $2 (workers' xdp_rx_frames)" "$rx" 0
    assert_gt "AF_XDP tx frames of $2 (workers' xdp_tx_frames)" "$tx" 0
    assert_gt "packets the steering program redirected on $2's link" "$redirected" 0
}

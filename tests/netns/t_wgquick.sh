# shellcheck shell=bash
# io: socket xdp
# wgxdp as wg-quick's userspace implementation, set up the way an operator does it: `wg-quick up FILE` inside the
# namespace with WG_QUICK_USERSPACE_IMPLEMENTATION=wgxdp and the I/O settings in the environment (on the xdp path
# WGXDP_IO=xdp WGXDP_LINK=ul1; wg-quick passes its environment on to `wgxdp IFNAME`), against a wireguard-go peer.
# The interface comes up with wg-quick's address, route and MTU; ping works; on the xdp path the AF_XDP workers
# and the steering program carried it (`wgxdp stats`); `wg-quick down` deletes the interface and the daemon exits
# (no process, no UAPI socket, no XDP program left).
#
# test_wgquick_deb does the same with the Debian package (`cargo xtask deb`) installed: apt-get install of
# target/debian/wgxdp_*.deb, /usr/bin/wgxdp as the implementation. It is skipped when no
# package is built, or when wgxdp is already installed on this machine; it purges the package (dpkg -P: its
# postrm would keep a dpkg record after -r), so the machine is left as found.
#
# The configs have no DNS= line: with one, wg-quick would rewrite the host's /etc/resolv.conf.

# wgquick_check_kernel: wg-quick prefers the kernel's WireGuard whenever `ip link add type wireguard` works, and
# then never runs the userspace implementation.
wgquick_check_kernel() {
    command -v wg-quick >/dev/null || skip "wg-quick is missing (apt-get install wireguard-tools)"
    if [[ -e /sys/module/wireguard ]]; then
        skip "this kernel has WireGuard (/sys/module/wireguard): wg-quick would use it instead of wgxdp"
    fi
}

# wgquick_daemon_pid NS IFNAME: the pid of the wgxdp serving IFNAME in NS (its command line is `... up IFNAME`).
wgquick_daemon_pid() {
    local pid
    for pid in $(ip netns pids "$1"); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "(^| )up $2( |$)"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# wgquick_roundtrip WGXDP_BIN: the whole check with that binary as the userspace implementation.
wgquick_roundtrip() {
    local bin="$1"
    local xns gns xif gif xpriv xpub gpriv gpub
    ns_new xns wgq
    ns_new gns peer
    ifname xif q
    ifname gif p
    link_ns "$xns" "$gns" 1
    keys xpriv xpub
    keys gpriv gpub

    # The wg-quick side: the interface name is the file's name.
    local conf="$WGT_LOGDIR/$xif.conf"
    (umask 077 && : >"$conf")
    cat >"$conf" <<EOF
[Interface]
PrivateKey = $xpriv
ListenPort = 51820
Address = 100.64.0.1/24, fd00:64::1/64

[Peer]
PublicKey = $gpub
AllowedIPs = 100.64.0.2/32, fd00:64::2/128, 100.64.9.0/24
Endpoint = 198.18.1.2:51821
EOF
    write_conf "$WGT_LOGDIR/$gif.peer.conf" "$gpriv" 51821
    add_conf_peer "$WGT_LOGDIR/$gif.peer.conf" "$xpub" "100.64.0.1/32, fd00:64::1/128"
    start_impl wireguard-go "$gns" "$gif" "$WGT_LOGDIR/$gif.peer.conf"
    tun_addrs "$gns" "$gif" 100.64.0.2/24 fd00:64::2/64

    local settings=(WG_QUICK_USERSPACE_IMPLEMENTATION="$bin" WGXDP_LOG_FILE="$WGT_LOGDIR/wgxdp-$xif.log")
    [[ "$WGT_IO_MODE" == xdp ]] && settings+=(WGXDP_IO=xdp WGXDP_LINK=ul1)
    log "env ${settings[*]} wg-quick up $conf (in $xns)"
    in_ns "$xns" env "${settings[@]}" timeout 30 wg-quick up "$conf" >"$WGT_LOGDIR/wg-quick-up.log" 2>&1 ||
        fail "wg-quick up failed: $(cat "$WGT_LOGDIR/wg-quick-up.log")"
    log "wg-quick up said: $(paste -sd'|' "$WGT_LOGDIR/wg-quick-up.log")"
    grep -qF "$bin $xif" "$WGT_LOGDIR/wg-quick-up.log" ||
        fail "wg-quick did not run the userspace implementation \`$bin $xif\`: $(cat "$WGT_LOGDIR/wg-quick-up.log")"

    local pid
    pid="$(wgquick_daemon_pid "$xns" "$xif")" || fail "no wgxdp serving $xif in $xns after wg-quick up"
    log "wgxdp serving $xif: pid $pid"
    uapi_socket_ready "$xif" || fail "wg-quick up returned but /var/run/wireguard/$xif.sock is missing"
    assert_contains "$xif's addresses after wg-quick up" "$(ip -n "$xns" addr show dev "$xif")" "100.64.0.1/24"
    assert_contains "$xif's link after wg-quick up" "$(ip -n "$xns" link show dev "$xif")" "mtu 1420"
    # 100.64.0.2 is on the link of wg-quick's Address; 100.64.9.0/24 needs the route wg-quick adds.
    assert_contains "wg-quick's route for the peer's AllowedIPs" "$(ip -n "$xns" route show 100.64.9.0/24)" "dev $xif"
    if [[ "$WGT_IO_MODE" == xdp ]]; then
        wait_for 5 "the XDP program on ul1 in $xns" xdp_attached "$xns" ul1
        log "XDP program attached to ul1: $(xdp_prog_summary "$xns" ul1)"
    else
        xdp_attached "$xns" ul1 && fail "socket path: an XDP program is attached to ul1: $(xdp_prog_summary "$xns" ul1)"
    fi

    wait_ping 10 "$xns" 100.64.0.2
    assert_ping "$xns" 100.64.0.2
    assert_ping "$gns" 100.64.0.1
    assert_ping "$xns" fd00:64::2
    in_ns "$xns" ping -n -q -c 50 -i 0.01 -W 2 100.64.0.2 >/dev/null || fail "50 quick pings through $xif failed"
    assert_contains "wg show $xif" "$(in_ns "$xns" wg show "$xif")" "latest handshake"
    in_ns "$xns" "$bin" stats "$xif" >"$WGT_LOGDIR/wgxdp-stats-$xif-up.txt" || fail "wgxdp stats $xif failed"
    assert_xdp_carried "$xns" "$xif"

    log "wg-quick down $conf"
    in_ns "$xns" timeout 30 wg-quick down "$conf" >"$WGT_LOGDIR/wg-quick-down.log" 2>&1 ||
        fail "wg-quick down failed: $(cat "$WGT_LOGDIR/wg-quick-down.log")"
    link_exists "$xns" "$xif" >/dev/null 2>&1 && fail "wg-quick down returned but $xif still exists"
    wait_for 5 "wgxdp (pid $pid) to exit after wg-quick down" eval "[[ ! -e /proc/$pid ]]"
    wait_for 5 "the UAPI socket of $xif to go" eval "[[ ! -e /var/run/wireguard/$xif.sock ]]"
    xdp_attached "$xns" ul1 && fail "after wg-quick down an XDP program is still on ul1: $(xdp_prog_summary "$xns" ul1)"
    grep -qE "exit|stopp|delet" "$WGT_LOGDIR/wgxdp-$xif.log" ||
        fail "the daemon's log does not say why it exited: $(tail -n 5 "$WGT_LOGDIR/wgxdp-$xif.log")"
    log "wgxdp's last words: $(tail -n 1 "$WGT_LOGDIR/wgxdp-$xif.log")"
}

test_wgquick_up_down() {
    dut_is_wgxdp || skip "wg-quick drives wgxdp here (WGT_DUT=$WGT_DUT)"
    wgquick_check_kernel
    wgquick_roundtrip "$WGT_WGXDP"
}

# wgquick_deb_file: the package `cargo xtask deb` built (WGT_DEB, else target/debian/ next to the binary's
# target directory, else the repository's), or nothing.
wgquick_deb_file() {
    if [[ -n "${WGT_DEB:-}" ]]; then
        echo "$WGT_DEB"
        return
    fi
    local dir deb newest=""
    for dir in "$(dirname "$(dirname "$WGT_WGXDP")")/debian" "$WGT_REPO/target/debian"; do
        for deb in "$dir"/wgxdp_*_*.deb; do
            if [[ -f "$deb" ]] && { [[ -z "$newest" ]] || [[ "$deb" -nt "$newest" ]]; }; then
                newest="$deb"
            fi
        done
        if [[ -n "$newest" ]]; then
            echo "$newest"
            return 0
        fi
    done
}

# wgquick_deb_exit: the EXIT trap of test_wgquick_deb: lib.sh's cleanup (daemons, namespaces), then the package
# goes, and the test's status stays what it was.
wgquick_deb_exit() {
    local status=$?
    (exit "$status")
    wgt_cleanup
    # Any state (installed, half-installed, config-files): purged.
    if dpkg-query -W wgxdp >/dev/null 2>&1; then
        dpkg -P wgxdp >&2 || echo "could not remove the wgxdp package: dpkg -P wgxdp by hand" >&2
    fi
    exit "$status"
}

test_wgquick_deb() {
    dut_is_wgxdp || skip "wg-quick drives wgxdp here (WGT_DUT=$WGT_DUT)"
    wgquick_check_kernel
    local deb
    deb="$(wgquick_deb_file)"
    [[ -n "$deb" && -f "$deb" ]] || skip "no package built (cargo xtask deb makes target/debian/wgxdp_*.deb)"
    if dpkg-query -W wgxdp >/dev/null 2>&1 || [[ -e /usr/bin/wgxdp ]]; then
        skip "wgxdp is already installed on this machine: the test installs and removes it only where it was not"
    fi
    log "apt-get install $deb"
    # Removed again on any exit: this trap replaces lib_init's, runs its cleanup first and keeps the status.
    trap wgquick_deb_exit EXIT
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$(realpath "$deb")" \
        >"$WGT_LOGDIR/apt-install.log" 2>&1 || fail "apt-get install $deb failed: $(tail -n 5 "$WGT_LOGDIR/apt-install.log")"
    [[ -x /usr/bin/wgxdp ]] || fail "the package installed no /usr/bin/wgxdp: $(dpkg -L wgxdp)"
    log "installed: $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' wgxdp); $(/usr/bin/wgxdp --version)"
    local listed
    listed="$(dpkg -L wgxdp)"
    assert_contains "the package's files" "$listed" "/lib/systemd/system/wgxdp@.service"
    assert_contains "the package's files" "$listed" "/usr/share/man/man1/wgxdp.1.gz"
    wgquick_roundtrip /usr/bin/wgxdp
    dpkg -P wgxdp >"$WGT_LOGDIR/dpkg-purge.log" 2>&1 || fail "dpkg -P wgxdp failed: $(cat "$WGT_LOGDIR/dpkg-purge.log")"
    [[ ! -e /usr/bin/wgxdp ]] || fail "dpkg -P wgxdp left /usr/bin/wgxdp"
    dpkg-query -W wgxdp >/dev/null 2>&1 && fail "dpkg -P wgxdp left a package record: $(dpkg -l wgxdp | tail -n 1)"
    log "package removed"
}

#!/usr/bin/env bash
# Installs the peer implementations and tools the netns suite talks to, idempotently:
# wireguard-tools (wg), wireguard-go, iperf3, iproute2, jq, ping, ethtool from apt, and boringtun-cli from crates.io into a cache
# directory (target/tools by default) so that repeated runs and CI do not rebuild it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools_root="${WGT_TOOLS_ROOT:-$repo/target/tools}"

need_apt=()
command -v wg >/dev/null 2>&1 || need_apt+=(wireguard-tools)
command -v wireguard-go >/dev/null 2>&1 || need_apt+=(wireguard-go)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v ethtool >/dev/null 2>&1 || need_apt+=(ethtool)
if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-peers: need root to apt-get install ${need_apt[*]}" >&2
        exit 1
    fi
    echo "install-peers: apt-get install ${need_apt[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}"
else
    echo "install-peers: wg, wireguard-go, iperf3, ip already present" >&2
fi

if [[ -x "$tools_root/bin/boringtun-cli" ]]; then
    echo "install-peers: boringtun-cli already in $tools_root/bin" >&2
else
    echo "install-peers: cargo install boringtun-cli into $tools_root (takes a few minutes)" >&2
    # A separate target dir keeps this build from contending for the workspace's target lock.
    CARGO_TARGET_DIR="$tools_root/build" cargo install boringtun-cli --locked --root "$tools_root"
fi

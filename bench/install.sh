#!/usr/bin/env bash
# Installs what bench/run.sh needs, idempotently (a no-op when everything is there): wireguard-tools, wireguard-go,
# iperf3, iproute2 and procps from Debian, boringtun-cli from crates.io into target/tools (shared with the netns
# test suite, which installs it the same way, so neither rebuilds it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_root="${BENCH_TOOLS_ROOT:-$repo/target/tools}"

need_apt=()
command -v wg >/dev/null 2>&1 || need_apt+=(wireguard-tools)
command -v wireguard-go >/dev/null 2>&1 || need_apt+=(wireguard-go)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install.sh: need root to apt-get install ${need_apt[*]}" >&2
        exit 1
    fi
    echo "install.sh: apt-get install ${need_apt[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

if [[ ! -x "$tools_root/bin/boringtun-cli" ]] && ! command -v boringtun-cli >/dev/null 2>&1; then
    echo "install.sh: cargo install boringtun-cli into $tools_root (a few minutes, once)" >&2
    # Its own target dir keeps this build off the workspace's target lock.
    CARGO_TARGET_DIR="$tools_root/build" cargo install boringtun-cli --locked --root "$tools_root"
fi

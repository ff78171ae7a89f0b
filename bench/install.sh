#!/usr/bin/env bash
# Installs what bench/run.sh needs, idempotently: everything the netns suite installs (Debian's wireguard-tools,
# wireguard-go, iperf3, ...; boringtun-cli from crates.io into target/tools) plus GotaTun's gotatun-cli and
# wireguard-go 0.0.20231211 from bookworm-backports (see tests/netns/install-peers.sh, the one installer).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WGT_TOOLS_ROOT="${BENCH_TOOLS_ROOT:-${WGT_TOOLS_ROOT:-$repo/target/tools}}" exec "$repo/tests/netns/install-peers.sh" --bench

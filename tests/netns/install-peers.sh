#!/usr/bin/env bash
# Installs the peer implementations and tools that the netns suite and the benchmarks talk to, idempotently (a
# no-op when everything is there). The one installer of the repository: bench/install.sh calls it with --bench.
#
#   tests/netns/install-peers.sh [--bench]
#
# Always: the Debian packages of `cargo xtask install` (xtask/src/install.rs: wireguard-tools, wireguard-go, iperf3,
# iproute2, jq, ping, ethtool, python3, nftables, the build tools), and boringtun-cli from crates.io into a cache directory (target/tools by default), so repeated runs and CI do not
# rebuild it.
# With --bench also:
#   - GotaTun (Mullvad's), crate gotatun-cli 0.10.2 (binary `gotatun`), from crates.io into the same cache;
#   - wireguard-go 0.0.20231211 from Debian's bookworm-backports suite (the release with the 2023 UDP GSO/GRO and
#     TUN offload work), fetched with the ordinary apt client through a private apt configuration under the cache
#     (the system's sources are not changed) and unpacked into target/tools/wireguard-go-bpo; the package version
#     goes to target/tools/wireguard-go-bpo/VERSION (its --version prints v0.0.20230223).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools_root="${WGT_TOOLS_ROOT:-$repo/target/tools}"
bench=0
for arg in "$@"; do
    case "$arg" in
    --bench) bench=1 ;;
    *) echo "install-peers: unknown option $arg (known: --bench)" >&2; exit 2 ;;
    esac
done

say() { echo "install-peers: $*" >&2; }

# The Debian packages (wg, wireguard-go, iperf3, ip, jq, ping, ethtool, python3, nft, ...): the repository's one
# install step, a no-op when everything is there.
(cd "$repo" && cargo xtask install)

# cargo_tool BINARY CRATE [VERSION]: cargo install CRATE into the cache unless BINARY is there already. A separate
# target dir per crate keeps the build off the workspace's target lock; it is deleted afterwards (success or not),
# so a fresh machine does not keep the tool's build beside the project's.
cargo_tool() {
    local binary="$1" crate="$2" version="${3:-}"
    if [[ -x "$tools_root/bin/$binary" ]]; then
        say "$binary already in $tools_root/bin"
        return
    fi
    say "cargo install $crate${version:+ $version} into $tools_root (takes a few minutes, once)"
    local args=(install "$crate" --locked --root "$tools_root")
    [[ -n "$version" ]] && args+=(--version "$version")
    local rc=0
    CARGO_TARGET_DIR="$tools_root/build-$crate" cargo "${args[@]}" || rc=$?
    rm -rf "$tools_root/build-$crate"
    ((rc == 0)) || { say "cargo install $crate failed (exit $rc)"; exit "$rc"; }
}

cargo_tool boringtun-cli boringtun-cli
((bench)) || exit 0

cargo_tool gotatun gotatun-cli 0.10.2

# wireguard-go from bookworm-backports through a private apt configuration: its own source list, lists and cache
# under the tools directory; `apt-get download` fetches the .deb without installing anything system-wide.
bpo="$tools_root/wireguard-go-bpo"
if [[ -x "$bpo/usr/bin/wireguard-go" && -s "$bpo/VERSION" ]]; then
    say "wireguard-go $(cat "$bpo/VERSION") (bookworm-backports) already in $bpo"
    exit 0
fi
apt_dir="$tools_root/apt-bpo"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" \
    >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Get::List-Cleanup=0
    -o APT::Sandbox::User=root)
say "fetching wireguard-go from bookworm-backports (private apt configuration in $apt_dir)"
apt-get "${apt_opts[@]}" update -qq
rm -f "$apt_dir/debs"/*.deb
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download -qq wireguard-go/bookworm-backports)
deb="$(ls "$apt_dir/debs"/wireguard-go_*.deb)"
rm -rf "$bpo"
dpkg-deb -x "$deb" "$bpo"
dpkg-deb -f "$deb" Version >"$bpo/VERSION"
say "wireguard-go $(cat "$bpo/VERSION") unpacked into $bpo ($("$bpo/usr/bin/wireguard-go" --version | head -n 1))"

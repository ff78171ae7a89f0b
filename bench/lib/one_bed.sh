# shellcheck shell=bash
# For the tools that look at one implementation on one bed (bench/profile.sh, bench/queues.sh): the binaries'
# defaults, the bed and measurement functions, the teardown trap, and one_bed_up. The caller sets `here` (bench/)
# and `repo` first.

BENCH_WGXDP="${BENCH_WGXDP:-${CARGO_TARGET_DIR:-$repo/target}/release/wgxdp}"
BENCH_BORINGTUN="${BENCH_BORINGTUN:-$repo/target/tools/bin/boringtun-cli}"
# shellcheck source=bench/lib/bed.sh
source "$here/lib/bed.sh"
# shellcheck source=bench/lib/measure.sh
source "$here/lib/measure.sh"
trap bed_down EXIT
trap 'exit 130' INT TERM HUP

# one_bed_up TOOL IMPL DIR: the bed BENCH_BED (default gso) with IMPL on both ends and an iperf3 server on side b,
# logs in DIR; on failure exits with TOOL's name and the reason.
one_bed_up() {
    local tool="$1" impl="$2" dir="$3"
    bed_up "$impl" "$dir" "${BENCH_BED:-gso}" || { echo "$tool: $impl did not come up: $BED_ERROR" >&2; exit 1; }
    iperf_server_up "$dir" || { echo "$tool: iperf3 server did not start" >&2; exit 1; }
}

#!/usr/bin/env bash
# Runs the netns interop suite: every `test_*` function of tests/netns/t_*.sh, each in a fresh bash under a
# timeout, sequentially (the machine is small and the tests measure traffic). Prints `PASS name`, `FAIL name` or
# `SKIP name` per test and ends with `N passed, M failed, K skipped`; exits non-zero when any test failed.
#
# Usage: tests/netns/run.sh [-l|--list] [NAME|GLOB ...]     (names with or without the test_ prefix)
#        WGT_DUT=wireguard-go tests/netns/run.sh interop_*   (validate the harness without wgxdp)
# Needs root (namespaces); not root -> a loud SKIPPED line and exit 0. See lib.sh for the knobs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
per_test_timeout="${WGT_TEST_TIMEOUT:-90}"

if [[ $(id -u) -ne 0 ]]; then
    echo "=================================================================" >&2
    echo "SKIPPED: netns tests need root (namespaces, veth, TUN)" >&2
    echo "=================================================================" >&2
    echo "0 passed, 0 failed, 0 skipped"
    exit 0
fi

for tool in ip wg wireguard-go iperf3 jq python3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run.sh: '$tool' is missing: run tests/netns/install-peers.sh" >&2
        exit 2
    }
done

mapfile -t all_tests < <(grep -hoE '^test_[A-Za-z0-9_]+\(\)' "$here"/t_*.sh | sed 's/()$//')

list=0
patterns=()
for arg in "$@"; do
    case "$arg" in
    -l | --list) list=1 ;;
    *) patterns+=("${arg#test_}") ;;
    esac
done

selected=()
for t in "${all_tests[@]}"; do
    if ((${#patterns[@]} == 0)); then
        selected+=("$t")
        continue
    fi
    for p in "${patterns[@]}"; do
        # shellcheck disable=SC2053 # glob match on purpose
        if [[ "${t#test_}" == $p ]]; then
            selected+=("$t")
            break
        fi
    done
done
if ((list)); then
    printf '%s\n' "${selected[@]#test_}"
    exit 0
fi
((${#selected[@]})) || {
    echo "run.sh: no test matches: ${patterns[*]}" >&2
    exit 2
}

export WGT_DUT="${WGT_DUT:-wgxdp}"
# Resolve the binary once so every test uses the same one, and say which.
WGT_WGXDP="$(
    # shellcheck source=lib.sh
    source "$here/lib.sh"
    echo "$WGT_WGXDP"
)"
export WGT_WGXDP
run_dir="$repo/target/netns-logs/run-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir"
echo "netns suite: device under test = $WGT_DUT${WGT_DUT_ARGS:+ ($WGT_DUT_ARGS)}, wgxdp = ${WGT_WGXDP:-none}, logs in $run_dir" >&2

passed=0 failed=0 skipped=0
failures=()
for t in "${selected[@]}"; do
    name="${t#test_}"
    file="$(grep -lE "^$t\(\)" "$here"/t_*.sh | head -1)"
    log_dir="$run_dir/$name"
    mkdir -p "$log_dir"
    start=$SECONDS
    set +e
    WGT_LOGDIR="$log_dir" timeout -k 10 "$per_test_timeout" bash -c '
        set -euo pipefail
        source "$1"; source "$2"; lib_init; "$3"' _ "$here/lib.sh" "$file" "$t" >"$log_dir/test.log" 2>&1
    status=$?
    set -e
    elapsed=$((SECONDS - start))
    case "$status" in
    0)
        echo "PASS $name (${elapsed}s)"
        passed=$((passed + 1))
        ;;
    77)
        echo "SKIP $name: $(grep -m1 '^SKIPPED:' "$log_dir/test.log" | sed 's/^SKIPPED: //')"
        skipped=$((skipped + 1))
        ;;
    *)
        ((status == 124)) && echo "timed out after ${per_test_timeout}s" >>"$log_dir/test.log"
        echo "FAIL $name (${elapsed}s, exit $status)"
        # The reason first, then the context: the end of the test's own log and of each daemon log.
        grep -m1 -E '^ASSERTION FAILED' "$log_dir/test.log" | sed 's/^/    /' || true
        sed 's/^/    | /' < <(tail -n 25 "$log_dir/test.log" | cut -c1-300)
        for daemon_log in "$log_dir"/*.log; do
            [[ "$daemon_log" == "$log_dir/test.log" || ! -s "$daemon_log" ]] && continue
            echo "    --- tail of $(basename "$daemon_log")"
            sed 's/^/    | /' < <(grep -av '[│┌└]' "$daemon_log" | tail -n 10 | cut -c1-200)
        done
        failed=$((failed + 1))
        failures+=("$name")
        ;;
    esac
done

((failed)) && echo "failed: ${failures[*]} (logs in $run_dir)" >&2
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))

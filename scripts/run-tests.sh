#!/usr/bin/env bash
# scripts/run-tests.sh BUILD TEST...: run test binaries, one at a time, and summarise.
#
# Each test runs under a time limit (TEST_TIMEOUT seconds, default 600) with its output in
# BUILD/test-logs/<module>/<name>.log; a failure prints its log. End-to-end tests find the
# broker and CLI through KC_BIN_DIR. Sanitizer reports are fatal (see the Makefile's SAN).
set -uo pipefail
build=$1; shift
export KC_BIN_DIR="$PWD/$build/bin"
export KC_LIB_DIR="$PWD/$build/lib"
export KC_SRC_DIR="$PWD"
export CMOCKA_MESSAGE_OUTPUT=stdout
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp}"
limit=${TEST_TIMEOUT:-600}

pass=0 fail=0 failed=()
start=$(date +%s)
for t in "$@"; do
    name=${t#"$build"/tests/}
    log="$build/test-logs/$name.log"
    mkdir -p "$(dirname "$log")"
    t0=$(date +%s%N)
    timeout -k 10 "$limit" "$t" >"$log" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    dt=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        printf '  PASS  %-48s %6ss\n' "$name" "$dt"
    else
        fail=$((fail + 1)); failed+=("$name")
        [ $rc -eq 124 ] && why="timed out after ${limit}s" || why="exit $rc"
        printf '  FAIL  %-48s %6ss  (%s)\n' "$name" "$dt" "$why"
        sed 's/^/        | /' "$log" | tail -n 60
    fi
done
printf '\n%d passed, %d failed, %ds\n' "$pass" "$fail" "$(( $(date +%s) - start ))"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[*]}"; exit 1; }

#!/usr/bin/env bash
# scripts/fuzz.sh DIR SECONDS TARGET...: run each libFuzzer target for SECONDS on a copy of
# its seed corpus and print one line per target: executions, corpus size, result.
set -uo pipefail
dir=$1 secs=$2; shift 2
status=0
printf '%-22s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "$@"; do
    work="$dir/corpus/$t"
    mkdir -p "$work"
    log="$dir/$t.log"
    seeds=fuzz/corpus/$t
    [ -d "$seeds" ] || seeds=
    # -rss_limit_mb bounds memory; crashes are written next to the log as crash-<sha1>.
    "$dir/$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/" "$work" $seeds >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    corpus=$(find "$work" -type f | wc -l)
    if [ $rc -eq 0 ]; then result=ok; else result="CRASH (see $log)"; status=1; fi
    printf '%-22s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
    [ $rc -eq 0 ] || grep -A30 -m1 'ERROR\|runtime error\|deadly signal' "$log" | head -40
done
exit $status

#!/usr/bin/env bash
# scripts/run-bench.sh BUILD MODULE...: every benchmark, one after another (never in
# parallel: they measure the machine), then the system benchmark against the peers.
#
# Each module's `make bench-<module>` prints medians and ratios; bench/run.sh (the broker
# against Redis, NATS JetStream and librdkafka's mock cluster) prints the table and chart
# that README.md quotes. BENCH_QUICK=1 asks every benchmark for its short form.
set -uo pipefail
build=$1; shift
status=0
echo "== make bench on $(hostname), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
for m in "$@"; do
    make -s --no-print-directory BUILD="$build" SKIP_DEPS=1 "bench-$m" || status=1
done
if [ -x bench/run.sh ]; then
    BUILD="$build" bench/run.sh || status=1
fi
exit $status

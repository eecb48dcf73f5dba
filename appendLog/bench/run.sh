#!/usr/bin/env bash
# appendLog/bench/run.sh: the storage benchmarks, one after another (`make bench-appendLog`).
#
#   append_vs_write   the append path vs write(2) of the same bytes        (~5 s)
#   group_commit      durable appends/s, 1/8/64 writers vs write+fdatasync  (~25 s)
#   read_latency      random reads on 1e5/1e6/1e7-record logs, the floor    (~20 s, 1.2 GB)
#   cleaner           compaction: MB/s cleaned, and appends beside it       (~1 min, 0.8 GB written)
#
# BENCH_QUICK=1 asks each for its short form (and skips the 1e7-record log).
set -euo pipefail
build=${BUILD:-build}
dir=$build/bench/appendLog
echo "== appendLog benchmarks, $(nproc) CPUs; temporary files in ${TMPDIR:-/tmp}:"
df -h "${TMPDIR:-/tmp}" | sed 's/^/   /'
for b in append_vs_write group_commit read_latency cleaner; do
    "$dir/$b"
done

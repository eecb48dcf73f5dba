#!/usr/bin/env bash
# bench/run.sh: the Kafka door at a classic and at a flexible version, same work, on a
# running broker: Produce v7 vs v9 (one ~10 KiB batch per request) and Fetch v11 vs v12
# (1 and 32 partitions, one batch each). `make bench-broker/kafka/serve` runs it; BUILD
# names the build directory. The cases alternate, ROUNDS times (5), so that the machine's
# other load falls on both alike; the figures are medians.
set -euo pipefail
build=${BUILD:-build}
rounds=${ROUNDS:-5}
bench="$build/bench/broker/kafka/serve/kafka_door_bench"
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$build/bin/kafka_broker" --port 0 --bind 127.0.0.1 --data-dir "$work/data" \
    --override metrics.port=-1 >"$work/log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "the broker did not start:"; cat "$work/log"; exit 1; }
"$build/bin/kafka_cli" -b "127.0.0.1:$port" 0 door 32 >/dev/null
# Data for the fetches: a batch in each of the 32 partitions.
for p in $(seq 0 31); do "$build/bin/kafka_cli" -b "127.0.0.1:$port" 1 door x --partition "$p" >/dev/null; done
"$bench" --port "$port" --case produce_v7 --ms 300 >/dev/null # warm up
echo "== Kafka door bench on $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for c in produce_v7 produce_v9 fetch_v11_1 fetch_v12_1 fetch_v11_32 fetch_v12_32; do
        "$bench" --port "$port" --case "$c" | tee -a "$work/results"
    done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  { r[$2] = r[$2] " " $3 }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "%-14s %14s\n", "case", "median req/s"
    split("produce_v7 produce_v9 fetch_v11_1 fetch_v12_1 fetch_v11_32 fetch_v12_32", cs, " ")
    for (i = 1; i <= 6; i++) { m[cs[i]] = median(r[cs[i]]); printf "%-14s %14.0f\n", cs[i], m[cs[i]] }
    printf "flexible / classic: produce v9/v7 %.3f; fetch v12/v11 %.3f (1 partition), %.3f (32)\n",
      m["produce_v9"] / m["produce_v7"], m["fetch_v12_1"] / m["fetch_v11_1"],
      m["fetch_v12_32"] / m["fetch_v11_32"]
  }' "$work/results"

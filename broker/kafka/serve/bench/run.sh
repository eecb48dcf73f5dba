#!/usr/bin/env bash
# bench/run.sh: the Kafka door at a classic and at a flexible version, same work, on a
# running broker: Produce v7 vs v9 (one 1.1 KiB batch per request) and Fetch v11 vs v12
# (1 and 32 partitions, one small batch each). `make bench-broker/kafka/serve` runs it;
# BUILD names the build directory. The cases alternate, ROUNDS times (7), each pair in the
# other order every other round, so that the machine's other load and the log's growth fall
# on both alike; the figures are medians.
#
# Two figures per case: requests/s (wall clock: on a shared machine it moves with the other
# load) and the broker's CPU time per request - every thread's time on a CPU, from
# /proc/<pid>/task/*/schedstat, before and after - which other processes barely move: the
# cost of serving one request at that version.
set -euo pipefail
build=${BUILD:-build}
rounds=${ROUNDS:-7}
bench="$build/bench/broker/kafka/serve/kafka_door_bench"
work=$(mktemp -d)
pid=
# Nanoseconds the broker's threads have spent on a CPU so far.
cpu_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
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
echo "== Kafka door bench on $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    cases="produce_v7 produce_v9 fetch_v11_1 fetch_v12_1 fetch_v11_32 fetch_v12_32"
    [ $((r % 2)) = 0 ] && cases="produce_v9 produce_v7 fetch_v12_1 fetch_v11_1 fetch_v12_32 fetch_v11_32"
    for c in $cases; do
        "$bench" --port "$port" --case "$c" --ms 300 >/dev/null # settle: the case before was another
        t0=$(cpu_ns)
        line=$("$bench" --port "$port" --case "$c")
        t1=$(cpu_ns)
        echo "$line $(( (t1 - t0) / $(echo "$line" | cut -d' ' -f5) ))" | tee -a "$work/results"
    done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  { r[$2] = r[$2] " " $3; c[$2] = c[$2] " " $6 }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "%-14s %14s %22s\n", "case", "median req/s", "broker CPU ns/request"
    split("produce_v7 produce_v9 fetch_v11_1 fetch_v12_1 fetch_v11_32 fetch_v12_32", cs, " ")
    for (i = 1; i <= 6; i++) {
      m[cs[i]] = median(r[cs[i]]); n[cs[i]] = median(c[cs[i]])
      printf "%-14s %14.0f %22.0f\n", cs[i], m[cs[i]], n[cs[i]]
    }
    printf "flexible / classic, CPU per request: produce v9/v7 %.3f; fetch v12/v11 %.3f (1 " \
      "partition), %.3f (32)\n", n["produce_v9"] / n["produce_v7"],
      n["fetch_v12_1"] / n["fetch_v11_1"], n["fetch_v12_32"] / n["fetch_v11_32"]
    printf "flexible / classic, req/s: produce v9/v7 %.3f; fetch v12/v11 %.3f (1 partition), " \
      "%.3f (32)\n", m["produce_v9"] / m["produce_v7"], m["fetch_v12_1"] / m["fetch_v11_1"],
      m["fetch_v12_32"] / m["fetch_v11_32"]
  }' "$work/results"

#!/usr/bin/env bash
# bench/instr.sh: what a request costs the broker, in instructions, counted by callgrind -
# the figure no other load on the machine can move (run.sh's requests/s and CPU time move
# with it). For each case the broker runs twice under callgrind, serving N1 and then N2
# requests of it after the same set-up; the difference in instructions over N2 - N1 is the
# cost of one request, start-up and set-up cancelled out. Every thread counts: the network
# loops, the flusher, the main thread.
#
#   BUILD=build bench/instr.sh                     the six cases of run.sh
#   BROKER=/other/kafka_broker CASES="produce_v7 fetch_v11_1" bench/instr.sh
#                                                  another broker (an older build, say) on
#                                                  the cases it serves
#   CASES=rdkafka N1=50000 N2=150000 bench/instr.sh
#                                                  librdkafka's producer and consumer
#                                                  (bench/bench_rdkafka.c, 100 B records, 32
#                                                  partitions, acks=1: its batching) instead
#                                                  of one request at a time: instructions per
#                                                  record produced and consumed
set -euo pipefail
build=${BUILD:-build}
broker=${BROKER:-$build/bin/kafka_broker}
cli="$build/bin/kafka_cli"
bench="$build/bench/broker/kafka/serve/kafka_door_bench"
rdkafka="$build/bench/system/bench_rdkafka" # make bench-system-bins
cases=${CASES:-"produce_v7 produce_v9 fetch_v11_1 fetch_v12_1 fetch_v11_32 fetch_v12_32"}
n1=${N1:-500}
n2=${N2:-2500}
command -v valgrind >/dev/null || { echo "instr.sh needs valgrind (scripts/deps.sh bench)"; exit 1; }

# count CASE N: the broker's instructions for start-up, set-up, N requests and a clean stop.
count() {
    local work pid port
    work=$(mktemp -d)
    valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$broker" --port 0 \
        --bind 127.0.0.1 --data-dir "$work/data" --override metrics.port=-1 >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/log" | head -1 | cut -d: -f2 || true)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "the broker did not start:"; cat "$work/log"; kill "$pid"; exit 1; } >&2
    "$cli" -b "127.0.0.1:$port" 0 door 32 >/dev/null
    if [ "$1" != rdkafka ]; then # something for the fetches to read, in every partition
        for p in $(seq 0 31); do "$cli" -b "127.0.0.1:$port" 1 door x --partition "$p" >/dev/null; done
    fi
    if [ "$1" = rdkafka ]; then
        "$rdkafka" --brokers "127.0.0.1:$port" --topic door --partitions 32 --count "$2" \
            --size 100 >/dev/null
    else
        "$bench" --port "$port" --case "$1" --count "$2" >/dev/null
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    sed -n 's/.*Collected : //p' "$work/log"
    rm -rf "$work"
}

echo "== instructions per request (rdkafka: per record), $broker (N = $n1 and $n2)"
for c in $cases; do
    a=$(count "$c" "$n1")
    b=$(count "$c" "$n2")
    printf '%-14s %10d\n' "$c" $(( (b - a) / (n2 - n1) ))
done

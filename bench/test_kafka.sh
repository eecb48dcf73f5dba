#!/usr/bin/env bash
# bench/test_kafka.sh - bench_kafka against kafka_stub, a Kafka stand-in (bench/kafka_stub.c),
# on the paths today's broker cannot exercise: flexible Produce (v9-11) and Fetch (v12-17),
# Fetch by topic id (v13+), idempotent producers whose every batch the stub checks (CRC-32C
# and sequence), a Fetch answer ending in a cut batch, a refusal; then the stub imitating
# today's broker (Produce v0-7, Fetch v0-11, no InitProducerId), where the flexible and
# idempotent runs must fail clearly and the probe must say "not offered".
#
#   BUILD=build bench/test_kafka.sh          (make test-bench-kafka builds and runs it)
set -uo pipefail

BUILD=${BUILD:-build}
K=$BUILD/bench/system/bench_kafka
STUB=$BUILD/bench/system/kafka_stub
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kc-bench-kafka.XXXXXX") || exit 1
passed=0 failed=0

stub_pid=""
cleanup() {
    [ -z "$stub_pid" ] || kill "$stub_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# start_stub ARGS...: a stub on a free port (PORT), fed by a pipe we close to stop it.
start_stub() {
    mkfifo "$tmp/stdin"
    "$STUB" "$@" <"$tmp/stdin" >"$tmp/port" 2>"$tmp/stub.err" &
    stub_pid=$!
    exec 7>"$tmp/stdin"
    for _ in $(seq 50); do
        PORT=$(cat "$tmp/port" 2>/dev/null)
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    echo "kafka_stub did not start: $(cat "$tmp/stub.err")"
    exit 1
}

# stop_stub: close its stdin; it must exit 0 (no request it had to refuse as wrong).
stop_stub() {
    local rc
    exec 7>&-
    wait "$stub_pid"
    rc=$?
    stub_pid=""
    rm -f "$tmp/stdin" "$tmp/port"
    if [ $rc -eq 0 ]; then
        ok "the stub saw nothing wrong ($(tail -1 "$tmp/stub.err"))"
    else
        bad "the stub refused requests as wrong: $(cat "$tmp/stub.err")"
    fi
}

# run DESCRIPTION EXPECT_RC REGEX ARGS...: bench_kafka ARGS must exit EXPECT_RC and print
# (stdout and stderr) a line matching REGEX.
run() {
    local what=$1 want=$2 re=$3 rc
    shift 3
    timeout 60 "$K" "$@" --port "$PORT" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq "$want" ] && grep -qE "$re" "$tmp/out"; then
        ok "$what"
    else
        bad "$what: exit $rc, output: $(tr '\n' ' ' <"$tmp/out" | tail -c 400)"
    fi
}

[ -x "$K" ] && [ -x "$STUB" ] || { echo "build first: make test-bench-kafka"; exit 1; }

echo "-- a stand-in offering every version libbrk_kp implements"
start_stub
run "probe: flexible and idempotent offered" 0 \
    'PROBE .*produce_default=11 produce_classic=8 produce_flexible=11 fetch_default=17 fetch_classic=11 fetch_flexible=17 idempotent=yes' probe
for v in 3 8 9 11; do
    run "Produce v$v" 0 "KAFKA bench=produce api=Produce version=$v flexible=$([ $v -ge 9 ] && echo 1 || echo 0) " \
        produce --topic t --count 5000 --version $v
done
run "Produce classic is v8" 0 'version=8 flexible=0' produce --topic t --count 5000 --version classic
run "idempotent Produce v3, 20 batches of consecutive sequences" 0 'version=3 .*idempotent=1' \
    produce --topic t --count 20000 --version 3 --idempotent
run "idempotent Produce v11, 3 producers, acks=all" 0 'version=11 flexible=1 acks=-1 producers=3 .*idempotent=1' \
    produce --topic t --count 30000 --idempotent --producers 3 --acks all --window 4
run "small batches too (the log mixes 1000 and 7)" 0 'RESULT bench=produce records=7000 ' \
    produce --topic t --count 7000 --batch 7
for v in 4 11 12 13 17; do
    run "Fetch v$v, every batch verified, cut batches dropped" 0 \
        "KAFKA bench=consume api=Fetch version=$v flexible=$([ $v -ge 12 ] && echo 1 || echo 0) topic_id=$([ $v -ge 13 ] && echo 1 || echo 0)" \
        consume --topic t --ms 300 --max-bytes 300000 --verify --version $v
done
run "Fetch default: v17, whole passes over the log checked" 0 \
    'CONSUME bench=consume window=4 .* passes=[1-9]' consume --topic t --ms 1000
run "a refusal stops the run with Kafka's error" 1 'broker: Produce: error 87 INVALID_RECORD' \
    produce --topic refuse-me --count 1000
run "a version the broker does not offer" 1 'does not offer Produce v12: it serves v0-11' \
    produce --topic t --count 1000 --version 12
stop_stub

echo "-- the stand-in as today's broker: Produce v0-7, Fetch v0-11, no InitProducerId"
start_stub --produce-max 7 --fetch-max 11 --no-init-producer-id
run "probe: nothing flexible, no idempotence" 0 \
    'PROBE .*init_producer_id=- produce_default=7 produce_classic=7 produce_flexible=- fetch_default=11 fetch_classic=11 fetch_flexible=- idempotent=no' probe
run "default Produce is v7" 0 'version=7 flexible=0' produce --topic t --count 5000
run "default Fetch is v11" 0 'version=11 flexible=0 topic_id=0' consume --topic t --ms 200
run "idempotent: fails clearly" 1 'the broker does not serve InitProducerId' \
    produce --topic t --count 1000 --idempotent
run "flexible Produce: fails clearly" 1 'does not offer a flexible Produce version: it serves v0-7' \
    produce --topic t --count 1000 --version flexible
run "flexible Fetch: fails clearly" 1 'does not offer a flexible Fetch version: it serves v0-11' \
    consume --topic t --ms 100 --version flexible
stop_stub

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

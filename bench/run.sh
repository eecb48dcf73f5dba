#!/usr/bin/env bash
# bench/run.sh - the system benchmark: the broker beside its peers, in one run, on loopback.
#
#   BUILD=build bench/run.sh            (make bench / make bench-system run it for you)
#   BENCH_QUICK=1                       the short form: 5 rounds, about a minute
#   BENCH_RUNS=N                        rounds (default 7, quick 5; at least 5)
#   BENCH_SESSION_PARTITIONS=N          the fetch-session consumer's partitions (default
#                                       1000, quick 300)
#   BENCH_SPREAD_PARTITIONS=N           the partitions Produce is spread over (default 10000)
#   BENCH_CLUSTER=0                     skip the cluster's rows (bench/cluster.sh: ZooKeeper
#                                       and three brokers; RF 3 vs RF 1, failover times)
#
# It starts every server itself on 127.0.0.1 with an ephemeral port and a temporary
# directory: redis-server twice (no persistence; appendfsync always), nats-server -js, and
# the broker (a fresh data directory for each round). The broker is measured through both
# of its doors: its native protocol (bench_native) and Kafka's (bench_kafka, our own load
# generator, so that no client library is the limit). Then it runs every measurement once
# per round, round after round, so that the noise of a shared machine falls on both sides
# of a comparison alike, and prints the medians, their spread, the broker's ratio to each
# peer and PASS/MISS against the targets (bench/README.md says what each figure means).
#
# Results: $BUILD/bench/results/<UTC stamp>/ (and latest/ -> it):
#   report.txt   the table printed below          report.json   the same, for tools
#   chart.png    the same as a picture            samples.txt   every run's RESULT line
#   logs/        every server's log and every failed run's stderr
#
# Every process it starts is stopped by its PID on exit (also on Ctrl-C); every run is
# bounded by `timeout`. Exit status: 0 when every run succeeded (a MISS is a finding, not
# a failure), 1 when a run failed or a peer could not be started.
set -uo pipefail

BUILD=${BUILD:-build}
QUICK=${BENCH_QUICK:-0}
RUNS=${BENCH_RUNS:-$([ "$QUICK" = 1 ] && echo 5 || echo 7)}
BIN=$BUILD/bench/system
BROKER=$BUILD/bin/kafka_broker
HERE=$(cd "$(dirname "$0")" && pwd)
RUN_TIMEOUT=180                 # seconds: no single run may take longer

if [ "$QUICK" = 1 ]; then       # about 40 s of runs, plus start-up
    TCP_MS=300 RTT_COUNT=4000
    REDIS_COUNT=300000 ALWAYS_COUNT=150000 NATS_COUNT=150000
    NATIVE_COUNT=2000000 DURABLE_COUNT=1000000 FILL_COUNT=1000000 CONSUME_MS=300
    RDK_COUNT=300000
    SESS_PARTITIONS=${BENCH_SESSION_PARTITIONS:-300} SESS_MS=500
    SPREAD_COUNT=1500000
else                            # about 35 s a round: 4-5 minutes on 2 cores
    TCP_MS=1500 RTT_COUNT=20000
    REDIS_COUNT=2000000 ALWAYS_COUNT=1000000 NATS_COUNT=1000000
    NATIVE_COUNT=10000000 DURABLE_COUNT=5000000 FILL_COUNT=3000000 CONSUME_MS=1500
    RDK_COUNT=1000000
    SESS_PARTITIONS=${BENCH_SESSION_PARTITIONS:-10000} SESS_MS=2000
    SPREAD_COUNT=3000000
fi
TLS_COUNT=$((NATIVE_COUNT / 4)) # through np_client, one producer: a quarter of the work
[ "$RUNS" -ge 5 ] 2>/dev/null || { echo "BENCH_RUNS must be a number >= 5" >&2; exit 2; }

# The same work on every side: 100 B values; as many records in flight for the broker as
# for each peer (8000 when batched, 4 producers x 4000 when durable).
SIZE=100
BATCH=1000
RTT_TOPIC=bench-rtt
# The consumer keeps CONSUME_WINDOW consume-batch requests of up to CONSUME_MAX_BYTES in
# flight (bench/README.md, "The consumer": the figures behind the choice).
CONSUME_WINDOW=4
CONSUME_MAX_BYTES=$((4 << 20))
RECORD_BYTES=110                # a 100 B record in a batch of 1000: the topic's bytes per record
RDK_PARTITIONS=32               # the mock cluster keeps 5 MiB per partition (bench_rdkafka.c)
# The fetch-session consumer (bench_kafka sessions): one consumer of SESS_PARTITIONS
# partitions (10,000 in the full form: an idle partition holds no descriptor since the
# store, and creating 10,000 takes about a second), idle, then with SESS_TRICKLE records a
# second produced meanwhile.
SESS_TRICKLE=200
# Produce spread over many partitions (bench_kafka spread): batches of SPREAD_BATCH records
# of 100 B (~16 KiB, a Kafka producer's batch.size), SPREAD_PER_REQUEST of them a request
# (~800 KB, under max.request.size), walking the SPREAD_PARTITIONS partitions round and
# round; against the same records to a topic of one partition on a broker of its own.
SPREAD_PARTITIONS=${BENCH_SPREAD_PARTITIONS:-10000}
SPREAD_BATCH=150
SPREAD_PER_REQUEST=50

# Sanitizer builds only: leaks that belong to the peers' client libraries (see the file).
export LSAN_OPTIONS="suppressions=$HERE/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

PIDS=()
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kc-bench.XXXXXX") || exit 1
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$BUILD/bench/results/$STAMP
mkdir -p "$OUT/logs" || exit 1

say() { printf '%s\n' "$*"; }

# ---- processes -------------------------------------------------------------------------

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL. Only our own children.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    PIDS=()
    cp "$WORK"/*.log "$OUT/logs/" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    PIDS=("${keep[@]}")
}

# wait_port PORT: is something accepting on 127.0.0.1:PORT within 10 s?
wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_peer VAR LOG CMD... (CMD contains @PORT): start on a free port, retrying if the
# port was taken meanwhile; sets VAR_PORT and VAR_PID.
start_peer() {
    local var=$1 log=$2 try port pid
    shift 2
    for try in 1 2 3; do
        port=$("$BIN/bench_tcp" freeport) || return 1
        "${@//@PORT/$port}" >>"$log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        if wait_port "$port" && kill -0 "$pid" 2>/dev/null; then
            printf -v "${var}_PORT" %s "$port"
            printf -v "${var}_PID" %s "$pid"
            return 0
        fi
        stop_pid "$pid"
        forget_pid "$pid"
    done
    say "could not start: $* (see $log)"
    return 1
}

# start_broker DATADIR [ARG...]: kafka_broker --port 0 (and ARGs); the port is read from
# what it prints. A broker with many partitions takes a while to open them: up to 5 min.
start_broker() {
    local log=${BROKER_LOG:-$WORK/broker.log} i data=$1
    shift
    : >"$log"
    "$BROKER" --port 0 --bind 127.0.0.1 --data-dir "$data" --override metrics.port=-1 "$@" \
        >>"$log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    for i in $(seq 3000); do
        BROKER_PORT=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$log" | head -1 |
                      cut -d: -f2)
        [ -n "$BROKER_PORT" ] && wait_port "$BROKER_PORT" && return 0
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    say "could not start the broker (see $log)"
    return 1
}

stop_broker() {
    stop_pid "$BROKER_PID"
    forget_pid "$BROKER_PID"
    cat "${BROKER_LOG:-$WORK/broker.log}" >>"$WORK/broker-all.log"
}

# ---- measurements ----------------------------------------------------------------------

# sample LABEL CMD...: one run; its RESULT lines go to samples.txt, a failure is reported
# (with the end of its stderr) and counted, and the benchmark carries on.
sample() {
    local label=$1 rc
    shift
    timeout -k 5 "$RUN_TIMEOUT" "$@" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ $rc -eq 0 ] && declare -F "convert_$label" >/dev/null; then
        "convert_$label" <"$WORK/out" >"$WORK/out.result"
        mv "$WORK/out.result" "$WORK/out"
    fi
    if [ $rc -eq 0 ] && grep -q '^RESULT ' "$WORK/out"; then
        grep -E '^(RESULT|PLACEMENT|CONSUME|KAFKA|SESSION|SPREAD) ' "$WORK/out" >>"$OUT/samples.txt"
        grep '^RESULT ' "$WORK/out" | awk -v r="$ROUND" -v n="$RUNS" '{
            for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            fig = f["records"] + 0 > 0 ? sprintf("%.0f records/s, ", f["records_per_s"]) : ""
            fig = fig sprintf("%.1f MB/s", f["mb_per_s"])
            if (f["p50_us"] != "-")
                fig = fig sprintf(", p50 %s us, p99 %s us", f["p50_us"], f["p99_us"])
            printf "  [%d/%d] %-24s %s\n", r, n, f["bench"], fig }'
        return 0
    fi
    FAILED=$((FAILED + 1))
    say "  [$ROUND/$RUNS] $label FAILED (exit $rc): $(tail -c 300 "$WORK/err" | tr '\n' ' ')"
    { echo "== round $ROUND: $label (exit $rc): $*"; cat "$WORK/err"; } >>"$OUT/logs/failures.log"
    return 1
}

# broker_ticks: the broker's CPU time so far, all its threads, user + system, in clock ticks
# (/proc/PID/stat fields 14 and 15, the 12th and 13th after the command name).
broker_ticks() {
    local stat
    stat=$(<"/proc/$BROKER_PID/stat") || return 1
    read -ra stat <<<"${stat##*) }"
    echo $((stat[11] + stat[12]))
}

# sample_broker LABEL CMD...: sample(), and what the run cost the broker in CPU time: a
# second RESULT line, <bench>_cpu, with the run's records and bytes over the broker's CPU
# seconds instead of wall seconds (records per broker CPU-second). On a shared machine the
# wall-clock rate moves with everyone else's load; the CPU the broker spent per record
# moves much less, so the two doors compare on both.
sample_broker() {
    local t0 t1
    t0=$(broker_ticks 2>/dev/null) || t0=""
    sample "$@" || return 1
    t1=$(broker_ticks 2>/dev/null) || return 0
    [ -n "$t0" ] && [ "$t1" -gt "$t0" ] || return 0
    # bench_native consume's placement probe (16 answers before its clock) cost the broker
    # CPU too: its bytes count with the run's (PLACEMENT ... probe_bytes=N).
    grep -E -m2 '^(RESULT|PLACEMENT) ' "$WORK/out" | awk -v ticks=$((t1 - t0)) -v hz="$CLK_TCK" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if ($1 == "RESULT") { name = f["bench"]; records = f["records"]; bytes = f["bytes"] } }
        END {
        s = ticks / hz
        bytes += f["probe_bytes"]
        records += f["probe_bytes"] * (bytes > 0 ? records / (bytes - f["probe_bytes"]) : 0)
        printf "RESULT bench=%s_cpu records=%.0f bytes=%.0f seconds=%.2f records_per_s=%.1f mb_per_s=%.2f p50_us=- p99_us=- p999_us=-\n",
               name, records, bytes, s, records / s, bytes / 1e6 / s }' \
        | tee -a "$OUT/samples.txt" | awk -v r="$ROUND" -v n="$RUNS" '{
            split($2, b, "="); split($5, s, "=")
            printf "  [%d/%d] %-24s the broker used %s s of CPU\n", r, n, b[2], s[2] }'
}

# convert_cli_test: `kafka_cli test --json` (the project's own load test) as a RESULT line,
# a cross-check of bench_native's batched produce figure. sample() calls convert_<label>
# on a run's stdout when such a function exists.
convert_cli_test() {
    awk 'function num(k) {
             if (!match($0, "\"" k "\":[0-9.]+")) return ""
             return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) }
         /records_per_sec/ && num("errors") == 0 {
             printf "RESULT bench=cli_test records=%s bytes=%s seconds=%s records_per_s=%s mb_per_s=%s p50_us=- p99_us=- p999_us=-\n",
                    num("records"), num("bytes"), num("seconds"), num("records_per_sec"), num("mb_per_sec") }'
}

# One round: every measurement once. The two sides of each comparison run back to back
# (the round trips even alternate inside one process), because on a shared machine the
# conditions of one minute are not those of the next. The broker starts fresh each round.
one_round() {
    local data=$WORK/broker-data port=""
    if [ "$HAVE_BROKER" = 1 ]; then
        rm -rf "$data"
        if start_broker "$data"; then port=$BROKER_PORT; else FAILED=$((FAILED + 1)); fi
    fi
    produce_group "$port"
    consume_group "$port"
    if [ -n "$port" ]; then # the broker's round trip and the raw ping-pong, interleaved,
        # with the client on the serving loop's CPU and on the other one (bench_native finds
        # which loop serves it from the broker's threads)
        sample native_rtt "$BIN/bench_native" rtt --port "$port" --topic $RTT_TOPIC \
            --count "$RTT_COUNT" --size $SIZE --broker-pid "$BROKER_PID" --name native_rtt
    else
        sample tcp_pingpong_same "$BIN/bench_tcp" pingpong --count "$RTT_COUNT" \
            --cpu "${CPUS[0]}" --client-cpu "${CPUS[0]}" --name tcp_pingpong_same
        [ "${#CPUS[@]}" -lt 2 ] || sample tcp_pingpong_cross "$BIN/bench_tcp" pingpong \
            --count "$RTT_COUNT" --cpu "${CPUS[0]}" --client-cpu "${CPUS[1]}" \
            --name tcp_pingpong_cross
    fi
    sample redis_rtt "$BIN/bench_redis" --port "$REDIS_PORT" --count "$RTT_COUNT" \
        --size $SIZE --window 1 --key rtt --name redis_rtt
    sample rdkafka_mock "$BIN/bench_rdkafka" --mock --count "$RDK_COUNT" --size $SIZE \
        --partitions $RDK_PARTITIONS --name rdkafka_mock
    if [ -n "$port" ] && [ "$KAFKA_OK" = 1 ]; then
        "$BIN/bench_native" create --port "$port" --topic "bench-rdkafka-$ROUND" \
            --partitions $RDK_PARTITIONS >/dev/null
        sample rdkafka_broker "$BIN/bench_rdkafka" --brokers "127.0.0.1:$port" \
            --topic "bench-rdkafka-$ROUND" --partitions $RDK_PARTITIONS --count "$RDK_COUNT" \
            --size $SIZE --name rdkafka_broker
    fi
    if [ -n "$port" ]; then
        stop_broker
        rm -rf "$data"
    fi
}

# produce_group PORT: batched (acks=1) and durable produce, the peers then the broker.
produce_group() {
    local port=$1
    sample redis_xadd "$BIN/bench_redis" --port "$REDIS_PORT" --count "$REDIS_COUNT" \
        --size $SIZE --window 8000 --name redis_xadd
    sample nats_js "$BIN/bench_nats" --port "$NATS_PORT" --count "$NATS_COUNT" --size $SIZE \
        --window 8000 --name nats_js
    if [ -n "$port" ]; then
        sample_broker native_produce "$BIN/bench_native" produce --port "$port" \
            --topic bench-produce --count "$NATIVE_COUNT" --size $SIZE --batch $BATCH \
            --acks 1 --window 8 --name native_produce
        kafka_produce_group "$port"
        sample cli_test "$BUILD/bin/kafka_cli" -b "127.0.0.1:$port" test bench-cli \
            "$NATIVE_COUNT" --size $SIZE --batch $BATCH --acks 1 --json
    fi
    sample redis_always "$BIN/bench_redis" --port "$ALWAYS_PORT" --count "$ALWAYS_COUNT" \
        --size $SIZE --conns 4 --window 4000 --name redis_always
    [ -z "$port" ] || sample_broker native_durable "$BIN/bench_native" produce --port "$port" \
        --topic bench-durable --count "$DURABLE_COUNT" --size $SIZE --batch $BATCH \
        --acks all --producers 4 --window 4 --name native_durable
    [ -z "$port" ] || [ "$KGEN_OK" != 1 ] || sample_broker kafka_durable "$BIN/bench_kafka" produce \
        --port "$port" --topic bench-kafka-durable --count "$DURABLE_COUNT" --size $SIZE \
        --batch $BATCH --acks all --producers 4 --window 4 --name kafka_durable
}

# kafka_produce_group PORT: the Kafka door, right after the native batched produce and in
# its shape (one connection, 8 requests of 1000 records in flight, acks=1): at the highest
# Produce version the broker offers (up to v11), then idempotent at that version, then at
# the highest classic version when the highest is flexible. Rows the broker cannot serve
# yet are not run; the report says why.
kafka_produce_group() {
    local port=$1
    [ "$KGEN_OK" = 1 ] || return 0
    sample_broker kafka_produce "$BIN/bench_kafka" produce --port "$port" \
        --topic bench-kafka-produce --count "$NATIVE_COUNT" --size $SIZE --batch $BATCH \
        --acks 1 --window 8 --name kafka_produce
    [ "$K_IDEMPOTENT" != yes ] || sample_broker kafka_produce_idem "$BIN/bench_kafka" produce \
        --port "$port" --topic bench-kafka-idem --count "$NATIVE_COUNT" --size $SIZE \
        --batch $BATCH --acks 1 --window 8 --idempotent --name kafka_produce_idem
    [ "$K_PRODUCE_FLEX" = - ] || sample_broker kafka_produce_classic "$BIN/bench_kafka" produce \
        --port "$port" --topic bench-kafka-classic --count "$NATIVE_COUNT" --size $SIZE \
        --batch $BATCH --acks 1 --window 8 --version classic --name kafka_produce_classic
}

# topic_bytes: the bytes the consumer reads in one pass over bench-consume (its segment
# files), or the expected size when there is no broker.
topic_bytes() {
    local logs=("$WORK"/broker-data/bench-consume-0/*.log)
    if [ -n "$1" ] && [ -f "${logs[0]}" ]; then
        stat -c %s "${logs[@]}" | awk '{ n += $1 } END { print n }'
    else
        echo $((FILL_COUNT * RECORD_BYTES))
    fi
}

# consume_group PORT: fill a topic (untimed), then the broker's consume, through Kafka's
# Fetch (at the classic version first when the highest is flexible) and then the native
# consume-batch, and the raw streams. The native consumer's peer (tcp_stream_ws) streams as
# many bytes of memory as the topic holds, and runs just after it; the Kafka consumer runs
# just before it. The hot 1 MiB stream and sendfile are informative. Every
# sender is pinned to the CPU of the broker loop that served the consumer (bench_native
# finds it and prints it on its PLACEMENT line), and every reader is left to the scheduler.
consume_group() {
    local port=$1 bytes cpu=${CPUS[0]}
    [ -z "$port" ] || timeout "$RUN_TIMEOUT" "$BIN/bench_native" produce --port "$port" \
        --topic bench-consume --count "$FILL_COUNT" --size $SIZE --batch $BATCH \
        --name native_fill >/dev/null
    bytes=$(topic_bytes "$port")
    # The sendfile ceiling's file: as large as the topic, written once, so it sits in the
    # page cache as a log does.
    [ -f "$WORK/sendfile.bin" ] || head -c "$bytes" /dev/zero >"$WORK/sendfile.bin" || return
    # The fill leaves the topic dirty in the page cache (330-720 MB of Dirty measured right
    # after it), and so does the sendfile file once; written back while the consumers run,
    # it would fall on whichever runs first. Untimed, like the fill.
    sync -f "$WORK" 2>/dev/null || sync
    if [ -n "$port" ] && [ "$KGEN_OK" = 1 ]; then # Kafka's Fetch, same topic, same window
        [ "$K_FETCH_FLEX" = - ] || sample_broker kafka_consume_classic "$BIN/bench_kafka" consume \
            --port "$port" --topic bench-consume --ms "$CONSUME_MS" --window $CONSUME_WINDOW \
            --max-bytes $CONSUME_MAX_BYTES --version classic --name kafka_consume_classic
        sample_broker kafka_consume "$BIN/bench_kafka" consume --port "$port" --topic bench-consume \
            --ms "$CONSUME_MS" --window $CONSUME_WINDOW --max-bytes $CONSUME_MAX_BYTES \
            --name kafka_consume
    fi
    if [ -n "$port" ] && sample_broker native_consume "$BIN/bench_native" consume --port "$port" \
        --topic bench-consume --ms "$CONSUME_MS" --window $CONSUME_WINDOW \
        --max-bytes $CONSUME_MAX_BYTES --broker-pid "$BROKER_PID" --name native_consume; then
        cpu=$(sed -n 's/^PLACEMENT .*server_cpu=\([0-9]*\).*/\1/p' "$WORK/out")
        cpu=${cpu:-${CPUS[0]}}
    fi
    sample tcp_stream_ws "$BIN/bench_tcp" stream --ms "$TCP_MS" --bytes "$bytes" --cpu "$cpu"
    sample tcp_stream_hot "$BIN/bench_tcp" stream --ms "$TCP_MS" --cpu "$cpu"
    sample tcp_sendfile "$BIN/bench_tcp" stream --ms "$TCP_MS" --file "$WORK/sendfile.bin" \
        --cpu "$cpu"
}

# session_rounds: the fetch-session rows, RUNS rounds of them on a broker of their own
# (started once: creating and opening SESS_PARTITIONS partitions takes longer than the
# rest of a round), after the other rounds so that it disturbs none of them. In each
# round the same consumer runs without and with sessions, back to back, idle and then
# with a trickle: the two sides of each comparison share the minute they ran in.
session_rounds() {
    local data=$WORK/sess-data port load s
    [ "$KGEN_OK" = 1 ] || return 0
    start_broker "$data" --override "num.partitions.max=$SESS_PARTITIONS" ||
        { WHY_KSESS="the broker did not start"; FAILED=$((FAILED + 1)); return; }
    port=$BROKER_PORT
    say "fetch sessions: creating a topic of $SESS_PARTITIONS partitions (untimed)"
    if ! timeout "$RUN_TIMEOUT" "$BIN/bench_native" create --port "$port" --topic bench-sessions \
        --partitions "$SESS_PARTITIONS" >/dev/null 2>"$WORK/sess.err"; then
        WHY_KSESS="creating $SESS_PARTITIONS partitions failed: $(tail -c 200 "$WORK/sess.err" | tr '\n' ' ')"
        FAILED=$((FAILED + 1))
        stop_broker
        return
    fi
    for ROUND in $(seq "$RUNS"); do
        for load in idle trickle; do
            for s in off on; do
                sample_broker "kafka_sess_${load}_$s" "$BIN/bench_kafka" sessions --port "$port" \
                    --topic bench-sessions --partitions "$SESS_PARTITIONS" --session "$s" \
                    --ms "$SESS_MS" --trickle "$([ "$load" = idle ] && echo 0 || echo $SESS_TRICKLE)" \
                    --name "kafka_sess_${load}_$s"
            done
        done
    done
    stop_broker
    rm -rf "$data"
}

# ---- Produce spread over many partitions ---------------------------------------------------

# spread_rounds: two brokers for the whole run, each with its fresh data directory and the
# default settings: one holds a topic of SPREAD_PARTITIONS partitions, the other a topic of
# one (apart, so that the one-partition log is not one more log in the first broker's
# cache: bench/README.md says why that matters). A first pass over every partition
# (creating its segment: kafka_spread_first, timed once) is not in the rounds; then each
# round sends SPREAD_COUNT records to each side, spread first, and Redis (the peer) takes
# REDIS_COUNT XADDs round-robin over as many streams, then to one.
spread_rounds() {
    local one_port one_pid spread_port spread_pid n=$SPREAD_PARTITIONS
    local args=(--batch $SPREAD_BATCH --per-request $SPREAD_PER_REQUEST --size $SIZE)
    [ "$KGEN_OK" = 1 ] || return 0
    BROKER_LOG=$WORK/broker-one.log start_broker "$WORK/spread-one" ||
        { WHY_KSPREAD="the broker did not start"; FAILED=$((FAILED + 1)); return; }
    one_port=$BROKER_PORT one_pid=$BROKER_PID
    BROKER_LOG=$WORK/broker-spread.log start_broker "$WORK/spread-data" \
        --override "num.partitions.max=$n" ||
        { WHY_KSPREAD="the broker did not start"; FAILED=$((FAILED + 1)); spread_stop "$one_pid"; return; }
    spread_port=$BROKER_PORT spread_pid=$BROKER_PID
    say "produce spread: creating a topic of $n partitions (untimed) and one of 1"
    if ! "$BIN/bench_native" create --port "$spread_port" --topic bench-spread \
            --partitions "$n" >/dev/null 2>"$WORK/spread.err" ||
       ! "$BIN/bench_native" create --port "$one_port" --topic bench-spread-one \
            --partitions 1 >/dev/null 2>>"$WORK/spread.err"; then
        WHY_KSPREAD="creating the topics failed: $(tail -c 200 "$WORK/spread.err" | tr '\n' ' ')"
        FAILED=$((FAILED + 1))
        spread_stop "$spread_pid" "$one_pid"
        return
    fi
    ROUND=1
    sample_broker kafka_spread_first "$BIN/bench_kafka" spread --port "$spread_port" \
        --topic bench-spread --partitions "$n" --count $((n * SPREAD_BATCH)) "${args[@]}" \
        --name kafka_spread_first
    for ROUND in $(seq "$RUNS"); do
        BROKER_PID=$spread_pid sample_broker kafka_spread "$BIN/bench_kafka" spread \
            --port "$spread_port" --topic bench-spread --partitions "$n" \
            --count "$SPREAD_COUNT" "${args[@]}" --name kafka_spread
        BROKER_PID=$one_pid sample_broker kafka_spread_one "$BIN/bench_kafka" spread \
            --port "$one_port" --topic bench-spread-one --partitions 1 \
            --count "$SPREAD_COUNT" "${args[@]}" --name kafka_spread_one
        # the peer: Redis XADD round-robin over as many streams, and to one
        sample redis_spread "$BIN/bench_redis" --port "$REDIS_PORT" --count "$REDIS_COUNT" \
            --size $SIZE --window 8000 --key spread --keys "$n" --name redis_spread
        sample redis_spread_one "$BIN/bench_redis" --port "$REDIS_PORT" --count "$REDIS_COUNT" \
            --size $SIZE --window 8000 --key spread-one --name redis_spread_one
    done
    spread_stop "$spread_pid" "$one_pid"
}

# spread_stop PID...: stop these brokers, keep their logs, drop their data.
spread_stop() {
    local pid
    for pid in "$@"; do
        stop_pid "$pid"
        forget_pid "$pid"
    done
    cat "$WORK"/broker-spread.log "$WORK"/broker-one.log >>"$WORK/broker-all.log" 2>/dev/null
    rm -rf "$WORK/spread-data" "$WORK/spread-one"
}

# ---- TLS against plaintext ---------------------------------------------------------------

# tls_certs DIR: a CA and a certificate for 127.0.0.1 made here with the openssl CLI (none
# is committed), the broker's key and chain in one file as ssl.keystore.type=PEM takes it.
tls_certs() {
    local d=$1
    mkdir -p "$d" &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench-ca" \
            -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/broker.key" \
            -out "$d/broker.csr" 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext" &&
        openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/broker.crt" 2>/dev/null &&
        cat "$d/broker.key" "$d/broker.crt" >"$d/broker.pem"
}

# tls_rounds: what TLS costs, on a broker of its own with a PLAINTEXT and an SSL listener.
# Both sides go through the same client code (np_client: --np-client on the plaintext
# side), so each ratio is TLS alone: produce pays the encryption of what it sends; consume
# pays pread + SSL_write where plaintext has sendfile (no kTLS on this kernel); and new
# connections per second, plain TCP against a TLS handshake (each ends with one request).
tls_rounds() {
    local data=$WORK/tls-data dir=$WORK/tls port sport
    [ "$HAVE_BROKER" = 1 ] || return 0
    if ! command -v openssl >/dev/null || ! tls_certs "$dir"; then
        WHY_TLS="no certificates: the openssl CLI is missing (scripts/deps.sh test)"
        return 0
    fi
    start_broker "$data" --override "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0" \
        --override ssl.keystore.type=PEM --override "ssl.keystore.location=$dir/broker.pem" ||
        { WHY_TLS="the broker did not start with an SSL listener"; FAILED=$((FAILED + 1)); return; }
    port=$BROKER_PORT
    sport=$(grep -oE 'listening on SSL://127\.0\.0\.1:[0-9]+' "$WORK/broker.log" | head -1 |
            cut -d: -f3)
    [ -n "$sport" ] || { WHY_TLS="no SSL listener in the broker's log"; stop_broker; return; }
    for ROUND in $(seq "$RUNS"); do
        sample_broker tls_plain_produce "$BIN/bench_native" produce --port "$port" \
            --topic bench-tls-plain --count "$TLS_COUNT" --size $SIZE --batch $BATCH --acks 1 \
            --window 8 --np-client --name tls_plain_produce
        sample_broker tls_produce "$BIN/bench_native" produce --port "$sport" \
            --tls-ca "$dir/ca.pem" --topic bench-tls --count "$TLS_COUNT" --size $SIZE \
            --batch $BATCH --acks 1 --window 8 --name tls_produce
        sample_broker tls_plain_consume "$BIN/bench_native" consume --port "$port" \
            --topic bench-tls-plain --ms "$CONSUME_MS" --window $CONSUME_WINDOW \
            --max-bytes $CONSUME_MAX_BYTES --np-client --name tls_plain_consume
        sample_broker tls_consume "$BIN/bench_native" consume --port "$sport" \
            --tls-ca "$dir/ca.pem" --topic bench-tls --ms "$CONSUME_MS" \
            --window $CONSUME_WINDOW --max-bytes $CONSUME_MAX_BYTES --name tls_consume
        sample tls_plain_handshake "$BIN/bench_native" handshake --port "$port" \
            --topic bench-tls-plain --ms "$CONSUME_MS" --name tls_plain_handshake
        sample tls_handshake "$BIN/bench_native" handshake --port "$sport" \
            --tls-ca "$dir/ca.pem" --topic bench-tls --ms "$CONSUME_MS" --name tls_handshake
    done
    stop_broker
    rm -rf "$data" "$dir"
}

# ---- the cluster ---------------------------------------------------------------------------

# cluster_rounds: bench/cluster.sh (ZooKeeper and three brokers of their own, after every
# other row so that they disturb none): its RESULT, FAILOVER and CLUSTER lines go into
# this run's samples, its logs into logs/cluster/.
cluster_rounds() {
    local rc
    if [ "${BENCH_CLUSTER:-1}" = 0 ]; then
        WHY_CLUSTER="skipped (BENCH_CLUSTER=0)"
        return 0
    fi
    [ "$KGEN_OK" = 1 ] || { WHY_CLUSTER=$WHY_KGEN; return 0; }
    say "the cluster: ZooKeeper and three brokers (bench/cluster.sh)"
    CLUSTER_SAMPLES="$OUT/samples.txt" CLUSTER_LOGS="$OUT/logs/cluster" BUILD=$BUILD \
        BENCH_QUICK=$QUICK BENCH_RUNS=$RUNS BENCH_BROKER=$BROKER \
        timeout -k 10 1800 "$HERE/cluster.sh"
    rc=$?
    case $rc in
    0) WHY_CLUSTER= ;;
    3) WHY_CLUSTER="no ZooKeeper (scripts/deps.sh test installs Debian's zookeeper)" ;;
    *) WHY_CLUSTER="the cluster run failed (exit $rc, see logs/cluster/)"
       FAILED=$((FAILED + 1)) ;;
    esac
}

# ---- the run ---------------------------------------------------------------------------

# kafka_probe PORT: what the broker's Kafka door offers (ApiVersions, through bench_kafka
# probe), hence which Kafka rows can run: the flexible ones and idempotence only when the
# broker offers them. Sets KGEN_OK, K_PRODUCE_FLEX, K_FETCH_FLEX, K_IDEMPOTENT and the
# reasons the report gives for rows it could not run.
kafka_probe() {
    local line
    if [ ! -x "$BIN/bench_kafka" ]; then
        WHY_KGEN="bench_kafka is not built (make bench-system-bins)"
    elif ! line=$(timeout 20 "$BIN/bench_kafka" probe --port "$1" 2>"$WORK/kprobe.err"); then
        WHY_KGEN="the broker's Kafka door did not answer ApiVersions: $(tail -c 200 "$WORK/kprobe.err" | tr '\n' ' ')"
    else
        KGEN_OK=1
        K_PRODUCE_FLEX=$(probe_field "$line" produce_flexible)
        K_FETCH_FLEX=$(probe_field "$line" fetch_flexible)
        K_IDEMPOTENT=$(probe_field "$line" idempotent)
        say "the Kafka door offers Produce v$(probe_field "$line" produce), Fetch v$(probe_field "$line" fetch), InitProducerId $(probe_field "$line" init_producer_id | sed 's/^-$/not at all/;s/^[0-9]/v&/'): bench_kafka sends Produce v$(probe_field "$line" produce_default) and Fetch v$(probe_field "$line" fetch_default)"
        WHY_KFLEX_PRODUCE="not offered: the broker serves Produce v$(probe_field "$line" produce), flexible from v9"
        WHY_KFLEX_FETCH="not offered: the broker serves Fetch v$(probe_field "$line" fetch), flexible from v12"
        WHY_KIDEM="not offered: the broker does not serve InitProducerId"
        echo "$line" >>"$OUT/samples.txt"
    fi
}

# probe_field LINE KEY: the value of KEY=... on a PROBE line.
probe_field() {
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

need() {
    command -v "$1" >/dev/null && return 0
    say "missing: $1 (install the benchmark's packages: scripts/deps.sh bench)"
    exit 1
}

machine() {
    say "machine: $(hostname), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
    say "load average at start: $LOAD_START (shared machine: others' builds and tests run beside this)"
    say "busiest other processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}')"
}

main() {
    local b
    for b in bench_tcp bench_redis bench_nats bench_rdkafka; do
        [ -x "$BIN/$b" ] || { say "missing $BIN/$b: run make BUILD=$BUILD bench-system-bins"; exit 1; }
    done
    need redis-server
    need nats-server
    HAVE_BROKER=0
    KAFKA_OK=0
    KGEN_OK=0 K_PRODUCE_FLEX=- K_FETCH_FLEX=- K_IDEMPOTENT=no
    WHY_KGEN="the broker has not landed yet"
    WHY_KFLEX_PRODUCE=$WHY_KGEN WHY_KFLEX_FETCH=$WHY_KGEN WHY_KIDEM=$WHY_KGEN WHY_KSESS= WHY_TLS=
    WHY_KSPREAD= WHY_CLUSTER=
    WHY_NATIVE="the broker has not landed yet ($BROKER missing)"
    WHY_KAFKA="the broker has not landed yet"
    if [ -x "$BROKER" ] && [ -x "$BIN/bench_native" ]; then
        HAVE_BROKER=1
        WHY_NATIVE="every run failed (see logs/failures.log)"
    fi
    cpus=$("$BIN/bench_tcp" cpus) || exit 1
    CLK_TCK=$(getconf CLK_TCK)        # the unit of /proc/PID/stat's CPU times
    read -ra CPUS <<<"$cpus"          # the CPUs we may use: where run.sh pins the raw peers
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    say "== system benchmark: $RUNS rounds$([ "$QUICK" = 1 ] && echo ", quick form"), $(date -u +%Y-%m-%dT%H:%MZ)"
    machine

    start_peer REDIS "$WORK/redis.log" redis-server --port @PORT --bind 127.0.0.1 \
        --save "" --appendonly no --dir "$WORK" --daemonize no || exit 1
    mkdir -p "$WORK/always"
    start_peer ALWAYS "$WORK/redis-always.log" redis-server --port @PORT --bind 127.0.0.1 \
        --save "" --appendonly yes --appendfsync always --dir "$WORK/always" \
        --daemonize no || exit 1
    start_peer NATS "$WORK/nats.log" nats-server -js -a 127.0.0.1 -p @PORT \
        -sd "$WORK/nats" || exit 1
    say "peers: redis-server $(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2) on :$REDIS_PORT (no persistence) and :$ALWAYS_PORT (appendfsync always), nats-server $(nats-server --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+') -js on :$NATS_PORT, librdkafka $(pkg-config --modversion rdkafka 2>/dev/null)"

    if [ "$HAVE_BROKER" = 1 ]; then
        start_broker "$WORK/probe-data" || exit 1
        if "$BIN/bench_rdkafka" --brokers "127.0.0.1:$BROKER_PORT" --probe >/dev/null 2>&1; then
            KAFKA_OK=1
        else
            WHY_KAFKA="the broker does not speak the Kafka protocol yet (issue 5)"
        fi
        kafka_probe "$BROKER_PORT"
        stop_broker
        rm -rf "$WORK/probe-data"
    fi
    [ "$HAVE_BROKER" = 1 ] || say "NOTE: $WHY_NATIVE: only the peers are measured"
    [ "$KAFKA_OK" = 1 ] || say "NOTE: librdkafka against the broker: not available: $WHY_KAFKA; the mock cluster's figures are measured alone"
    [ "$HAVE_BROKER" = 0 ] || [ "$KGEN_OK" = 1 ] || say "NOTE: the Kafka door: not measured: $WHY_KGEN"

    for ROUND in $(seq "$RUNS"); do
        one_round
    done
    session_rounds
    spread_rounds
    tls_rounds
    cluster_rounds
    report
}

report() {
    local load_end meta
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    meta=$(printf '"date":"%s","host":"%s","cpus":%d,"cpu":"%s","kernel":"%s","runs":%d,"quick":%s,"load_start":"%s","load_end":"%s","failed_runs":%d,"native_available":%s,"kafka_available":%s,"kafka_door_measured":%s,"kafka_produce_flexible":"%s","kafka_fetch_flexible":"%s","kafka_idempotent":"%s","fetch_session_partitions":%d,"spread_partitions":%d' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(hostname)" "$(nproc)" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(uname -r)" \
        "$RUNS" "$([ "$QUICK" = 1 ] && echo true || echo false)" "$LOAD_START" "$load_end" \
        "$FAILED" "$([ "$HAVE_BROKER" = 1 ] && echo true || echo false)" \
        "$([ "$KAFKA_OK" = 1 ] && echo true || echo false)" \
        "$([ "$KGEN_OK" = 1 ] && echo true || echo false)" "$K_PRODUCE_FLEX" "$K_FETCH_FLEX" \
        "$K_IDEMPOTENT" "$SESS_PARTITIONS" "$SPREAD_PARTITIONS")
    {
        say ""
        say "== results: median of $RUNS runs [min-max], $(date -u +%Y-%m-%dT%H:%MZ), $(hostname), $(nproc) CPUs"
        say "   load average $LOAD_START at start, $load_end at the end: a shared machine, read the spread"
        awk -f "$HERE/report.awk" -v json="$OUT/report.json" -v chart="$OUT/chart.dat" \
            -v why_native="$WHY_NATIVE" -v why_kafka="$WHY_KAFKA" -v why_kgen="$WHY_KGEN" \
            -v why_kflex_produce="$WHY_KFLEX_PRODUCE" -v why_kflex_fetch="$WHY_KFLEX_FETCH" \
            -v why_kidem="$WHY_KIDEM" -v why_ksess="$WHY_KSESS" -v why_tls="$WHY_TLS" \
            -v why_kspread="$WHY_KSPREAD" -v why_cluster="$WHY_CLUSTER" \
            -v meta_json="$meta" \
            "$OUT/samples.txt"
        [ "$FAILED" -eq 0 ] || say "$FAILED run(s) FAILED: see $OUT/logs/failures.log"
    } | tee "$OUT/report.txt"
    if command -v gnuplot >/dev/null; then
        gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'; subtitle='$(hostname), $(nproc) CPUs, $(date -u +%Y-%m-%d), median of $RUNS runs'" \
            "$HERE/chart.gp" 2>"$OUT/logs/gnuplot.log" && say "chart: $OUT/chart.png"
    else
        say "gnuplot missing: no chart (scripts/deps.sh bench installs it)"
    fi
    ln -sfn "$STAMP" "$BUILD/bench/results/latest"
    say "results: $OUT/ (report.txt, report.json, chart.png, samples.txt, logs/)"
    [ "$FAILED" -eq 0 ]
}

main "$@"

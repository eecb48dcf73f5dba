#!/usr/bin/env bash
# bench/cluster.sh - the cluster's benchmarks (issue 13): ZooKeeper and three brokers on
# 127.0.0.1 ephemeral ports, and bench_kafka's cluster modes against them:
#
#   kafka_rf3_produce / kafka_rf1_produce   acks=all produce to partition 0's leader of a
#        topic with replication factor 3 (min.insync.replicas 2) and of one with RF 1, on
#        the same cluster, alternating in every round (kafka_durable's shape: 4
#        connections, 4 requests in flight each, batches of 1000 records of 100 B)
#   disk_sync_w3 / disk_sync_w1             the disk's ceiling for those two (bench_disk.c):
#        3 writers appending 1 MiB and fdatasyncing at once, per writer, against 1 alone,
#        in the brokers' directory, in the same rounds - what RF 3 / RF 1 could be at most
#   kafka_e2e_rf3 / kafka_e2e_rf1           one record produced acks=all, timed until a
#        consumer long-polling Fetch on the leader receives it: p50, p99
#   kafka_failover_kill / kafka_failover_term   a stream of single-record acks=all produces;
#        the leader gets SIGKILL (or SIGTERM: controlled shutdown); the time to the first
#        acknowledged produce at the new leader, and the longest gap between two
#        acknowledged produces. The stopped broker is restarted after every round.
#
#   BUILD=build bench/cluster.sh          (make bench-cluster; make bench runs it too)
#   BENCH_QUICK=1  the short form    BENCH_RUNS=N  rounds (default 7, quick 5; >= 5)
#   BENCH_BROKER=path                a kafka_broker other than $BUILD/bin/kafka_broker
#   CLUSTER_BROKER_ARGS="--override k=v ..."   extra settings for every broker (to see
#                                    what a setting changes; TMPDIR=/dev/shm puts the
#                                    brokers' data in memory, to tell the disk's share)
#   CLUSTER_SAMPLES=file CLUSTER_LOGS=dir   (bench/run.sh) append the RESULT/FAILOVER lines
#                                    there and print no report of its own
#
# Every process is started here, stopped by its PID on exit and on Ctrl-C; every run is
# bounded by `timeout`; the temporary directory (ZooKeeper's and the brokers' data) is
# removed. Exit status: 0 when every run succeeded, 1 when one failed, 3 when there is no
# ZooKeeper (Debian's zookeeper package: scripts/deps.sh test) - nothing measured.
set -uo pipefail

BUILD=${BUILD:-build}
QUICK=${BENCH_QUICK:-0}
RUNS=${BENCH_RUNS:-$([ "$QUICK" = 1 ] && echo 5 || echo 7)}
BIN=$BUILD/bench/system
BROKER=${BENCH_BROKER:-$BUILD/bin/kafka_broker}
HERE=$(cd "$(dirname "$0")" && pwd)
ZK_JAR=/usr/share/java/zookeeper.jar
NOP_JAR=/usr/share/java/slf4j-nop.jar
RUN_TIMEOUT=120                 # seconds: no single run may take longer
SESSION_MS=2000                 # zookeeper.session.timeout.ms, as the cluster tests use
TICK_MS=200                     # ZooKeeper's tick: sessions of 2-20 ticks, 400-4000 ms
SIZE=100
BATCH=1000
if [ "$QUICK" = 1 ]; then
    PRODUCE_COUNT=400000 E2E_COUNT=300
else
    PRODUCE_COUNT=2000000 E2E_COUNT=1000
fi
[ "$RUNS" -ge 5 ] 2>/dev/null || { echo "BENCH_RUNS must be a number >= 5" >&2; exit 2; }

PIDS=()                         # every process we started and have not reaped
declare -A BPID BPORT           # broker id -> its pid, its port
FAILED=0
ROUND=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kc-cluster.XXXXXX") || exit 1
if [ -n "${CLUSTER_SAMPLES:-}" ]; then
    SAMPLES=$CLUSTER_SAMPLES LOGS=${CLUSTER_LOGS:-$WORK/logs} OUT=
else
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    OUT=$BUILD/bench/results/cluster-$STAMP
    SAMPLES=$OUT/samples.txt LOGS=$OUT/logs
fi
mkdir -p "$LOGS" || exit 1

say() { printf '%s\n' "$*"; }

# ---- processes -------------------------------------------------------------------------

forget_pid() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    PIDS=("${keep[@]}")
}

# alive PID: running (an exited child we have not reaped yet is a zombie: not alive).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# stop_pid PID: SIGTERM, up to 15 s (a broker's controlled shutdown), then SIGKILL; reap.
stop_pid() {
    local pid=$1 i
    if alive "$pid" && kill -TERM "$pid" 2>/dev/null; then
        for i in $(seq 150); do
            alive "$pid" || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
    return 0
}

# Brokers first, all at once (each hands its leaderships over), then ZooKeeper.
cleanup() {
    local pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "${ZK_PID:-}" ] || kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "${ZK_PID:-}" ] || stop_pid "$pid"
    done
    [ -z "${ZK_PID:-}" ] || stop_pid "$ZK_PID"
    cp "$WORK"/*.log "$LOGS/" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_zk: Debian's ZooKeeper, standalone, on a free port; until it answers "imok".
start_zk() {
    local cp=$ZK_JAR i ok=
    ZK_PORT=$("$BIN/bench_tcp" freeport) || return 1
    mkdir -p "$WORK/zk"
    printf 'tickTime=%d\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nmaxSessionTimeout=%d\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\nforceSync=no\n' \
        "$TICK_MS" "$WORK/zk" "$ZK_PORT" $((TICK_MS * 20)) >"$WORK/zk/zoo.cfg"
    [ -r "$NOP_JAR" ] && cp="$cp:$NOP_JAR"
    java -Xmx256m -XX:+UseSerialGC -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain \
        "$WORK/zk/zoo.cfg" >"$WORK/zookeeper.log" 2>&1 &
    ZK_PID=$!
    PIDS+=("$ZK_PID")
    for i in $(seq 150); do
        if { exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT"; } 2>/dev/null; then
            printf ruok >&3
            read -r -t 1 ok <&3
            exec 3>&-
            [ "$ok" = imok ] && return 0
        fi
        alive "$ZK_PID" || break
        sleep 0.2
    done
    say "ZooKeeper did not start (see $LOGS/zookeeper.log)"
    return 1
}

# start_broker ID: broker ID of the cluster on a free port, its data in $WORK/broker-ID (a
# restart keeps it); sets BPID[ID], BPORT[ID] from the port it prints.
start_broker() {
    local id=$1 log=$WORK/broker-$1.log i port skip
    printf '== start %s\n' "$(date -u +%T)" >>"$log"
    skip=$(wc -l <"$log")       # a restart appends: read only what this start prints
    "$BROKER" --port 0 --bind 127.0.0.1 --data-dir "$WORK/broker-$id" \
        --override metrics.port=-1 --override "zookeeper.connect=127.0.0.1:$ZK_PORT/kc-bench" \
        --override "broker.id=$id" --override "zookeeper.session.timeout.ms=$SESSION_MS" \
        ${CLUSTER_BROKER_ARGS:-} >>"$log" 2>&1 &
    BPID[$id]=$!
    PIDS+=("${BPID[$id]}")
    for i in $(seq 300); do
        port=$(tail -n +"$((skip + 1))" "$log" | grep -oE 'listening on 127\.0\.0\.1:[0-9]+' |
               head -1 | cut -d: -f2)
        [ -n "$port" ] && break
        alive "${BPID[$id]}" || break
        sleep 0.1
    done
    [ -n "$port" ] || { say "broker $id did not start (see $LOGS/broker-$id.log)"; return 1; }
    BPORT[$id]=$port
}

bootstrap() {
    local id list=
    for id in 1 2 3; do list=$list${list:+,}${BPORT[$id]}; done
    echo "$list"
}

# leader TOPIC [ARG...]: bench_kafka leader through broker 1 (or any live one); sets
# L_ID, L_PORT from its LEADER line.
leader() {
    local topic=$1 id line
    shift
    for id in 1 2 3; do
        alive "${BPID[$id]}" || continue
        line=$(timeout -k 5 90 "$BIN/bench_kafka" leader --port "${BPORT[$id]}" \
               --topic "$topic" "$@" 2>>"$WORK/leader.err") || continue
        L_ID=$(sed -n 's/.* id=\([0-9-]*\) .*/\1/p' <<<"$line")
        L_PORT=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"$line")
        [ -n "$L_ID" ] && [ -n "${BPID[$L_ID]:-}" ] && return 0
    done
    say "  no leader for $topic: $(tail -c 300 "$WORK/leader.err" | tr '\n' ' ')"
    return 1
}

# ---- measurements ----------------------------------------------------------------------

# sample LABEL CMD...: one run, its RESULT/FAILOVER lines to the samples, a failure counted.
sample() {
    local label=$1 rc
    shift
    timeout -k 5 "$RUN_TIMEOUT" "$@" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^RESULT ' "$WORK/out"; then
        grep -E '^(RESULT|FAILOVER|KAFKA) ' "$WORK/out" >>"$SAMPLES"
        awk -v r="$ROUND" -v n="$RUNS" '
            $1 == "RESULT" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
            $1 == "FAILOVER" { for (i = 2; i <= NF; i++) { split($i, kv, "="); g[kv[1]] = kv[2] } }
            END {
                line = sprintf("  [%d/%d] %-22s", r, n, f["bench"])
                if (g["signal"] != "")
                    line = line sprintf(" failover %s ms, longest gap %s ms (slowest produce %s ms; %s acked, %s retries)",
                                        g["failover_ms"], g["max_gap_ms"], g["slowest_produce_ms"], g["acked"], g["retries"])
                else if (f["p50_us"] != "-")
                    line = line sprintf(" p50 %s us, p99 %s us", f["p50_us"], f["p99_us"])
                else
                    line = line sprintf(" %.0f records/s", f["records_per_s"])
                print line }' "$WORK/out"
        return 0
    fi
    FAILED=$((FAILED + 1))
    say "  [$ROUND/$RUNS] $label FAILED (exit $rc): $(tail -c 300 "$WORK/err" | tr '\n' ' ')"
    { echo "== round $ROUND: $label (exit $rc): $*"; cat "$WORK/err"; } >>"$LOGS/failures.log"
    return 1
}

# rf_topic RF: the topic of that replication factor (RF 1: the one led by RF 3's leader).
rf_topic() {
    [ "$1" = 3 ] && echo bench-rf3 || echo "$RF1_TOPIC"
}

produce() { # produce RF
    leader "$(rf_topic "$1")" || { FAILED=$((FAILED + 1)); return; }
    sample "kafka_rf$1_produce" "$BIN/bench_kafka" produce --port "$L_PORT" \
        --topic "$(rf_topic "$1")" --count "$PRODUCE_COUNT" --size $SIZE --batch $BATCH --acks all \
        --producers 4 --window 4 --name "kafka_rf$1_produce"
}

# disk WRITERS: the disk's ceiling for the produce, measured beside it (bench_disk.c): each of
# WRITERS appends 1 MiB and fdatasyncs, in the brokers' own directory. RF 3 writes every
# byte on three brokers of this one disk, RF 1 on one: disk_sync_w3 / disk_sync_w1 is the
# most RF 3 / RF 1 could be here, whatever the brokers do.
disk() {
    sample "disk_sync_w$1" "$BIN/bench_disk" --dir "$WORK" --writers "$1" --chunk 1048576 \
        --ms 2000 --size $SIZE --name "disk_sync_w$1"
}

e2e() { # e2e RF
    leader "$(rf_topic "$1")" || { FAILED=$((FAILED + 1)); return; }
    sample "kafka_e2e_rf$1" "$BIN/bench_kafka" e2e --port "$L_PORT" --topic "$(rf_topic "$1")" \
        --count "$E2E_COUNT" --size $SIZE --name "kafka_e2e_rf$1"
}

# failover KILL|TERM: a fresh topic for the round (replication factor 3, min.insync.replicas
# 2: its ISR starts full, whatever the rounds before did to the others'), its leader found
# with every broker live; the signal to that leader under the stream; the broker reaped and
# started again (same id, same data), so the next round has three live brokers again.
failover() {
    local sig=$1 name pid topic
    name=kafka_failover_$(tr 'A-Z' 'a-z' <<<"$sig")
    topic=bench-failover-$name-$ROUND
    leader "$topic" --replication-factor 3 --min-insync 2 --brokers 3 ||
        { FAILED=$((FAILED + 1)); return; }
    pid=${BPID[$L_ID]}
    sample "$name" "$BIN/bench_kafka" failover --bootstrap "$(bootstrap)" \
        --topic "$topic" --kill-pid "$pid" --signal "$sig" --warm-ms 500 \
        --after-ms 500 --deadline-ms 30000 --name "$name"
    stop_pid "$pid"             # reaped (after SIGTERM it may still be shutting down)
    start_broker "$L_ID" || FAILED=$((FAILED + 1))
}

# rf1_topic LEADER: RF 1 topics until one is led by broker LEADER (RF 3's leader), so that
# both sides of the comparison are served by the same process: the difference is then
# replication alone, not which broker (and which CPU) serves. Sets RF1_TOPIC.
rf1_topic() {
    local want=$1 t
    for t in bench-rf1 bench-rf1-b bench-rf1-c bench-rf1-d bench-rf1-e bench-rf1-f; do
        leader "$t" --replication-factor 1 --brokers 3 || return 1
        RF1_TOPIC=$t
        [ "$L_ID" = "$want" ] && return 0
    done
    say "NOTE: no RF 1 topic landed on broker $want (RF 3's leader): $RF1_TOPIC is led by broker $L_ID"
}

main() {
    local b
    for b in bench_kafka bench_tcp bench_disk; do
        [ -x "$BIN/$b" ] || { say "missing $BIN/$b: make BUILD=$BUILD bench-system-bins"; exit 1; }
    done
    [ -x "$BROKER" ] || { say "missing $BROKER: make bins"; exit 1; }
    if ! command -v java >/dev/null || [ ! -r "$ZK_JAR" ]; then
        say "cluster benchmark: NOT RUN: no ZooKeeper (scripts/deps.sh test installs Debian's zookeeper)"
        exit 3
    fi
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    say "== cluster benchmark: $RUNS rounds$([ "$QUICK" = 1 ] && echo ", quick form"), $(date -u +%Y-%m-%dT%H:%MZ), load average $LOAD_START"
    say "   broker: $BROKER ($(git -C "$(dirname "$BROKER")" log -1 --format=%h 2>/dev/null || echo '?'))"
    start_zk || exit 1
    for b in 1 2 3; do start_broker "$b" || exit 1; done
    say "ZooKeeper on :$ZK_PORT (tick $TICK_MS ms), brokers 1-3 on :$(bootstrap), zookeeper.session.timeout.ms=$SESSION_MS"
    leader bench-rf3 --replication-factor 3 --min-insync 2 --brokers 3 || exit 1
    rf1_topic "$L_ID" || exit 1
    say "RF 3: bench-rf3 (min.insync.replicas 2), RF 1: $RF1_TOPIC, both led by broker $L_ID"
    echo "CLUSTER session_ms=$SESSION_MS brokers=3 rf1_topic=$RF1_TOPIC leader=$L_ID load_start=$LOAD_START" >>"$SAMPLES"
    for ROUND in $(seq "$RUNS"); do  # RF 3 first in odd rounds, RF 1 first in even ones
        if [ $((ROUND % 2)) = 1 ]; then produce 3; produce 1; disk 3; disk 1; e2e 3; e2e 1
        else produce 1; produce 3; disk 1; disk 3; e2e 1; e2e 3; fi
    done
    # (2>>: bash reports the SIGKILLed broker as "Killed": that is the measurement, not news)
    for ROUND in $(seq "$RUNS"); do failover KILL 2>>"$WORK/shell.log"; done
    for ROUND in $(seq "$RUNS"); do failover TERM; done
    if [ -n "$OUT" ]; then
        awk -f "$HERE/report.awk" -v json="$OUT/report.json" -v only=cluster \
            -v meta_json="\"date\":\"$(date -u +%Y-%m-%dT%H:%MZ)\",\"runs\":$RUNS,\"load_start\":\"$LOAD_START\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"failed_runs\":$FAILED" \
            "$SAMPLES" | tee "$OUT/report.txt"
        say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); results: $OUT/"
    fi
    [ "$FAILED" -eq 0 ] || { say "$FAILED run(s) FAILED: see $LOGS/failures.log"; exit 1; }
}

main "$@"

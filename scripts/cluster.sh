#!/usr/bin/env bash
# scripts/cluster.sh - `make cluster`: a local ZooKeeper and three kafka_broker processes
# on 127.0.0.1 (ports 9092, 9093, 9094), data under ./cluster-data/. Ctrl-C stops all of
# it, by PID: the brokers first (a controlled shutdown each), then ZooKeeper.
#
#   scripts/cluster.sh BUILD_DIR      (make cluster passes build/)
set -euo pipefail
BIN="${1:-build}/bin/kafka_broker"
DATA="${CLUSTER_DATA:-./cluster-data}"
ZK_PORT="${ZK_PORT:-2181}"
ZK_JAR=/usr/share/java/zookeeper.jar
NOP_JAR=/usr/share/java/slf4j-nop.jar

[ -x "$BIN" ] || { echo "cluster: $BIN is not built (make bins)" >&2; exit 1; }
[ -r "$ZK_JAR" ] || { echo "cluster: no ZooKeeper: run scripts/deps.sh test (Debian's zookeeper)" >&2; exit 1; }
mkdir -p "$DATA/zookeeper"
cat > "$DATA/zookeeper/zoo.cfg" <<CFG
tickTime=500
dataDir=$(cd "$DATA/zookeeper" && pwd)
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxSessionTimeout=60000
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG

pids=()
# Stop by PID: every broker at once with SIGTERM (each does its controlled shutdown; the
# last one has nobody to hand its leaderships to and gives up after its retries, as
# Kafka's does), a bound of 30 s before SIGKILL, then ZooKeeper.
stop_pid() {  # pid... : TERM them, wait up to 30 s, then KILL what is left
    kill -TERM "$@" 2>/dev/null || true
    for _ in $(seq 1 300); do
        alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
stop_all() {
    trap - INT TERM EXIT
    echo
    [ "${#pids[@]}" -gt 1 ] && stop_pid "${pids[@]:1}"
    [ "${#pids[@]}" -gt 0 ] && stop_pid "${pids[0]}"
    echo "cluster: stopped (data kept in $DATA; rm -rf it for a fresh cluster)"
}
trap stop_all INT TERM EXIT

CP="$ZK_JAR"; [ -r "$NOP_JAR" ] && CP="$CP:$NOP_JAR"
java -Xmx256m -XX:+UseSerialGC -cp "$CP" org.apache.zookeeper.server.ZooKeeperServerMain \
    "$DATA/zookeeper/zoo.cfg" > "$DATA/zookeeper/zookeeper.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do  # until it answers "imok" (bash's /dev/tcp: no nc needed)
    if { exec 3<>/dev/tcp/127.0.0.1/"$ZK_PORT"; } 2>/dev/null; then
        printf ruok >&3; read -r -t 1 ok <&3 || true; exec 3>&-
        [ "${ok:-}" = imok ] && break
    fi
    sleep 0.2
done
[ "${ok:-}" = imok ] || { echo "cluster: ZooKeeper did not start (see $DATA/zookeeper/zookeeper.log)" >&2; exit 1; }
echo "started ZooKeeper on 127.0.0.1:$ZK_PORT (pid ${pids[0]}), log $DATA/zookeeper/zookeeper.log"

for id in 1 2 3; do
    port=$((9091 + id))
    "$BIN" --port "$port" --data-dir "$DATA/broker-$id" \
        --override zookeeper.connect=127.0.0.1:"$ZK_PORT"/kafka-c \
        --override broker.id="$id" --override metrics.port=$((9643 + id)) \
        > "$DATA/broker-$id.out" 2> "$DATA/broker-$id.log" &
    pids+=($!)
    for _ in $(seq 1 100); do grep -q "^listening on" "$DATA/broker-$id.out" 2>/dev/null && break; sleep 0.1; done
    grep -q "^listening on" "$DATA/broker-$id.out" || { echo "cluster: broker $id did not start:" >&2; tail "$DATA/broker-$id.log" >&2; exit 1; }
    echo "started broker $id on 127.0.0.1:$port (pid ${pids[$id]}), log $DATA/broker-$id.log"
done
cat <<MSG

A cluster of three brokers, replicating (broker/README.md, "A cluster", walks through it):
  kcat -b 127.0.0.1:9092 -L                                   three brokers, the controller
  build/bin/kafka_cli -b 127.0.0.1:9092 topics create payments --partitions 3 --replication-factor 3
  kcat -b 127.0.0.1:9092 -L -t payments                       leaders, replicas, ISR
  echo hello | kcat -b 127.0.0.1:9093 -P -t payments -p 0 -X acks=all
Ctrl-C stops everything (the brokers by PID with SIGTERM, then ZooKeeper).
MSG
wait

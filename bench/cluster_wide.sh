#!/usr/bin/env bash
# bench/cluster_wide.sh - what many idle partitions cost a cluster: `make cluster`'s three
# brokers (ZooKeeper on 127.0.0.1:2181, brokers on 9092-9094: stop a running `make cluster`
# first) holding WIDE_PARTITIONS idle partitions at replication factor 3, and one topic of
# one partition where bench_kafka produces acks=all, one record a request, one request at
# a time: every record waits for both followers' fetch rounds, and the leader reads every
# partition of their fetch sessions in each round (the requests name only what moved).
#
#   bench/cluster_wide.sh BUILD_A [BUILD_B]     (e.g. build/old build: an A/B of two trees)
#   WIDE_PARTITIONS=6000  WIDE_ROUNDS=3
#
# Per build and round: the brokers' CPU over 10 s idle, then over 10 s of the producer,
# split into the member threads (brk-member), the replica fetchers (kfr-fetcher) and the
# rest (network loops, flusher); and the records the producer got acknowledged. Medians
# of the rounds, and B/A. The cluster is started and stopped (by its PIDs) per build.
set -u
cd "$(dirname "$0")/.."
PARTS=${WIDE_PARTITIONS:-6000}
ROUNDS=${WIDE_ROUNDS:-3}
TK=$(getconf CLK_TCK)
CLI=build/bin/kafka_cli
BENCH=build/bench/system/bench_kafka
for t in "$CLI" "$BENCH"; do
    [ -x "$t" ] || { echo "cluster_wide: $t missing (make bins, then the bench programs)" >&2; exit 3; }
done
command -v kcat >/dev/null || { echo "cluster_wide: kcat missing" >&2; exit 3; }

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }

# CPU ticks of the threads named $2 (every thread: "") of the processes $1
ticks() { local t=0 p k s; for p in $1; do for k in /proc/$p/task/*; do
    [ -z "$2" ] || [ "$(cat "$k/comm" 2>/dev/null)" = "$2" ] || continue
    s=($(cut -d' ' -f14,15 "$k/stat" 2>/dev/null || echo 0 0)); t=$((t + s[0] + s[1])); done; done; echo $t; }
snap() { echo "$(ticks "$1" "") $(ticks "$1" brk-member) $(ticks "$1" kfr-fetcher)"; }
ms() { echo $(( ($2 - $1) * 1000 / TK )); }

run_build() { # $1 build dir, $2 label: lines "label kind all member fetchers records"
    local B=$1 L=$2 D
    D=$(mktemp -d /tmp/cluster-wide.XXXXXX)
    CLUSTER_DATA=$D setsid scripts/cluster.sh "$B" > "$D.out" 2>&1 &
    local cpid=$!
    for _ in $(seq 60); do grep -q "Ctrl-C stops" "$D.out" && break; sleep 1; done
    if ! grep -q "Ctrl-C stops" "$D.out"; then
        echo "cluster_wide: $L: the cluster did not start" >&2
        cat "$D.out" >&2
        kill -TERM -- -$cpid
        return 1
    fi
    timeout 120 $CLI -b 127.0.0.1:9092 topics create wide --partitions "$PARTS" --replication-factor 3 >/dev/null
    timeout 60 $CLI -b 127.0.0.1:9092 topics create hot --partitions 1 --replication-factor 3 >/dev/null
    sleep 45 # the creation's notes, the followers' first rounds
    local lead port pids e0 e1 a b bp
    lead=$(kcat -b 127.0.0.1:9092 -L -t hot 2>/dev/null | sed -n 's/.*partition 0, leader \([0-9]*\).*/\1/p')
    port=$((9091 + ${lead:-1}))
    pids=$(pgrep -f "$D/broker-" | tr '\n' ' ')
    for r in $(seq "$ROUNDS"); do
        a=($(snap "$pids")); sleep 10; b=($(snap "$pids"))
        echo "$L idle $(ms ${a[0]} ${b[0]}) $(ms ${a[1]} ${b[1]}) $(ms ${a[2]} ${b[2]}) 0"
        timeout 30 $BENCH produce --port $port --topic hot --count 100000000 --size 100 --batch 1 \
            --window 1 --acks all > /dev/null 2>&1 &
        bp=$!
        sleep 2
        e0=$(kcat -b 127.0.0.1:$port -Q -t hot:0:-1 2>/dev/null | awk '{print $NF}')
        a=($(snap "$pids")); sleep 10; b=($(snap "$pids"))
        e1=$(kcat -b 127.0.0.1:$port -Q -t hot:0:-1 2>/dev/null | awk '{print $NF}')
        kill $bp 2>/dev/null; wait $bp 2>/dev/null
        echo "$L load $(ms ${a[0]} ${b[0]}) $(ms ${a[1]} ${b[1]}) $(ms ${a[2]} ${b[2]}) $(( ${e1:-0} - ${e0:-0} ))"
    done
    kill -TERM -- -$cpid 2>/dev/null
    for _ in $(seq 120); do pgrep -f "$D/broker-" >/dev/null || break; sleep 1; done
    pkill -9 -f "$D/broker-" 2>/dev/null
    pkill -f "$D/zookeeper/zoo.cfg" 2>/dev/null
    sleep 2
    rm -rf "$D" "$D.out"
}

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for B in "$@"; do run_build "$B" "$B" | tee -a "$OUT" >&2 || exit 1; done
printf '\n%d idle partitions (RF 3) + one acks=all producer, 10 s windows, median of %d rounds\n' "$PARTS" "$ROUNDS"
printf '%-14s %-5s %10s %10s %10s %12s\n' build window "CPU ms" member fetchers "records"
for B in "$@"; do for k in idle load; do
    printf '%-14s %-5s' "$B" "$k"
    for f in 3 4 5 6; do printf ' %10s' "$(awk -v b="$B" -v k="$k" -v f=$f '$1==b && $2==k {print $f}' "$OUT" | median)"; done
    echo
done; done
if [ $# -eq 2 ]; then
    ra=$(awk -v b="$1" '$1==b && $2=="load" {print $6}' "$OUT" | median)
    rb=$(awk -v b="$2" '$1==b && $2=="load" {print $6}' "$OUT" | median)
    ia=$(awk -v b="$1" '$1==b && $2=="idle" {print $3}' "$OUT" | median)
    ib=$(awk -v b="$2" '$1==b && $2=="idle" {print $3}' "$OUT" | median)
    awk -v ra="$ra" -v rb="$rb" -v ia="$ia" -v ib="$ib" -v a="$1" -v b="$2" 'BEGIN {
        printf "records %s/%s: %.2fx   idle CPU %s/%s: %.2fx\n", b, a, ra ? rb / ra : 0, b, a, ia ? ib / ia : 0 }'
fi

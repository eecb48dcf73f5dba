#!/usr/bin/env bash
# partitioning/bench/run.sh: `make bench-partitioning`, one after another:
#
#   partitioner   the partitioners' calls per second (murmur2, round-robin)       (~15 s)
#   scale         storage at scale: 1k/10k/100k partitions idle, created, restarted
#                 cleanly and after kill -9, shut down; appends spread over 10k logs
#                 vs one                                                           (~3-6 min)
#   peers         the same questions to Redis streams and NATS JetStream, each server
#                 started here on loopback (ephemeral port, temporary directory) and
#                 stopped by its PID; medians of PEER_RUNS runs and the ratios
#
# BENCH_QUICK=1: the short forms (scale without 100k partitions; smaller peer runs).
# PEERS_ONLY=1: only the peers (Redis, NATS).
set -uo pipefail
build=${BUILD:-build}
dir=$build/bench/partitioning
quick=${BENCH_QUICK:-0}
runs=${PEER_RUNS:-$([ "$quick" = 1 ] && echo 3 || echo 5)}
streams=10000      # Redis: empty streams, and keys the appends spread over
nats_streams=2000  # NATS: file-backed streams cost ~50 KB each; 2,000 tell the slope
mb=$([ "$quick" = 1 ] && echo 32 || echo 128)
status=0

echo "== partitioning benchmarks, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${PEERS_ONLY:-0}" != 1 ]; then
    "$dir/partitioner" || status=1
    if [ "$quick" = 1 ]; then
        "$dir/scale" --quick || status=1
    else
        "$dir/scale" || status=1
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kc-peers.XXXXXX") || exit 1
pids=()
cleanup() {
    local p i
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || continue
        for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

freeport() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# one_peer NAME CMD... (CMD holds @PORT and @DIR): a fresh server, one peers run, stopped.
one_peer() {
    local name=$1 port pid run_dir n=$streams
    [ "$name" = nats ] && n=$nats_streams
    shift
    port=$(freeport) || return 1
    run_dir=$(mktemp -d "$work/$name.XXXXXX")
    local cmd=("${@//@PORT/$port}")
    cmd=("${cmd[@]//@DIR/$run_dir}")
    "${cmd[@]}" >"$run_dir/server.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if ! wait_port "$port"; then
        echo "could not start $name (see below)"; tail -5 "$run_dir/server.log"
        return 1
    fi
    local rc=0
    timeout -k 5 600 "$dir/peers" "$name" --port "$port" --pid "$pid" --streams "$n" \
        --mb "$mb" >>"$work/$name.samples" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "$name: a run failed (exit $rc); its server's last lines:"; tail -5 "$run_dir/server.log"
        return 1
    fi
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true # nats-server exits non-zero on SIGTERM
}

# medians NAME: the median (and range) of every figure over the runs.
medians() {
    sort "$work/$1.samples" | awk '
        { v[$1] = v[$1] " " $2; unit[$1] = $3 }
        END { for (k in v) {
                n = split(v[k], a, " "); for (i = 1; i <= n; i++) x[i] = a[i] + 0
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
                med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
                printf "  %-34s %12.3f %-5s (runs %.3f .. %.3f)\n", k, med, unit[k], x[1], x[n] } }' | sort
}

peer_runs() {
    local name=$1 r
    shift
    : >"$work/$name.samples"
    for r in $(seq "$runs"); do
        one_peer "$name" "$@" || { status=1; return; }
    done
    echo
    echo "$name, ${mb} MiB of 1 KiB appends, median of $runs runs:"
    medians "$name"
}

if command -v redis-server >/dev/null && command -v nats-server >/dev/null; then
    peer_runs redis redis-server --port @PORT --bind 127.0.0.1 --save '' --appendonly no \
        --dir @DIR
    peer_runs nats nats-server -js -a 127.0.0.1 -p @PORT -sd @DIR
else
    echo "peers: redis-server / nats-server not installed (scripts/deps.sh bench)"; status=1
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status

#!/usr/bin/env bash
# bench/test_report.sh - checks bench/report.awk on made-up runs whose answers are known:
# medians (odd and even counts), ratios, PASS and MISS on both sides of a target and exactly
# on it, latency targets (lower is better), NOT RUN with its reason, the Kafka door's rows
# (their targets, the reasons a row the broker does not offer yet is not run, and the
# "within noise" reading of flexible against classic), the cluster's rows (RF 3 against
# RF 1, end-to-end latency, the failover table's absolute goals, -v only=cluster), valid
# JSON, and a chart data file with its eight panels. A benchmark that prints a wrong PASS is worse than none.
#
#   bench/test_report.sh          (make test-bench-system)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kc-bench-report.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

r() { # r BENCH RECORDS_PER_S MB_PER_S P50 P99
    echo "RESULT bench=$1 records=1000 bytes=100000 seconds=1.0 records_per_s=$2 mb_per_s=$3 p50_us=$4 p99_us=$5 p999_us=-"
}

{
    for v in 9 5 7 6 8; do r native_produce "${v}000000" 1 - -; done      # median 7 M
    for v in 10 14 12 11 13; do r redis_xadd "${v}00000" 1 - -; done       # median 1.2 M: 5.83x
    for v in 8 8 8 8 8; do r nats_js "${v}00000" 1 - -; done               # 0.8 M: 8.75x < 10
    for v in 1 2 3 4 5 6; do r tcp_stream_ws 0 "${v}000" - -; done         # even: (3000+4000)/2
    for v in 2800 2800 2800 2800 2800; do r native_consume 5 "$v" - -; done  # 2800/3500 = 0.8
    for v in 7000 7000 7000 7000 7000; do r tcp_stream_hot 0 "$v" - -; done  # info: 0.40x
    for v in 10 10 10 10 10; do r native_rtt_same 1 1 "$v" 7; done         # p50 2x > 1.5
    for v in 5 5 5 5 5; do r tcp_pingpong_same 1 1 "$v" 5; done            # p99 1.4x <= 2
    for v in 60 60 60 60 60; do r native_rtt_cross 1 1 "$v" 9000; done     # p50 1.2x <= 1.5
    for v in 50 50 50 50 50; do r tcp_pingpong_cross 1 1 "$v" 3000; done   # p99 3x > 2
    echo "PLACEMENT bench=native_rtt server_cpu=1 cross_cpu=0 method=thread"   # not a RESULT
    for v in 1 1 1 1 1; do r redis_always "${v}00000" 1 - -; done          # no ours: NOT RUN
    # the Kafka door: produce 6.6 M / native 7 M = 0.94 >= 0.9; no kafka_durable at all
    for v in 60 66 69 64 70; do r kafka_produce "${v}00000" 1 - -; done
    echo "KAFKA bench=kafka_produce api=Produce version=7 flexible=0"        # not a RESULT
    for v in 2000 2000 2000 2000 2000; do r kafka_consume 5 "$v" - -; done  # 2000/2800: 0.71
    for v in 60 60 60 60 60; do r kafka_produce_idem "${v}00000" 1 - -; done  # 6.0/6.6: 0.91
    # classic 6.5 M [6.3-6.8]: 6.6 / 6.5 = 1.015, within the larger spread (7.0-6.0)/6.6
    for v in 65 67 63 68 64; do r kafka_produce_classic "${v}00000" 1 - -; done
    # what the runs cost the broker: 8 M vs 10 M records per CPU-second, info
    for v in 8 8 8 8 8; do r kafka_produce_cpu "${v}000000" 1 - -; done
    for v in 10 10 10 10 10; do r native_produce_cpu "${v}000000" 1 - -; done
    for v in 7 7 7 7 7; do r kafka_produce_idem_cpu "${v}000000" 1 - -; done  # 7/8: 0.88x
    # fetch sessions: 1200 vs 3600 Fetch/s idle (3.00x), 500 vs 7000 trickling (14.00x);
    # 66,000 vs 60 request bytes per Fetch idle (1100x), 74,000 vs 31 answer bytes
    for v in 1 2 3 4 5; do
        r kafka_sess_idle_off 1200 1 - -; r kafka_sess_idle_on 3600 1 - -
        r kafka_sess_trickle_off 500 1 - -; r kafka_sess_trickle_on 7000 1 - -
        s() { echo "SESSION bench=$1 sessions=$2 partitions=1000 fetches=$3 req_bytes=$4 resp_bytes=$5 seconds=2 records=$6 produced=400"; }
        s kafka_sess_idle_off 0 1000 66000000 74000000 400
        s kafka_sess_idle_on 1 1000 60000 31000 400
        s kafka_sess_trickle_off 0 1000 66000000 74500000 400
        s kafka_sess_trickle_on 1 1000 90000 $((v * 40000)) $([ "$v" = 3 ] && echo 399 || echo 400)
    done
    # produce spread over 10,000 partitions: 220 vs 400 MB/s one partition, 0.55x >= 0.5
    for v in 200 240 220 230 210; do r kafka_spread 1 "$v" - -; r kafka_spread_one 1 400 - -; done
    r kafka_spread_first 1 3 - -                                           # listed only
    for v in 1 2 3 4 5; do r redis_spread 1 50 - -; r redis_spread_one 1 50 - -; done  # 1.00x
    # TLS: consume 600 vs plaintext 1000 MB/s (0.60x >= 0.5: PASS); produce 3 vs 4 M, info
    for v in 1 2 3 4 5; do
        r tls_consume 1 600 - -; r tls_plain_consume 1 1000 - -
        r tls_produce 3000000 1 - -; r tls_plain_produce 4000000 1 - -
    done
    # the cluster: RF 3 1.0 M vs RF 1 2.0 M records/s, 0.50x: exactly on the goal, PASS;
    # end-to-end p50 300 vs 150 us (2.00x, info); failover after kill -9, median 2100 ms
    # under 2000 + 1000 (max 3200 over it), controlled shutdown's longest gap median 80 ms
    echo "CLUSTER session_ms=2000 brokers=3"
    for v in 9 10 11 8 12; do r kafka_rf3_produce "${v}00000" 1 - -; r kafka_rf1_produce 2000000 1 - -; done
    for v in 1 2 3 4 5; do r kafka_e2e_rf3 1000 1 300 2000; r kafka_e2e_rf1 1000 1 150 1000; done
    for v in 1800 1900 2100 2500 3200; do
        r kafka_failover_kill 500 1 - -
        echo "FAILOVER bench=kafka_failover_kill signal=KILL failover_ms=$v max_gap_ms=$v acked=9"
    done
    for v in 40 60 80 120 150; do
        r kafka_failover_term 500 1 - -
        echo "FAILOVER bench=kafka_failover_term signal=TERM failover_ms=30 max_gap_ms=$v acked=9"
    done
} >"$tmp/samples.txt"

awk -f "$here/report.awk" -v json="$tmp/r.json" -v chart="$tmp/c.dat" \
    -v why_native="the reason given" -v why_kafka="kafka reason" -v why_kgen="kgen reason" \
    -v why_kflex_produce="no flexible produce" -v why_kflex_fetch="no flexible fetch" \
    -v why_kidem="no idempotence" -v meta_json='"host":"test"' \
    "$tmp/samples.txt" >"$tmp/out.txt"

expect() { # expect DESCRIPTION REGEX
    if grep -qE "$2" "$tmp/out.txt"; then
        echo "ok   $1"
    else
        echo "FAIL $1: no line matches /$2/"
        fails=$((fails + 1))
    fi
}

expect "median of an odd count, ratio, PASS" 'acks=1 \(rec/s\) +7\.00M \[5\.00M-9\.00M\] +1\.20M \[1\.00M-1\.40M\] +Redis XADD pipelined +5\.83x +>= 5x +PASS'
expect "MISS below a target" 'JetStream async publish +8\.75x +>= 10x +MISS'
expect "median of an even count; exactly on the target is a PASS" 'page cache \(MB/s\) +2800 \[2800-2800\] +3500 \[1000-6000\] +TCP stream, topic-size data +0\.80x +>= 0\.8x PASS'
expect "the hot stream is informative" 'consume vs a hot 1 MiB stream \(MB/s\) +2800 .* +0\.40x +info'
expect "latency over its target is a MISS" 'round trip p50, same CPU \(us\) +10\.0 .* +2\.00x +<= 1\.5x MISS'
expect "latency under its target is a PASS" 'round trip p99, same CPU \(us\) +7\.0 .* +1\.40x +<= 2x +PASS'
expect "each placement has its own verdict (p50 cross)" 'round trip p50, cross CPU \(us\) +60\.0 .* +TCP ping-pong, cross CPU +1\.20x +<= 1\.5x PASS'
expect "each placement has its own verdict (p99 cross)" 'round trip p99, cross CPU \(us\) +9000 .* +3\.00x +<= 2x +MISS'
expect "a missing side is NOT RUN, with its reason" 'durable produce.*NOT RUN: the reason given'
expect "the librdkafka rows name their own reason" 'librdkafka produce.*NOT RUN: kafka reason'
expect "Kafka produce against native, PASS" 'Kafka Produce 100 B, acks=1 \(rec/s\) +6\.60M \[6\.00M-7\.00M\] +7\.00M .* +native produce-batch +0\.94x +>= 0\.9x PASS'
expect "a Kafka row with no run names the generator's reason" 'Kafka Produce, acks=all.*NOT RUN: kgen reason'
expect "Kafka fetch against native consume, MISS" 'Kafka Fetch from the page cache \(MB/s\) +2000 .* +0\.71x +>= 0\.9x MISS'
expect "idempotence costing 9% is a MISS" 'Kafka Produce, idempotent \(rec/s\) +6\.00M .* +0\.91x +>= 0\.95x MISS'
expect "flexible vs classic within the spread" 'flexible Produce vs classic \(rec/s\) +6\.60M .* +6\.50M \[6\.30M-6\.80M\] +Kafka Produce, classic version +1\.02x +within noise \(spread 15%\)'
expect "a flexible row the broker does not offer says so" 'flexible Fetch vs classic.*NOT RUN: no flexible fetch'
expect "idempotent per CPU, informative" 'idempotent, per CPU \(rec/CPU-s\) +7\.00M .* +0\.88x +info'
expect "broker CPU per record, informative" 'Kafka Produce, per CPU \(rec/CPU-s\) +8\.00M .* +10\.00M .* +native, per broker CPU-s +0\.80x +info'
expect "sessions: Fetch/s with against without, informative" 'fetch sessions, idle consumer \(Fetch/s\) +3600 .* +1200 .* +the same, sessionless +3\.00x +info'
expect "sessions: per-run bytes per Fetch, medians" '^kafka_sess_idle_on +5 +1000  60\.0 \[60\.0-60\.0\] +31\.0 \[31\.0-31\.0\] +3600 '
expect "sessions: the median of an answer size that moves" '^kafka_sess_trickle_on +5 +1000  90\.0 .* +120 \[40\.0-200\]'
expect "sessions: the ratio, sessionless over sessions" 'idle +request bytes per Fetch: 66k sessionless, 60\.0 with a session: 1100x fewer'
expect "sessions: a run that lost a record says so" '^kafka_sess_trickle_on .*RECORDS LOST OR DOUBLED'
expect "TLS consume against plaintext, PASS" 'TLS consume \(no kTLS\) \(MB/s\) +600 .* +1000 .* +plaintext, same client +0\.60x +>= 0\.5x PASS'
expect "TLS produce against plaintext, informative" 'TLS produce \(rec/s\) +3\.00M .* +4\.00M .* +0\.75x +info'
expect "produce spread against one partition, PASS" 'produce spread over 10,000 partitions / one partition \(MB/s\) +220 \[200-240\] +400 \[400-400\] +Kafka Produce, one partition +0\.55x +>= 0\.5x PASS'
expect "the spread's first pass is listed, not compared" '^kafka_spread_first +1 '
expect "Redis spread over one key, informative" 'Redis XADD over 10,000 keys / one key \(MB/s\) +50\.0 .* +Redis XADD, one key +1\.00x +info'
expect "RF 3 against RF 1 on the goal, PASS" 'acks=all produce, RF 3 / RF 1 \(rec/s\) +1\.00M \[800k-1\.20M\] +2\.00M .* +RF 1, same cluster +0\.50x +>= 0\.5x PASS'
expect "end-to-end latency with replication, informative" 'end-to-end p50, RF 3 vs RF 1 \(us\) +300 .* +150 .* +2\.00x +info'
expect "failover after kill -9: the median under session + 1 s, the max over" '^kill -9: first ack, new leader +5  2100 \[1800-3200\] +< 3000 \(session 2000 \+ 1 s\) +PASS \(max 3200\.0 ms: over\)'
expect "controlled shutdown: the longest gap under 100 ms" '^shutdown: longest gap +5  80\.0 \[40\.0-150\] +< 100 +PASS \(max 150\.0 ms: over\)'
expect "the count of verdicts" '^10 PASS, 5 MISS, 5 not run$'
expect "every measurement is listed" '^tcp_stream_ws +6 '
if grep -qE '^(PLACEMENT|KAFKA|native_rtt) |per CPU.*(NOT RUN|NO PEER)' "$tmp/out.txt"; then
    echo "FAIL a PLACEMENT or KAFKA line was read as a measurement, or a CPU row said NOT RUN"
    fails=$((fails + 1))
else
    echo "ok   lines that are not RESULT lines are not measurements"
fi

if command -v python3 >/dev/null; then
    if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["summary"] == {"pass": 10, "miss": 5, "not_run": 5}, d["summary"]; k = d["failover"][0]; assert k["bench"] == "kafka_failover_kill" and k["median"] == 2100 and k["max"] == 3200 and k["goal_ms"] == 3000 and k["result"] == "PASS", k; assert d["measurements"]["tcp_stream_ws"]["mb_per_s"]["median"] == 3500; assert d["fetch_sessions"]["kafka_sess_idle_off"]["req_bytes_per_fetch"]["median"] == 66000; assert d["fetch_sessions"]["kafka_sess_trickle_on"]["runs_with_records_wrong"] == 1; f = [c for c in d["comparisons"] if c["name"] == "flexible Produce vs classic"][0]; assert f["op"] == "noise" and f["result"].startswith("within noise") and abs(f["ratio"] - 6.6 / 6.5) < 1e-4, f' "$tmp/r.json"; then
        echo "ok   report.json parses, with the same verdicts and medians"
    else
        echo "FAIL report.json"
        fails=$((fails + 1))
    fi
fi
if [ "$(grep -c '^# panel' "$tmp/c.dat")" -eq 8 ]; then
    echo "ok   chart data has eight panels"
else
    echo "FAIL chart data: $(grep -c '^# panel' "$tmp/c.dat") panels"
    fails=$((fails + 1))
fi

# Beyond noise: the same figure every round on both sides, 20% apart.
{
    for v in 1 1 1 1 1; do r kafka_consume 5 2000 - -; done
    for v in 1 1 1 1 1; do r kafka_consume_classic 5 2500 - -; done
} >"$tmp/noise.txt"
awk -f "$here/report.awk" "$tmp/noise.txt" >"$tmp/noise.out"
if grep -qE 'flexible Fetch vs classic \(MB/s\) +2000 .* +0\.80x +beyond noise \(spread 0%\)' "$tmp/noise.out"; then
    echo "ok   a difference wider than the spread is beyond noise"
else
    echo "FAIL beyond noise: $(grep flexible "$tmp/noise.out")"
    fails=$((fails + 1))
fi

# Spread: under the target is a MISS; without a spread run, its own reason.
for v in 1 2 3 4 5; do r kafka_spread 1 190 - -; r kafka_spread_one 1 400 - -; done >"$tmp/spread.txt"
awk -f "$here/report.awk" "$tmp/spread.txt" >"$tmp/spread.out"
r kafka_produce 1 1 - - >"$tmp/nospread.txt"
awk -f "$here/report.awk" -v why_kspread="the broker did not start" "$tmp/nospread.txt" \
    >"$tmp/nospread.out"
if grep -qE 'one partition \(MB/s\) +190 .* +0\.47x +>= 0\.5x MISS' "$tmp/spread.out" &&
   grep -qE '^produce spread over 10,000 .*NOT RUN: the broker did not start' "$tmp/nospread.out"; then
    echo "ok   a spread below 0.5x is a MISS; a spread not run says why"
else
    echo "FAIL spread: $(grep 'produce spread' "$tmp/spread.out" "$tmp/nospread.out")"
    fails=$((fails + 1))
fi

# The cluster: a slow controlled shutdown and a slow failover are MISSes; a cluster not run
# says why; bench/cluster.sh alone (only=cluster) prints only its rows.
{
    echo "CLUSTER session_ms=3000 brokers=3"
    for v in 1 2 3 4 5; do
        echo "FAILOVER bench=kafka_failover_term signal=TERM failover_ms=30 max_gap_ms=200 acked=9"
        echo "FAILOVER bench=kafka_failover_kill signal=KILL failover_ms=4100 max_gap_ms=4100 acked=9"
    done
    for v in 1 2 3 4 5; do r kafka_rf3_produce 400000 1 - -; r kafka_rf1_produce 1000000 1 - -; done
} >"$tmp/cluster.txt"
awk -f "$here/report.awk" -v only=cluster "$tmp/cluster.txt" >"$tmp/cluster.out"
awk -f "$here/report.awk" -v why_cluster="no ZooKeeper" "$tmp/nospread.txt" >"$tmp/nocluster.out"
if grep -qE '^shutdown: longest gap +5  200 .* +< 100 +MISS \(max 200\.0 ms: over\)' "$tmp/cluster.out" &&
   grep -qE '^kill -9: first ack, new leader +5  4100 .* +< 4000 \(session 3000 \+ 1 s\) +MISS' "$tmp/cluster.out" &&
   grep -qE 'RF 3 / RF 1 .* +0\.40x +>= 0\.5x MISS' "$tmp/cluster.out" &&
   ! grep -qE 'Redis|TLS|librdkafka' "$tmp/cluster.out" &&
   grep -qE '^kill -9: first ack, new leader +0  n/a .*NOT RUN: no ZooKeeper' "$tmp/nocluster.out" &&
   grep -qE '^acks=all produce, RF 3 / RF 1 .*NOT RUN: no ZooKeeper' "$tmp/nocluster.out"; then
    echo "ok   the cluster's MISSes, its reason when not run, and its rows alone"
else
    echo "FAIL cluster: $(cat "$tmp/cluster.out" "$tmp/nocluster.out")"
    fails=$((fails + 1))
fi

if [ "$fails" -ne 0 ]; then
    echo "--- report was:"
    cat "$tmp/out.txt"
    exit 1
fi
echo "test_report: all checks passed"

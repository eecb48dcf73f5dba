# bench/report.awk - turns the RESULT lines of one bench/run.sh run into the report:
# medians with their spread, the broker's ratio to each peer, and PASS/MISS against the
# targets of issues 4, 5 and 10.
#
#   awk -f bench/report.awk -v json=OUT.json -v chart=OUT.dat \
#       -v why_native="..." -v why_kafka="..." -v why_kgen="..." -v why_kflex_produce="..." \
#       -v why_kflex_fetch="..." -v why_kidem="..." -v why_ksess="..." -v why_tls="..." \
#       -v why_kspread="..." -v why_cluster="..." [-v only=cluster] \
#       -v meta_json='"host":"x",...' samples.txt
#
# Input: one line per measurement run (bench/lib/bench.h),
#   RESULT bench=<name> records=.. bytes=.. seconds=.. records_per_s=.. mb_per_s=..
#          p50_us=.. p99_us=.. p999_us=..            ("-" where a figure does not apply)
# Output: the text table on stdout, the same as JSON in `json`, and the bars for
# bench/chart.gp in `chart` (gnuplot data blocks, one per panel).
#
# SESSION lines (bench_kafka sessions) add what a Fetch costs on the wire, with and without
# fetch sessions (KIP-227): request and answer bytes per Fetch, in a table of their own.
#
# The cluster (bench/cluster.sh, issue 13): acks=all produce at replication factor 3 against
# 1 and the end-to-end latency of both, as comparisons, with the disk's ceiling for each
# (bench_disk: 3 or 1 writers appending and fdatasyncing at once, per writer); FAILOVER lines (bench_kafka
# failover) in a table of their own with absolute goals: after a leader's kill -9 the first
# acknowledged produce at its new leader within the ZooKeeper session timeout (the CLUSTER
# line's session_ms) plus 1 s, and after its controlled shutdown (SIGTERM) no gap between two
# acknowledged produces over 100 ms. The verdict is on the median; the max is beside it.
# -v only=cluster prints only the cluster's rows (bench/cluster.sh run alone).
#
# A bench named <name>_cpu is run.sh's account of what run <name> cost the broker: the same
# records and bytes over the broker's CPU seconds (records per broker CPU-second).
#
# Every figure is the median of the runs; [min-max] is their spread. A ratio compares
# medians measured in the same run of run.sh (the runs of all benches are interleaved,
# so a noisy minute hurts both sides of a comparison alike). Written for mawk and gawk.
#
# A comparison's op is >= or <= (a target: PASS or MISS), info (a figure to read), or
# noise: a claim that two ways of doing the same thing cost the same (flexible versus
# classic Kafka encoding). A noise row says "within noise" when the ratio's distance from
# 1 is at most the larger relative spread of its two sides, (max - min) / median, and
# "beyond noise" otherwise; it counts as neither PASS nor MISS.

BEGIN {
    nfields = split("records_per_s mb_per_s p50_us p99_us", fields, " ")
    # name | ours bench | peer bench | field | unit | peer label | op | target | chart label
    ncmp = split("batched produce 100 B, acks=1|native_produce|redis_xadd|records_per_s|rec/s|Redis XADD pipelined|>=|5|batched/Redis;" \
                 "batched produce 100 B, acks=1|native_produce|nats_js|records_per_s|rec/s|JetStream async publish|>=|10|batched/JetStream;" \
                 "durable produce, acks=all|native_durable|redis_always|records_per_s|rec/s|Redis appendfsync always|>=|2|durable/Redis;" \
                 "consume from the page cache|native_consume|tcp_stream_ws|mb_per_s|MB/s|TCP stream, topic-size data|>=|0.8|consume/TCP;" \
                 "round trip p50, same CPU|native_rtt_same|tcp_pingpong_same|p50_us|us|TCP ping-pong, same CPU|<=|1.5|p50 same/TCP;" \
                 "round trip p99, same CPU|native_rtt_same|tcp_pingpong_same|p99_us|us|TCP ping-pong, same CPU|<=|2|p99 same/TCP;" \
                 "round trip p50, cross CPU|native_rtt_cross|tcp_pingpong_cross|p50_us|us|TCP ping-pong, cross CPU|<=|1.5|p50 cross/TCP;" \
                 "round trip p99, cross CPU|native_rtt_cross|tcp_pingpong_cross|p99_us|us|TCP ping-pong, cross CPU|<=|2|p99 cross/TCP;" \
                 "librdkafka produce 100 B|rdkafka_broker_produce|rdkafka_mock_produce|records_per_s|rec/s|librdkafka mock cluster|>=|0.5|rdkafka prod/mock;" \
                 "librdkafka consume 100 B|rdkafka_broker_consume|rdkafka_mock_consume|records_per_s|rec/s|librdkafka mock cluster|>=|0.5|rdkafka cons/mock;" \
                 "Kafka Produce 100 B, acks=1|kafka_produce|native_produce|records_per_s|rec/s|native produce-batch|>=|0.9|Kafka prod/native;" \
                 "Kafka Produce, acks=all|kafka_durable|native_durable|records_per_s|rec/s|native durable produce|>=|0.9|Kafka durable/native;" \
                 "Kafka Fetch from the page cache|kafka_consume|native_consume|mb_per_s|MB/s|native consume-batch|>=|0.9|Kafka fetch/native;" \
                 "Kafka Produce, idempotent|kafka_produce_idem|kafka_produce|records_per_s|rec/s|Kafka Produce, plain|>=|0.95|idempotent/plain;" \
                 "flexible Produce vs classic|kafka_produce|kafka_produce_classic|records_per_s|rec/s|Kafka Produce, classic version|noise|-|;" \
                 "flexible Fetch vs classic|kafka_consume|kafka_consume_classic|mb_per_s|MB/s|Kafka Fetch, classic version|noise|-|;" \
                 "Kafka Produce, per CPU|kafka_produce_cpu|native_produce_cpu|records_per_s|rec/CPU-s|native, per broker CPU-s|info|-|;" \
                 "Kafka acks=all, per CPU|kafka_durable_cpu|native_durable_cpu|records_per_s|rec/CPU-s|native, per broker CPU-s|info|-|;" \
                 "Kafka Fetch, per CPU|kafka_consume_cpu|native_consume_cpu|mb_per_s|MB/CPU-s|native, per broker CPU-s|info|-|;" \
                 "idempotent, per CPU|kafka_produce_idem_cpu|kafka_produce_cpu|records_per_s|rec/CPU-s|plain, per broker CPU-s|info|-|;" \
                 "flexible Produce, per CPU|kafka_produce_cpu|kafka_produce_classic_cpu|records_per_s|rec/CPU-s|classic, per broker CPU-s|noise|-|;" \
                 "flexible Fetch, per CPU|kafka_consume_cpu|kafka_consume_classic_cpu|mb_per_s|MB/CPU-s|classic, per broker CPU-s|noise|-|;" \
                 "consume vs a hot 1 MiB stream|native_consume|tcp_stream_hot|mb_per_s|MB/s|TCP stream, hot 1 MiB|info|-|;" \
                 "consume vs the sendfile ceiling|native_consume|tcp_sendfile|mb_per_s|MB/s|sendfile stream, same size|info|-|;" \
                 "round trip p50 (same) vs Redis|native_rtt_same|redis_rtt|p50_us|us|Redis XADD, one in flight|info|-|;" \
                 "round trip p99 (same) vs Redis|native_rtt_same|redis_rtt|p99_us|us|Redis XADD, one in flight|info|-|;" \
                 "kafka_cli test vs bench_native|cli_test|native_produce|records_per_s|rec/s|bench_native produce|info|-|;" \
                 "fetch sessions, idle consumer|kafka_sess_idle_on|kafka_sess_idle_off|records_per_s|Fetch/s|the same, sessionless|info|-|;" \
                 "fetch sessions, trickling in|kafka_sess_trickle_on|kafka_sess_trickle_off|records_per_s|Fetch/s|the same, sessionless|info|-|;" \
                 "fetch sessions idle, per CPU|kafka_sess_idle_on_cpu|kafka_sess_idle_off_cpu|records_per_s|Fetch/CPU-s|sessionless, per broker CPU-s|info|-|;" \
                 "fetch sessions trickle, per CPU|kafka_sess_trickle_on_cpu|kafka_sess_trickle_off_cpu|records_per_s|Fetch/CPU-s|sessionless, per broker CPU-s|info|-|;" \
                 "produce spread over 10,000 partitions / one partition|kafka_spread|kafka_spread_one|mb_per_s|MB/s|Kafka Produce, one partition|>=|0.5|spread/one;" \
                 "Redis XADD over 10,000 keys / one key|redis_spread|redis_spread_one|mb_per_s|MB/s|Redis XADD, one key|info|-|;" \
                 "produce spread, per CPU|kafka_spread_cpu|kafka_spread_one_cpu|mb_per_s|MB/CPU-s|one partition, per broker CPU-s|info|-|;" \
                 "TLS consume (no kTLS)|tls_consume|tls_plain_consume|mb_per_s|MB/s|plaintext, same client|>=|0.5|;" \
                 "TLS produce|tls_produce|tls_plain_produce|records_per_s|rec/s|plaintext, same client|info|-|;" \
                 "TLS consume, per CPU|tls_consume_cpu|tls_plain_consume_cpu|mb_per_s|MB/CPU-s|plaintext, per broker CPU-s|info|-|;" \
                 "TLS produce, per CPU|tls_produce_cpu|tls_plain_produce_cpu|records_per_s|rec/CPU-s|plaintext, per broker CPU-s|info|-|;" \
                 "new connections, TLS|tls_handshake|tls_plain_handshake|records_per_s|conn/s|plain TCP connections|info|-|;" \
                 "acks=all produce, RF 3 / RF 1|kafka_rf3_produce|kafka_rf1_produce|records_per_s|rec/s|RF 1, same cluster|>=|0.5|RF3/RF1;" \
                 "RF 3 vs the disk, 3 writers|kafka_rf3_produce|disk_sync_w3|records_per_s|rec/s|3 fsyncing writers, per one|info|-|;" \
                 "RF 1 vs the disk, 1 writer|kafka_rf1_produce|disk_sync_w1|records_per_s|rec/s|1 fsyncing writer|info|-|;" \
                 "disk ceiling, 3 writers / 1|disk_sync_w3|disk_sync_w1|records_per_s|rec/s|1 writer, same disk|info|-|;" \
                 "end-to-end p50, RF 3 vs RF 1|kafka_e2e_rf3|kafka_e2e_rf1|p50_us|us|RF 1, same cluster|info|-|;" \
                 "end-to-end p99, RF 3 vs RF 1|kafka_e2e_rf3|kafka_e2e_rf1|p99_us|us|RF 1, same cluster|info|-|",
                 cmps, ";")
}

$1 == "RESULT" {
    delete kv
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    b = kv["bench"]
    if (!(b in seen)) {
        seen[b] = 1
        order[++nbench] = b
    }
    for (i = 1; i <= nfields; i++)
        add(b, fields[i], kv[fields[i]])
}

# bench_kafka sessions: bytes per Fetch each way, and whether every record came back once.
$1 == "SESSION" {
    delete kv
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    b = kv["bench"]
    if (!(b in sseen)) {
        sseen[b] = 1
        sorder[++nsess] = b
    }
    spart[b] = kv["partitions"]
    if (kv["fetches"] + 0 > 0) {
        add(b, "req_per_fetch", kv["req_bytes"] / kv["fetches"])
        add(b, "resp_per_fetch", kv["resp_bytes"] / kv["fetches"])
    }
    slost[b] += kv["records"] != kv["produced"]
}

# bench_kafka failover: the time to the first ack at the new leader, the longest gap.
$1 == "FAILOVER" {
    delete kv
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    add(kv["bench"], "failover_ms", kv["failover_ms"])
    add(kv["bench"], "max_gap_ms", kv["max_gap_ms"])
}

$1 == "CLUSTER" {
    for (i = 2; i <= NF; i++)
        if ($i ~ /^session_ms=/)
            session_ms = substr($i, 12) + 0
}

function add(b, f, v,    k) {
    if (v == "" || v == "-" || (f == "records_per_s" && v + 0 == 0))
        return
    k = b SUBSEP f
    cnt[k]++
    val[k, cnt[k]] = v + 0
}

# Sets MED, MIN, MAX for bench b, field f; returns the number of runs (0: none).
function stats(b, f,    k, m, i, j, t, s) {
    k = b SUBSEP f
    m = cnt[k] + 0
    if (m == 0)
        return 0
    for (i = 1; i <= m; i++)
        s[i] = val[k, i]
    for (i = 2; i <= m; i++)            # insertion sort: there are 5 to 10 values
        for (j = i; j > 1 && s[j - 1] > s[j]; j--) {
            t = s[j]; s[j] = s[j - 1]; s[j - 1] = t
        }
    MIN = s[1]
    MAX = s[m]
    MED = m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
    return m
}

function human(v) {
    if (v >= 1e9) return sprintf("%.2fG", v / 1e9)
    if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
    if (v >= 1e4) return sprintf("%.0fk", v / 1e3)
    if (v >= 100) return sprintf("%.0f", v)
    return sprintf("%.1f", v)
}

function cell(b, f,    n) {
    n = stats(b, f)
    if (n == 0)
        return "n/a"
    return sprintf("%s [%s-%s]", human(MED), human(MIN), human(MAX))
}

function why(b) {
    if (b ~ /^native_/) return why_native
    if (b ~ /^rdkafka_broker/) return why_kafka
    if (b == "kafka_produce_classic") return why_kflex_produce
    if (b == "kafka_consume_classic") return why_kflex_fetch
    if (b == "kafka_produce_idem") return why_kidem
    if (b ~ /^kafka_sess_/ && why_ksess != "") return why_ksess
    if (b ~ /^kafka_spread/ && why_kspread != "") return why_kspread
    if (b ~ /^tls_/ && why_tls != "") return why_tls
    if (b ~ /^(kafka_(rf[13]_|e2e_|failover_)|disk_sync_)/ && why_cluster != "") return why_cluster
    if (b ~ /^kafka_/) return why_kgen
    return "no successful run"
}

# A Kafka-door bench whose absence has a reason worth printing (the broker does not offer
# that yet), even on a row without a target. The broker-CPU twins (<bench>_cpu) are not:
# their wall-clock rows already say it.
function has_reason(b) {
    return b ~ /^kafka_/ && b !~ /_cpu$/ && why(b) != ""
}

# The relative spread of bench b's field f: (max - min) / median, or 0 when unknown.
function spread(b, f) {
    if (!stats(b, f) || MED == 0)
        return 0
    return (MAX - MIN) / MED
}

function jstr(s) {
    gsub(/\\/, "\\\\", s)
    gsub(/"/, "\\\"", s)
    return "\"" s "\""
}

function jnum(x) {
    return sprintf("%.6g", x)
}

# One comparison row; fills the ratio panel of the chart and the JSON array.
function compare(i,    c, n, ours, peer, ratio, ok, res, ncol, missing, noise) {
    split(cmps[i], c, "|")
    if (only == "cluster" && c[2] !~ /^(kafka_(rf[13]_|e2e_)|disk_sync_)/)
        return
    ours = stats(c[2], c[4]) ? MED : ""
    peer = stats(c[3], c[4]) ? MED : ""
    missing = ours == "" ? c[2] : peer == "" || peer == 0 ? c[3] : ""
    if (missing != "") {
        res = ours == "" || has_reason(missing) ? "NOT RUN" : "NO PEER"
        ratio = ""
    } else if (c[7] == "info") {    # a figure to read, not a target
        ratio = ours / peer
        res = "info"
    } else if (c[7] == "noise") {   # the same cost, within the runs' own spread?
        ratio = ours / peer
        noise = spread(c[2], c[4]) > spread(c[3], c[4]) ? spread(c[2], c[4]) : spread(c[3], c[4])
        res = (ratio - 1 <= noise && 1 - ratio <= noise) ? "within noise" : "beyond noise"
        res = res sprintf(" (spread %.0f%%)", 100 * noise)
    } else {
        ratio = ours / peer
        ok = c[7] == ">=" ? ratio >= c[8] : ratio <= c[8]
        res = ok ? "PASS" : "MISS"
    }
    if (c[7] != ">=" && c[7] != "<=" && ratio == "" && !has_reason(missing))
        return                          # an informative row with a side missing: nothing to read
    npass += res == "PASS"
    nmiss += res == "MISS"
    nnot += res == "NOT RUN" || res == "NO PEER"
    printf "%-38s %-22s %-22s %-27s %6s  %-7s %s\n", c[1] " (" c[5] ")", cell(c[2], c[4]),
           cell(c[3], c[4]), c[6], ratio == "" ? "-" : sprintf("%.2fx", ratio),
           c[7] == "info" || c[7] == "noise" ? "" : c[7] " " c[8] "x",
           res (res == "NOT RUN" ? ": " why(missing) : "")
    jcmp = jcmp (jcmp == "" ? "" : ",\n    ") sprintf("{\"name\":%s,\"unit\":%s,\"ours\":%s,\"peer\":%s,\"peer_bench\":%s,\"ratio\":%s,\"op\":%s,\"target\":%s,\"result\":%s}",
           jstr(c[1]), jstr(c[5]), ours == "" ? "null" : jnum(ours), peer == "" ? "null" : jnum(peer),
           jstr(c[3]), ratio == "" ? "null" : jnum(ratio), jstr(c[7]), c[8] == "-" ? "null" : c[8], jstr(res))
    if (c[7] == "info" || c[7] == "noise")
        return
    # Ratio over target: >= 1 meets the target (for latency, target over ratio).
    ncol = res == "PASS" ? 2 : 1
    rpanel = rpanel sprintf("\"%s\" %s 0 0 %d\n", c[9],
                            ratio == "" ? 0 : jnum(c[7] == ">=" ? ratio / c[8] : c[8] / ratio), ncol)
}

# A bar of the chart: label, median, min, max, colour (0 ours, 1 peer; as_peer: one of ours
# drawn as the reference, e.g. the native protocol beside the Kafka door).
function bar(b, f, label, scale, as_peer,    col) {
    col = b ~ /^(native_|rdkafka_broker|kafka_)/ && !as_peer ? 0 : 1
    if (stats(b, f))
        return sprintf("\"%s\" %s %s %s %d\n", label, jnum(MED / scale), jnum(MIN / scale), jnum(MAX / scale), col)
    return sprintf("\"%s (n/a)\" 0 0 0 %d\n", label, col)   # an empty bar, not a gap
}

function all_benches(    i, b, j, f, n, line, sep) {
    printf "\n%-24s %4s  %-22s %-22s %-19s %-19s\n", "every measurement", "runs",
           "records/s", "MB/s", "p50 us", "p99 us"
    for (i = 1; i <= nbench; i++) {
        b = order[i]
        n = 0
        for (j = 1; j <= nfields; j++)
            if (stats(b, fields[j]) > n)
                n = stats(b, fields[j])
        printf "%-24s %4d  %-22s %-22s %-19s %-19s\n", b, n, cell(b, "records_per_s"),
               cell(b, "mb_per_s"), cell(b, "p50_us"), cell(b, "p99_us")
        line = ""
        for (j = 1; j <= nfields; j++) {
            f = fields[j]
            if (!stats(b, f))
                continue
            line = line sprintf("%s\"%s\":{\"median\":%s,\"min\":%s,\"max\":%s,\"runs\":%d}",
                                line == "" ? "" : ",", f, jnum(MED), jnum(MIN), jnum(MAX), cnt[b SUBSEP f])
        }
        jb = jb (jb == "" ? "" : ",\n    ") jstr(b) ":{" line "}"
    }
}

# The fetch session table: bytes per Fetch with and without sessions, and the ratios.
function sessions_table(    i, b, line, r) {
    if (nsess == 0)
        return
    printf "\n%-24s %4s %6s  %-24s %-24s %-22s\n", "fetch sessions (KIP-227)", "runs", "parts",
           "request B/Fetch", "answer B/Fetch", "Fetch/s"
    for (i = 1; i <= nsess; i++) {
        b = sorder[i]
        printf "%-24s %4d %6s  %-24s %-24s %-22s%s\n", b, stats(b, "req_per_fetch"), spart[b],
               cell(b, "req_per_fetch"), cell(b, "resp_per_fetch"), cell(b, "records_per_s"),
               slost[b] ? "  RECORDS LOST OR DOUBLED" : ""
        line = sprintf("\"partitions\":%d,\"runs_with_records_wrong\":%d", spart[b], slost[b])
        if (stats(b, "req_per_fetch"))
            line = line sprintf(",\"req_bytes_per_fetch\":{\"median\":%s,\"min\":%s,\"max\":%s}", jnum(MED), jnum(MIN), jnum(MAX))
        if (stats(b, "resp_per_fetch"))
            line = line sprintf(",\"resp_bytes_per_fetch\":{\"median\":%s,\"min\":%s,\"max\":%s}", jnum(MED), jnum(MIN), jnum(MAX))
        js = js (js == "" ? "" : ",\n    ") jstr(b) ":{" line "}"
    }
    sessions_ratio("idle", "req_per_fetch", "request")
    sessions_ratio("idle", "resp_per_fetch", "answer")
    sessions_ratio("trickle", "req_per_fetch", "request")
    sessions_ratio("trickle", "resp_per_fetch", "answer")
}

# "idle: a request is 1100x smaller with a session": sessionless median over session median.
function sessions_ratio(load, f, what,    off, on) {
    off = stats("kafka_sess_" load "_off", f) ? MED : ""
    on = stats("kafka_sess_" load "_on", f) ? MED : ""
    if (off == "" || on == "" || on == 0)
        return
    printf "  %-7s %-7s bytes per Fetch: %s sessionless, %s with a session: %.0fx fewer\n",
           load, what, human(off), human(on), off / on
}

# One failover row: bench b's field f (ms) against goal (ms): PASS when the median is under
# it; the max is printed beside, and whether it is under too.
function failover_row(label, b, f, goal, goal_text,    n, res, med, mx) {
    n = stats(b, f)
    med = MED
    mx = MAX
    if (n == 0)
        res = "NOT RUN: " why(b)
    else
        res = (med < goal ? "PASS" : "MISS") sprintf(" (max %.1f ms: %s)", mx,
                                                    mx < goal ? "under too" : "over")
    npass += res ~ /^PASS/
    nmiss += res ~ /^MISS/
    nnot += n == 0
    printf "%-38s %4d  %-22s %-28s %s\n", label, n, n ? cell(b, f) : "n/a", goal_text, res
    jf = jf (jf == "" ? "" : ",\n    ") sprintf("{\"name\":%s,\"bench\":%s,\"field\":%s,\"runs\":%d,\"median\":%s,\"min\":%s,\"max\":%s,\"goal_ms\":%s,\"result\":%s}",
           jstr(label), jstr(b), jstr(f), n, n ? jnum(med) : "null", n ? jnum(MIN) : "null",
           n ? jnum(mx) : "null", jnum(goal), jstr(res ~ /^NOT RUN/ ? "NOT RUN" : substr(res, 1, 4)))
}

function failover_table(    kill_goal) {
    kill_goal = (session_ms > 0 ? session_ms : 2000) + 1000
    printf "\n%-38s %4s  %-22s %-28s %s\n", "failover (ms, median [min-max])", "runs",
           "measured", "goal", "result"
    failover_row("kill -9: first ack, new leader", "kafka_failover_kill", "failover_ms",
                 kill_goal, sprintf("< %d (session %d + 1 s)", kill_goal, kill_goal - 1000))
    failover_row("shutdown: longest gap", "kafka_failover_term", "max_gap_ms", 100,
                 "< 100")
    if (stats("kafka_failover_term", "failover_ms"))
        printf "%-38s %4d  %-22s %-28s info\n", "shutdown: first ack, new leader",
               stats("kafka_failover_term", "failover_ms"), cell("kafka_failover_term", "failover_ms"), "-"
    if (stats("kafka_failover_kill", "max_gap_ms"))
        printf "%-38s %4d  %-22s %-28s info\n", "kill -9: longest gap",
               stats("kafka_failover_kill", "max_gap_ms"), cell("kafka_failover_kill", "max_gap_ms"), "-"
}

function write_chart() {
    printf "# panel 0: batched produce, M records/s\n" > chart
    printf "%s%s%s\n\n", bar("native_produce", "records_per_s", "ours acks=1", 1e6),
           bar("redis_xadd", "records_per_s", "Redis XADD", 1e6),
           bar("nats_js", "records_per_s", "JetStream", 1e6) > chart
    printf "# panel 1: durable produce, M records/s\n%s%s\n\n",
           bar("native_durable", "records_per_s", "ours acks=all", 1e6),
           bar("redis_always", "records_per_s", "Redis always", 1e6) > chart
    printf "# panel 2: consume, MB/s\n%s%s%s%s\n\n", bar("native_consume", "mb_per_s", "ours consume", 1),
           bar("tcp_stream_ws", "mb_per_s", "TCP same size", 1),
           bar("tcp_stream_hot", "mb_per_s", "TCP hot 1 MiB", 1),
           bar("tcp_sendfile", "mb_per_s", "sendfile", 1) > chart
    printf "# panel 3: round trip, us (log scale)\n%s%s%s%s%s%s%s%s\n\n",
           bar("native_rtt_same", "p50_us", "ours p50 same", 1),
           bar("tcp_pingpong_same", "p50_us", "TCP p50 same", 1),
           bar("native_rtt_same", "p99_us", "ours p99 same", 1),
           bar("tcp_pingpong_same", "p99_us", "TCP p99 same", 1),
           bar("native_rtt_cross", "p50_us", "ours p50 cross", 1),
           bar("tcp_pingpong_cross", "p50_us", "TCP p50 cross", 1),
           bar("native_rtt_cross", "p99_us", "ours p99 cross", 1),
           bar("tcp_pingpong_cross", "p99_us", "TCP p99 cross", 1) > chart
    printf "# panel 4: librdkafka, M records/s\n%s%s%s%s\n\n",
           bar("rdkafka_broker_produce", "records_per_s", "ours prod", 1e6),
           bar("rdkafka_mock_produce", "records_per_s", "mock prod", 1e6),
           bar("rdkafka_broker_consume", "records_per_s", "ours cons", 1e6),
           bar("rdkafka_mock_consume", "records_per_s", "mock cons", 1e6) > chart
    printf "# panel 5: ratio / target (>= 1 meets the target)\n%s\n\n", rpanel > chart
    printf "# panel 6: the Kafka door's produce, M records/s\n%s%s%s%s%s%s\n\n",
           bar("native_produce", "records_per_s", "native acks=1", 1e6, 1),
           bar("kafka_produce", "records_per_s", "Kafka acks=1", 1e6),
           bar("kafka_produce_idem", "records_per_s", "Kafka idempotent", 1e6),
           bar("kafka_produce_classic", "records_per_s", "Kafka classic", 1e6),
           bar("native_durable", "records_per_s", "native acks=all", 1e6, 1),
           bar("kafka_durable", "records_per_s", "Kafka acks=all", 1e6) > chart
    printf "# panel 7: the Kafka door's consume, MB/s\n%s%s%s\n",
           bar("native_consume", "mb_per_s", "native consume", 1, 1),
           bar("kafka_consume", "mb_per_s", "Kafka Fetch", 1),
           bar("kafka_consume_classic", "mb_per_s", "Kafka Fetch classic", 1) > chart
    close(chart)
}

END {
    printf "%-38s %-22s %-22s %-27s %6s  %-7s %s\n", "comparison (median [min-max])", "ours",
           "peer", "peer is", "ratio", "target", "result"
    for (i = 1; i <= ncmp; i++)
        compare(i)
    failover_table()
    printf "\n%d PASS, %d MISS, %d not run\n", npass, nmiss, nnot
    all_benches()
    sessions_table()
    if (json != "") {
        printf "{\n  %s,\n  \"summary\":{\"pass\":%d,\"miss\":%d,\"not_run\":%d},\n", meta_json,
               npass, nmiss, nnot > json
        printf "  \"comparisons\":[\n    %s\n  ],\n  \"measurements\":{\n    %s\n  },\n",
               jcmp, jb > json
        printf "  \"fetch_sessions\":{\n    %s\n  },\n", js > json
        printf "  \"failover\":[\n    %s\n  ]\n}\n", jf > json
        close(json)
    }
    if (chart != "")
        write_chart()
}

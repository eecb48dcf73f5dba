/*
 * hp_fixture.c - the representative exposition (see hp_fixture.h).
 */
#include "hp_fixture.h"

#include <stddef.h>

#define L(n, v) {n, v}

static void partitions(struct hp_expo *e)
{
    static const struct {
        const char *topic, *partition;
        uint64_t start, end, bytes;
    } p[] = {{"payments", "0", 0, 1500, 152000}, {"payments", "1", 100, 1490, 150100},
             {"logs", "0", 0, 1000000, 98000000}};
    hp_expo_family(e, "kafka_log_start_offset", HP_GAUGE, "First offset still in the log.");
    for (size_t i = 0; i < 3; i++)
        hp_expo_sample_u64(e, (struct hp_label[]){L("topic", p[i].topic), L("partition", p[i].partition)}, 2, p[i].start);
    hp_expo_family(e, "kafka_log_end_offset", HP_GAUGE, "Offset the next record will get.");
    for (size_t i = 0; i < 3; i++)
        hp_expo_sample_u64(e, (struct hp_label[]){L("topic", p[i].topic), L("partition", p[i].partition)}, 2, p[i].end);
    hp_expo_family(e, "kafka_log_appended_bytes_total", HP_COUNTER, "Bytes appended to the log.");
    for (size_t i = 0; i < 3; i++)
        hp_expo_sample_u64(e, (struct hp_label[]){L("topic", p[i].topic), L("partition", p[i].partition)}, 2, p[i].bytes);
    hp_expo_family(e, "kafka_log_appended_records_total", HP_COUNTER, "Records appended to the log.");
    for (size_t i = 0; i < 3; i++)
        hp_expo_sample_u64(e, (struct hp_label[]){L("topic", p[i].topic), L("partition", p[i].partition)}, 2, p[i].end - p[i].start);
}

static void groups(struct hp_expo *e)
{
    const struct hp_label g1[] = {L("group", "billing"), L("topic", "payments"), L("partition", "0")};
    const struct hp_label g2[] = {L("group", HP_FIXTURE_ODD_GROUP), L("topic", "logs"), L("partition", "0")};
    hp_expo_family(e, "kafka_group_committed_offset", HP_GAUGE,
                   "Committed offset of a group.\nOne line per group \\ topic \\ partition.");
    hp_expo_sample_u64(e, g1, 3, 1450);
    hp_expo_sample_u64(e, g2, 3, 999000);
    hp_expo_family(e, "kafka_group_lag", HP_GAUGE, "Log end offset minus the committed offset.");
    hp_expo_sample_u64(e, g1, 3, 50);
    hp_expo_sample_u64(e, g2, 3, 1000);
}

static void requests(struct hp_expo *e)
{
    static const double b[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                               0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const uint64_t produce[17] = {0, 10, 200, 500, 250, 30, 7, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint64_t fetch[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 40, 2, 0, 0, 0, 1};
    const struct hp_label kp[] = {L("protocol", "kafka"), L("api", "Produce")};
    const struct hp_label kf[] = {L("protocol", "kafka"), L("api", "Fetch")};
    const struct hp_label np[] = {L("protocol", "native"), L("api", "produce")};
    hp_expo_family(e, "kafka_requests_total", HP_COUNTER, "Requests served, by protocol and API.");
    hp_expo_sample_u64(e, kp, 2, 1000);
    hp_expo_sample_u64(e, kf, 2, 46);
    hp_expo_sample_u64(e, np, 2, 0);
    hp_expo_family(e, "kafka_request_duration_seconds", HP_HISTOGRAM,
                   "Time from a request's last byte to its answer's first.");
    hp_expo_histogram(e, kp, 2, b, produce, 16, 0.73125);
    hp_expo_histogram(e, kf, 2, b, fetch, 16, 31.5);
    hp_expo_histogram(e, np, 2, b, (const uint64_t[17]){0}, 16, 0);
}

static void network(struct hp_expo *e)
{
    const struct hp_label k[] = {L("protocol", "kafka")}, n[] = {L("protocol", "native")},
                          h[] = {L("protocol", "http")};
    hp_expo_family(e, "kafka_network_received_bytes_total", HP_COUNTER, "Bytes read from clients.");
    hp_expo_sample_u64(e, k, 1, 1234567);
    hp_expo_sample_u64(e, n, 1, 0);
    hp_expo_family(e, "kafka_network_sent_bytes_total", HP_COUNTER, "Bytes written to clients.");
    hp_expo_sample_u64(e, k, 1, 7654321);
    hp_expo_sample_u64(e, n, 1, 0);
    hp_expo_family(e, "kafka_connections_open", HP_GAUGE, "Connections open now.");
    hp_expo_sample_u64(e, k, 1, 3);
    hp_expo_sample_u64(e, n, 1, 0);
    hp_expo_sample_u64(e, h, 1, 1);
    hp_expo_family(e, "kafka_connections_refused_total", HP_COUNTER, "Connections refused.");
    hp_expo_sample_u64(e, (struct hp_label[]){L("reason", "too_many")}, 1, 2);
}

static void broker(struct hp_expo *e)
{
    static const double b[] = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
    static const uint64_t cum[8] = {0, 12, 92, 99, 100, 100, 100, 100}; /* as the core has them */
    hp_expo_family(e, "kafka_fsync_duration_seconds", HP_HISTOGRAM, "Time one fsync took.");
    hp_expo_histogram_cumulative(e, NULL, 0, b, cum, 8, 0.2990625, 100);
    hp_expo_family(e, "kafka_flusher_backlog_bytes", HP_GAUGE, "Bytes appended, not yet fsynced.");
    hp_expo_sample(e, NULL, 0, 65536);
    hp_expo_family(e, "kafka_parked_requests", HP_GAUGE, "Requests waiting, by what for.");
    hp_expo_sample(e, (struct hp_label[]){L("kind", "fetch")}, 1, 2);
    hp_expo_sample(e, (struct hp_label[]){L("kind", "produce_fsync")}, 1, 0);
    hp_expo_family(e, "kafka_broker_uptime_seconds", HP_GAUGE, "Seconds since the broker started.");
    hp_expo_sample(e, NULL, 0, 3725.5);
    hp_expo_family(e, "kafka_broker_build_info", HP_GAUGE, "The broker's version; always 1.");
    hp_expo_sample(e, (struct hp_label[]){L("version", "0.1.0")}, 1, 1);
}

int hp_fixture_write(struct kc_writer *w)
{
    struct hp_expo e;
    hp_expo_init(&e, w);
    partitions(&e);
    groups(&e);
    requests(&e);
    network(&e);
    broker(&e);
    return hp_expo_finish(&e);
}

/*
 * metrics_data.c - the metrics that describe data rather than traffic: every partition's
 * offsets and appends (read from appendLog's lock-free counters), the flusher's fsync times
 * and backlog, the store's cache of open logs and its cleaner, and every group's committed
 * offsets with their lag.
 *
 * One scrape walks every partition and every committed offset. That is what Kafka's own
 * exporters do too; at 100,000 partitions it is a few MB of text, which is why these are
 * read from counters and never by touching a file.
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_int.h"

struct part_lab {
    char partition[16];
    struct brk_metric_label lab[2];
};

static void part_labels(struct part_lab *pl, const char *topic, int32_t p)
{
    snprintf(pl->partition, sizeof(pl->partition), "%d", p);
    pl->lab[0] = (struct brk_metric_label){"topic", topic, (int)strlen(topic)};
    pl->lab[1] = (struct brk_metric_label){"partition", pl->partition, (int)strlen(pl->partition)};
}

/* Which per-partition figure a family shows. */
enum pfig { P_START, P_END, P_BYTES, P_RECORDS };

static double pfig_value(const struct alog_counters *c, enum pfig f)
{
    switch (f) {
    case P_START:
        return (double)c->start_offset;
    case P_END:
        return (double)c->end_offset;
    case P_BYTES:
        return (double)c->appended_bytes;
    default:
        return (double)c->appended_records;
    }
}

static void visit_partitions(struct part_topic **ts, size_t n,
                             const struct brk_metrics_visitor *v, enum pfig f)
{
    static const struct {
        const char *name, *help;
        enum brk_metric_type type;
    } fam[] = {
        {"kafka_log_start_offset", "The first offset a partition still holds.", BRK_GAUGE},
        {"kafka_log_end_offset", "The offset a partition's next record will get.", BRK_GAUGE},
        {"kafka_log_appended_bytes_total", "Bytes appended to a partition since the broker "
                                           "started.", BRK_COUNTER},
        {"kafka_log_appended_records_total", "Records appended to a partition since the "
                                             "broker started.", BRK_COUNTER},
    };
    struct alog_counters c;
    struct part_lab pl;
    v->family(v->arg, fam[f].name, fam[f].help, fam[f].type);
    for (size_t i = 0; i < n; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            alog_counters(part_topic_log(ts[i], p), &c);
            part_labels(&pl, part_topic_name(ts[i]), p);
            v->sample(v->arg, pl.lab, 2, pfig_value(&c, f));
        }
    }
}

static void visit_flusher(struct brk_server *srv, struct part_topic **ts, size_t n,
                          const struct brk_metrics_visitor *v)
{
    struct alog_flusher_stats st;
    struct alog_counters c;
    uint64_t cum[ALOG_FSYNC_BUCKETS], run = 0, backlog = 0;
    alog_flusher_stats(srv->flusher, &st);
    for (int i = 0; i < ALOG_FSYNC_BUCKETS; i++)
        cum[i] = run += st.buckets[i];
    v->family(v->arg, "kafka_fsync_duration_seconds", "How long each fdatasync of a segment "
              "took (the flusher's group commits).", BRK_HISTOGRAM);
    v->histogram(v->arg, NULL, 0, alog_fsync_bounds, cum, ALOG_FSYNC_BUCKETS, st.sum_seconds,
                 KC_MAX(st.count, run));
    for (size_t i = 0; i < n; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            alog_counters(part_topic_log(ts[i], p), &c);
            backlog += c.appended_bytes - KC_MIN(c.durable_bytes, c.appended_bytes);
        }
    }
    v->family(v->arg, "kafka_flusher_backlog_bytes", "Bytes appended and not yet known to be "
              "on disk, over every partition.", BRK_GAUGE);
    v->sample(v->arg, NULL, 0, (double)backlog);
}

/* The store (appendLog's alog_store_info): how full the cache of open logs is, how often it
 * had to close one to open another, and what the log cleaner did. */
static void visit_store(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    struct alog_store_info si;
    alog_store_info(part_registry_store(srv->reg), &si);
    const struct {
        const char *name, *help;
        enum brk_metric_type type;
        double value;
    } fam[] = {
        {"kafka_log_cache_logs", "Partition logs the store knows (open or not).", BRK_GAUGE,
         si.logs},
        {"kafka_log_cache_open_logs", "Partition logs whose files are open now.", BRK_GAUGE,
         si.open_logs},
        {"kafka_log_cache_open_files", "File descriptors the open logs hold now.", BRK_GAUGE,
         (double)si.open_files},
        {"kafka_log_cache_max_open_files", "log.cache.max.open.files, as resolved.", BRK_GAUGE,
         (double)si.max_open_files},
        {"kafka_log_cache_opens_total", "Logs opened since the broker started.", BRK_COUNTER,
         (double)si.opens},
        {"kafka_log_cache_evictions_total", "Idle logs closed to make room for others.",
         BRK_COUNTER, (double)si.evictions},
        {"kafka_log_cache_emfile_retries_total", "Opens that met EMFILE and retried after "
         "closing idle logs.", BRK_COUNTER, (double)si.emfile_retries},
        {"kafka_log_unrecovered_logs", "Logs whose end is not known yet after an unclean "
         "stop (the store recovers them in the background).", BRK_GAUGE, si.unknown_logs},
        {"kafka_log_cleaner_cleanings_total", "Cleaner passes that rewrote a compacted log.",
         BRK_COUNTER, (double)si.cleanings},
        {"kafka_log_cleaner_errors_total", "Cleaner passes that failed.", BRK_COUNTER,
         (double)si.cleaner_errors},
        {"kafka_log_cleaner_read_bytes_total", "Bytes the cleaner read.", BRK_COUNTER,
         (double)si.cleaner_bytes_read},
        {"kafka_log_cleaner_written_bytes_total", "Bytes the cleaner wrote.", BRK_COUNTER,
         (double)si.cleaner_bytes_written},
    };
    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
        v->family(v->arg, fam[i].name, fam[i].help, fam[i].type);
        v->sample(v->arg, NULL, 0, fam[i].value);
    }
}

void brk__metrics_storage(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    visit_store(srv, v);
    size_t cap = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(cap ? cap : 1, sizeof(*ts));
    size_t n = ts ? KC_MIN(cap, part_topic_list(srv->reg, ts, cap)) : 0;
    for (enum pfig f = P_START; f <= P_RECORDS; f++)
        visit_partitions(ts, n, v, f);
    visit_flusher(srv, ts, n, v);
    free(ts);
}

/* ---- groups ---------------------------------------------------------------------------- */

struct group_row {
    struct kc_slice group, topic;
    int32_t partition;
    int64_t offset;
};

struct group_rows {
    struct group_row *rows;
    size_t n, cap;
    struct kc_writer names; /* group and topic bytes, copied: the store's lock is let go */
    int err;
};

static void collect(void *arg, struct kc_slice group, struct kc_slice topic, int32_t partition,
                    int64_t offset)
{
    struct group_rows *g = arg;
    if (g->err)
        return;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct group_row *r = reallocarray(g->rows, cap, sizeof(*r));
        if (!r) {
            g->err = -ENOMEM;
            return;
        }
        g->rows = r;
        g->cap = cap;
    }
    /* Offsets into names for now: the buffer may move while it grows. */
    struct group_row *r = &g->rows[g->n++];
    r->group = (struct kc_slice){(const uint8_t *)(uintptr_t)kc_writer_len(&g->names), group.len};
    kc_write_raw(&g->names, group.p, (size_t)group.len);
    r->topic = (struct kc_slice){(const uint8_t *)(uintptr_t)kc_writer_len(&g->names), topic.len};
    kc_write_raw(&g->names, topic.p, (size_t)topic.len);
    r->partition = partition;
    r->offset = offset;
}

static void visit_group_rows(struct brk_server *srv, struct group_rows *g,
                             const struct brk_metrics_visitor *v, bool lag)
{
    const uint8_t *base = kc_writer_data(&g->names);
    char part[16];
    v->family(v->arg, lag ? "kafka_group_lag" : "kafka_group_committed_offset",
              lag ? "Records between a group's committed offset and the partition's end."
                  : "The offset a group committed for a partition.",
              BRK_GAUGE);
    for (size_t i = 0; i < g->n; i++) {
        struct group_row *r = &g->rows[i];
        const char *grp = (const char *)base + (uintptr_t)r->group.p;
        const char *top = (const char *)base + (uintptr_t)r->topic.p;
        struct part_topic *t = part_topic_find(srv->reg, top, (size_t)r->topic.len);
        struct alog *log = t ? part_topic_log(t, r->partition) : NULL;
        if (lag && !log)
            continue; /* a commit for a partition that is gone: no lag to speak of */
        snprintf(part, sizeof(part), "%d", r->partition);
        struct brk_metric_label lab[3] = {{"group", grp, r->group.len},
                                          {"topic", top, r->topic.len},
                                          {"partition", part, (int)strlen(part)}};
        double val = (double)r->offset;
        if (lag)
            val = (double)KC_MAX(alog_end_offset(log) - r->offset, 0);
        v->sample(v->arg, lab, 3, val);
    }
}

void brk__metrics_groups(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    struct group_rows g = {0};
    kc_writer_init(&g.names, 0);
    brk__offsets_visit(srv->offsets, collect, &g);
    if (g.err || kc_writer_error(&g.names))
        g.n = 0; /* out of memory: the families come out empty rather than wrong */
    visit_group_rows(srv, &g, v, false);
    visit_group_rows(srv, &g, v, true);
    free(g.rows);
    kc_writer_fini(&g.names);
}

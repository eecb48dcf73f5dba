/*
 * metrics.c - counting what the broker does, and reading it back (brk_metrics.h).
 *
 * Every network loop has its own counters and is their only writer, so counting a request
 * is a handful of plain adds: a relaxed atomic load and store, no lock, no shared cache
 * line. A reader (a scrape, on some loop) loads them with relaxed loads and sums the loops:
 * each value it reads is one the writer wrote, which is all a counter needs.
 *
 *   struct brk_loop_stats (one per loop)
 *     per adapter:  bytes in/out, connections opened/closed,
 *                   per api: count, latency histogram (BRK_LAT_BUCKETS), sum of ns
 *     parked requests by kind (a small table: kinds are the adapters' static strings)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_int.h"

#define KINDS_MAX 16

const double brk_lat_bounds[BRK_LAT_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0,
};

struct api_stats {
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t buckets[BRK_LAT_BUCKETS]; /* not cumulative; above the last: count only */
};

struct adapter_stats {
    _Atomic uint64_t bytes_in, bytes_out, opened, closed;
    int napis;              /* the adapter's, plus one for "unknown" at index napis */
    struct api_stats *apis;
};

struct kind_stat {
    const char *kind;
    _Atomic int64_t parked;
};

struct brk_loop_stats {
    struct adapter_stats ad[BRK_ADAPTERS_MAX];
    struct kind_stat kinds[KINDS_MAX];
    _Atomic int nkinds;
};

/* The only writer adds: no read-modify-write instruction needed. */
static inline void add_u64(_Atomic uint64_t *x, uint64_t n)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t get_u64(_Atomic uint64_t *x)
{
    return atomic_load_explicit(x, memory_order_relaxed);
}

int brk__stats_init(struct brk_server *srv)
{
    for (int l = 0; l < srv->nloops; l++) {
        struct brk_loop_stats *st = calloc(1, sizeof(*st));
        if (!st)
            return -ENOMEM;
        srv->loops[l].stats = st;
        for (int a = 0; a < srv->nadapters; a++) {
            int n = KC_MAX(srv->adapters[a].a->napis, 0) + 1;
            if (!(st->ad[a].apis = calloc((size_t)n, sizeof(struct api_stats))))
                return -ENOMEM;
            st->ad[a].napis = n - 1;
        }
    }
    return 0;
}

void brk__stats_fini(struct brk_server *srv)
{
    for (int l = 0; srv->loops && l < srv->nloops; l++) {
        struct brk_loop_stats *st = srv->loops[l].stats;
        for (int a = 0; st && a < BRK_ADAPTERS_MAX; a++)
            free(st->ad[a].apis);
        free(st);
        srv->loops[l].stats = NULL;
    }
}

void brk__stat_request(struct brk_loop *bl, int adapter, int api, int64_t ns)
{
    if (!bl->stats || adapter < 0)
        return;
    struct adapter_stats *ad = &bl->stats->ad[adapter];
    struct api_stats *s = &ad->apis[api >= 0 && api < ad->napis ? api : ad->napis];
    int i = 0;
    while (i < BRK_LAT_BUCKETS && (double)ns > brk_lat_bounds[i] * 1e9)
        i++;
    if (i < BRK_LAT_BUCKETS)
        add_u64(&s->buckets[i], 1);
    add_u64(&s->sum_ns, (uint64_t)KC_MAX(ns, 0));
    add_u64(&s->count, 1);
}

void brk__stat_bytes(struct brk_loop *bl, int adapter, uint64_t in, uint64_t out)
{
    if (!bl->stats || adapter < 0)
        return;
    add_u64(&bl->stats->ad[adapter].bytes_in, in);
    add_u64(&bl->stats->ad[adapter].bytes_out, out);
}

void brk__stat_conn(struct brk_loop *bl, int adapter, int delta)
{
    if (!bl->stats || adapter < 0)
        return;
    add_u64(delta > 0 ? &bl->stats->ad[adapter].opened : &bl->stats->ad[adapter].closed, 1);
}

void brk__stat_parked(struct brk_loop *bl, const char *kind, int delta)
{
    struct brk_loop_stats *st = bl->stats;
    if (!st)
        return;
    int n = atomic_load_explicit(&st->nkinds, memory_order_relaxed), i = 0;
    while (i < n && st->kinds[i].kind != kind)
        i++;
    if (i == n) {
        if (n == KINDS_MAX)
            return; /* more kinds than any adapter has: not counted */
        st->kinds[n].kind = kind;
        atomic_store_explicit(&st->nkinds, n + 1, memory_order_release); /* kind, then n */
    }
    int64_t v = atomic_load_explicit(&st->kinds[i].parked, memory_order_relaxed);
    atomic_store_explicit(&st->kinds[i].parked, v + delta, memory_order_relaxed);
}

/* ---- reading ----------------------------------------------------------------------------- */

#define L(n, v) ((struct brk_metric_label){n, v, (int)strlen(v)})

static void visit_broker(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    struct brk_metric_label ver = L("version", BRK_VERSION);
    v->family(v->arg, "kafka_broker_build_info", "Always 1; the version is a label.", BRK_GAUGE);
    v->sample(v->arg, &ver, 1, 1);
    v->family(v->arg, "kafka_broker_uptime_seconds", "Seconds since the broker started.",
              BRK_GAUGE);
    v->sample(v->arg, NULL, 0, (double)(kc_wall_ms() - srv->info.started_ms) / 1000.0);
}

/* Sum one per-adapter counter over the loops. */
static uint64_t sum_ad(struct brk_server *srv, int a, size_t field)
{
    uint64_t n = 0;
    for (int l = 0; l < srv->nloops; l++)
        if (srv->loops[l].stats)
            n += get_u64((_Atomic uint64_t *)((char *)&srv->loops[l].stats->ad[a] + field));
    return n;
}

static void visit_per_adapter(struct brk_server *srv, const struct brk_metrics_visitor *v,
                              const char *name, const char *help, enum brk_metric_type type,
                              size_t field, size_t minus)
{
    v->family(v->arg, name, help, type);
    for (int a = 0; a < srv->nadapters; a++) {
        struct brk_metric_label lab = L("protocol", srv->adapters[a].a->name);
        uint64_t n = sum_ad(srv, a, field) - (minus ? sum_ad(srv, a, minus) : 0);
        v->sample(v->arg, &lab, 1, (double)n);
    }
}

static void visit_network(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    struct brk_metrics *m = &srv->metrics;
    visit_per_adapter(srv, v, "kafka_connections_open", "Connections open, by protocol.",
                      BRK_GAUGE, offsetof(struct adapter_stats, opened),
                      offsetof(struct adapter_stats, closed));
    v->family(v->arg, "kafka_connections_refused_total",
              "Connections closed at once, by reason.", BRK_COUNTER);
    const struct {
        const char *reason;
        _Atomic uint64_t *n;
    } r[] = {{"max_connections", &m->refused_max_connections},
             {"no_memory", &m->refused_no_memory},
             {"unknown_protocol", &m->refused_unclaimed},
             {"shutting_down", &m->refused_draining}};
    for (size_t i = 0; i < KC_ARRAY_SIZE(r); i++) {
        struct brk_metric_label lab = L("reason", r[i].reason);
        v->sample(v->arg, &lab, 1, (double)atomic_load(r[i].n));
    }
    v->family(v->arg, "kafka_network_request_queue_bytes",
              "Bytes held for requests being received (queued.max.request.bytes counts them).",
              BRK_GAUGE);
    v->sample(v->arg, NULL, 0, (double)KC_MAX(brk__inbudget_used(srv), 0));
    v->family(v->arg, "kafka_network_request_queue_waits_total",
              "Times a connection stopped reading until queued.max.request.bytes had room.",
              BRK_COUNTER);
    v->sample(v->arg, NULL, 0, (double)atomic_load(&m->in_budget_waits));
    visit_per_adapter(srv, v, "kafka_network_received_bytes_total",
                      "Bytes received from clients, by protocol.", BRK_COUNTER,
                      offsetof(struct adapter_stats, bytes_in), 0);
    visit_per_adapter(srv, v, "kafka_network_sent_bytes_total",
                      "Bytes sent to clients, by protocol.", BRK_COUNTER,
                      offsetof(struct adapter_stats, bytes_out), 0);
}

/* One (adapter, api)'s figures summed over the loops; false if it never happened. */
static bool api_sum(struct brk_server *srv, int a, int api, uint64_t *count, uint64_t *cum,
                    double *sum)
{
    uint64_t ns = 0, run = 0;
    *count = 0;
    memset(cum, 0, sizeof(uint64_t) * BRK_LAT_BUCKETS);
    for (int l = 0; l < srv->nloops; l++) {
        struct brk_loop_stats *st = srv->loops[l].stats;
        if (!st || !st->ad[a].apis)
            continue;
        struct api_stats *s = &st->ad[a].apis[api];
        *count += get_u64(&s->count);
        ns += get_u64(&s->sum_ns);
        for (int i = 0; i < BRK_LAT_BUCKETS; i++)
            cum[i] += get_u64(&s->buckets[i]);
    }
    for (int i = 0; i < BRK_LAT_BUCKETS; i++) { /* cumulative, as Prometheus wants */
        run += cum[i];
        cum[i] = run;
    }
    *count = KC_MAX(*count, run); /* the count was read last in no order: never below */
    *sum = (double)ns / 1e9;
    return *count > 0;
}

static const char *api_label(const struct brk_adapter *ad, int api, char *buf, size_t cap)
{
    const char *name = api < ad->napis && ad->api_name ? ad->api_name(api) : NULL;
    if (name)
        return name;
    if (api >= ad->napis)
        return "unknown";
    snprintf(buf, cap, "api_%d", api);
    return buf;
}

static void visit_requests(struct brk_server *srv, const struct brk_metrics_visitor *v,
                           bool histogram)
{
    uint64_t count, cum[BRK_LAT_BUCKETS];
    double sum;
    char buf[32];
    if (histogram)
        v->family(v->arg, "kafka_request_duration_seconds",
                  "Time from a request's arrival to its answer being ready, by protocol and "
                  "API (parked requests included).", BRK_HISTOGRAM);
    else
        v->family(v->arg, "kafka_requests_total", "Requests served, by protocol and API.",
                  BRK_COUNTER);
    for (int a = 0; a < srv->nadapters; a++) {
        const struct brk_adapter *ad = srv->adapters[a].a;
        for (int api = 0; api <= KC_MAX(ad->napis, 0); api++) {
            if (!api_sum(srv, a, api, &count, cum, &sum))
                continue;
            struct brk_metric_label lab[2] = {L("protocol", ad->name),
                                              L("api", api_label(ad, api, buf, sizeof(buf)))};
            if (histogram)
                v->histogram(v->arg, lab, 2, brk_lat_bounds, cum, BRK_LAT_BUCKETS, sum, count);
            else
                v->sample(v->arg, lab, 2, (double)count);
        }
    }
}

static void visit_parked(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    const char *kinds[KINDS_MAX * 4];
    int64_t counts[KINDS_MAX * 4];
    int n = 0;
    for (int l = 0; l < srv->nloops; l++) {
        struct brk_loop_stats *st = srv->loops[l].stats;
        int nk = st ? atomic_load_explicit(&st->nkinds, memory_order_acquire) : 0;
        for (int k = 0; k < nk; k++) {
            int i = 0;
            while (i < n && strcmp(kinds[i], st->kinds[k].kind) != 0)
                i++;
            if (i == n && n == (int)KC_ARRAY_SIZE(kinds))
                continue;
            if (i == n)
                kinds[n] = st->kinds[k].kind, counts[n++] = 0;
            counts[i] += atomic_load_explicit(&st->kinds[k].parked, memory_order_relaxed);
        }
    }
    v->family(v->arg, "kafka_parked_requests",
              "Requests waiting for something (an fsync, data, a rebalance), by kind.",
              BRK_GAUGE);
    for (int i = 0; i < n; i++) {
        struct brk_metric_label lab = L("kind", kinds[i]);
        v->sample(v->arg, &lab, 1, (double)KC_MAX(counts[i], 0));
    }
}

void brk_metrics_visit(struct brk_server *srv, const struct brk_metrics_visitor *v)
{
    visit_broker(srv, v);
    visit_network(srv, v);
    visit_requests(srv, v, false);
    visit_requests(srv, v, true);
    visit_parked(srv, v);
    if (atomic_load(&srv->phase) == BRK_STARTING)
        return; /* storage is being opened: its families come once it serves */
    brk__metrics_storage(srv, v);
    brk__metrics_groups(srv, v);
    if (srv->cops && srv->cops->metrics) /* a cluster member: replication's families */
        srv->cops->metrics(srv->cops_arg, v);
    for (int a = 0; a < srv->nadapters; a++)
        if (srv->adapters[a].a->metrics)
            srv->adapters[a].a->metrics(srv->adapters[a].state, v);
}

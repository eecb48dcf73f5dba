/*
 * brk_metrics.h - what the broker counts, and a protocol-neutral way to read it.
 *
 * The core counts as it works, cheaply: each network loop owns its counters (one writer,
 * so an increment is a plain add on a relaxed atomic, no lock, no contended cache line),
 * and a reader sums the loops when asked. Storage figures (offsets, bytes appended, fsync
 * times) are read from appendLog at that moment; group offsets from the offsets store.
 *
 *   loop 0 counters --+
 *   loop 1 counters --+--> brk_metrics_visit --> visitor callbacks --> an adapter formats
 *   storage, groups --+                                                (HTTP: Prometheus)
 *
 * The visitor gets metric families in a fixed order, each followed by its samples. The
 * names follow Prometheus' conventions (base units, _total for counters, _seconds), so
 * an adapter can print them as they are.
 */
#ifndef BRK_METRICS_H
#define BRK_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

struct brk_server;

enum brk_metric_type { BRK_COUNTER, BRK_GAUGE, BRK_HISTOGRAM };

struct brk_metric_label {
    const char *name;
    const char *value; /* not NUL-terminated necessarily: value_len bytes */
    int value_len;
};

struct brk_metrics_visitor {
    void *arg;
    /* A new family; its samples follow. */
    void (*family)(void *arg, const char *name, const char *help, enum brk_metric_type type);
    /* A counter's or gauge's sample. */
    void (*sample)(void *arg, const struct brk_metric_label *labels, int nlabels, double value);
    /* A histogram's sample: counts[i] observations <= bounds[i] (cumulative), count in all
     * (the +Inf bucket), sum of the observed values. */
    void (*histogram)(void *arg, const struct brk_metric_label *labels, int nlabels,
                      const double *bounds, const uint64_t *counts, int nbounds, double sum,
                      uint64_t count);
};

/* Every metric, now. On a network loop (the HTTP adapter's) or any thread; it reads other
 * loops' counters without stopping them (each value is exact, the set is not one instant). */
void brk_metrics_visit(struct brk_server *srv, const struct brk_metrics_visitor *v);

/* Latency histogram buckets (seconds), shared by every duration the broker measures. */
#define BRK_LAT_BUCKETS 17
extern const double brk_lat_bounds[BRK_LAT_BUCKETS];

/* Server-wide counters (the rare events; any thread). */
struct brk_metrics {
    _Atomic uint64_t refused_max_connections; /* max.connections reached */
    _Atomic uint64_t refused_no_memory;       /* out of memory at accept */
    _Atomic uint64_t refused_unclaimed;       /* no adapter claimed the first bytes */
    _Atomic uint64_t refused_draining;        /* accepted while shutting down */
    _Atomic uint64_t in_budget_waits;         /* a connection waited for
                                               * queued.max.request.bytes */
};

#endif

/*
 * exposition.c - /metrics: the core's protocol-neutral metrics visitor (brk_metrics.h)
 * turned into Prometheus' text format by the codec's writer (hp_expo.h).
 *
 *   brk_metrics_visit --family--> hp_expo_family     "# HELP ...", "# TYPE ..."
 *                     --sample--> hp_expo_sample     name{labels} value
 *                     --histogram--> hp_expo_histogram_cumulative   _bucket{le=..}, _sum,
 *                                                                   _count
 *
 * The core's label values are length-delimited (a topic name inside a record, say); the
 * writer wants C strings, so each sample's values are copied into one small buffer.
 */
#include <errno.h>
#include <string.h>

#include "brk_metrics.h"
#include "hp_expo.h"
#include "http_int.h"
#include "kc_common.h"

#define LABELS_MAX 8
#define LABEL_BYTES 2048 /* names are at most 249 bytes: room for every label of a sample */

struct expo_visit {
    struct hp_expo e;
    enum brk_metric_type type;
    int err;
};

static enum hp_metric_type hp_type(enum brk_metric_type t)
{
    return t == BRK_COUNTER ? HP_COUNTER : t == BRK_GAUGE ? HP_GAUGE : HP_HISTOGRAM;
}

static void on_family(void *arg, const char *name, const char *help, enum brk_metric_type type)
{
    struct expo_visit *x = arg;
    int rc = hp_expo_family(&x->e, name, hp_type(type), help);
    x->err = x->err ? x->err : rc;
}

/* The sample's labels as C strings, in buf; false if they do not fit (never, by the
 * core's limits on names: the sample is then left out, and the scrape says so). */
static bool c_labels(const struct brk_metric_label *in, int n, struct hp_label *out, char *buf)
{
    size_t at = 0;
    if (n > LABELS_MAX)
        return false;
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)KC_MAX(in[i].value_len, 0);
        if (at + len + 1 > LABEL_BYTES)
            return false;
        memcpy(buf + at, in[i].value, len);
        buf[at + len] = '\0';
        out[i] = (struct hp_label){in[i].name, buf + at};
        at += len + 1;
    }
    return true;
}

static void on_sample(void *arg, const struct brk_metric_label *labels, int nlabels, double value)
{
    struct expo_visit *x = arg;
    struct hp_label lab[LABELS_MAX];
    char buf[LABEL_BYTES];
    int rc = c_labels(labels, nlabels, lab, buf)
                 ? hp_expo_sample(&x->e, lab, (size_t)nlabels, value)
                 : KC_ETOOLARGE;
    x->err = x->err ? x->err : rc;
}

static void on_histogram(void *arg, const struct brk_metric_label *labels, int nlabels,
                         const double *bounds, const uint64_t *counts, int nbounds, double sum,
                         uint64_t count)
{
    struct expo_visit *x = arg;
    struct hp_label lab[LABELS_MAX];
    char buf[LABEL_BYTES];
    int rc = c_labels(labels, nlabels, lab, buf)
                 ? hp_expo_histogram_cumulative(&x->e, lab, (size_t)nlabels, bounds, counts,
                                                (size_t)nbounds, sum, count)
                 : KC_ETOOLARGE;
    x->err = x->err ? x->err : rc;
}

int brk__http_exposition(struct brk_server *srv, struct kc_writer *w)
{
    struct expo_visit x = {0};
    hp_expo_init(&x.e, w);
    struct brk_metrics_visitor v = {&x, on_family, on_sample, on_histogram};
    brk_metrics_visit(srv, &v);
    int rc = hp_expo_finish(&x.e);
    return x.err ? x.err : rc ? rc : kc_writer_error(w);
}

/*
 * top_view.c - what `kafka_cli top` shows, computed from two scrapes of /metrics
 * (contract in cli_http.h). Pure: no sockets, no clock.
 *
 * Rates are counter deltas over the interval, as Prometheus' rate() would take them
 * between two samples: a counter that went down was reset (the broker restarted) and
 * counts from zero; a series that is new counts from zero. Latency quantiles come from
 * the histogram's bucket deltas, so they describe the interval, not the broker's life:
 *
 *   le:      0.001  0.005  0.01   +Inf        cumulative counts gained in the interval
 *   delta:     60     95    100    100        p50: rank 50 falls in (0, 0.001]:
 *                                              0 + 0.001 * 50/60 = 0.00083 s
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_http.h"
#include "kc_common.h"

#define TOP_MAX_BUCKETS 128

/* ---- rows ------------------------------------------------------------------------------ */

static bool keys_eq(const char *const *a, const char *const *b)
{
    for (int i = 0; i < 3; i++)
        if ((a[i] == NULL) != (b[i] == NULL) || (a[i] && strcmp(a[i], b[i]) != 0))
            return false;
    return true;
}

/* The row with these keys, added when missing; NULL on -ENOMEM. */
static struct top_row *row(struct top_table *t, const char *k0, const char *k1, const char *k2)
{
    const char *key[3] = {k0, k1, k2};
    for (size_t i = 0; i < t->n; i++)
        if (keys_eq(t->rows[i].key, key))
            return &t->rows[i];
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct top_row *r = reallocarray(t->rows, ncap, sizeof(*r));
        if (!r)
            return NULL;
        t->rows = r;
        t->cap = ncap;
    }
    struct top_row *r = &t->rows[t->n++];
    *r = (struct top_row){.key = {k0, k1, k2}};
    return r;
}

static void add(struct top_row *r, int col, double v)
{
    r->v[col] = r->known[col] ? r->v[col] + v : v;
    r->known[col] = true;
}

/* ---- samples of the previous scrape ---------------------------------------------------- */

static bool same_series(const struct hp_sample *a, const struct hp_sample *b)
{
    if (strcmp(a->name, b->name) != 0 || a->nlabels != b->nlabels)
        return false;
    for (size_t i = 0; i < a->nlabels; i++) {
        const char *v = hp_sample_label(b, a->labels[i].name);
        if (!v || strcmp(v, a->labels[i].value) != 0)
            return false;
    }
    return true;
}

/* The sample of pf with s's identity; samples usually keep their place, so try there first. */
static const struct hp_sample *prev_of(const struct hp_family *pf, const struct hp_sample *s,
                                       size_t hint)
{
    if (!pf)
        return NULL;
    if (hint < pf->nsamples && same_series(s, &pf->samples[hint]))
        return &pf->samples[hint];
    for (size_t i = 0; i < pf->nsamples; i++)
        if (same_series(s, &pf->samples[i]))
            return &pf->samples[i];
    return NULL;
}

/* A counter's gain over the interval (from zero after a reset or for a new series). */
static double gain(const struct hp_sample *cur, const struct hp_sample *prev)
{
    return prev && cur->value >= prev->value ? cur->value - prev->value : cur->value;
}

struct src {
    const struct hp_scrape *prev, *cur;
    double seconds;
    const struct top_opts *o;
};

/* For each sample of family name: its cur sample, prev sample (or NULL) and index. */
#define EACH(src, name, cf, pf, i)                                                            \
    for (const struct hp_family *cf = hp_scrape_family((src)->cur, name),                     \
                                *pf = hp_scrape_family((src)->prev, name);                    \
         cf; cf = NULL)                                                                       \
        for (size_t i = 0; i < cf->nsamples; i++)

/* Sum a counter's rate (col) or a gauge's value into rows keyed by up to three labels. */
static int fold(const struct src *s, const char *family, bool counter, struct top_table *t,
                int col, const char *l0, const char *l1, const char *l2)
{
    EACH(s, family, cf, pf, i)
    {
        const struct hp_sample *c = &cf->samples[i];
        const char *k0 = hp_sample_label(c, l0), *k1 = l1 ? hp_sample_label(c, l1) : NULL;
        const char *k2 = l2 ? hp_sample_label(c, l2) : NULL;
        if (!k0 || (l1 && !k1) || (l2 && !k2))
            continue; /* not a sample of the shape we know */
        struct top_row *r = row(t, k0, k1, k2);
        if (!r)
            return -ENOMEM;
        add(r, col, counter ? gain(c, prev_of(pf, c, i)) / s->seconds : c->value);
    }
    return 0;
}

/* ---- histograms ----------------------------------------------------------------------- */

double cli__hist_quantile(const double *bounds, const double *cum, size_t n, double q)
{
    if (n == 0 || !(cum[n - 1] > 0))
        return NAN;
    double rank = q * cum[n - 1];
    size_t i = 0;
    while (i < n - 1 && cum[i] < rank)
        i++;
    if (isinf(bounds[i]))
        return n >= 2 ? bounds[n - 2] : NAN; /* in +Inf: the highest bound we know */
    double lower = i == 0 ? 0 : bounds[i - 1], below = i == 0 ? 0 : cum[i - 1];
    double in = cum[i] - below;
    return in > 0 ? lower + (bounds[i] - lower) * (rank - below) / in : bounds[i];
}

/* One histogram series: its buckets' bounds and cumulative gains, in text order. */
struct hist {
    double bounds[TOP_MAX_BUCKETS], cum[TOP_MAX_BUCKETS], prev_inf, cur_inf;
    size_t n;
    bool too_many;
};

/* Add bucket sample c (with prev p) of a series. */
static void hist_bucket(struct hist *h, const struct hp_sample *c, const struct hp_sample *p)
{
    const char *le = hp_sample_label(c, "le");
    char *end;
    double bound = le ? strtod(le, &end) : NAN;
    if (!le || *end || h->n == TOP_MAX_BUCKETS) {
        h->too_many = true;
        return;
    }
    h->bounds[h->n] = bound;
    h->cum[h->n++] = p ? c->value - p->value : c->value;
    if (isinf(bound)) {
        h->cur_inf = c->value;
        h->prev_inf = p ? p->value : 0;
    }
}

/* p50 and p99 of the series into r (cols 1 and 2); a reset series counts from zero. */
static void hist_done(struct hist *h, const struct hp_family *cf, size_t first,
                      struct top_row *r, int c50, int c99)
{
    if (h->too_many || h->n == 0)
        return;
    if (h->cur_inf < h->prev_inf) /* the broker restarted: the gains are the totals */
        for (size_t i = 0, k = 0; i < cf->nsamples && k < h->n; i++)
            if (i >= first && hp_sample_label(&cf->samples[i], "le"))
                h->cum[k++] = cf->samples[i].value;
    double p50 = cli__hist_quantile(h->bounds, h->cum, h->n, 0.50);
    double p99 = cli__hist_quantile(h->bounds, h->cum, h->n, 0.99);
    if (!isnan(p50))
        add(r, c50, p50);
    if (!isnan(p99))
        add(r, c99, p99);
}

/* Quantiles of every series of a histogram family, keyed by up to two labels. */
static int quantiles(const struct src *s, const char *family, struct top_table *t,
                     const char *l0, const char *l1, int c50, int c99)
{
    char bucket[256];
    snprintf(bucket, sizeof(bucket), "%s_bucket", family);
    struct hist *h = calloc(1, sizeof(*h));
    struct top_row *r = NULL;
    size_t first = 0;
    if (!h)
        return -ENOMEM;
    EACH(s, family, cf, pf, i)
    {
        const struct hp_sample *c = &cf->samples[i];
        if (strcmp(c->name, bucket) != 0)
            continue;
        const char *k0 = l0 ? hp_sample_label(c, l0) : "", *k1 = l1 ? hp_sample_label(c, l1) : NULL;
        if (!k0 || (l1 && !k1))
            continue;
        struct top_row *cr = row(t, k0, k1, NULL);
        if (!cr) {
            free(h);
            return -ENOMEM;
        }
        if (cr != r) { /* a new series begins */
            if (r)
                hist_done(h, cf, first, r, c50, c99);
            memset(h, 0, sizeof(*h));
            r = cr;
            first = i;
        }
        hist_bucket(h, c, prev_of(pf, c, i));
    }
    const struct hp_family *cf = hp_scrape_family(s->cur, family);
    if (r && cf)
        hist_done(h, cf, first, r, c50, c99);
    free(h);
    return 0;
}

/* ---- the view --------------------------------------------------------------------------- */

static double gauge(const struct hp_scrape *sc, const char *family)
{
    const struct hp_family *f = hp_scrape_family(sc, family);
    return f && f->nsamples ? f->samples[0].value : NAN;
}

static int tables(const struct src *s, struct top_view *v)
{
    const char *part = s->o->partitions ? "partition" : NULL;
    int rc = 0;
    rc = rc ? rc : fold(s, "kafka_log_appended_records_total", true, &v->topics, 0, "topic", part, NULL);
    rc = rc ? rc : fold(s, "kafka_log_appended_bytes_total", true, &v->topics, 1, "topic", part, NULL);
    rc = rc ? rc : fold(s, "kafka_log_end_offset", false, &v->topics, 2, "topic", part, NULL);
    rc = rc ? rc : fold(s, "kafka_log_start_offset", false, &v->topics, 3, "topic", part, NULL);
    rc = rc ? rc : fold(s, "kafka_group_lag", false, &v->groups, 0, "group", "topic", part);
    if (part)
        rc = rc ? rc : fold(s, "kafka_group_committed_offset", false, &v->groups, 1, "group", "topic", part);
    rc = rc ? rc : fold(s, "kafka_requests_total", true, &v->requests, 0, "protocol", "api", NULL);
    rc = rc ? rc : quantiles(s, "kafka_request_duration_seconds", &v->requests, "protocol", "api", 1, 2);
    rc = rc ? rc : fold(s, "kafka_network_received_bytes_total", true, &v->network, 0, "protocol", NULL, NULL);
    rc = rc ? rc : fold(s, "kafka_network_sent_bytes_total", true, &v->network, 1, "protocol", NULL, NULL);
    rc = rc ? rc : fold(s, "kafka_connections_open", false, &v->network, 2, "protocol", NULL, NULL);
    return rc;
}

int cli__top_view(const struct hp_scrape *prev, const struct hp_scrape *cur, double seconds,
                  const struct top_opts *o, struct top_view *out)
{
    struct src s = {prev, cur, seconds > 0 ? seconds : 1e-9, o};
    struct top_view v = {.seconds = seconds, .uptime = gauge(cur, "kafka_broker_uptime_seconds"),
                         .backlog = gauge(cur, "kafka_flusher_backlog_bytes"), .fsync_p99 = NAN};
    const struct hp_family *bi = hp_scrape_family(cur, "kafka_broker_build_info");
    v.version = bi && bi->nsamples ? hp_sample_label(&bi->samples[0], "version") : NULL;
    struct top_table fsync = {0};
    int rc = tables(&s, &v);
    if (rc == 0)
        rc = quantiles(&s, "kafka_fsync_duration_seconds", &fsync, NULL, NULL, 1, 2);
    if (rc == 0 && fsync.n == 1 && fsync.rows[0].known[2])
        v.fsync_p99 = fsync.rows[0].v[2];
    free(fsync.rows);
    if (rc) {
        cli__top_view_fini(&v);
        return rc;
    }
    *out = v;
    return 0;
}

void cli__top_view_fini(struct top_view *v)
{
    free(v->topics.rows);
    free(v->groups.rows);
    free(v->requests.rows);
    free(v->network.rows);
    memset(v, 0, sizeof(*v));
}

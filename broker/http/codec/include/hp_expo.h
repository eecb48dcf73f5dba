/*
 * hp_expo.h - the Prometheus text exposition format, version 0.0.4: a writer and a parser.
 *
 * What GET /metrics answers, with Content-Type HP_EXPO_CONTENT_TYPE:
 *
 *   # HELP kafka_requests_total Requests served, by protocol and API.    one HELP (escaped)
 *   # TYPE kafka_requests_total counter                                 one TYPE, first
 *   kafka_requests_total{protocol="kafka",api="Produce"} 1027           samples, together
 *   kafka_requests_total{protocol="native",api="ping"} 3
 *   # HELP kafka_request_duration_seconds Time from request to answer.
 *   # TYPE kafka_request_duration_seconds histogram
 *   kafka_request_duration_seconds_bucket{protocol="kafka",api="Produce",le="0.001"} 900
 *   kafka_request_duration_seconds_bucket{protocol="kafka",api="Produce",le="+Inf"} 1027
 *   kafka_request_duration_seconds_sum{protocol="kafka",api="Produce"} 0.734
 *   kafka_request_duration_seconds_count{protocol="kafka",api="Produce"} 1027
 *
 * Lines end with LF, the last one too. A family (one metric name, one type) is written
 * whole before the next begins, and no family name appears twice. Label values escape
 * backslash, double quote and newline (\\ \" \n); HELP text escapes backslash and newline.
 * Values are floats as Go's and Python's parsers read them: integers without an exponent,
 * else the shortest decimal that reads back as the same double, and NaN, +Inf, -Inf.
 * There is no "# EOF" line: that marker belongs to OpenMetrics, not to 0.0.4 (where it
 * would only be a comment); a scraper finds the end from Content-Length.
 *
 * Writer rules:
 *  - hp_expo_family starts a family; hp_expo_sample / hp_expo_histogram add to it. Errors
 *    are sticky, like kc_writer's: after the first, every call returns it and writes
 *    nothing; hp_expo_finish returns it. The first error also leaves the kc_writer holding
 *    a partial text: discard it.
 *  - Names are checked: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]* not
 *    starting with "__"; a counter's name ends in "_total" (the convention promtool
 *    checks); "le" is the histogram's own label. A bad name is KC_EBADNAME, a repeated
 *    family -EEXIST, a call out of order (a sample before any family, a histogram into a
 *    gauge) -EINVAL, a negative or NaN counter -ERANGE, a label value or HELP text that is
 *    not UTF-8 KC_EMALFORMED, the writer's own errors (-ENOMEM, KC_ETOOLARGE) as they are.
 *  - Label arrays and strings are only read during the call.
 *
 * Parser rules:
 *  - hp_expo_parse reads a whole text into families of samples, label values unescaped.
 *    It accepts what the writer writes and what Prometheus' 0.0.4 parser accepts, except
 *    where that would hide a mistake of ours: it refuses a family that repeats or is
 *    interleaved with another, a HELP or TYPE after the family's samples, a duplicate
 *    series, a negative counter, a histogram series without its +Inf bucket, _sum or
 *    _count, with buckets out of order or not cumulative, or whose _count differs from its
 *    +Inf bucket, or a sample with more than HP_EXPO_MAX_LABELS labels or one label
 *    twice. A refusal is KC_EMALFORMED with the line and the reason in why.
 *  - Everything the result points to belongs to it until hp_scrape_free.
 *
 * Nothing here is global; a struct hp_expo or hp_scrape belongs to one thread at a time.
 */
#ifndef HP_EXPO_H
#define HP_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

enum hp_metric_type {
    HP_UNTYPED = 0,
    HP_COUNTER,
    HP_GAUGE,
    HP_HISTOGRAM,
    HP_SUMMARY, /* read, never written */
};

/* "untyped", "counter", "gauge", "histogram", "summary". Static. */
const char *hp_metric_type_name(enum hp_metric_type type);

struct hp_label {
    const char *name;
    const char *value;
};

/* ---- writing ------------------------------------------------------------------------------ */

struct hp_expo {
    struct kc_writer *w;     /* where the text goes (not owned) */
    struct kc_writer names;  /* every family name so far, NUL-terminated, back to back */
    size_t family;           /* offset in names of the current family's name */
    bool open;               /* a family has been started */
    enum hp_metric_type type;
    int err;                 /* the first error (sticky) */
};

/* Room for any value hp_format_double writes, NUL included. */
#define HP_DOUBLE_BUF 32

/* Write v as the format wants it (rules above) into buf; returns the length. */
size_t hp_format_double(double v, char buf[HP_DOUBLE_BUF]);

void hp_expo_init(struct hp_expo *e, struct kc_writer *w);

/* Start a family: "# HELP name help" and "# TYPE name type". help is required. */
int hp_expo_family(struct hp_expo *e, const char *name, enum hp_metric_type type,
                   const char *help);

/* One sample of the current counter or gauge: name{labels} value. */
int hp_expo_sample(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                   double value);
/* The same with an integer value, written exactly (no rounding through a double). */
int hp_expo_sample_u64(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                       uint64_t value);

/*
 * One series of the current histogram: nbounds upper bounds (finite, strictly
 * increasing) and nbounds + 1 bucket counts, counts[i] being the observations in
 * (bounds[i-1], bounds[i]] and counts[nbounds] those above the last bound. The writer
 * makes them cumulative, adds the +Inf bucket, _sum and _count (the total).
 */
int hp_expo_histogram(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                      const double *bounds, const uint64_t *counts, size_t nbounds, double sum);

/*
 * The same series from cumulative counts, as a registry that keeps them so hands them
 * over: cum[i] observations <= bounds[i], count in all (the +Inf bucket). Counts read
 * from live counters one by one can be torn (a later bucket read before an earlier one
 * was incremented): each is raised to the one before it, and count to the last, so the
 * text is always cumulative.
 */
int hp_expo_histogram_cumulative(struct hp_expo *e, const struct hp_label *labels,
                                 size_t nlabels, const double *bounds, const uint64_t *cum,
                                 size_t nbounds, double sum, uint64_t count);

/* The first error of the whole text (0: the text is complete); frees what e holds. */
int hp_expo_finish(struct hp_expo *e);

/* ---- reading ---------------------------------------------------------------------------- */

/* Labels one sample may carry in a parsed text (ours carry at most 3; le included). */
#define HP_EXPO_MAX_LABELS 64

struct hp_sample {
    const char *name; /* the full sample name: "x_total", "x_bucket", "x_sum" ... */
    const struct hp_label *labels;
    size_t nlabels;
    double value;
    bool has_timestamp;
    int64_t timestamp_ms;
};

struct hp_family {
    const char *name;
    enum hp_metric_type type;
    const char *help; /* NULL without a HELP line */
    const struct hp_sample *samples;
    size_t nsamples;
};

struct hp_scrape {
    const struct hp_family *families;
    size_t nfamilies;
    void *mem; /* private: everything the pointers above point into */
};

/*
 * Parse text[0..len) (rules above). Returns 0 with *out filled (free it with
 * hp_scrape_free), KC_EMALFORMED with "line N: reason" in why[0..whycap) (why may be
 * NULL), or -ENOMEM. *out is written only on success.
 */
int hp_expo_parse(const char *text, size_t len, struct hp_scrape *out, char *why,
                  size_t whycap);
void hp_scrape_free(struct hp_scrape *s);

/* The family named name, or NULL. */
const struct hp_family *hp_scrape_family(const struct hp_scrape *s, const char *name);
/* The value of the sample's label name, or NULL. */
const char *hp_sample_label(const struct hp_sample *s, const char *name);

#endif

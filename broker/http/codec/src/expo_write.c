/*
 * expo_write.c - the exposition writer (contract in hp_expo.h).
 *
 * The writer is a small state machine over the text it appends:
 *
 *   init ──family()──> open(type) ──sample() / histogram()──> open(type) ──family()──> ...
 *                                                                        └─finish()
 *
 * It keeps the names of the families written so far (one short string each), so a
 * family can never appear twice, and its sample lines can only follow its own header.
 * Every check happens before a byte of the offending line is written, so a caller that
 * ignores an error still never produces a half line (the text is wrong anyway: discard).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hp_expo.h"
#include "hp_int.h"
#include "kc_common.h"

void hp_expo_init(struct hp_expo *e, struct kc_writer *w)
{
    memset(e, 0, sizeof(*e));
    e->w = w;
    kc_writer_init(&e->names, 0);
}

int hp_expo_finish(struct hp_expo *e)
{
    int err = e->err ? e->err : kc_writer_error(e->w);
    kc_writer_fini(&e->names);
    return err;
}

static int fail(struct hp_expo *e, int err)
{
    if (!e->err)
        e->err = err;
    return e->err;
}

static void put(struct kc_writer *w, const char *s)
{
    kc_write_raw(w, s, strlen(s));
}

static const char *family_name(const struct hp_expo *e)
{
    return (const char *)kc_writer_data(&e->names) + e->family;
}

static bool family_seen(const struct hp_expo *e, const char *name)
{
    if (kc_writer_len(&e->names) == 0)
        return false;
    const char *p = (const char *)kc_writer_data(&e->names);
    const char *end = p + kc_writer_len(&e->names);
    for (; p < end; p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* HELP text: backslash and newline escaped; everything else as it is. */
static void put_help(struct kc_writer *w, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(w, "\\\\");
        else if (*s == '\n')
            put(w, "\\n");
        else
            kc_write_u8(w, (uint8_t)*s);
    }
}

int hp_expo_family(struct hp_expo *e, const char *name, enum hp_metric_type type,
                   const char *help)
{
    if (e->err)
        return e->err;
    if (!name || !help || type == HP_SUMMARY || type > HP_SUMMARY)
        return fail(e, -EINVAL);
    if (!hp__metric_name_ok(name, strlen(name)) || (type == HP_COUNTER && !ends_with(name, "_total")))
        return fail(e, KC_EBADNAME);
    if (!hp__utf8_ok((const uint8_t *)help, strlen(help)))
        return fail(e, KC_EMALFORMED);
    if (family_seen(e, name))
        return fail(e, -EEXIST);
    e->family = kc_writer_len(&e->names);
    kc_write_raw(&e->names, name, strlen(name) + 1);
    if (kc_writer_error(&e->names))
        return fail(e, kc_writer_error(&e->names));
    e->open = true;
    e->type = type;
    put(e->w, "# HELP ");
    put(e->w, name);
    put(e->w, " ");
    put_help(e->w, help);
    put(e->w, "\n# TYPE ");
    put(e->w, name);
    put(e->w, " ");
    put(e->w, hp_metric_type_name(type));
    put(e->w, "\n");
    return e->err = kc_writer_error(e->w);
}

/* Names valid and distinct, values UTF-8; "le" is refused in a histogram's own labels. */
static int check_labels(const struct hp_label *labels, size_t n, bool histogram)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = labels[i].name, *value = labels[i].value;
        if (!name || !value)
            return -EINVAL;
        if (!hp__label_name_ok(name, strlen(name)) || (histogram && strcmp(name, "le") == 0))
            return KC_EBADNAME;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, name) == 0)
                return KC_EBADNAME;
        if (!hp__utf8_ok((const uint8_t *)value, strlen(value)))
            return KC_EMALFORMED;
    }
    return 0;
}

static void put_label_value(struct kc_writer *w, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(w, "\\\\");
        else if (*s == '"')
            put(w, "\\\"");
        else if (*s == '\n')
            put(w, "\\n");
        else
            kc_write_u8(w, (uint8_t)*s);
    }
}

/* name suffix {labels[, le="le"]} value\n */
static void put_line(struct hp_expo *e, const char *suffix, const struct hp_label *labels,
                     size_t n, const char *le, const char *value)
{
    put(e->w, family_name(e));
    put(e->w, suffix);
    if (n > 0 || le) {
        kc_write_u8(e->w, '{');
        for (size_t i = 0; i < n; i++) {
            put(e->w, i ? "," : "");
            put(e->w, labels[i].name);
            put(e->w, "=\"");
            put_label_value(e->w, labels[i].value);
            kc_write_u8(e->w, '"');
        }
        if (le) {
            put(e->w, n ? ",le=\"" : "le=\"");
            put(e->w, le);
            kc_write_u8(e->w, '"');
        }
        kc_write_u8(e->w, '}');
    }
    kc_write_u8(e->w, ' ');
    put(e->w, value);
    kc_write_u8(e->w, '\n');
}

static int sample_checks(struct hp_expo *e, const struct hp_label *labels, size_t nlabels)
{
    if (e->err)
        return e->err;
    if (!e->open || (e->type != HP_COUNTER && e->type != HP_GAUGE && e->type != HP_UNTYPED))
        return fail(e, -EINVAL);
    int rc = check_labels(labels, nlabels, false);
    return rc ? fail(e, rc) : 0;
}

int hp_expo_sample(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                   double value)
{
    char num[HP_DOUBLE_BUF];
    int rc = sample_checks(e, labels, nlabels);
    if (rc)
        return rc;
    if (e->type == HP_COUNTER && !(value >= 0)) /* NaN fails too */
        return fail(e, -ERANGE);
    hp_format_double(value, num);
    put_line(e, "", labels, nlabels, NULL, num);
    return e->err = kc_writer_error(e->w);
}

int hp_expo_sample_u64(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                       uint64_t value)
{
    char num[24];
    int rc = sample_checks(e, labels, nlabels);
    if (rc)
        return rc;
    snprintf(num, sizeof(num), "%" PRIu64, value);
    put_line(e, "", labels, nlabels, NULL, num);
    return e->err = kc_writer_error(e->w);
}

static int check_bounds(const double *bounds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            return -EINVAL;
    return 0;
}

/* The checks both histogram calls share: a histogram family, labels, rising bounds. */
static int histogram_checks(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                            const double *bounds, const uint64_t *counts, size_t nbounds)
{
    if (e->err)
        return e->err;
    if (!e->open || e->type != HP_HISTOGRAM || (nbounds && !bounds) || !counts)
        return fail(e, -EINVAL);
    int rc = check_labels(labels, nlabels, true);
    if (rc || (rc = check_bounds(bounds, nbounds)))
        return fail(e, rc);
    return 0;
}

/* One _bucket line: le is bounds[i], or +Inf when i == nbounds. */
static void put_bucket(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                       const double *bounds, size_t i, size_t nbounds, uint64_t cum)
{
    char le[HP_DOUBLE_BUF], num[24];
    snprintf(num, sizeof(num), "%" PRIu64, cum);
    if (i < nbounds)
        hp_format_double(bounds[i], le);
    put_line(e, "_bucket", labels, nlabels, i < nbounds ? le : "+Inf", num);
}

static int put_sum_count(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                         double sum, uint64_t count)
{
    char num[HP_DOUBLE_BUF];
    hp_format_double(sum, num);
    put_line(e, "_sum", labels, nlabels, NULL, num);
    snprintf(num, sizeof(num), "%" PRIu64, count);
    put_line(e, "_count", labels, nlabels, NULL, num);
    return e->err = kc_writer_error(e->w);
}

int hp_expo_histogram(struct hp_expo *e, const struct hp_label *labels, size_t nlabels,
                      const double *bounds, const uint64_t *counts, size_t nbounds, double sum)
{
    uint64_t total = 0;
    int rc = histogram_checks(e, labels, nlabels, bounds, counts, nbounds);
    if (rc)
        return rc;
    for (size_t i = 0; i <= nbounds; i++) {
        total += counts[i];
        put_bucket(e, labels, nlabels, bounds, i, nbounds, total);
    }
    return put_sum_count(e, labels, nlabels, sum, total);
}

int hp_expo_histogram_cumulative(struct hp_expo *e, const struct hp_label *labels,
                                 size_t nlabels, const double *bounds, const uint64_t *cum,
                                 size_t nbounds, double sum, uint64_t count)
{
    uint64_t last = 0;
    int rc = histogram_checks(e, labels, nlabels, bounds, cum, nbounds);
    if (rc)
        return rc;
    for (size_t i = 0; i < nbounds; i++) {
        last = KC_MAX(last, cum[i]); /* a torn read never makes a bucket count less */
        put_bucket(e, labels, nlabels, bounds, i, nbounds, last);
    }
    count = KC_MAX(count, last);
    put_bucket(e, labels, nlabels, bounds, nbounds, nbounds, count);
    return put_sum_count(e, labels, nlabels, sum, count);
}

/*
 * expo_check.c - what the exposition parser can only judge once the whole text is read,
 * and the result made public (contract in hp_expo.h).
 *
 * Three checks need to see many lines at once:
 *  - no family name appears twice: the names, sorted; a pair of equal neighbours is a
 *    repeat;
 *  - no series appears twice: every sample's identity (its name and its labels, sorted by
 *    label name) as one key, the keys sorted, equal neighbours refused;
 *  - a histogram's series are whole: its samples grouped by their labels without "le",
 *    each group read in text order: buckets with rising "le" and counts that never fall,
 *    ending at +Inf, one _sum, one _count equal to the +Inf bucket.
 * Sorting keeps all three at O(n log n), so a hostile text of a million lines costs
 * seconds, not hours.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expo_parse_int.h"
#include "hp_int.h"
#include "kc_common.h"

/* A key to sort by: bytes, and the index of what it identifies. */
struct key {
    const uint8_t *p;
    size_t len;
    size_t idx;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t n = KC_MIN(x->len, y->len);
    int c = n ? memcmp(x->p, y->p, n) : 0; /* an empty key may have a NULL p */
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    if (c == 0)
        c = (x->idx > y->idx) - (x->idx < y->idx);
    return c;
}

static bool key_eq(const struct key *x, const struct key *y)
{
    return x->len == y->len && (x->len == 0 || memcmp(x->p, y->p, x->len) == 0);
}

/* A string as (u32 length, bytes): no two different lists of strings encode the same. */
static void key_put(struct kc_writer *w, const char *s)
{
    size_t n = strlen(s);
    kc_write_u32(w, (uint32_t)n);
    kc_write_raw(w, s, n);
}

/* The identity of sample s: its name (unless series_only) and its labels sorted by name,
 * "le" left out when series_only. */
static void key_of(const struct hp__parser *p, const struct hp__sample_rec *s, bool series_only,
                   struct kc_writer *w)
{
    const struct hp__label_rec *sorted[HP_EXPO_MAX_LABELS];
    size_t n = 0;
    for (size_t i = 0; i < s->nlabels; i++) {
        const struct hp__label_rec *l = &p->labels[s->label0 + i];
        if (series_only && strcmp(hp__str(p, l->name), "le") == 0)
            continue;
        size_t j = n++;
        for (; j > 0 && strcmp(hp__str(p, sorted[j - 1]->name), hp__str(p, l->name)) > 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = l;
    }
    if (!series_only)
        key_put(w, hp__str(p, s->name));
    for (size_t i = 0; i < n; i++) {
        key_put(w, hp__str(p, sorted[i]->name));
        key_put(w, hp__str(p, sorted[i]->value));
    }
}

/*
 * Keys for samples [first, first + n): written to kw, then pointed to by keys[] and
 * sorted. The caller frees *keys and finis kw. 0 or -ENOMEM.
 */
static int sorted_keys(const struct hp__parser *p, size_t first, size_t n, bool series_only,
                       struct kc_writer *kw, struct key **keys)
{
    size_t *ends = calloc(n ? n : 1, sizeof(*ends));
    *keys = calloc(n ? n : 1, sizeof(**keys));
    if (!ends || !*keys) {
        free(ends);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        key_of(p, &p->samples[first + i], series_only, kw);
        ends[i] = kc_writer_len(kw);
    }
    int rc = kc_writer_error(kw);
    const uint8_t *base = kc_writer_len(kw) ? kc_writer_data(kw) : (const uint8_t *)"";
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t start = i ? ends[i - 1] : 0;
        (*keys)[i] = (struct key){base + start, ends[i] - start, first + i};
    }
    free(ends);
    if (rc == 0 && n > 1)
        qsort(*keys, n, sizeof(**keys), key_cmp);
    return rc;
}

static const char *label_value(const struct hp__parser *p, const struct hp__sample_rec *s,
                               const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(hp__str(p, p->labels[s->label0 + i].name), name) == 0)
            return hp__str(p, p->labels[s->label0 + i].value);
    return NULL;
}

/* What one histogram series has shown so far, in text order. */
struct series {
    double le, count; /* the last bucket's */
    size_t buckets, sums, counts;
    double count_value;
    size_t line;
};

static int series_sample(struct hp__parser *p, const char *fam, const struct hp__sample_rec *s,
                         struct series *st)
{
    const char *suffix = hp__str(p, s->name) + strlen(fam);
    const char *le = label_value(p, s, "le");
    double bound;
    if (strcmp(suffix, "_bucket") != 0) {
        if (le)
            return hp__reject(p, s->line, "%s has an 'le' label", hp__str(p, s->name));
        if (strcmp(suffix, "_sum") == 0)
            st->sums++;
        else
            st->counts++, st->count_value = s->value;
        return 0;
    }
    if (!le || hp__parse_double(le, strlen(le), &bound) != 0 || isnan(bound))
        return hp__reject(p, s->line, "bucket without a numeric 'le'");
    if (st->buckets > 0 && !(bound > st->le))
        return hp__reject(p, s->line, "bucket le=\"%s\" not above the one before", le);
    if (st->buckets > 0 && !(s->value >= st->count))
        return hp__reject(p, s->line, "bucket le=\"%s\" counts fewer than the one before", le);
    st->buckets++;
    st->le = bound;
    st->count = s->value;
    return 0;
}

static int series_done(struct hp__parser *p, const struct series *st)
{
    if (st->buckets == 0 || !isinf(st->le))
        return hp__reject(p, st->line, "histogram series without a +Inf bucket");
    if (st->sums != 1 || st->counts != 1)
        return hp__reject(p, st->line, "histogram series needs one _sum and one _count");
    if (st->count_value != st->count)
        return hp__reject(p, st->line, "histogram _count differs from its +Inf bucket");
    return 0;
}

static int check_histogram(struct hp__parser *p, const struct hp__family_rec *f)
{
    struct kc_writer kw;
    struct key *keys = NULL;
    kc_writer_init(&kw, 0);
    int rc = sorted_keys(p, f->sample0, f->nsamples, true, &kw, &keys);
    struct series st = {0};
    for (size_t i = 0; rc == 0 && i < f->nsamples; i++) {
        const struct hp__sample_rec *s = &p->samples[keys[i].idx];
        if (i == 0 || !key_eq(&keys[i], &keys[i - 1]))
            st = (struct series){.line = s->line};
        rc = series_sample(p, hp__str(p, f->name), s, &st);
        if (rc == 0 && (i + 1 == f->nsamples || !key_eq(&keys[i], &keys[i + 1])))
            rc = series_done(p, &st);
    }
    free(keys);
    kc_writer_fini(&kw);
    return rc;
}

static int check_family(struct hp__parser *p, const struct hp__family_rec *f)
{
    for (size_t i = 0; i < f->nsamples; i++) {
        const struct hp__sample_rec *s = &p->samples[f->sample0 + i];
        if (f->type == HP_COUNTER && !(s->value >= 0))
            return hp__reject(p, s->line, "counter %s is negative or NaN", hp__str(p, s->name));
        if (f->type == HP_SUMMARY && strcmp(hp__str(p, s->name), hp__str(p, f->name)) == 0 &&
            !label_value(p, s, "quantile"))
            return hp__reject(p, s->line, "summary sample without a 'quantile'");
    }
    return f->type == HP_HISTOGRAM ? check_histogram(p, f) : 0;
}

static int check_unique_families(struct hp__parser *p)
{
    struct key *keys = calloc(p->nfams ? p->nfams : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    for (size_t i = 0; i < p->nfams; i++) {
        const char *name = hp__str(p, p->fams[i].name);
        keys[i] = (struct key){(const uint8_t *)name, strlen(name), i};
    }
    qsort(keys, p->nfams, sizeof(*keys), key_cmp);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < p->nfams; i++)
        if (key_eq(&keys[i], &keys[i - 1]))
            rc = hp__reject(p, p->fams[keys[i].idx].line, "family %s appears twice",
                            hp__str(p, p->fams[keys[i].idx].name));
    free(keys);
    return rc;
}

static int check_unique_series(struct hp__parser *p)
{
    struct kc_writer kw;
    struct key *keys = NULL;
    kc_writer_init(&kw, 0);
    int rc = sorted_keys(p, 0, p->nsamples, false, &kw, &keys);
    for (size_t i = 1; rc == 0 && i < p->nsamples; i++)
        if (key_eq(&keys[i], &keys[i - 1]))
            rc = hp__reject(p, p->samples[keys[i].idx].line, "series of %s appears twice",
                            hp__str(p, p->samples[keys[i].idx].name));
    free(keys);
    kc_writer_fini(&kw);
    return rc;
}

/* What hp_scrape.mem holds. */
struct scrape_mem {
    char *str;
    struct hp_label *labels;
    struct hp_sample *samples;
    struct hp_family *fams;
};

static void build(struct hp__parser *p, struct scrape_mem *m)
{
    for (size_t i = 0; i < p->nlabels; i++)
        m->labels[i] = (struct hp_label){m->str + p->labels[i].name, m->str + p->labels[i].value};
    for (size_t i = 0; i < p->nsamples; i++) {
        const struct hp__sample_rec *s = &p->samples[i];
        m->samples[i] = (struct hp_sample){m->str + s->name, m->labels + s->label0, s->nlabels,
                                           s->value, s->has_ts, s->ts};
    }
    for (size_t i = 0; i < p->nfams; i++) {
        const struct hp__family_rec *f = &p->fams[i];
        m->fams[i] = (struct hp_family){m->str + f->name, f->type,
                                        f->help == HP__NONE ? NULL : m->str + f->help,
                                        m->samples + f->sample0, f->nsamples};
    }
}

int hp__check_and_build(struct hp__parser *p, struct hp_scrape *out)
{
    int rc = check_unique_families(p);
    for (size_t i = 0; rc == 0 && i < p->nfams; i++)
        rc = check_family(p, &p->fams[i]);
    if (rc == 0)
        rc = check_unique_series(p);
    if (rc)
        return rc;
    struct scrape_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    size_t len;
    kc_write_u8(&p->str, 0); /* so that an empty text still has an arena to take */
    m->str = (char *)kc_writer_take(&p->str, &len);
    m->labels = calloc(p->nlabels ? p->nlabels : 1, sizeof(*m->labels));
    m->samples = calloc(p->nsamples ? p->nsamples : 1, sizeof(*m->samples));
    m->fams = calloc(p->nfams ? p->nfams : 1, sizeof(*m->fams));
    struct hp_scrape s = {.mem = m};
    if (!m->str || !m->labels || !m->samples || !m->fams) {
        hp_scrape_free(&s);
        return -ENOMEM;
    }
    build(p, m);
    s.families = m->fams;
    s.nfamilies = p->nfams;
    *out = s;
    return 0;
}

void hp_scrape_free(struct hp_scrape *s)
{
    struct scrape_mem *m = s->mem;
    if (m) {
        free(m->str);
        free(m->labels);
        free(m->samples);
        free(m->fams);
        free(m);
    }
    s->mem = NULL;
    s->families = NULL;
    s->nfamilies = 0;
}

const struct hp_family *hp_scrape_family(const struct hp_scrape *s, const char *name)
{
    for (size_t i = 0; i < s->nfamilies; i++)
        if (strcmp(s->families[i].name, name) == 0)
            return &s->families[i];
    return NULL;
}

const char *hp_sample_label(const struct hp_sample *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

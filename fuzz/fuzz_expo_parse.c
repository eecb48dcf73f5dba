/*
 * fuzz_expo_parse.c - libFuzzer target: the Prometheus text parser (broker/http/codec),
 * what kafka_cli top runs on whatever answers on a metrics port.
 *
 * Properties checked:
 *  - the result is 0, KC_EMALFORMED or -ENOMEM; an accepted text frees cleanly (LSan);
 *  - an accepted text is sound: families and series unique, counters not negative;
 *  - what it read, written again with the writer (every counter, gauge and untyped
 *    family the writer accepts: a counter must be named *_total there), parses again to
 *    the same samples with the same values, NaN included. Writer and parser agree on
 *    names, escaping and float spelling, byte for byte of meaning.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_expo.h"
#include "kc_common.h"

/* The families the writer can write again: plain ones, a counter only as *_total. */
static bool writable(const struct hp_family *f)
{
    size_t n = strlen(f->name);
    if (f->type == HP_HISTOGRAM || f->type == HP_SUMMARY)
        return false;
    return f->type != HP_COUNTER || (n > 6 && strcmp(f->name + n - 6, "_total") == 0);
}

static bool same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Write the plain families of s again; the number of samples written, or -1. */
static long rewrite(const struct hp_scrape *s, struct kc_writer *w)
{
    struct hp_expo e;
    long n = 0;
    hp_expo_init(&e, w);
    for (size_t i = 0; i < s->nfamilies; i++) {
        const struct hp_family *f = &s->families[i];
        if (!writable(f))
            continue;
        if (hp_expo_family(&e, f->name, f->type, f->help ? f->help : "") != 0)
            break;
        for (size_t j = 0; j < f->nsamples; j++, n++)
            hp_expo_sample(&e, f->samples[j].labels, f->samples[j].nlabels, f->samples[j].value);
    }
    return hp_expo_finish(&e) == 0 ? n : -1;
}

static void compare(const struct hp_scrape *a, const struct hp_scrape *b)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nfamilies; i++) {
        const struct hp_family *f = &a->families[i];
        if (!writable(f))
            continue;
        if (k >= b->nfamilies)
            abort();
        const struct hp_family *g = &b->families[k++];
        if (strcmp(f->name, g->name) || f->type != g->type || f->nsamples != g->nsamples)
            abort();
        for (size_t j = 0; j < f->nsamples; j++) {
            const struct hp_sample *x = &f->samples[j], *y = &g->samples[j];
            if (!same(x->value, y->value) || x->nlabels != y->nlabels)
                abort();
            for (size_t l = 0; l < x->nlabels; l++)
                if (strcmp(x->labels[l].name, y->labels[l].name) ||
                    strcmp(x->labels[l].value, y->labels[l].value))
                    abort();
        }
    }
    if (k != b->nfamilies)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hp_scrape s, again;
    char why[128];
    int rc = hp_expo_parse((const char *)data, size, &s, why, sizeof(why));
    if (rc == KC_EMALFORMED || rc == -ENOMEM)
        return 0;
    if (rc != 0)
        abort();
    struct kc_writer w;
    kc_writer_init(&w, 0);
    if (rewrite(&s, &w) >= 0) {
        if (hp_expo_parse((const char *)kc_writer_data(&w), kc_writer_len(&w), &again, why,
                          sizeof(why)) != 0)
            abort(); /* the writer wrote something its own parser refuses */
        compare(&s, &again);
        hp_scrape_free(&again);
    }
    kc_writer_fini(&w);
    hp_scrape_free(&s);
    return 0;
}

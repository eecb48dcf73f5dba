/*
 * expo_parse_int.h - the exposition parser's working state, shared by expo_parse.c (lines
 * into records) and expo_check.c (the whole-text checks, and the records made public).
 *
 * While parsing, every string lives in one growable arena (str) and records refer to it
 * by offset, because the arena moves as it grows; only when the text is done are the
 * offsets turned into the pointers of struct hp_scrape.
 */
#ifndef EXPO_PARSE_INT_H
#define EXPO_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_expo.h"
#include "kc_buf.h"

#define HP__NONE SIZE_MAX

struct hp__label_rec {
    size_t name, value; /* offsets into str */
};

struct hp__sample_rec {
    size_t name;
    size_t label0, nlabels; /* labels[label0 .. label0 + nlabels) */
    double value;
    bool has_ts;
    int64_t ts;
    size_t line;
};

struct hp__family_rec {
    size_t name;
    enum hp_metric_type type;
    bool typed;             /* a TYPE line was seen */
    size_t help;            /* offset, or HP__NONE */
    size_t sample0, nsamples;
    size_t line;            /* where it began */
};

struct hp__parser {
    struct kc_writer str; /* every string, NUL-terminated */
    struct hp__label_rec *labels;
    size_t nlabels, cap_labels;
    struct hp__sample_rec *samples;
    size_t nsamples, cap_samples;
    struct hp__family_rec *fams;
    size_t nfams, cap_fams;
    size_t line;          /* the line being read, from 1 */
    char *why;
    size_t whycap;
};

static inline const char *hp__str(const struct hp__parser *p, size_t off)
{
    return (const char *)kc_writer_data(&p->str) + off;
}

/* Record "line N: <fmt>" in why; returns KC_EMALFORMED. */
int hp__reject(struct hp__parser *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Grow *arr (of size-byte elements, *cap of them) to hold one more; 0 or -ENOMEM. */
int hp__grow(void **arr, size_t *cap, size_t n, size_t size);

/* The whole-text checks (families unique, series unique, counters and histograms sound),
 * then the public result. 0, KC_EMALFORMED or -ENOMEM. */
int hp__check_and_build(struct hp__parser *p, struct hp_scrape *out);

void hp__parser_fini(struct hp__parser *p);

#endif

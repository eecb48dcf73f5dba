/*
 * expo_parse.c - the exposition parser, line by line (contract in hp_expo.h).
 *
 *   # HELP name text with \\ and \n escapes        a family's help
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   # anything else                                 a comment, ignored
 *   name{label="value",...} value [timestamp_ms]    a sample
 *   (empty or blank line)                           ignored
 *
 * Blanks (SP, HTAB) may separate tokens, as Prometheus' own parser allows. A sample
 * belongs to the family being read when its name is that family's (x for a counter or
 * gauge; x_bucket, x_sum, x_count for a histogram x; x, x_sum, x_count for a summary);
 * any other name starts a new, untyped family. Whether that new family repeats an earlier
 * one is decided when the text is done (expo_check.c), in one sort rather than a search
 * per line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo_parse_int.h"
#include "hp_int.h"
#include "kc_common.h"

int hp__reject(struct hp__parser *p, size_t line, const char *fmt, ...)
{
    va_list ap;
    if (p->why && p->whycap > 0) {
        int n = snprintf(p->why, p->whycap, "line %zu: ", line);
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < p->whycap)
            vsnprintf(p->why + n, p->whycap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return KC_EMALFORMED;
}

int hp__grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *a = reallocarray(*arr, ncap, size);
    if (!a)
        return -ENOMEM;
    *arr = a;
    *cap = ncap;
    return 0;
}

/* A cursor over one line, s[0..n) without its LF. */
struct cur {
    const char *s;
    size_t n, i;
};

static void blanks(struct cur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static bool at_end(struct cur *c)
{
    return c->i == c->n;
}

/* A metric name at the cursor: its length (0 when there is none). */
static size_t metric_name(struct cur *c)
{
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != '\t' && c->s[c->i] != '{')
        c->i++;
    if (!hp__metric_name_ok(c->s + start, c->i - start)) {
        c->i = start;
        return 0;
    }
    return c->i - start;
}

/* Append s[0..n) and a NUL to the arena; the offset, or HP__NONE on -ENOMEM. */
static size_t arena_put(struct hp__parser *p, const char *s, size_t n)
{
    size_t off = kc_writer_len(&p->str);
    kc_write_raw(&p->str, s, n);
    kc_write_u8(&p->str, 0);
    return kc_writer_error(&p->str) ? HP__NONE : off;
}

/*
 * Unescape the rest of a HELP line (quote 0) or a label value up to its closing quote
 * (quote '"') into the arena. HELP knows \\ and \n; label values also \". Returns the
 * offset, or HP__NONE with why set (or -ENOMEM in *err).
 */
static size_t unescape(struct hp__parser *p, struct cur *c, char quote, int *err)
{
    size_t off = kc_writer_len(&p->str);
    for (; c->i < c->n && c->s[c->i] != quote; c->i++) {
        char ch = c->s[c->i];
        if (ch == '\\') {
            char next = ++c->i < c->n ? c->s[c->i] : 0;
            if (next == 'n')
                ch = '\n';
            else if (next == '\\' || (quote && next == '"'))
                ch = next;
            else {
                *err = hp__reject(p, p->line, "invalid escape sequence '\\%c'", next ? next : ' ');
                return HP__NONE;
            }
        }
        kc_write_u8(&p->str, (uint8_t)ch);
    }
    if (quote && at_end(c)) {
        *err = hp__reject(p, p->line, "label value without its closing quote");
        return HP__NONE;
    }
    kc_write_u8(&p->str, 0);
    if ((*err = kc_writer_error(&p->str)))
        return HP__NONE;
    const char *v = hp__str(p, off);
    if (!hp__utf8_ok((const uint8_t *)v, kc_writer_len(&p->str) - off - 1)) {
        *err = hp__reject(p, p->line, "text is not UTF-8");
        return HP__NONE;
    }
    return off;
}

static struct hp__family_rec *current(struct hp__parser *p)
{
    return p->nfams ? &p->fams[p->nfams - 1] : NULL;
}

static struct hp__family_rec *new_family(struct hp__parser *p, const char *name, size_t n,
                                         int *err)
{
    if ((*err = hp__grow((void **)&p->fams, &p->cap_fams, p->nfams, sizeof(*p->fams))))
        return NULL;
    size_t off = arena_put(p, name, n);
    if (off == HP__NONE) {
        *err = -ENOMEM;
        return NULL;
    }
    struct hp__family_rec *f = &p->fams[p->nfams++];
    *f = (struct hp__family_rec){.name = off, .type = HP_UNTYPED, .help = HP__NONE,
                                 .sample0 = p->nsamples, .line = p->line};
    return f;
}

static bool type_of(const char *s, size_t n, enum hp_metric_type *t)
{
    static const enum hp_metric_type all[] = {HP_COUNTER, HP_GAUGE, HP_HISTOGRAM, HP_SUMMARY,
                                              HP_UNTYPED};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *name = hp_metric_type_name(all[i]);
        if (strlen(name) == n && memcmp(name, s, n) == 0) {
            *t = all[i];
            return true;
        }
    }
    return false;
}

/* The family a HELP or TYPE line for name[0..n) applies to: the current one, or a new one. */
static struct hp__family_rec *family_for_meta(struct hp__parser *p, const char *name, size_t n,
                                              int *err)
{
    struct hp__family_rec *f = current(p);
    if (f && strlen(hp__str(p, f->name)) == n && memcmp(hp__str(p, f->name), name, n) == 0) {
        if (f->nsamples == 0)
            return f;
        *err = hp__reject(p, p->line, "HELP or TYPE for %.*s after its samples", (int)n, name);
        return NULL;
    }
    return new_family(p, name, n, err);
}

/* "# HELP name text" / "# TYPE name type" / any other comment. */
static int comment_line(struct hp__parser *p, struct cur *c)
{
    int err = 0;
    c->i++; /* '#' */
    blanks(c);
    size_t kw = c->i;
    while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != '\t')
        c->i++;
    bool help = c->i - kw == 4 && memcmp(c->s + kw, "HELP", 4) == 0;
    bool type = c->i - kw == 4 && memcmp(c->s + kw, "TYPE", 4) == 0;
    if (!help && !type)
        return 0; /* a comment */
    blanks(c);
    size_t name_at = c->i, n = metric_name(c);
    if (n == 0 || (!at_end(c) && c->s[c->i] == '{'))
        return hp__reject(p, p->line, "%s without a valid metric name", help ? "HELP" : "TYPE");
    struct hp__family_rec *f = family_for_meta(p, c->s + name_at, n, &err);
    if (!f)
        return err;
    blanks(c);
    if (help) {
        if (f->help != HP__NONE)
            return hp__reject(p, p->line, "second HELP for %.*s", (int)n, c->s + name_at);
        f->help = unescape(p, c, 0, &err);
        return err;
    }
    size_t t0 = c->i;
    while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != '\t')
        c->i++;
    enum hp_metric_type t;
    if (f->typed)
        return hp__reject(p, p->line, "second TYPE for %.*s", (int)n, c->s + name_at);
    if (!type_of(c->s + t0, c->i - t0, &t))
        return hp__reject(p, p->line, "unknown type '%.*s'", (int)(c->i - t0), c->s + t0);
    blanks(c);
    if (!at_end(c))
        return hp__reject(p, p->line, "text after the type");
    f->type = t;
    f->typed = true;
    return 0;
}

/* A label name at the cursor, checked: valid, and not already in this sample's labels
 * (those from label0 on). 0 with *at and *len set, or KC_EMALFORMED. */
static int label_name(struct hp__parser *p, struct cur *c, size_t label0, size_t *at,
                      size_t *len)
{
    size_t n0 = c->i;
    while (c->i < c->n && (c->s[c->i] == '_' || (c->s[c->i] >= '0' && c->s[c->i] <= '9') ||
                           ((c->s[c->i] | 0x20) >= 'a' && (c->s[c->i] | 0x20) <= 'z')))
        c->i++;
    size_t n = c->i - n0;
    if (!hp__label_name_ok(c->s + n0, n))
        return hp__reject(p, p->line, "invalid label name '%.*s'", (int)KC_MIN(n, 40), c->s + n0);
    if (p->nlabels - label0 == HP_EXPO_MAX_LABELS)
        return hp__reject(p, p->line, "more than %d labels", HP_EXPO_MAX_LABELS);
    for (size_t i = label0; i < p->nlabels; i++) {
        const char *seen = hp__str(p, p->labels[i].name);
        if (strlen(seen) == n && memcmp(seen, c->s + n0, n) == 0)
            return hp__reject(p, p->line, "label %s twice", seen);
    }
    *at = n0;
    *len = n;
    return 0;
}

/* {name="value",...}: labels appended to p->labels. */
static int label_set(struct hp__parser *p, struct cur *c)
{
    int err = 0;
    size_t label0 = p->nlabels, n0 = 0, name_len = 0;
    c->i++; /* '{' */
    for (;;) {
        blanks(c);
        if (!at_end(c) && c->s[c->i] == '}') {
            c->i++;
            return 0;
        }
        if ((err = label_name(p, c, label0, &n0, &name_len)))
            return err;
        blanks(c);
        if (at_end(c) || c->s[c->i] != '=')
            return hp__reject(p, p->line, "label without '='");
        c->i++;
        blanks(c);
        if (at_end(c) || c->s[c->i] != '"')
            return hp__reject(p, p->line, "label value without quotes");
        c->i++;
        if ((err = hp__grow((void **)&p->labels, &p->cap_labels, p->nlabels, sizeof(*p->labels))))
            return err;
        size_t name = arena_put(p, c->s + n0, name_len);
        if (name == HP__NONE)
            return -ENOMEM;
        size_t value = unescape(p, c, '"', &err);
        if (value == HP__NONE)
            return err;
        c->i++; /* the closing quote */
        p->labels[p->nlabels++] = (struct hp__label_rec){name, value};
        blanks(c);
        if (!at_end(c) && c->s[c->i] == ',')
            c->i++;
        else if (at_end(c) || c->s[c->i] != '}')
            return hp__reject(p, p->line, "labels not separated by ','");
    }
}

static bool belongs(const struct hp__parser *p, const struct hp__family_rec *f,
                    const char *name, size_t n)
{
    const char *fam = hp__str(p, f->name);
    size_t k = strlen(fam);
    if (n < k || memcmp(name, fam, k) != 0)
        return false;
    const char *rest = name + k;
    size_t r = n - k;
#define IS(lit) (r == sizeof(lit) - 1 && memcmp(rest, lit, r) == 0)
    switch (f->type) {
    case HP_HISTOGRAM:
        return IS("_bucket") || IS("_sum") || IS("_count");
    case HP_SUMMARY:
        return r == 0 || IS("_sum") || IS("_count");
    default:
        return r == 0;
    }
#undef IS
}

/* A value or timestamp token at the cursor. */
static struct kc_slice token(struct cur *c)
{
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != '\t')
        c->i++;
    return (struct kc_slice){(const uint8_t *)c->s + start, (int32_t)(c->i - start)};
}

static int timestamp(struct hp__parser *p, struct kc_slice t, int64_t *ts)
{
    char buf[24];
    if (t.len == 0 || t.len >= (int32_t)sizeof(buf))
        return hp__reject(p, p->line, "invalid timestamp");
    memcpy(buf, t.p, (size_t)t.len);
    buf[t.len] = '\0';
    if (kc_parse_i64(buf, INT64_MIN, INT64_MAX, ts) != 0)
        return hp__reject(p, p->line, "invalid timestamp '%s'", buf);
    return 0;
}

static int sample_line(struct hp__parser *p, struct cur *c)
{
    int err = 0;
    size_t name_at = c->i, n = metric_name(c);
    if (n == 0)
        return hp__reject(p, p->line, "sample without a valid metric name");
    struct hp__family_rec *f = current(p);
    if (!f || !belongs(p, f, c->s + name_at, n))
        if (!(f = new_family(p, c->s + name_at, n, &err)))
            return err;
    if ((err = hp__grow((void **)&p->samples, &p->cap_samples, p->nsamples, sizeof(*p->samples))))
        return err;
    struct hp__sample_rec s = {.name = arena_put(p, c->s + name_at, n), .label0 = p->nlabels,
                               .line = p->line};
    if (s.name == HP__NONE)
        return -ENOMEM;
    blanks(c);
    if (!at_end(c) && c->s[c->i] == '{' && (err = label_set(p, c)))
        return err;
    s.nlabels = p->nlabels - s.label0;
    blanks(c);
    struct kc_slice v = token(c);
    if (hp__parse_double((const char *)v.p, (size_t)v.len, &s.value) != 0)
        return hp__reject(p, p->line, "invalid value '%.*s'", (int)KC_MIN(v.len, 40), v.p);
    blanks(c);
    if (!at_end(c)) {
        if ((err = timestamp(p, token(c), &s.ts)))
            return err;
        s.has_ts = true;
    }
    blanks(c);
    if (!at_end(c))
        return hp__reject(p, p->line, "text after the timestamp");
    p->samples[p->nsamples++] = s;
    f->nsamples++;
    return 0;
}

void hp__parser_fini(struct hp__parser *p)
{
    kc_writer_fini(&p->str);
    free(p->labels);
    free(p->samples);
    free(p->fams);
}

int hp_expo_parse(const char *text, size_t len, struct hp_scrape *out, char *why,
                  size_t whycap)
{
    struct hp__parser p = {.why = why, .whycap = whycap};
    int rc = 0;
    kc_writer_init(&p.str, 0);
    if (why && whycap)
        why[0] = '\0';
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *lf = memchr(text + pos, '\n', len - pos);
        p.line++;
        if (!lf) {
            rc = hp__reject(&p, p.line, "the text does not end with a newline");
            break;
        }
        struct cur c = {text + pos, (size_t)(lf - (text + pos)), 0};
        blanks(&c);
        if (!at_end(&c))
            rc = c.s[c.i] == '#' ? comment_line(&p, &c) : sample_line(&p, &c);
        pos = (size_t)(lf - text) + 1;
    }
    if (rc == 0)
        rc = hp__check_and_build(&p, out);
    hp__parser_fini(&p);
    return rc;
}

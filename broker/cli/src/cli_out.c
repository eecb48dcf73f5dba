/*
 * cli_out.c - JSON and tables for the admin verbs (contract in cli_out.h).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_out.h"
#include "kc_common.h"

/* ---- JSON -------------------------------------------------------------------------------- */

void cli__json_init(struct cli_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

/* Before any value: the comma that separates it from the one before, unless it is a key's. */
static void json_sep(struct cli_json *j)
{
    if (j->after_key)
        j->after_key = false;
    else if (j->comma[j->depth])
        fputc(',', j->f);
    j->comma[j->depth] = true;
}

void cli__json_open(struct cli_json *j, char bracket)
{
    assert(j->depth < CLI_JSON_DEPTH);
    json_sep(j);
    fputc(bracket, j->f);
    j->comma[++j->depth] = false;
}

void cli__json_close(struct cli_json *j, char bracket)
{
    assert(j->depth > 0);
    fputc(bracket, j->f);
    if (--j->depth == 0)
        fputc('\n', j->f);
}

void cli__json_key(struct cli_json *j, const char *key)
{
    json_sep(j);
    cli__json_escape(j->f, (const uint8_t *)key, strlen(key));
    fputc(':', j->f);
    j->after_key = true;
}

/* Length of the valid UTF-8 sequence at p[0..n), or 0 if it is not one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] >= 0x90))
        return 0;
    return len;
}

void cli__json_escape(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = c < 0x80 ? 1 : utf8_len(p + i, n - i);
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n' || c == '\t' || c == '\r')
            fputs(c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else if (len == 0)
            fputs("\\ufffd", f); /* not UTF-8: JSON cannot carry the byte itself */
        else
            fwrite(p + i, 1, len, f);
        i += len ? len : 1;
    }
    fputc('"', f);
}

void cli__json_str(struct cli_json *j, const char *s)
{
    json_sep(j);
    if (s)
        cli__json_escape(j->f, (const uint8_t *)s, strlen(s));
    else
        fputs("null", j->f);
}

void cli__json_slice(struct cli_json *j, struct kc_slice s)
{
    json_sep(j);
    if (s.len >= 0)
        cli__json_escape(j->f, s.p, (size_t)s.len);
    else
        fputs("null", j->f);
}

void cli__json_int(struct cli_json *j, int64_t v)
{
    json_sep(j);
    fprintf(j->f, "%lld", (long long)v);
}

void cli__json_bool(struct cli_json *j, bool v)
{
    json_sep(j);
    fputs(v ? "true" : "false", j->f);
}

void cli__json_null(struct cli_json *j)
{
    json_sep(j);
    fputs("null", j->f);
}

void cli__json_kstr(struct cli_json *j, const char *key, const char *s)
{
    cli__json_key(j, key);
    cli__json_str(j, s);
}

void cli__json_kslice(struct cli_json *j, const char *key, struct kc_slice s)
{
    cli__json_key(j, key);
    cli__json_slice(j, s);
}

void cli__json_kint(struct cli_json *j, const char *key, int64_t v)
{
    cli__json_key(j, key);
    cli__json_int(j, v);
}

void cli__json_kbool(struct cli_json *j, const char *key, bool v)
{
    cli__json_key(j, key);
    cli__json_bool(j, v);
}

void cli__json_list_begin(struct cli_json *j, const char *key)
{
    cli__json_open(j, '{');
    cli__json_key(j, key);
    cli__json_open(j, '[');
}

void cli__json_list_end(struct cli_json *j)
{
    cli__json_close(j, ']');
    cli__json_close(j, '}');
}

/* ---- tables -------------------------------------------------------------------------------- */

void cli__table_init(struct cli_table *t, int ncols, const char *const *heads)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->heads = heads;
    t->col = ncols; /* the first cell starts a row */
}

/* Where the next cell goes, a new row if the last is full; NULL when out of memory. */
static char **table_next(struct cli_table *t)
{
    if (t->col == t->ncols) {
        if (t->nrows == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*cells));
            if (!cells)
                return NULL;
            t->cells = cells;
            t->cap = cap;
        }
        for (int i = 0; i < t->ncols; i++)
            t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = NULL;
        t->nrows++;
        t->col = 0;
    }
    return &t->cells[(t->nrows - 1) * (size_t)t->ncols + (size_t)t->col++];
}

void cli__table_add(struct cli_table *t, const char *fmt, ...)
{
    va_list ap;
    char **cell = table_next(t);
    if (!cell)
        return;
    va_start(ap, fmt);
    if (vasprintf(cell, fmt, ap) < 0)
        *cell = NULL;
    va_end(ap);
}

void cli__table_slice(struct cli_table *t, struct kc_slice s)
{
    size_t len = 0;
    char **cell = table_next(t);
    FILE *f;
    if (!cell)
        return;
    if (s.len < 0) {
        *cell = strdup("-");
        return;
    }
    if (!(f = open_memstream(cell, &len)))
        return;
    cli_escape(f, s.p, s.len);
    if (fclose(f) != 0) {
        free(*cell);
        *cell = NULL;
    }
}

/* Characters, not bytes: a UTF-8 continuation byte adds no width. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static const char *cell_at(const struct cli_table *t, size_t row, int col)
{
    const char *c = t->cells[row * (size_t)t->ncols + (size_t)col];
    return c ? c : "";
}

static void table_line(const struct cli_table *t, FILE *f, const size_t *width, size_t row)
{
    for (int c = 0; c < t->ncols; c++) {
        const char *s = row == SIZE_MAX ? t->heads[c] : cell_at(t, row, c);
        bool last = c == t->ncols - 1;
        fputs(s, f);
        for (size_t w = text_width(s); !last && w < width[c] + 2; w++)
            fputc(' ', f);
    }
    fputc('\n', f);
}

void cli__table_print(const struct cli_table *t, FILE *f)
{
    size_t width[32] = {0};
    assert(t->ncols <= 32);
    for (int c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++)
            width[c] = KC_MAX(width[c], text_width(cell_at(t, r, c)));
    }
    table_line(t, f, width, SIZE_MAX);
    for (size_t r = 0; r < t->nrows; r++)
        table_line(t, f, width, r);
}

void cli__table_fini(struct cli_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

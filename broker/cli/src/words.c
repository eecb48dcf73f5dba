/*
 * words.c - turning a typed line into words and options, and records back into lines.
 *
 * The original Playground split lines on spaces, so `1 payments "Hello World"` sent the
 * message `"Hello`. Here a small state machine does what a shell does with quotes, and
 * output goes the other way: a record's value is escaped so that one record is always one
 * line, whatever bytes it holds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cli_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One escape inside double quotes, at s (just after the backslash). Returns the bytes of
 * input consumed and stores the character in *c, or 0 for a bad escape. */
static size_t dq_escape(const char *s, char *c)
{
    switch (*s) {
    case 'n': *c = '\n'; return 1;
    case 't': *c = '\t'; return 1;
    case 'r': *c = '\r'; return 1;
    case '\\': *c = '\\'; return 1;
    case '"': *c = '"'; return 1;
    case 'x':
        if (hexval(s[1]) < 0 || hexval(s[2]) < 0)
            return 0;
        *c = (char)(hexval(s[1]) << 4 | hexval(s[2]));
        return 3;
    }
    *c = '\\'; /* an unknown escape keeps its backslash, as a shell does: "C:\dir" */
    return 0;
}

/* The scanner's state: where we read, where the current word is written. */
struct scan {
    const char *s;
    char *w;
    bool in_word;
};

/* A double-quoted part starting after the opening quote; leaves s after the closing one. */
static int scan_dquote(struct scan *sc, char *err, size_t cap)
{
    const char *start = sc->s - 1;
    while (*sc->s && *sc->s != '"') {
        char c = *sc->s++;
        if (c == '\\') {
            if (!*sc->s)
                break;
            size_t used = dq_escape(sc->s, &c);
            if (*sc->s == 'x' && used == 0)
                return cli_fail(err, cap, "bad \\x escape (two hex digits needed) at column %zu",
                                (size_t)(sc->s - start));
            sc->s += used;
        }
        *sc->w++ = c;
    }
    if (*sc->s != '"')
        return cli_fail(err, cap, "unterminated double quote");
    sc->s++;
    return 0;
}

static int scan_squote(struct scan *sc, char *err, size_t cap)
{
    while (*sc->s && *sc->s != '\'')
        *sc->w++ = *sc->s++;
    if (*sc->s != '\'')
        return cli_fail(err, cap, "unterminated single quote");
    sc->s++;
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One character of a word (or the start of a quoted part). */
static int scan_char(struct scan *sc, char *err, size_t cap)
{
    char c = *sc->s++;
    sc->in_word = true;
    if (c == '"')
        return scan_dquote(sc, err, cap);
    if (c == '\'')
        return scan_squote(sc, err, cap);
    if (c == '\\') {
        if (!*sc->s)
            return cli_fail(err, cap, "backslash at the end of the line");
        c = *sc->s++;
    }
    *sc->w++ = c;
    return 0;
}

int cli_tokenize(const char *line, struct cli_args *out, char *err, size_t errcap)
{
    size_t len = strlen(line);
    struct cli_args a = {0};
    struct scan sc = {line, NULL, false};
    int rc = -ENOMEM;
    a.buf = malloc(len + 1);            /* escapes only shrink: words fit in len + NULs */
    a.argv = calloc(len / 2 + 2, sizeof(char *)); /* at most one word per two characters */
    if (!a.buf || !a.argv)
        goto fail;
    sc.w = a.buf;
    while (is_space(*sc.s))
        sc.s++;
    if (*sc.s == '#')
        sc.s += strlen(sc.s);
    while (*sc.s) {
        if (is_space(*sc.s)) {
            sc.s++;
            if (sc.in_word) {
                *sc.w++ = '\0';
                sc.in_word = false;
            }
            continue;
        }
        if (!sc.in_word)
            a.argv[a.argc++] = sc.w;
        rc = scan_char(&sc, err, errcap);
        if (rc)
            goto fail;
    }
    if (sc.in_word)
        *sc.w = '\0';
    a.argv[a.argc] = NULL;
    *out = a;
    return 0;
fail:
    cli_args_free(&a);
    return rc;
}

void cli_args_free(struct cli_args *a)
{
    free(a->argv);
    free(a->buf);
    a->argv = NULL;
    a->buf = NULL;
    a->argc = 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t n)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == n && strncmp(opts->name, name, n) == 0)
            return opts;
    return NULL;
}

/* argv[*i] is "--name[=value]" (or "-h"): apply it, consuming a following value if needed. */
static int apply_opt(int argc, char **argv, int *i, const struct cli_opt *opts, char *err,
                     size_t cap)
{
    const char *arg = strcmp(argv[*i], "-h") == 0 ? "--help" : argv[*i];
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const struct cli_opt *o = find_opt(opts, name, n);
    if (!o)
        return cli_fail(err, cap, "unknown option %s", argv[*i]);
    if (o->flag) {
        if (eq)
            return cli_fail(err, cap, "option --%s takes no value", o->name);
        *o->flag = true;
        return 0;
    }
    if (!eq && *i + 1 >= argc)
        return cli_fail(err, cap, "option --%s needs a value", o->name);
    const char *v = eq ? eq + 1 : argv[++*i];
    if (!o->list) {
        *o->value = v;
        return 0;
    }
    if (o->list->n == CLI_OPTLIST_MAX)
        return cli_fail(err, cap, "option --%s given more than %d times", o->name,
                        CLI_OPTLIST_MAX);
    o->list->v[o->list->n++] = v;
    return 0;
}

int cli_getopt(int argc, char **argv, const struct cli_opt *opts, char **pos, int cap,
               int *npos, char *err, size_t errcap)
{
    int n = 0;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (options && strcmp(a, "--") == 0) {
            options = false;
            continue;
        }
        bool is_opt = options && ((a[0] == '-' && a[1] == '-' && a[2]) || strcmp(a, "-h") == 0);
        if (is_opt) {
            int rc = apply_opt(argc, argv, &i, opts, err, errcap);
            if (rc)
                return rc;
            continue;
        }
        if (n >= cap)
            return cli_fail(err, errcap, "unexpected argument '%s'", a);
        pos[n++] = argv[i];
    }
    *npos = n;
    return 0;
}

int cli_parse_acks(const char *s, int16_t *acks)
{
    if (strcmp(s, "all") == 0 || strcmp(s, "-1") == 0)
        *acks = NP_ACKS_ALL;
    else if (strcmp(s, "1") == 0)
        *acks = NP_ACKS_LEADER;
    else if (strcmp(s, "0") == 0)
        *acks = NP_ACKS_NONE;
    else
        return -EINVAL;
    return 0;
}

void cli_escape(FILE *f, const uint8_t *value, int32_t len)
{
    for (int32_t i = 0; i < len; i++) {
        uint8_t c = value[i];
        switch (c) {
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
    }
}

void cli_print_record(FILE *f, int64_t offset, const uint8_t *value, int32_t len)
{
    fprintf(f, "%lld\t", (long long)offset);
    cli_escape(f, value, len);
    fputc('\n', f);
}

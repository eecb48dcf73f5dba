/*
 * history.c - the history a workload writes: events kept in the order they were given,
 * and the text format (rel_history.h) read line by line.
 *
 * The format is plain words so that any client can write it: a C program with fprintf, a
 * kafkajs script with console.log, a shell loop around kcat. Every field is checked as it
 * is read; a history the checker cannot trust is refused with the line that broke it,
 * never judged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_parse.h"
#include "rel_history.h"

void rel_hist_init(struct rel_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void rel_hist_fini(struct rel_hist *h)
{
    free(h->ev);
    memset(h, 0, sizeof(*h));
}

int rel_hist_add(struct rel_hist *h, const struct rel_hist_event *e)
{
    if (e->key < 0 || e->offset < 0 || e->proc < 0 || (unsigned)e->op > REL_OP_DRAIN ||
        e->err < 0 || e->err > h->nerrs ||
        (e->err && e->op != REL_OP_FAIL && e->op != REL_OP_INFO))
        return -EINVAL;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        struct rel_hist_event *ev = realloc(h->ev, cap * sizeof(*ev));
        if (!ev)
            return -ENOMEM;
        h->ev = ev;
        h->cap = cap;
    }
    h->ev[h->n++] = *e;
    return 0;
}

/* The words of each op, and which fields follow the op's name, in order. */
static const struct {
    const char *name;
    enum rel_hist_op op;
    const char *fields; /* p proc, k key, v value, o offset; e an error's name, optional */
} ops[] = {
    {"send", REL_OP_SEND, "pkv"},  {"ok", REL_OP_OK, "pkvo"},      {"fail", REL_OP_FAIL, "pkve"},
    {"info", REL_OP_INFO, "pkve"}, {"poll", REL_OP_POLL, "pkov"},  {"seek", REL_OP_SEEK, "pko"},
    {"drain", REL_OP_DRAIN, "ko"},
};

/* The next whitespace-separated word of *s, NUL-terminated in w[0..cap); false at the end
 * of the line or for a word too long to be a number. */
static bool next_word(const char **s, char *w, size_t cap)
{
    const char *p = *s + strspn(*s, " \t\r\n");
    size_t n = strcspn(p, " \t\r\n");
    if (n == 0 || n >= cap)
        return false;
    memcpy(w, p, n);
    w[n] = '\0';
    *s = p + n;
    return true;
}

/* An error's name: its index + 1 in h->errs, added if new. 0 for a word that is not a
 * name ([A-Za-z0-9_], under REL_HIST_ERR_LEN), -1 for one name too many. */
static int err_index(struct rel_hist *h, const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n >= REL_HIST_ERR_LEN || w[strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "abcdefghijklmnopqrstuvwxyz0123456789_")])
        return 0;
    for (int i = 0; i < h->nerrs; i++)
        if (!strcmp(h->errs[i], w))
            return i + 1;
    if (h->nerrs == REL_HIST_MAX_ERRS)
        return -1;
    memcpy(h->errs[h->nerrs], w, n + 1);
    return ++h->nerrs;
}

/* One field of kind f into e: every number is a decimal integer >= 0 (processes and keys
 * fit in 31 bits; values and offsets in 63). */
static bool read_field(struct rel_hist_event *e, char f, const char *w)
{
    int64_t i;
    bool small = f == 'p' || f == 'k';
    if (kc_parse_i64(w, 0, small ? INT32_MAX : INT64_MAX, &i))
        return false;
    if (f == 'p')
        e->proc = (int32_t)i;
    else if (f == 'k')
        e->key = (int32_t)i;
    else if (f == 'o')
        e->offset = i;
    else
        e->value = (uint64_t)i;
    return true;
}

/* The fields of one op (its letters) from *s into e; an error's name, optional and last,
 * copied to name[0..cap) (left "" if none). 0, or the 1-based number of the field that is
 * missing or wrong. */
static int read_fields(struct rel_hist_event *e, const char *fields, const char **s,
                       char *name, size_t cap)
{
    char w[64];
    for (const char *f = fields; *f; f++) {
        const char *at = *s + strspn(*s, " \t\r\n");
        bool got = next_word(s, w, sizeof(w));
        if (*f == 'e' && *at == '\0')
            return 0; /* the error's name is optional: none given */
        if (*f == 'e' && got && strlen(w) < cap)
            strcpy(name, w);
        else if (*f == 'e' || !got || !read_field(e, *f, w))
            return (int)(f - fields) + 1;
    }
    return 0;
}

int rel_hist_add_line(struct rel_hist *h, const char *line, char *err, size_t cap)
{
    char w[64];
    const char *s = line;
    struct rel_hist_event e = {.line = ++h->lines};
    s += strspn(s, " \t\r\n");
    if (*s == '\0' || *s == '#')
        return 0; /* blank, or a comment */
    size_t i = 0;
    bool word = next_word(&s, w, sizeof(w));
    while (word && i < KC_ARRAY_SIZE(ops) && strcmp(ops[i].name, w) != 0)
        i++;
    if (!word || i == KC_ARRAY_SIZE(ops)) {
        snprintf(err, cap, "line %lld: unknown event '%s'", (long long)e.line,
                 word ? w : "(a word too long)");
        return -EINVAL;
    }
    e.op = ops[i].op;
    char name[sizeof(w)] = ""; /* the error's name, registered once the line is whole */
    int bad = read_fields(&e, ops[i].fields, &s, name, sizeof(name));
    if (bad) {
        snprintf(err, cap, "line %lld: %s: field %d is %s", (long long)e.line, ops[i].name, bad,
                 ops[i].fields[bad - 1] == 'e' ? "not an error's name ([A-Za-z0-9_], 1-47)"
                                               : "missing or not a valid number");
        return -EINVAL;
    }
    if (next_word(&s, w, sizeof(w)) || s[strspn(s, " \t\r\n")] != '\0') {
        snprintf(err, cap, "line %lld: %s: too many fields", (long long)e.line, ops[i].name);
        return -EINVAL;
    }
    int x = name[0] ? err_index(h, name) : 0;
    if (x < 0 || (name[0] && x == 0)) {
        snprintf(err, cap, "line %lld: %s: %s", (long long)e.line, ops[i].name,
                 x < 0 ? "more than 64 distinct error names"
                       : "the error's name is not a word of [A-Za-z0-9_] (1-47)");
        return -EINVAL;
    }
    e.err = (int16_t)x;
    return rel_hist_add(h, &e);
}

int rel_hist_read(struct rel_hist *h, FILE *f, char *err, size_t cap)
{
    char *line = NULL;
    size_t len = 0;
    int rc = 0;
    errno = 0;
    while (rc == 0 && getline(&line, &len, f) >= 0)
        rc = rel_hist_add_line(h, line, err, cap);
    if (rc == 0 && ferror(f)) {
        rc = errno ? -errno : -EIO;
        snprintf(err, cap, "read: %s", kc_strerror(rc));
    }
    free(line);
    return rc;
}

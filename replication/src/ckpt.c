/*
 * ckpt.c - leader-epoch-checkpoint and replication-offset-checkpoint: text files in
 * Kafka's CheckpointFile format, written atomically, read strictly.
 *
 *   "0\n"                 version: the only one there is
 *   "3\n"                 how many entry lines follow
 *   "0 0\n" "2 3\n" ...   entries, space-separated decimal fields
 *
 * The parser walks the bytes once with a cursor. Each field must be followed by exactly
 * the separator expected (' ' inside a line, '\n' at its end), so a file cut anywhere -
 * mid-number, mid-line, or between lines - is malformed: the last line of a cut file lacks
 * its '\n', or the count promises lines that are not there. A checkpoint that lies is worse
 * than none, because the replica would act on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_ckpt.h"
#include "repl_ctl.h"
#include "repl_params.h"

struct cursor {
    const char *p, *end;
};

/* A decimal in [0, max] (no sign, no leading zero), then exactly `stop`. */
static int field(struct cursor *c, int64_t max, char stop, int64_t *v)
{
    const char *p = c->p;
    if (p == c->end || *p < '0' || *p > '9')
        return KC_EMALFORMED;
    int64_t n = 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < c->end && *p >= '0' && *p <= '9') {
            int d = *p++ - '0';
            if (n > (max - d) / 10)
                return KC_EMALFORMED; /* out of range */
            n = n * 10 + d;
        }
    }
    if (n > max || p == c->end || *p != stop)
        return KC_EMALFORMED;
    c->p = p + 1;
    *v = n;
    return 0;
}

/* "0\n<count>\n", with count no larger than the bytes left could hold (min_line each). */
static int header(struct cursor *c, size_t min_line, size_t *count)
{
    int64_t version, n;
    int rc = field(c, INT32_MAX, '\n', &version);
    if (rc == 0 && version != 0)
        rc = KC_EMALFORMED;
    if (rc == 0)
        rc = field(c, INT32_MAX, '\n', &n);
    if (rc == 0 && (size_t)n > (size_t)(c->end - c->p) / min_line)
        rc = KC_EMALFORMED; /* promises more lines than there are bytes */
    if (rc == 0)
        *count = (size_t)n;
    return rc;
}

static void put_line(struct kc_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One formatted line into the writer. The longest line there is, a 249-byte topic and
 * two 19-digit numbers, is well under the buffer. */
static void put_line(struct kc_writer *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        kc_write_raw(w, line, KC_MIN((size_t)n, sizeof(line) - 1));
}

void repl_ckpt_epochs_encode(struct kc_writer *w, const struct repl_epoch_entry *v, size_t n)
{
    put_line(w, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        put_line(w, "%" PRId32 " %" PRId64 "\n", v[i].epoch, v[i].start_offset);
}

void repl_ckpt_offsets_encode(struct kc_writer *w, const struct repl_offset_entry *v, size_t n)
{
    put_line(w, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        put_line(w, "%s %" PRId32 " %" PRId64 "\n", v[i].topic, v[i].partition, v[i].offset);
}

int repl_ckpt_epochs_decode(const char *p, size_t len, struct repl_epoch_cache *out)
{
    struct cursor c = {p, p + len};
    size_t n;
    int rc = header(&c, 4, &n); /* "0 0\n" */
    if (rc < 0)
        return rc;
    struct repl_epoch_cache tmp;
    repl_epoch_cache_init(&tmp);
    tmp.v = malloc((n ? n : 1) * sizeof(*tmp.v));
    if (!tmp.v)
        return -ENOMEM;
    tmp.cap = n ? n : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t epoch, start;
        rc = field(&c, INT32_MAX, ' ', &epoch);
        if (rc == 0)
            rc = field(&c, INT64_MAX, '\n', &start);
        if (rc == 0)
            tmp.v[tmp.n++] = (struct repl_epoch_entry){(int32_t)epoch, start};
    }
    if (rc == 0 && (c.p != c.end || !repl_epoch_entries_valid(tmp.v, tmp.n)))
        rc = KC_EMALFORMED; /* lines beyond the count, or epochs out of order */
    if (rc < 0) {
        repl_epoch_cache_fini(&tmp);
        return rc;
    }
    repl_epoch_cache_fini(out);
    *out = tmp;
    return 0;
}

/* A topic name, then ' '. */
static int topic_field(struct cursor *c, char *topic, size_t cap)
{
    const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
    size_t n = sp ? (size_t)(sp - c->p) : 0;
    if (!sp || n == 0 || n >= cap)
        return KC_EMALFORMED;
    memcpy(topic, c->p, n);
    topic[n] = '\0';
    if (!repl_topic_name_valid(topic))
        return KC_EMALFORMED;
    c->p = sp + 1;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct repl_offset_entry *x = *(const struct repl_offset_entry *const *)a;
    const struct repl_offset_entry *y = *(const struct repl_offset_entry *const *)b;
    int t = strcmp(x->topic, y->topic);
    return t ? t : (x->partition > y->partition) - (x->partition < y->partition);
}

/* A partition listed twice: which line would be the truth? Malformed. */
static int check_unique(const struct repl_offset_entry *v, size_t n)
{
    if (n < 2)
        return 0;
    const struct repl_offset_entry **idx = malloc(n * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = &v[i];
    qsort(idx, n, sizeof(*idx), cmp_entry);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (cmp_entry(&idx[i - 1], &idx[i]) == 0)
            rc = KC_EMALFORMED;
    free(idx);
    return rc;
}

int repl_ckpt_offsets_decode(const char *p, size_t len, struct repl_offset_entry **v, size_t *n)
{
    struct cursor c = {p, p + len};
    size_t count;
    int rc = header(&c, 6, &count); /* "t 0 0\n" */
    if (rc < 0)
        return rc;
    struct repl_offset_entry *e = malloc((count ? count : 1) * sizeof(*e));
    if (!e)
        return -ENOMEM;
    for (size_t i = 0; i < count && rc == 0; i++) {
        int64_t part = 0, off = 0;
        rc = topic_field(&c, e[i].topic, sizeof(e[i].topic));
        if (rc == 0)
            rc = field(&c, INT32_MAX, ' ', &part);
        if (rc == 0)
            rc = field(&c, INT64_MAX, '\n', &off);
        e[i].partition = (int32_t)part;
        e[i].offset = off;
    }
    if (rc == 0 && c.p != c.end)
        rc = KC_EMALFORMED;
    if (rc == 0)
        rc = check_unique(e, count);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *v = e;
    *n = count;
    return 0;
}

/* The encoded bytes (or the writer's error), replacing the file atomically. */
static int write_file(const char *path, struct kc_writer *w)
{
    int rc = kc_writer_error(w);
    if (rc == 0)
        rc = kc_atomic_replace(path, kc_writer_data(w), kc_writer_len(w));
    kc_writer_fini(w);
    return rc;
}

int repl_ckpt_epochs_write(const char *dir, const struct repl_epoch_cache *c)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, REPL_EPOCH_CHECKPOINT);
    if (rc < 0)
        return rc;
    struct kc_writer w;
    kc_writer_init(&w, REPL_CKPT_MAX_BYTES);
    repl_ckpt_epochs_encode(&w, c->v, c->n);
    return write_file(path, &w);
}

int repl_ckpt_offsets_write(const char *path, const struct repl_offset_entry *v, size_t n)
{
    struct kc_writer w;
    kc_writer_init(&w, REPL_CKPT_MAX_BYTES);
    repl_ckpt_offsets_encode(&w, v, n);
    return write_file(path, &w);
}

int repl_ckpt_epochs_read(const char *dir, struct repl_epoch_cache *out)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, REPL_EPOCH_CHECKPOINT);
    if (rc < 0)
        return rc;
    char *buf;
    size_t len;
    rc = kc_read_file(path, REPL_CKPT_MAX_BYTES, &buf, &len);
    if (rc < 0)
        return rc;
    rc = repl_ckpt_epochs_decode(buf, len, out);
    free(buf);
    return rc;
}

int repl_ckpt_offsets_read(const char *path, struct repl_offset_entry **v, size_t *n)
{
    char *buf;
    size_t len;
    int rc = kc_read_file(path, REPL_CKPT_MAX_BYTES, &buf, &len);
    if (rc < 0)
        return rc;
    rc = repl_ckpt_offsets_decode(buf, len, v, n);
    free(buf);
    return rc;
}

/*
 * epoch_cache.c - the leader-epoch cache: a short sorted array of (epoch, start offset).
 *
 *     v[0]      v[1]      v[2]             strictly increasing epochs,
 *   (0, 0)    (2, 3)    (3, 5)             non-decreasing start offsets
 *
 * A partition sees one entry per leader election that wrote (or could have written) to
 * it: dozens over its life, rarely more. An array with binary search is all it needs;
 * Kafka uses a TreeMap for the same lookups (floor and higher entry by epoch).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "repl_epoch.h"

void repl_epoch_cache_init(struct repl_epoch_cache *c)
{
    c->v = NULL;
    c->n = 0;
    c->cap = 0;
}

void repl_epoch_cache_fini(struct repl_epoch_cache *c)
{
    free(c->v);
    repl_epoch_cache_init(c);
}

void repl_epoch_cache_clear(struct repl_epoch_cache *c)
{
    c->n = 0;
}

int32_t repl_epoch_cache_latest(const struct repl_epoch_cache *c)
{
    return c->n ? c->v[c->n - 1].epoch : REPL_UNDEFINED_EPOCH;
}

static int reserve(struct repl_epoch_cache *c, size_t want)
{
    if (want <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 8;
    while (cap < want)
        cap *= 2;
    struct repl_epoch_entry *v = realloc(c->v, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    c->v = v;
    c->cap = cap;
    return 0;
}

int repl_epoch_cache_assign(struct repl_epoch_cache *c, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return -EINVAL;
    if (c->n) {
        const struct repl_epoch_entry *last = &c->v[c->n - 1];
        if (last->epoch == epoch && last->start_offset <= start_offset)
            return 0; /* already known: later batches of the same epoch */
    }
    int rc = reserve(c, c->n + 1);
    if (rc < 0)
        return rc;
    /* Keep the order: whatever claims a later-or-equal epoch, or starts at or after this
     * offset, belongs to a history this entry replaces. */
    while (c->n && (c->v[c->n - 1].epoch >= epoch || c->v[c->n - 1].start_offset >= start_offset))
        c->n--;
    c->v[c->n++] = (struct repl_epoch_entry){epoch, start_offset};
    return 1;
}

int repl_epoch_cache_truncate_end(struct repl_epoch_cache *c, int64_t end_offset)
{
    if (end_offset < 0)
        return -EINVAL;
    size_t n = c->n;
    while (c->n && c->v[c->n - 1].start_offset >= end_offset)
        c->n--;
    return c->n != n;
}

int repl_epoch_cache_truncate_start(struct repl_epoch_cache *c, int64_t start_offset)
{
    if (start_offset < 0)
        return -EINVAL;
    size_t drop = 0;
    while (drop < c->n && c->v[drop].start_offset <= start_offset)
        drop++;
    if (drop == 0)
        return 0;
    /* The last dropped epoch still owns the records from the new start on. */
    struct repl_epoch_entry keep = {c->v[drop - 1].epoch, start_offset};
    bool same = drop == 1 && c->v[0].start_offset == start_offset;
    memmove(c->v + 1, c->v + drop, (c->n - drop) * sizeof(*c->v));
    c->n -= drop - 1;
    c->v[0] = keep;
    return !same;
}

/* Index of the first entry whose epoch is greater than `epoch` (c->n if none). */
static size_t upper_bound(const struct repl_epoch_cache *c, int32_t epoch)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].epoch <= epoch)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct repl_epoch_end repl_epoch_cache_end_offset(const struct repl_epoch_cache *c, int32_t epoch,
                                                  int64_t leo)
{
    const struct repl_epoch_end undefined = {REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET};
    if (epoch == REPL_UNDEFINED_EPOCH || c->n == 0)
        return undefined;
    if (c->v[c->n - 1].epoch == epoch)
        return (struct repl_epoch_end){epoch, leo}; /* still being written: ends at the LEO */
    size_t higher = upper_bound(c, epoch);
    if (higher == c->n)
        return undefined; /* newer than anything we know */
    if (higher == 0)      /* older than anything we know: it ended where our history starts */
        return (struct repl_epoch_end){epoch, c->v[0].start_offset};
    return (struct repl_epoch_end){c->v[higher - 1].epoch, c->v[higher].start_offset};
}

int repl_epoch_cache_copy(struct repl_epoch_cache *dst, const struct repl_epoch_cache *src)
{
    int rc = reserve(dst, src->n);
    if (rc < 0)
        return rc;
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof(*src->v));
    dst->n = src->n;
    return 0;
}

bool repl_epoch_entries_valid(const struct repl_epoch_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].epoch < 0 || v[i].start_offset < 0)
            return false;
        if (i && (v[i].epoch <= v[i - 1].epoch || v[i].start_offset < v[i - 1].start_offset))
            return false;
    }
    return true;
}

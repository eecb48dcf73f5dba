/*
 * chaos_resent.h - which duplicates a producer resent under a new epoch (issue 13).
 *
 * An idempotent producer's retry carries its batch's producer id, epoch and sequences, and
 * the broker answers a retry it has already written with the first write's offset. But
 * when records time out (librdkafka's message.timeout.ms: 4 s in the chaos tests, shorter
 * than a broker's restart or a ZooKeeper outage), librdkafka drains, bumps its epoch
 * (KIP-360) and sends what is still queued from sequence 0 - records of a request that
 * timed out in flight among them, which the broker may have written. A new epoch starts a
 * new sequence, in Kafka as here, so no broker can know them: they are written twice. Such
 * a pair is the client's; a pair under one producer id AND epoch is the broker's (a retry
 * it did not recognise), and stays an anomaly.
 *
 *   offset 3728  producer 1001 epoch  3  value V   the request timed out at the client
 *   offset 3826  producer 1001 epoch 13  value V   the same record after the bump
 *
 * The batch headers come from the brokers' own segment files, read with the brokers
 * stopped: <dir>/broker-<id>/data/<topic>-<k>/<base offset>.log in a cluster, or
 * <dir>/data/... for a lone broker (nbrokers 0). A header of static functions, like
 * chaos_clients.h; not thread-safe.
 */
#ifndef CHAOS_RESENT_H
#define CHAOS_RESENT_H

#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kc_batch.h"
#include "kc_fs.h"

#define CR_FN static __attribute__((unused))

/* One value a reader found at one offset of one partition. */
struct resent_copy {
    uint64_t value;
    int key;
    int64_t offset;
};

struct resent_span { /* one batch: its offsets and its producer */
    int64_t base, last, pid;
    int16_t epoch;
};

struct resent_spans {
    struct resent_span *s;
    size_t n, cap;
};

CR_FN int resent_push(struct resent_spans *sp, const struct kc_batch_header *h)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? 2 * sp->cap : 1024;
        struct resent_span *s = realloc(sp->s, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        sp->s = s;
        sp->cap = cap;
    }
    sp->s[sp->n++] = (struct resent_span){h->base_offset, h->base_offset + h->last_offset_delta,
                                          h->producer_id, h->producer_epoch};
    return 0;
}

/* Every batch header of one partition's segments (broker id's; 0: the lone broker's), in
 * offset order (the segments' names are their zero-padded base offsets: glob sorts them).
 * A torn or zero tail ends a file. 0 (also for no such directory) or -ENOMEM. */
CR_FN int resent_load(const char *dir, int id, const char *topic, int k,
                      struct resent_spans *sp)
{
    char pattern[700];
    glob_t g;
    int rc = 0;
    if (id > 0)
        snprintf(pattern, sizeof(pattern), "%s/broker-%d/data/%s-%d/*.log", dir, id, topic, k);
    else
        snprintf(pattern, sizeof(pattern), "%s/data/%s-%d/*.log", dir, topic, k);
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        char *data;
        size_t len, pos = 0, size;
        struct kc_batch_header h;
        if (kc_read_file(g.gl_pathv[i], (size_t)1 << 31, &data, &len) != 0)
            continue;
        while (rc == 0 && kc_batch_size((const uint8_t *)data + pos, len - pos, &size) == 0 &&
               size <= len - pos &&
               kc_batch_header_decode_stored((const uint8_t *)data + pos, size, &h) == 0) {
            rc = resent_push(sp, &h);
            pos += size;
        }
        free(data);
    }
    globfree(&g);
    return rc;
}

/* The batch holding offset o, or NULL. */
CR_FN const struct resent_span *resent_at(const struct resent_spans *sp, int64_t o)
{
    size_t lo = 0, hi = sp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp->s[mid].last < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sp->n && sp->s[lo].base <= o ? &sp->s[lo] : NULL;
}

CR_FN int resent_cmp(const void *a, const void *b)
{
    const struct resent_copy *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    if (x->key != y->key)
        return x->key - y->key;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Is the pair c[0], c[1] one producer id under two epochs, by the first broker (1, 2, ...)
 * whose segments hold both offsets? sp is [nbrokers][nparts]. */
CR_FN bool resent_pair(const struct resent_spans *sp, int nbrokers, int nparts,
                       const struct resent_copy *c)
{
    for (int b = 0; b < nbrokers; b++) {
        const struct resent_span *x = resent_at(&sp[b * nparts + c[0].key], c[0].offset);
        const struct resent_span *y = resent_at(&sp[b * nparts + c[1].key], c[1].offset);
        if (x && y)
            return x->pid >= 0 && x->pid == y->pid && x->epoch != y->epoch;
    }
    return false;
}

/*
 * Of the values in c[0..n) (sorted here) found at two offsets, how many are one producer
 * id's under two epochs: the first pair of each value, as rel_history's checker pairs
 * them. Brokers 1..nbrokers, or (0) the lone broker of <dir>/data. Keys must lie in
 * [0, nparts). >= 0, or -ENOMEM.
 */
CR_FN int64_t chaos_resent(const char *dir, int nbrokers, const char *topic, int nparts,
                           struct resent_copy *c, size_t n)
{
    int nb = nbrokers > 0 ? nbrokers : 1;
    struct resent_spans *sp = calloc((size_t)(nb * nparts), sizeof(*sp));
    int64_t resent = sp ? 0 : -ENOMEM;
    for (int b = 0; b < nb && resent == 0; b++)
        for (int k = 0; k < nparts && resent == 0; k++)
            resent = resent_load(dir, nbrokers > 0 ? b + 1 : 0, topic, k, &sp[b * nparts + k]);
    if (resent == 0) {
        qsort(c, n, sizeof(*c), resent_cmp);
        for (size_t i = 0; i + 1 < n; i++)
            if (c[i].value == c[i + 1].value && (i == 0 || c[i - 1].value != c[i].value))
                resent += resent_pair(sp, nb, nparts, &c[i]);
    }
    for (int i = 0; sp && i < nb * nparts; i++)
        free(sp[i].s);
    free(sp);
    return resent;
}

#endif

/*
 * fsess_table.c - one fetch session's partitions: the table a session is (fsess.h).
 *
 * A session is a list of partitions in fetch order, with two small hash indexes beside
 * it, so that an incremental Fetch naming 3 of 10,000 partitions costs 3 lookups:
 *
 *   topics   [0 "orders" refs 6000] [1 "audit" refs 4000]      each key copied once
 *   tidx     open addressing: hash(key bytes) -> topic + 1     (0: empty)
 *   parts    [0: t0 p0 @fetch 17 hwm 17 ...] [1: t0 p1 ...] ... [9999: t1 p3999]
 *   pidx     open addressing: hash(topic, partition) -> part + 1
 *
 * Both indexes are twice their table's capacity or more (load <= 1/2, linear probing)
 * and never delete: forgetting partitions marks them, then one compaction drops them
 * (and the topics no partition uses any more) and rebuilds the indexes, O(n). Moving the
 * partitions that returned records to the end (brk__fsess_settle) is a stable partition
 * of the list, O(n), and rebuilds pidx the same way: a Fetch reads all n partitions
 * anyway, so no step here costs more than the read it belongs to.
 *
 * Everything here runs under the session's lease, or under the cache's lock for a
 * session being built or updated (fsess.c says which): never both at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsess_int.h"

#define FORGOTTEN (-1) /* a part's topic while it waits for the compaction */

/* FNV-1a over a key's bytes. */
static uint32_t hash_bytes(const uint8_t *p, int32_t len)
{
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* (topic, partition) mixed into 32 bits (Murmur3's finalizer). */
static uint32_t hash_part(int32_t topic, int32_t partition)
{
    uint32_t h = (uint32_t)topic * 0x9e3779b1u ^ (uint32_t)partition;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

/* The smallest power of two that is at least 2n (and 8). */
static uint32_t index_size(int32_t n)
{
    uint32_t sz = 8;
    while (sz < 2u * (uint32_t)n)
        sz <<= 1;
    return sz;
}

static int32_t topic_find(const struct brk_fsess *s, const uint8_t *key, int32_t len)
{
    if (!s->tidx)
        return -1;
    for (uint32_t i = hash_bytes(key, len) & s->tmask;; i = (i + 1) & s->tmask) {
        uint32_t t = s->tidx[i];
        if (t == 0)
            return -1;
        const struct fs_topic *tp = &s->topics[t - 1];
        if (tp->len == len && memcmp(tp->key, key, (size_t)len) == 0)
            return (int32_t)t - 1;
    }
}

static void topic_index(struct brk_fsess *s, int32_t t)
{
    uint32_t i = hash_bytes(s->topics[t].key, s->topics[t].len) & s->tmask;
    while (s->tidx[i])
        i = (i + 1) & s->tmask;
    s->tidx[i] = (uint32_t)t + 1;
}

static int32_t part_find(const struct brk_fsess *s, int32_t topic, int32_t partition)
{
    if (!s->pidx)
        return -1;
    for (uint32_t i = hash_part(topic, partition) & s->pmask;; i = (i + 1) & s->pmask) {
        uint32_t k = s->pidx[i];
        if (k == 0)
            return -1;
        const struct brk_fsess_part *p = &s->parts[k - 1];
        if (p->topic == topic && p->partition == partition)
            return (int32_t)k - 1;
    }
}

static void part_index(struct brk_fsess *s, int32_t k)
{
    uint32_t i = hash_part(s->parts[k].topic, s->parts[k].partition) & s->pmask;
    while (s->pidx[i])
        i = (i + 1) & s->pmask;
    s->pidx[i] = (uint32_t)k + 1;
}

/* pidx again, for parts[0..n) as they are now. */
static void parts_reindex(struct brk_fsess *s)
{
    memset(s->pidx, 0, (size_t)(s->pmask + 1) * sizeof(*s->pidx));
    for (int32_t k = 0; k < s->n; k++)
        part_index(s, k);
}

/* Room for more partitions and topics (capacity and indexes), allocated before anything
 * changes: 0, or -ENOMEM with s as it was. */
int fsess__reserve(struct brk_fsess *s, int32_t more_parts, int32_t more_topics)
{
    if (s->n + more_parts > s->cap) {
        int32_t cap = KC_MAX(s->n + more_parts, s->cap * 2);
        uint32_t sz = index_size(cap);
        struct brk_fsess_part *p = reallocarray(s->parts, (size_t)cap, sizeof(*p));
        uint32_t *idx = calloc(sz, sizeof(*idx));
        if (!idx || !p) {
            free(idx);
            if (p)
                s->parts = p;
            return -ENOMEM;
        }
        s->parts = p;
        s->cap = cap;
        free(s->pidx);
        s->pidx = idx;
        s->pmask = sz - 1;
        parts_reindex(s);
    }
    if (s->ntopics + more_topics > s->tcap) {
        int32_t cap = KC_MAX(s->ntopics + more_topics, s->tcap * 2);
        uint32_t sz = index_size(cap);
        struct fs_topic *t = reallocarray(s->topics, (size_t)cap, sizeof(*t));
        uint32_t *idx = calloc(sz, sizeof(*idx));
        if (!idx || !t) {
            free(idx);
            if (t)
                s->topics = t;
            return -ENOMEM;
        }
        s->topics = t;
        s->tcap = cap;
        free(s->tidx);
        s->tidx = idx;
        s->tmask = sz - 1;
        for (int32_t i = 0; i < s->ntopics; i++)
            topic_index(s, i);
    }
    return 0;
}

/* How many of e[0..n) are not in s yet, and how many new topics they bring (an upper
 * bound: a new topic named by several of them counts once per partition). */
void fsess__count_new(const struct brk_fsess *s, const struct brk_fsess_entry *e, int32_t n,
                      int32_t *parts, int32_t *topics)
{
    *parts = *topics = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = topic_find(s, e[i].key.topic, e[i].key.len);
        if (t < 0)
            ++*topics;
        if (t < 0 || part_find(s, t, e[i].key.partition) < 0)
            ++*parts;
    }
}

/* Every request field of e into p: a partition named again replaces them all (Kafka's
 * CachedPartition.updateRequestParams), or a field the client changed would be read with
 * its old value whenever the client leaves the partition out. */
static void take_request(struct brk_fsess_part *p, const struct brk_fsess_entry *e)
{
    p->fetch_offset = e->fetch_offset;
    p->max_bytes = e->max_bytes;
    p->current_leader_epoch = e->current_leader_epoch;
    p->last_fetched_epoch = e->last_fetched_epoch;
    p->log_start_offset = e->log_start_offset;
    p->quiet = false; /* named: its position moved, read it again */
}

/* Add e (at the end) or update its request fields. Room was reserved. The topic's key is
 * copied; -ENOMEM if that copy fails (nothing added). */
int fsess__put(struct brk_fsess *s, const struct brk_fsess_entry *e, int64_t hwm,
               int64_t log_start)
{
    int32_t t = topic_find(s, e->key.topic, e->key.len), k;
    if (t >= 0 && (k = part_find(s, t, e->key.partition)) >= 0) {
        take_request(&s->parts[k], e); /* what was answered (hwm, log_start) stays */
        return 0;
    }
    if (t < 0) {
        uint8_t *key = malloc(e->key.len > 0 ? (size_t)e->key.len : 1);
        if (!key)
            return -ENOMEM;
        memcpy(key, e->key.topic, (size_t)e->key.len);
        t = s->ntopics++;
        s->topics[t] = (struct fs_topic){key, e->key.len, 0};
        topic_index(s, t);
    }
    k = s->n++;
    s->parts[k] = (struct brk_fsess_part){.topic = t, .partition = e->key.partition,
                                          .hwm = hwm, .log_start = log_start};
    take_request(&s->parts[k], e);
    s->topics[t].refs++;
    part_index(s, k);
    return 0;
}

/* Drop parts marked FORGOTTEN and topics nothing uses; rebuild both indexes. */
static void compact(struct brk_fsess *s)
{
    int32_t *remap = malloc((size_t)KC_MAX(s->ntopics, 1) * sizeof(*remap));
    int32_t nt = 0, np = 0;
    for (int32_t t = 0; t < s->ntopics; t++) {
        if (s->topics[t].refs > 0 || !remap) {
            if (remap)
                remap[t] = nt;
            s->topics[nt++] = s->topics[t];
        } else {
            free(s->topics[t].key);
        }
    }
    for (int32_t k = 0; k < s->n; k++)
        if (s->parts[k].topic != FORGOTTEN) {
            s->parts[np] = s->parts[k];
            s->parts[np++].topic = remap ? remap[s->parts[k].topic] : s->parts[k].topic;
        }
    free(remap); /* out of memory: unused topics stay (harmless), partitions still go */
    s->ntopics = nt;
    s->n = np;
    memset(s->tidx, 0, (size_t)(s->tmask + 1) * sizeof(*s->tidx));
    for (int32_t t = 0; t < s->ntopics; t++)
        topic_index(s, t);
    parts_reindex(s);
}

int32_t fsess__forget(struct brk_fsess *s, const struct brk_fsess_key *keys, int32_t n)
{
    int32_t gone = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = topic_find(s, keys[i].topic, keys[i].len);
        int32_t k = t < 0 ? -1 : part_find(s, t, keys[i].partition);
        if (k < 0 || s->parts[k].topic == FORGOTTEN)
            continue;
        s->topics[t].refs--;
        s->parts[k].topic = FORGOTTEN; /* part_find no longer matches it */
        gone++;
    }
    if (gone > 0)
        compact(s);
    return gone;
}

void fsess__free(struct brk_fsess *s)
{
    if (!s)
        return;
    for (int32_t t = 0; t < s->ntopics; t++)
        free(s->topics[t].key);
    free(s->topics);
    free(s->tidx);
    free(s->parts);
    free(s->pidx);
    free(s);
}

/* ---- the lease holder's side ---------------------------------------------------------- */

const struct brk_fsess_part *brk__fsess_parts(const struct brk_fsess *s, int32_t *n)
{
    *n = s->n;
    return s->parts;
}

void brk__fsess_set_quiet(struct brk_fsess *s, int32_t k, bool quiet, uint64_t changes,
                          int64_t now_ms)
{
    s->parts[k].quiet = quiet;
    s->parts[k].quiet_changes = changes;
    s->parts[k].quiet_ms = now_ms;
}

const uint8_t *brk__fsess_topic(const struct brk_fsess *s, int32_t topic, int32_t *len)
{
    *len = s->topics[topic].len;
    return s->topics[topic].key;
}

int32_t brk__fsess_id(const struct brk_fsess *s)
{
    return s->id;
}

/* Kafka's CachedPartition.maybeUpdateResponseData: must the answer carry p? Remembers
 * what it answers. */
static bool must_answer(struct brk_fsess_part *p, const struct brk_fsess_result *r)
{
    bool must = r->records > 0; /* new data: always */
    if (p->hwm != r->hwm) {
        p->hwm = r->hwm;
        must = true;
    }
    if (p->log_start != r->log_start) {
        p->log_start = r->log_start;
        must = true;
    }
    if (r->error != 0) {
        p->hwm = -1; /* answered again once the error is gone */
        must = true;
    }
    if (r->diverged)
        must = true; /* no records, error 0, offsets as before: yet the follower must
                      * hear where to truncate, or it fetches past the fork forever */
    return must;
}

void brk__fsess_settle(struct brk_fsess *s, const struct brk_fsess_result *r, bool *include)
{
    int32_t moved = 0;
    for (int32_t k = 0; k < s->n; k++) {
        include[k] = must_answer(&s->parts[k], &r[k]);
        moved += r[k].records > 0;
    }
    if (moved == 0 || moved == s->n)
        return;
    int32_t tail = s->n;
    while (tail > 0 && r[tail - 1].records > 0)
        tail--;
    if (tail == s->n - moved)
        return; /* they are last already (one busy partition among idle ones, each round):
                 * no copy and reindex of the whole session */
    /* Those that returned records go last, in their order: the others go first next
     * time, within the request's max_bytes (Kafka's PartitionIterator). */
    struct brk_fsess_part *tmp = malloc((size_t)s->n * sizeof(*tmp));
    if (!tmp)
        return; /* fairness only: the order stays as it was */
    int32_t front = 0, back = s->n - moved;
    for (int32_t k = 0; k < s->n; k++)
        tmp[r[k].records > 0 ? back++ : front++] = s->parts[k];
    memcpy(s->parts, tmp, (size_t)s->n * sizeof(*tmp));
    free(tmp);
    parts_reindex(s);
}

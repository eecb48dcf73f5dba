/*
 * offsets.c - consumer-group offsets, kept the way Kafka keeps them: as records in the
 * internal topic __consumer_offsets, replayed into a table in memory at start.
 *
 * A commit is one record per partition, in Kafka's own format (brk_offsets_record.h draws
 * it: key group/topic/partition, value offset/metadata/commit time; a null value, a
 * tombstone, deletes the key). Key version 2 is a group's metadata record, written for a
 * door's coordinator (brk_group_write); the replay keeps the latest of each group until
 * the door takes them (brk_group_records_take), and keeps none afterwards.
 *
 * A group's records all go to one partition, Kafka's way: abs(javaHashCode(group)) %
 * partitions. A commit appends one batch holding all its records; once alog_wait_durable
 * says the batch is on disk, the records enter the table and the commit is acknowledged.
 * So a fetch only ever returns a commit that survives a crash, and a commit that failed
 * (its fsync got EIO, and alog_recover may cut its records) never shows: Kafka's
 * coordinator keeps such commits "pending" outside its cache in the same way.
 *
 * Commits of the same key can become durable out of order (one fsync releases several, in
 * no promised order), so every entry remembers the log offset of the record that set it
 * and only a later record replaces it: the table always matches a replay of the log.
 * Deletions (tombstones: DeleteGroups, OffsetDelete) also apply once durable. A deleted
 * key whose older commit is still waiting for its fsync is left as a *marker* (an entry
 * flagged deleted, with the tombstone's log offset), so that commit, settling later,
 * cannot bring the key back; markers are swept as soon as no commit is pending.
 *
 *   log:    ... [commit k @40] [tombstone k @41] ...    both released by one fsync, the
 *   settle:     tombstone first -> marker k @41          commit last: 40 < 41, dropped
 *               commit k @40    -> refused by the marker
 *
 * In a cluster the partition is replicated like any other (broker/replica): the append goes
 * through the replica (stamped with the leader epoch, acks=all), and "durable" means the
 * high watermark passed the batch - on the disks of every in-sync replica - so the next
 * coordinator, loading the partition it now leads, finds every acknowledged commit. A
 * refusal or a failed wait is mapped as Kafka's GroupMetadataManager maps it (repl_err).
 *
 * The topic is compacted, as Kafka's is (cleanup.policy=compact, segments of
 * offsets.topic.segment.bytes): appendLog's cleaner keeps the latest record of every key
 * (a group's offset for one partition, a group's metadata) and tombstones for
 * delete.retention.ms, so a replay of the cleaned log builds the same table and the start
 * replays what is live, not every commit ever made. Retention never deletes from it.
 * Differs from Kafka: no group generations here (the Kafka handler checks membership
 * before it calls brk_offsets_commit).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

#include "brk_int.h"
#include "brk_offsets_record.h"

struct os_entry {
    RB_ENTRY(os_entry) node;
    struct kc_slice group;   /* point into buf (or, for a lookup key, anywhere) */
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
    int64_t commit_ts;
    int64_t log_offset;      /* of the __consumer_offsets record that set it */
    bool deleted;            /* a marker: deleted at log_offset (see above) */
    struct kc_slice meta;    /* len -1 = null */
    char buf[];              /* group, topic, metadata */
};

static int slice_cmp(struct kc_slice a, struct kc_slice b)
{
    int rc = memcmp(a.p, b.p, (size_t)KC_MIN(a.len, b.len));
    return rc ? rc : (a.len > b.len) - (a.len < b.len);
}

static int os_cmp(const struct os_entry *a, const struct os_entry *b)
{
    int rc = slice_cmp(a->group, b->group);
    if (!rc)
        rc = slice_cmp(a->topic, b->topic);
    return rc ? rc : (a->partition > b->partition) - (a->partition < b->partition);
}

RB_HEAD(os_tree, os_entry);
/* libbsd's RB_GENERATE_STATIC marks the functions a file may not call with __unused, which
 * it leaves undefined on Linux (a kernel header uses the name for a struct field). */
RB_GENERATE_INTERNAL(os_tree, os_entry, node, os_cmp, static __attribute__((unused)))

/* A group's metadata record found by the replay, until a door takes it. */
struct os_grec {
    RB_ENTRY(os_grec) node;
    struct kc_slice group;
    struct kc_slice value;   /* both point into buf */
    char buf[];
};

static int grec_cmp(const struct os_grec *a, const struct os_grec *b)
{
    return slice_cmp(a->group, b->group);
}

RB_HEAD(os_grecs, os_grec);
RB_GENERATE_INTERNAL(os_grecs, os_grec, node, grec_cmp, static __attribute__((unused)))

struct brk_offsets {
    struct brk_server *srv;
    pthread_mutex_t mu;           /* the table, the builder, appends to the topic */
    struct os_tree tree;
    int64_t count;                /* entries, markers not counted */
    int64_t markers;
    int64_t pending;              /* commit entries appended, not yet settled */
    struct os_grecs grecs;        /* replayed group records, until taken */
    struct part_topic *topic;
    struct kc_batch_builder builder;
    struct kc_writer kw, vw;      /* a record's key and value being encoded */
};

int brk_group_check(const char *group, size_t len)
{
    if (len < 1 || len > PART_NAME_MAX)
        return KC_EBADNAME;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)group[i] < 0x20 || group[i] == 0x7f)
            return KC_EBADNAME;
    return 0;
}

/* Java's String.hashCode over the group's UTF-16 code units (ASCII: its bytes). */
static int32_t java_hash(const uint8_t *s, int32_t len)
{
    uint32_t h = 0;
    for (int32_t i = 0; i < len;) {
        uint32_t cp = s[i], n = 1;
        if (cp >= 0xF0 && i + 3 < len)
            cp = (cp & 7) << 18 | (s[i + 1] & 63u) << 12 | (s[i + 2] & 63u) << 6 | (s[i + 3] & 63u), n = 4;
        else if (cp >= 0xE0 && i + 2 < len)
            cp = (cp & 15) << 12 | (s[i + 1] & 63u) << 6 | (s[i + 2] & 63u), n = 3;
        else if (cp >= 0xC0 && i + 1 < len)
            cp = (cp & 31) << 6 | (s[i + 1] & 63u), n = 2;
        if (cp >= 0x10000) { /* a surrogate pair, as Java stores it */
            h = 31 * h + (0xD800 + ((cp - 0x10000) >> 10));
            cp = 0xDC00 + ((cp - 0x10000) & 0x3FF);
        }
        h = 31 * h + cp;
        i += (int32_t)n;
    }
    return (int32_t)h;
}

static int32_t group_partition(const struct brk_offsets *os, struct kc_slice group)
{
    int32_t h = java_hash(group.p, group.len);
    int32_t abs = h == INT32_MIN ? 0 : h < 0 ? -h : h; /* Kafka's Utils.abs */
    return abs % part_topic_partitions(os->topic);
}

/* ---- the table -------------------------------------------------------------------------- */

static struct os_entry *entry_new(struct kc_slice group, struct kc_slice topic, int32_t part,
                                  int64_t offset, struct kc_slice meta, int64_t ts)
{
    size_t mlen = meta.len > 0 ? (size_t)meta.len : 0;
    struct os_entry *e = malloc(sizeof(*e) + (size_t)group.len + (size_t)topic.len + mlen);
    if (!e)
        return NULL;
    memcpy(e->buf, group.p, (size_t)group.len);
    memcpy(e->buf + group.len, topic.p, (size_t)topic.len);
    if (mlen)
        memcpy(e->buf + group.len + topic.len, meta.p, mlen);
    e->group = (struct kc_slice){(uint8_t *)e->buf, group.len};
    e->topic = (struct kc_slice){(uint8_t *)e->buf + group.len, topic.len};
    e->meta = (struct kc_slice){(uint8_t *)e->buf + group.len + topic.len, meta.len};
    e->partition = part;
    e->offset = offset;
    e->commit_ts = ts;
    e->log_offset = -1;
    e->deleted = false;
    return e;
}

/* Insert e, replacing (and freeing) an entry or marker with the same key set by an
 * earlier record; e itself is freed if the table already holds a later one. */
static void table_put(struct brk_offsets *os, struct os_entry *e)
{
    struct os_entry *old = RB_INSERT(os_tree, &os->tree, e);
    if (!old) {
        os->count++;
        return;
    }
    if (old->log_offset > e->log_offset) {
        free(e);
        return;
    }
    if (old->deleted) {
        os->markers--;
        os->count++;
    }
    RB_REMOVE(os_tree, &os->tree, old);
    free(old);
    RB_INSERT(os_tree, &os->tree, e);
}

/* The tombstone at log offset at for key's key is durable (or replayed). mk: a marker
 * ready for the key (entry_new'ed, freed here if not needed). */
static void table_delete(struct brk_offsets *os, const struct os_entry *key, int64_t at,
                         struct os_entry *mk)
{
    struct os_entry *old = RB_FIND(os_tree, &os->tree, (struct os_entry *)key);
    if (old && old->log_offset > at) { /* a later commit is already in */
        free(mk);
        return;
    }
    if (old) {
        RB_REMOVE(os_tree, &os->tree, old);
        if (old->deleted)
            os->markers--;
        else
            os->count--;
        free(old);
    }
    if (os->pending > 0 && mk) { /* an older commit may still settle: keep it out */
        mk->deleted = true;
        mk->log_offset = at;
        RB_INSERT(os_tree, &os->tree, mk);
        os->markers++;
        return;
    }
    free(mk);
}

/* No commit is pending any more: markers have nothing left to guard. */
static void sweep_markers(struct brk_offsets *os)
{
    struct os_entry *e, *tmp;
    if (os->pending > 0 || os->markers == 0)
        return;
    RB_FOREACH_SAFE(e, os_tree, &os->tree, tmp) {
        if (e->deleted) {
            RB_REMOVE(os_tree, &os->tree, e);
            free(e);
        }
    }
    os->markers = 0;
}

/* ---- group metadata records, replayed --------------------------------------------------- */

/* The latest record of a group wins; a tombstone removes it. */
static int grec_replay(struct brk_offsets *os, struct kc_slice group, const struct kc_record *rec)
{
    struct os_grec key = {.group = group};
    struct os_grec *old = RB_FIND(os_grecs, &os->grecs, &key);
    if (old) {
        RB_REMOVE(os_grecs, &os->grecs, old);
        free(old);
    }
    if (!rec->value)
        return 0;
    struct os_grec *g = malloc(sizeof(*g) + (size_t)group.len + (size_t)rec->value_len);
    if (!g)
        return -ENOMEM;
    memcpy(g->buf, group.p, (size_t)group.len);
    memcpy(g->buf + group.len, rec->value, (size_t)rec->value_len);
    g->group = (struct kc_slice){(uint8_t *)g->buf, group.len};
    g->value = (struct kc_slice){(uint8_t *)g->buf + group.len, rec->value_len};
    RB_INSERT(os_grecs, &os->grecs, g);
    return 0;
}

static void grecs_free(struct os_grecs *t, brk_group_record_fn fn, void *arg)
{
    struct os_grec *g, *tmp;
    RB_FOREACH_SAFE(g, os_grecs, t, tmp) {
        RB_REMOVE(os_grecs, t, g);
        if (fn)
            fn(arg, g->group, g->value);
        free(g);
    }
}

void brk_group_records_take(struct brk_server *srv, brk_group_record_fn fn, void *arg)
{
    struct brk_offsets *os = srv->offsets;
    struct os_grecs taken;
    pthread_mutex_lock(&os->mu); /* taken out whole: fn may call the store (a coordinator */
    taken = os->grecs;           /* loading a group asks for its offsets, or writes a */
    RB_INIT(&os->grecs);         /* tombstone), so it runs without the lock */
    pthread_mutex_unlock(&os->mu);
    grecs_free(&taken, fn, arg);
}

/* ---- Kafka's record format (brk_offsets_record.h) ---------------------------------------- */

/* Apply one record of __consumer_offsets to the table (replay). */
static int replay_record(struct brk_offsets *os, const struct kc_record *rec)
{
    struct brk_offset_key k;
    struct brk_offset_value v;
    int rc = brk_offset_key_decode(rec->key, rec->key ? (size_t)rec->key_len : 0, &k);
    if (rc)
        return rc;
    if (k.kind == BRK_OREC_GROUP)
        return grec_replay(os, k.group, rec);
    struct os_entry key = {.group = k.group, .topic = k.topic, .partition = k.partition};
    if (!rec->value) {
        table_delete(os, &key, rec->offset, NULL);
        return 0;
    }
    if ((rc = brk_offset_value_decode(rec->value, (size_t)rec->value_len, &v)) != 0)
        return rc;
    struct os_entry *e = entry_new(k.group, k.topic, k.partition, v.offset, v.metadata,
                                   v.commit_timestamp);
    if (!e)
        return -ENOMEM;
    e->log_offset = rec->offset;
    table_put(os, e);
    return 0;
}

static int replay_batches(struct brk_offsets *os, const uint8_t *p, size_t len)
{
    struct kc_record_iter it;
    struct kc_record rec;
    while (len > 0) {
        int size = kc_batch_validate_stored(p, len, NULL);
        if (size < 0)
            return size;
        int rc = kc_record_iter_init(&it, p, (size_t)size);
        if (rc == KC_EUNSUPPORTED) { /* compressed: this broker never writes such a batch */
            kc_log_warn("%s: skipping a compressed batch at offset %lld", BRK_OFFSETS_TOPIC,
                        (long long)kc_batch_base_offset(p));
            rc = 0;
            it.count = it.index = 0;
        }
        while (rc == 0 && it.index < it.count && (rc = kc_record_iter_next(&it, &rec)) == 1) {
            rc = replay_record(os, &rec);
            if (rc == KC_EMALFORMED || rc == KC_EUNSUPPORTED) {
                kc_log_warn("%s: skipping a record at offset %lld: %s", BRK_OFFSETS_TOPIC,
                            (long long)rec.offset, kc_strerror(rc));
                rc = 0;
            }
        }
        if (rc < 0)
            return rc;
        p += size;
        len -= (size_t)size;
    }
    return 0;
}

static int replay_partition(struct brk_offsets *os, struct alog *log)
{
    struct kc_writer w;
    int64_t off = alog_start_offset(log), end = alog_end_offset(log), next;
    int rc = 0;
    kc_writer_init(&w, 0);
    while (rc == 0 && off < end) {
        kc_writer_reset(&w);
        rc = alog_read_copy(log, off, 1 << 20, &w, &next);
        if (rc == 0)
            rc = replay_batches(os, kc_writer_data(&w), kc_writer_len(&w));
        if (rc == 0 && next <= off)
            rc = KC_ECORRUPT;
        off = next;
    }
    kc_writer_fini(&w);
    return rc;
}

/* ---- a new coordinator's load -------------------------------------------------------------- */

/* Forget what the table and the replayed group records say about partition p's groups.
 * Under mu. Returns how many entries went. */
static int64_t forget_partition(struct brk_offsets *os, int32_t p)
{
    struct os_entry *e, *tmp;
    struct os_grec *g, *gtmp;
    int64_t n = 0;
    RB_FOREACH_SAFE(e, os_tree, &os->tree, tmp) {
        if (group_partition(os, e->group) != p)
            continue;
        RB_REMOVE(os_tree, &os->tree, e);
        if (e->deleted)
            os->markers--;
        else
            os->count--, n++;
        free(e);
    }
    RB_FOREACH_SAFE(g, os_grecs, &os->grecs, gtmp) {
        if (group_partition(os, g->group) == p) {
            RB_REMOVE(os_grecs, &os->grecs, g);
            free(g);
        }
    }
    return n;
}

int brk_offsets_load(struct brk_server *srv, int32_t p, int64_t *loaded)
{
    struct brk_offsets *os = srv->offsets;
    if (!os || !os->topic || p < 0 || p >= part_topic_partitions(os->topic))
        return -EINVAL;
    pthread_mutex_lock(&os->mu); /* commits wait: the replay is one partition's live keys */
    (void)forget_partition(os, p);
    int64_t before = os->count;
    int rc = replay_partition(os, part_topic_log(os->topic, p));
    int64_t after = os->count;
    pthread_mutex_unlock(&os->mu);
    if (loaded)
        *loaded = after - before;
    return rc;
}

/* ---- open and close ---------------------------------------------------------------------- */

/* Kafka's settings for its offsets topic: compacted, never deleted by age or size, in
 * smaller segments (the cleaner never touches the active one). */
static int compacted(struct brk_server *srv, struct alog *log)
{
    struct alog_config cfg;
    alog_get_config(log, &cfg);
    cfg.cleanup_policy = ALOG_CLEANUP_COMPACT;
    cfg.segment_bytes = srv->cfg.offsets_topic_segment_bytes;
    return alog_set_config(log, &cfg);
}

int brk__offsets_open(struct brk_offsets **out, struct brk_server *srv, int64_t *count)
{
    struct brk_offsets *os = calloc(1, sizeof(*os));
    int rc = 0;
    if (!os)
        return -ENOMEM;
    os->srv = srv;
    pthread_mutex_init(&os->mu, NULL);
    RB_INIT(&os->tree);
    RB_INIT(&os->grecs);
    kc_batch_builder_init(&os->builder, NULL, 0);
    kc_writer_init(&os->kw, 0);
    kc_writer_init(&os->vw, 0);
    os->topic = part_topic_find(srv->reg, BRK_OFFSETS_TOPIC, strlen(BRK_OFFSETS_TOPIC));
    if (!os->topic)
        rc = part_topic_create(srv->reg, BRK_OFFSETS_TOPIC, srv->cfg.offsets_topic_num_partitions,
                               &os->topic);
    for (int32_t p = 0; rc == 0 && os->topic && p < part_topic_partitions(os->topic); p++)
        rc = compacted(srv, part_topic_log(os->topic, p));
    for (int32_t p = 0; rc == 0 && os->topic && p < part_topic_partitions(os->topic); p++)
        rc = replay_partition(os, part_topic_log(os->topic, p));
    if (rc) {
        kc_log_error("%s: cannot load group offsets: %s", BRK_OFFSETS_TOPIC, kc_strerror(rc));
        brk__offsets_close(os);
        return rc;
    }
    *count = os->count;
    *out = os;
    return 0;
}

void brk__offsets_close(struct brk_offsets *os)
{
    struct os_entry *e, *tmp;
    if (!os)
        return;
    RB_FOREACH_SAFE(e, os_tree, &os->tree, tmp) {
        RB_REMOVE(os_tree, &os->tree, e);
        free(e);
    }
    grecs_free(&os->grecs, NULL, NULL);
    kc_batch_builder_fini(&os->builder);
    kc_writer_fini(&os->kw);
    kc_writer_fini(&os->vw);
    pthread_mutex_destroy(&os->mu);
    free(os);
}

/* ---- appends: alone, or through the replica ----------------------------------------------- */

#define OS_APPEND_REPLICATED 2      /* os_append: the replica tells the callback */

/* A Kafka code from the replica as the doors' errno: leadership lost (NOT_LEADER_OR_FOLLOWER
 * 6, FENCED_LEADER_EPOCH 74, KAFKA_STORAGE_ERROR 56) -ESTALE, their NOT_COORDINATOR; the
 * rest (NOT_ENOUGH_REPLICAS 19 / _AFTER_APPEND 20, REQUEST_TIMED_OUT 7) -EAGAIN, their
 * COORDINATOR_NOT_AVAILABLE: the client finds the coordinator again and retries. */
static int repl_err(int kerr)
{
    if (kerr == 0)
        return 0;
    return kerr == 6 || kerr == 74 || kerr == 56 ? -ESTALE : -EAGAIN;
}

/* Under os->mu: the built batch (count records) into the group's partition, at [*base,
 * *end). Alone: 0, and the caller waits for the fsync. In a cluster: OS_APPEND_REPLICATED,
 * and fn(arg, kerr) is told once the HW passes it (never before os->mu is let go, as it
 * takes it); or a refusal. */
static int os_append(struct brk_offsets *os, struct kc_slice group, uint8_t *batch,
                     size_t len, int32_t count, int64_t *base, int64_t *end,
                     void (*fn)(void *, int), void *arg, struct alog **log)
{
    int32_t p = group_partition(os, group);
    *log = part_topic_log(os->topic, p);
    struct brk_internal_append ia = {BRK_OFFSETS_TOPIC, p, *log, batch, len, count,
                                     os->srv->cfg.offsets_commit_timeout_ms, fn,
                                     arg, base, end};
    int rc = brk_cluster_internal_append(os->srv, &ia);
    if (rc == -ENOTSUP) { /* alone */
        rc = alog_append(*log, batch, len, base);
        *end = *base + count;
        return rc;
    }
    if (rc > 0)
        return repl_err(rc);
    return rc == 0 ? OS_APPEND_REPLICATED : rc;
}

/* ---- commit ------------------------------------------------------------------------------ */

/* A commit's entries between their append and their fsync. */
struct brk__offsets_pending {
    struct brk_offsets *os;
    int n;
    bool appended;   /* counted in os->pending */
    struct os_entry *e[];
};

/* Durable: the entries enter the table (err 0), or are dropped. Any thread; frees p. */
static void pending_settle(struct brk__offsets_pending *p, int err)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->os->mu);
    for (int i = 0; i < p->n; i++) {
        if (err == 0)
            table_put(p->os, p->e[i]);
        else
            free(p->e[i]);
    }
    if (p->appended) {
        p->os->pending -= p->n;
        sweep_markers(p->os);
    }
    pthread_mutex_unlock(&p->os->mu);
    free(p);
}

/* On the flusher thread: the commit's batch is on disk (err 0), or will not be. */
static void commit_durable(void *arg, int err)
{
    struct brk_commit *cm = arg;
    cm->err = err;
    pending_settle(cm->pending, err);
    cm->pending = NULL;
    brk_park_settle(cm->park);
}

/* The replica's answer (any thread). */
static void commit_replicated(void *arg, int kerr)
{
    commit_durable(arg, repl_err(kerr));
}

static int commit_check(struct kc_slice group, const struct brk_commit_entry *e, int n)
{
    if (brk_group_check((const char *)group.p, group.len < 0 ? 0 : (size_t)group.len))
        return KC_EBADNAME;
    for (int i = 0; i < n; i++) {
        if (e[i].offset < 0 || e[i].topic.len <= 0 || e[i].partition < 0)
            return -EINVAL;
        if (e[i].metadata.len > BRK_OFFSET_METADATA_MAX)
            return KC_ETOOLARGE;
    }
    return n > 0 ? 0 : -EINVAL;
}

/* Under os->mu: one batch of n records into the group's partition; each fresh entry learns
 * the log offset of its record (they enter the table once durable). 0 or
 * OS_APPEND_REPLICATED (os_append), or < 0. */
static int commit_append(struct brk_offsets *os, struct kc_slice group,
                         const struct brk_commit_entry *e, int n, struct brk_commit *cm,
                         struct alog **log, int64_t *end)
{
    struct os_entry **fresh = cm->pending->e;
    uint8_t *batch;
    size_t len;
    int64_t base, now = kc_wall_ms();
    int rc = 0;
    kc_batch_builder_reset(&os->builder);
    for (int i = 0; i < n && rc == 0; i++) {
        struct brk_offset_key k = {BRK_OREC_OFFSET, group, e[i].topic, e[i].partition};
        struct brk_offset_value v = {e[i].offset, -1, e[i].metadata, now, -1};
        kc_writer_reset(&os->kw);
        kc_writer_reset(&os->vw);
        rc = brk_offset_key_encode(&os->kw, &k);
        if (rc == 0)
            rc = brk_offset_value_encode(&os->vw, &v);
        if (rc == 0)
            rc = kc_batch_builder_add(&os->builder, now, os->kw.p, (int32_t)os->kw.len, os->vw.p,
                                      (int32_t)os->vw.len, NULL, 0);
        fresh[i]->commit_ts = now;
    }
    if (rc == 0)
        rc = kc_batch_builder_finish(&os->builder, &batch, &len);
    if (rc == 0)
        rc = os_append(os, group, batch, len, n, &base, end, commit_replicated, cm, log);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        fresh[i]->log_offset = base + i;
    return rc;
}

int brk_offsets_commit(struct brk_server *srv, struct kc_slice group,
                       const struct brk_commit_entry *e, int n, struct brk_commit *cm,
                       struct brk_park *park)
{
    struct brk_offsets *os = srv->offsets;
    struct alog *log = NULL;
    int64_t end = 0;
    int rc = commit_check(group, e, n);
    if (rc)
        return rc;
    struct brk__offsets_pending *p = calloc(1, sizeof(*p) + (size_t)n * sizeof(p->e[0]));
    if (!p)
        return -ENOMEM;
    p->os = os;
    p->n = n;
    for (int i = 0; i < n && rc == 0; i++)
        if (!(p->e[i] = entry_new(group, e[i].topic, e[i].partition, e[i].offset,
                                  e[i].metadata, 0)))
            rc = -ENOMEM;
    if (rc) {
        pending_settle(p, rc); /* frees the entries: nothing was appended */
        return rc;
    }
    /* Ready before the append: in a cluster the replica's answer may come on another
     * thread as soon as os->mu is let go. */
    *cm = (struct brk_commit){.srv = srv, .park = park, .pending = p};
    brk_park_hold(park);
    pthread_mutex_lock(&os->mu);
    rc = commit_append(os, group, e, n, cm, &log, &end);
    if (rc >= 0) { /* from here until it settles, a deletion leaves markers */
        os->pending += n;
        p->appended = true;
    }
    pthread_mutex_unlock(&os->mu);
    if (rc == OS_APPEND_REPLICATED)
        return 0; /* commit_replicated settles it once the HW passes the batch */
    /* Durability point for a commit alone: it enters the table, and is acknowledged, only
     * once its batch is fsynced (commit_durable). */
    if (rc == 0)
        rc = alog_wait_durable(log, end, commit_durable, cm);
    if (rc == 0)
        return 0;
    pending_settle(cm->pending, rc > 0 ? 0 : rc);
    cm->pending = NULL;
    brk_park_settle(park); /* no callback will come: give the hold back */
    return rc > 0 ? 1 : rc;
}

/* ---- fetch --------------------------------------------------------------------------------- */

int brk_offsets_fetch(struct brk_server *srv, struct kc_slice group, struct kc_slice topic,
                      int32_t partition, int64_t *offset, char *meta, size_t cap,
                      int32_t *meta_len)
{
    struct brk_offsets *os = srv->offsets;
    struct os_entry key = {.group = group, .topic = topic, .partition = partition};
    pthread_mutex_lock(&os->mu);
    struct os_entry *e = RB_FIND(os_tree, &os->tree, &key);
    if (e && e->deleted)
        e = NULL;
    *offset = e ? e->offset : -1;
    if (meta && meta_len) {
        /* len -1 is null: nothing to copy, and -1 must never be read as a size (cast to
         * size_t it is "longer than the buffer", which once sent cap bytes of whatever the
         * caller's buffer held). Only bytes copied here are ever reported. */
        int32_t len = e ? e->meta.len : -1;
        if (len > 0 && (size_t)len > cap)
            len = (int32_t)cap;
        if (len > 0)
            memcpy(meta, e->meta.p, (size_t)len);
        *meta_len = len;
    }
    pthread_mutex_unlock(&os->mu);
    return 0;
}

void brk_offsets_foreach(struct brk_server *srv, struct kc_slice group, brk_offsets_fn fn,
                         void *arg)
{
    struct brk_offsets *os = srv->offsets;
    struct os_entry key = {.group = group, .topic = {(const uint8_t *)"", 0}, .partition = INT32_MIN};
    pthread_mutex_lock(&os->mu);
    for (struct os_entry *e = RB_NFIND(os_tree, &os->tree, &key);
         e && slice_cmp(e->group, group) == 0; e = RB_NEXT(os_tree, &os->tree, e))
        if (!e->deleted)
            fn(arg, e->topic, e->partition, e->offset, e->meta);
    pthread_mutex_unlock(&os->mu);
}

void brk__offsets_visit(struct brk_offsets *os, brk__offsets_visit_fn fn, void *arg)
{
    struct os_entry *e;
    pthread_mutex_lock(&os->mu);
    RB_FOREACH(e, os_tree, &os->tree)
        if (!e->deleted)
            fn(arg, e->group, e->topic, e->partition, e->offset);
    pthread_mutex_unlock(&os->mu);
}

/* ---- a group's metadata, and deletions (brk_group_write) -------------------------------- */

/* The offsets being deleted by one write, between its append and its fsync. */
struct gwrite {
    struct brk_offsets *os;
    brk_group_write_fn fn;
    void *arg;
    int n;
    struct os_entry *e[]; /* the keys, log_offset = their tombstone's; become markers */
};

static void gwrite_settle(struct gwrite *gw, int err)
{
    pthread_mutex_lock(&gw->os->mu);
    for (int i = 0; i < gw->n; i++) {
        if (err == 0) /* durable: the keys leave the table (or stay out as markers) */
            table_delete(gw->os, gw->e[i], gw->e[i]->log_offset, gw->e[i]);
        else
            free(gw->e[i]);
    }
    pthread_mutex_unlock(&gw->os->mu);
}

/* On the flusher thread. */
static void gwrite_durable(void *arg, int err)
{
    struct gwrite *gw = arg;
    gwrite_settle(gw, err);
    gw->fn(gw->arg, err);
    free(gw);
}

/* The replica's answer (any thread). */
static void gwrite_replicated(void *arg, int kerr)
{
    gwrite_durable(arg, repl_err(kerr));
}

static int add_record(struct brk_offsets *os, const struct brk_offset_key *k,
                      struct kc_slice value, int64_t now)
{
    kc_writer_reset(&os->kw);
    int rc = brk_offset_key_encode(&os->kw, k);
    if (rc == 0)
        rc = kc_batch_builder_add(&os->builder, now, os->kw.p, (int32_t)os->kw.len,
                                  value.len >= 0 ? value.p : NULL, value.len, NULL, 0);
    return rc;
}

/* Under os->mu: a tombstone for offset entry e of the write (if it is live). */
static int add_tombstone(struct brk_offsets *os, struct gwrite *gw, const struct os_entry *e,
                         int64_t now)
{
    if (!e || e->deleted)
        return 0;
    struct brk_offset_key k = {BRK_OREC_OFFSET, e->group, e->topic, e->partition};
    struct os_entry *key = entry_new(e->group, e->topic, e->partition, -1,
                                     (struct kc_slice){NULL, -1}, 0);
    int rc = key ? add_record(os, &k, (struct kc_slice){NULL, -1}, now) : -ENOMEM;
    if (rc) {
        free(key);
        return rc;
    }
    key->log_offset = kc_batch_builder_count(&os->builder) - 1; /* index until appended */
    gw->e[gw->n++] = key;
    return 0;
}

/* Under os->mu: the records of w into the builder. */
static int gwrite_build(struct brk_offsets *os, const struct brk_group_write *w,
                        struct gwrite *gw, int64_t now)
{
    int rc = 0;
    if (w->meta != BRK_GROUP_META_NONE) {
        struct brk_offset_key k = {BRK_OREC_GROUP, w->group, {NULL, -1}, -1};
        struct kc_slice v = w->meta == BRK_GROUP_META_RECORD ? w->value : (struct kc_slice){NULL, -1};
        rc = add_record(os, &k, v, now);
    }
    if (w->all_offsets) {
        struct os_entry key = {.group = w->group, .topic = {(const uint8_t *)"", 0},
                               .partition = INT32_MIN};
        for (struct os_entry *e = RB_NFIND(os_tree, &os->tree, &key);
             rc == 0 && e && slice_cmp(e->group, w->group) == 0; e = RB_NEXT(os_tree, &os->tree, e))
            rc = add_tombstone(os, gw, e, now);
    }
    for (int32_t i = 0; rc == 0 && !w->all_offsets && i < w->noffsets; i++) {
        struct os_entry key = {.group = w->group, .topic = w->offsets[i].topic,
                               .partition = w->offsets[i].partition};
        rc = add_tombstone(os, gw, RB_FIND(os_tree, &os->tree, &key), now);
    }
    return rc;
}

/* How many tombstones w may write at most (a bound for the allocation). */
static int32_t gwrite_bound(struct brk_offsets *os, const struct brk_group_write *w)
{
    if (!w->all_offsets)
        return w->noffsets;
    struct os_entry key = {.group = w->group, .topic = {(const uint8_t *)"", 0},
                           .partition = INT32_MIN};
    int32_t n = 0;
    for (struct os_entry *e = RB_NFIND(os_tree, &os->tree, &key);
         e && slice_cmp(e->group, w->group) == 0; e = RB_NEXT(os_tree, &os->tree, e))
        n++;
    return n;
}

/* Under os->mu: build and append; the entries learn their tombstones' log offsets. */
static int gwrite_append(struct brk_offsets *os, const struct brk_group_write *w,
                         struct gwrite *gw, struct alog **log, int64_t *end)
{
    uint8_t *batch;
    size_t len;
    int64_t base;
    kc_batch_builder_reset(&os->builder);
    int rc = gwrite_build(os, w, gw, kc_wall_ms());
    if (rc == 0 && kc_batch_builder_count(&os->builder) == 0)
        return 1; /* nothing to write */
    if (rc == 0)
        rc = kc_batch_builder_finish(&os->builder, &batch, &len);
    if (rc == 0)
        rc = os_append(os, w->group, batch, len, kc_batch_builder_count(&os->builder), &base,
                       end, gwrite_replicated, gw, log);
    if (rc < 0)
        return rc;
    for (int i = 0; i < gw->n; i++)
        gw->e[i]->log_offset += base;
    return rc;
}

int brk_group_write(struct brk_server *srv, const struct brk_group_write *w,
                    brk_group_write_fn fn, void *arg)
{
    struct brk_offsets *os = srv->offsets;
    struct alog *log = NULL;
    int64_t end = 0;
    if (w->noffsets < 0 || (w->meta == BRK_GROUP_META_RECORD && w->value.len < 0))
        return -EINVAL;
    if (brk_group_check((const char *)w->group.p, w->group.len < 0 ? 0 : (size_t)w->group.len))
        return KC_EBADNAME;
    pthread_mutex_lock(&os->mu);
    int32_t bound = gwrite_bound(os, w);
    struct gwrite *gw = calloc(1, sizeof(*gw) + ((size_t)bound + 1) * sizeof(gw->e[0]));
    int rc = gw ? 0 : -ENOMEM;
    if (gw) {
        *gw = (struct gwrite){.os = os, .fn = fn, .arg = arg};
        rc = gwrite_append(os, w, gw, &log, &end);
    }
    pthread_mutex_unlock(&os->mu);
    if (rc == OS_APPEND_REPLICATED)
        return 0; /* gwrite_replicated, once the HW passes the batch (gw is its own now) */
    if (rc == 0) /* Durability point for a group write alone: its deletions apply, and it
                  * is acknowledged, only once its batch is fsynced (gwrite_durable). */
        rc = alog_wait_durable(log, end, gwrite_durable, gw);
    if (rc == 0)
        return 0;
    if (gw) /* durable already (apply now), nothing written, or it cannot be waited for */
        gwrite_settle(gw, rc > 0 ? 0 : rc);
    free(gw);
    return rc > 0 ? 1 : rc;
}

/* ---- groups that have offsets ---------------------------------------------------------------- */

void brk_offsets_groups(struct brk_server *srv, brk_offsets_group_fn fn, void *arg)
{
    struct brk_offsets *os = srv->offsets;
    struct os_entry *e;
    struct kc_slice cur = {NULL, -1};
    int32_t n = 0;
    pthread_mutex_lock(&os->mu);
    RB_FOREACH(e, os_tree, &os->tree) { /* sorted by group: one run per group */
        if (e->deleted)
            continue;
        if (n > 0 && slice_cmp(cur, e->group) != 0) {
            fn(arg, cur, n);
            n = 0;
        }
        if (n++ == 0)
            cur = e->group;
    }
    if (n > 0)
        fn(arg, cur, n);
    pthread_mutex_unlock(&os->mu);
}

int32_t brk_offsets_count(struct brk_server *srv, struct kc_slice group)
{
    struct brk_offsets *os = srv->offsets;
    struct os_entry key = {.group = group, .topic = {(const uint8_t *)"", 0}, .partition = INT32_MIN};
    int32_t n = 0;
    pthread_mutex_lock(&os->mu);
    for (struct os_entry *e = RB_NFIND(os_tree, &os->tree, &key);
         e && slice_cmp(e->group, group) == 0; e = RB_NEXT(os_tree, &os->tree, e))
        n += !e->deleted;
    pthread_mutex_unlock(&os->mu);
    return n;
}

/* ---- a deleted topic's offsets (topic_admin.c) ----------------------------------------------- */

/* Under os->mu: a tombstone for e's key, in its group's partition; *at gets its offset. */
static int drop_one(struct brk_offsets *os, const struct os_entry *e, int64_t *at)
{
    uint8_t *batch;
    size_t len;
    struct brk_offset_key k = {BRK_OREC_OFFSET, e->group, e->topic, e->partition};
    kc_batch_builder_reset(&os->builder);
    int rc = add_record(os, &k, (struct kc_slice){NULL, -1}, kc_wall_ms());
    if (rc == 0)
        rc = kc_batch_builder_finish(&os->builder, &batch, &len);
    if (rc == 0)
        rc = alog_append(part_topic_log(os->topic, group_partition(os, e->group)), batch, len,
                         at);
    return rc;
}

int brk__offsets_drop_topic(struct brk_offsets *os, const char *topic, size_t len)
{
    struct kc_slice name = {(const uint8_t *)topic, (int32_t)len};
    int rc = 0, dropped = 0;
    pthread_mutex_lock(&os->mu);
    struct os_entry *e, *next;
    RB_FOREACH_SAFE(e, os_tree, &os->tree, next) {
        if (e->deleted || slice_cmp(e->topic, name) != 0)
            continue;
        int64_t at;
        struct os_entry *mk = entry_new(e->group, e->topic, e->partition, -1,
                                        (struct kc_slice){NULL, -1}, 0);
        int r = mk ? drop_one(os, e, &at) : -ENOMEM; /* replayed later as a delete */
        if (r == 0) {
            table_delete(os, e, at, mk); /* e goes; a marker if a commit is pending */
            dropped++;
        } else {
            free(mk);
            rc = rc ? rc : r;
        }
    }
    pthread_mutex_unlock(&os->mu);
    for (int32_t p = 0; dropped && p < part_topic_partitions(os->topic); p++) {
        int r = alog_flush(part_topic_log(os->topic, p)); /* the tombstones, durably */
        if (r && rc == 0)
            rc = r;
    }
    if (dropped)
        kc_log_info("dropped %d committed offset%s of deleted topic %.*s", dropped,
                    dropped == 1 ? "" : "s", (int)len, topic);
    return rc;
}

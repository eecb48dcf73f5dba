/*
 * follow.c - a follower's writes: batches appended at the LEADER's offsets, and the walk
 * over the tail's leader epochs that a broker needs at start. (Cutting the tail when the
 * leader's history diverges is truncate.c's.)
 *
 * A leader's log assigns offsets; a follower's must not. It copies the leader's batches
 * byte for byte, at the offsets the leader gave them, so that offset N names the same
 * record on every replica - the whole point of replication (replication/README.md):
 *
 *   leader    [0..4 e1][5..9 e1][10..11 e2]            Fetch(offset 5) answers
 *                       \_______ bytes ______/          [5..9 e1][10..11 e2][12..1  (partial)
 *   follower  [0..4 e1] + alog_append_replica(answer) -> [5..9 e1][10..11 e2], used = 2 batches
 *
 *   alog_append_replica(log, bytes, len)
 *     validate, no lock    each whole batch: header, codec, CRC-32C (not the records:
 *                          the leader validated them, the CRC vouches for the bytes);
 *                          offsets strictly increasing; a partial last batch is left for
 *                          the next fetch (*used says where it starts)
 *     append lock          first base offset >= log end (below it: KC_EOFFSET, nothing
 *                          written: a diverged history, or the caller's bug)
 *     for each batch       a gap (base > end: the leader's log was compacted) is filled
 *                          with a record-less batch spanning it, as the cleaner leaves
 *                          emptied batches, so recovery's continuity rule keeps holding;
 *                          then the batch is written AS IS (alog__write_at_end: roll,
 *                          pwrite, index, producer state, publish) - no re-stamping of
 *                          offsets, epochs or timestamps
 *     after the lock       flush.messages kick, the end watches
 *
 * Everything else is the ordinary append's: the same segments and rolls (a batch larger
 * than segment.bytes gets a segment of its own), indexes, flusher, group commit
 * (alog_wait_durable), watches. The producer state learns every replicated batch without
 * judging it (the leader did), so a follower that becomes leader answers a retried batch
 * as a duplicate.
 */
#include <errno.h>
#include <stdlib.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_log.h"

/* The widest gap one filler batch covers (well inside a segment's relative offsets). */
#define FOLLOW_FILL_MAX (1LL << 30)

/* What the validation pass learnt about the batches. */
struct replica_run {
    size_t used;    /* bytes of whole, valid batches */
    int batches;
    int64_t first;  /* the first batch's base offset */
    bool gaps;      /* a batch starts past the one before it ends */
};

/*
 * One batch of a fetch answer: its size (> 0) or why not. The header must be possible, the
 * codec known, and the CRC-32C must match - the records are not parsed: the leader
 * validated them when a producer sent them, and the CRC proves these are the bytes it
 * holds (Kafka's follower checks as much: ensureValid). Parsing every record too would
 * halve a follower's throughput with small records (append_vs_write measures it).
 * A compacted log's batches may hold fewer records than offsets (kc_batch.h); only a
 * store's logs may be compacted, so only they take such batches, and gaps.
 */
static int validate_one(const struct alog *log, const uint8_t *p, size_t n,
                        struct kc_batch_header *h)
{
    int rc = log->store ? kc_batch_header_decode_stored(p, n, h) : kc_batch_header_decode(p, n, h);
    if (rc)
        return rc; /* KC_ENEEDMORE below a header */
    size_t size = (size_t)h->batch_length + KC_BATCH_LOG_OVERHEAD;
    if (n < size)
        return KC_ENEEDMORE;
    if (size > INT32_MAX)
        return KC_ETOOLARGE;
    if (kc_crc32c(0, p + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES) != h->crc)
        return KC_ECRC;
    if ((h->attributes & KC_BATCH_ATTR_COMPRESSION) > KC_COMPRESS_ZSTD)
        return KC_EUNSUPPORTED;
    return (int)size;
}

/* Pass 1, no lock: every whole batch valid and after the one before it. */
static int validate_run(const struct alog *log, const uint8_t *p, size_t len,
                        struct replica_run *run)
{
    int64_t next = -1;
    *run = (struct replica_run){.first = -1};
    while (run->used < len) {
        struct kc_batch_header h;
        int n = validate_one(log, p + run->used, len - run->used, &h);
        if (n == KC_ENEEDMORE)
            break; /* a partial last batch: the next fetch brings the rest */
        if (n < 0)
            return n;
        if (next >= 0 && h.base_offset < next)
            return KC_EMALFORMED; /* offsets must increase from batch to batch */
        if (h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta - 1)
            return KC_EMALFORMED;
        run->gaps |= next >= 0 && h.base_offset > next;
        if (run->first < 0)
            run->first = h.base_offset;
        next = h.base_offset + h.last_offset_delta + 1;
        run->used += (size_t)n;
        run->batches++;
    }
    return run->batches == 0 && len > 0 ? KC_ENEEDMORE : 0;
}

/* One record-less batch covering [from, to) (to - from <= FOLLOW_FILL_MAX), in the epoch
 * of the batch that follows it. */
static int write_filler(struct alog *log, int64_t from, int64_t to, int32_t epoch)
{
    struct kc_batch_opts o = {.base_offset = from, .leader_epoch = epoch, .producer_id = -1,
                              .producer_epoch = -1, .base_sequence = -1};
    struct kc_batch_rebuild rb = {.keep_last_offset_delta = true,
                                  .last_offset_delta = (int32_t)(to - from - 1),
                                  .keep_base_timestamp = true, .base_timestamp = -1,
                                  .keep_max_timestamp = true, .max_timestamp = -1};
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, &o, 0);
    kc_batch_builder_set_rebuild(&b, &rb);
    uint8_t *p;
    size_t len;
    struct kc_batch_header h;
    int rc = kc_batch_builder_finish(&b, &p, &len);
    if (rc == 0)
        rc = kc_batch_header_decode_stored(p, len, &h);
    if (rc == 0)
        rc = alog__write_at_end(log, p, len, &h);
    kc_batch_builder_fini(&b);
    return rc;
}

/* [end, base): filled, in pieces no wider than FOLLOW_FILL_MAX. */
static int fill_gap(struct alog *log, int64_t base, int32_t epoch)
{
    int64_t end;
    int rc = 0;
    while (rc == 0 && (end = alog__end(log)) < base) {
        int64_t to = base - end > FOLLOW_FILL_MAX ? end + FOLLOW_FILL_MAX : base;
        rc = write_filler(log, end, to, epoch);
    }
    return rc;
}

/* Pass 2, append lock held: write the run; *used counts the batches written. */
static int write_run(struct alog *log, const uint8_t *p, const struct replica_run *run,
                     size_t *used)
{
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO;
    int64_t end = alog__end(log);
    if (run->first < end)
        return KC_EOFFSET; /* nothing written: the leader's history and ours disagree */
    if ((run->gaps || run->first > end) && !log->store)
        return KC_EUNSUPPORTED; /* a standalone log holds producers' batches only */
    size_t pos = 0;
    for (int i = 0; i < run->batches; i++) {
        struct kc_batch_header h;
        size_t n = (size_t)kc_load_be32(p + pos + KC_BATCH_OFF_LENGTH) + KC_BATCH_LOG_OVERHEAD;
        int rc = kc_batch_header_decode_stored(p + pos, n, &h); /* validated: cannot fail */
        if (rc == 0)
            rc = fill_gap(log, h.base_offset, h.leader_epoch);
        if (rc == 0 && h.producer_id >= 0 && !(h.attributes & KC_BATCH_ATTR_CONTROL))
            rc = alog__pstate_reserve(&log->pstate);
        if (rc == 0)
            rc = alog__write_at_end(log, p + pos, n, &h);
        if (rc)
            return rc; /* the batches before it stay: whole, published */
        pos += n;
        *used = pos;
    }
    return 0;
}

int alog_append_replica(struct alog *log, const uint8_t *batches, size_t len, size_t *used,
                        int64_t *end)
{
    struct replica_run run;
    *used = 0;
    int rc = validate_run(log, batches, len, &run);
    *end = alog_end_offset(log);
    if (rc || run.batches == 0)
        return rc;
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO;
    if ((rc = alog__enter(log)) != 0)
        return rc;
    pthread_mutex_lock(&log->append_lock);
    int64_t before = alog__end(log);
    rc = write_run(log, batches, &run, used);
    int64_t after = alog__end(log);
    pthread_mutex_unlock(&log->append_lock);
    if (after != before)
        alog__maybe_kick(log, before, after);
    alog__leave(log);
    if (after != before)
        alog__watch_fire(log);
    *end = after;
    return rc;
}

/* ---- the epochs of the tail -------------------------------------------------------- */

/* Every batch header of seg from pos to its committed size (no CRC: headers only). */
static int scan_segment(struct alog_segment *seg, uint64_t pos, int64_t limit,
                        alog_epoch_fn fn, void *arg)
{
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    struct kc_batch_header h;
    size_t size;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    for (; pos < s.end; pos += size) {
        int rc = alog__scan_header(&s, pos, &h, &size);
        if (rc)
            return rc <= KC_ENEEDMORE ? KC_ECORRUPT : rc; /* inside committed bytes */
        if (h.base_offset >= limit)
            return 0;
        if ((rc = fn(arg, h.base_offset, h.leader_epoch)) != 0)
            return rc;
    }
    return 0;
}

/* From the batch holding `from` to the end as it was when the walk began (reader locks
 * held by the caller). */
static int scan_locked(struct alog *log, int64_t from, int64_t limit, alog_epoch_fn fn, void *arg)
{
    int rc = 0;
    for (int64_t at = from; rc == 0 && at < limit;) {
        struct alog_segment *seg = alog__segs_find(log, at);
        if (!seg)
            return KC_EOFFSET; /* retention took it meanwhile */
        uint64_t pos = 0;
        struct kc_batch_header h;
        rc = alog__seg_warm_retry(log, seg);
        if (rc == 0 && at > seg->base)
            rc = alog__seg_locate(seg, at, &pos, &h);
        if (rc == 0)
            rc = scan_segment(seg, pos, limit, fn, arg);
        at = alog__seg_next(seg) > at ? alog__seg_next(seg) : limit;
        alog__seg_unref(seg);
    }
    return rc;
}

int alog_scan_epochs(struct alog *log, int64_t from_offset, alog_epoch_fn fn, void *arg)
{
    int rc = alog__enter(log);
    if (rc)
        return rc;
    int64_t end = alog__end(log);
    if (from_offset < alog__start(log) || from_offset > end)
        rc = KC_EOFFSET;
    else if ((rc = pthread_rwlock_tryrdlock(&log->recover_lock)) != 0)
        rc = rc == EBUSY ? -EIO : -rc; /* a recovery or truncation runs: ask again */
    else {
        rc = scan_locked(log, from_offset, end, fn, arg);
        pthread_rwlock_unlock(&log->recover_lock);
    }
    alog__leave(log);
    return rc;
}

/*
 * append.c - the write path: assign offsets, write the batch whole, index it, publish it.
 *
 *   alog_append(batch)                                   (append_lock held throughout)
 *     re-check the header      length matches, magic 2, lastOffsetDelta = count - 1
 *     a producer id?           Kafka's idempotence check (producer_state.c): a duplicate
 *                              is answered with its original offsets and not written; an
 *                              out-of-order or fenced batch is refused
 *     roll?                    segment.bytes, segment.ms, an index full, u32 overflow
 *                              (the new segment's base gets a producer snapshot)
 *     rewrite                  baseOffset = log end, partitionLeaderEpoch = 0 (both
 *                              outside the CRC'd bytes: the CRC stays valid)
 *     pwrite at seg->size      the whole batch into ONE segment, never straddling two
 *     index it                 segment.c's rule
 *     publish                  seg->next_offset, seg->size, then log->end_offset
 *                              (release stores; readers acquire end_offset first)
 *   then, without the lock:    wake the watches the new end passed (watch.c)
 *
 * From "roll?" on, the steps are alog__write_at_end, which a follower's append shares
 * (follow.c: the leader's batches, written at the leader's offsets, nothing rewritten).
 *
 * A failed or short write publishes nothing: end_offset and the segment size stay where
 * they were, the torn bytes are cut off again (ftruncate, best effort) and otherwise
 * overwritten by the next append (which writes at the committed end, never after the torn
 * bytes), truncated at a roll or at close, or cut by recovery. So a segment never holds
 * garbage between two batches. The caller sees -errno (ENOSPC, EIO) and the log carries
 * on: a failed write(2), unlike a failed fsync, leaves the page cache telling the truth.
 */
#include <errno.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"

/* The header fields the log relies on. The caller validated the batch (CRC, records);
 * this re-check is cheap and keeps a caller's mistake from corrupting the log. */
static int check_batch(const struct alog *log, const uint8_t *batch, size_t len,
                       struct kc_batch_header *h)
{
    if (len > atomic_load_explicit(&log->max_batch, memory_order_relaxed))
        return KC_ETOOLARGE;
    if (!batch || len < KC_BATCH_HEADER_SIZE)
        return KC_EMALFORMED;
    if (kc_batch_header_decode(batch, len, h) != 0)
        return KC_EMALFORMED; /* short, bad magic, or lastOffsetDelta != count - 1 */
    if ((size_t)h->batch_length + KC_BATCH_LOG_OVERHEAD != len)
        return KC_EMALFORMED;
    return 0;
}

static bool should_roll(const struct alog *log, const struct alog_segment *seg, size_t len,
                        int64_t last_offset, int64_t now_ms)
{
    uint64_t size = atomic_load_explicit(&seg->size, memory_order_relaxed);
    if (size == 0)
        return false; /* a batch larger than segment.bytes still gets a segment */
    if (size + len > log->cfg.segment_bytes)
        return true;
    int64_t roll_ms = log->cfg.segment_ms;
    if ((log->cfg.cleanup_policy & ALOG_CLEANUP_COMPACT) && log->cfg.max_compaction_lag_ms < roll_ms)
        roll_ms = log->cfg.max_compaction_lag_ms; /* Kafka's: the cleaner never sees the
                                                     active segment, so it must not wait */
    if (now_ms - seg->first_append_ms > roll_ms)
        return true;
    if (mm_index_full(&seg->oidx) || mm_index_full(&seg->tidx))
        return true;
    return last_offset - seg->base > ALOG_MAX_RELATIVE_OFFSET;
}

/*
 * Start a new active segment at base. The old one is sealed (final time-index entry,
 * indexes trimmed) BEFORE the new one is published, so that the flusher, which syncs the
 * indexes of non-active segments, never touches an index while it is being trimmed.
 */
static int roll(struct alog *log, int64_t base)
{
    struct alog_segment *old = log->active, *seg;
    if (log->tail_dirty) { /* a rolled segment must end exactly at its last batch */
        int rc = alog__seg_truncate(log, old, alog__seg_size(old));
        if (rc)
            return rc;
        log->tail_dirty = false;
    }
    int rc = alog__seg_create(log, base, &seg);
    if (rc)
        return rc;
    int seal = alog__seg_seal(old);
    if (seal) /* still a valid index (a zero tail); the next open trims it */
        kc_log_warn("alog %s: sealing segment: %s", old->stem, kc_strerror(seal));
    if ((rc = alog__segs_push(log, seg)) != 0) {
        (void)alog__seg_unlink(seg); /* empty and unpublished */
        alog__seg_unref(seg);
        return rc;
    }
    log->active = seg;
    int snap = alog__psnap_write(log, base, false); /* the producers as of the new base */
    if (snap) /* a hint only: without it a crash replays more of the log */
        kc_log_warn("alog %s: producer snapshot at %lld: %s", log->dir, (long long)base,
                    kc_strerror(snap));
    atomic_store(&log->dir_dirty, true); /* after the snapshot: its rename is fsynced too */
    atomic_store(&log->roll_pending, true);
    if (log->flusher)
        alog__flusher_kick_log(log); /* flush the old segment, checkpoint */
    kc_log_debug("alog %s: rolled to segment %lld", log->dir, (long long)base);
    return 0;
}

/* Forget a failed write's bytes. If even that fails, close/recovery cut them later. */
static void discard_tail(struct alog *log, struct alog_segment *seg, uint64_t pos)
{
    if (alog__seg_truncate(log, seg, pos) != 0)
        log->tail_dirty = true;
}

/* An idempotent producer's batch: 1 for a duplicate (*out filled), 0 to append it (the
 * state has room for it), or why it is refused. The append lock makes check, write and
 * update one step: two connections of one producer cannot both pass. */
static int producer_check(struct alog *log, const struct kc_batch_header *h,
                          struct alog_appended *out)
{
    if (h->producer_id < 0 || (h->attributes & KC_BATCH_ATTR_CONTROL))
        return 0; /* no producer id: nothing to check, nothing to remember */
    int rc = alog__pstate_check(&log->pstate, h, out);
    return rc == 0 ? alog__pstate_reserve(&log->pstate) : rc;
}

/* expect: the base offset the caller requires (alog_append_epoch_at), or -1: any. */
static int append_locked(struct alog *log, uint8_t *batch, size_t len, int32_t epoch,
                         int64_t expect, struct kc_batch_header *h, struct alog_appended *out)
{
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO;
    int64_t base = atomic_load_explicit(&log->end_offset, memory_order_relaxed);
    if (expect >= 0 && base != expect)
        return -ESTALE;
    int rc = producer_check(log, h, out);
    if (rc)
        return rc == 1 ? 0 : rc; /* a duplicate is answered, not written */
    kc_batch_set_base_offset(batch, base);
    kc_batch_set_leader_epoch(batch, epoch); /* outside the CRC: no CRC pass */
    h->base_offset = base;
    if ((rc = alog__write_at_end(log, batch, len, h)) != 0)
        return rc;
    int64_t last = base + h->last_offset_delta;
    *out = (struct alog_appended){.base_offset = base, .last_offset = last, .timestamp = -1};
    return 0;
}

int alog__write_at_end(struct alog *log, const uint8_t *batch, size_t len,
                       const struct kc_batch_header *h)
{
    int64_t base = h->base_offset, last = base + h->last_offset_delta;
    int64_t now = kc_wall_ms();
    int rc;
    if (should_roll(log, log->active, len, last, now) && (rc = roll(log, base)) != 0)
        return rc;
    struct alog_segment *seg = log->active;
    uint64_t pos = atomic_load_explicit(&seg->size, memory_order_relaxed);
    ssize_t w = log->io.pwrite(log->io.ctx, seg->fd, batch, len, (off_t)pos);
    if (w < 0) {
        discard_tail(log, seg, pos);
        return (int)w;
    }
    alog__seg_index_batch(log, seg, pos, h, len);
    if (h->producer_id >= 0 && !(h->attributes & KC_BATCH_ATTR_CONTROL))
        alog__pstate_apply(&log->pstate, h); /* room reserved: cannot fail */
    if (pos == 0)
        seg->first_append_ms = now;
    atomic_store_explicit(&seg->next_offset, last + 1, memory_order_release);
    atomic_store_explicit(&seg->size, pos + len, memory_order_release);
    /* Counters before the commit point, so a flush that reads them before it reads the end
     * never counts bytes it will not fsync (alog_counters' lower bound). */
    atomic_fetch_add_explicit(&log->appended_bytes, len, memory_order_relaxed);
    atomic_fetch_add_explicit(&log->appended_records, (uint64_t)h->records_count,
                              memory_order_relaxed);
    /* The commit point: from this store on, readers can see the batch. */
    atomic_store_explicit(&log->end_offset, last + 1, memory_order_release);
    return 0;
}

/* flush.messages: wake the flusher when the undurable backlog crosses the threshold.
 * flush.ms: tell it when a durable log gets its first undurable record, so that its
 * deadline is known (the flusher visits only the logs named to it between full passes). */
void alog__maybe_kick(struct alog *log, int64_t prev_end, int64_t end)
{
    int64_t n = atomic_load_explicit(&log->flush_msgs, memory_order_relaxed);
    int64_t ms = atomic_load_explicit(&log->flush_ms, memory_order_relaxed);
    if ((n <= 0 && ms < 0) || !log->flusher)
        return;
    int64_t durable = alog_durable_offset(log);
    if ((n > 0 && prev_end - durable < n && end - durable >= n) ||
        (ms >= 0 && prev_end <= durable && end > durable))
        alog__flusher_kick_log(log);
}

static int append_epoch(struct alog *log, uint8_t *batch, size_t len, int32_t leader_epoch,
                        int64_t expect, struct alog_appended *out)
{
    struct kc_batch_header h;
    struct alog_appended a;
    int rc = check_batch(log, batch, len, &h);
    if (rc)
        return rc;
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO; /* at once: alog_recover may hold the append lock for a while */
    if ((rc = alog__enter(log)) != 0) /* a store's log: open it first (or it is open) */
        return rc;
    pthread_mutex_lock(&log->append_lock);
    rc = append_locked(log, batch, len, leader_epoch, expect, &h, &a);
    pthread_mutex_unlock(&log->append_lock);
    if (rc == 0 && !a.duplicate)
        alog__maybe_kick(log, a.base_offset, a.last_offset + 1);
    alog__leave(log);
    if (rc)
        return rc;
    if (!a.duplicate)
        alog__watch_fire(log); /* long-polls waiting on this log wake up (watch.c) */
    *out = a;
    return 0;
}

int alog_append_epoch(struct alog *log, uint8_t *batch, size_t len, int32_t leader_epoch,
                      struct alog_appended *out)
{
    return append_epoch(log, batch, len, leader_epoch, -1, out);
}

int alog_append_epoch_at(struct alog *log, uint8_t *batch, size_t len, int32_t leader_epoch,
                         int64_t base, struct alog_appended *out)
{
    if (base < 0)
        return -EINVAL;
    return append_epoch(log, batch, len, leader_epoch, base, out);
}

int alog_append_batch(struct alog *log, uint8_t *batch, size_t len, struct alog_appended *out)
{
    return alog_append_epoch(log, batch, len, 0, out);
}

int alog_append(struct alog *log, uint8_t *batch, size_t len, int64_t *base_offset)
{
    struct alog_appended a;
    int rc = alog_append_batch(log, batch, len, &a);
    if (rc == 0)
        *base_offset = a.base_offset; /* a duplicate's: its original offset */
    return rc;
}

/*
 * truncate.c - cutting the tail of a log: what a follower does when its leader's history
 * diverges from its own (replication/README.md, KIP-101 and KIP-279).
 *
 * alog_truncate(log, 150): every batch holding an offset >= 150 goes. A batch that
 * straddles 150 goes WHOLE (a batch is never split: its CRC covers all its records), as
 * Kafka's LogSegment.truncateTo does, so the new end is that batch's base offset:
 *
 *   [seg 0: 0..99][seg 1: 100..139 | 140..159 | 160..199][seg 2: 200..249]
 *                                    ^ holds 150: cut here (position p in seg 1)
 *   after:
 *   [seg 0: 0..99][seg 1: 100..139][seg 140: empty, active]          end = 140
 *
 * The order of the steps, and why each is where it is. A crash (kill -9, power) may stop
 * the sequence anywhere; the next open must find either the old log or the truncated one
 * at every segment boundary (any prefix of the old log that reaches at least the new end
 * is one of those), never a batch served twice, a hole below the end, or an index
 * pointing past its file. Open-time recovery (recover.c) trusts segments below the one
 * holding the recovery point and re-reads, with CRCs and offset continuity, everything
 * from there on; the sequence leans on exactly that:
 *
 *   1. recovery point <= base of seg 1, DURABLY (a standalone log's checkpoint file, or
 *      the store's per-directory files written now), and the cleaner's offset <= 140.
 *      From here on a crash re-reads seg 1 and everything after it: whatever state the
 *      later steps left those files in is judged by their bytes, not by a checkpoint
 *      that vouched for them. Before this step nothing has changed. (recover.c would
 *      also distrust a recovery point past the end it finds, and then re-read EVERY
 *      segment: this step keeps the re-read to seg 1 on, and keeps the cleaner's
 *      checkpoint from naming a dirty point past the end.)
 *   2. publish end = 140 (durable offset <= 140), under the recovery lock held
 *      exclusively: no new reader can be handed a slice of the doomed bytes, and the
 *      readers that held the lock are done with the indexes about to change.
 *   3. delete seg 2, seg 3 ... from the LAST to the first: each is cut to 0 bytes (a
 *      slice of it now reads short instead of serving the diverged records), then
 *      unlinked. At every moment the directory holds a prefix of the old log.
 *   4. cut seg 1's .log at p (ftruncate), drop its index entries for offsets >= 140,
 *      seal it (final time-index entry, trimmed indexes). A crash before or between
 *      these: seg 1 is re-read at open (step 1), its indexes rebuilt, and whatever of
 *      seg 2... remains is cut off because it no longer follows seg 1's last batch. If
 *      p is 0, seg 1 holds nothing below 140: it is deleted like seg 2.
 *   5. a fresh, empty active segment at 140 - a new file (a new inode even when it
 *      takes a deleted segment's name), so the new leader's batches are never written
 *      under a slice of the old ones: a reader of a cut region gets the bytes it was
 *      given or fewer, never other records at those offsets.
 *   6. commit: fdatasync seg 1 and the new file, the producer state rebuilt (snapshots
 *      past 140 deleted), fsync the directory, then the recovery point written again as
 *      usual (indexes synced first). Durability waiters for offsets past 140 get
 *      KC_EOFFSET (nothing will make those records durable); end watches past 140 fire.
 *
 * Locks, for the whole call and in alog_recover's order: the append lock (no append),
 * the retention lock (no retention, no cleaning, no DeleteRecords: the cleaner holds it
 * for a pass), the flush lock (no flush or checkpoint raises the recovery point meanwhile)
 * and, for steps 2-5, the recovery lock exclusive (reads get -EIO, "ask again", for
 * those few milliseconds).
 */
#include <errno.h>
#include <inttypes.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_time.h"
#include "store_int.h"

struct cut {
    struct alog_segment *seg; /* the segment holding the cut, with our reference: the
                                 cache never cools it under us (cache.c) */
    int64_t end_before;
    int64_t end;    /* the new end: base offset of the batch holding the offset asked */
    int j;          /* the segment holding it */
    uint64_t pos;   /* where that batch starts in segment j */
    uint64_t bytes; /* bytes removed */
    int deleted;    /* whole segments deleted */
};

void alog__truncate_step(struct alog *log, const char *name)
{
    if (log->io.truncate_step)
        log->io.truncate_step(log->io.ctx, name);
}


/* The segment array only changes under the append lock (rolls), the retention lock
 * (retention, cleaning) or here, and this file holds both: it reads log->segs without
 * segs_lock and takes segs_lock only to change it (as fault.c). */

/* Where to cut: the segment and batch holding offset. KC_EOFFSET when the batch began
 * below the log start (the new end would fall below the start). */
static int find_cut(struct alog *log, int64_t offset, struct cut *c)
{
    int j = 0;
    while (j + 1 < log->nsegs && log->segs[j + 1]->base <= offset)
        j++;
    struct alog_segment *seg = log->segs[j];
    struct kc_batch_header h;
    alog__seg_ref(seg);
    c->seg = seg;
    int rc = alog__seg_warm_retry(log, seg);
    c->j = j;
    c->pos = 0;
    c->end = seg->base;
    if (rc == 0 && offset > seg->base) {
        rc = alog__seg_locate(seg, offset, &c->pos, &h);
        c->end = h.base_offset;
    }
    if (rc == 0 && c->end < alog__start(log))
        rc = KC_EOFFSET; /* DeleteRecords left the start inside that batch */
    return rc;
}

/* Step 1: nothing from segment j on is vouched for by a checkpoint, durably. */
static int distrust_tail(struct alog *log, const struct cut *c)
{
    int64_t cleaned = atomic_load(&log->cleaned_offset);
    if (cleaned > c->end)
        atomic_store(&log->cleaned_offset, c->end);
    int64_t base = log->segs[c->j]->base, rp = atomic_load(&log->recovery_point);
    if (rp <= base && cleaned <= c->end)
        return 0; /* already: nothing to write */
    int rc = alog__record_recovery_point(log, KC_MIN(rp, base));
    if (rc == 0)
        atomic_store(&log->recovery_point, KC_MIN(rp, base)); /* (a store's: already) */
    if (rc == 0 && log->store)
        rc = alog__store_write_checkpoints(log->store, false); /* the durability point */
    return rc;
}

/* Cut seg to 0 bytes (slices of it read short), take it out of the array, unlink it. */
static int delete_last(struct alog *log, struct cut *c)
{
    struct alog_segment *seg = log->segs[log->nsegs - 1];
    int rc = seg->fd >= 0 ? alog__seg_truncate(log, seg, 0) : 0; /* cold: nobody reads it */
    if (rc)
        return rc;
    c->bytes += alog__seg_size(seg);
    c->deleted++;
    kc_log_debug("alog %s: truncation deletes segment %" PRId64, log->dir, seg->base);
    return alog__segs_drop_from(log, log->nsegs - 1);
}

/* seg's largest timestamp below its new size pos: the time index's last entry covers the
 * batches up to the last offset-index entry; the headers after it are walked. */
static int retime(struct alog_segment *seg, uint64_t pos)
{
    struct mm_index_entry e;
    int64_t ts = -1, ts_off = -1;
    if (mm_index_last(&seg->tidx, &e) == 0) {
        ts = e.key;
        ts_off = seg->base + e.value;
    }
    uint64_t p = mm_index_last(&seg->oidx, &e) == 0 ? e.value : 0;
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    struct kc_batch_header h;
    size_t size;
    alog__scan_init(&s, seg, pos, buf, sizeof(buf));
    for (; p < pos; p += size) {
        int rc = alog__scan_header(&s, p, &h, &size);
        if (rc)
            return rc <= KC_ENEEDMORE ? KC_ECORRUPT : rc;
        if (h.max_timestamp > ts) {
            ts = h.max_timestamp;
            ts_off = h.base_offset + h.last_offset_delta;
        }
    }
    atomic_store(&seg->max_ts, ts);
    seg->max_ts_offset = ts_off;
    pthread_mutex_lock(&seg->file_lock); /* the flag is the warm-up's (segment.c) */
    seg->ts_known = true;
    pthread_mutex_unlock(&seg->file_lock);
    return 0;
}

/* Step 4 for a segment that keeps something: .log cut at c->pos, indexes cut, sealed. */
static int cut_segment(struct alog *log, struct cut *c)
{
    struct alog_segment *seg = log->segs[c->j];
    uint64_t size = alog__seg_size(seg);
    int rc = alog__seg_truncate(log, seg, c->pos);
    if (rc)
        return rc;
    c->bytes += size - c->pos;
    atomic_store(&seg->size, c->pos);
    atomic_store(&seg->next_offset, c->end);
    alog__truncate_step(log, "cut");
    /* Reopened writable (a sealed or reopened segment's are read-only or full), entries
     * kept, and by the name the files have NOW: a segment the cleaner swapped in keeps
     * the path of its ".cleaned" files in its mappings, and the trim and sync below
     * reopen the file by that path. */
    rc = alog__seg_activate(log, seg);
    int64_t rel = c->end - seg->base;
    if (rc == 0)
        rc = mm_index_truncate_offset(&seg->oidx, rel);
    if (rc == 0)
        rc = mm_index_truncate_offset(&seg->tidx, rel);
    if (rc == 0)
        rc = retime(seg, c->pos);
    if (rc == 0)
        rc = alog__seg_seal(seg);
    seg->index_synced = false; /* the next checkpoint syncs them before vouching */
    return rc;
}

int alog__fresh_active(struct alog *log, int64_t base)
{
    struct alog_segment *fresh;
    int rc = alog__seg_create(log, base, &fresh);
    if (rc)
        return rc;
    if ((rc = alog__segs_push(log, fresh)) != 0) {
        (void)alog__seg_unlink(fresh); /* empty and unpublished: best effort */
        alog__seg_unref(fresh);
        return rc;
    }
    log->active = fresh;
    log->tail_dirty = false;
    atomic_store(&log->dir_dirty, true);
    alog__truncate_step(log, "fresh");
    return 0;
}

/* Steps 2-5, recovery lock held exclusively. */
static int cut_locked(struct alog *log, struct cut *c)
{
    if (alog_durable_offset(log) > c->end)
        atomic_store_explicit(&log->durable_offset, c->end, memory_order_release);
    atomic_store_explicit(&log->end_offset, c->end, memory_order_release);
    alog__truncate_step(log, "published");
    int rc = 0;
    while (rc == 0 && log->nsegs - 1 > c->j) {
        rc = delete_last(log, c);
        alog__truncate_step(log, "deleted");
    }
    if (rc)
        return rc;
    if (c->pos == 0) { /* nothing of segment j stays: it goes like the others */
        rc = delete_last(log, c);
        alog__truncate_step(log, "emptied");
    } else {
        rc = cut_segment(log, c);
        alog__truncate_step(log, "indexed");
    }
    return rc ? rc : alog__fresh_active(log, c->end); /* step 5 */
}

/* Durability waiters past the new end: nothing will ever make those records durable. */
static void refuse_waiters(struct alog *log, int64_t end)
{
    struct alog_waiter *w;
    pthread_mutex_lock(&log->wait_lock);
    TAILQ_FOREACH(w, &log->waiters, link) {
        if (w->offset > end && !w->err)
            w->err = KC_EOFFSET;
    }
    pthread_mutex_unlock(&log->wait_lock);
    if (log->flusher)
        alog__flusher_kick_log(log); /* callbacks run on the flusher thread */
}

/* Step 6: the cut made durable, the producer state made to match, then vouched for. */
static int commit(struct alog *log, struct cut *c)
{
    int rc = 0;
    for (int i = c->j; rc == 0 && i < log->nsegs; i++) { /* the cut one (if kept), the new */
        rc = log->io.fdatasync(log->io.ctx, log->segs[i]->fd);
        atomic_fetch_add(&log->n_fsyncs, 1);
    }
    if (rc == 0)
        rc = alog__psnap_rebuild(log); /* snapshots past the end deleted, state replayed */
    if (rc == 0) {
        rc = kc_fsync_dir(log->dir); /* unlinks, the new file, the snapshots' removal */
        atomic_fetch_add(&log->n_dir_fsyncs, 1);
    }
    if (rc == 0) {
        atomic_store(&log->dir_dirty, false);
        rc = alog__checkpoint_recovery(log); /* rp = durable offset <= the new end */
    }
    alog__truncate_step(log, "committed");
    return rc;
}

static int truncate_locked(struct alog *log, int64_t offset, struct cut *c)
{
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO;
    c->end_before = alog__end(log);
    if (offset < alog__start(log) || offset > c->end_before)
        return KC_EOFFSET;
    if (offset == c->end_before)
        return 0; /* nothing to cut */
    int rc = find_cut(log, offset, c);
    if (rc == 0)
        rc = distrust_tail(log, c);
    if (rc)
        return rc; /* nothing changed (a lower recovery point only costs recovery time) */
    alog__truncate_step(log, "distrusted");
    pthread_rwlock_wrlock(&log->recover_lock); /* waits for readers; refuses new ones */
    rc = cut_locked(log, c);
    pthread_rwlock_unlock(&log->recover_lock);
    if (rc == 0)
        rc = commit(log, c);
    refuse_waiters(log, c->end);
    if (rc) { /* half done: trust nothing in memory; alog_recover or a reopen repairs */
        int expected = 0;
        atomic_compare_exchange_strong(&log->failed, &expected, rc);
        kc_log_error("alog %s: truncation to %" PRId64 " failed after it began (%s): the log "
                     "is failed until recovered",
                     log->dir, offset, kc_strerror(rc));
    }
    return rc;
}

int alog_truncate(struct alog *log, int64_t offset, int64_t *end)
{
    int rc = alog__enter(log);
    if (rc)
        return rc;
    struct cut c = {.j = -1, .seg = NULL};
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->retain_lock);
    pthread_mutex_lock(&log->flush_lock);
    rc = truncate_locked(log, offset, &c);
    int64_t now_end = alog__end(log);
    pthread_mutex_unlock(&log->flush_lock);
    pthread_mutex_unlock(&log->retain_lock);
    pthread_mutex_unlock(&log->append_lock);
    if (c.seg)
        alog__seg_unref(c.seg);
    alog__leave(log);
    if (c.j >= 0 && now_end < c.end_before) {
        alog__watch_fire_above(log, now_end); /* parked readers past it look again */
        kc_log_debug("alog %s: truncated to %" PRId64 " (asked %" PRId64 "): %" PRId64
                    " offset(s), %" PRIu64 " bytes, %d segment(s) deleted",
                    log->dir, now_end, offset, c.end_before - now_end, c.bytes, c.deleted);
    }
    if (end)
        *end = now_end;
    return rc;
}

/*
 * fault.c - after a failed fsync: what the log still knows, what it must forget, and how
 * it comes back without being reopened (alog_recover).
 *
 * When fdatasync fails, the kernel may already have given up on the dirty pages it could
 * not write: Linux marks them clean and keeps them, so a read still returns the new bytes
 * while the disk holds old ones (or zeros), and a later fsync succeeds without writing
 * them ("fsyncgate"). So the flusher fails the log (flusher.c): appends and waiters get
 * -EIO, and reads are served only below the durable offset, the last point an fsync
 * vouched for. Everything after it is suspect:
 *
 *   segment k   [ durable ......................|  suspect ......................... ]
 *               0                          durable position                   committed size
 *   segment k+1 [  suspect ........................................ ]   (rolled after it)
 *
 * alog_recover, once the fault has cleared (a broker calls it from time to time):
 *
 *   1. sync     fdatasync every segment holding suspect bytes, fsync the directory. While
 *               the fault lasts this fails: the log stays failed, try again later.
 *   2. forget   posix_fadvise(DONTNEED) from the durable position to the end of each
 *               suspect segment: the cached pages go, the next read comes from the disk.
 *   3. verify   re-read the suspect bytes as open-time recovery does (length, magic,
 *               offset continuity, CRC-32C): a read error here also means "not yet".
 *   4. repair   at the first bad byte: rebuild that segment (indexes from scratch, the
 *               .log truncated there) and delete every later segment; a failed write's
 *               leftovers past the committed end are cut too.
 *   5. commit   fdatasync, fsync the directory, write the recovery point; only then is
 *               the failure cleared and the new end (possibly lower) published durable.
 *
 * Records appended (acks=1) but never made durable: if the disk kept them they stay, now
 * durable. If not they are cut, and their offsets are given again to the next appends: the
 * log end goes DOWN. A consumer may have read them before the fsync failed (while the log
 * is failed reads stop at the durable offset; before, nobody knew). That is Kafka's acks=1
 * leader loss: the new leader lacks what the old one acknowledged; consumers past its end
 * get OFFSET_OUT_OF_RANGE and reset. Durability waiters still pending get -EIO: nobody is
 * told "on disk" about records that were cut.
 *
 * Locks, in this order, for the whole call: the append lock (appends fail fast with -EIO
 * while the log is failed, so no producer queues on it), the retention lock (the segment
 * array changes), the flush lock (no flush or checkpoint pass meanwhile), and the recovery
 * lock exclusive (a file is truncated and indexes are remapped under any reader, so
 * readers are refused with -EIO until it is done).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_time.h"

struct repair {
    uint8_t *buf;       /* ALOG_SCAN_CHUNK bytes for verification */
    int64_t durable;    /* the durable offset when the repair started */
    int first;          /* the first segment holding suspect bytes (nsegs: none) */
    uint64_t from;      /* where its suspect bytes start */
    int64_t expect;     /* the offset of the batch at from */
    int bad_seg;        /* the segment holding the first bad byte, -1 if none */
    uint64_t bad_pos;   /* the first bad byte in it */
    uint64_t truncated; /* bytes cut or deleted */
    int deleted;        /* whole segments deleted */
};

/*
 * The segment array only changes under the append lock (a roll), the retention lock
 * (retention) or here, and this file holds both: it reads log->segs without segs_lock and
 * takes segs_lock only to change it.
 */

/* 1. fdatasync every segment with offsets at or past the durable one; fsync the dir. */
static int sync_suspects(struct alog *log, int64_t durable)
{
    for (int i = 0; i < log->nsegs; i++) {
        if (alog__seg_next(log->segs[i]) <= durable)
            continue;
        int rc = log->io.fdatasync(log->io.ctx, log->segs[i]->fd);
        atomic_fetch_add(&log->n_fsyncs, 1);
        if (rc)
            return rc;
    }
    atomic_fetch_add(&log->n_dir_fsyncs, 1);
    return kc_fsync_dir(log->dir);
}

/* Where the suspect bytes begin: the first segment past durable, the position in it. */
static int suspect_start(struct alog *log, struct repair *r)
{
    int i = 0;
    while (i < log->nsegs && alog__seg_next(log->segs[i]) <= r->durable)
        i++;
    r->first = i;
    r->from = 0;
    r->expect = i < log->nsegs ? log->segs[i]->base : r->durable;
    if (i == log->nsegs || log->segs[i]->base >= r->durable)
        return 0;
    /* The headers below the durable position are on disk and as cached: walk them. */
    int rc = alog__seg_boundary(log->segs[i], r->durable, &r->from);
    if (rc == KC_ECORRUPT) {
        kc_log_warn("alog %s: no batch starts at durable offset %" PRId64 ": re-reading "
                    "segment %" PRId64 " whole",
                    log->dir, r->durable, log->segs[i]->base);
        return 0; /* from 0: the whole segment is verified, from the disk */
    }
    if (rc == 0)
        r->expect = r->durable;
    return rc;
}

/* 2. Drop the cached pages of the suspect bytes (whole pages, from the one holding from). */
static int forget(struct alog *log, const struct repair *r)
{
    uint64_t page = mm_page_size();
    for (int i = r->first; i < log->nsegs; i++) {
        uint64_t from = i == r->first ? r->from / page * page : 0;
        int rc = log->io.drop_cache(log->io.ctx, log->segs[i]->fd, (off_t)from);
        if (rc)
            return rc;
    }
    return 0;
}

/* 3. Re-read the suspect bytes, now from the disk; find the first bad byte, if any. */
static int verify(struct alog *log, struct repair *r)
{
    int64_t expect = r->expect;
    r->bad_seg = -1;
    for (int i = r->first; i < log->nsegs; i++) {
        struct alog_segment *seg = log->segs[i];
        if (i > r->first && seg->base != expect) { /* a hole: the log ends before it */
            r->bad_seg = i - 1;
            r->bad_pos = alog__seg_size(log->segs[i - 1]);
            return 0;
        }
        uint64_t bad, from = i == r->first ? r->from : 0;
        int rc = alog__seg_verify(log, seg, from, expect, false, r->buf, &bad, &expect);
        if (rc)
            return rc; /* a read error: the disk is not back yet */
        if (bad < alog__seg_size(seg)) {
            r->bad_seg = i;
            r->bad_pos = bad;
            return 0;
        }
    }
    return 0;
}

/* After a cut: the last good segment is sealed and new records start a new file. */
static int fresh_segment(struct alog *log, struct repair *r)
{
    struct alog_segment *seg = log->segs[r->bad_seg];
    int64_t end = alog__seg_next(seg);
    bool emptied = alog__seg_size(seg) == 0; /* cut at 0: it goes too, a new file replaces it */
    r->deleted += emptied;
    int rc = alog__segs_drop_from(log, emptied ? r->bad_seg : r->bad_seg + 1);
    if (rc == 0 && !emptied && seg->oidx.file.writable) {
        rc = alog__seg_seal(seg); /* rebuilt: trim its indexes like any rolled segment */
        seg->index_synced = false; /* new files: the checkpoint syncs them before vouching */
    }
    struct alog_segment *fresh = NULL;
    if (rc == 0)
        rc = alog__seg_create(log, end, &fresh);
    if (rc == 0 && (rc = alog__segs_push(log, fresh)) != 0) {
        (void)alog__seg_unlink(fresh); /* empty and unpublished: best effort */
        alog__seg_unref(fresh);
    }
    if (rc)
        return rc; /* the log stays failed; the next attempt finds the same cut */
    log->active = fresh;
    log->tail_dirty = false;
    return 0;
}

/*
 * 4. Cut the log at the first bad byte: rebuild that segment (truncated there), empty and
 * delete every later one, then start a fresh segment file at the new end. A slice handed
 * out before the cut (a sendfile still queued) then reads the bytes it was given or comes
 * up short: the bytes it covered are never rewritten with other records under the same
 * offsets, because new records go to a new file (a new inode, even under an old name).
 */
static int repair(struct alog *log, struct repair *r)
{
    struct alog_segment *seg = log->segs[r->bad_seg];
    int rc = 0;
    if (r->bad_pos < alog__seg_size(seg)) {
        uint64_t cut = 0;
        rc = alog__seg_rebuild(log, seg, r->buf, &cut);
        r->truncated += cut;
    }
    for (int i = r->bad_seg + 1; rc == 0 && i < log->nsegs; i++) {
        kc_log_warn("alog %s: deleting segment %" PRId64 " after the first bad byte", log->dir,
                    log->segs[i]->base);
        r->truncated += alog__seg_size(log->segs[i]);
        r->deleted++;
        rc = alog__seg_truncate(log, log->segs[i], 0); /* slices into it read short */
    }
    return rc ? rc : fresh_segment(log, r);
}

/* A failed write may have left bytes past the active segment's committed end: cut them. */
static int cut_leftovers(struct alog *log, struct repair *r)
{
    struct alog_segment *seg = log->active;
    struct stat st;
    if (fstat(seg->fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size <= alog__seg_size(seg))
        return 0;
    int rc = alog__seg_truncate(log, seg, alog__seg_size(seg));
    if (rc == 0) {
        r->truncated += (uint64_t)st.st_size - alog__seg_size(seg);
        log->tail_dirty = false;
    }
    return rc;
}

/* Durability waiters still queued belong to the failure: -EIO, whatever comes next. */
static void doom_waiters(struct alog *log)
{
    struct alog_waiter *w;
    pthread_mutex_lock(&log->wait_lock);
    TAILQ_FOREACH(w, &log->waiters, link)
        w->err = w->err ? w->err : -EIO;
    pthread_mutex_unlock(&log->wait_lock);
    if (log->flusher)
        alog__flusher_kick_log(log); /* callbacks run on the flusher thread */
}

/* 5. Make the repaired log durable and vouch for it; then it is healthy again. */
static int commit(struct alog *log, struct repair *r)
{
    int rc = 0;
    int from = r->first < log->nsegs ? r->first : log->nsegs - 1;
    for (int i = from; rc == 0 && i < log->nsegs; i++) { /* truncated, rebuilt, created */
        rc = log->io.fdatasync(log->io.ctx, log->segs[i]->fd);
        atomic_fetch_add(&log->n_fsyncs, 1);
    }
    if (rc == 0) {
        rc = kc_fsync_dir(log->dir); /* truncations and deletions */
        atomic_fetch_add(&log->n_dir_fsyncs, 1);
    }
    if (rc)
        return rc;
    atomic_store(&log->dir_dirty, false);
    int64_t end = alog__seg_next(log->active);
    if (alog__start(log) > end)
        atomic_store(&log->start_offset, end); /* only if the disk lost durable data too */
    atomic_store_explicit(&log->end_offset, end, memory_order_release);
    atomic_fetch_add(&log->changes, 1); /* the end may have gone down (alog_changes) */
    /* The durability point of the repair: every offset below end is on disk. */
    atomic_store_explicit(&log->durable_offset, end, memory_order_release);
    if ((rc = alog__checkpoint_recovery(log)) != 0)
        return rc;
    doom_waiters(log);
    atomic_store(&log->last_flush_ms, kc_mono_ms());
    atomic_fetch_add(&log->fault_truncated_bytes, (int64_t)r->truncated);
    atomic_fetch_add(&log->n_fault_recoveries, 1);
    atomic_store_explicit(&log->failed, 0, memory_order_release); /* healthy from here */
    return 0;
}

static int recover_locked(struct alog *log, struct repair *r)
{
    int rc = sync_suspects(log, r->durable);
    if (rc == 0)
        rc = suspect_start(log, r);
    if (rc == 0)
        rc = forget(log, r);
    if (rc == 0)
        rc = verify(log, r);
    if (rc == 0 && r->bad_seg >= 0)
        rc = repair(log, r);
    if (rc == 0)
        rc = cut_leftovers(log, r);
    return rc == 0 ? commit(log, r) : rc;
}

static void report(struct alog *log, const struct repair *r, int64_t end_before, int rc)
{
    if (rc) {
        kc_log_warn("alog %s: recovery from a failed fsync did not complete (%s): the log "
                    "stays failed",
                    log->dir, kc_strerror(rc));
        return;
    }
    int64_t end = alog__end(log);
    int64_t lost = end_before > end ? end_before - end : 0;
    atomic_fetch_add(&log->fault_discarded, lost);
    if (lost == 0) {
        kc_log_warn("alog %s: recovered from a failed fsync: the disk held every record past "
                    "durable offset %" PRId64 "; cut %" PRIu64 " bytes; log is [%" PRId64
                    ", %" PRId64 ")",
                    log->dir, r->durable, r->truncated, alog__start(log), end);
        return;
    }
    kc_log_warn("alog %s: recovered from a failed fsync: re-read from durable offset %" PRId64
                ", discarded %" PRId64 " offset(s) [%" PRId64 ", %" PRId64 ") the disk did not "
                "hold (cut %" PRIu64 " bytes, deleted %d segment(s)); log is [%" PRId64
                ", %" PRId64 ")",
                log->dir, r->durable, lost, end, end + lost, r->truncated, r->deleted,
                alog__start(log), end);
}

int alog_recover(struct alog *log)
{
    if (!atomic_load_explicit(&log->failed, memory_order_acquire))
        return 0; /* also every closed log of a store: a failed one is never closed */
    int rc = alog__enter(log);
    if (rc)
        return rc;
    struct repair r = {.buf = malloc(ALOG_SCAN_CHUNK)};
    if (!r.buf) {
        alog__leave(log);
        return -ENOMEM;
    }
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->retain_lock);
    pthread_mutex_lock(&log->flush_lock);
    pthread_rwlock_wrlock(&log->recover_lock); /* waits for readers; refuses new ones */
    int64_t end_before = alog__end(log);
    r.durable = alog_durable_offset(log);
    if (atomic_load(&log->failed)) { /* still: another caller may have just recovered it */
        rc = recover_locked(log, &r);
        report(log, &r, end_before, rc);
        if (rc == 0 && alog_end_offset(log) != end_before)
            rc = alog__psnap_rebuild(log); /* records the state had seen were cut */
    }
    pthread_rwlock_unlock(&log->recover_lock);
    pthread_mutex_unlock(&log->flush_lock);
    pthread_mutex_unlock(&log->retain_lock);
    pthread_mutex_unlock(&log->append_lock);
    free(r.buf);
    alog__leave(log);
    return rc;
}

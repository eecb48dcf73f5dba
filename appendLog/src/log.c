/*
 * log.c - a partition's log as a whole: configuration, open and close, the segment array,
 * the figures. The work is elsewhere: append.c writes, read.c finds, recover.c loads and
 * repairs, flusher.c makes durable, retain.c deletes.
 *
 * Close is the mirror image of a crash: everything recovery would have to reconstruct is
 * written down instead, in this order, each step durable before the next:
 *
 *   1. flush      fdatasync every .log with data not yet on disk (through the flusher, so
 *                 waiters are released from its thread, as alog.h promises)
 *   2. seal       trim the active segment's indexes to their used size, msync + fsync them
 *   3. checkpoint recovery-point-offset-checkpoint = end, log-start-offset-checkpoint,
 *                 and the producer state as <end>.snapshot (producer_files.c)
 *   4. marker     .kafka_cleanshutdown: "trust all of the above"
 *
 * A log that failed an fsync skips 2-4: the next open must run recovery.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"

void alog_config_init(struct alog_config *cfg)
{
    cfg->segment_bytes = ALOG_SEGMENT_BYTES_DEFAULT;
    cfg->segment_ms = ALOG_SEGMENT_MS_DEFAULT;
    cfg->index_interval_bytes = ALOG_INDEX_INTERVAL_DEFAULT;
    cfg->index_max_bytes = ALOG_INDEX_MAX_BYTES_DEFAULT;
    cfg->retention_bytes = ALOG_RETENTION_BYTES_DEFAULT;
    cfg->retention_ms = ALOG_RETENTION_MS_DEFAULT;
    cfg->flush_interval_ms = ALOG_FLUSH_INTERVAL_MS_DEFAULT;
    cfg->flush_interval_messages = ALOG_FLUSH_INTERVAL_MSGS_DEFAULT;
    cfg->max_batch_bytes = ALOG_MAX_BATCH_BYTES_DEFAULT;
    cfg->producer_id_expiration_ms = ALOG_PRODUCER_ID_EXPIRATION_MS_DEFAULT;
}

static int config_check(const struct alog_config *cfg)
{
    if (cfg->segment_bytes < ALOG_SEGMENT_BYTES_MIN || cfg->segment_bytes > ALOG_SEGMENT_BYTES_MAX)
        return -EINVAL;
    if (cfg->index_max_bytes < ALOG_INDEX_MAX_BYTES_MIN || cfg->segment_ms <= 0)
        return -EINVAL;
    if (cfg->max_batch_bytes < KC_BATCH_HEADER_SIZE || cfg->max_batch_bytes > INT32_MAX)
        return -EINVAL;
    if (cfg->flush_interval_ms < -1 || cfg->flush_interval_messages < -1 ||
        cfg->retention_ms < -1 || cfg->retention_bytes < -1 || cfg->producer_id_expiration_ms < 1)
        return -EINVAL;
    return 0;
}

static ssize_t default_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    (void)ctx;
    return kc_pwrite_all(fd, buf, n, off);
}

static int default_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return kc_fdatasync(fd);
}

static int default_ftruncate(void *ctx, int fd, off_t size)
{
    (void)ctx;
    return ftruncate(fd, size) == 0 ? 0 : -errno;
}

/* DONTNEED drops the clean, unmapped pages of the range (dirty ones are written first and
 * kept): the next read of those bytes comes from the disk. */
static int default_drop_cache(void *ctx, int fd, off_t from)
{
    (void)ctx;
    return -posix_fadvise(fd, from, 0, POSIX_FADV_DONTNEED); /* returns the errno itself */
}

void alog__set_io(struct alog *log, const struct alog_io *io)
{
    static const struct alog_io defaults = {default_pwrite, default_fdatasync, default_ftruncate,
                                            default_drop_cache, NULL};
    log->io = io ? *io : defaults;
    if (!log->io.pwrite) /* a test replaces some; the others keep their defaults */
        log->io.pwrite = defaults.pwrite;
    if (!log->io.fdatasync)
        log->io.fdatasync = defaults.fdatasync;
    if (!log->io.ftruncate)
        log->io.ftruncate = defaults.ftruncate;
    if (!log->io.drop_cache)
        log->io.drop_cache = defaults.drop_cache;
}

static void log_free(struct alog *log)
{
    for (int i = 0; i < log->nsegs; i++)
        alog__seg_unref(log->segs[i]);
    free(log->segs);
    struct alog_waiter *w;
    while ((w = TAILQ_FIRST(&log->waiters)) != NULL) { /* only after a failed open */
        TAILQ_REMOVE(&log->waiters, w, link);
        free(w);
    }
    pthread_mutex_destroy(&log->append_lock);
    pthread_mutex_destroy(&log->segs_lock);
    pthread_mutex_destroy(&log->flush_lock);
    pthread_mutex_destroy(&log->retain_lock);
    pthread_mutex_destroy(&log->wait_lock);
    pthread_mutex_destroy(&log->watch_lock);
    pthread_rwlock_destroy(&log->recover_lock);
    alog__pstate_fini(&log->pstate);
    if (log->lock_fd >= 0)
        (void)close(log->lock_fd); /* a read-only directory fd; closing drops the flock */
    free(log->dir);
    free(log);
}

static struct alog *log_alloc(const char *dir, const struct alog_config *cfg)
{
    struct alog *log = calloc(1, sizeof(*log));
    if (!log)
        return NULL;
    log->dir = strdup(dir);
    if (!log->dir) {
        free(log);
        return NULL;
    }
    size_t n = strlen(log->dir);
    while (n > 1 && log->dir[n - 1] == '/')
        log->dir[--n] = '\0';
    log->cfg = *cfg;
    log->lock_fd = -1;
    alog__set_io(log, NULL);
    pthread_mutex_init(&log->append_lock, NULL);
    pthread_mutex_init(&log->segs_lock, NULL);
    pthread_mutex_init(&log->flush_lock, NULL);
    pthread_mutex_init(&log->retain_lock, NULL);
    pthread_mutex_init(&log->wait_lock, NULL);
    pthread_mutex_init(&log->watch_lock, NULL);
    /* Writer-preferring: once alog_recover waits, new readers are refused (tryrdlock
     * fails), so a stream of readers cannot keep a recovery out. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&log->recover_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    TAILQ_INIT(&log->waiters);
    alog__pstate_init(&log->pstate);
    atomic_init(&log->snap_unsynced, -1);
    return log;
}

/*
 * Two opens of one log would interleave appends and recoveries: the directory is locked
 * (flock: per open file description, so a second open in this process is refused too, and
 * the lock dies with the process). Kafka locks each data directory with a ".lock" file.
 */
static int lock_dir(struct alog *log)
{
    log->lock_fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->lock_fd < 0)
        return -errno;
    if (flock(log->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int err = errno == EWOULDBLOCK ? -EBUSY : -errno;
    if (err == -EBUSY)
        kc_log_error("alog %s: already open (in this or another process)", log->dir);
    return err;
}

int alog_open(struct alog **out, const char *dir, const struct alog_config *cfg,
              struct alog_flusher *flusher)
{
    struct alog_config defaults;
    if (!cfg) {
        alog_config_init(&defaults);
        cfg = &defaults;
    }
    int rc = config_check(cfg);
    if (rc)
        return rc;
    if ((rc = kc_mkdir_p(dir, 0755)) != 0)
        return rc;
    struct alog *log = log_alloc(dir, cfg);
    if (!log)
        return -ENOMEM;
    rc = lock_dir(log);
    if (rc == 0)
        rc = alog__load(log);
    if (rc == 0 && flusher) {
        rc = alog__flusher_register(flusher, log);
        log->flusher = rc == 0 ? flusher : NULL;
    }
    if (rc) {
        log_free(log);
        return rc;
    }
    *out = log;
    return 0;
}

/* Steps 2-4 of a clean close (see the top of this file); append_lock held. */
static int close_cleanly(struct alog *log)
{
    struct alog_segment *seg = log->active;
    int rc = alog__seg_seal(seg);
    if (rc == 0 && log->tail_dirty)
        rc = alog__seg_truncate(log, seg, alog__seg_size(seg));
    pthread_mutex_lock(&log->flush_lock);
    for (int i = 0; i < log->nsegs && rc == 0; i++) {
        if (!log->segs[i]->index_synced)
            rc = alog__seg_index_sync(log->segs[i]);
        log->segs[i]->index_synced = rc == 0;
    }
    if (rc == 0)
        rc = alog__checkpoint_recovery(log);
    pthread_mutex_unlock(&log->flush_lock);
    if (rc == 0)
        rc = alog__checkpoint_write(log, ALOG_LOG_START_FILE, alog_start_offset(log));
    int64_t end = alog_end_offset(log); /* the producer state as of the end, durable */
    if (rc == 0 && (log->pstate.dirty || log->pstate.snap_offset != end))
        rc = alog__psnap_write(log, end, true);
    if (rc == 0)
        rc = alog__marker_write(log); /* the commit point of a clean shutdown */
    return rc;
}

int alog_close(struct alog *log)
{
    if (!log)
        return 0;
    if (atomic_load(&log->nwatches) != 0) /* the caller's memory, linked here: a bug */
        kc_log_error("alog %s: closed with %d end watches still armed", log->dir,
                     atomic_load(&log->nwatches));
    int rc = log->flusher ? alog__flusher_close(log->flusher, log) : alog__flush(log, false);
    pthread_mutex_lock(&log->append_lock);
    if (rc == 0 && atomic_load(&log->failed) == 0) {
        rc = close_cleanly(log);
        if (rc)
            kc_log_warn("alog %s: unclean close (%s): the next open recovers", log->dir,
                        kc_strerror(rc));
    }
    pthread_mutex_unlock(&log->append_lock);
    log_free(log);
    return rc;
}

void alog__abandon(struct alog *log)
{
    if (log->flusher) {
        log->fl_abandon = true; /* read by the flusher after alog__flusher_close's lock */
        (void)alog__flusher_close(log->flusher, log);
    }
    log_free(log);
}

/* ---- the segment array ------------------------------------------------------------- */

int alog__segs_push(struct alog *log, struct alog_segment *seg)
{
    pthread_mutex_lock(&log->segs_lock);
    int rc = 0;
    if (log->nsegs == log->cap) {
        int cap = log->cap ? log->cap * 2 : 8;
        struct alog_segment **a = reallocarray(log->segs, (size_t)cap, sizeof(*a));
        if (!a)
            rc = -ENOMEM;
        else {
            log->segs = a;
            log->cap = cap;
        }
    }
    if (rc == 0)
        log->segs[log->nsegs++] = seg;
    pthread_mutex_unlock(&log->segs_lock);
    return rc;
}

struct alog_segment *alog__segs_find(struct alog *log, int64_t offset)
{
    struct alog_segment *seg = NULL;
    pthread_mutex_lock(&log->segs_lock);
    int lo = 0, hi = log->nsegs - 1;
    while (lo <= hi) { /* the greatest base <= offset */
        int mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= offset) {
            seg = log->segs[mid];
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (seg)
        alog__seg_ref(seg);
    pthread_mutex_unlock(&log->segs_lock);
    return seg;
}

int alog__segs_drop_from(struct alog *log, int from)
{
    int rc = 0;
    pthread_mutex_lock(&log->segs_lock); /* held across the unlinks: recovery only, rare */
    while (log->nsegs > from) {
        struct alog_segment *seg = log->segs[--log->nsegs];
        int r = alog__seg_unlink(seg);
        rc = rc ? rc : r;
        alog__seg_unref(seg); /* the array's reference; slices keep theirs */
    }
    pthread_mutex_unlock(&log->segs_lock);
    return rc;
}

int alog__segs_snapshot(struct alog *log, struct alog_segment **out, int cap)
{
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs < cap ? log->nsegs : cap;
    for (int i = 0; i < n; i++) {
        out[i] = log->segs[i];
        alog__seg_ref(out[i]);
    }
    pthread_mutex_unlock(&log->segs_lock);
    return n;
}

bool alog__is_active(struct alog *log, const struct alog_segment *seg)
{
    pthread_mutex_lock(&log->segs_lock);
    bool active = log->nsegs > 0 && log->segs[log->nsegs - 1] == seg;
    pthread_mutex_unlock(&log->segs_lock);
    return active;
}

void alog__path(const struct alog *log, char *out, size_t cap, const char *name)
{
    if (kc_path_join(out, cap, log->dir, name) != 0)
        out[0] = '\0'; /* cannot happen: the dir was opened, names are short constants */
}

/* ---- figures ----------------------------------------------------------------------- */

int64_t alog_start_offset(struct alog *log)
{
    return atomic_load_explicit(&log->start_offset, memory_order_acquire);
}

int64_t alog_end_offset(struct alog *log)
{
    return atomic_load_explicit(&log->end_offset, memory_order_acquire);
}

int64_t alog_durable_offset(struct alog *log)
{
    return atomic_load_explicit(&log->durable_offset, memory_order_acquire);
}

void alog_info(struct alog *log, struct alog_info *info)
{
    memset(info, 0, sizeof(*info));
    info->start_offset = alog_start_offset(log);
    info->end_offset = alog_end_offset(log);
    info->durable_offset = alog_durable_offset(log);
    pthread_rwlock_rdlock(&log->recover_lock); /* indexes may be remapped by alog_recover */
    pthread_mutex_lock(&log->segs_lock);
    for (int i = 0; i < log->nsegs; i++) {
        info->bytes += alog__seg_size(log->segs[i]);
        info->index_entries += (int64_t)mm_index_entries(&log->segs[i]->oidx);
        info->timeindex_entries += (int64_t)mm_index_entries(&log->segs[i]->tidx);
    }
    info->segments = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    pthread_rwlock_unlock(&log->recover_lock);
    info->recovered = log->recovered;
    info->recovery_truncated_bytes = log->recovery_truncated_bytes;
    info->recovery_deleted_segments = log->recovery_deleted_segments;
    info->indexes_rebuilt = log->indexes_rebuilt;
    info->fsyncs = atomic_load(&log->n_fsyncs);
    info->dir_fsyncs = atomic_load(&log->n_dir_fsyncs);
    info->flushes = atomic_load(&log->n_flushes);
    info->failed = atomic_load(&log->failed);
    info->fault_recoveries = atomic_load(&log->n_fault_recoveries);
    info->fault_discarded_offsets = atomic_load(&log->fault_discarded);
    info->fault_truncated_bytes = atomic_load(&log->fault_truncated_bytes);
}

void alog_counters(struct alog *log, struct alog_counters *c)
{
    c->start_offset = alog_start_offset(log);
    c->end_offset = alog_end_offset(log);
    c->durable_offset = alog_durable_offset(log);
    c->appended_bytes = atomic_load_explicit(&log->appended_bytes, memory_order_relaxed);
    c->appended_records = atomic_load_explicit(&log->appended_records, memory_order_relaxed);
    c->durable_bytes = atomic_load_explicit(&log->durable_bytes, memory_order_relaxed);
}

int alog_segments(struct alog *log, struct alog_segment_info *out, int cap)
{
    pthread_rwlock_rdlock(&log->recover_lock);
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs;
    for (int i = 0; i < n && i < cap; i++) {
        struct alog_segment *seg = log->segs[i];
        out[i].base_offset = seg->base;
        out[i].next_offset = alog__seg_next(seg);
        out[i].bytes = alog__seg_size(seg);
        out[i].index_entries = (int64_t)mm_index_entries(&seg->oidx);
        out[i].timeindex_entries = (int64_t)mm_index_entries(&seg->tidx);
        out[i].max_timestamp = atomic_load_explicit(&seg->max_ts, memory_order_acquire);
    }
    pthread_mutex_unlock(&log->segs_lock);
    pthread_rwlock_unlock(&log->recover_lock);
    return n;
}

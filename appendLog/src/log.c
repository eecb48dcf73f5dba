/*
 * log.c - a partition's log as a whole: configuration, open and close, the segment array,
 * the figures. The work is elsewhere: append.c writes, read.c finds, recover.c loads and
 * repairs, flusher.c makes durable, retain.c deletes; a store's logs live and die in
 * life.c.
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
 * A log that failed an fsync skips 2-4: the next open must run recovery. (A store's logs
 * do 3 and 4 once for the whole data directory: store.c.)
 *
 * Live settings. The configuration can change while the log is in use (alog_set_config).
 * Writers hold cfg_lock AND the append lock, so the append path, which holds the append
 * lock, reads cfg directly; everyone else takes a copy under cfg_lock (alog__cfg), and the
 * few settings read on hot paths without either lock have atomic copies (alog_int.h).
 * cfg_lock is a LEAF: a writer takes the append lock first, and nothing is taken under
 * cfg_lock, so alog__cfg may be called holding any other lock (the cleaner holds the
 * retention lock, alog_recover and alog_truncate the append and retention locks: with the
 * opposite order here those three would close a cycle).
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
    cfg->cleanup_policy = ALOG_CLEANUP_DELETE;
    cfg->min_compaction_lag_ms = ALOG_MIN_COMPACTION_LAG_MS_DEFAULT;
    cfg->max_compaction_lag_ms = ALOG_MAX_COMPACTION_LAG_MS_DEFAULT;
    cfg->delete_retention_ms = ALOG_DELETE_RETENTION_MS_DEFAULT;
    cfg->min_cleanable_ratio = ALOG_MIN_CLEANABLE_RATIO_DEFAULT;
}

int alog_cleanup_policy_parse(const char *s, unsigned *policy)
{
    static const struct {
        const char *text;
        unsigned policy;
    } names[] = {{"delete", ALOG_CLEANUP_DELETE},
                 {"compact", ALOG_CLEANUP_COMPACT},
                 {"compact,delete", ALOG_CLEANUP_COMPACT | ALOG_CLEANUP_DELETE},
                 {"delete,compact", ALOG_CLEANUP_COMPACT | ALOG_CLEANUP_DELETE}};
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].text) == 0) {
            *policy = names[i].policy;
            return 0;
        }
    }
    return -EINVAL;
}

int alog_config_check(const struct alog_config *cfg)
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
    if (cfg->cleanup_policy == 0 ||
        (cfg->cleanup_policy & ~(unsigned)(ALOG_CLEANUP_DELETE | ALOG_CLEANUP_COMPACT)))
        return -EINVAL;
    if (cfg->min_compaction_lag_ms < 0 || cfg->max_compaction_lag_ms < 1 ||
        cfg->delete_retention_ms < 0)
        return -EINVAL;
    if (!(cfg->min_cleanable_ratio >= 0.0 && cfg->min_cleanable_ratio <= 1.0))
        return -EINVAL; /* also refuses NaN */
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
    static const struct alog_io defaults = {.pwrite = default_pwrite,
                                            .fdatasync = default_fdatasync,
                                            .ftruncate = default_ftruncate,
                                            .drop_cache = default_drop_cache};
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

/* ---- the configuration ------------------------------------------------------------- */

static void publish_copies(struct alog *log, const struct alog_config *cfg)
{
    atomic_store(&log->flush_ms, cfg->flush_interval_ms);
    atomic_store(&log->flush_msgs, cfg->flush_interval_messages);
    atomic_store(&log->max_batch, cfg->max_batch_bytes);
    atomic_store(&log->index_interval, cfg->index_interval_bytes);
    atomic_store(&log->index_max, cfg->index_max_bytes);
    atomic_store(&log->policy, cfg->cleanup_policy);
}

void alog__cfg(struct alog *log, struct alog_config *out)
{
    pthread_mutex_lock(&log->cfg_lock);
    *out = log->cfg;
    pthread_mutex_unlock(&log->cfg_lock);
}

void alog_get_config(struct alog *log, struct alog_config *cfg)
{
    alog__cfg(log, cfg);
}

int alog_set_config(struct alog *log, const struct alog_config *cfg)
{
    int rc = alog_config_check(cfg);
    if (rc)
        return rc;
    pthread_mutex_lock(&log->append_lock); /* the append path reads cfg under it */
    pthread_mutex_lock(&log->cfg_lock);    /* a leaf: see the top of this file */
    log->cfg = *cfg;
    publish_copies(log, cfg);
    pthread_mutex_unlock(&log->cfg_lock);
    pthread_mutex_unlock(&log->append_lock);
    if (!alog__try_pin(log))
        return 0; /* a store's log not open: its flusher link is the opening thread's */
    if (log->flusher)
        alog__flusher_kick_log(log); /* flush.ms / flush.messages may be due now */
    alog__leave(log);
    return 0;
}

/* ---- the object -------------------------------------------------------------------- */

void alog__free(struct alog *log)
{
    alog__drop_segments(log);
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
    pthread_mutex_destroy(&log->life_lock);
    pthread_mutex_destroy(&log->cfg_lock);
    pthread_cond_destroy(&log->life_cond);
    pthread_rwlock_destroy(&log->recover_lock);
    alog__pstate_fini(&log->pstate);
    if (log->lock_fd >= 0)
        (void)close(log->lock_fd); /* a read-only directory fd; closing drops the flock */
    free(log->dir);
    free(log);
}

static void init_locks(struct alog *log)
{
    pthread_mutex_init(&log->append_lock, NULL);
    pthread_mutex_init(&log->segs_lock, NULL);
    pthread_mutex_init(&log->flush_lock, NULL);
    pthread_mutex_init(&log->retain_lock, NULL);
    pthread_mutex_init(&log->wait_lock, NULL);
    pthread_mutex_init(&log->watch_lock, NULL);
    pthread_mutex_init(&log->life_lock, NULL);
    pthread_mutex_init(&log->cfg_lock, NULL);
    pthread_cond_init(&log->life_cond, NULL);
    /* Writer-preferring: once alog_recover waits, new readers are refused (tryrdlock
     * fails), so a stream of readers cannot keep a recovery out. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&log->recover_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
}

struct alog *alog__alloc(const char *dir, const struct alog_config *cfg)
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
    const char *slash = strrchr(log->dir, '/');
    log->name = slash ? slash + 1 : log->dir;
    log->cfg = *cfg;
    publish_copies(log, cfg);
    log->lock_fd = -1;
    log->slot = -1;
    atomic_init(&log->cleaned_offset, -1);
    atomic_init(&log->start_pending, -1);
    atomic_init(&log->horizon, INT64_MAX);
    atomic_init(&log->retain_limit, INT64_MAX);
    log->summary.active_base = -1;
    atomic_init(&log->state, ALOG_OPEN);
    atomic_init(&log->offsets_known, true);
    alog__set_io(log, NULL);
    init_locks(log);
    TAILQ_INIT(&log->waiters);
    alog__pstate_init(&log->pstate);
    atomic_init(&log->snap_unsynced, -1);
    return log;
}

/*
 * Two opens of one log would interleave appends and recoveries: the directory is locked
 * (flock: per open file description, so a second open in this process is refused too, and
 * the lock dies with the process). Kafka locks each data directory with a ".lock" file;
 * so does a store (store.c), and its logs need no lock of their own.
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
    int rc = alog_config_check(cfg);
    if (rc)
        return rc;
    if ((rc = kc_mkdir_p(dir, 0755)) != 0)
        return rc;
    struct alog *log = alog__alloc(dir, cfg);
    if (!log)
        return -ENOMEM;
    rc = lock_dir(log);
    if (rc == 0)
        rc = alog__load(log, NULL);
    if (rc == 0 && flusher) {
        rc = alog__flusher_register(flusher, log);
        log->flusher = rc == 0 ? flusher : NULL;
    }
    if (rc) {
        alog__free(log);
        return rc;
    }
    *out = log;
    return 0;
}

/* Step 2 of a clean close (see the top of this file): append_lock held. */
int alog__seal_active(struct alog *log)
{
    struct alog_segment *seg = log->active;
    int rc = alog__seg_seal(seg);
    if (rc == 0 && log->tail_dirty)
        rc = alog__seg_truncate(log, seg, alog__seg_size(seg));
    pthread_mutex_lock(&log->flush_lock);
    for (int i = 0; i < log->nsegs && rc == 0; i++) {
        if (!log->segs[i]->index_synced && alog__seg_is_warm(log->segs[i]))
            rc = alog__seg_index_sync(log->segs[i]);
        log->segs[i]->index_synced = rc == 0;
    }
    pthread_mutex_unlock(&log->flush_lock);
    return rc;
}

/* Steps 2-4 of a clean close of a standalone log; append_lock held. */
static int close_cleanly(struct alog *log)
{
    int rc = alog__seal_active(log);
    pthread_mutex_lock(&log->flush_lock);
    if (rc == 0)
        rc = alog__checkpoint_recovery(log);
    pthread_mutex_unlock(&log->flush_lock);
    if (rc == 0)
        rc = alog__checkpoint_write(log, ALOG_LOG_START_FILE, alog__start(log));
    int64_t end = alog__end(log); /* the producer state as of the end, durable */
    if (rc == 0 && (log->pstate.dirty || log->pstate.snap_offset != end))
        rc = alog__psnap_write(log, end, true);
    if (rc == 0)
        rc = alog__marker_write(log); /* the commit point of a clean shutdown */
    return rc;
}

int alog__store_close_log(struct alog *log); /* store.c */

int alog_close(struct alog *log)
{
    if (!log)
        return 0;
    if (atomic_load(&log->nwatches) != 0) /* the caller's memory, linked here: a bug */
        kc_log_error("alog %s: closed with %d end watches still armed", log->dir,
                     atomic_load(&log->nwatches));
    if (log->store)
        return alog__store_close_log(log);
    int rc = log->flusher ? alog__flusher_close(log->flusher, log) : alog__flush(log, false);
    pthread_mutex_lock(&log->append_lock);
    if (rc == 0 && atomic_load(&log->failed) == 0) {
        rc = close_cleanly(log);
        if (rc)
            kc_log_warn("alog %s: unclean close (%s): the next open recovers", log->dir,
                        kc_strerror(rc));
    }
    pthread_mutex_unlock(&log->append_lock);
    alog__free(log);
    return rc;
}

void alog__abandon(struct alog *log)
{
    if (log->flusher) {
        log->fl_abandon = true; /* read by the flusher after alog__flusher_close's lock */
        (void)alog__flusher_close(log->flusher, log);
    }
    alog__free(log);
}

/* ---- the segment array ------------------------------------------------------------- */

int alog__segs_push(struct alog *log, struct alog_segment *seg)
{
    pthread_mutex_lock(&log->segs_lock);
    int rc = 0;
    if (log->nsegs == log->cap) {
        int cap = log->cap ? log->cap * 2 : 4;
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

void alog__drop_segments(struct alog *log)
{
    pthread_mutex_lock(&log->segs_lock);
    for (int i = 0; i < log->nsegs; i++)
        alog__seg_unref(log->segs[i]); /* slices keep theirs, with their descriptors */
    log->nsegs = 0;
    free(log->segs); /* an idle log keeps no array */
    log->segs = NULL;
    log->cap = 0;
    log->active = NULL;
    pthread_mutex_unlock(&log->segs_lock);
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

/* Unknown since a crash, and not opened since (an open in progress does not count: its
 * caller waits for it to finish and then knows). */
static bool end_unknown(struct alog *log)
{
    return !atomic_load_explicit(&log->offsets_known, memory_order_acquire);
}

int64_t alog_start_offset(struct alog *log)
{
    if (end_unknown(log))
        alog__learn_offsets(log); /* a crash left it unknown: open it (store.c sweeps) */
    return atomic_load_explicit(&log->start_offset, memory_order_acquire);
}

int64_t alog_end_offset(struct alog *log)
{
    if (end_unknown(log))
        alog__learn_offsets(log);
    return atomic_load_explicit(&log->end_offset, memory_order_acquire);
}

int64_t alog_durable_offset(struct alog *log)
{
    return atomic_load_explicit(&log->durable_offset, memory_order_acquire);
}

static void info_segments(struct alog *log, struct alog_info *info)
{
    pthread_rwlock_rdlock(&log->recover_lock); /* indexes may be remapped by alog_recover */
    pthread_mutex_lock(&log->segs_lock);
    for (int i = 0; i < log->nsegs; i++) {
        struct alog_segment *seg = log->segs[i];
        info->bytes += alog__seg_size(seg);
        pthread_mutex_lock(&seg->file_lock); /* a cold segment's indexes are not mapped */
        info->index_entries += (int64_t)mm_index_entries(&seg->oidx);
        info->timeindex_entries += (int64_t)mm_index_entries(&seg->tidx);
        pthread_mutex_unlock(&seg->file_lock);
    }
    info->segments = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    pthread_rwlock_unlock(&log->recover_lock);
}

void alog_info(struct alog *log, struct alog_info *info)
{
    memset(info, 0, sizeof(*info));
    info->start_offset = atomic_load(&log->start_offset);
    info->end_offset = atomic_load(&log->end_offset);
    info->durable_offset = alog_durable_offset(log);
    if (alog__try_pin(log)) { /* open: count its segments; an idle log stays closed */
        info_segments(log, info);
        alog__leave(log);
    } else {
        pthread_mutex_lock(&log->life_lock);
        info->segments = log->summary.known ? log->summary.segments : 0;
        info->bytes = log->summary.known ? log->summary.bytes : 0;
        pthread_mutex_unlock(&log->life_lock);
    }
    info->recovered = log->recovered;
    info->recovery_truncated_bytes = log->recovery_truncated_bytes;
    info->recovery_deleted_segments = log->recovery_deleted_segments;
    info->indexes_rebuilt = atomic_load(&log->indexes_rebuilt);
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

static void segment_info(struct alog *log, struct alog_segment *seg, struct alog_segment_info *o)
{
    (void)alog__seg_warm_retry(log, seg); /* a cold one is opened to be described */
    pthread_mutex_lock(&seg->file_lock);
    o->base_offset = seg->base;
    o->next_offset = alog__seg_next(seg);
    o->bytes = alog__seg_size(seg);
    o->index_entries = (int64_t)mm_index_entries(&seg->oidx);
    o->timeindex_entries = (int64_t)mm_index_entries(&seg->tidx);
    o->max_timestamp = atomic_load_explicit(&seg->max_ts, memory_order_acquire);
    pthread_mutex_unlock(&seg->file_lock);
}

int alog_segments(struct alog *log, struct alog_segment_info *out, int cap)
{
    if (alog__enter(log) != 0)
        return 0;
    pthread_rwlock_rdlock(&log->recover_lock);
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)(n ? n : 1), sizeof(*segs));
    int got = segs ? alog__segs_snapshot(log, segs, n) : 0;
    for (int i = 0; i < got; i++) {
        if (i < cap)
            segment_info(log, segs[i], &out[i]);
        alog__seg_unref(segs[i]);
    }
    free(segs);
    pthread_rwlock_unlock(&log->recover_lock);
    alog__leave(log);
    return n;
}

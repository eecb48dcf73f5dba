/*
 * retain.c - retention: delete whole oldest segments beyond retention.bytes / .ms.
 *
 *   [seg 0][seg 1][seg 2][seg 3][active]     retention.bytes = 3 segments' worth
 *    ^^^^^  ^^^^^ deleted: the log without them is still >= retention.bytes
 *                 log start offset = base of seg 2, persisted BEFORE any file goes
 *
 * Kafka's rules: by size, delete the oldest segment while the log minus that segment is
 * still at least retention.bytes; by time, delete it while its largest timestamp (or its
 * file's mtime, if no batch carried a timestamp) is more than retention.ms old. Only a
 * prefix of the log goes (the first segment kept stops the pass), never the active one,
 * and never a segment with a record at or past the retain limit (a replicated log's high
 * watermark: Kafka's retention, too, deletes only what every in-sync replica has).
 *
 * Order, for a crash at any point:
 *   1. write log-start-offset-checkpoint   crash after: the next open deletes the
 *                                           segments below the start (recover.c)
 *   2. publish start_offset                readers asking below it get KC_EOFFSET
 *   3. take the segments out of the array  new readers cannot find them
 *   4. unlink the files, fsync the dir     readers holding a slice keep their fd: the
 *                                          blocks live until the last close
 *   5. producer snapshots below the start  a crash before: the next open deletes them
 *                                          (the producers themselves stay remembered, as
 *                                          Kafka keeps them since KIP-360)
 *
 * A store's log skips step 1: rewriting the data directory's checkpoint (a line for every
 * partition) before each deletion would cost far more than the deletion. Instead step 4
 * goes oldest first with a directory fsync after each segment, so a crash can only leave
 * a SUFFIX of the segments, and the log start after it is simply the first segment left,
 * as Kafka recomputes it. (Without the fsyncs a crash could keep an older segment and
 * lose a newer one's unlink order, leaving a hole recovery would have to cut at.) A start
 * that DeleteRecords put inside a segment is in the checkpoint already (admin.c writes it
 * before publishing it), and the next open takes max(first segment's base, checkpoint).
 *
 * A closed log of a store is judged without opening it: the oldest segment alone decides
 * whether anything goes (retention takes a prefix), and its size and age were remembered
 * when the log closed (life.c). A log with one segment, the idle case, is never opened.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "store_int.h"

/* Kafka's largestTimestamp: the segment's max batch timestamp, else the file's mtime. A
 * cold segment is warmed: its largest timestamp is read from its time index. */
static int64_t largest_timestamp(struct alog *log, struct alog_segment *seg)
{
    if (alog__seg_warm_retry(log, seg) != 0)
        return INT64_MAX; /* unknown age: keep it */
    int64_t ts = atomic_load_explicit(&seg->max_ts, memory_order_acquire);
    if (ts >= 0)
        return ts;
    struct stat st;
    if (fstat(seg->fd, &st) < 0)
        return INT64_MAX;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* How many of the oldest segments (never the last) retention removes. */
static int count_expired(struct alog *log, const struct alog_config *cfg,
                         struct alog_segment **segs, int n, int64_t now_ms)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += alog__seg_size(segs[i]);
    int64_t rb = cfg->retention_bytes, rms = cfg->retention_ms;
    int k = 0;
    if (!(cfg->cleanup_policy & ALOG_CLEANUP_DELETE))
        return 0; /* compact only: the cleaner's, never retention's */
    for (; k < n - 1; k++) {
        uint64_t size = alog__seg_size(segs[k]);
        bool by_bytes = rb >= 0 && total - size >= (uint64_t)rb;
        bool by_time = rms >= 0 && now_ms - largest_timestamp(log, segs[k]) > rms;
        if (!by_bytes && !by_time)
            break;
        total -= size;
    }
    return k;
}

/* Take the k oldest segments out of the array (their array references move to out). */
static void remove_oldest(struct alog *log, struct alog_segment **out, int k)
{
    pthread_mutex_lock(&log->segs_lock);
    memcpy(out, log->segs, (size_t)k * sizeof(*out));
    memmove(log->segs, log->segs + k, (size_t)(log->nsegs - k) * sizeof(*out));
    log->nsegs -= k;
    pthread_mutex_unlock(&log->segs_lock);
}

int alog__delete_oldest(struct alog *log, int64_t start, int k)
{
    struct alog_segment **held = calloc((size_t)(k > 0 ? k : 1), sizeof(*held));
    if (!held)
        return -ENOMEM;
    /* Never backwards: DeleteRecords (admin.c) may have put the start inside segs[k]. */
    start = KC_MAX(start, alog__start(log));
    int rc = log->store ? 0 : alog__checkpoint_write(log, ALOG_LOG_START_FILE, start);
    if (rc) {
        free(held);
        return rc; /* nothing deleted: the log is as it was */
    }
    atomic_store_explicit(&log->start_offset, start, memory_order_release);
    remove_oldest(log, held, k);
    for (int i = 0; i < k; i++) {
        int r = alog__seg_unlink(held[i]);
        if (r == 0 && log->store) /* oldest first, each durable: a crash leaves a suffix */
            r = kc_fsync_dir(log->dir);
        if (r && rc == 0)
            rc = r;
        kc_log_info("alog %s: retention deleted segment %lld", log->dir, (long long)held[i]->base);
        alog__seg_unref(held[i]); /* the array's reference; slices keep theirs */
    }
    free(held);
    if (rc == 0)
        alog__psnap_trim(log, start); /* producer snapshots below the start go too */
    if (log->store) {
        alog__store_mark_dirty(log->store); /* the new start, at the next checkpoint */
        return rc;
    }
    int d = k > 0 ? kc_fsync_dir(log->dir) : 0;
    return rc ? rc : d;
}

/* How many .log files the directory holds (a closed log never opened since the start). */
static int count_segment_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        n += len == 24 && strcmp(de->d_name + 20, ".log") == 0;
    }
    (void)closedir(d); /* a directory stream: nothing to flush */
    return n;
}

/* A closed log: could retention delete anything? false only when surely not. */
static bool closed_log_may_expire(struct alog *log, const struct alog_config *cfg, int64_t now)
{
    if (!(cfg->cleanup_policy & ALOG_CLEANUP_DELETE))
        return false;
    pthread_mutex_lock(&log->life_lock);
    bool cold = atomic_load(&log->state) == ALOG_COLD;
    struct alog_summary sum = log->summary;
    pthread_mutex_unlock(&log->life_lock);
    if (!cold)
        return true; /* opening, unknown since a crash: find out the ordinary way */
    if (!sum.known) {
        int n = count_segment_files(log->dir);
        if (n >= 0 && n <= 1) {
            pthread_mutex_lock(&log->life_lock);
            log->summary = (struct alog_summary){.known = true, .segments = n, .oldest_ts = -2,
                                                 .active_base = -1};
            pthread_mutex_unlock(&log->life_lock);
        }
        return n < 0 || n > 1;
    }
    if (sum.segments <= 1)
        return false; /* never the active segment */
    if (cfg->retention_bytes >= 0 && sum.bytes - sum.oldest_bytes >= (uint64_t)cfg->retention_bytes)
        return true;
    return cfg->retention_ms >= 0 && (sum.oldest_ts < 0 || now - sum.oldest_ts > cfg->retention_ms);
}

static int retain_open(struct alog *log, const struct alog_config *cfg, int64_t now_ms,
                       int *deleted)
{
    int n;
    pthread_mutex_lock(&log->segs_lock);
    n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    if (!segs)
        return -ENOMEM;
    int rc = 0;
    n = alog__segs_snapshot(log, segs, n);
    int k = count_expired(log, cfg, segs, n, now_ms);
    int64_t limit = atomic_load(&log->retain_limit);
    while (k > 0 && segs[k]->base > limit)
        k--; /* segs[k] would become the first: every record below it must be below limit */
    if (k > 0)
        rc = alog__delete_oldest(log, segs[k]->base, k);
    for (int i = 0; i < n; i++)
        alog__seg_unref(segs[i]);
    free(segs);
    if (rc == 0)
        *deleted = k;
    return rc;
}

void alog_set_retain_limit(struct alog *log, int64_t offset)
{
    atomic_store(&log->retain_limit, offset);
}

int alog_retain(struct alog *log, int64_t now_ms, int *deleted)
{
    struct alog_config cfg;
    alog__cfg(log, &cfg);
    if (!alog__try_pin(log)) {
        if (!closed_log_may_expire(log, &cfg, now_ms)) {
            *deleted = 0;
            return 0; /* an idle log stays closed */
        }
        int rc = alog__enter(log);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&log->retain_lock);
    int rc = retain_open(log, &cfg, now_ms, deleted);
    pthread_mutex_unlock(&log->retain_lock);
    alog__leave(log);
    return rc;
}

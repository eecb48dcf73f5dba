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
 * prefix of the log goes (the first segment kept stops the pass), never the active one.
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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"

/* Kafka's largestTimestamp: the segment's max batch timestamp, else the file's mtime. */
static int64_t largest_timestamp(const struct alog_segment *seg)
{
    int64_t ts = atomic_load_explicit(&seg->max_ts, memory_order_acquire);
    if (ts >= 0)
        return ts;
    struct stat st;
    if (fstat(seg->fd, &st) < 0)
        return INT64_MAX; /* unknown age: keep it */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* How many of the oldest segments (never the last) retention removes. */
static int count_expired(const struct alog *log, struct alog_segment **segs, int n, int64_t now_ms)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += alog__seg_size(segs[i]);
    int64_t rb = log->cfg.retention_bytes, rms = log->cfg.retention_ms;
    int k = 0;
    for (; k < n - 1; k++) {
        uint64_t size = alog__seg_size(segs[k]);
        bool by_bytes = rb >= 0 && total - size >= (uint64_t)rb;
        bool by_time = rms >= 0 && now_ms - largest_timestamp(segs[k]) > rms;
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

static int delete_oldest(struct alog *log, int64_t start, int k)
{
    struct alog_segment **held = calloc((size_t)k, sizeof(*held));
    if (!held)
        return -ENOMEM;
    int rc = alog__checkpoint_write(log, ALOG_LOG_START_FILE, start);
    if (rc) {
        free(held);
        return rc; /* nothing deleted: the log is as it was */
    }
    atomic_store_explicit(&log->start_offset, start, memory_order_release);
    remove_oldest(log, held, k);
    for (int i = 0; i < k; i++) {
        int r = alog__seg_unlink(held[i]);
        if (r && rc == 0)
            rc = r;
        kc_log_info("alog %s: retention deleted segment %lld", log->dir, (long long)held[i]->base);
        alog__seg_unref(held[i]); /* the array's reference; slices keep theirs */
    }
    free(held);
    int d = kc_fsync_dir(log->dir);
    return rc ? rc : d;
}

int alog_retain(struct alog *log, int64_t now_ms, int *deleted)
{
    pthread_mutex_lock(&log->retain_lock);
    int n;
    pthread_mutex_lock(&log->segs_lock);
    n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    int rc = segs ? 0 : -ENOMEM;
    int k = 0;
    if (rc == 0) {
        n = alog__segs_snapshot(log, segs, n);
        k = count_expired(log, segs, n, now_ms);
        if (k > 0)
            rc = delete_oldest(log, segs[k]->base, k);
        if (k > 0 && rc == 0)
            alog__psnap_trim(log, segs[k]->base); /* their producer snapshots go too */
        for (int i = 0; i < n; i++)
            alog__seg_unref(segs[i]);
        free(segs);
    }
    pthread_mutex_unlock(&log->retain_lock);
    if (rc == 0)
        *deleted = k;
    return rc;
}

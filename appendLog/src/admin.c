/*
 * admin.c - what an administrator changes on a log that is open and in use: its settings
 * (a topic's retention.ms, segment.bytes, max.message.bytes ...) and its start offset
 * (Kafka's DeleteRecords).
 *
 * Live settings. Each setting is read by one path, under one lock, so changing it under
 * that lock is all it takes for the change to apply at once, with no reader ever seeing
 * half of it:
 *
 *   segment_bytes, segment_ms, max_batch_bytes   read by alog_append     under append_lock
 *   retention_bytes, retention_ms                read by alog_retain     under retain_lock
 *
 * The other fields (index sizes, flush intervals) are read without those locks by the
 * flusher and the readers; they keep the values the log was opened with. (The storage
 * engine's store makes every field live; this is the subset the topic configs need.)
 *
 * DeleteRecords. The log start offset may stop inside a segment:
 *
 *   [seg 0: 0..99][seg 1: 100..199][active: 200..]      DeleteRecords(150)
 *    ^^^^^^^^^^^^ deleted (all of it below 150)
 *                  seg 1 kept: 150 lies inside; reads at 150 start at its batch
 *   log start = 150: log-start-offset-checkpoint written and fsynced FIRST, then published
 *
 * The order is retention's (retain.c), so a crash at any point leaves either the old start
 * (nothing was promised yet: the caller answers only after this returns) or the new one,
 * which the next open honours (recover.c: start = max(first segment's base, checkpoint)).
 */
#include <errno.h>
#include <stdlib.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_batch.h"
#include "kc_err.h"

static int live_check(const struct alog_config *cfg)
{
    if (cfg->segment_bytes < ALOG_SEGMENT_BYTES_MIN || cfg->segment_bytes > ALOG_SEGMENT_BYTES_MAX)
        return -EINVAL;
    if (cfg->segment_ms <= 0 || cfg->retention_ms < -1 || cfg->retention_bytes < -1)
        return -EINVAL;
    if (cfg->max_batch_bytes < KC_BATCH_HEADER_SIZE || cfg->max_batch_bytes > INT32_MAX)
        return -EINVAL;
    return 0;
}

int alog_set_config(struct alog *log, const struct alog_config *cfg)
{
    int rc = live_check(cfg);
    if (rc)
        return rc;
    pthread_mutex_lock(&log->retain_lock);
    pthread_mutex_lock(&log->append_lock);
    log->cfg.segment_bytes = cfg->segment_bytes;
    log->cfg.segment_ms = cfg->segment_ms;
    log->cfg.max_batch_bytes = cfg->max_batch_bytes;
    log->cfg.retention_bytes = cfg->retention_bytes;
    log->cfg.retention_ms = cfg->retention_ms;
    pthread_mutex_unlock(&log->append_lock);
    pthread_mutex_unlock(&log->retain_lock);
    return 0;
}

void alog_get_config(struct alog *log, struct alog_config *cfg)
{
    pthread_mutex_lock(&log->retain_lock);
    pthread_mutex_lock(&log->append_lock);
    *cfg = log->cfg;
    pthread_mutex_unlock(&log->append_lock);
    pthread_mutex_unlock(&log->retain_lock);
}

/* How many of the oldest segments (never the last) lie wholly below offset. */
static int count_below(struct alog_segment **segs, int n, int64_t offset)
{
    int k = 0;
    while (k < n - 1 && alog__seg_next(segs[k]) <= offset)
        k++;
    return k;
}

int alog_advance_start(struct alog *log, int64_t offset)
{
    pthread_mutex_lock(&log->retain_lock);
    int rc = 0;
    if (offset > alog_end_offset(log))
        rc = KC_EOFFSET;
    else if (offset > alog_start_offset(log)) {
        int n;
        pthread_mutex_lock(&log->segs_lock);
        n = log->nsegs;
        pthread_mutex_unlock(&log->segs_lock);
        struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
        if (!segs)
            rc = -ENOMEM;
        else {
            n = alog__segs_snapshot(log, segs, n);
            /* Durability point: the checkpoint says `offset` before anyone can see it. */
            rc = alog__delete_oldest(log, offset, count_below(segs, n, offset));
            for (int i = 0; i < n; i++)
                alog__seg_unref(segs[i]);
            free(segs);
        }
    }
    pthread_mutex_unlock(&log->retain_lock);
    return rc;
}

void alog_discard(struct alog *log)
{
    if (log)
        alog__abandon(log); /* no flush, no checkpoint, no marker: the files are going */
}

/*
 * ckpt.c - leader-epoch-checkpoint and replication-offset-checkpoint for the replicas
 * (brep_ckpt.h; the codec and its strict reader are replication's repl_ckpt.c).
 *
 * Why each file exists, in one picture each:
 *
 *   leader-epoch-checkpoint (KIP-101)         replication-offset-checkpoint (KIP-279 era)
 *
 *   epoch 3 leader writes [0, 5)               leader: HW 120, LEO 120, followers ack'd
 *   epoch 4 leader elected, writes nothing     SIGTERM, restart
 *   epoch 5 leader elected ...                 without the file: HW = log start (0):
 *                                              consumers see nothing until every follower
 *   from the batches alone: 3 -> 0, 5 -> 5     has fetched again and confirmed 120
 *   (epoch 4 is invisible: no batch carries    with it: HW = min(120, LEO) at once
 *   it) - OffsetForLeaderEpoch(4) answers
 *   wrongly; the file says 3 0 / 4 5 / 5 5
 *
 * The epoch file is rewritten whenever the cache changes (REPL_FX_EPOCHS), under the
 * replica's mutex: a leader's new epoch is on disk before it takes its first produce.
 * Nothing trusts either file beyond the log: repl_replica_load drops epochs that start at
 * or past the log end (a tail lost in a crash) or before its start, and caps the HW at
 * the log end.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brep_ckpt.h"
#include "brep_repl.h"
#include "kc_fs.h"
#include "repl_ckpt.h"

/* ---- paths ------------------------------------------------------------------------------------ */

static int hw_path(const struct brep *m, char *out, size_t cap)
{
    return kc_path_join(out, cap, brk_server_config(m->srv)->data_dir, REPL_HW_CHECKPOINT);
}

/* <data-dir>/<topic>-<partition>: the partition's directory (partitioning's name). */
static int part_dir(const struct brep_rp *rp, char *out, size_t cap)
{
    const char *dd = brk_server_config(rp->m->srv)->data_dir;
    int n = snprintf(out, cap, "%s/%s-%d", dd, rp->topic, (int)rp->partition);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- the HW file ------------------------------------------------------------------------------ */

/* By (topic, partition): the lines are sorted once at open, and each load finds its own
 * with a binary search (a broker loads every partition it hosts at start). */
static int entry_cmp(const void *a, const void *b)
{
    const struct repl_offset_entry *x = a, *y = b;
    int t = strcmp(x->topic, y->topic);
    return t ? t : (x->partition > y->partition) - (x->partition < y->partition);
}

/* replica.high.watermark.checkpoint.interval.ms */
static int64_t hw_interval(struct brep *m)
{
    return brk_server_config(m->srv)->cluster.hw_checkpoint_interval_ms;
}

void brep__ckpt_open(struct brep *m)
{
    struct brep_rtable *rt = m->rt;
    char path[PATH_MAX];
    rt->next_hw_ckpt_ms = kc_mono_ms() + hw_interval(m);
    int rc = hw_path(m, path, sizeof(path));
    if (rc == 0)
        rc = repl_ckpt_offsets_read(path, &rt->hw_loaded, &rt->nhw_loaded);
    if (rc == -ENOENT)
        kc_log_info("replication: no %s yet: high watermarks start at each log's start",
                    REPL_HW_CHECKPOINT);
    else if (rc < 0)
        kc_log_warn("replication: %s is unreadable (%s): ignored, high watermarks start at "
                    "each log's start", path, kc_strerror(rc));
    else if (rt->nhw_loaded > 1)
        qsort(rt->hw_loaded, rt->nhw_loaded, sizeof(*rt->hw_loaded), entry_cmp);
    if (rc == 0)
        kc_log_info("replication: %s: %zu high watermark%s", REPL_HW_CHECKPOINT,
                    rt->nhw_loaded, rt->nhw_loaded == 1 ? "" : "s");
}

void brep__ckpt_close(struct brep *m)
{
    free(m->rt->hw_loaded);
    m->rt->hw_loaded = NULL;
    m->rt->nhw_loaded = 0;
}

/* The file's line for the partition, taken (offset -1 afterwards: used once), or -1. */
static int64_t hw_take(struct brep_rtable *rt, const char *topic, int32_t partition)
{
    struct repl_offset_entry key = {.partition = partition};
    if (!rt->nhw_loaded || strlcpy(key.topic, topic, sizeof(key.topic)) >= sizeof(key.topic))
        return -1;
    struct repl_offset_entry *e =
        bsearch(&key, rt->hw_loaded, rt->nhw_loaded, sizeof(key), entry_cmp);
    if (!e || e->offset < 0)
        return -1;
    int64_t hw = e->offset;
    e->offset = -1;
    return hw;
}

/* Append one line to a growing array. 0 or -ENOMEM. */
static int hw_push(struct repl_offset_entry **v, size_t *n, size_t *cap, const char *topic,
                   int32_t partition, int64_t hw)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct repl_offset_entry *nv = realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = ncap;
    }
    struct repl_offset_entry *e = &(*v)[(*n)++];
    strlcpy(e->topic, topic, sizeof(e->topic));
    e->partition = partition;
    e->offset = hw;
    return 0;
}

/* Every loaded replica's HW, then - until the first partition states were applied - the
 * lines read at open that no replica took yet (a partition not loaded so far keeps its
 * line; after, a line nobody took is a partition no longer hosted here, and goes).
 * Member thread, or the closing one: only it adds replicas. */
static int hw_collect(struct brep *m, struct repl_offset_entry **v, size_t *n)
{
    struct brep_rtable *rt = m->rt;
    size_t cap = 0;
    int rc = 0;
    *v = NULL;
    *n = 0;
    for (uint32_t b = 0; b < rt->nb && rc == 0; b++) {
        for (struct brep_rp *rp = rt->b[b]; rp && rc == 0; rp = rp->next) {
            pthread_mutex_lock(&rp->mu);
            bool loaded = rp->log != NULL;
            int64_t hw = rp->r.hw;
            pthread_mutex_unlock(&rp->mu);
            if (loaded)
                rc = hw_push(v, n, &cap, rp->topic, rp->partition, hw);
        }
    }
    for (size_t i = 0; i < rt->nhw_loaded && rc == 0 && !rt->synced; i++)
        if (rt->hw_loaded[i].offset >= 0)
            rc = hw_push(v, n, &cap, rt->hw_loaded[i].topic, rt->hw_loaded[i].partition,
                         rt->hw_loaded[i].offset);
    return rc;
}

void brep__ckpt_hw_step(struct brep *m, int64_t now_ms, bool force)
{
    struct brep_rtable *rt = m->rt;
    if (!force && now_ms < rt->next_hw_ckpt_ms)
        return;
    rt->next_hw_ckpt_ms = now_ms + hw_interval(m);
    struct repl_offset_entry *v;
    size_t n;
    char path[PATH_MAX];
    int rc = hw_collect(m, &v, &n);
    if (rc == 0)
        rc = hw_path(m, path, sizeof(path));
    if (rc == 0)
        rc = repl_ckpt_offsets_write(path, v, n);
    if (rc < 0)
        kc_log_warn("replication: cannot write %s: %s", REPL_HW_CHECKPOINT, kc_strerror(rc));
    free(v);
}

/* ---- the epoch file --------------------------------------------------------------------------- */

void brep__ckpt_epochs_write(struct brep_rp *rp)
{
    char dir[PATH_MAX];
    int rc = part_dir(rp, dir, sizeof(dir));
    if (rc == 0)
        rc = repl_ckpt_epochs_write(dir, &rp->r.epochs);
    if (rc < 0)
        kc_log_warn("replication: %s-%d: cannot write %s: %s", rp->topic, (int)rp->partition,
                    REPL_EPOCH_CHECKPOINT, kc_strerror(rc));
}

/* alog_scan_epochs stops at any nonzero return: only an error may stop it (assign's 1,
 * "an entry was added", must not - it made every non-empty log unloadable at start). */
static int scan_epoch(void *arg, int64_t base, int32_t epoch)
{
    struct repl_epoch_cache *c = arg;
    if (epoch < 0 || epoch <= repl_epoch_cache_latest(c))
        return 0;
    int rc = repl_epoch_cache_assign(c, epoch, base);
    return rc < 0 ? rc : 0;
}

/* The partition's file into rp->r.epochs: 0, or why not (logged unless simply missing). */
static int epochs_read(struct brep_rp *rp)
{
    char dir[PATH_MAX];
    int rc = part_dir(rp, dir, sizeof(dir));
    if (rc == 0)
        rc = repl_ckpt_epochs_read(dir, &rp->r.epochs);
    if (rc < 0 && rc != -ENOENT)
        kc_log_warn("replication: %s-%d: %s is unreadable (%s): the epochs are read from the "
                    "batches instead", rp->topic, (int)rp->partition, REPL_EPOCH_CHECKPOINT,
                    kc_strerror(rc));
    return rc;
}

int brep__ckpt_load(struct brep_rp *rp, struct alog *log, int64_t start, int64_t *hw,
                    bool *from_file)
{
    repl_epoch_cache_clear(&rp->r.epochs);
    *from_file = epochs_read(rp) == 0;
    int rc = 0;
    if (!*from_file) {
        repl_epoch_cache_clear(&rp->r.epochs); /* a failed read leaves it as it was: empty */
        rc = alog_scan_epochs(log, start, scan_epoch, &rp->r.epochs);
    }
    int64_t saved = hw_take(rp->m->rt, rp->topic, rp->partition);
    *hw = saved >= 0 ? saved : start;
    return rc;
}

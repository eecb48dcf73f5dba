/*
 * swap.c - replacing segments by their cleaned copy, crash-safely (Kafka's .cleaned and
 * .swap files and their recovery rules, LogLoader / Log.replaceSegments).
 *
 * The cleaner rewrote segments 100, 250 and 400 (one group) into one new segment with the
 * first one's base. On disk, in this order, each step a rename or an unlink:
 *
 *   before   100.log 250.log 400.log      100.log.cleaned (+ .index/.timeindex.cleaned)
 *                                          written and fdatasync'ed by clean.c
 *   1.       100.index.cleaned     -> 100.index.swap       (and .timeindex)
 *   2.       100.log.cleaned       -> 100.log.swap         COMMIT POINT
 *            fsync(dir)                                    the commit is durable
 *   3.       the array: [100 250 400] -> [100'] (readers from now on see the new one)
 *   4.       unlink 250.*, 400.*; fsync(dir)              the replaced ones go FIRST...
 *   5.       100.index.swap -> 100.index (and .timeindex), 100.log.swap -> 100.log
 *            fsync(dir)                                    ...then the new one takes the name
 *
 * A crash anywhere leaves a directory the next open turns into exactly one of the two
 * logs, the old or the new (they hold the same latest record per key at the same offsets):
 *
 *   found at open                               means                 open does
 *   *.cleaned                                   before the commit     delete them: old log
 *   *.index.swap without a .log.swap            before the commit     delete them: old log
 *   100.log.swap                                committed             FINISH: read its end
 *                                                                     (offset 550), delete
 *                                                                     every .log based in
 *                                                                     (100, 550) and 100's
 *                                                                     indexes, rename it to
 *                                                                     100.log: new log
 *
 * Why the fsyncs sit where they do: without the one after step 2, the unlinks of step 4
 * could reach the disk before the rename (the kernel orders neither), and a crash would
 * leave 250 and 400 gone with no .swap to replace them. Without the one in step 4, step
 * 5's rename could be durable while an unlink is not: 100.log would then cover offsets
 * that a surviving 250.log covers too, with no .swap left to say which one wins.
 *
 * Readers are never disturbed: the cleaner holds the old segments OPEN (warm, a
 * reference each) across the whole swap, so a reader that found one in the array before
 * step 3 reads the old bytes through its descriptor (an unlinked or replaced file lives
 * until its last close), and a reader after step 3 gets the new segment.
 *
 * Indexes are not trusted across a finished-by-recovery swap: they are deleted and
 * rebuilt at the segment's first use (segment.c), a cost paid only after such a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"

static const char *const exts[3] = {".index", ".timeindex", ".log"}; /* the .log last */

static void step(struct alog *log, const char *what)
{
    if (log->io.swap_step)
        log->io.swap_step(log->io.ctx, what);
}

/* "<dir>/<base><ext><sfx>" */
static void file_path(const struct alog *log, int64_t base, const char *ext, const char *sfx,
                      char *out, size_t cap)
{
    char name[64];
    snprintf(name, sizeof(name), "%020" PRId64 "%s%s", base, ext, sfx);
    alog__path(log, out, cap, name);
}

static void unlink_files(const struct alog *log, int64_t base, const char *sfx)
{
    for (int i = 0; i < 3; i++) {
        char path[4096];
        file_path(log, base, exts[i], sfx, path, sizeof(path));
        (void)unlink(path); /* ENOENT is the usual answer: best effort, nothing to undo */
    }
}

/* Steps 1-2: the new segment's files from .cleaned to .swap; 0 once the .log moved. */
static int commit(struct alog *log, struct alog_segment *neu)
{
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = alog__seg_rename(neu, exts[i], ".swap");
        if (rc == 0)
            step(log, exts[i]);
    }
    if (rc) { /* the .log is still .cleaned: not committed, the old segments stay */
        unlink_files(log, neu->base, ".cleaned");
        unlink_files(log, neu->base, ".swap");
        return rc;
    }
    alog__seg_set_sfx(neu, ".swap");
    rc = kc_fsync_dir(log->dir);
    step(log, "commit durable");
    return rc;
}

/* Step 3: the array's old[0..k) become neu (which takes the caller's reference). */
static int swap_array(struct alog *log, struct alog_segment *const *old, int k,
                      struct alog_segment *neu)
{
    pthread_mutex_lock(&log->segs_lock);
    int at = -1;
    for (int i = 0; i + k <= log->nsegs && at < 0; i++)
        at = log->segs[i] == old[0] ? i : -1;
    for (int i = 0; at >= 0 && i < k; i++)
        at = log->segs[at + i] == old[i] ? at : -1;
    if (at >= 0) {
        log->segs[at] = neu;
        memmove(log->segs + at + 1, log->segs + at + k,
                (size_t)(log->nsegs - at - k) * sizeof(*log->segs));
        log->nsegs -= k - 1;
    }
    pthread_mutex_unlock(&log->segs_lock);
    if (at < 0)
        return -ESTALE; /* cannot happen: retention and recovery are excluded by the caller */
    for (int i = 0; i < k; i++)
        alog__seg_unref(old[i]); /* the array's references; the caller keeps its own */
    return 0;
}

/* Steps 4-5. */
static int finish_files(struct alog *log, struct alog_segment *const *old, int k,
                        struct alog_segment *neu)
{
    int rc = 0;
    for (int i = 1; i < k && rc == 0; i++) {
        rc = alog__seg_unlink(old[i]);
        step(log, "unlink replaced");
    }
    if (rc == 0 && k > 1) {
        rc = kc_fsync_dir(log->dir);
        step(log, "unlinks durable");
    }
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = alog__seg_rename(neu, exts[i], "");
        if (rc == 0)
            step(log, exts[i]);
    }
    if (rc)
        return rc;
    alog__seg_set_sfx(neu, "");
    rc = kc_fsync_dir(log->dir);
    step(log, "done");
    return rc;
}

int alog__swap_in(struct alog *log, struct alog_segment *const *old, int k,
                  struct alog_segment *neu)
{
    step(log, "cleaned written");
    int rc = commit(log, neu);
    if (rc && strcmp(neu->sfx, ".swap") != 0)
        return rc; /* not committed: the log is as it was */
    if (rc)
        kc_log_error("alog %s: segment %" PRId64 ": the directory fsync after the swap's "
                     "commit failed: %s; going on", log->dir, neu->base, kc_strerror(rc));
    int rc2 = swap_array(log, old, k, neu);
    if (rc2)
        return rc2;
    rc2 = finish_files(log, old, k, neu);
    if (rc2)
        kc_log_error("alog %s: segment %" PRId64 ": finishing the swap failed: %s; the next "
                     "open finishes it", log->dir, neu->base, kc_strerror(rc2));
    return rc ? rc : rc2;
}

/* ---- after a crash ------------------------------------------------------------------ */

/* The offset after the last batch that reads well in the .swap file (*suspect: not all). */
static int swap_end(const char *path, int64_t base, int64_t *next, bool *suspect)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *buf = malloc(ALOG_SCAN_CHUNK);
    int rc = size < 0 ? -errno : buf ? 0 : -ENOMEM;
    struct alog_scan s;
    struct kc_batch_header h;
    size_t n;
    uint64_t pos = 0;
    *next = base;
    if (rc == 0)
        alog__scan_init_fd(&s, fd, true, (uint64_t)size, buf, ALOG_SCAN_CHUNK);
    while (rc == 0 && pos < (uint64_t)size) {
        rc = alog__scan_header(&s, pos, &h, &n);
        if (rc == 0 && h.base_offset != *next)
            rc = KC_ECORRUPT;
        if (rc)
            break;
        *next = h.base_offset + h.last_offset_delta + 1;
        pos += n;
    }
    *suspect = rc != 0;
    if (rc && rc <= KC_ENEEDMORE)
        rc = 0; /* a verdict, not an I/O error: keep what reads well */
    free(buf);
    (void)close(fd); /* read-only */
    return rc;
}

/* Remove bases in (base, next) from the sorted array and their files; add base if absent. */
static void replace_bases(struct alog *log, int64_t base, int64_t next, int64_t *bases, int *n)
{
    int w = 0;
    bool have = false;
    for (int i = 0; i < *n; i++) {
        if (bases[i] > base && bases[i] < next) {
            unlink_files(log, bases[i], "");
            kc_log_info("alog %s: swap: removed segment %" PRId64 ", replaced by %" PRId64,
                        log->dir, bases[i], base);
            continue;
        }
        have |= bases[i] == base;
        bases[w++] = bases[i];
    }
    *n = w;
    if (have)
        return;
    int i = w;
    while (i > 0 && bases[i - 1] > base) {
        bases[i] = bases[i - 1];
        i--;
    }
    bases[i] = base; /* the caller's array has room: base was counted as a .log.swap */
    (*n)++;
}

int alog__swap_finish(struct alog *log, int64_t base, int64_t *bases, int *n, bool *suspect)
{
    char swap[4096], final[4096];
    file_path(log, base, ".log", ".swap", swap, sizeof(swap));
    file_path(log, base, ".log", "", final, sizeof(final));
    int64_t next = base;
    int rc = swap_end(swap, base, &next, suspect);
    if (rc)
        return rc;
    if (next == base) { /* nothing readable: the old segments are the better bet */
        kc_log_warn("alog %s: %020" PRId64 ".log.swap holds no batch: deleted", log->dir, base);
        return unlink(swap) == 0 ? 0 : -errno;
    }
    replace_bases(log, base, next, bases, n);
    for (int i = 0; i < 2; i++) { /* the indexes, swapped or not: rebuilt at first use */
        char path[4096];
        file_path(log, base, exts[i], ".swap", path, sizeof(path));
        (void)unlink(path);
        file_path(log, base, exts[i], "", path, sizeof(path));
        (void)unlink(path);
    }
    if (rename(swap, final) != 0)
        return -errno;
    kc_log_info("alog %s: finished the cleaner's swap of segment %" PRId64 " (offsets up to %" PRId64
                ")", log->dir, base, next);
    return kc_fsync_dir(log->dir);
}

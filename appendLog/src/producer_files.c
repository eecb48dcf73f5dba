/*
 * producer_files.c - producer state across restarts: snapshots beside the segments, and
 * the replay of the log after the newest one.
 *
 *   payments-0/
 *     00000000000000000000.log  ...
 *     00000000000000076000.log        00000000000000076000.snapshot   written at the roll
 *     00000000000000152000.log        00000000000000152000.snapshot   written at the roll
 *                                     00000000000000163520.snapshot   written at a clean
 *                                                                     close (= log end)
 *
 * A snapshot named N holds the state of every producer as of offset N: everything below
 * N applied, nothing at or above. So after any stop the state is
 *
 *   newest readable snapshot S <= log end   +   every batch in [S, log end), replayed
 *
 * and both halves come from disk. After a clean close S is the log end: nothing to
 * replay. After kill -9 S is the active segment's base (at most one segment is read
 * again, and only headers matter), unless that snapshot was lost or damaged: then the one
 * before, and so on down to the log start. Every way a snapshot can be wrong is survived:
 *
 *   torn, zero-filled, bit-flipped, truncated   the CRC or the length says so: deleted,
 *                                               the next older one is used
 *   past the log end (recovery cut the log,     deleted: what it describes is gone
 *     alog_recover discarded undurable records)
 *   below the log start (retention)             deleted with the segments
 *   none at all (a log older than this code)    the whole log is replayed, once
 *
 * Durability. A clean close writes its snapshot with fsyncs (file, directory) before the
 * clean-shutdown marker, which vouches for it. A roll writes its snapshot under the
 * append lock but without an fsync (a roll must not stall producers for a disk flush):
 * the flusher fsyncs it at its next checkpoint, right after the directory fsync the roll
 * asked for. A crash before that leaves a damaged or missing file: skipped, as above.
 */
#include <dirent.h>
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
#include "kc_parse.h"
#include "kc_time.h"

/* ---- names ---------------------------------------------------------------------------- */

static void snap_name(char *out, size_t cap, int64_t offset)
{
    (void)snprintf(out, cap, "%020" PRId64 ALOG_SNAPSHOT_SUFFIX, offset); /* 29 bytes */
}

static void snap_path(const struct alog *log, char *out, size_t cap, int64_t offset)
{
    char name[64];
    snap_name(name, sizeof(name), offset);
    alog__path(log, out, cap, name);
}

/* "<20 digits>.snapshot" -> its offset; false for any other name (the .tmp included). */
static bool parse_snap_name(const char *name, int64_t *offset)
{
    char digits[21];
    size_t n = strlen(name), suffix = strlen(ALOG_SNAPSHOT_SUFFIX);
    if (n != 20 + suffix || strcmp(name + 20, ALOG_SNAPSHOT_SUFFIX) != 0)
        return false;
    memcpy(digits, name, 20);
    digits[20] = '\0';
    for (int i = 0; i < 20; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return false;
    }
    return kc_parse_i64(digits, 0, INT64_MAX, offset) == 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every snapshot file's offset, ascending: 0 and *out (malloc'ed, may be NULL if *n is 0). */
static int list_snapshots(const struct alog *log, int64_t **out, int *n)
{
    DIR *d = opendir(log->dir);
    if (!d)
        return -errno;
    int64_t *v = NULL;
    int count = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        int64_t off;
        if (!parse_snap_name(de->d_name, &off))
            continue;
        int64_t *grown = reallocarray(v, (size_t)count + 1, sizeof(*v));
        if (!grown)
            rc = -ENOMEM;
        else
            (v = grown)[count++] = off;
    }
    (void)closedir(d); /* a directory stream: nothing to flush */
    if (rc) {
        free(v);
        return rc;
    }
    if (count > 1)
        qsort(v, (size_t)count, sizeof(*v), cmp_i64);
    *out = v;
    *n = count;
    return 0;
}

static void remove_snapshot(const struct alog *log, int64_t offset, const char *why)
{
    char path[4096];
    snap_path(log, path, sizeof(path), offset);
    if (unlink(path) == 0)
        kc_log_info("alog %s: deleted producer snapshot %" PRId64 " (%s)", log->dir, offset, why);
    else if (errno != ENOENT)
        kc_log_warn("alog %s: cannot delete producer snapshot %" PRId64 ": %s", log->dir, offset,
                    strerror(errno));
}

/* ---- writing -------------------------------------------------------------------------- */

/* The bytes into path: a temp file renamed into place (no fsync: see the top). */
static int write_unsynced(const char *path, const uint8_t *p, size_t len)
{
    char tmp[4096 + 8];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = kc_write_all(fd, p, len);
    int rc = w < 0 ? (int)w : 0;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        (void)unlink(tmp); /* best effort; a leftover .tmp is removed at the next open */
    return rc;
}

int alog__psnap_write(struct alog *log, int64_t offset, bool sync)
{
    struct kc_writer w;
    char path[4096];
    kc_writer_init(&w, 0);
    int rc = alog__pstate_encode(&log->pstate, &w);
    snap_path(log, path, sizeof(path), offset);
    if (rc == 0 && sync)
        rc = kc_atomic_replace(path, kc_writer_data(&w), kc_writer_len(&w));
    else if (rc == 0)
        rc = write_unsynced(path, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    if (rc)
        return rc;
    if (!sync)
        atomic_store(&log->snap_unsynced, offset); /* the flusher's, at its checkpoint */
    log->pstate.snap_offset = offset;
    log->pstate.dirty = false;
    kc_log_debug("alog %s: producer snapshot at %" PRId64 " (%" PRIu32 " producers)", log->dir,
                 offset, log->pstate.count);
    return 0;
}

void alog__psnap_sync(struct alog *log)
{
    int64_t offset = atomic_exchange(&log->snap_unsynced, -1);
    if (offset < 0)
        return;
    char path[4096];
    snap_path(log, path, sizeof(path), offset);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) /* gone: retention, or a newer one replaced it: fine */
            kc_log_warn("alog %s: cannot open %s to fsync it: %s", log->dir, path,
                        strerror(errno));
        return;
    }
    int rc = kc_fsync(fd);
    (void)close(fd); /* read-only: nothing for close to report */
    if (rc) /* it stays a hint: damaged after a crash, it is skipped at the next open */
        kc_log_warn("alog %s: fsync of producer snapshot %" PRId64 ": %s", log->dir, offset,
                    kc_strerror(rc));
}

/* ---- loading -------------------------------------------------------------------------- */

/* Read and apply one snapshot: 0, or why it cannot be used (a verdict or -errno). */
static int load_snapshot(struct alog *log, int64_t offset)
{
    char path[4096];
    char *data;
    size_t len;
    int32_t count;
    snap_path(log, path, sizeof(path), offset);
    int rc = kc_read_file(path, (size_t)ALOG_SNAPSHOT_MAX_BYTES, &data, &len);
    if (rc)
        return rc;
    rc = alog_snapshot_decode((const uint8_t *)data, len, &count);
    for (int32_t i = 0; rc == 0 && i < count; i++) {
        struct alog_snapshot_entry e;
        alog_snapshot_entry_at((const uint8_t *)data, i, &e);
        rc = alog__pstate_load_entry(&log->pstate, &e);
    }
    free(data);
    if (rc)
        alog__pstate_clear(&log->pstate);
    return rc;
}

/* Replay the batches of one segment at or above from: 0, or -errno. *batches counts. */
static int replay_segment(struct alog *log, struct alog_segment *seg, int64_t from,
                          uint8_t *buf, int64_t *batches)
{
    int rc = alog__seg_warm(log, seg); /* a store's old segment may be cold (-EMFILE: the
                                          store's open makes room and loads again) */
    if (rc)
        return rc;
    uint64_t pos = 0;
    if (seg->base < from && alog__seg_boundary(seg, from, &pos) != 0)
        pos = 0; /* from is not a batch boundary: walk the segment, skipping below it */
    struct alog_scan s;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, ALOG_SCAN_CHUNK);
    while (pos < s.end) {
        struct kc_batch_header h;
        size_t size;
        rc = alog__scan_header(&s, pos, &h, &size);
        if (rc && rc > KC_ENEEDMORE) /* -errno: an I/O error */
            return rc;
        if (rc) { /* the log was verified at open: this cannot be, but is not fatal */
            kc_log_warn("alog %s: producer state replay stopped at segment %" PRId64
                        " position %" PRIu64 ": %s", log->dir, seg->base, pos, kc_strerror(rc));
            return 0;
        }
        bool producer = h.producer_id >= 0 && !(h.attributes & KC_BATCH_ATTR_CONTROL);
        if (producer && h.base_offset + h.last_offset_delta >= from) {
            if (alog__pstate_reserve(&log->pstate))
                return -ENOMEM;
            alog__pstate_apply(&log->pstate, &h);
            ++*batches;
        }
        pos += size;
    }
    return 0;
}

/* Apply every producer batch in [from, end) to the state. */
static int replay(struct alog *log, int64_t from, int64_t end, int64_t *batches)
{
    if (from >= end)
        return 0;
    uint8_t *buf = malloc(ALOG_SCAN_CHUNK);
    if (!buf)
        return -ENOMEM;
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    int rc = segs ? 0 : -ENOMEM;
    n = segs ? alog__segs_snapshot(log, segs, n) : 0; /* references: no lock across I/O */
    for (int i = 0; i < n; i++) {
        if (rc == 0 && alog__seg_next(segs[i]) > from)
            rc = replay_segment(log, segs[i], from, buf, batches);
        alog__seg_unref(segs[i]);
    }
    free(segs);
    free(buf);
    return rc;
}

/* Try one snapshot: true if loaded. Damage (a verdict: KC_*) deletes the file; an I/O
 * error only skips it (the disk may come back); -ENOMEM is the caller's to report. */
static bool try_snapshot(struct alog *log, int64_t offset, int *err)
{
    int r = load_snapshot(log, offset);
    if (r == 0)
        return true;
    if (r == -ENOMEM) {
        *err = r;
        return false;
    }
    kc_log_warn("alog %s: producer snapshot %" PRId64 " is unusable (%s): skipping it",
                log->dir, offset, kc_strerror(r));
    if (r <= KC_ENEEDMORE)
        remove_snapshot(log, offset, "damaged");
    return false;
}

/* The newest usable snapshot in [start, end]: loaded, *from = its offset; damaged ones
 * and ones outside the range deleted. *from = start when none could be used. */
static int load_newest(struct alog *log, int64_t start, int64_t end, int64_t *from)
{
    int64_t *offs = NULL;
    int n = 0, rc = list_snapshots(log, &offs, &n);
    if (rc)
        return rc;
    bool loaded = false;
    *from = start;
    for (int i = n - 1; i >= 0 && rc == 0; i--) {
        if (offs[i] > end)
            remove_snapshot(log, offs[i], "past the log end");
        else if (offs[i] < start)
            remove_snapshot(log, offs[i], "below the log start");
        else if (!loaded && (loaded = try_snapshot(log, offs[i], &rc)))
            *from = log->pstate.snap_offset = offs[i];
    }
    free(offs);
    return rc;
}

int alog__psnap_load(struct alog *log)
{
    int64_t t0 = kc_mono_ms(), from, batches = 0;
    int64_t start = alog__start(log), end = alog__end(log);
    alog__pstate_fini(&log->pstate); /* from nothing: a store opens a log many times */
    int rc = load_newest(log, start, end, &from);
    if (rc == 0) {
        struct alog_config cfg; /* a store's log opens while alog_set_config may run */
        alog__cfg(log, &cfg);
        int expired = alog__pstate_expire(&log->pstate, kc_wall_ms(),
                                          cfg.producer_id_expiration_ms);
        rc = expired < 0 ? expired : replay(log, from, end, &batches);
    }
    if (rc) {
        kc_log_error("alog %s: cannot rebuild the producer state: %s", log->dir, kc_strerror(rc));
        return rc;
    }
    log->pstate.dirty = from != end || log->pstate.snap_offset != end;
    if (batches > 0)
        kc_log_info("alog %s: producer state from %s %" PRId64 " and %" PRId64 " batches "
                    "replayed up to %" PRId64 ": %" PRIu32 " producers, %" PRId64 " ms",
                    log->dir, log->pstate.snap_offset >= 0 ? "the snapshot at" : "the log start",
                    from, batches, end, log->pstate.count, kc_mono_ms() - t0);
    return 0;
}

int alog__psnap_rebuild(struct alog *log)
{
    return alog__psnap_load(log); /* it starts from nothing */
}

void alog__psnap_release(struct alog *log, bool flushed)
{
    pthread_mutex_lock(&log->append_lock); /* unpinned: no append can come; for clarity */
    int64_t end = alog__end(log);
    bool stale = log->pstate.dirty || log->pstate.snap_offset != end;
    if (flushed && stale) {
        int rc = alog__psnap_write(log, end, false);
        if (rc) /* a hint: the next open replays from an older snapshot instead */
            kc_log_warn("alog %s: producer snapshot at %" PRId64 " on close: %s", log->dir, end,
                        kc_strerror(rc));
        atomic_store(&log->snap_unsynced, -1); /* the store's next syncfs carries it */
    }
    alog__pstate_fini(&log->pstate);
    pthread_mutex_unlock(&log->append_lock);
}

void alog__psnap_trim(struct alog *log, int64_t start)
{
    int64_t *offs = NULL;
    int n = 0;
    if (list_snapshots(log, &offs, &n) != 0)
        return; /* left for the next pass, or the next open */
    for (int i = 0; i < n && offs[i] < start; i++)
        remove_snapshot(log, offs[i], "below the log start");
    free(offs);
}

/* ---- the public calls ------------------------------------------------------------------ */

int alog_producers(struct alog *log, struct alog_producer_info *out, int cap)
{
    int n = alog__enter(log); /* a store's closed log: opened, its state rebuilt */
    if (n)
        return n;
    pthread_mutex_lock(&log->append_lock);
    n = alog__pstate_list(&log->pstate, out, cap);
    pthread_mutex_unlock(&log->append_lock);
    alog__leave(log);
    return n;
}

int alog_producers_expire(struct alog *log, int64_t now_ms)
{
    if (!alog__try_pin(log))
        return 0; /* a closed log is not opened for this: its next open expires them */
    pthread_mutex_lock(&log->append_lock);
    int n = alog__pstate_expire(&log->pstate, now_ms, log->cfg.producer_id_expiration_ms);
    pthread_mutex_unlock(&log->append_lock);
    alog__leave(log);
    if (n > 0)
        kc_log_info("alog %s: %d idle producer id(s) expired (producer.id.expiration.ms %" PRId64
                    ")", log->dir, n, log->cfg.producer_id_expiration_ms);
    return n;
}

/*
 * segment.c - one segment: a .log and its two indexes, named by the base offset.
 *
 *   00000000000000004096.log        batches, back to back, exactly as appended
 *   00000000000000004096.index      (last offset of a batch - 4096, its position) every
 *                                   ~index.interval.bytes
 *   00000000000000004096.timeindex  (largest timestamp so far, its offset - 4096) at the
 *                                   same moments, when the largest timestamp grew
 *
 * Lifetime. A segment is reference counted: the log's array holds one reference, every
 * slice handed to a reader holds another. Retention removes a segment from the array and
 * unlinks its files, but the fd and the index mappings live until the last reference goes,
 * so a reader in the middle of sending a deleted segment finishes undisturbed (Linux keeps
 * an unlinked file's blocks while a descriptor is open).
 *
 * The indexing rule is Kafka's (LogSegment.append), per batch:
 *
 *   if the batch's maxTimestamp > largest so far: remember it and the batch's last offset
 *   if bytes appended since the last entry > index.interval.bytes:
 *       .index     += (batch last offset, batch position)
 *       .timeindex += (largest timestamp so far, its offset)   if it grew since the last one
 *       bytes since = 0
 *   bytes since += batch size
 *
 * so the first batch of a segment is never indexed (position 0 is where a lookup starts
 * anyway) and an entry never is all zeros (mm_index.h relies on that).
 *
 * Warm and cold. A log with a thousand old segments must not hold a thousand descriptors,
 * and a store with a hundred thousand logs must not hold any for the idle ones. So a
 * segment's files are opened only when someone needs them (WARM) and can be closed again
 * (COLD) while the segment object, with its base, size and offsets, stays in the log:
 *
 *   COLD  fd -1, no mapping          loading a log makes every segment cold but the last
 *     | alog__seg_warm               a reader (or the cleaner, retention...) holding a
 *     v                              reference: open the .log, map both indexes, drop
 *   WARM  fd, two mappings           their descriptors (a mapping needs none: 1 fd per
 *     | alog__seg_cool               warm segment); the first warm checks the indexes
 *     v                              the cache, when nobody else holds the segment
 *   COLD
 *
 * Every descriptor a store's segment holds is counted in the store (seg->files), so the
 * cache knows how many it holds, slices' included.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"

static void seg_path(const struct alog_segment *seg, char *out, size_t cap, const char *ext)
{
    (void)snprintf(out, cap, "%s%s%s", seg->stem, ext, seg->sfx); /* short; cap is PATH_MAX */
}

static int seg_alloc(struct alog *log, int64_t base, struct alog_segment **out)
{
    size_t n = strlen(log->dir) + 1 + 20 + 1;
    struct alog_segment *seg = calloc(1, sizeof(*seg) + n);
    if (!seg)
        return -ENOMEM;
    (void)snprintf(seg->stem, n, "%s/%020" PRId64, log->dir, base); /* sized above */
    seg->base = base;
    seg->fd = -1;
    seg->oidx.file.fd = -1;
    seg->tidx.file.fd = -1;
    atomic_init(&seg->size, 0);
    atomic_init(&seg->next_offset, base);
    atomic_init(&seg->max_ts, -1);
    seg->max_ts_offset = -1;
    atomic_init(&seg->refs, 1);
    atomic_init(&seg->ref_bit, true);
    pthread_mutex_init(&seg->file_lock, NULL);
    seg->files = alog__store_files(log);
    seg->compacted = log->store != NULL;
    seg->sfx = "";
    *out = seg;
    return 0;
}

/* Count a descriptor taken (+1) or given back (-1) in the store, if any. */
static void count_fd(struct alog_segment *seg, int delta)
{
    if (seg->files)
        atomic_fetch_add_explicit(seg->files, delta, memory_order_relaxed);
}

/* Close whatever files the segment has open (file_lock held, or the last reference). */
static void files_close(struct alog_segment *seg)
{
    if (mm_file_is_open(&seg->oidx.file))
        (void)mm_index_close(&seg->oidx); /* read/trimmed mapping: nothing left to write */
    if (mm_file_is_open(&seg->tidx.file))
        (void)mm_index_close(&seg->tidx);
    if (seg->fd >= 0) {
        (void)close(seg->fd); /* data was fdatasync'ed (or recovery will judge it) */
        seg->fd = -1;
        count_fd(seg, -1);
    }
}

static void seg_free(struct alog_segment *seg)
{
    files_close(seg);
    pthread_mutex_destroy(&seg->file_lock);
    free(seg);
}

void alog__seg_ref(struct alog_segment *seg)
{
    atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
}

void alog__seg_unref(struct alog_segment *seg)
{
    if (seg && atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel) == 1)
        seg_free(seg);
}

/*
 * (Re)open one index; a mapping keeps no descriptor (mm.h), so drop it at once. A writable
 * one first reserves the blocks of its next entries with the descriptor at hand: else its
 * first entry opens the file by path again just for that fallocate (mm_index.c), and with
 * appends spread over 10,000 logs that was 20,000 extra open/close pairs per segment
 * generation (partitioning/README.md, section 5). A failed reservation is only early:
 * the append that needs the blocks tries again and reports ENOSPC itself.
 */
static int open_index(struct alog *log, struct alog_segment *seg, enum mm_index_kind kind,
                      unsigned flags)
{
    char path[4096];
    seg_path(seg, path, sizeof(path), kind == MM_INDEX_TIME ? ".timeindex" : ".index");
    struct mm_index *idx = kind == MM_INDEX_TIME ? &seg->tidx : &seg->oidx;
    if (mm_file_is_open(&idx->file)) {
        int rc = mm_index_close(idx);
        if (rc)
            return rc;
    }
    int rc = mm_index_open(idx, path, kind, flags, atomic_load(&log->index_max));
    if (rc == 0 && (flags & MM_INDEX_WRITABLE))
        (void)mm_index_reserve(idx); /* a head start, not a promise: see above */
    if (rc == 0)
        (void)mm_file_drop_fd(&idx->file); /* closing a descriptor we no longer need */
    return rc;
}

static int open_log_fd(struct alog_segment *seg, int flags)
{
    char path[4096];
    seg_path(seg, path, sizeof(path), ".log");
    int fd = open(path, O_RDWR | O_CLOEXEC | flags, 0644);
    if (fd < 0)
        return -errno;
    seg->fd = fd;
    count_fd(seg, +1);
    return 0;
}

int alog__seg_create(struct alog *log, int64_t base, struct alog_segment **out)
{
    return alog__seg_create_sfx(log, base, "", out);
}

int alog__seg_create_sfx(struct alog *log, int64_t base, const char *sfx,
                         struct alog_segment **out)
{
    struct alog_segment *seg;
    int rc = seg_alloc(log, base, &seg);
    if (rc)
        return rc;
    seg->sfx = sfx;
    unsigned fl = MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY;
    if ((rc = open_log_fd(seg, O_CREAT | O_TRUNC)) != 0 ||
        (rc = open_index(log, seg, MM_INDEX_OFFSET, fl)) != 0 ||
        (rc = open_index(log, seg, MM_INDEX_TIME, fl)) != 0)
        goto fail;
    seg->ts_known = true;
    seg->idx_checked = true;
    *out = seg;
    return 0;
fail:
    (void)alog__seg_unlink(seg); /* best effort: an empty stray segment is harmless anyway */
    seg_free(seg);
    return rc;
}

int alog__seg_cold(struct alog *log, int64_t base, uint64_t size, struct alog_segment **out)
{
    struct alog_segment *seg;
    int rc = seg_alloc(log, base, &seg);
    if (rc)
        return rc;
    atomic_store_explicit(&seg->size, size, memory_order_relaxed);
    *out = seg;
    return 0;
}

/* Open an index of an existing segment read-only; a missing one is left closed. */
static int open_existing_index(struct alog *log, struct alog_segment *seg, enum mm_index_kind kind)
{
    int rc = open_index(log, seg, kind, MM_INDEX_READONLY);
    return rc == -ENOENT ? 0 : rc;
}

static void max_ts_from_index(struct alog_segment *seg)
{
    struct mm_index_entry e;
    if (mm_file_is_open(&seg->tidx.file) && mm_index_last(&seg->tidx, &e) == 0 &&
        e.key > atomic_load_explicit(&seg->max_ts, memory_order_relaxed)) {
        atomic_store_explicit(&seg->max_ts, e.key, memory_order_release);
        seg->max_ts_offset = seg->base + e.value;
    }
}

/* The first warm since loading: indexes checked, rebuilt (never cutting) if bad. */
static int check_once(struct alog *log, struct alog_segment *seg)
{
    const char *why = NULL;
    int rc = alog__seg_index_check(seg, alog__seg_next(seg), &why);
    if (rc == KC_ECORRUPT) {
        kc_log_warn("alog %s: segment %" PRId64 ": %s: rebuilding its indexes", log->dir,
                    seg->base, why);
        rc = alog__seg_reindex(log, seg);
        if (rc == 0)
            atomic_fetch_add(&log->indexes_rebuilt, 1);
    }
    seg->idx_checked = rc == 0;
    return rc;
}

static int warm_locked(struct alog *log, struct alog_segment *seg)
{
    int rc = open_log_fd(seg, 0);
    if (rc == 0 && (rc = open_existing_index(log, seg, MM_INDEX_OFFSET)) == 0)
        rc = open_existing_index(log, seg, MM_INDEX_TIME);
    if (rc == 0 && !seg->ts_known) {
        max_ts_from_index(seg);
        seg->ts_known = true;
    }
    if (rc == 0 && !seg->idx_checked)
        rc = check_once(log, seg);
    if (rc)
        files_close(seg);
    return rc;
}

int alog__seg_warm(struct alog *log, struct alog_segment *seg)
{
    atomic_store_explicit(&seg->ref_bit, true, memory_order_relaxed);
    pthread_mutex_lock(&seg->file_lock);
    int rc = seg->fd >= 0 ? 0 : warm_locked(log, seg);
    pthread_mutex_unlock(&seg->file_lock);
    return rc;
}

bool alog__seg_is_warm(struct alog_segment *seg)
{
    pthread_mutex_lock(&seg->file_lock);
    bool warm = seg->fd >= 0;
    pthread_mutex_unlock(&seg->file_lock);
    return warm;
}

void alog__seg_cool(struct alog_segment *seg)
{
    pthread_mutex_lock(&seg->file_lock);
    files_close(seg);
    pthread_mutex_unlock(&seg->file_lock);
}

int alog__seg_unlink(struct alog_segment *seg)
{
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        char path[4096];
        seg_path(seg, path, sizeof(path), exts[i]);
        if (unlink(path) < 0 && errno != ENOENT && rc == 0)
            rc = -errno;
    }
    return rc;
}

int alog__seg_activate(struct alog *log, struct alog_segment *seg)
{
    unsigned fl = MM_INDEX_WRITABLE | MM_INDEX_CREATE;
    int rc = open_index(log, seg, MM_INDEX_OFFSET, fl);
    if (rc == 0)
        rc = open_index(log, seg, MM_INDEX_TIME, fl);
    seg->bytes_since_index = 0; /* as Kafka after a load: the next entry comes a bit late */
    return rc;
}

static void maybe_time_entry(struct alog_segment *seg)
{
    int64_t ts = atomic_load_explicit(&seg->max_ts, memory_order_relaxed);
    struct mm_index_entry last;
    if (ts < 0 || seg->max_ts_offset < seg->base)
        return; /* no timestamps in this segment */
    if (mm_index_last(&seg->tidx, &last) == 0 && ts <= last.key)
        return;
    uint32_t rel = (uint32_t)(seg->max_ts_offset - seg->base);
    if (ts == 0 && rel == 0)
        return; /* the all-zero entry is reserved; a lookup starts at offset 0 anyway */
    int rc = mm_index_append(&seg->tidx, ts, rel);
    if (rc)
        kc_log_debug("alog %s: time index entry skipped: %s", seg->stem, kc_strerror(rc));
}

void alog__seg_index_batch(struct alog *log, struct alog_segment *seg, uint64_t pos,
                           const struct kc_batch_header *h, size_t size)
{
    int64_t last = h->base_offset + h->last_offset_delta;
    if (h->max_timestamp > atomic_load_explicit(&seg->max_ts, memory_order_relaxed)) {
        atomic_store_explicit(&seg->max_ts, h->max_timestamp, memory_order_release);
        seg->max_ts_offset = last;
    }
    if (seg->bytes_since_index > atomic_load_explicit(&log->index_interval, memory_order_relaxed)) {
        /* An index is a hint: a missing entry only lengthens the next scan. The writer
         * rolls before either index is full, so a failure here means a full index after
         * a rebuild with a smaller index.size.max.bytes. */
        int rc = mm_index_append(&seg->oidx, last - seg->base, (uint32_t)pos);
        if (rc)
            kc_log_debug("alog %s: index entry skipped: %s", seg->stem, kc_strerror(rc));
        maybe_time_entry(seg);
        seg->bytes_since_index = 0;
    }
    uint64_t since = (uint64_t)seg->bytes_since_index + size;
    seg->bytes_since_index = since > UINT32_MAX ? UINT32_MAX : (uint32_t)since;
}

int alog__seg_seal(struct alog_segment *seg)
{
    maybe_time_entry(seg);
    int rc = mm_index_trim(&seg->oidx);
    int rc2 = mm_index_trim(&seg->tidx);
    return rc ? rc : rc2;
}

int alog__seg_index_reset(struct alog *log, struct alog_segment *seg)
{
    unsigned fl = MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY;
    int rc = open_index(log, seg, MM_INDEX_OFFSET, fl);
    if (rc == 0)
        rc = open_index(log, seg, MM_INDEX_TIME, fl);
    seg->bytes_since_index = 0;
    atomic_store_explicit(&seg->max_ts, -1, memory_order_relaxed);
    seg->max_ts_offset = -1;
    return rc;
}

/* The last .index entry must point at a batch whose last offset is the entry's key. */
static int check_last_entry(struct alog_segment *seg)
{
    struct mm_index_entry e;
    if (mm_index_last(&seg->oidx, &e) != 0)
        return 0;
    uint8_t buf[KC_BATCH_HEADER_SIZE];
    struct alog_scan s;
    struct kc_batch_header h;
    size_t size;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    int rc = alog__scan_header(&s, e.value, &h, &size);
    if (rc < 0 && rc > KC_ENEEDMORE)
        return rc; /* -errno: an I/O error, not a verdict on the index */
    if (rc || h.base_offset + h.last_offset_delta != seg->base + e.key)
        return KC_ECORRUPT;
    return 0;
}

int alog__seg_index_check(struct alog_segment *seg, int64_t next_offset, const char **why)
{
    if (!mm_file_is_open(&seg->oidx.file) || !mm_file_is_open(&seg->tidx.file)) {
        *why = !mm_file_is_open(&seg->oidx.file) ? "missing .index" : "missing .timeindex";
        return KC_ECORRUPT;
    }
    struct mm_index_bounds b = {
        .log_size = alog__seg_size(seg),
        .max_rel = next_offset - 1 - seg->base,
    };
    int rc = mm_index_check(&seg->oidx, &b, why);
    if (rc == 0)
        rc = mm_index_check(&seg->tidx, &b, why);
    if (rc == 0 && (rc = check_last_entry(seg)) == KC_ECORRUPT)
        *why = "last .index entry does not point at its batch";
    return rc;
}

int alog__seg_index_sync(struct alog_segment *seg)
{
    int rc = 0;
    struct mm_index *idx[2] = {&seg->oidx, &seg->tidx};
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!mm_file_is_open(&idx[i]->file))
            continue;
        rc = mm_index_sync(idx[i], MM_SYNC_NOW);
        int fd = rc == 0 ? mm_file_get_fd(&idx[i]->file) : 0;
        if (fd < 0)
            return fd;
        if (rc == 0)
            rc = kc_fsync(fd); /* the trimmed size is metadata */
        mm_file_put_fd(&idx[i]->file, fd);
    }
    return rc;
}

int alog__seg_rename(struct alog_segment *seg, const char *ext, const char *sfx)
{
    char from[4096], to[4096];
    pthread_mutex_lock(&seg->file_lock);
    seg_path(seg, from, sizeof(from), ext);
    (void)snprintf(to, sizeof(to), "%s%s%s", seg->stem, ext, sfx);
    int rc = rename(from, to) == 0 ? 0 : -errno;
    pthread_mutex_unlock(&seg->file_lock);
    return rc;
}

void alog__seg_set_sfx(struct alog_segment *seg, const char *sfx)
{
    pthread_mutex_lock(&seg->file_lock);
    seg->sfx = sfx;
    pthread_mutex_unlock(&seg->file_lock);
}

int alog__seg_truncate(struct alog *log, struct alog_segment *seg, uint64_t size)
{
    return log->io.ftruncate(log->io.ctx, seg->fd, (off_t)size);
}

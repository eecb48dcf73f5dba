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
    (void)snprintf(out, cap, "%s%s", seg->stem, ext); /* stem is short; cap is PATH_MAX */
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
    *out = seg;
    return 0;
}

static void seg_free(struct alog_segment *seg)
{
    if (seg->oidx.file.fd >= 0)
        (void)mm_index_close(&seg->oidx); /* read/trimmed mapping: nothing left to write */
    if (seg->tidx.file.fd >= 0)
        (void)mm_index_close(&seg->tidx);
    if (seg->fd >= 0)
        (void)close(seg->fd); /* data was fdatasync'ed (or recovery will judge it) */
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

static int open_index(struct alog *log, struct alog_segment *seg, enum mm_index_kind kind,
                      unsigned flags)
{
    char path[4096];
    seg_path(seg, path, sizeof(path), kind == MM_INDEX_TIME ? ".timeindex" : ".index");
    struct mm_index *idx = kind == MM_INDEX_TIME ? &seg->tidx : &seg->oidx;
    if (idx->file.fd >= 0) {
        int rc = mm_index_close(idx);
        if (rc)
            return rc;
    }
    return mm_index_open(idx, path, kind, flags, log->cfg.index_max_bytes);
}

int alog__seg_create(struct alog *log, int64_t base, struct alog_segment **out)
{
    struct alog_segment *seg;
    int rc = seg_alloc(log, base, &seg);
    if (rc)
        return rc;
    char path[4096];
    seg_path(seg, path, sizeof(path), ".log");
    unsigned fl = MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY;
    seg->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->fd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = open_index(log, seg, MM_INDEX_OFFSET, fl)) != 0 ||
        (rc = open_index(log, seg, MM_INDEX_TIME, fl)) != 0)
        goto fail;
    *out = seg;
    return 0;
fail:
    (void)alog__seg_unlink(seg); /* best effort: an empty stray segment is harmless anyway */
    seg_free(seg);
    return rc;
}

/* Open an index of an existing segment read-only; a missing one is left closed (fd -1). */
static int open_existing_index(struct alog *log, struct alog_segment *seg, enum mm_index_kind kind)
{
    int rc = open_index(log, seg, kind, MM_INDEX_READONLY);
    return rc == -ENOENT ? 0 : rc;
}

static void max_ts_from_index(struct alog_segment *seg)
{
    struct mm_index_entry e;
    if (seg->tidx.file.fd >= 0 && mm_index_last(&seg->tidx, &e) == 0) {
        atomic_store_explicit(&seg->max_ts, e.key, memory_order_relaxed);
        seg->max_ts_offset = seg->base + e.value;
    }
}

int alog__seg_open(struct alog *log, int64_t base, struct alog_segment **out)
{
    struct alog_segment *seg;
    int rc = seg_alloc(log, base, &seg);
    if (rc)
        return rc;
    char path[4096];
    seg_path(seg, path, sizeof(path), ".log");
    struct stat st;
    seg->fd = open(path, O_RDWR | O_CLOEXEC);
    if (seg->fd < 0 || fstat(seg->fd, &st) < 0) {
        rc = -errno;
        goto fail;
    }
    atomic_store_explicit(&seg->size, (uint64_t)st.st_size, memory_order_relaxed);
    if ((rc = open_existing_index(log, seg, MM_INDEX_OFFSET)) != 0 ||
        (rc = open_existing_index(log, seg, MM_INDEX_TIME)) != 0)
        goto fail;
    max_ts_from_index(seg);
    *out = seg;
    return 0;
fail:
    seg_free(seg);
    return rc;
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
    if (seg->bytes_since_index > log->cfg.index_interval_bytes) {
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
    alog__scan_init(&s, seg->fd, alog__seg_size(seg), buf, sizeof(buf));
    int rc = alog__scan_header(&s, e.value, &h, &size);
    if (rc < 0 && rc > KC_ENEEDMORE)
        return rc; /* -errno: an I/O error, not a verdict on the index */
    if (rc || h.base_offset + h.last_offset_delta != seg->base + e.key)
        return KC_ECORRUPT;
    return 0;
}

int alog__seg_index_check(struct alog_segment *seg, int64_t next_offset, const char **why)
{
    if (seg->oidx.file.fd < 0 || seg->tidx.file.fd < 0) {
        *why = seg->oidx.file.fd < 0 ? "missing .index" : "missing .timeindex";
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
        if (idx[i]->file.fd < 0)
            continue;
        rc = mm_index_sync(idx[i], MM_SYNC_NOW);
        if (rc == 0)
            rc = kc_fsync(idx[i]->file.fd); /* the trimmed size is metadata */
    }
    return rc;
}

int alog__seg_truncate(struct alog *log, struct alog_segment *seg, uint64_t size)
{
    return log->io.ftruncate(log->io.ctx, seg->fd, (off_t)size);
}

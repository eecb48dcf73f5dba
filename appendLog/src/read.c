/*
 * read.c - from an offset (or a time) to a file range of whole batches.
 *
 *   offset 5000                                   cost, whatever the log's length
 *     1. segment: binary search over base offsets      O(log segments), in memory
 *          [0] [1200] [2400] [3600] [4800] [6000]
 *                                  ^ 4800
 *     2. index: greatest entry <= 5000 - 4800 = 200    O(log entries), mapped memory
 *          (183, pos 61440)   and the entry after it: (221, pos 65910)
 *     3. scan: walk batch headers from pos 61440       one pread of [61440, 65910 + 61):
 *          [150..183][184..201] <- contains 200        the batch wanted starts at or
 *                                                      before the next indexed batch
 *     4. extend: whole batches after it up to max_bytes, jumping through the index by
 *          position (the last indexed batch that still fits), then a short walk
 *
 * Touch only what is needed: step 3 reads the span between two index entries (about one
 * index.interval.bytes), not a fixed chunk; step 4 reads no header at all when max_bytes
 * leaves no room for another batch, and at most one span after the jump however large
 * max_bytes is (a 1 MiB fetch used to walk, and copy, every header in that megabyte).
 *
 * The result is (fd, pos, len) for sendfile(2), holding a reference on the segment so the
 * fd survives retention. Readers take no lock the writer holds: they load the log end
 * with acquire (alog_int.h explains the publication order) and read only below it. They
 * do hold the recovery lock shared, which costs an uncontended read-lock: alog_recover
 * (fault.c) truncates files and remaps indexes, so it waits for readers to leave and
 * refuses new ones (-EIO) until it is done. While the log is failed (a fsync failed and
 * the page cache may hold bytes the disk does not), reads stop at the durable offset.
 */
#include <errno.h>
#include <stdlib.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"

/* Inside committed bytes a header that does not parse means damage, not "wait". */
static int as_corrupt(int rc)
{
    return rc <= KC_ENEEDMORE ? KC_ECORRUPT : rc;
}

static int64_t last_offset(const struct kc_batch_header *h)
{
    return h->base_offset + h->last_offset_delta;
}

/*
 * Where the walk for offset starts (the floor entry's position, or 0) and where the batch
 * holding offset starts at the latest (the next entry's position; the segment's end if
 * there is no next entry).
 */
static void floor_span(struct alog_segment *seg, int64_t offset, uint64_t end, uint64_t *from,
                       uint64_t *to)
{
    struct mm_index_entry e;
    size_t i = 0;
    bool found = mm_index_find(&seg->oidx, offset - seg->base, &i) == 0;
    *from = 0;
    *to = end;
    if (found) {
        mm_index_entry_at(&seg->oidx, i, &e);
        *from = e.value; /* the batch there ends at e.key <= offset: ours is here or later */
        i++;
    }
    if (i < mm_index_entries(&seg->oidx)) {
        mm_index_entry_at(&seg->oidx, i, &e); /* ends at e.key > offset: ours is here or before */
        *to = e.value < end ? e.value : end;
    }
}

/* The batch containing offset: index floor, then walk headers forward. */
static int locate(struct alog_scan *s, struct alog_segment *seg, int64_t offset, uint64_t *pos,
                  struct kc_batch_header *h, size_t *size)
{
    uint64_t p, to;
    floor_span(seg, offset, s->end, &p, &to);
    alog__scan_window(s, (size_t)(to > p ? to - p : 0) + KC_BATCH_HEADER_SIZE);
    for (;;) {
        int rc = alog__scan_header(s, p, h, size);
        if (rc)
            return as_corrupt(rc);
        if (last_offset(h) >= offset)
            break;
        p += *size;
    }
    *pos = p;
    return 0;
}

/*
 * Jump from pos + *len to the last indexed batch that starts before stop and ends below
 * limit: every batch in between is whole and fits. The header there is read to learn its
 * base offset (the next offset of the slice so far) and to check the entry against it.
 */
static void jump(struct alog_scan *s, struct alog_segment *seg, uint64_t pos, uint64_t stop,
                 int64_t limit, size_t *len, int64_t *next)
{
    struct mm_index_entry e;
    uint64_t p = pos + *len;
    if (mm_index_lookup_position(&seg->oidx, (uint32_t)stop, &e) != 0)
        return;
    if (seg->base + e.key >= limit &&
        mm_index_lookup(&seg->oidx, limit - 1 - seg->base, &e, NULL) != 0)
        return;
    if (e.value <= p)
        return;
    struct kc_batch_header h;
    size_t size;
    alog__scan_window(s, (size_t)(stop - e.value));
    if (alog__scan_header(s, e.value, &h, &size) != 0 || last_offset(&h) != seg->base + e.key)
        return; /* the index disagrees with the log: walk instead; the next read reports it */
    *len = (size_t)(e.value - pos);
    *next = h.base_offset;
}

/* Whole batches after the first, while they fit in max_bytes and end below limit. */
static void extend(struct alog_scan *s, struct alog_segment *seg, uint64_t pos, size_t max_bytes,
                   int64_t limit, size_t *len, int64_t *next)
{
    uint64_t stop = max_bytes < s->end - pos ? pos + max_bytes : s->end;
    if (stop - (pos + *len) < KC_BATCH_HEADER_SIZE)
        return; /* no room for another batch: read nothing */
    if (stop - (pos + *len) > s->cap)
        jump(s, seg, pos, stop, limit, len, next);
    alog__scan_window(s, (size_t)(stop - (pos + *len)));
    struct kc_batch_header h;
    size_t size;
    while (stop - (pos + *len) >= KC_BATCH_HEADER_SIZE) {
        if (alog__scan_header(s, pos + *len, &h, &size) != 0)
            break; /* serve what is known good; the next read reports the damage */
        if (*len + size > max_bytes || last_offset(&h) >= limit)
            break;
        *len += size;
        *next = last_offset(&h) + 1;
    }
}

/*
 * A log the store's sweep recovered after a crash holds records that are not known to be
 * on disk until the sweep's syncfs (store.c). A reader does not wait for the whole sweep:
 * it makes this one log durable now (an fdatasync or two, once per log after a crash) and
 * then reads everything, as an open outside the sweep would have. Before the recovery
 * lock: a flush takes flush_lock, which alog_recover holds while it waits for readers.
 */
static void settle_repair(struct alog *log)
{
    if (atomic_load(&log->repair_unsynced) && !atomic_load(&log->failed))
        (void)alog__flush(log, false); /* on failure reads stop at the durable offset */
}

/* The readers' side of alog_recover. *limit: the offset reads stop at (everything, or
 * only what is known to be on disk while the log is failed). */
static int reader_enter(struct alog *log, int64_t *limit)
{
    int rc = pthread_rwlock_tryrdlock(&log->recover_lock);
    if (rc)
        return rc == EBUSY ? -EIO : -rc; /* a recovery runs or waits: ask again later */
    bool below_durable = atomic_load(&log->failed) || atomic_load(&log->repair_unsynced);
    *limit = below_durable ? alog_durable_offset(log) : INT64_MAX;
    return 0;
}

static void reader_leave(struct alog *log)
{
    pthread_rwlock_unlock(&log->recover_lock);
}

static int read_locked(struct alog *log, int64_t offset, size_t max_bytes, int64_t limit,
                       struct alog_slice *slice)
{
    int64_t end = alog__end(log); /* acquire: every offset below is readable */
    if (offset == end)
        return KC_EEMPTY;
    if (offset < alog__start(log) || offset > end)
        return KC_EOFFSET;
    if (offset >= limit) /* the log failed, or was just recovered: not known to be on disk */
        return atomic_load(&log->failed) ? -EIO : KC_EEMPTY;
    struct alog_segment *seg = alog__segs_find(log, offset);
    if (!seg)
        return KC_EOFFSET; /* retention removed it after the start check */
    int rc = alog__seg_warm_retry(log, seg); /* an old segment may be cold */
    if (rc) {
        alog__seg_unref(seg);
        return rc;
    }
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    struct kc_batch_header h;
    uint64_t pos;
    size_t size;
    rc = locate(&s, seg, offset, &pos, &h, &size);
    if (rc) {
        alog__seg_unref(seg);
        return rc;
    }
    int64_t next = last_offset(&h) + 1;
    size_t len = size;
    extend(&s, seg, pos, max_bytes, limit, &len, &next);
    slice->fd = seg->fd;
    slice->pos = (off_t)pos;
    slice->len = len;
    slice->first_offset = h.base_offset;
    slice->next_offset = next;
    slice->seg = seg; /* our reference passes to the slice */
    return 0;
}

/* The answers that need no file: a long-poll at the end of an idle log of a store does
 * not open it. */
static int read_precheck(struct alog *log, int64_t offset)
{
    int64_t end = alog_end_offset(log);
    if (offset == end)
        return KC_EEMPTY;
    if (offset < alog_start_offset(log) || offset > end)
        return KC_EOFFSET;
    return 0;
}

int alog_read(struct alog *log, int64_t offset, size_t max_bytes, struct alog_slice *slice)
{
    int64_t limit;
    int rc = read_precheck(log, offset);
    if (rc || (rc = alog__enter(log)) != 0)
        return rc;
    settle_repair(log);
    if ((rc = reader_enter(log, &limit)) == 0) {
        rc = read_locked(log, offset, max_bytes, limit, slice);
        reader_leave(log);
    }
    alog__leave(log); /* the slice keeps its segment, and its descriptor, on its own */
    return rc;
}

int alog__seg_boundary(struct alog_segment *seg, int64_t offset, uint64_t *pos)
{
    uint64_t size = alog__seg_size(seg), p;
    if (offset == alog__seg_next(seg)) {
        *pos = size;
        return 0;
    }
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    struct kc_batch_header h;
    size_t n;
    int rc = seg->fd >= 0 ? 0 : -EBADF; /* the caller warmed it */
    if (rc)
        return rc;
    alog__scan_init(&s, seg, size, buf, sizeof(buf));
    rc = locate(&s, seg, offset, &p, &h, &n);
    if (rc == 0 && h.base_offset != offset)
        rc = KC_ECORRUPT; /* offset lies inside a batch: not a boundary */
    if (rc == 0)
        *pos = p;
    return rc;
}

int alog__seg_locate(struct alog_segment *seg, int64_t offset, uint64_t *pos,
                     struct kc_batch_header *h)
{
    if (seg->fd < 0)
        return -EBADF; /* the caller warmed it */
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    size_t n;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    return locate(&s, seg, offset, pos, h, &n);
}

void alog_slice_release(struct alog_slice *slice)
{
    if (!slice || !slice->seg)
        return;
    alog__seg_unref(slice->seg);
    slice->seg = NULL;
    slice->fd = -1;
}

int alog_read_copy(struct alog *log, int64_t offset, size_t max_bytes, struct kc_writer *out,
                   int64_t *next_offset)
{
    struct alog_slice slice;
    int rc = alog_read(log, offset, max_bytes, &slice);
    if (rc)
        return rc;
    size_t before = out->len;
    uint8_t *dst = kc_writer_reserve(out, slice.len);
    if (!dst) {
        rc = kc_writer_error(out);
    } else {
        ssize_t r = kc_pread_full(slice.fd, dst, slice.len, slice.pos);
        if (r != (ssize_t)slice.len) {
            rc = r < 0 ? (int)r : KC_ECORRUPT;
            out->len = before; /* take back the reserved bytes */
        }
    }
    if (rc == 0)
        *next_offset = slice.next_offset;
    alog_slice_release(&slice);
    return rc;
}

/* The oldest segment whose largest timestamp reaches ts, with a reference and warm (a
 * cold segment's largest timestamp is read from its time index: it is warmed to learn it). */
static int segment_for_time(struct alog *log, int64_t ts, struct alog_segment **out)
{
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)(n ? n : 1), sizeof(*segs));
    if (!segs)
        return -ENOMEM;
    n = alog__segs_snapshot(log, segs, n);
    int rc = -ENOENT;
    for (int i = 0; i < n; i++) {
        if (rc == -ENOENT && (rc = alog__seg_warm_retry(log, segs[i])) == 0) {
            if (atomic_load_explicit(&segs[i]->max_ts, memory_order_acquire) >= ts) {
                *out = segs[i]; /* our reference passes to the caller */
                continue;
            }
            rc = -ENOENT;
        }
        alog__seg_unref(segs[i]);
    }
    free(segs);
    return rc;
}

/* Where to start scanning for ts: the batch holding the floor time entry's offset. */
static uint64_t time_scan_start(struct alog_segment *seg, int64_t ts)
{
    struct mm_index_entry te, oe;
    if (mm_index_lookup(&seg->tidx, ts, &te, NULL) != 0)
        return 0;
    /* Batches up to te's offset have maxTimestamp <= te.key <= ts, and the first to reach
     * te.key is the batch holding te's offset, so the answer is there or later. */
    if (mm_index_lookup(&seg->oidx, te.value, &oe, NULL) != 0)
        return 0;
    return oe.value;
}

static int offset_for_time_locked(struct alog *log, int64_t ts, int64_t limit, int64_t *offset)
{
    int64_t end = alog__end(log);
    end = end < limit ? end : limit;
    struct alog_segment *seg = NULL;
    int rc = segment_for_time(log, ts, &seg);
    if (rc)
        return rc;
    uint8_t buf[ALOG_READ_CHUNK];
    struct alog_scan s;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    alog__scan_window(&s, (size_t)atomic_load(&log->index_interval) + KC_BATCH_HEADER_SIZE);
    struct kc_batch_header h;
    size_t size;
    rc = -ENOENT;
    for (uint64_t p = time_scan_start(seg, ts); p < s.end; p += size) {
        int r = alog__scan_header(&s, p, &h, &size);
        if (r) {
            rc = as_corrupt(r);
            break;
        }
        if (h.base_offset >= end)
            break; /* not yet published: as if not there */
        if (h.max_timestamp >= ts) {
            *offset = h.base_offset;
            rc = 0;
            break;
        }
    }
    alog__seg_unref(seg);
    return rc;
}

int alog_offset_for_time(struct alog *log, int64_t ts, int64_t *offset)
{
    int64_t limit;
    int rc = alog__enter(log);
    if (rc)
        return rc;
    settle_repair(log);
    if ((rc = reader_enter(log, &limit)) == 0) {
        rc = offset_for_time_locked(log, ts, limit, offset);
        reader_leave(log);
    }
    alog__leave(log);
    return rc;
}

/*
 * clean.c - log compaction: one cleaning pass over one log (Kafka's Cleaner.doClean).
 *
 *   segments   [ 0 ][ 1 ][ 2 ][ 3 ][ 4 ][ 5 ][ 6 active ]
 *              |<-- clean --->|<------ dirty ------->|
 *                             ^ first dirty offset    ^ first uncleanable offset
 *                               (cleaner-offset-        the active segment's base, or the
 *                               checkpoint)             first segment younger than
 *                                                       min.compaction.lag.ms, or not yet
 *                                                       durable (data and indexes),
 *                                                       whichever comes first
 *
 *   1. MAP the dirty part: key -> the latest offset it was written at (offset_map.c),
 *      as many whole batches as the dedupe buffer holds; where it stops is `end`.
 *   2. REWRITE every segment below end, the clean ones too (an old record is dropped when
 *      a newer record of its key arrives, wherever the old one lies), in groups that fit
 *      one segment (segment.bytes, 2^31 offsets), each group into ONE new segment with the
 *      first one's base. A record is kept when
 *          it lies past what the map saw (offset > the map's latest)       kept
 *          it has no key                                                   dropped
 *          the map knows a later offset for its key                        dropped
 *          it is a tombstone whose batch's delete horizon has passed        dropped
 *          otherwise (the latest for its key, or a key only the clean part has)  kept
 *      and per batch:
 *          every record kept, nothing to change      copied byte for byte
 *          some kept, or a tombstone to be timed     rebuilt: same base offset, same
 *                                                    lastOffsetDelta, same codec, same
 *                                                    producer fields (kc_codec.h)
 *          none kept                                 folded with its neighbours into ONE
 *                                                    record-less batch spanning their
 *                                                    offsets (61 bytes)
 *      so every offset of a new segment is still covered by a batch: recovery's continuity
 *      check, the read path's index walk and the boundaries tests need no exception for
 *      compacted logs. Gaps are inside batches, or a batch with none left.
 *   3. SWAP each new segment in (swap.c: .cleaned, .swap, crash-safe); the new first dirty
 *      offset is end, written at the store's next checkpoint (cleaner-offset-checkpoint).
 *
 * Tombstones (a key with a null value) delete their key, but a consumer must get the
 * chance to see them: the first cleaning that keeps one writes a DELETE HORIZON into its
 * batch (now + delete.retention.ms: attribute bit 6 and the base timestamp, KIP-534, record
 * timestamps stay what they were); a later cleaning past the horizon drops it.
 *
 * Every batch read is CRC-checked before its records are trusted: a cleaner that rebuilt
 * a damaged batch would give it a valid CRC and make the damage permanent. A bad batch
 * stops the pass (KC_ECORRUPT) and nothing is rewritten from it.
 *
 * Concurrency: the caller holds retain_lock (no retention, no other cleaning) and a pin;
 * this file takes the recovery lock shared (alog_recover waits). Appends go on: the active
 * segment is never touched. Readers go on: swap.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_codec.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_time.h"
#include "offset_map.h"
#include "store_int.h"

struct clean {
    struct alog *log;
    struct alog_config cfg;
    int64_t now;
    struct alog_omap *map;
    const _Atomic bool *stop;
    struct alog_clean_stats *st;
    size_t io_bytes;
    int64_t horizon; /* the earliest delete horizon of a tombstone kept by this pass */
    /* input: a window of the segment being read */
    int in_fd;
    uint64_t in_end, in_at;
    uint8_t *in;
    size_t in_cap, in_len;
    /* output: the new segment, its unwritten bytes, a pending run of emptied batches */
    struct alog_segment *out;
    struct kc_writer w;
    uint64_t written;
    bool gap;
    int64_t gap_base, gap_last, gap_ts;
    int32_t gap_epoch;
    struct kc_batch_builder b;
    struct kc_record *kept;
    size_t kept_cap;
};

static bool stopped(const struct clean *c)
{
    return c->stop && atomic_load_explicit(c->stop, memory_order_relaxed);
}

/* ---- reading batches ---------------------------------------------------------------- */

static void in_open(struct clean *c, struct alog_segment *seg)
{
    c->in_fd = seg->fd; /* warm: the caller holds a reference */
    c->in_end = alog__seg_size(seg);
    c->in_at = 0;
    c->in_len = 0;
}

/* Make [pos, pos + need) readable in the window. */
static int in_window(struct clean *c, uint64_t pos, size_t need)
{
    if (pos >= c->in_at && pos + need <= c->in_at + c->in_len)
        return 0;
    if (need > c->in_cap) {
        uint8_t *p = realloc(c->in, need);
        if (!p)
            return -ENOMEM;
        c->in = p;
        c->in_cap = need;
    }
    uint64_t left = c->in_end - pos;
    size_t want = left < c->in_cap ? (size_t)left : c->in_cap;
    ssize_t r = want < need ? 0 : kc_pread_full(c->in_fd, c->in, want, (off_t)pos);
    if (r < 0)
        return (int)r;
    if ((size_t)r < need)
        return KC_ECORRUPT; /* the file is shorter than its committed size */
    c->in_at = pos;
    c->in_len = (size_t)r;
    return 0;
}

/* The batch at pos, whole and CRC-checked: 1, 0 at the segment's end, or an error. */
static int in_batch(struct clean *c, uint64_t pos, struct kc_batch_header *h, const uint8_t **p,
                    size_t *size)
{
    if (pos >= c->in_end)
        return 0;
    int rc = in_window(c, pos, KC_BATCH_HEADER_SIZE);
    if (rc == 0)
        rc = kc_batch_header_decode_stored(c->in + (pos - c->in_at), KC_BATCH_HEADER_SIZE, h);
    if (rc)
        return rc <= KC_ENEEDMORE ? KC_ECORRUPT : rc;
    *size = (size_t)h->batch_length + KC_BATCH_LOG_OVERHEAD;
    if (pos + *size > c->in_end)
        return KC_ECORRUPT;
    if ((rc = in_window(c, pos, *size)) != 0)
        return rc;
    *p = c->in + (pos - c->in_at);
    uint32_t crc = kc_crc32c(0, *p + KC_BATCH_OFF_ATTRIBUTES, *size - KC_BATCH_OFF_ATTRIBUTES);
    return crc == h->crc ? 1 : KC_ECORRUPT;
}

static int64_t last_of(const struct kc_batch_header *h)
{
    return h->base_offset + h->last_offset_delta;
}

/* ---- 1. the map --------------------------------------------------------------------- */

static int map_batch(struct clean *c, const uint8_t *p, size_t size, int64_t first)
{
    struct kc_batch_reader br;
    struct kc_record r;
    int rc = kc_batch_reader_open(&br, p, size, ALOG_CLEAN_INFLATE_MAX);
    if (rc)
        return rc <= KC_ENEEDMORE && rc != KC_ETOOLARGE ? KC_ECORRUPT : rc;
    while ((rc = kc_batch_reader_next(&br, &r)) == 1) {
        if (r.offset >= first && r.key && (rc = alog__omap_put(c->map, r.key, (size_t)r.key_len,
                                                               r.offset)) != 0)
            break;
    }
    kc_batch_reader_close(&br);
    return rc == KC_EMALFORMED ? KC_ECORRUPT : rc;
}

/* Map one dirty segment from offset first on; *full when the next batch would not fit. */
static int map_segment(struct clean *c, struct alog_segment *seg, int64_t first, bool *full)
{
    struct kc_batch_header h;
    const uint8_t *p;
    size_t size;
    int rc;
    in_open(c, seg);
    for (uint64_t pos = 0; (rc = in_batch(c, pos, &h, &p, &size)) == 1; pos += size) {
        if (last_of(&h) < first)
            continue;
        bool control = h.attributes & KC_BATCH_ATTR_CONTROL;
        if (!control && h.records_count > 0) {
            if ((size_t)h.records_count > alog__omap_room(c->map)) {
                *full = true;
                return c->map->size == 0 ? KC_EFULL : 0;
            }
            if ((rc = map_batch(c, p, size, first)) != 0)
                return rc;
        }
        alog__omap_note(c->map, last_of(&h)); /* looked at, keys or not */
    }
    return rc;
}

/* The map of [first, bound); *end: the offset after the last batch it covers. */
static int build_map(struct clean *c, struct alog_segment **segs, int n, int64_t first,
                     int64_t bound, int64_t *end)
{
    int rc = alog__omap_clear(c->map);
    alog__omap_note(c->map, first - 1); /* what lies below was mapped by earlier passes */
    bool full = false;
    for (int i = 0; rc == 0 && !full && i < n - 1 && segs[i]->base < bound; i++) {
        if (alog__seg_next(segs[i]) <= first)
            continue;
        rc = stopped(c) ? KC_ECLOSED : alog__seg_warm_retry(c->log, segs[i]);
        if (rc == 0)
            rc = map_segment(c, segs[i], first, &full);
    }
    *end = c->map->latest + 1;
    c->st->keys_mapped = c->map->size;
    return rc;
}

/* ---- 2. the rewrite ------------------------------------------------------------------ */

static int out_flush(struct clean *c)
{
    size_t len = kc_writer_len(&c->w);
    if (kc_writer_error(&c->w))
        return kc_writer_error(&c->w);
    if (len == 0)
        return 0;
    struct alog_io *io = &c->log->io;
    ssize_t n = io->pwrite(io->ctx, c->out->fd, kc_writer_data(&c->w), len, (off_t)c->written);
    if (n < 0)
        return (int)n;
    if ((size_t)n != len)
        return -EIO;
    c->written += len;
    kc_writer_reset(&c->w);
    return 0;
}

/* Append a finished batch to the new segment and index it. */
static int put(struct clean *c, const uint8_t *p, size_t size)
{
    struct kc_batch_header h;
    int rc = kc_batch_header_decode_stored(p, size, &h);
    uint64_t pos = c->written + kc_writer_len(&c->w);
    if (rc)
        return rc;
    if (pos + size > ALOG_SEGMENT_BYTES_MAX)
        return KC_ETOOLARGE; /* cannot happen: a group is at most segment.bytes */
    alog__seg_index_batch(c->log, c->out, pos, &h, size);
    kc_write_raw(&c->w, p, size);
    c->st->bytes_written += size;
    return kc_writer_len(&c->w) >= c->io_bytes ? out_flush(c) : kc_writer_error(&c->w);
}

static void gap_add(struct clean *c, const struct kc_batch_header *h)
{
    if (!c->gap) {
        c->gap = true;
        c->gap_base = h->base_offset;
        c->gap_ts = -1;
    }
    c->gap_last = last_of(h);
    c->gap_epoch = h->leader_epoch;
    if (h->max_timestamp > c->gap_ts)
        c->gap_ts = h->max_timestamp;
    c->st->batches_emptied++;
}

/* The pending run of emptied batches as one record-less batch (its largest timestamp
 * kept, so the time index and retention by time see the segment as before). */
static int gap_flush(struct clean *c)
{
    if (!c->gap)
        return 0;
    c->gap = false;
    kc_batch_builder_reset(&c->b);
    c->b.opts = (struct kc_batch_opts){.base_offset = c->gap_base, .leader_epoch = c->gap_epoch,
                                       .producer_id = -1, .producer_epoch = -1,
                                       .base_sequence = -1};
    struct kc_batch_rebuild rb = {.keep_last_offset_delta = true,
                                  .last_offset_delta = (int32_t)(c->gap_last - c->gap_base),
                                  .keep_base_timestamp = true, .base_timestamp = c->gap_ts,
                                  .keep_max_timestamp = true, .max_timestamp = c->gap_ts};
    kc_batch_builder_set_rebuild(&c->b, &rb);
    uint8_t *p;
    size_t len;
    int rc = kc_batch_builder_finish(&c->b, &p, &len);
    return rc ? rc : put(c, p, len);
}

static int emit(struct clean *c, const uint8_t *p, size_t size)
{
    int rc = gap_flush(c);
    return rc ? rc : put(c, p, size);
}

/* The delete horizon saturates rather than wrapping (delete.retention.ms may be huge). */
static int64_t horizon_from(int64_t now, int64_t retention)
{
    return retention > INT64_MAX - now ? INT64_MAX : now + retention;
}

/* Re-encode the kept records of h with its codec, offsets and producer fields. */
static int rebuild(struct clean *c, const struct kc_batch_header *h, size_t nkept, bool set_horizon)
{
    int rc = gap_flush(c); /* first: it uses the same builder */
    if (rc)
        return rc;
    kc_batch_builder_reset(&c->b);
    int16_t attrs = (int16_t)(h->attributes | (set_horizon ? KC_BATCH_ATTR_DELETE_HORIZON : 0));
    c->b.opts = (struct kc_batch_opts){.base_offset = h->base_offset,
                                       .leader_epoch = h->leader_epoch, .attributes = attrs,
                                       .producer_id = h->producer_id,
                                       .producer_epoch = h->producer_epoch,
                                       .base_sequence = h->base_sequence};
    struct kc_batch_rebuild rb = {.codec = h->attributes & KC_BATCH_ATTR_COMPRESSION,
                                  .keep_last_offset_delta = true,
                                  .last_offset_delta = h->last_offset_delta};
    if (attrs & KC_BATCH_ATTR_DELETE_HORIZON) {
        rb.keep_base_timestamp = true;
        rb.base_timestamp = set_horizon ? horizon_from(c->now, c->cfg.delete_retention_ms)
                                        : h->base_timestamp;
    }
    if (h->attributes & KC_BATCH_ATTR_LOG_APPEND) {
        rb.keep_max_timestamp = true;
        rb.max_timestamp = h->max_timestamp;
    }
    kc_batch_builder_set_rebuild(&c->b, &rb);
    for (size_t i = 0; i < nkept && rc == 0; i++)
        rc = kc_batch_builder_add_record(&c->b, &c->kept[i],
                                         (int32_t)(c->kept[i].offset - h->base_offset));
    uint8_t *p;
    size_t len;
    if (rc == 0)
        rc = kc_batch_builder_finish_codec(&c->b, &p, &len);
    if (rc == 0 && (attrs & KC_BATCH_ATTR_DELETE_HORIZON) && rb.base_timestamp < c->horizon)
        c->horizon = rb.base_timestamp;
    return rc ? rc : put(c, p, len);
}

/* Kafka's shouldRetainRecord, with KIP-534's horizon. *tomb: a tombstone that stays. */
static bool keep(struct clean *c, const struct kc_batch_header *h, const struct kc_record *r,
                 bool *tomb)
{
    *tomb = false;
    if (r->offset > c->map->latest)
        return true; /* past what this pass mapped: its turn comes next time */
    if (!r->key)
        return false;
    if (alog__omap_get(c->map, r->key, (size_t)r->key_len) > r->offset)
        return false; /* its key was written again later */
    if (r->value)
        return true;
    bool timed = h->attributes & KC_BATCH_ATTR_DELETE_HORIZON;
    *tomb = !(timed && c->now >= h->base_timestamp);
    if (!*tomb)
        c->st->tombstones_removed++;
    return *tomb;
}

static int kept_push(struct clean *c, size_t n, const struct kc_record *r)
{
    if (n == c->kept_cap) {
        size_t cap = c->kept_cap ? c->kept_cap * 2 : 256;
        struct kc_record *k = reallocarray(c->kept, cap, sizeof(*k));
        if (!k)
            return -ENOMEM;
        c->kept = k;
        c->kept_cap = cap;
    }
    c->kept[n] = *r;
    return 0;
}

/* Decide one batch's fate (above) and write what is left of it. */
static int filter(struct clean *c, const struct kc_batch_header *h, const uint8_t *p, size_t size)
{
    struct kc_batch_reader br;
    struct kc_record r;
    size_t n = 0, tombs = 0;
    bool tomb;
    if (h->attributes & KC_BATCH_ATTR_CONTROL) {
        c->st->batches_copied++;
        return emit(c, p, size);
    }
    int rc = kc_batch_reader_open(&br, p, size, ALOG_CLEAN_INFLATE_MAX);
    if (rc)
        return rc <= KC_ENEEDMORE && rc != KC_ETOOLARGE ? KC_ECORRUPT : rc;
    while ((rc = kc_batch_reader_next(&br, &r)) == 1) {
        c->st->records_read++;
        if (keep(c, h, &r, &tomb) && (rc = kept_push(c, n++, &r)) != 0)
            break;
        tombs += tomb;
    }
    bool set_horizon = tombs > 0 && !(h->attributes & KC_BATCH_ATTR_DELETE_HORIZON);
    c->st->records_kept += n;
    if (rc) {
        rc = rc == KC_EMALFORMED ? KC_ECORRUPT : rc;
    } else if (n == (size_t)h->records_count && !set_horizon) {
        c->st->batches_copied++;
        if (tombs > 0 && h->base_timestamp < c->horizon)
            c->horizon = h->base_timestamp; /* timed before, and still to come */
        rc = emit(c, p, size);
    } else if (n == 0) {
        gap_add(c, h);
    } else {
        c->st->batches_rebuilt++;
        rc = rebuild(c, h, n, set_horizon);
    }
    kc_batch_reader_close(&br); /* after the rebuild: the kept records point into it */
    return rc;
}

static int rewrite_segment(struct clean *c, struct alog_segment *seg)
{
    struct kc_batch_header h;
    const uint8_t *p;
    size_t size;
    int rc;
    in_open(c, seg);
    for (uint64_t pos = 0; (rc = in_batch(c, pos, &h, &p, &size)) == 1; pos += size) {
        c->st->bytes_read += size;
        if ((rc = filter(c, &h, p, size)) != 0)
            break;
    }
    return rc;
}

/* The new segment made durable, with the old group's last modification time (retention
 * by time falls back on it when batches carry no timestamps, as Kafka's does). */
static int seal_out(struct clean *c, struct alog_segment *last_old)
{
    struct alog_segment *seg = c->out;
    int rc = gap_flush(c);
    if (rc == 0)
        rc = out_flush(c);
    if (rc == 0)
        rc = alog__seg_seal(seg);
    if (rc == 0)
        rc = c->log->io.fdatasync(c->log->io.ctx, seg->fd);
    if (rc == 0)
        rc = alog__seg_index_sync(seg);
    struct stat st;
    if (rc == 0 && fstat(last_old->fd, &st) == 0) {
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, st.st_mtim};
        (void)futimens(seg->fd, times); /* a nicety: retention's fallback age */
    }
    atomic_store(&seg->size, c->written);
    atomic_store(&seg->next_offset, alog__seg_next(last_old));
    seg->ts_known = true;
    seg->idx_checked = true;
    seg->index_synced = true;
    return rc;
}

/* Rewrite old[0..k) into one new segment and swap it in. */
static int clean_group(struct clean *c, struct alog_segment **old, int k)
{
    int rc = 0;
    for (int i = 0; i < k && rc == 0; i++)
        rc = alog__seg_warm_retry(c->log, old[i]); /* and kept warm: swap.c says why */
    if (rc == 0)
        rc = alog__seg_create_sfx(c->log, old[0]->base, ".cleaned", &c->out);
    if (rc)
        return rc;
    c->written = 0;
    c->gap = false;
    kc_writer_reset(&c->w);
    for (int i = 0; i < k && rc == 0; i++)
        rc = stopped(c) ? KC_ECLOSED : rewrite_segment(c, old[i]);
    if (rc == 0)
        rc = seal_out(c, old[k - 1]);
    if (rc == 0 && c->written == 0)
        rc = KC_ECORRUPT; /* old segments are never empty: something is off, keep them */
    if (rc == 0)
        rc = alog__swap_in(c->log, old, k, c->out);
    if (rc && strcmp(c->out->sfx, ".cleaned") == 0)
        (void)alog__seg_unlink(c->out); /* never committed: its files go */
    if (rc && strcmp(c->out->sfx, ".cleaned") == 0)
        alog__seg_unref(c->out);
    c->out = NULL;
    c->st->segments_in += k;
    c->st->segments_out += rc == 0;
    return rc;
}

/* Groups of consecutive segments [i, j) that fit one segment. */
static int group_end(const struct clean *c, struct alog_segment **segs, int i, int r)
{
    uint64_t size = alog__seg_size(segs[i]);
    int j = i + 1;
    while (j < r && size + alog__seg_size(segs[j]) <= c->cfg.segment_bytes &&
           alog__seg_next(segs[j]) - 1 - segs[i]->base <= ALOG_MAX_RELATIVE_OFFSET)
        size += alog__seg_size(segs[j++]);
    return j;
}

static int rewrite(struct clean *c, struct alog_segment **segs, int n, int64_t end)
{
    int r = 0, rc = 0;
    while (r < n - 1 && segs[r]->base < end)
        r++;
    for (int i = 0; i < r && rc == 0;) {
        int j = group_end(c, segs, i, r);
        rc = stopped(c) ? KC_ECLOSED : clean_group(c, segs + i, j - i);
        i = j;
    }
    return rc;
}

/* ---- the pass ------------------------------------------------------------------------ */

/* Where the dirty part begins and the first offset that may not be cleaned yet (the
 * picture at the top). segs[n - 1] is taken for the active segment. */
static int plan(struct alog *log, const struct alog_config *cfg, int64_t now,
                struct alog_segment **segs, int n, int64_t *first, int64_t *bound)
{
    int64_t start = alog__start(log), dirty = atomic_load(&log->cleaned_offset);
    int64_t durable = alog_durable_offset(log), lag = cfg->min_compaction_lag_ms;
    *first = dirty < start || dirty > alog__end(log) ? start : dirty;
    *bound = segs[n - 1]->base; /* the active segment: never */
    for (int i = 0; i < n - 1; i++) {
        /* Only what is on disk, indexes included: the flusher may be syncing the indexes
         * of a segment it has not marked synced yet, through their file names. */
        bool stop = alog__seg_next(segs[i]) > durable || !atomic_load(&segs[i]->index_synced);
        if (!stop && lag > 0 && alog__seg_next(segs[i]) > *first) {
            int rc = alog__seg_warm_retry(log, segs[i]); /* its largest timestamp */
            if (rc)
                return rc;
            stop = atomic_load(&segs[i]->max_ts) > now - lag; /* min.compaction.lag.ms */
        }
        if (stop) {
            *bound = segs[i]->base;
            break;
        }
    }
    return 0;
}

/* The first batch's largest timestamp (Kafka's LogSegment.getFirstBatchTimestamp), -1. */
static int64_t first_batch_ts(struct alog *log, struct alog_segment *seg)
{
    uint8_t buf[KC_BATCH_HEADER_SIZE];
    struct kc_batch_header h;
    if (alog__seg_warm_retry(log, seg) != 0 || alog__seg_size(seg) < sizeof(buf) ||
        kc_pread_full(seg->fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
        kc_batch_header_decode_stored(buf, sizeof(buf), &h) != 0)
        return -1;
    return h.max_timestamp;
}

/* max.compaction.lag.ms: how long ago the oldest dirty record should have been cleaned. */
static int64_t overdue(struct alog *log, const struct alog_config *cfg, int64_t now,
                       struct alog_segment **segs, int n, int64_t first)
{
    int64_t earliest = INT64_MAX, lag = cfg->max_compaction_lag_ms;
    if (lag == INT64_MAX)
        return 0;
    for (int i = 0; i < n - 1; i++) {
        int64_t ts = alog__seg_next(segs[i]) > first ? first_batch_ts(log, segs[i]) : -1;
        if (ts > 0 && ts < earliest)
            earliest = ts;
    }
    int64_t until = now - lag;
    return earliest < until ? until - earliest : 0;
}

int alog__clean_dirt(struct alog *log, int64_t now_ms, struct alog_dirt *d)
{
    struct alog_config cfg;
    alog__cfg(log, &cfg);
    memset(d, 0, sizeof(*d));
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    if (!segs)
        return -ENOMEM;
    n = alog__segs_snapshot(log, segs, n);
    int rc = n > 0 ? plan(log, &cfg, now_ms, segs, n, &d->first, &d->bound) : 0;
    for (int i = 0; rc == 0 && i < n - 1; i++) {
        if (alog__seg_next(segs[i]) <= d->first)
            d->clean_bytes += alog__seg_size(segs[i]);
        else if (segs[i]->base < d->bound)
            d->dirty_bytes += alog__seg_size(segs[i]);
    }
    if (rc == 0 && n > 0)
        d->overdue_ms = overdue(log, &cfg, now_ms, segs, n, d->first);
    for (int i = 0; i < n; i++)
        alog__seg_unref(segs[i]);
    free(segs);
    return rc;
}

static int pass(struct clean *c, struct alog_segment **segs, int n)
{
    int64_t first, bound, end;
    int rc = plan(c->log, &c->cfg, c->now, segs, n, &first, &bound);
    if (rc == 0)
        rc = build_map(c, segs, n, first, bound, &end);
    if (rc)
        return rc;
    if (end > segs[n - 1]->base)
        end = segs[n - 1]->base;
    c->st->first_dirty = first;
    c->st->end_offset = end;
    rc = rewrite(c, segs, n, end);
    if (rc == 0) {
        atomic_store(&c->log->cleaned_offset, end);
        atomic_store(&c->log->horizon, c->horizon);
        alog__store_mark_dirty(c->log->store);
    } else if (c->horizon < atomic_load(&c->log->horizon)) {
        atomic_store(&c->log->horizon, c->horizon);
    }
    return rc;
}

static void clean_fini(struct clean *c)
{
    free(c->in);
    free(c->kept);
    kc_writer_fini(&c->w);
    kc_batch_builder_fini(&c->b);
}

int alog__clean_locked(struct alog *log, int64_t now_ms, struct alog_omap *map,
                       const _Atomic bool *stop, struct alog_clean_stats *st)
{
    int64_t t0 = kc_mono_ns();
    memset(st, 0, sizeof(*st));
    struct clean c = {.log = log, .now = now_ms, .map = map, .stop = stop, .st = st,
                      .io_bytes = log->store->cfg.cleaner_io_buffer_size,
                      .horizon = INT64_MAX};
    alog__cfg(log, &c.cfg);
    if (!(c.cfg.cleanup_policy & ALOG_CLEANUP_COMPACT))
        return -EINVAL;
    if (atomic_load(&log->failed))
        return -EIO; /* alog_recover first */
    int rc = pthread_rwlock_tryrdlock(&log->recover_lock);
    if (rc)
        return rc == EBUSY ? -EIO : -rc;
    kc_writer_init(&c.w, 0);
    kc_batch_builder_init(&c.b, NULL, 0);
    pthread_mutex_lock(&log->segs_lock);
    int n = log->nsegs; /* a roll may add one meanwhile: the last taken is then not the
                           active one, and is left alone as if it were */
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    rc = segs ? 0 : -ENOMEM;
    if (rc == 0) {
        n = alog__segs_snapshot(log, segs, n);
        rc = n > 1 ? pass(&c, segs, n) : 0;
        for (int i = 0; i < n; i++)
            alog__seg_unref(segs[i]); /* the replaced ones are freed here, files and all */
    }
    free(segs);
    clean_fini(&c);
    pthread_rwlock_unlock(&log->recover_lock);
    st->elapsed_us = (kc_mono_ns() - t0) / 1000;
    return rc;
}

int alog_clean(struct alog *log, int64_t now_ms, struct alog_clean_stats *stats)
{
    struct alog_clean_stats local;
    struct alog_omap map;
    if (!log->store)
        return KC_EUNSUPPORTED;
    int rc = alog__omap_init(&map, log->store->cfg.cleaner_dedupe_buffer_size);
    if (rc)
        return rc;
    if ((rc = alog__enter(log)) == 0) {
        pthread_mutex_lock(&log->retain_lock);
        rc = alog__clean_locked(log, now_ms, &map, NULL, stats ? stats : &local);
        pthread_mutex_unlock(&log->retain_lock);
        alog__leave(log);
    }
    alog__omap_fini(&map);
    return rc;
}

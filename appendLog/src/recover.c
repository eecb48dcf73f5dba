/*
 * recover.c - opening a log directory: find the segments, decide what to trust, repair
 * the rest. Runs inside alog_open, before the log is shared with any other thread.
 *
 * What a crash can leave behind, and who catches it:
 *
 *   damage                                   caught by
 *   torn last batch (length past the end)    header: batch extends past the file
 *   garbage tail / bit flips                 header fields (magic, counts) or CRC-32C
 *   zeros of an extended or preallocated     header: batchLength 0 is impossible
 *     tail (a crash after the size grew)
 *   a batch from a failed write, left in     offset continuity: every batch must start at
 *     place and partly overwritten            the previous batch's next offset (the base
 *                                             offset lies outside the CRC)
 *   index missing / corrupt / past the log   mm_index_check + the last entry re-read
 *   leftover temp files of this module       deleted by name (<segment>.*.tmp, .deleted,
 *                                             ..., <checkpoint>.tmp; others' are theirs)
 *   a cleaner's swap cut short (a store's    finished if it committed (<base>.log.swap),
 *     log: .cleaned / .swap files)             else deleted: swap.c
 *
 * The plan:
 *
 *   clean shutdown marker present?
 *     yes: trust every segment; walk the last one's headers from its last index entry to
 *          find the log end (cheap); sanity-check every index
 *     no:  trust segments below the one holding the recovery point; from that segment on,
 *          re-read every batch (lengths, magic, CRC, continuity), rebuilding the indexes
 *   either way, at the first bad byte: truncate the segment there, delete every later
 *   segment, and make the repair durable before the first append.
 *
 * Anything trusted that fails a check (an index, the tail walk) is re-read the untrusting
 * way; nothing on disk is believed because a file says so. A recovery point past the end
 * the segments hold contradicts them: then every segment is re-read.
 *
 * A store's log (store.c) has no marker of its own and needs none: it always trusts what
 * lies below its recovery point and re-reads what lies past it. After a clean close that
 * is nothing (the walk of its last segment ends exactly at the recovery point), after a
 * crash it is what was not yet checkpointed, whichever log it is.
 *
 * Checked per batch: header, lengths, magic, offset continuity and the CRC, as Kafka's
 * LogSegment.recover checks them; the records inside are not parsed (the produce path
 * validated them before they were written, and a compressed batch cannot be parsed here).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_parse.h"
#include "kc_time.h"

struct load {
    bool clean;
    int64_t rp;     /* recovery point from the checkpoint (0 if none) */
    int64_t start;  /* log start from the checkpoint (-1 if none) */
    int64_t *bases; /* .log files found, sorted */
    int nbases;
    int64_t *others; /* .index/.timeindex files found */
    int nothers;
    int64_t *swaps; /* a store's log: <base>.log.swap files (a cleaner's swap, swap.c) */
    int nswaps;
    int64_t *idx_swaps; /* ... and <base>.index.swap / .timeindex.swap */
    int nidx_swaps;
    uint8_t *buf;  /* ALOG_SCAN_CHUNK bytes for scans */
    int scanned;   /* segments re-read with CRCs */
    bool repaired; /* something on disk was changed */
    bool distrust; /* the checkpoints contradict the segments: trust nothing */
    bool saw_own;  /* the directory has its own checkpoint files or marker */
    bool store;    /* a store's log: what lies past the recovery point is always re-read */
};

/* Is an error a verdict on the data (KC_*) rather than an I/O failure (-errno)? */
static bool is_verdict(int rc)
{
    return rc <= KC_ENEEDMORE;
}

/* ---- the directory ------------------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "<20 digits><ext>" -> base offset; false for any other name. */
static bool segment_name(const char *name, const char *ext, int64_t *base)
{
    char digits[21];
    if (strlen(name) != 20 + strlen(ext) || !has_suffix(name, ext))
        return false;
    memcpy(digits, name, 20);
    digits[20] = '\0';
    for (int i = 0; i < 20; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return false;
    }
    return kc_parse_i64(digits, 0, INT64_MAX, base) == 0;
}

static int push_i64(int64_t **arr, int *n, int64_t v)
{
    int64_t *a = reallocarray(*arr, (size_t)*n + 1, sizeof(**arr));
    if (!a)
        return -ENOMEM;
    a[(*n)++] = v;
    *arr = a;
    return 0;
}

/*
 * A temp file of this module's own making: a segment's, index's or snapshot's ("<20
 * digits>..."), or one of its checkpoints' "<name>.tmp". Not any "*.tmp": the directory is
 * shared (partitioning writes partition.metadata and the topic's configs here, the broker's
 * replication its leader-epoch-checkpoint, each through "<name>.tmp"), and a log opening
 * while one of them is being written must not delete it - a topic config change failed
 * with ENOENT so, in CI, its log opening cold beside it.
 */
static bool leftover(const char *name)
{
    static const char *const own[] = {ALOG_RECOVERY_POINT_FILE ".tmp", ALOG_LOG_START_FILE ".tmp",
                                      ALOG_CLEANER_FILE ".tmp", ALOG_CLEAN_SHUTDOWN_FILE ".tmp"};
    if (!has_suffix(name, ".tmp") && !has_suffix(name, ".deleted") && !has_suffix(name, ".swap") &&
        !has_suffix(name, ".cleaned"))
        return false;
    if (strspn(name, "0123456789") == 20 && name[20] == '.')
        return true;
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strcmp(name, own[i]) == 0)
            return true;
    return false;
}

static int classify(struct alog *log, struct load *ld, const char *name)
{
    int64_t base;
    char path[4096];
    if (segment_name(name, ".log", &base))
        return push_i64(&ld->bases, &ld->nbases, base);
    if (segment_name(name, ".index", &base) || segment_name(name, ".timeindex", &base))
        return push_i64(&ld->others, &ld->nothers, base);
    if (ld->store && segment_name(name, ".log.swap", &base))
        return push_i64(&ld->swaps, &ld->nswaps, base);
    if (ld->store &&
        (segment_name(name, ".index.swap", &base) || segment_name(name, ".timeindex.swap", &base)))
        return push_i64(&ld->idx_swaps, &ld->nidx_swaps, base);
    if (strcmp(name, ALOG_RECOVERY_POINT_FILE) == 0 || strcmp(name, ALOG_LOG_START_FILE) == 0 ||
        strcmp(name, ALOG_CLEAN_SHUTDOWN_FILE) == 0)
        ld->saw_own = true;
    if (leftover(name)) {
        alog__path(log, path, sizeof(path), name);
        kc_log_info("alog %s: removing leftover %s", log->dir, name);
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
        ld->repaired = true;
    }
    return 0; /* checkpoints, the marker, and anything else are left alone */
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Index files without a .log are deleted: nothing could ever make them right. */
static int drop_orphans(struct alog *log, struct load *ld)
{
    for (int i = 0; i < ld->nothers; i++) {
        if (ld->nbases > 0 &&
            bsearch(&ld->others[i], ld->bases, (size_t)ld->nbases, sizeof(int64_t), cmp_i64))
            continue;
        static const char *const exts[] = {".index", ".timeindex"};
        for (int e = 0; e < 2; e++) {
            char name[64], path[4096];
            snprintf(name, sizeof(name), "%020" PRId64 "%s", ld->others[i], exts[e]);
            alog__path(log, path, sizeof(path), name);
            if (unlink(path) == 0)
                kc_log_info("alog %s: removed orphan %s", log->dir, name);
        }
        ld->repaired = true;
    }
    return 0;
}

/*
 * A store's log: swaps the cleaner committed are finished (swap.c), index swaps of
 * uncommitted ones deleted. A standalone log is never compacted: its leftovers were
 * deleted by name above.
 */
static int finish_swaps(struct alog *log, struct load *ld)
{
    if (ld->nswaps > 0) {
        int64_t *b = reallocarray(ld->bases, (size_t)(ld->nbases + ld->nswaps), sizeof(*b));
        if (!b)
            return -ENOMEM;
        ld->bases = b;
        ld->repaired = true;
    }
    for (int i = 0; i < ld->nswaps; i++) {
        bool suspect = false;
        int rc = alog__swap_finish(log, ld->swaps[i], ld->bases, &ld->nbases, &suspect);
        if (rc)
            return rc;
        ld->distrust |= suspect; /* a swap file that does not read well: re-read it all */
    }
    for (int i = 0; i < ld->nidx_swaps; i++) {
        static const char *const exts[] = {".index.swap", ".timeindex.swap"};
        for (int e = 0; e < 2; e++) {
            char name[64], path[4096];
            snprintf(name, sizeof(name), "%020" PRId64 "%s", ld->idx_swaps[i], exts[e]);
            alog__path(log, path, sizeof(path), name);
            if (unlink(path) == 0)
                kc_log_info("alog %s: removed %s (a swap that never committed)", log->dir, name);
        }
    }
    return 0;
}

static int list_dir(struct alog *log, struct load *ld)
{
    DIR *d = opendir(log->dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL)
        rc = classify(log, ld, de->d_name);
    (void)closedir(d); /* a directory stream: nothing to flush */
    if (rc)
        return rc;
    if (ld->nbases > 1)
        qsort(ld->bases, (size_t)ld->nbases, sizeof(int64_t), cmp_i64);
    rc = finish_swaps(log, ld);
    return rc ? rc : drop_orphans(log, ld);
}

/* ---- segments ----------------------------------------------------------------------- */

/* Remove segments [from, nsegs): files unlinked, references dropped. */
static int delete_from(struct alog *log, int from)
{
    for (int i = from; i < log->nsegs; i++) {
        log->recovery_truncated_bytes += (int64_t)alog__seg_size(log->segs[i]);
        log->recovery_deleted_segments++;
        kc_log_warn("alog %s: deleting segment %" PRId64 " after the first bad byte", log->dir,
                    log->segs[i]->base);
    }
    return alog__segs_drop_from(log, from);
}

/* The size of <base>.log, without opening it. */
static int log_size(struct alog *log, int64_t base, uint64_t *size)
{
    char name[64], path[4096];
    struct stat st;
    snprintf(name, sizeof(name), "%020" PRId64 ".log", base);
    alog__path(log, path, sizeof(path), name);
    if (stat(path, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* Every segment, COLD (no file opened: segment.c warms them when needed). Segments wholly
 * below the checkpointed log start are retention's unfinished work: deleted. */
static int open_segments(struct alog *log, struct load *ld)
{
    for (int i = 0; i < ld->nbases; i++) {
        struct alog_segment *seg;
        uint64_t size;
        int rc = log_size(log, ld->bases[i], &size);
        if (rc == 0)
            rc = alog__seg_cold(log, ld->bases[i], size, &seg);
        if (rc)
            return rc;
        bool below = i + 1 < ld->nbases && ld->start >= 0 && ld->bases[i + 1] <= ld->start;
        if (below) {
            kc_log_info("alog %s: deleting segment %" PRId64 " below the log start %" PRId64,
                        log->dir, seg->base, ld->start);
            rc = alog__seg_unlink(seg);
            alog__seg_unref(seg);
            ld->repaired = true;
        } else if ((rc = alog__segs_push(log, seg)) != 0) {
            alog__seg_unref(seg);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int alog__seg_verify(struct alog *log, struct alog_segment *seg, uint64_t pos, int64_t expect,
                     bool index, uint8_t *buf, uint64_t *bad, int64_t *next)
{
    struct alog_scan s;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, ALOG_SCAN_CHUNK);
    struct kc_batch_header h;
    size_t size;
    int rc = 0;
    while (pos < s.end) {
        rc = alog__scan_header(&s, pos, &h, &size);
        if (rc == 0 && h.base_offset != expect)
            rc = KC_ECORRUPT; /* continuity: not the batch that should come next */
        if (rc == 0)
            rc = alog__scan_crc(&s, pos, size, h.crc);
        if (rc)
            break;
        if (index)
            alog__seg_index_batch(log, seg, pos, &h, size);
        expect = h.base_offset + h.last_offset_delta + 1;
        pos += size;
    }
    if (rc && !is_verdict(rc))
        return rc; /* an I/O error: refuse to judge rather than cut good data */
    *bad = pos;
    *next = expect;
    return 0;
}

int alog__seg_rebuild(struct alog *log, struct alog_segment *seg, uint8_t *buf, uint64_t *cut_bytes)
{
    uint64_t bad, size = alog__seg_size(seg);
    int64_t next;
    int rc = alog__seg_index_reset(log, seg);
    if (rc == 0)
        rc = alog__seg_verify(log, seg, 0, seg->base, true, buf, &bad, &next);
    if (rc)
        return rc;
    atomic_store(&seg->next_offset, next);
    if (bad < size) {
        kc_log_warn("alog %s: segment %" PRId64 ": truncating %" PRIu64
                    " bad bytes at position %" PRIu64,
                    log->dir, seg->base, size - bad, bad);
        if ((rc = alog__seg_truncate(log, seg, bad)) != 0)
            return rc;
        atomic_store(&seg->size, bad);
    }
    *cut_bytes = size - bad;
    return 0;
}

/*
 * Re-read a segment untrustingly: every batch's header, CRC and offset continuity; the
 * indexes rebuilt as it goes. *was_cut says the segment was truncated (its tail was bad).
 */
static int rescan(struct alog *log, struct load *ld, struct alog_segment *seg, bool *was_cut)
{
    uint64_t cut;
    seg->idx_checked = true; /* rebuilt now: no need to check them at the warm */
    int rc = alog__seg_warm(log, seg);
    if (rc == 0 && !ld->buf && !(ld->buf = malloc(ALOG_SCAN_CHUNK)))
        rc = -ENOMEM; /* only a log that must be re-read needs the big buffer */
    if (rc == 0)
        rc = alog__seg_rebuild(log, seg, ld->buf, &cut);
    if (rc)
        return rc;
    ld->scanned++;
    log->indexes_rebuilt++;
    log->recovery_truncated_bytes += (int64_t)cut;
    *was_cut = cut > 0;
    return 0;
}

/*
 * The end of a cleanly closed last segment: walk headers from its last index entry. false
 * in *ok if anything is off (then the segment is re-read the untrusting way).
 */
static int walk_tail(struct alog_segment *seg, bool *ok)
{
    uint8_t buf[ALOG_READ_CHUNK]; /* headers only: the walk covers about one interval */
    struct mm_index_entry e = {.key = -1};
    struct mm_index_bounds b = {alog__seg_size(seg), ALOG_MAX_RELATIVE_OFFSET};
    uint64_t pos = 0;
    if (mm_file_is_open(&seg->oidx.file) && mm_index_check(&seg->oidx, &b, NULL) == 0 &&
        mm_index_last(&seg->oidx, &e) == 0)
        pos = e.value;
    struct alog_scan s;
    alog__scan_init(&s, seg, alog__seg_size(seg), buf, sizeof(buf));
    int64_t expect = pos == 0 ? seg->base : -1;
    struct kc_batch_header h;
    size_t size;
    *ok = true;
    for (; pos < s.end && *ok; pos += size) {
        int rc = alog__scan_header(&s, pos, &h, &size);
        if (rc && !is_verdict(rc))
            return rc;
        int64_t last = h.base_offset + h.last_offset_delta;
        *ok = rc == 0 && (expect < 0 ? last == seg->base + e.key : h.base_offset == expect);
        if (*ok && h.max_timestamp > atomic_load(&seg->max_ts)) {
            atomic_store(&seg->max_ts, h.max_timestamp);
            seg->max_ts_offset = last;
        }
        expect = last + 1;
    }
    atomic_store(&seg->next_offset, expect < 0 ? seg->base : expect);
    return 0;
}

/* The trusted last segment: its end was walked; its indexes are checked now (an old
 * segment's are checked when it is first warmed, segment.c). */
static int check_trusted(struct alog *log, struct load *ld, int i, bool *was_cut)
{
    struct alog_segment *seg = log->segs[i];
    const char *why = NULL;
    int rc = alog__seg_index_check(seg, alog__seg_next(seg), &why);
    seg->idx_checked = rc == 0;
    if (rc == 0 || !is_verdict(rc))
        return rc;
    kc_log_warn("alog %s: segment %" PRId64 ": %s: rebuilding", log->dir, seg->base, why);
    ld->repaired = true;
    return rescan(log, ld, seg, was_cut);
}

static int load_last(struct alog *log, struct load *ld, int i, bool *was_cut)
{
    struct alog_segment *seg = log->segs[i];
    seg->idx_checked = true; /* checked below, after the walk says where it ends */
    int rc = alog__seg_warm(log, seg);
    bool ok;
    if (rc == 0)
        rc = walk_tail(seg, &ok);
    if (rc)
        return rc;
    seg->ts_known = true;
    if (!ok) {
        kc_log_warn("alog %s: clean shutdown, but segment %" PRId64 " ends badly: re-reading",
                    log->dir, seg->base);
        log->recovered = true;
        ld->repaired = true;
        return rescan(log, ld, seg, was_cut);
    }
    return check_trusted(log, ld, i, was_cut);
}

/*
 * A store's log, the segment holding its recovery point, and the last: if nothing lies
 * past the recovery point (the walk ends exactly there) it is trusted as is, which is
 * every log closed cleanly; else it is re-read like any suspect segment.
 */
static int load_rp_segment(struct alog *log, struct load *ld, int i, bool *was_cut)
{
    struct alog_segment *seg = log->segs[i];
    seg->idx_checked = true; /* checked below, after the walk */
    bool ok;
    int rc = alog__seg_warm(log, seg);
    if (rc == 0)
        rc = walk_tail(seg, &ok);
    if (rc)
        return rc;
    seg->ts_known = true;
    if (ok && alog__seg_next(seg) == ld->rp)
        return check_trusted(log, ld, i, was_cut);
    ld->repaired = true;
    return rescan(log, ld, seg, was_cut);
}

static int load_segment(struct alog *log, struct load *ld, int i, int first_suspect, bool *was_cut)
{
    struct alog_segment *seg = log->segs[i];
    *was_cut = false;
    seg->index_synced = true; /* as found on disk: no checkpoint needs to sync them */
    if (ld->store && i == first_suspect && i == log->nsegs - 1 && !ld->distrust)
        return load_rp_segment(log, ld, i, was_cut);
    if (i >= first_suspect) {
        ld->repaired = true;
        return rescan(log, ld, seg, was_cut);
    }
    if (i == log->nsegs - 1)
        return load_last(log, ld, i, was_cut);
    atomic_store(&seg->next_offset, log->segs[i + 1]->base); /* trusted: left cold */
    return 0;
}

/* Index of the segment holding the recovery point (everything from it on is suspect). */
static int suspect_from(const struct alog *log, const struct load *ld)
{
    if (ld->distrust)
        return 0;
    if (ld->clean && !ld->store)
        return log->nsegs; /* nothing suspect; the last segment's tail is walked */
    int first = 0;
    for (int i = 0; i < log->nsegs; i++) {
        if (log->segs[i]->base <= ld->rp)
            first = i;
    }
    return first;
}

static int load_all(struct alog *log, struct load *ld)
{
    int first = suspect_from(log, ld);
    for (int i = 0; i < log->nsegs; i++) {
        bool was_cut;
        int rc = load_segment(log, ld, i, first, &was_cut);
        if (rc)
            return rc;
        bool broken = i + 1 < log->nsegs && log->segs[i + 1]->base != alog__seg_next(log->segs[i]);
        if ((was_cut || broken) && i + 1 < log->nsegs)
            return delete_from(log, i + 1);
    }
    return 0;
}

/*
 * A recovery point past the end the segments turned out to hold vouches for data that is
 * not there: the checkpoint and the segments disagree (a checkpoint restored from
 * elsewhere, a disk that lost writes, a stray program). Then what it vouches for below that
 * end cannot be trusted either: re-read every segment, untrusting.
 */
static int check_recovery_point(struct alog *log, struct load *ld)
{
    if (log->nsegs == 0)
        return 0;
    int64_t end = alog__seg_next(log->segs[log->nsegs - 1]);
    if (ld->rp <= end || ld->distrust)
        return 0;
    if (ld->start > end)
        return 0; /* a restart past the end (restart.c): finish() empties the log anyway */
    kc_log_warn("alog %s: the recovery point %" PRId64 " is past the log's end %" PRId64
                ": the checkpoint does not match the segments; re-reading every segment",
                log->dir, ld->rp, end);
    ld->distrust = true;
    log->recovered = true;
    return load_all(log, ld);
}

/* ---- finishing ---------------------------------------------------------------------- */

static int read_checkpoints(struct alog *log, struct load *ld)
{
    int rc = alog__checkpoint_read(log, ALOG_RECOVERY_POINT_FILE, &ld->rp);
    if (rc == KC_ECORRUPT)
        kc_log_warn("alog %s: unreadable %s: recovering everything", log->dir,
                    ALOG_RECOVERY_POINT_FILE);
    if (rc && rc != -ENOENT && rc != KC_ECORRUPT)
        return rc;
    if (rc)
        ld->rp = 0;
    rc = alog__checkpoint_read(log, ALOG_LOG_START_FILE, &ld->start);
    if (rc == KC_ECORRUPT)
        kc_log_warn("alog %s: unreadable %s: ignored", log->dir, ALOG_LOG_START_FILE);
    if (rc && rc != -ENOENT && rc != KC_ECORRUPT)
        return rc;
    if (rc)
        ld->start = -1;
    return 0;
}

static int new_segment(struct alog *log, int64_t base)
{
    struct alog_segment *seg;
    int rc = alog__seg_create(log, base, &seg);
    if (rc)
        return rc;
    if ((rc = alog__segs_push(log, seg)) != 0) {
        alog__seg_unref(seg);
        return rc;
    }
    atomic_store(&log->dir_dirty, true);
    return 0;
}

/* No segment, or a log start past the end (Kafka: start over, empty, at the log start). */
static int ensure_segment(struct alog *log, struct load *ld)
{
    int64_t start = ld->start > 0 ? ld->start : 0;
    if (log->nsegs > 0) {
        int64_t end = alog__seg_next(log->segs[log->nsegs - 1]);
        if (ld->start <= end)
            return 0;
        kc_log_warn("alog %s: log start %" PRId64 " is past the end %" PRId64 ": emptying",
                    log->dir, ld->start, end);
        int rc = delete_from(log, 0);
        if (rc)
            return rc;
        ld->repaired = true;
    }
    return new_segment(log, start);
}

/* After a repair: the truncations and deletions are made durable, then vouched for. The
 * segments left cold were trusted as they were: only the warm ones were touched. */
static int make_durable(struct alog *log)
{
    int jrc = alog__journal_sync_log(log); /* listed before its data is durable */
    if (jrc)
        return jrc;
    for (int i = 0; i < log->nsegs; i++) {
        if (log->segs[i]->fd < 0)
            continue;
        int rc = kc_fdatasync(log->segs[i]->fd);
        if (rc)
            return rc;
    }
    int rc = kc_fsync_dir(log->dir);
    if (rc == 0)
        rc = alog__record_recovery_point(log, atomic_load(&log->end_offset));
    return rc;
}

/*
 * When the reopened active segment started, for segment.ms: the .log file's birth time
 * (statx), so that restarts do not postpone a time roll forever; the wall clock where the
 * filesystem does not record one. (Kafka uses the first batch's timestamp, which rolls at
 * once when producers send old timestamps; the file's age cannot be wrong that way.)
 */
static int64_t segment_birth_ms(const struct alog_segment *seg)
{
    struct statx stx;
    int64_t now = kc_wall_ms();
    if (statx(seg->fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME))
        return now;
    int64_t born = (int64_t)stx.stx_btime.tv_sec * 1000 + stx.stx_btime.tv_nsec / 1000000;
    return KC_MIN(born, now);
}

static int finish(struct alog *log, struct load *ld)
{
    int rc = ensure_segment(log, ld);
    for (int i = 0; rc == 0 && i < log->nsegs - 1; i++) {
        struct alog_segment *seg = log->segs[i];
        if (seg->oidx.file.writable || seg->tidx.file.writable)
            rc = alog__seg_seal(seg); /* rebuilt: trim like any rolled segment */
    }
    if (rc)
        return rc; /* (ensure_segment may have failed: there may be no segment at all) */
    struct alog_segment *last = log->segs[log->nsegs - 1];
    if (!(last->oidx.file.writable && last->tidx.file.writable))
        rc = alog__seg_activate(log, last); /* a segment made just now already is */
    if (rc)
        return rc;
    log->active = last;
    if (alog__seg_size(last) > 0)
        last->first_append_ms = segment_birth_ms(last);
    int64_t end = alog__seg_next(last);
    int64_t start = KC_MAX(log->segs[0]->base, ld->start);
    atomic_store(&log->start_offset, KC_MIN(start, end));
    atomic_store(&log->end_offset, end);
    atomic_store(&log->durable_offset, end);
    atomic_store(&log->recovery_point, KC_MIN(ld->rp, end));
    if ((ld->repaired || log->recovered) && log->defer_durable) {
        /* The store's sweep makes many repairs durable with one syncfs (store.c); until
         * then nothing past the recovery point is served (read.c). */
        atomic_store(&log->durable_offset, KC_MIN(ld->rp, end));
        atomic_store(&log->dir_dirty, true);
        atomic_store(&log->repair_unsynced, true);
    } else if (ld->repaired || log->recovered) {
        if ((rc = make_durable(log)) != 0)
            return rc;
        atomic_store(&log->recovery_point, end);
    }
    log->last_checkpoint_ms = kc_mono_ms();
    atomic_store(&log->last_flush_ms, kc_mono_ms());
    return 0;
}

static void report(struct alog *log, const struct load *ld, int64_t t0)
{
    if (!log->recovered && !ld->repaired) {
        kc_log_debug("alog %s: opened cleanly: [%" PRId64 ", %" PRId64 "), %d segments", log->dir,
                     alog__start(log), alog__end(log), log->nsegs);
        return;
    }
    if (ld->clean) {
        kc_log_warn("alog %s: clean shutdown, but repaired: re-read %d segment(s), truncated "
                    "%" PRId64 " bytes, deleted %d segment(s), rebuilt %d index pair(s) in "
                    "%" PRId64 " ms; log is [%" PRId64 ", %" PRId64 ")",
                    log->dir, ld->scanned, log->recovery_truncated_bytes,
                    log->recovery_deleted_segments, log->indexes_rebuilt, kc_mono_ms() - t0,
                    alog__start(log), alog__end(log));
        return;
    }
    kc_log_info("alog %s: unclean shutdown, recovered: re-read %d segment(s) from recovery "
                "point %" PRId64 ", truncated %" PRId64 " bytes, deleted %d segment(s), rebuilt "
                "%d index pair(s) in %" PRId64 " ms; log is [%" PRId64 ", %" PRId64 ")",
                log->dir, ld->scanned, ld->rp, log->recovery_truncated_bytes,
                log->recovery_deleted_segments, log->indexes_rebuilt, kc_mono_ms() - t0,
                alog__start(log), alog__end(log));
}

/* Where a standalone log (or a store's log the store has no line for) learns what to
 * trust: its own marker and checkpoint files. */
static int own_files(struct alog *log, struct load *ld)
{
    int rc = alog__marker_take(log, &ld->clean);
    return rc ? rc : read_checkpoints(log, ld);
}

static void from_hint(struct load *ld, const struct alog_load_hint *hint)
{
    ld->clean = hint->clean;
    ld->rp = hint->rp;
    ld->start = hint->start;
}

int alog__load(struct alog *log, const struct alog_load_hint *hint)
{
    int64_t t0 = kc_mono_ms();
    struct load ld = {.rp = 0, .start = -1};
    int rc = 0;
    if (hint)
        from_hint(&ld, hint);
    else
        rc = own_files(log, &ld);
    ld.store = log->store != NULL;
    if (rc == 0)
        rc = list_dir(log, &ld);
    if (rc == 0 && ld.nbases == 0 && !log->store)
        rc = kc_fsync_parent(log->dir); /* a new log: its directory entry must last too */
    if (rc == 0)
        rc = open_segments(log, &ld);
    log->recovered = !ld.clean && log->nsegs > 0;
    if (rc == 0)
        rc = load_all(log, &ld);
    if (ld.store) /* a store's log re-reads only past its recovery point: recovered if any */
        log->recovered = ld.scanned > 0;
    if (rc == 0)
        rc = check_recovery_point(log, &ld);
    if (rc == 0)
        rc = finish(log, &ld);
    if (rc == 0)
        rc = alog__psnap_load(log); /* the producer state as of the end (producer_files.c) */
    if (rc == 0)
        report(log, &ld, t0);
    if (rc == 0 && hint && ld.saw_own)
        alog__retire_own_checkpoints(log); /* the store's lines supersede them */
    free(ld.buf);
    free(ld.bases);
    free(ld.others);
    free(ld.swaps);
    free(ld.idx_swaps);
    return rc;
}

int alog__seg_reindex(struct alog *log, struct alog_segment *seg)
{
    uint8_t *buf = malloc(ALOG_SCAN_CHUNK);
    uint64_t bad;
    int64_t next;
    if (!buf)
        return -ENOMEM;
    int rc = alog__seg_index_reset(log, seg);
    if (rc == 0)
        rc = alog__seg_verify(log, seg, 0, seg->base, true, buf, &bad, &next);
    if (rc == 0 && bad < alog__seg_size(seg))
        kc_log_error("alog %s: segment %" PRId64 " has bad bytes at position %" PRIu64
                     " (offset %" PRId64 "): reads from there fail until it is repaired",
                     log->dir, seg->base, bad, next);
    if (rc == 0)
        rc = alog__seg_seal(seg); /* an old segment: trimmed, read-only from now on */
    free(buf);
    return rc;
}

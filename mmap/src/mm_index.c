/*
 * mm_index.c - the offset and time index as sorted arrays in a mapped file (see mm_index.h).
 *
 * Three pieces of technique live here:
 *
 *  1. Publication. The appender writes an entry's bytes through the mapping, then bumps
 *     `entries` with a release store; a lookup loads `entries` with acquire and only ever
 *     reads below it. No lock between one writer and many readers.
 *
 *  2. Binary search, warm section first. Most lookups (consumers at the tail) hit the last
 *     few entries; searching the last 8 KiB first touches two or three hot pages instead of
 *     log2(n) pages spread over the file (Kafka's AbstractIndex does the same).
 *
 *  3. Finding the used prefix of a preallocated file without reading its zero tail. The
 *     tail was made by ftruncate, so it is a HOLE in the file: lseek(SEEK_DATA) skips it
 *     without faulting a page in. Only regions that hold data are scanned for stray entries.
 *
 *  4. Blocks before stores: see reserve() below (a full disk must be ENOSPC, not SIGBUS).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kc_buf.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "mm_index.h"

static uint32_t entry_size_of(enum mm_index_kind kind)
{
    return kind == MM_INDEX_TIME ? MM_INDEX_TIME_ENTRY : MM_INDEX_OFFSET_ENTRY;
}

static const uint8_t *slot(const struct mm_index *idx, size_t i)
{
    return idx->file.base + i * idx->entry_size;
}

static void decode(const struct mm_index *idx, const uint8_t *p, struct mm_index_entry *e)
{
    if (idx->kind == MM_INDEX_TIME) {
        e->key = (int64_t)kc_load_be64(p);
        e->value = kc_load_be32(p + 8);
    } else {
        e->key = kc_load_be32(p);
        e->value = kc_load_be32(p + 4);
    }
}

static int64_t key_at(const struct mm_index *idx, size_t i)
{
    const uint8_t *p = slot(idx, i);
    return idx->kind == MM_INDEX_TIME ? (int64_t)kc_load_be64(p) : (int64_t)kc_load_be32(p);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

/* Does b legally follow a? Keys strictly increase; offset positions strictly increase,
 * time-index offsets never decrease. */
static bool ordered(const struct mm_index *idx, const struct mm_index_entry *a,
                    const struct mm_index_entry *b)
{
    if (b->key <= a->key)
        return false;
    return idx->kind == MM_INDEX_TIME ? b->value >= a->value : b->value > a->value;
}

/* Count non-zero entries in [from, max_entries), visiting only the file's data regions. */
static size_t count_strays(const struct mm_index *idx, size_t from)
{
    size_t strays = 0;
    off_t pos = (off_t)(from * idx->entry_size);
    off_t end = (off_t)(idx->max_entries * idx->entry_size);
    while (pos < end) {
        off_t data = lseek(idx->file.fd, pos, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* only hole from here on: the zero tail */
        off_t hole = data < 0 ? end : lseek(idx->file.fd, data, SEEK_HOLE);
        if (data < 0 || hole < 0) { /* no SEEK_DATA on this filesystem: scan it all */
            data = pos;
            hole = end;
        }
        size_t i = (size_t)(data > pos ? data : pos) / idx->entry_size;
        size_t stop = (size_t)(hole < end ? hole : end);
        for (; i * idx->entry_size < stop && i < idx->max_entries; i++)
            strays += !all_zero(slot(idx, i), idx->entry_size);
        off_t next = (off_t)(i * idx->entry_size);
        pos = next > pos ? next : pos + (off_t)idx->entry_size; /* always make progress */
    }
    return strays;
}

/* Find the used prefix: entries up to the first all-zero one, in strict order. */
static void scan_used(struct mm_index *idx)
{
    size_t n = 0;
    struct mm_index_entry prev, e;
    idx->stray_order = false;
    for (; n < idx->max_entries; n++) {
        if (all_zero(slot(idx, n), idx->entry_size))
            break;
        decode(idx, slot(idx, n), &e);
        if (n > 0 && !ordered(idx, &prev, &e)) {
            idx->stray_order = true;
            break;
        }
        prev = e;
    }
    atomic_store_explicit(&idx->entries, n, memory_order_relaxed);
    idx->stray_entries = count_strays(idx, n);
}

int mm_index_open(struct mm_index *idx, const char *path, enum mm_index_kind kind, unsigned flags,
                  size_t max_bytes)
{
    bool writable = flags & MM_INDEX_WRITABLE;
    uint32_t esz = entry_size_of(kind);
    unsigned mflags = MM_READ;
    if (writable) {
        mflags = MM_WRITE | (flags & MM_INDEX_CREATE ? MM_CREATE : 0) |
                 (flags & MM_INDEX_EMPTY ? MM_TRUNC : 0);
    }
    struct mm_file mf;
    int rc = mm_file_open(&mf, path, mflags, 0);
    if (rc)
        return rc;
    size_t orig = mf.len;
    size_t want = max_bytes / esz * esz;
    if (writable && orig < want && (rc = mm_file_resize(&mf, want)) != 0) {
        (void)mm_file_close(&mf); /* nothing written through it yet */
        return rc;
    }
    idx->file = mf;
    idx->kind = kind;
    idx->entry_size = esz;
    idx->max_entries = mf.len / esz;
    idx->orig_size = orig;
    atomic_init(&idx->entries, 0);
    /* No read-ahead while finding the used prefix: a fault on a preallocated (sparse) index
     * would otherwise make the kernel fill a large read-ahead window with zeros, for every
     * index opened (measured: most of the cost of opening a log). The used entries are
     * then read in order (the sanity check walks them): normal read-ahead there. */
    (void)mm_file_advise(&idx->file, 0, idx->file.len, MM_ADV_RANDOM); /* a hint */
    scan_used(idx);
    (void)mm_file_advise(&idx->file, 0, mm_index_entries(idx) * esz, MM_ADV_NORMAL);
    idx->reserved = mm_index_entries(idx) * esz; /* written entries have their blocks */
    return 0;
}

int mm_index_close(struct mm_index *idx)
{
    atomic_store_explicit(&idx->entries, 0, memory_order_relaxed);
    idx->max_entries = 0;
    return mm_file_close(&idx->file);
}

static void encode(const struct mm_index *idx, uint8_t *p, int64_t key, uint32_t value)
{
    if (idx->kind == MM_INDEX_TIME) {
        kc_store_be64(p, (uint64_t)key);
        kc_store_be32(p + 8, value);
    } else {
        kc_store_be32(p, (uint32_t)key);
        kc_store_be32(p + 4, value);
    }
}

/*
 * 4. Blocks before stores. A preallocated index is a sparse file: its pages have no disk
 * blocks until first written. Through a mapping, the first store to such a page makes the
 * file system allocate one on the spot (page_mkwrite), and on a full disk it can only say
 * no by SIGBUS: the process dies instead of getting ENOSPC. So the appender reserves the
 * blocks of the next MM_INDEX_RESERVE_BYTES with fallocate(2) before storing into them.
 */
static int reserve_with(int fd, size_t from, size_t to)
{
    if (fallocate(fd, 0, (off_t)from, (off_t)(to - from)) == 0)
        return 0;
    if (errno != EOPNOTSUPP)
        return -errno;
    static const uint8_t zeros[4096]; /* no fallocate here: write the zeros it reads as */
    for (size_t at = from; at < to; at += sizeof(zeros)) {
        size_t n = to - at < sizeof(zeros) ? to - at : sizeof(zeros);
        ssize_t w = kc_pwrite_all(fd, zeros, n, (off_t)at);
        if (w < 0)
            return (int)w;
    }
    return 0;
}

static int reserve(struct mm_index *idx, size_t need)
{
    size_t size = mm_file_size(&idx->file), from = idx->reserved;
    size_t to = (need + MM_INDEX_RESERVE_BYTES - 1) / MM_INDEX_RESERVE_BYTES * MM_INDEX_RESERVE_BYTES;
    to = to < size ? to : size;
    int fd = mm_file_get_fd(&idx->file); /* a new one, opened by path, if it was dropped */
    if (fd < 0)
        return fd;
    int rc = reserve_with(fd, from, to);
    mm_file_put_fd(&idx->file, fd);
    if (rc == 0)
        idx->reserved = to;
    return rc;
}

int mm_index_reserve(struct mm_index *idx)
{
    if (!idx->file.writable)
        return -EBADF;
    size_t end = (atomic_load_explicit(&idx->entries, memory_order_relaxed) + 1) * idx->entry_size;
    return end > idx->reserved ? reserve(idx, end) : 0;
}

int mm_index_append(struct mm_index *idx, int64_t key, uint32_t value)
{
    if (!idx->file.writable)
        return -EBADF;
    size_t n = atomic_load_explicit(&idx->entries, memory_order_relaxed);
    if (n >= idx->max_entries)
        return KC_EFULL;
    if (idx->kind == MM_INDEX_OFFSET && (key < 0 || key > UINT32_MAX))
        return -EINVAL;
    if (key == 0 && value == 0)
        return -EINVAL; /* the all-zero entry marks the unused tail */
    struct mm_index_entry last, e = {.key = key, .value = value};
    if (n > 0) {
        decode(idx, slot(idx, n - 1), &last);
        if (!ordered(idx, &last, &e))
            return -EINVAL;
    }
    size_t end = (n + 1) * idx->entry_size;
    if (end > idx->reserved) {
        int rc = reserve(idx, end);
        if (rc)
            return rc; /* a full disk: an error now, instead of SIGBUS at the store below */
    }
    encode(idx, idx->file.base + n * idx->entry_size, key, value);
    /* The commit point of an entry: readers that see n + 1 see its bytes. */
    atomic_store_explicit(&idx->entries, n + 1, memory_order_release);
    return 0;
}

/* Greatest i in [lo, hi) with key(i) <= key, given key(lo) <= key. */
static size_t search(const struct mm_index *idx, size_t lo, size_t hi, int64_t key,
                     struct mm_index_trace *t)
{
    hi--; /* inclusive from here */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        int64_t k = key_at(idx, mid);
        if (t && t->steps < MM_INDEX_TRACE_MAX) {
            t->probe[t->steps].lo = lo;
            t->probe[t->steps].hi = hi;
            t->probe[t->steps].mid = mid;
            t->probe[t->steps].key = k;
        }
        if (t)
            t->steps++;
        if (k <= key)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Index of the floor entry (warm section first), or -ENOENT. */
static int find(const struct mm_index *idx, int64_t key, size_t *out, struct mm_index_trace *trace)
{
    if (trace) {
        trace->steps = 0;
        trace->warm = false;
    }
    size_t n = mm_index_entries(idx);
    if (n == 0 || key_at(idx, 0) > key)
        return -ENOENT;
    size_t warm = MM_INDEX_WARM_BYTES / idx->entry_size;
    size_t first_hot = n > warm ? n - warm : 0;
    if (key_at(idx, first_hot) <= key) {
        if (trace)
            trace->warm = true;
        *out = search(idx, first_hot, n, key, trace);
    } else {
        *out = search(idx, 0, first_hot, key, trace);
    }
    return 0;
}

int mm_index_lookup(const struct mm_index *idx, int64_t key, struct mm_index_entry *e,
                    struct mm_index_trace *trace)
{
    size_t i;
    int rc = find(idx, key, &i, trace);
    if (rc == 0)
        decode(idx, slot(idx, i), e);
    return rc;
}

int mm_index_find(const struct mm_index *idx, int64_t key, size_t *i)
{
    return find(idx, key, i, NULL);
}

/*
 * The same search over positions: an offset index's values strictly increase too (append
 * refuses anything else), so "the last indexed batch starting at or before byte P" is a
 * binary search as well. No warm section: callers ask for positions ahead of a read, not
 * at the tail.
 */
int mm_index_lookup_position(const struct mm_index *idx, uint32_t pos, struct mm_index_entry *e)
{
    size_t n = mm_index_entries(idx);
    if (idx->kind != MM_INDEX_OFFSET)
        return -EINVAL;
    if (n == 0 || kc_load_be32(slot(idx, 0) + 4) > pos)
        return -ENOENT;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (kc_load_be32(slot(idx, mid) + 4) <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    decode(idx, slot(idx, lo), e);
    return 0;
}

void mm_index_entry_at(const struct mm_index *idx, size_t i, struct mm_index_entry *e)
{
    decode(idx, slot(idx, i), e);
}

int mm_index_last(const struct mm_index *idx, struct mm_index_entry *e)
{
    size_t n = mm_index_entries(idx);
    if (n == 0)
        return -ENOENT;
    decode(idx, slot(idx, n - 1), e);
    return 0;
}

int mm_index_trim(struct mm_index *idx)
{
    size_t n = atomic_load_explicit(&idx->entries, memory_order_relaxed);
    int rc = mm_file_resize(&idx->file, n * idx->entry_size);
    if (rc)
        return rc;
    idx->max_entries = n;
    idx->stray_entries = 0;
    idx->reserved = idx->reserved < n * idx->entry_size ? idx->reserved : n * idx->entry_size;
    return 0;
}

int mm_index_resize(struct mm_index *idx, size_t max_bytes)
{
    size_t n = atomic_load_explicit(&idx->entries, memory_order_relaxed);
    size_t want = max_bytes / idx->entry_size * idx->entry_size;
    if (want < n * idx->entry_size)
        want = n * idx->entry_size;
    int rc = mm_file_resize(&idx->file, want);
    if (rc)
        return rc;
    idx->max_entries = want / idx->entry_size;
    return 0;
}

static int64_t offset_of(const struct mm_index *idx, size_t i)
{
    struct mm_index_entry e;
    decode(idx, slot(idx, i), &e);
    return idx->kind == MM_INDEX_TIME ? (int64_t)e.value : e.key;
}

int mm_index_truncate_offset(struct mm_index *idx, int64_t rel_offset)
{
    if (!idx->file.writable)
        return -EBADF;
    size_t n = atomic_load_explicit(&idx->entries, memory_order_relaxed);
    while (n > 0 && offset_of(idx, n - 1) >= rel_offset) {
        n--;
        memset(idx->file.base + n * idx->entry_size, 0, idx->entry_size);
    }
    atomic_store_explicit(&idx->entries, n, memory_order_release);
    return 0;
}

int mm_index_reset(struct mm_index *idx)
{
    return mm_index_truncate_offset(idx, INT64_MIN);
}

/* One used entry against the bounds and its predecessor; NULL if fine. */
static const char *check_entry(const struct mm_index *idx, size_t i,
                               const struct mm_index_bounds *b)
{
    struct mm_index_entry e, prev;
    decode(idx, slot(idx, i), &e);
    if (i > 0) {
        decode(idx, slot(idx, i - 1), &prev);
        if (!ordered(idx, &prev, &e))
            return "entries out of order";
    }
    int64_t rel = idx->kind == MM_INDEX_TIME ? (int64_t)e.value : e.key;
    if (rel > b->max_rel)
        return "entry past the segment's last offset";
    if (idx->kind == MM_INDEX_OFFSET && e.value >= b->log_size)
        return "entry past the end of the log";
    return NULL;
}

int mm_index_check(const struct mm_index *idx, const struct mm_index_bounds *b, const char **why)
{
    const char *bad = NULL;
    if (idx->orig_size % idx->entry_size)
        bad = "size is not a multiple of the entry size";
    else if (idx->stray_order)
        bad = "entries out of order";
    else if (idx->stray_entries)
        bad = "non-zero entries after the used ones";
    size_t n = mm_index_entries(idx);
    for (size_t i = 0; !bad && i < n; i++)
        bad = check_entry(idx, i, b);
    if (!bad)
        return 0;
    if (why)
        *why = bad;
    return KC_ECORRUPT;
}

int mm_index_sync(struct mm_index *idx, enum mm_sync mode)
{
    size_t n = mm_index_entries(idx);
    return mm_file_sync(&idx->file, 0, n * idx->entry_size, mode);
}

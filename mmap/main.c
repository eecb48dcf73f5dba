/*
 * kafka_mmap - a segment's .index searched through a memory mapping, step by step, and
 * what the mapping buys compared with pread(2).
 *
 *   kafka_mmap                     make a segment (.log + .index) in a temp dir, use it
 *   kafka_mmap SEGMENT.log         use an existing segment and SEGMENT.index beside it
 *                                  (e.g. one written by kafka_appendLog --dir)
 *
 * It prints the binary search's probes for a few offsets, then times the same lookups and
 * batch reads two ways: through mappings (a load is a memory access) and with pread (a
 * system call and a copy each). Each measurement runs for a fixed time, not a fixed count
 * (a machine whose system calls are slow does fewer, not slower, runs): medians of 5 runs
 * of 150 ms each, about 3 s in all on any machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "mm.h"
#include "mm_index.h"

#define RUNS     5
#define RUN_NS   150000000 /* each timed run lasts this long, whatever a query costs */
#define CHUNK    256       /* queries between looks at the clock */

struct seg {
    struct mm_file log;  /* the .log, mapped read-only */
    struct mm_index idx; /* the .index, mapped read-only */
    int64_t base;        /* base offset (from the file name) */
    int64_t last;        /* last offset in the log */
};

/* ---- making a segment (what appendLog does, reduced to the indexing rule) -------- */

static int write_batch(int fd, struct kc_batch_builder *b, int64_t base, int per, size_t *len)
{
    struct kc_batch_opts o;
    kc_batch_opts_default(&o);
    o.base_offset = base;
    o.leader_epoch = 0;
    kc_batch_builder_init(b, &o, 0);
    char value[100];
    int rc = 0;
    for (int i = 0; rc == 0 && i < per; i++) {
        int n = snprintf(value, sizeof(value), "record %" PRId64 " ", base + i);
        memset(value + n, 'x', sizeof(value) - (size_t)n);
        rc = kc_batch_builder_add(b, 1700000000000 + base + i, NULL, -1, value, sizeof(value), NULL,
                                  0);
    }
    uint8_t *p;
    if (rc == 0 && (rc = kc_batch_builder_finish(b, &p, len)) == 0) {
        ssize_t w = kc_write_all(fd, p, *len);
        rc = w < 0 ? (int)w : 0;
    }
    kc_batch_builder_fini(b);
    return rc;
}

/* 20000 batches of 10 records (~22 MB); an index entry every > 4096 bytes, as Kafka. */
static int make_segment(const char *dir, char *log_path, size_t cap)
{
    char idx_path[4096];
    if (kc_path_join(log_path, cap, dir, "00000000000000000000.log") ||
        kc_path_join(idx_path, sizeof(idx_path), dir, "00000000000000000000.index"))
        return KC_ETOOLARGE;
    int fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct mm_index idx;
    int rc = mm_index_open(&idx, idx_path, MM_INDEX_OFFSET,
                           MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, 10 << 20);
    uint64_t pos = 0, since = 0;
    for (int b = 0; rc == 0 && b < 20000; b++) {
        struct kc_batch_builder bb;
        size_t len;
        rc = write_batch(fd, &bb, (int64_t)b * 10, 10, &len);
        if (rc == 0 && since > 4096) {
            rc = mm_index_append(&idx, (int64_t)b * 10 + 9, (uint32_t)pos);
            since = 0;
        }
        since += len;
        pos += len;
    }
    int rc2 = mm_index_trim(&idx);
    int rc3 = mm_index_close(&idx);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc ? rc : rc2 ? rc2 : rc3;
}

/* ---- opening and walking ------------------------------------------------------------- */

/* The batch holding offset, walking headers in the mapped log from pos. */
static int64_t walk(const struct seg *s, uint64_t pos, int64_t offset, int *steps)
{
    const uint8_t *p = mm_file_data(&s->log);
    size_t len = mm_file_size(&s->log), size;
    *steps = 0;
    while (pos < len && kc_batch_size(p + pos, len - pos, &size) == 0 && size <= len - pos) {
        ++*steps;
        if (kc_batch_last_offset(p + pos) >= offset)
            return (int64_t)pos;
        pos += size;
    }
    return -1;
}

/* The last offset in the log: walk the headers from the last index entry. */
static int64_t last_offset(const struct seg *s)
{
    struct mm_index_entry e = {0};
    (void)mm_index_last(&s->idx, &e); /* none: walk from the start */
    const uint8_t *p = mm_file_data(&s->log);
    size_t len = mm_file_size(&s->log), size;
    int64_t last = s->base - 1;
    for (uint64_t pos = e.value; pos < len; pos += size) {
        if (kc_batch_size(p + pos, len - pos, &size) != 0 || size > len - pos)
            break;
        last = kc_batch_last_offset(p + pos);
    }
    return last;
}

static int seg_open(struct seg *s, const char *log_path)
{
    char idx_path[4096];
    size_t n = strlen(log_path);
    if (n < 4 || strcmp(log_path + n - 4, ".log") != 0 || n + 3 >= sizeof(idx_path))
        return -EINVAL;
    snprintf(idx_path, sizeof(idx_path), "%.*s.index", (int)(n - 4), log_path);
    const char *name = strrchr(log_path, '/');
    s->base = strtoll(name ? name + 1 : log_path, NULL, 10);
    int rc = mm_file_open(&s->log, log_path, MM_READ, 0);
    if (rc)
        return rc;
    rc = mm_index_open(&s->idx, idx_path, MM_INDEX_OFFSET, MM_INDEX_READONLY, 0);
    if (rc) {
        (void)mm_file_close(&s->log); /* read-only: nothing to lose */
        return rc;
    }
    s->last = last_offset(s);
    return s->last >= s->base ? 0 : -ENODATA;
}

static void seg_close(struct seg *s)
{
    (void)mm_index_close(&s->idx); /* read-only mappings: nothing to lose */
    (void)mm_file_close(&s->log);
}

/* ---- 1. the search, step by step ------------------------------------------------- */

static void show_lookup(const struct seg *s, int64_t offset)
{
    struct mm_index_trace t;
    struct mm_index_entry e = {0};
    int64_t rel = offset - s->base;
    int rc = mm_index_lookup(&s->idx, rel, &e, &t);
    printf("offset %" PRId64 " (relative %" PRId64 "), %zu entries, %s section:\n", offset, rel,
           mm_index_entries(&s->idx), t.warm ? "warm (last 8 KiB)" : "cold");
    for (unsigned i = 0; i < t.steps && i < MM_INDEX_TRACE_MAX; i++)
        printf("  probe %2u: entries [%6zu, %6zu] mid %6zu key %8" PRId64 "  %s\n", i + 1,
               t.probe[i].lo, t.probe[i].hi, t.probe[i].mid, t.probe[i].key,
               t.probe[i].key <= rel ? "<= target: go right" : ">  target: go left");
    if (rc)
        printf("  no entry <= %" PRId64 ": start at position 0\n", rel);
    else
        printf("  floor entry: (relative %" PRId64 ", position %u)\n", e.key, e.value);
    int steps;
    int64_t pos = walk(s, rc ? 0 : e.value, offset, &steps);
    printf("  then %d batch header(s) walked in the mapped .log: batch at position %" PRId64 "\n\n",
           steps, pos);
}

/* ---- 2. mapped vs pread ---------------------------------------------------------- */

/* The same binary search, one pread per probe (what a lookup costs without a mapping). */
static int pread_lookup(int fd, size_t n, int64_t rel, uint32_t *pos)
{
    uint8_t e[8];
    if (n == 0 || kc_pread_full(fd, e, 8, 0) != 8 || (int64_t)kc_load_be32(e) > rel)
        return -ENOENT;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (kc_pread_full(fd, e, 8, (off_t)(mid * 8)) != 8)
            return -EIO;
        if ((int64_t)kc_load_be32(e) <= rel)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (kc_pread_full(fd, e, 8, (off_t)(lo * 8)) != 8)
        return -EIO;
    *pos = kc_load_be32(e + 4);
    return 0;
}

enum way { MAPPED, PREAD };

/* ns per lookup (index floor only): random offsets, for RUN_NS. */
static double time_lookups(const struct seg *s, enum way way, uint64_t seed)
{
    uint64_t sink = 0;
    int64_t span = s->last - s->base + 1, q = 0, t0 = kc_mono_ns(), t;
    do {
        for (int i = 0; i < CHUNK; i++, q++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int64_t rel = (int64_t)((seed >> 17) % (uint64_t)span);
            struct mm_index_entry e = {0};
            uint32_t pos = 0;
            if (way == MAPPED && mm_index_lookup(&s->idx, rel, &e, NULL) == 0)
                pos = e.value;
            else if (way == PREAD)
                (void)pread_lookup(s->idx.file.fd, mm_index_entries(&s->idx), rel, &pos);
            sink += pos;
        }
    } while ((t = kc_mono_ns() - t0) < RUN_NS);
    double ns = (double)t / (double)q;
    return sink == 42 ? ns + 0 : ns; /* keep sink alive */
}

/* ns per copy of one whole batch (at a random index entry) out of the .log, for RUN_NS. */
static double time_reads(const struct seg *s, enum way way, uint64_t seed, uint8_t *buf, size_t cap)
{
    size_t n = mm_index_entries(&s->idx), size;
    const uint8_t *p = mm_file_data(&s->log);
    int64_t q = 0, t0 = kc_mono_ns(), t;
    if (n == 0)
        return 0;
    do {
        for (int i = 0; i < CHUNK; i++, q++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            struct mm_index_entry e;
            mm_index_entry_at(&s->idx, (size_t)((seed >> 17) % n), &e);
            if (kc_batch_size(p + e.value, mm_file_size(&s->log) - e.value, &size) || size > cap)
                continue;
            if (way == MAPPED)
                memcpy(buf, p + e.value, size);
            else if (kc_pread_full(s->log.fd, buf, size, e.value) != (ssize_t)size)
                return -1;
        }
    } while ((t = kc_mono_ns() - t0) < RUN_NS);
    return (double)t / (double)q;
}

static void compare(const struct seg *s)
{
    static uint8_t buf[1 << 20];
    double lk[2][RUNS], rd[2][RUNS];
    (void)mm_file_advise((struct mm_file *)&s->log, 0, mm_file_size(&s->log), MM_ADV_WILLNEED);
    for (int r = 0; r < RUNS; r++) {
        for (int w = MAPPED; w <= PREAD; w++) {
            lk[w][r] = time_lookups(s, (enum way)w, 1000 + (uint64_t)r);
            rd[w][r] = time_reads(s, (enum way)w, 2000 + (uint64_t)r, buf, sizeof(buf));
        }
    }
    double lm = kc_median(lk[MAPPED], RUNS), lp = kc_median(lk[PREAD], RUNS);
    double rm = kc_median(rd[MAPPED], RUNS), rp = kc_median(rd[PREAD], RUNS);
    char a[32], b[32];
    printf("median of %d runs of %d ms of random queries each (page cache warm):\n", RUNS,
           RUN_NS / 1000000);
    printf("  index floor lookup   mapped %9s   pread per probe %9s   pread/mapped %5.1fx\n",
           kc_fmt_ns(lm, a, sizeof(a)), kc_fmt_ns(lp, b, sizeof(b)), lp / lm);
    printf("  copy one batch out   mapped %9s   pread           %9s   pread/mapped %5.1fx\n",
           kc_fmt_ns(rm, a, sizeof(a)), kc_fmt_ns(rp, b, sizeof(b)), rp / rm);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
                "usage: kafka_mmap [SEGMENT.log]   (SEGMENT.index must be beside it)\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    char dir[4096] = "", log_path[4096];
    int rc = 0;
    if (argc == 2) {
        snprintf(log_path, sizeof(log_path), "%s", argv[1]);
    } else if ((rc = kc_mkdtemp("kafka-mmap-", dir, sizeof(dir))) == 0) {
        printf("making a segment: 20000 batches of 10 records in %s\n\n", dir);
        rc = make_segment(dir, log_path, sizeof(log_path));
    }
    struct seg s;
    if (rc == 0 && (rc = seg_open(&s, log_path)) == 0) {
        printf("%s: %zu bytes mapped, offsets %" PRId64 "..%" PRId64 ", %zu index entries "
               "(%zu bytes mapped)\n\n",
               log_path, mm_file_size(&s.log), s.base, s.last, mm_index_entries(&s.idx),
               mm_file_size(&s.idx.file));
        int64_t span = s.last - s.base;
        int64_t picks[] = {s.base, s.base + span / 3, s.base + span / 3 * 2 + 1, s.last};
        for (size_t i = 0; i < KC_ARRAY_SIZE(picks); i++)
            show_lookup(&s, picks[i]);
        compare(&s);
        seg_close(&s);
    }
    if (dir[0] && kc_rm_rf(dir) != 0 && rc == 0)
        rc = -EIO;
    if (rc)
        fprintf(stderr, "kafka_mmap: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}

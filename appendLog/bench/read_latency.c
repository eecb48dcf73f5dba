/*
 * read_latency.c - is a random read as fast in a big log as in a small one?
 *
 * Three logs of 1e5, 1e6 and 1e7 records (100 B values, batches of 10, 128 MiB segments:
 * 1, 1 and 9 segments) are built once in $TMPDIR, then alog_read is timed at random
 * offsets: segment binary search + index binary search + one pread of batch headers.
 *
 * Three ways to pick the offsets, because two different things grow with the log:
 *   whole log   uniform over every offset. The bytes touched grow with the log: 12 MB sit
 *               in the CPU caches, 1.2 GB do not, so each pread of a page-cache page that
 *               is not in cache pays DRAM misses in the kernel. This measures the machine.
 *   hot set     1024 offsets drawn once per log, queried at random: the same working set
 *               whatever the log's size, so what grows is only the engine's own work
 *               (more segments, deeper index searches). This measures the algorithm.
 *   fetch       whole log, max_bytes 1 MiB (a consumer's fetch): the slice is extended
 *               through the index, not by walking a megabyte of headers.
 * The peer, measured in the same run on the same files: ONE 64-byte pread at a uniformly
 * random position ("floor": the least any read of these bytes can cost). Reported per
 * log: median and p99 (median over RUNS runs), the ratio of the largest log's median to
 * the smallest's (goal: <= 1.5x), the same ratio for the floor, alog_read / floor per log,
 * and for the whole-log mode where the time goes.
 *
 * The 1e7 log takes ~1.2 GB: it is skipped when $TMPDIR has less than 3 GB free, or with
 * BENCH_QUICK=1. Everything is deleted at the end. The logs were just written, so the page
 * cache is warm: neither mode measures the disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "alog.h"
#include "alog_int.h" /* the breakdown times the steps of alog_read one by one */
#include "alog_params.h"
#include "kc_common.h"

#define RUNS    5
#define QUERIES 20000
#define PER     10

static uint8_t *template_batch(size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    char value[100];
    memset(value, 'r', sizeof(value));
    uint8_t *p = NULL, *copy = NULL;
    int rc = 0;
    for (int i = 0; i < PER && rc == 0; i++)
        rc = kc_batch_builder_add(&b, 1700000000000 + i, NULL, -1, value, sizeof(value), NULL, 0);
    if (rc == 0 && kc_batch_builder_finish(&b, &p, len) == 0 && (copy = malloc(*len)))
        memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

/* A log of `records` records in dir (the template's offsets are rewritten per append). */
static int build(const char *dir, int64_t records, struct alog **out, double *secs)
{
    struct alog_config cfg;
    alog_config_init(&cfg);
    cfg.segment_bytes = 128u << 20;
    size_t len;
    uint8_t *batch = template_batch(&len);
    if (!batch)
        return -ENOMEM;
    struct alog *log = NULL;
    int rc = alog_open(&log, dir, &cfg, NULL);
    int64_t t0 = kc_mono_ns();
    for (int64_t n = 0; rc == 0 && n < records; n += PER) {
        int64_t base;
        rc = alog_append(log, batch, len, &base);
    }
    *secs = (double)(kc_mono_ns() - t0) / 1e9;
    free(batch);
    if (rc == 0)
        *out = log;
    else if (log)
        (void)alog_close(log); /* already failing: the first error is the one to report */
    return rc;
}

#define HOT 1024

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

enum mode { M_WHOLE, M_HOT, M_FETCH, M_FLOOR, M_N };
static const char *const mode_name[M_N] = {"whole log,", "hot set,", "fetch 1M,", "floor,"};

/* The peer: one 64-byte pread at a random position of a random segment of the log. */
static int floor_read(struct alog *log, uint64_t r)
{
    struct alog_segment *seg = alog__segs_find(log, (int64_t)(r % (uint64_t)alog_end_offset(log)));
    uint8_t b[64];
    uint64_t size = alog__seg_size(seg);
    ssize_t n = kc_pread_full(seg->fd, b, sizeof(b), (off_t)((r >> 20) % (size - sizeof(b))));
    alog__seg_unref(seg);
    return n == (ssize_t)sizeof(b) ? 0 : -EIO;
}

/* One run: QUERIES reads in the given mode; median and p99. */
static int run(struct alog *log, uint64_t seed, const int64_t *hot, enum mode m, int64_t *ns,
               double *p50, double *p99)
{
    int64_t end = alog_end_offset(log);
    int n = m == M_FETCH ? QUERIES / 10 : QUERIES; /* each fetch returns a megabyte */
    for (int q = 0; q < n; q++) {
        uint64_t r = next_rand(&seed);
        int64_t off = m == M_HOT ? hot[r % HOT] : (int64_t)(r % (uint64_t)end);
        struct alog_slice s;
        int64_t t0 = kc_mono_ns();
        int rc = m == M_FLOOR ? floor_read(log, r) : alog_read(log, off, m == M_FETCH ? 1 << 20 : 1, &s);
        ns[q] = kc_mono_ns() - t0;
        if (rc)
            return rc;
        if (m != M_FLOOR)
            alog_slice_release(&s);
    }
    *p50 = (double)kc_percentile_i64(ns, n, 50);
    *p99 = (double)kc_percentile_i64(ns, n, 99);
    return 0;
}

/*
 * Mean ns of each step of alog_read, uniform offsets: segment search, index search (the
 * floor entry and the one after it), and the pread of the span between them (what
 * read.c's locate reads; its mean size is reported too).
 */
static void breakdown(struct alog *log, double out[4])
{
    static uint8_t buf[ALOG_READ_CHUNK];
    int64_t end = alog_end_offset(log), t[3] = {0}, bytes = 0;
    uint64_t seed = 12345;
    for (int q = 0; q < QUERIES; q++) {
        int64_t off = (int64_t)(next_rand(&seed) % (uint64_t)end), t0 = kc_mono_ns();
        struct alog_segment *seg = alog__segs_find(log, off);
        int64_t t1 = kc_mono_ns();
        struct mm_index_entry e = {0}, next = {0};
        size_t i = 0;
        uint64_t size = alog__seg_size(seg), to = size;
        if (mm_index_find(&seg->oidx, off - seg->base, &i) == 0)
            mm_index_entry_at(&seg->oidx, i++, &e);
        if (i < mm_index_entries(&seg->oidx)) {
            mm_index_entry_at(&seg->oidx, i, &next);
            to = next.value;
        }
        int64_t t2 = kc_mono_ns();
        size_t n = KC_MIN((size_t)(to - e.value) + KC_BATCH_HEADER_SIZE, sizeof(buf));
        n = KC_MIN(n, (size_t)(size - e.value));
        (void)kc_pread_full(seg->fd, buf, n, e.value);
        t[0] += t1 - t0;
        t[1] += t2 - t1;
        t[2] += kc_mono_ns() - t2;
        bytes += (int64_t)n;
        alog__seg_unref(seg);
    }
    for (int i = 0; i < 3; i++)
        out[i] = (double)t[i] / QUERIES;
    out[3] = (double)bytes / QUERIES;
}

static bool room_for_big(const char *dir)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) != 0)
        return false;
    double free_gb = (double)sv.f_bavail * (double)sv.f_frsize / 1e9;
    printf("  %s has %.1f GB free\n", dir, free_gb);
    return free_gb > 3.0;
}

/* Medians (over RUNS runs) of every mode on every log. One log at a time (its bytes stay
 * as warm as they can), the modes interleaved within each run so that machine noise (the
 * machine is shared) falls on alog_read and its floor alike. */
static int measure(struct alog **logs, int nlogs, int64_t *ns, double med[M_N][3],
                   double p99[M_N][3])
{
    double a[M_N][3][RUNS], b[M_N][3][RUNS];
    int64_t hot[3][HOT];
    int rc = 0;
    for (int i = 0; i < nlogs; i++) {
        uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)i;
        for (int h = 0; h < HOT; h++)
            hot[i][h] = (int64_t)(next_rand(&seed) % (uint64_t)alog_end_offset(logs[i]));
    }
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        for (int r = 0; rc == 0 && r < RUNS; r++) {
            for (int m = 0; rc == 0 && m < M_N; m++)
                rc = run(logs[i], 77 + (uint64_t)(r * 8 + i), hot[i], (enum mode)m, ns,
                         &a[m][i][r], &b[m][i][r]);
        }
    }
    for (int m = 0; rc == 0 && m < M_N; m++) {
        for (int i = 0; i < nlogs; i++) {
            med[m][i] = kc_median(a[m][i], RUNS);
            p99[m][i] = kc_median(b[m][i], RUNS);
        }
    }
    return rc;
}

static void report(int nlogs, const int64_t *sizes, double med[M_N][3], double p99[M_N][3])
{
    for (int m = 0; m < M_N; m++) {
        for (int i = 0; i < nlogs; i++) {
            char a[32], b[32], c[48] = "";
            if (m != M_FLOOR && m != M_FETCH)
                snprintf(c, sizeof(c), "   %.2fx the floor", med[m][i] / med[M_FLOOR][i]);
            printf("  %-10s %8lld records: median %9s   p99 %9s%s\n", mode_name[m],
                   (long long)sizes[i], kc_fmt_ns(med[m][i], a, sizeof(a)),
                   kc_fmt_ns(p99[m][i], b, sizeof(b)), c);
        }
        printf("  %-10s largest/smallest median: %.2fx%s\n", mode_name[m],
               med[m][nlogs - 1] / med[m][0], m == M_WHOLE || m == M_HOT ? " (goal: <= 1.5x)" : "");
    }
}

static int build_all(const char *root, const int64_t *sizes, int nlogs, struct alog **logs)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        char dir[4096], name[16];
        double secs;
        struct alog_info info;
        snprintf(name, sizeof(name), "log-%d", i);
        rc = kc_path_join(dir, sizeof(dir), root, name);
        if (rc == 0)
            rc = build(dir, sizes[i], &logs[i], &secs);
        if (rc == 0) {
            alog_info(logs[i], &info);
            printf("  built %8lld records: %d segment(s), %.0f MB, %lld index entries in "
                   "%.1f s\n",
                   (long long)sizes[i], info.segments, (double)info.bytes / 1e6,
                   (long long)info.index_entries, secs);
        }
    }
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *quick = getenv("BENCH_QUICK");
    static const int64_t sizes[] = {100000, 1000000, 10000000};
    char root[4096];
    int rc = kc_mkdtemp("bench-read-", root, sizeof(root));
    if (rc) {
        fprintf(stderr, "read_latency: %s\n", kc_strerror(rc));
        return 1;
    }
    printf("read_latency: alog_read at random offsets, %d reads x %d runs per log\n", QUERIES,
           RUNS);
    int nlogs = quick && *quick == '1' ? 2 : room_for_big(root) ? 3 : 2;
    if (nlogs == 2)
        printf("  (1e7-record log skipped: BENCH_QUICK=1 or less than 3 GB free)\n");
    struct alog *logs[3] = {0};
    int64_t *ns = malloc(QUERIES * sizeof(*ns));
    rc = ns ? build_all(root, sizes, nlogs, logs) : -ENOMEM;
    double med[M_N][3], p99[M_N][3];
    if (rc == 0 && (rc = measure(logs, nlogs, ns, med, p99)) == 0)
        report(nlogs, sizes, med, p99);
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        double t[4];
        breakdown(logs[i], t);
        printf("  whole log, %8lld records: segment search %4.0f ns, index search %4.0f ns, "
               "pread of the span (%4.0f B mean) %5.0f ns\n",
               (long long)sizes[i], t[0], t[1], t[3], t[2]);
    }
    for (int i = 0; i < 3; i++) {
        int crc = logs[i] ? alog_close(logs[i]) : 0;
        rc = rc ? rc : crc;
    }
    free(ns);
    int rm = kc_rm_rf(root);
    rc = rc ? rc : rm;
    if (rc)
        fprintf(stderr, "read_latency: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}

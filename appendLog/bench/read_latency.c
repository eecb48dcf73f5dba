/*
 * read_latency.c - is a random read as fast in a big log as in a small one?
 *
 * Three logs of 1e5, 1e6 and 1e7 records (100 B values, batches of 10, 128 MiB segments:
 * 1, 1 and 9 segments) are built once in $TMPDIR, then alog_read is timed at random
 * offsets: segment binary search + index binary search + one pread of batch headers.
 *
 * Two ways to pick the offsets, because two different things grow with the log:
 *   whole log   uniform over every offset. The bytes touched grow with the log: 12 MB sit
 *               in the CPU caches, 1.2 GB do not, so each pread of a page-cache page that
 *               is not in cache pays DRAM misses in the kernel. This measures the machine.
 *   hot set     4096 offsets drawn once per log, queried at random: the same working set
 *               whatever the log's size, so what grows is only the engine's own work
 *               (more segments, deeper index searches). This measures the algorithm.
 * Reported per log: median and p99 (median over RUNS runs), the ratio of the largest log's
 * median to the smallest's (goal: <= 1.5x), and for the whole-log mode where the time goes.
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

/* One run: QUERIES reads, uniform (hot == NULL) or from the hot set; median and p99. */
static int run(struct alog *log, uint64_t seed, const int64_t *hot, int64_t *ns, double *p50,
               double *p99)
{
    int64_t end = alog_end_offset(log);
    for (int q = 0; q < QUERIES; q++) {
        uint64_t r = next_rand(&seed);
        int64_t off = hot ? hot[r % HOT] : (int64_t)(r % (uint64_t)end);
        struct alog_slice s;
        int64_t t0 = kc_mono_ns();
        int rc = alog_read(log, off, 1, &s);
        ns[q] = kc_mono_ns() - t0;
        if (rc)
            return rc;
        alog_slice_release(&s);
    }
    *p50 = (double)kc_percentile_i64(ns, QUERIES, 50);
    *p99 = (double)kc_percentile_i64(ns, QUERIES, 99);
    return 0;
}

/* Mean ns of each step of alog_read, uniform offsets: segment, index, header pread. */
static void breakdown(struct alog *log, double out[3])
{
    static uint8_t buf[ALOG_READ_CHUNK];
    int64_t end = alog_end_offset(log), t[3] = {0};
    uint64_t seed = 12345;
    for (int q = 0; q < QUERIES; q++) {
        int64_t off = (int64_t)(next_rand(&seed) % (uint64_t)end), t0 = kc_mono_ns();
        struct alog_segment *seg = alog__segs_find(log, off);
        int64_t t1 = kc_mono_ns();
        struct mm_index_entry e = {0};
        (void)mm_index_lookup(&seg->oidx, off - seg->base, &e, NULL);
        int64_t t2 = kc_mono_ns();
        (void)kc_pread_full(seg->fd, buf, sizeof(buf), e.value); /* what alog_read reads */
        t[0] += t1 - t0;
        t[1] += t2 - t1;
        t[2] += kc_mono_ns() - t2;
        alog__seg_unref(seg);
    }
    for (int i = 0; i < 3; i++)
        out[i] = (double)t[i] / QUERIES;
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

static int measure(struct alog **logs, int nlogs, const int64_t *sizes, bool hot_set, int64_t *ns)
{
    double p50[3][RUNS], p99[3][RUNS];
    int64_t hot[HOT];
    int rc = 0;
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)i;
        for (int h = 0; h < HOT; h++)
            hot[h] = (int64_t)(next_rand(&seed) % (uint64_t)alog_end_offset(logs[i]));
        for (int r = 0; rc == 0 && r < RUNS; r++)
            rc = run(logs[i], seed + (uint64_t)r, hot_set ? hot : NULL, ns, &p50[i][r], &p99[i][r]);
    }
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        char a[32], b[32];
        printf("  %-9s %8lld records: median %9s   p99 %9s\n", hot_set ? "hot set," : "whole log,",
               (long long)sizes[i], kc_fmt_ns(kc_median(p50[i], RUNS), a, sizeof(a)),
               kc_fmt_ns(kc_median(p99[i], RUNS), b, sizeof(b)));
    }
    if (rc == 0)
        printf("  %-9s largest/smallest median: %.2fx (goal: <= 1.5x)\n",
               hot_set ? "hot set," : "whole log,",
               kc_median(p50[nlogs - 1], RUNS) / kc_median(p50[0], RUNS));
    return rc;
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
    for (int mode = 0; rc == 0 && mode < 2; mode++)
        rc = measure(logs, nlogs, sizes, mode == 1, ns);
    for (int i = 0; rc == 0 && i < nlogs; i++) {
        double t[3];
        breakdown(logs[i], t);
        printf("  whole log, %8lld records: segment search %4.0f ns, index search %4.0f ns, "
               "pread of %u B of headers %5.0f ns\n",
               (long long)sizes[i], t[0], t[1], ALOG_READ_CHUNK, t[2]);
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

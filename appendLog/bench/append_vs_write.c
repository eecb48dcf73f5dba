/*
 * append_vs_write.c - what does the log cost over writing the same bytes to a file?
 *
 * The same pre-built RecordBatches (1000 records of 100 B, or of 1 KiB) are written two
 * ways, alternating, in the same run:
 *   alog_append   header re-check, offset rewrite, pwrite, index entries, publication
 *   write(2)      the same bytes appended to a plain file (the peer: the page cache's speed)
 *   alog_append_replica   a follower's append of the same batches at the leader's offsets,
 *                 one call per batch (one fetch answer each): it CRC-checks and parses
 *                 every batch itself, which alog_append leaves to the produce path
 * Neither fsyncs: this is the append path, durability is bench group_commit. Each run
 * starts from an empty directory; MB/s of batch bytes, median of RUNS runs, and the
 * ratio log / write (the goal: >= 0.8). BENCH_QUICK=1 writes a quarter of the bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "kc_common.h"

#define RUNS 5

struct batches {
    uint8_t **p;
    size_t *len;
    int n;
    size_t bytes;
};

static int build(struct batches *b, int n, size_t value_size)
{
    struct kc_batch_builder bb;
    kc_batch_builder_init(&bb, NULL, 0);
    uint8_t *value = calloc(1, value_size);
    b->p = calloc((size_t)n, sizeof(*b->p));
    b->len = calloc((size_t)n, sizeof(*b->len));
    b->n = n;
    b->bytes = 0;
    int rc = value && b->p && b->len ? 0 : -ENOMEM;
    for (int i = 0; rc == 0 && i < n; i++) {
        kc_batch_builder_reset(&bb);
        for (int r = 0; rc == 0 && r < 1000; r++) {
            memset(value, 'a' + (i + r) % 26, value_size);
            rc = kc_batch_builder_add(&bb, 1700000000000 + i, NULL, -1, value, (int32_t)value_size,
                                      NULL, 0);
        }
        uint8_t *p;
        if (rc == 0 && (rc = kc_batch_builder_finish(&bb, &p, &b->len[i])) == 0) {
            b->p[i] = malloc(b->len[i]);
            rc = b->p[i] ? 0 : -ENOMEM;
        }
        if (rc == 0) {
            memcpy(b->p[i], p, b->len[i]);
            b->bytes += b->len[i];
        }
    }
    free(value);
    kc_batch_builder_fini(&bb);
    return rc;
}

static void release(struct batches *b)
{
    for (int i = 0; b->p && i < b->n; i++)
        free(b->p[i]);
    free(b->p);
    free(b->len);
}

/* Seconds to append every batch to a new log in dir. */
static int run_log(const char *dir, struct batches *b, double *secs)
{
    struct alog *log;
    int rc = alog_open(&log, dir, NULL, NULL);
    if (rc)
        return rc;
    int64_t t0 = kc_mono_ns();
    for (int i = 0; rc == 0 && i < b->n; i++) {
        int64_t base;
        rc = alog_append(log, b->p[i], b->len[i], &base);
    }
    *secs = (double)(kc_mono_ns() - t0) / 1e9;
    int crc = alog_close(log); /* not timed: close flushes, the peer never does */
    return rc ? rc : crc;
}

/* The same as a follower: the batches at offsets 0, 1000, ... (as a leader gave them). */
static int run_replica(const char *dir, struct batches *b, double *secs)
{
    struct alog *log;
    int rc = alog_open(&log, dir, NULL, NULL);
    if (rc)
        return rc;
    for (int i = 0; i < b->n; i++) /* not timed: what the leader's append wrote */
        kc_batch_set_base_offset(b->p[i], (int64_t)i * 1000);
    int64_t t0 = kc_mono_ns();
    for (int i = 0; rc == 0 && i < b->n; i++) {
        size_t used;
        int64_t end;
        rc = alog_append_replica(log, b->p[i], b->len[i], &used, &end);
    }
    *secs = (double)(kc_mono_ns() - t0) / 1e9;
    int crc = alog_close(log);
    return rc ? rc : crc;
}

static int run_write(const char *dir, struct batches *b, double *secs)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, "plain.log");
    int fd = rc ? -1 : open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return rc ? rc : -errno;
    int64_t t0 = kc_mono_ns();
    for (int i = 0; rc == 0 && i < b->n; i++) {
        ssize_t w = kc_write_all(fd, b->p[i], b->len[i]);
        rc = w < 0 ? (int)w : 0;
    }
    *secs = (double)(kc_mono_ns() - t0) / 1e9;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

enum way { WAY_LOG, WAY_WRITE, WAY_REPLICA, WAYS };

/* One timed run of one way in a fresh directory. */
static int one(struct batches *b, enum way way, double *mbs)
{
    char dir[4096];
    int rc = kc_mkdtemp("bench-append-", dir, sizeof(dir));
    if (rc)
        return rc;
    double secs = 0;
    rc = way == WAY_LOG     ? run_log(dir, b, &secs)
         : way == WAY_WRITE ? run_write(dir, b, &secs)
                            : run_replica(dir, b, &secs);
    *mbs = (double)b->bytes / secs / 1e6;
    int rm = kc_rm_rf(dir);
    return rc ? rc : rm;
}

static int bench(size_t value_size, size_t total)
{
    struct batches b = {0};
    int n = (int)(total / (value_size * 1000 + 8 * 1000)) + 1;
    int rc = build(&b, n, value_size);
    double mbs[WAYS][RUNS];
    for (int r = 0; rc == 0 && r < RUNS; r++) { /* rotate the order, so drift hits all */
        for (int k = 0; rc == 0 && k < WAYS; k++) {
            enum way way = (enum way)((r + k) % WAYS);
            rc = one(&b, way, &mbs[way][r]);
        }
    }
    if (rc == 0) {
        double l = kc_median(mbs[WAY_LOG], RUNS), w = kc_median(mbs[WAY_WRITE], RUNS);
        double f = kc_median(mbs[WAY_REPLICA], RUNS);
        printf("  %4zu B records, batches of 1000 (%5.1f MB): alog_append %7.0f MB/s   "
               "write() %7.0f MB/s   log/write %.2f  (runs: log %.0f..%.0f, write %.0f..%.0f)\n",
               value_size, (double)b.bytes / 1e6, l, w, l / w, kc_min(mbs[WAY_LOG], RUNS),
               kc_max(mbs[WAY_LOG], RUNS), kc_min(mbs[WAY_WRITE], RUNS),
               kc_max(mbs[WAY_WRITE], RUNS));
        printf("  %4zu B records, follower: alog_append_replica %7.0f MB/s (CRC-checked)   "
               "replica/append %.2f  (runs %.0f..%.0f)\n",
               value_size, f, f / l, kc_min(mbs[WAY_REPLICA], RUNS), kc_max(mbs[WAY_REPLICA], RUNS));
    }
    release(&b);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *quick = getenv("BENCH_QUICK");
    size_t total = quick && *quick == '1' ? 64u << 20 : 256u << 20;
    printf("append_vs_write: the append path against write(2) of the same bytes, "
           "median of %d runs\n",
           RUNS);
    int rc = bench(100, total);
    if (rc == 0)
        rc = bench(1024, total);
    if (rc)
        fprintf(stderr, "append_vs_write: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}

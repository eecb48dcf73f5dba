/*
 * kpb.h - the timing loop of the codec benchmark (kp_bench.c).
 *
 * One figure = the median of KPB_RUNS runs; each run repeats the operation for at least
 * KPB_RUN_NS and divides. The binary prints "RESULT <case> <median ns/op> <min> <max>"
 * lines that run.sh puts in a table.
 */
#ifndef KPB_H
#define KPB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KPB_RUNS 9
#define KPB_RUN_NS 60000000L /* 60 ms */

static inline int64_t kpb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline int kpb_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * Time op(arg) and print its RESULT line; op returns non-zero on failure (fatal).
 * KPB_ONLY=<case> skips the other cases; KPB_ITERS=<n> runs the case n times, once, and
 * prints nothing: run.sh runs it under callgrind twice and divides the difference in
 * instructions by the difference in n, a count no other load on the machine can skew.
 */
static inline void kpb_measure(const char *name, int (*op)(void *), void *arg)
{
    const char *only = getenv("KPB_ONLY"), *fixed = getenv("KPB_ITERS");
    if (only && strcmp(only, name) != 0)
        return;
    if (fixed) {
        for (long i = atol(fixed); i > 0; i--)
            (void)op(arg);
        return;
    }
    double ns[KPB_RUNS];
    long iters = 1;
    for (;;) { /* calibrate: how many iterations fill one run */
        int64_t t0 = kpb_now();
        for (long i = 0; i < iters; i++)
            if (op(arg)) {
                fprintf(stderr, "%s: operation failed\n", name);
                exit(1);
            }
        int64_t dt = kpb_now() - t0;
        if (dt >= KPB_RUN_NS / 4) {
            iters = (long)((double)iters * KPB_RUN_NS / (double)dt) + 1;
            break;
        }
        iters *= 4;
    }
    for (int r = 0; r < KPB_RUNS; r++) {
        int64_t t0 = kpb_now();
        for (long i = 0; i < iters; i++)
            (void)op(arg);
        ns[r] = (double)(kpb_now() - t0) / (double)iters;
    }
    qsort(ns, KPB_RUNS, sizeof(ns[0]), kpb_cmp);
    printf("RESULT %-28s %10.1f %10.1f %10.1f\n", name, ns[KPB_RUNS / 2], ns[0],
           ns[KPB_RUNS - 1]);
    fflush(stdout);
}

/* The same pseudo-random record bytes in both binaries (the decoders never parse them). */
static inline void kpb_fill(uint8_t *p, size_t n)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

#define KPB_BATCH_BYTES 1024   /* one produced batch; each Fetch partition's records */
#define KPB_TOPIC "bench-topic"

#endif

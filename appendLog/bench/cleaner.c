/*
 * cleaner.c - log compaction: how fast the cleaner cleans, and what it costs the appends
 * that run beside it.
 *
 *   1. cleaner throughput: a compacted log of MB MiB (batches of 10 records, 16-byte keys
 *      drawn from KEYS keys, 100-byte values; plain, lz4 and zstd batches), flushed, then
 *      ONE alog_clean timed: MB/s of segments read (and written), the share of records
 *      kept. The log is rebuilt for every run; median of RUNS runs.
 *   2. appends beside it: 1 KiB batches appended to another log of the same store for
 *      SECONDS, MB/s, with nothing else running and then while a thread cleans the
 *      compacted log over and over (each pass rewrites it all: a cleaner kept busy); median
 *      of RUNS pairs, and the ratio (1.0 = the cleaner costs the writer nothing).
 *
 * No fsync is timed but the cleaner's own (it fdatasyncs every segment it writes). A
 * 2-core machine: the cleaner thread and the writer share the cores with the flusher-less
 * page cache writeback. BENCH_QUICK=1: smaller and shorter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "kc_codec.h"
#include "kc_common.h"
#include "kc_fs.h"

#define RUNS 5
#define KEYS 100000
#define VALUE 100

static void die(const char *what, int rc)
{
    fprintf(stderr, "cleaner bench: %s: %s\n", what, kc_strerror(rc));
    exit(1);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint8_t *keyed_batch(uint64_t *rs, int codec, size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    struct kc_batch_rebuild rb = {.codec = codec};
    kc_batch_builder_set_rebuild(&b, &rb);
    char key[17], value[VALUE];
    for (int i = 0; i < VALUE; i++)
        value[i] = (char)('a' + (rng(rs) % 4)); /* compressible, not trivially */
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "key-%012llu", (unsigned long long)(rng(rs) % KEYS));
        int rc = kc_batch_builder_add(&b, 1700000000000LL + i, key, 16, value, VALUE, NULL, 0);
        if (rc)
            die("build", rc);
    }
    uint8_t *p, *copy;
    int rc = kc_batch_builder_finish_codec(&b, &p, len);
    if (rc)
        die("finish", rc);
    copy = malloc(*len);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

struct env {
    char *dir;
    struct alog_store *s;
    struct alog *compacted, *plain;
};

static uint64_t segment_bytes = 16u << 20; /* MB / 8: the last eighth stays active */

static struct alog *add_log(struct alog_store *s, const char *dir, const char *name,
                            unsigned policy)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int rc = kc_mkdir_p(path, 0755);
    struct alog_config cfg;
    alog_config_init(&cfg);
    cfg.segment_bytes = segment_bytes;
    cfg.retention_ms = -1;
    cfg.flush_interval_ms = -1;
    cfg.cleanup_policy = policy;
    struct alog *log = NULL;
    if (rc == 0)
        rc = alog_store_add(s, name, &cfg, &log);
    if (rc)
        die("add", rc);
    return log;
}

static void env_open(struct env *e, const char *base, int run)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/run%d", base, run);
    e->dir = strdup(dir);
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 0; /* the bench drives the passes */
    int rc = alog_store_open(&e->s, dir, &sc);
    if (rc)
        die("store", rc);
    e->compacted = add_log(e->s, dir, "compacted-0", ALOG_CLEANUP_COMPACT);
    e->plain = add_log(e->s, dir, "plain-0", ALOG_CLEANUP_DELETE);
}

static void env_close(struct env *e)
{
    int rc = alog_store_close(e->s);
    if (rc)
        die("close", rc);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleaner bench: could not remove %s\n", e->dir);
    free(e->dir);
}

/* MB MiB of keyed batches, codecs in turn (plain, lz4, zstd), flushed. */
static void fill(struct alog *log, uint64_t mb, uint64_t seed)
{
    static const int codecs[] = {KC_COMPRESS_NONE, KC_COMPRESS_LZ4, KC_COMPRESS_ZSTD};
    uint64_t rs = seed | 1, bytes = 0;
    for (int i = 0; bytes < mb << 20; i++) {
        size_t len;
        uint8_t *b = keyed_batch(&rs, codecs[i % 3], &len);
        int64_t base;
        int rc = alog_append(log, b, len, &base);
        if (rc)
            die("append", rc);
        bytes += len;
        free(b);
    }
    int rc = alog_flush(log);
    if (rc)
        die("flush", rc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void throughput(const char *base, uint64_t mb, int runs)
{
    double read_mbs[RUNS], write_mbs[RUNS], kept[RUNS], out_ratio[RUNS], cpu_mbs[RUNS];
    for (int r = 0; r < runs; r++) {
        struct env e;
        env_open(&e, base, r);
        fill(e.compacted, mb, 42 + (uint64_t)r);
        struct alog_clean_stats st;
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        int rc = alog_clean(e.compacted, kc_wall_ms(), &st);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        if (rc)
            die("clean", rc);
        double s = (double)st.elapsed_us / 1e6;
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        cpu_mbs[r] = (double)st.bytes_read / cpu / 1e6;
        read_mbs[r] = (double)st.bytes_read / s / 1e6;
        write_mbs[r] = (double)st.bytes_written / s / 1e6;
        kept[r] = (double)st.records_kept / (double)st.records_read;
        out_ratio[r] = (double)st.bytes_written / (double)st.bytes_read;
        printf("  run %d: %.1f MB read in %.2f s (%.2f s of CPU), %d segments -> %d, %llu keys "
               "mapped\n", r + 1, (double)st.bytes_read / 1e6, s, cpu, st.segments_in,
               st.segments_out, (unsigned long long)st.keys_mapped);
        env_close(&e);
    }
    printf("cleaner, one pass over %llu MiB (plain/lz4/zstd batches, %d keys), median of %d:\n",
           (unsigned long long)mb, KEYS, runs);
    printf("  cleaned (read)          %8.1f MB/s\n", median(read_mbs, runs));
    printf("  per CPU second          %8.1f MB     (the pass's own thread: load-independent)\n",
           median(cpu_mbs, runs));
    printf("  written                 %8.1f MB/s\n", median(write_mbs, runs));
    printf("  records kept            %8.3f\n", median(kept, runs));
    printf("  bytes out / bytes in    %8.3f\n", median(out_ratio, runs));
}

struct busy {
    struct alog *log;
    _Atomic bool stop;
    long passes;
    int err;
};

static void *clean_loop(void *arg)
{
    struct busy *b = arg;
    while (!atomic_load(&b->stop) && b->err == 0) {
        b->err = alog_clean(b->log, kc_wall_ms(), NULL);
        b->passes++;
    }
    return NULL;
}

/* MB/s of 1 KiB batches appended for `seconds`. */
static double append_rate(struct alog *log, double seconds)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    char value[1000];
    memset(value, 'x', sizeof(value));
    uint8_t *p;
    size_t len;
    if (kc_batch_builder_add(&b, 1700000000000LL, NULL, -1, value, sizeof(value), NULL, 0) ||
        kc_batch_builder_finish(&b, &p, &len))
        die("batch", -EINVAL);
    uint64_t bytes = 0;
    int64_t t0 = kc_mono_ns(), until = t0 + (int64_t)(seconds * 1e9), now = t0;
    while (now < until) {
        for (int i = 0; i < 256; i++) {
            int64_t base;
            int rc = alog_append(log, p, len, &base);
            if (rc)
                die("append", rc);
            bytes += len;
        }
        now = kc_mono_ns();
    }
    kc_batch_builder_fini(&b);
    return (double)bytes / ((double)(now - t0) / 1e9) / 1e6;
}

static void beside(const char *base, uint64_t mb, int runs, double seconds)
{
    double alone[RUNS], busy[RUNS], ratio[RUNS];
    long passes = 0;
    struct env e;
    env_open(&e, base, 99);
    fill(e.compacted, mb, 7);
    for (int r = 0; r < runs; r++) {
        alone[r] = append_rate(e.plain, seconds);
        struct busy bz = {.log = e.compacted};
        pthread_t t;
        if (pthread_create(&t, NULL, clean_loop, &bz) != 0)
            die("thread", -EAGAIN);
        busy[r] = append_rate(e.plain, seconds);
        atomic_store(&bz.stop, true);
        pthread_join(t, NULL);
        if (bz.err)
            die("clean loop", bz.err);
        passes += bz.passes;
        ratio[r] = busy[r] / alone[r];
    }
    env_close(&e);
    printf("appends of 1 KiB batches to another log, %.1f s each, median of %d:\n", seconds, runs);
    printf("  alone                   %8.1f MB/s\n", median(alone, runs));
    printf("  beside the cleaner      %8.1f MB/s   (%ld passes over %llu MiB meanwhile)\n",
           median(busy, runs), passes, (unsigned long long)mb);
    printf("  ratio beside / alone    %8.3f x\n", median(ratio, runs));
}

int main(void)
{
    bool quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
    uint64_t mb = quick ? 32 : 128;
    int runs = quick ? 3 : RUNS;
    segment_bytes = (mb << 20) / 8;
    char base[4096];
    int rc = kc_mkdtemp("bench-clean-", base, sizeof(base));
    if (rc)
        die("mkdtemp", rc);
    double load[3] = {0, 0, 0};
    (void)getloadavg(load, 3);
    printf("== log cleaner (appendLog/bench/cleaner.c), load %.2f %.2f %.2f\n", load[0],
           load[1], load[2]);
    throughput(base, mb, runs);
    beside(base, quick ? 16 : 64, runs, quick ? 1.0 : 3.0);
    (void)getloadavg(load, 3);
    printf("load after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    (void)rmdir(base);
    return 0;
}

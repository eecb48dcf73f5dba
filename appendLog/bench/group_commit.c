/*
 * group_commit.c - durable appends per second: what group commit buys.
 *
 * Peer: one writer doing what a naive log does per request: write(2) the batch, then
 * fdatasync(2), then the next (the disk's fsync rate bounds it).
 *
 * Log: W writers (1, 8, 64 threads), each looping alog_append + alog_wait_durable and
 * blocking until its callback says the batch is on disk. One flusher thread fsyncs; every
 * fsync releases all the waiters it covers, so with W writers one fsync can acknowledge up
 * to W appends. Each batch: 10 records of 100 B.
 *
 * Durable appends per second over all writers, median of RUNS runs of DURATION each, the
 * ratio to the fdatasync peer measured in the same run, and appends per fsync (from the
 * log's own count). BENCH_QUICK=1 shortens each run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "kc_common.h"

#define RUNS 5

struct writer {
    struct alog *log;
    _Atomic bool *stop;
    uint8_t *batch;
    size_t len;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
    int err;
    long commits;
};

static uint8_t *make_batch(size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    char value[100];
    memset(value, 'v', sizeof(value));
    uint8_t *p = NULL, *copy = NULL;
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++)
        rc = kc_batch_builder_add(&b, 1700000000000 + i, NULL, -1, value, sizeof(value), NULL, 0);
    if (rc == 0 && kc_batch_builder_finish(&b, &p, len) == 0 && (copy = malloc(*len)))
        memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

static void on_durable(void *arg, int err)
{
    struct writer *w = arg;
    pthread_mutex_lock(&w->m);
    w->done = true;
    w->err = err;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    while (!atomic_load(w->stop)) {
        int64_t base;
        if (alog_append(w->log, w->batch, w->len, &base) != 0)
            break;
        w->done = false;
        int rc = alog_wait_durable(w->log, base + 10, on_durable, w);
        if (rc < 0)
            break;
        pthread_mutex_lock(&w->m);
        while (rc == 0 && !w->done)
            pthread_cond_wait(&w->c, &w->m);
        pthread_mutex_unlock(&w->m);
        if (w->err)
            break;
        w->commits++;
    }
    return NULL;
}

struct crew {
    struct writer *w;
    pthread_t *th;
    int inited, started;
    _Atomic bool stop;
};

static int crew_start(struct crew *c, struct alog *log, int n)
{
    c->w = calloc((size_t)n, sizeof(*c->w));
    c->th = calloc((size_t)n, sizeof(*c->th));
    int rc = c->w && c->th ? 0 : -ENOMEM;
    for (int i = 0; rc == 0 && i < n; i++) {
        struct writer *w = &c->w[i];
        *w = (struct writer){.log = log, .stop = &c->stop};
        pthread_mutex_init(&w->m, NULL);
        pthread_cond_init(&w->c, NULL);
        c->inited++;
        w->batch = make_batch(&w->len);
        rc = w->batch ? -pthread_create(&c->th[i], NULL, writer_main, w) : -ENOMEM;
        c->started += rc == 0;
    }
    return rc;
}

/* Stop and join every writer; returns the commits they made. */
static long crew_stop(struct crew *c)
{
    atomic_store(&c->stop, true);
    long commits = 0;
    for (int i = 0; i < c->inited; i++) {
        if (i < c->started)
            pthread_join(c->th[i], NULL);
        commits += c->w[i].commits;
        free(c->w[i].batch);
        pthread_mutex_destroy(&c->w[i].m);
        pthread_cond_destroy(&c->w[i].c);
    }
    free(c->w);
    free(c->th);
    return commits;
}

/* Durable appends/s with n writers for ms; *per_fsync gets appends per fsync. */
static int run_log(struct alog_flusher *f, int n, int64_t ms, double *rate, double *per_fsync)
{
    char dir[4096] = "";
    struct alog_config cfg;
    alog_config_init(&cfg);
    cfg.flush_interval_ms = -1; /* only waiters make it flush */
    struct alog *log = NULL;
    struct crew crew = {0};
    int rc = kc_mkdtemp("bench-gc-", dir, sizeof(dir));
    if (rc == 0)
        rc = alog_open(&log, dir, &cfg, f);
    if (rc == 0)
        rc = crew_start(&crew, log, n);
    int64_t t0 = kc_mono_ns();
    if (rc == 0)
        kc_sleep_ms(ms); /* the measurement window, not synchronisation */
    long commits = crew_stop(&crew);
    double secs = (double)(kc_mono_ns() - t0) / 1e9;
    struct alog_info info = {0};
    if (log) {
        alog_info(log, &info);
        int crc = alog_close(log);
        rc = rc ? rc : crc;
    }
    *rate = (double)commits / secs;
    *per_fsync = info.fsyncs ? (double)commits / (double)info.fsyncs : 0;
    int rm = dir[0] ? kc_rm_rf(dir) : 0;
    return rc ? rc : rm;
}

/* The peer: write + fdatasync per batch, one writer. */
static int run_fsync(int64_t ms, double *rate)
{
    char dir[4096], path[4096];
    int rc = kc_mkdtemp("bench-gc-", dir, sizeof(dir));
    if (rc == 0)
        rc = kc_path_join(path, sizeof(path), dir, "plain.log");
    int fd = rc ? -1 : open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    size_t len;
    uint8_t *batch = make_batch(&len);
    rc = rc ? rc : fd < 0 ? -errno : batch ? 0 : -ENOMEM;
    long n = 0;
    int64_t t0 = kc_mono_ns(), stop = t0 + ms * 1000000;
    while (rc == 0 && kc_mono_ns() < stop) {
        ssize_t wr = kc_write_all(fd, batch, len);
        rc = wr < 0 ? (int)wr : kc_fdatasync(fd);
        n++;
    }
    *rate = (double)n / ((double)(kc_mono_ns() - t0) / 1e9);
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = -errno;
    free(batch);
    int rm = kc_rm_rf(dir);
    return rc ? rc : rm;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *quick = getenv("BENCH_QUICK");
    int64_t ms = quick && *quick == '1' ? 300 : 1000;
    static const int writers[] = {1, 8, 64};
    enum { NW = 3 };
    double peer[RUNS], rate[NW][RUNS], per[NW][RUNS];
    struct alog_flusher *f = NULL;
    int rc = alog_flusher_create(&f);
    printf("group_commit: durable appends/s (10 x 100 B records each), %lld ms runs, median "
           "of %d\n",
           (long long)ms, RUNS);
    for (int r = 0; rc == 0 && r < RUNS; r++) {
        rc = run_fsync(ms, &peer[r]);
        for (int i = 0; rc == 0 && i < NW; i++)
            rc = run_log(f, writers[i], ms, &rate[i][r], &per[i][r]);
    }
    if (rc == 0) {
        double p = kc_median(peer, RUNS);
        printf("  peer: write+fdatasync per batch, 1 writer  %8.0f /s\n", p);
        for (int i = 0; i < NW; i++) {
            double m = kc_median(rate[i], RUNS);
            printf("  alog group commit, %2d writer(s)          %8.0f /s   x%.2f of peer   "
                   "%.1f appends per fsync\n",
                   writers[i], m, m / p, kc_median(per[i], RUNS));
        }
    }
    if (f)
        alog_flusher_destroy(f);
    if (rc)
        fprintf(stderr, "group_commit: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}

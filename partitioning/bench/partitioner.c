/*
 * partitioner.c - how fast are the partitioners, alone and from two threads?
 *
 * Keyed: part_for_key over 4096 distinct 16-byte keys, against CRC-32C of the same keys
 * (kc_crc32c, SSE4.2 when the CPU has it) as the peer: a hash the machine computes in
 * hardware, to show what murmur2's portable arithmetic costs.
 *
 * Round-robin: part_next_round_robin (one atomic counter per topic), against two peers:
 * a counter under a mutex (what a lock would cost) and a counter per thread (no sharing
 * at all: the ceiling). With two threads the atomic's cache line moves between the cores
 * on every call; the per-thread counter shows what that costs.
 *
 * Calls per second over all threads, median of 7 runs; ratios to the peers and of two
 * threads to one, measured in the same run. On a 2-vCPU machine two threads have the
 * whole machine: figures move with the neighbours' load.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "part.h"

#define MAX_RUNS 7
#define KEYS     4096
#define KEY_LEN  16


enum way { MURMUR2, CRC32C, RR_ATOMIC, RR_MUTEX, RR_LOCAL, WAYS };
static const char *const names[] = {"murmur2 keyed", "crc32c (peer)", "round-robin atomic",
                                    "mutex counter (peer)", "per-thread ctr (peer)"};

struct shared {
    struct part_topic *topic;
    pthread_mutex_t lock;
    uint64_t locked_counter;
    char keys[KEYS][KEY_LEN];
    atomic_int ready;
    int threads;
    uint32_t calls; /* per thread per run */
};

struct job {
    struct shared *s;
    enum way way;
    uint64_t sink; /* keeps the compiler from dropping the work */
};

static uint64_t run_calls(struct shared *s, enum way w)
{
    uint64_t sink = 0, local = 0;
    for (uint32_t i = 0; i < s->calls; i++) {
        const char *key = s->keys[i % KEYS];
        switch (w) {
        case MURMUR2:
            sink += (uint64_t)part_for_key(key, KEY_LEN, 12);
            break;
        case CRC32C:
            sink += kc_crc32c(0, key, KEY_LEN) % 12;
            break;
        case RR_ATOMIC:
            sink += (uint64_t)part_next_round_robin(s->topic);
            break;
        case RR_MUTEX:
            pthread_mutex_lock(&s->lock);
            sink += s->locked_counter++ % 12;
            pthread_mutex_unlock(&s->lock);
            break;
        default:
            sink += local++ % 12;
        }
    }
    return sink;
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    atomic_fetch_add(&j->s->ready, 1);
    while (atomic_load(&j->s->ready) < j->s->threads)
        ;
    j->sink = run_calls(j->s, j->way);
    return NULL;
}

/* One run: calls per second over all threads. */
static double one_run(struct shared *s, enum way w, int threads)
{
    pthread_t th[2];
    struct job jobs[2];
    atomic_store(&s->ready, 0);
    s->threads = threads;
    int64_t t0 = kc_mono_ns();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){.s = s, .way = w};
        if (pthread_create(&th[i], NULL, job_main, &jobs[i]))
            abort();
    }
    uint64_t sink = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        sink += jobs[i].sink;
    }
    double secs = (double)(kc_mono_ns() - t0) / 1e9;
    if (sink == 42) /* never true in practice; makes the sums observable */
        printf(" ");
    return (double)s->calls * threads / secs;
}

static int setup(struct shared *s, struct part_registry **reg, char *dir, size_t cap)
{
    int rc = kc_mkdtemp("kc-part-bench-", dir, cap);
    if (rc == 0)
        rc = part_registry_open(reg, dir, NULL);
    if (rc == 0)
        rc = part_topic_create(*reg, "bench", 12, &s->topic);
    if (rc < 0)
        return rc;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int k = 0; k < KEYS; k++) /* "user-" + 11 pseudo-random digits: 16 bytes */
        for (int i = 0; i < KEY_LEN; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s->keys[k][i] = i < 5 ? "user-"[i] : (char)('0' + x % 10);
        }
    return -pthread_mutex_init(&s->lock, NULL);
}

int main(void)
{
    static struct shared s;
    struct part_registry *reg = NULL;
    bool quick = getenv("BENCH_QUICK") != NULL; /* make bench's short form */
    int runs = quick ? 5 : MAX_RUNS;
    s.calls = quick ? 1000000 : 4000000;
    char dir[4096];
    int rc = setup(&s, &reg, dir, sizeof(dir));
    if (rc < 0) {
        fprintf(stderr, "setup: %s\n", kc_strerror(rc));
        return 1;
    }
    double med[WAYS][3];
    for (int threads = 1; threads <= 2; threads++)
        for (int w = 0; w < WAYS; w++) {
            double v[MAX_RUNS];
            for (int r = 0; r < runs; r++)
                v[r] = one_run(&s, (enum way)w, threads);
            med[w][threads] = kc_median(v, (size_t)runs);
        }
    printf("partitioner: calls per second over all threads (%u calls per thread per run,\n"
           "median of %d runs, 12 partitions, %d-byte keys)\n\n", s.calls, runs, KEY_LEN);
    printf("  %-24s %14s %14s %10s\n", "", "1 thread", "2 threads", "2 vs 1");
    for (int w = 0; w < WAYS; w++) {
        char a[32], b[32];
        printf("  %-24s %12s/s %12s/s %9.2fx\n", names[w], kc_fmt_si(med[w][1], a, sizeof(a)),
               kc_fmt_si(med[w][2], b, sizeof(b)), med[w][2] / med[w][1]);
    }
    printf("\n  murmur2 / crc32c:               %.2fx (1 thread)  %.2fx (2 threads)\n",
           med[MURMUR2][1] / med[CRC32C][1], med[MURMUR2][2] / med[CRC32C][2]);
    printf("  round-robin atomic / mutex:     %.2fx (1 thread)  %.2fx (2 threads)\n",
           med[RR_ATOMIC][1] / med[RR_MUTEX][1], med[RR_ATOMIC][2] / med[RR_MUTEX][2]);
    printf("  round-robin atomic / per-thread: %.2fx (1 thread)  %.2fx (2 threads)\n",
           med[RR_ATOMIC][1] / med[RR_LOCAL][1], med[RR_ATOMIC][2] / med[RR_LOCAL][2]);
    pthread_mutex_destroy(&s.lock);
    rc = part_registry_close(reg);
    if (kc_rm_rf(dir) < 0 || rc < 0)
        return 1;
    return 0;
}

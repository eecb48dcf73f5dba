/*
 * rel.h - what the reliability harnesses share: a real broker process they start, kill and
 * restart by PID, its memory as the kernel counts it, and a seeded random source.
 *
 *   harness (this process)                       kafka_broker (child)
 *   ----------------------                       --------------------
 *   rel_broker_spawn   fork + execve  -------->  --port 0 --data-dir D [args]
 *                      env: LD_PRELOAD=libkc_fault.so, KC_FAULT_CTL=ctl (optional)
 *   rel_broker_wait_listening  <-- stdout: "listening on 127.0.0.1:<port>"
 *   rel_broker_kill9   SIGKILL, waitpid  (the crash loop's "power switch")
 *   rel_broker_stop    SIGTERM, waitpid  (a clean stop: exit status 0 expected)
 *   rel_mem            /proc/<pid>/status: VmRSS (now) and VmHWM (peak)
 *
 * Rules:
 *  - Every wait is bounded; the child dies with the harness (PR_SET_PDEATHSIG), so a
 *    failed harness never leaves a broker behind. A struct rel_broker holds at most one
 *    running child; kill9/stop reap it.
 *  - The child's stderr goes to b->log (appended across restarts: one file tells the
 *    story of a whole crash loop).
 *  - Not thread-safe: one thread (the one that spawned) drives a struct rel_broker, and
 *    it must stay alive while the child runs (PDEATHSIG follows the spawning thread).
 *
 * Read next: rel_crash.h (the crash loop), flt.h (fault injection and the power-cut model).
 */
#ifndef REL_H
#define REL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define REL_PATH_MAX 512

struct rel_broker {
    /* in: set before rel_broker_spawn */
    char bin[REL_PATH_MAX];  /* the kafka_broker executable */
    char data[REL_PATH_MAX]; /* --data-dir */
    char log[REL_PATH_MAX];  /* stderr, appended */
    char shim[REL_PATH_MAX]; /* LD_PRELOAD this ("" = none) */
    char ctl[REL_PATH_MAX];  /* KC_FAULT_CTL for the shim ("" = none) */
    /* out */
    pid_t pid;         /* 0 when not running */
    int port;          /* 0 until listening */
    char addr[64];     /* "127.0.0.1:<port>" */
    int metrics_port;  /* its HTTP door (/metrics, /health): known before it listens */
    /* private */
    int out_fd;        /* the read end of the child's stdout */
    char out[4096];    /* what it printed so far */
    size_t out_len;
};

/* Fill b's paths: bin = <bin_dir>/kafka_broker, data = <dir>/data, log = <dir>/broker.out;
 * shim and ctl empty. -ENAMETOOLONG. */
int rel_broker_init(struct rel_broker *b, const char *bin_dir, const char *dir);

/* Start the broker: --port 0 --data-dir <data> --override metrics.port=0, then args
 * (NULL-terminated, may be NULL). Returns 0 at once (it may still be recovering), or
 * -errno. */
int rel_broker_spawn(struct rel_broker *b, const char *const *args);
/* Wait up to timeout_ms for its "listening on" line: 0 with port/addr set; -ETIMEDOUT;
 * -ECHILD if it exited first (its status is reaped, pid is 0). */
int rel_broker_wait_listening(struct rel_broker *b, int timeout_ms);
/* Wait up to timeout_ms for its "metrics on" line (printed before storage is opened):
 * 0 with metrics_port set, -ETIMEDOUT, -ECHILD as above. */
int rel_broker_wait_metrics(struct rel_broker *b, int timeout_ms);
/* spawn + wait_listening; on failure the child is killed. */
int rel_broker_start(struct rel_broker *b, const char *const *args, int timeout_ms);
/* SIGKILL and reap; a no-op when nothing runs. */
void rel_broker_kill9(struct rel_broker *b);
/* SIGTERM and wait up to timeout_ms: the wait status (0 = exited with status 0), or
 * -ETIMEDOUT (then it is SIGKILLed and reaped). */
int rel_broker_stop(struct rel_broker *b, int timeout_ms);
/* Has the child exited on its own? Its wait status (reaped), or -1 if it still runs. */
int rel_broker_exited(struct rel_broker *b);

/* A process's memory, from /proc/<pid>/status, in KiB. */
struct rel_mem {
    long rss_kb; /* VmRSS: resident now */
    long hwm_kb; /* VmHWM: the peak resident size since it started */
};
/* 0 with *m filled, or -errno (-ENOENT: no such process). */
int rel_mem_read(pid_t pid, struct rel_mem *m);

/* The harnesses' random source: splitmix64 steps, reproducible from a printed seed. */
static inline uint64_t rel_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi >= lo). */
static inline int64_t rel_rand_range(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rel_rand(state) % (uint64_t)(hi - lo + 1));
}

#endif

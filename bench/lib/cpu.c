/*
 * cpu.c - where the benchmark's threads run: pinning, and finding which thread of another
 * process serves a connection (see bench.h, "placement").
 *
 * On a 2-vCPU KVM guest a wake-up across vCPUs costs ~50 us when the other vCPU is idle
 * (it halts, and waking it is an IPI through the hypervisor), against ~5 us on the same
 * vCPU. A round-trip comparison is only like for like when both servers and their clients
 * sit the same way, so the benchmark pins its own side and finds the broker's.
 *
 * The broker pins one network thread per CPU (named brk-net-<i>) and hands connections to
 * them round-robin; nothing it says on the wire tells a client which one it got. So we
 * watch: /proc/<pid>/task/<tid>/schedstat's third field counts the times a thread was put
 * on a CPU. Send a few hundred one-at-a-time requests, and the thread serving them has been
 * scheduled once per request; the others only for their timers. The thread's CPU is its
 * affinity mask (sched_getaffinity on the tid), which must name exactly one CPU.
 *
 *   /proc/<pid>/task/<tid>/comm       "brk-net-1"
 *   /proc/<pid>/task/<tid>/schedstat  "<ns on cpu> <ns waiting> <times scheduled>"
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"

int bench_pin_cpu(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return 0;
    if (cpu >= CPU_SETSIZE)
        return -EINVAL;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

/* The one CPU in tid's affinity mask, or -1 when it may run on several. */
static int only_cpu(pid_t tid, int *cpu)
{
    cpu_set_t set;

    if (sched_getaffinity(tid, sizeof(set), &set) != 0)
        return -errno;
    *cpu = -1;
    if (CPU_COUNT(&set) != 1)
        return 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            *cpu = c;
    return 0;
}

int bench_cpus_allowed(int *cpus, int cap)
{
    cpu_set_t set;
    int n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -errno;
    for (int c = 0; c < CPU_SETSIZE && n < cap; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n;
}

/* Read the first line of /proc/<pid>/task/<tid>/<what> into buf. */
static int task_line(pid_t pid, const char *tid, const char *what, char *buf, size_t cap)
{
    char path[96];
    FILE *f;
    int err = 0;

    snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", (int)pid, tid, what);
    f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    if (fgets(buf, (int)cap, f) == NULL)
        err = -EIO;
    (void)fclose(f); /* read-only */
    buf[strcspn(buf, "\n")] = '\0';
    return err;
}

/* One thread: its name must start with prefix; fills t. 1 taken, 0 not ours, < 0 error. */
static int thread_read(pid_t pid, const char *tid, const char *prefix, struct bench_thread *t)
{
    char line[128];
    unsigned long long run_ns, wait_ns, slices = 0;
    int err = task_line(pid, tid, "comm", t->name, sizeof(t->name));

    if (err == 0 && strncmp(t->name, prefix, strlen(prefix)) != 0)
        return 0;
    if (err == 0)
        err = task_line(pid, tid, "schedstat", line, sizeof(line));
    if (err == 0 && sscanf(line, "%llu %llu %llu", &run_ns, &wait_ns, &slices) != 3)
        err = -ENOTSUP; /* a kernel without schedstats */
    t->tid = (pid_t)strtol(tid, NULL, 10);
    if (err == 0)
        err = only_cpu(t->tid, &t->cpu);
    if (err == -ENOENT || err == -ESRCH)
        return 0; /* the thread exited meanwhile: not one that serves us */
    t->scheduled = (int64_t)slices;
    return err == 0 ? 1 : err;
}

int bench_threads_read(pid_t pid, const char *prefix, struct bench_thread *ts, int cap)
{
    char path[64];
    struct dirent *de;
    DIR *d;
    int n = 0, err = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return -errno;
    while (err >= 0 && n < cap && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        err = thread_read(pid, de->d_name, prefix, &ts[n]);
        n += err == 1;
    }
    (void)closedir(d); /* read-only */
    return err < 0 ? err : n;
}

int bench_threads_busiest(const struct bench_thread *before, int nbefore,
                          const struct bench_thread *after, int nafter, int64_t expect)
{
    int64_t best = -1, second = 0;
    int who = -1;

    for (int i = 0; i < nafter; i++) {
        for (int j = 0; j < nbefore; j++) {
            int64_t d = after[i].scheduled - before[j].scheduled;

            if (after[i].tid != before[j].tid)
                continue;
            if (d > best) {
                second = best > 0 ? best : 0;
                best = d;
                who = i;
            } else if (d > second) {
                second = d;
            }
        }
    }
    /* It ran once per request (or close); nobody else came near. */
    if (who < 0 || best < expect / 2 || second * 4 > best)
        return KC_EEMPTY;
    return who;
}

int bench_serving_cpu(pid_t pid, const char *prefix, int64_t expect, int (*work)(void *),
                      void *arg, struct bench_thread *who)
{
    struct bench_thread before[BENCH_THREADS_MAX], after[BENCH_THREADS_MAX];
    int nb = bench_threads_read(pid, prefix, before, BENCH_THREADS_MAX);
    int na, i, err = nb < 0 ? nb : work(arg);

    if (err != 0)
        return err;
    na = bench_threads_read(pid, prefix, after, BENCH_THREADS_MAX);
    if (na < 0)
        return na;
    i = bench_threads_busiest(before, nb, after, na, expect);
    if (i < 0)
        return i;
    if (after[i].cpu < 0)
        return -EINVAL; /* its threads are not pinned: there is no placement to match */
    *who = after[i];
    for (int j = 0; j < nb; j++)
        if (before[j].tid == who->tid)
            who->scheduled -= before[j].scheduled;
    return 0;
}


/*
 * thread.c - threads pinned to CPUs, named, started and joined.
 *
 * Pinning a thread to a CPU (sched_setaffinity / pthread_setaffinity_np) keeps its caches,
 * its TLB entries and its NUMA-local memory warm, and keeps two busy loops from fighting
 * over one core. Kafka itself (on the JVM) does not pin; brokers written in C and C++
 * (Redpanda's Seastar, ScyllaDB) pin one event loop per core, which is what this module
 * teaches.
 *
 *   process affinity mask   {0, 1}            (what `taskset` or the cgroup allows)
 *   asked index             0    1    2    3
 *   CPU used                0    1    0!   1!      ! = wrapped, one warning each
 *
 * The original Kira-Kafka pinned three threads to CPUs 0-2 unconditionally: on a 2-core
 * machine pthread_setaffinity_np failed, and it printed errno (0, "Success") instead of
 * the returned error. Here an index beyond the mask wraps round with one clear warning,
 * and errors from pthread_* (which return the error, not errno) are returned as -err.
 *
 * A thread is pinned through its creation attributes (pthread_attr_setaffinity_np), so it
 * never executes a single instruction on another CPU, and it names itself
 * (pthread_setname_np, visible in top -H, ps -L, gdb and /proc/<pid>/task/<tid>/comm)
 * before the caller's function runs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_log.h"
#include "tcore.h"
#include "tcore_params.h"

struct tcore_thread {
    pthread_t tid;
    int cpu; /* real CPU number, or -1 */
    tcore_thread_fn fn;
    void *arg;
    char name[TCORE_THREAD_NAME_MAX + 1];
};

static int allowed_cpus(cpu_set_t *set)
{
    CPU_ZERO(set);
    if (sched_getaffinity(0, sizeof(*set), set) < 0)
        return -errno; /* EINVAL on a machine with more than CPU_SETSIZE (1024) CPUs */
    return 0;
}

int tcore_cpu_count(void)
{
    cpu_set_t set;
    if (allowed_cpus(&set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int tcore_current_cpu(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? -errno : cpu;
}

/* "0-1,4,6-7": the CPUs in set, for messages. */
static const char *cpu_list(const cpu_set_t *set, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && len < cap; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int end = c;
        while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
            end++;
        int n = end > c ? snprintf(buf + len, cap - len, "%s%d-%d", len ? "," : "", c, end)
                        : snprintf(buf + len, cap - len, "%s%d", len ? "," : "", c);
        len += n > 0 ? (size_t)n : 0;
        c = end;
    }
    return buf;
}

/*
 * Map CPU index `index` (>= 0) into the caller's affinity mask; *cpu gets the real CPU.
 * Warns once, naming `who`, if the index had to wrap.
 */
static int resolve_cpu(int index, const char *who, int *cpu)
{
    cpu_set_t set;
    int rc = allowed_cpus(&set);
    if (rc < 0)
        return rc;
    int count = CPU_COUNT(&set);
    if (count == 0)
        return -ENODEV;
    int want = index % count;
    if (index >= count) {
        char list[128];
        kc_log_warn("tcore: %s asked for CPU index %d, but this process may use %d CPU%s "
                    "(%s): wrapping round to index %d (%d mod %d)",
                    who, index, count, count == 1 ? "" : "s",
                    cpu_list(&set, list, sizeof(list)), want, index, count);
    }
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set) && want-- == 0) {
            *cpu = c;
            return 0;
        }
    }
    return -ENODEV; /* unreachable: count bits were set */
}

static void *thread_main(void *p)
{
    struct tcore_thread *t = p;
    int err = pthread_setname_np(pthread_self(), t->name);
    if (err) /* cosmetic: the thread works unnamed */
        kc_log_warn("tcore: naming thread '%s' failed: %s", t->name, strerror(err));
    return t->fn(t->arg);
}

/* pthread attributes for a thread pinned to cpu (or unpinned for cpu < 0). */
static int thread_attr(pthread_attr_t *attr, int cpu)
{
    int err = pthread_attr_init(attr);
    if (err)
        return -err;
    if (cpu < 0)
        return 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    err = pthread_attr_setaffinity_np(attr, sizeof(one), &one);
    if (err) {
        (void)pthread_attr_destroy(attr); /* cannot fail on glibc */
        return -err;
    }
    return 0;
}

int tcore_thread_start(struct tcore_thread **out, const char *name, int cpu,
                       tcore_thread_fn fn, void *arg)
{
    if (!name || !fn || name[0] == '\0' || strlen(name) > TCORE_THREAD_NAME_MAX)
        return -EINVAL;
    struct tcore_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    memcpy(t->name, name, strlen(name) + 1);
    t->fn = fn;
    t->arg = arg;
    t->cpu = -1;

    char who[64];
    (void)snprintf(who, sizeof(who), "thread '%s'", name); /* fits: name <= 15 chars */
    int rc = cpu < 0 ? 0 : resolve_cpu(cpu, who, &t->cpu);
    pthread_attr_t attr;
    if (rc == 0)
        rc = thread_attr(&attr, t->cpu);
    if (rc < 0)
        goto fail;
    rc = -pthread_create(&t->tid, &attr, thread_main, t);
    (void)pthread_attr_destroy(&attr);
    if (rc < 0)
        goto fail;
    *out = t;
    return 0;

fail:
    free(t);
    return rc;
}

int tcore_thread_join(struct tcore_thread *t, void **ret)
{
    void *value;
    int err = pthread_join(t->tid, &value);
    if (err)
        return -err; /* t is not freed: the thread was not joined */
    if (ret)
        *ret = value;
    free(t);
    return 0;
}

int tcore_thread_cpu(const struct tcore_thread *t)
{
    return t->cpu;
}

int tcore_pin_self(int cpu, int *pinned)
{
    if (cpu < 0)
        return -EINVAL;
    int real;
    int rc = resolve_cpu(cpu, "the calling thread", &real);
    if (rc < 0)
        return rc;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(real, &one);
    int err = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    if (err)
        return -err;
    if (pinned)
        *pinned = real;
    return 0;
}

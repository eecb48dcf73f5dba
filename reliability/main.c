/*
 * kafka_crashloop - kill -9 the broker at random moments, restart it, and prove that what
 * was acknowledged is still there (see include/rel_crash.h).
 *
 *   kafka_crashloop [--cycles N] [--seed S] [--acks all|1] [--no-powercut]
 *                   [--producers P] [--partitions N] [--records R] [--keep DIR]
 *
 * The broker and the shim are found beside this program (build/bin/kafka_broker,
 * build/lib/libkc_fault.so). Exit status 0 when every check held, 1 otherwise, 2 usage.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "rel_crash.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: kafka_crashloop [--cycles N] [--seed S] [--acks all|1] [--no-powercut]\n"
            "                       [--producers P] [--partitions N] [--records R] [--keep DIR]\n");
    return 2;
}

static int parse(int argc, char **argv, struct rel_crash_opts *o, const char **keep)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = v ? strtoll(v, NULL, 10) : 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        if (!strcmp(a, "--no-powercut")) {
            o->powercut = false;
            continue;
        }
        if (!v)
            return -EINVAL;
        i++;
        if (!strcmp(a, "--cycles"))
            o->cycles = (int)n;
        else if (!strcmp(a, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--acks"))
            o->acks = !strcmp(v, "all") || !strcmp(v, "-1") ? -1 : (int)n;
        else if (!strcmp(a, "--producers"))
            o->producers = (int)n;
        else if (!strcmp(a, "--partitions"))
            o->partitions = (int)n;
        else if (!strcmp(a, "--records"))
            o->records_per_cycle = (int)n;
        else if (!strcmp(a, "--keep"))
            *keep = v;
        else
            return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct rel_crash_opts o;
    struct rel_crash_result r;
    char self[PATH_MAX], bindir[PATH_MAX], shim[PATH_MAX + 32], dir[PATH_MAX];
    const char *keep = NULL;
    rel_crash_opts_default(&o);
    o.powercut = true;
    o.seed = (uint64_t)kc_wall_ms();
    int prc = parse(argc, argv, &o, &keep);
    if (prc != 0)
        return prc == 1 ? (usage(), 0) : usage();
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    strlcpy(bindir, dirname(self), sizeof(bindir));
    snprintf(shim, sizeof(shim), "%s/../lib/libkc_fault.so", bindir);
    if (keep) {
        strlcpy(dir, keep, sizeof(dir));
        if (kc_mkdir_p(dir, 0755) != 0)
            return 1;
    } else if (kc_mkdtemp("kafka-crashloop", dir, sizeof(dir)) != 0) {
        return 1;
    }
    o.bin_dir = bindir;
    o.shim = shim;
    o.dir = dir;
    o.out = stdout;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = rel_crash_run(&o, &r);
    printf("\n");
    rel_crash_print(stdout, &o, &r);
    if (!keep && rc == 0)
        (void)kc_rm_rf(dir); /* a failed run keeps its data and broker.out for a post-mortem */
    else
        printf("data and broker log kept in %s\n", dir);
    return rc == 0 ? 0 : 1;
}

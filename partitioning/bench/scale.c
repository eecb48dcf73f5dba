/*
 * scale.c - a hundred thousand partitions on one broker: what each costs, idle and busy.
 *
 *   scale [--partitions N[,N...]] [--runs R] [--busy M] [--spread-mb MB] [--quick]
 *
 * For each N (default 1,000, 10,000 and 100,000), R times (default 3), in a fresh data
 * directory, through partitioning's registry (the broker's own storage calls):
 *
 *   create     N partitions as topics of 1,000 (one topic when N <= 1,000): wall time
 *   idle       what an open registry holds per partition, every partition idle (none
 *              opened): descriptors, mappings, RSS and heap, measured in a fresh process
 *   restart    a clean restart: part_registry_open's time
 *   busy       one 1 KiB batch appended to M partitions (default 10,000, at most N)
 *   shutdown   part_registry_close with those M open and unflushed: wall time
 *   kill -9    a child opens the registry, appends a batch to M partitions and kills itself
 *              (SIGKILL: no close, no flush); the parent reopens: the open's time, and how
 *              long until the store's background sweep knows every log's end again
 *
 * and once: appends of 1 KiB batches round-robin over a topic of 10,000 partitions against
 * the same bytes appended to a topic of one partition (after a first pass that opened
 * every partition, timed apart), MB/s and the ratio (the goal: >= 0.5).
 *
 * Every figure is the median of the runs, with the spread. The machine is shared: the
 * load average is printed beside them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "part.h"

#define MAX_RUNS  9
#define MAX_SIZES 4
#define TOPIC_MAX 1000 /* partitions per topic when creating N */

struct opts {
    int64_t sizes[MAX_SIZES];
    int nsizes;
    int runs;
    int64_t busy;
    int64_t spread_mb;
};

/* ---- the process's own resources ------------------------------------------------------ */

static int64_t rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static int count_fds(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "/proc/%d/fd", (int)getpid());
    int n = 0;
    DIR *d = opendir(cmd);
    for (struct dirent *de; d && (de = readdir(d)) != NULL;)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the directory stream itself */
}

/* The broker takes the hard limit on descriptors; so do we. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* keep the lower limit if refused */
    }
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "scale: %s: %s\n", what, kc_strerror(rc));
    exit(1);
}

/* ---- the registry --------------------------------------------------------------------- */

static struct part_registry *open_reg(const char *dir)
{
    struct part_config cfg;
    part_config_init(&cfg);
    cfg.log.flush_interval_ms = -1; /* no background fsyncs in these measurements */
    struct part_registry *reg;
    int rc = part_registry_open(&reg, dir, &cfg);
    if (rc)
        die("part_registry_open", rc);
    return reg;
}

static void create_all(struct part_registry *reg, int64_t n)
{
    char name[32];
    for (int64_t made = 0, t = 0; made < n; t++) {
        int32_t p = (int32_t)(n - made < TOPIC_MAX ? n - made : TOPIC_MAX);
        snprintf(name, sizeof(name), "t%" PRId64, t);
        int rc = part_topic_create(reg, name, p, NULL);
        if (rc)
            die("part_topic_create", rc);
        made += p;
    }
}

/* One batch of one record, ~1 KiB in all (rewritten in place by every append). */
static uint8_t *one_kib_batch(size_t *len)
{
    static char value[1024 - KC_BATCH_HEADER_SIZE - 8];
    memset(value, 'v', sizeof(value));
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    if (kc_batch_builder_add(&b, kc_wall_ms(), NULL, -1, value, sizeof(value), NULL, 0) != 0)
        die("batch", -EINVAL);
    uint8_t *p;
    if (kc_batch_builder_finish(&b, &p, len) != 0)
        die("batch", -EINVAL);
    uint8_t *copy = malloc(*len);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

/* Append a batch to the first m partitions, in topic order. */
static void touch(struct part_registry *reg, int64_t m)
{
    size_t len;
    uint8_t *batch = one_kib_batch(&len);
    size_t nt = part_topic_list(reg, NULL, 0);
    struct part_topic **ts = calloc(nt ? nt : 1, sizeof(*ts));
    nt = part_topic_list(reg, ts, nt);
    for (size_t i = 0; i < nt && m > 0; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]) && m > 0; p++, m--) {
            int64_t base;
            int rc = alog_append(part_topic_log(ts[i], p), batch, len, &base);
            if (rc)
                die("alog_append", rc);
        }
    }
    free(ts);
    free(batch);
}

/* ---- one run at one size ------------------------------------------------------------- */

enum fig { F_CREATE, F_RESTART, F_RSS, F_HEAP, F_FDS, F_MAPS, F_SHUTDOWN, F_KILL_OPEN,
           F_SWEEP, NFIG };
static const char *const fig_names[NFIG] = {
    "create (s)",           "clean restart (s)",   "RSS per idle partition (B)",
    "heap per idle part. (B)", "fds per idle part.", "maps per idle part.",
    "clean shutdown, busy (s)", "kill -9 restart (s)", "kill -9: ends known (s)"};

static double seconds_since(int64_t t0)
{
    return (double)(kc_mono_ns() - t0) / 1e9;
}

static void kill9_child(const char *dir, int64_t busy)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct part_registry *reg = open_reg(dir);
        touch(reg, busy);
        /* Durable, as acks=all would have made them (one syncfs for all): the restart must
         * find these records; then more, never fsynced, past them. */
        if (alog_store_sync(part_registry_store(reg)) != 0)
            _exit(2);
        touch(reg, busy);
        raise(SIGKILL); /* no close, no flush: what a crash leaves */
        _exit(1);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st))
        die("the kill -9 child", -ECHILD);
}

/*
 * What an open registry holds per idle partition, measured in a fresh process (this one
 * has freed heap that a new registry would reuse, hiding its cost): the child execs this
 * program with --idle-child, opens the registry, and reports the growth of its RSS, heap
 * (mallinfo2), descriptors and mappings.
 */
static void idle_child(const char *dir)
{
    struct mallinfo2 m0 = mallinfo2();
    int64_t rss0 = rss_bytes();
    int fds0 = count_fds(), maps0 = count_lines("/proc/self/maps");
    struct part_registry *reg = open_reg(dir);
    struct mallinfo2 m1 = mallinfo2();
    printf("%lld %lld %d %d\n", (long long)(rss_bytes() - rss0),
           (long long)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd),
           count_fds() - fds0, count_lines("/proc/self/maps") - maps0);
    fflush(stdout);
    _exit(part_registry_close(reg) == 0 ? 0 : 1);
}

static void idle_costs(const char *dir, int64_t n, double *f)
{
    char cmd[512];
    long long rss = 0, heap = 0;
    int fds = 0, maps = 0;
    snprintf(cmd, sizeof(cmd), "/proc/%d/exe --idle-child %s", (int)getpid(), dir);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%lld %lld %d %d", &rss, &heap, &fds, &maps) != 4)
        die("the idle-cost child", -EIO);
    if (pclose(p) != 0)
        die("the idle-cost child's close", -EIO);
    f[F_RSS] = (double)rss / (double)n;
    f[F_HEAP] = (double)heap / (double)n;
    f[F_FDS] = (double)fds / (double)n;
    f[F_MAPS] = (double)maps / (double)n;
}

static void one_run(const char *dir, int64_t n, int64_t busy, double *f)
{
    struct part_registry *reg = open_reg(dir);
    int64_t t0 = kc_mono_ns();
    create_all(reg, n);
    f[F_CREATE] = seconds_since(t0);
    if (part_registry_close(reg))
        die("close", -EIO);

    idle_costs(dir, n, f);
    t0 = kc_mono_ns();
    reg = open_reg(dir);
    f[F_RESTART] = seconds_since(t0);
    touch(reg, busy);
    t0 = kc_mono_ns();
    if (part_registry_close(reg))
        die("close", -EIO);
    f[F_SHUTDOWN] = seconds_since(t0);

    kill9_child(dir, busy);
    t0 = kc_mono_ns();
    reg = open_reg(dir);
    f[F_KILL_OPEN] = seconds_since(t0);
    struct alog_store_info si;
    do {
        alog_store_info(part_registry_store(reg), &si);
        if (si.unknown_logs)
            kc_sleep_ms(1);
    } while (si.unknown_logs > 0);
    f[F_SWEEP] = seconds_since(t0);
    if (part_registry_close(reg))
        die("close", -EIO);
}

static void print_fig(const char *name, double *v, int n, double scale, const char *unit)
{
    double lo = kc_min(v, (size_t)n) * scale, hi = kc_max(v, (size_t)n) * scale;
    double med = kc_median(v, (size_t)n) * scale;
    printf("  %-28s %12.3f %s  (runs %.3f .. %.3f)\n", name, med, unit, lo, hi);
}

static void size_runs(const struct opts *o, int64_t n)
{
    double f[NFIG][MAX_RUNS];
    int64_t busy = o->busy < n ? o->busy : n;
    for (int r = 0; r < o->runs; r++) {
        char dir[256];
        if (kc_mkdtemp("kc-scale-", dir, sizeof(dir)))
            die("mkdtemp", -errno);
        double one[NFIG];
        one_run(dir, n, busy, one);
        for (int i = 0; i < NFIG; i++)
            f[i][r] = one[i];
        (void)kc_rm_rf(dir); /* the next run starts from nothing */
    }
    printf("\n%" PRId64 " partitions (%" PRId64 " busy), median of %d runs:\n", n, busy, o->runs);
    for (int i = 0; i < NFIG; i++)
        print_fig(fig_names[i], f[i], o->runs, 1, "");
}

/* ---- appends spread over 10,000 partitions vs one ------------------------------------ */

static double append_mbps(struct part_topic *t, int64_t bytes, bool first_pass_only)
{
    size_t len;
    uint8_t *batch = one_kib_batch(&len);
    int32_t parts = part_topic_partitions(t);
    int64_t n = first_pass_only ? parts : bytes / (int64_t)len, t0 = kc_mono_ns();
    for (int64_t i = 0; i < n; i++) {
        int64_t base;
        int rc = alog_append(part_topic_log(t, (int32_t)(i % parts)), batch, len, &base);
        if (rc)
            die("alog_append", rc);
    }
    double s = seconds_since(t0);
    free(batch);
    return (double)n * (double)len / s / 1e6;
}

static void spread_runs(const struct opts *o)
{
    double spread[MAX_RUNS], one[MAX_RUNS], first[MAX_RUNS], ratio[MAX_RUNS],
        evictions[MAX_RUNS];
    int64_t bytes = o->spread_mb << 20;
    for (int r = 0; r < o->runs; r++) {
        char a[256], b[256];
        if (kc_mkdtemp("kc-spread-", a, sizeof(a)) || kc_mkdtemp("kc-one-", b, sizeof(b)))
            die("mkdtemp", -errno);
        struct part_registry *reg = open_reg(a);
        struct part_topic *t;
        if (part_topic_create(reg, "spread", 10000, &t))
            die("create", -EIO);
        first[r] = append_mbps(t, bytes, true); /* every partition opened once */
        struct alog_store_info si0, si1;
        alog_store_info(part_registry_store(reg), &si0);
        spread[r] = append_mbps(t, bytes, false);
        alog_store_info(part_registry_store(reg), &si1);
        evictions[r] = (double)(si1.evictions - si0.evictions);
        (void)part_registry_close(reg);
        reg = open_reg(b);
        if (part_topic_create(reg, "one", 1, &t))
            die("create", -EIO);
        one[r] = append_mbps(t, bytes, false);
        (void)part_registry_close(reg);
        ratio[r] = spread[r] / one[r];
        (void)kc_rm_rf(a);
        (void)kc_rm_rf(b);
    }
    printf("\nappends of 1 KiB batches, %" PRId64 " MiB, median of %d runs:\n", o->spread_mb,
           o->runs);
    print_fig("first pass (opens 10k)", first, o->runs, 1, "MB/s");
    print_fig("round-robin over 10k", spread, o->runs, 1, "MB/s");
    print_fig("all to one partition", one, o->runs, 1, "MB/s");
    print_fig("ratio 10k / one", ratio, o->runs, 1, "x  (goal >= 0.5)");
    print_fig("logs closed by the cache", evictions, o->runs, 1, "during the round-robin");
}

/* ---- options ---------------------------------------------------------------------------- */

static void parse_sizes(struct opts *o, char *list)
{
    o->nsizes = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && o->nsizes < MAX_SIZES;
         tok = strtok_r(NULL, ",", &save)) {
        if (kc_parse_i64(tok, 1, PART_MAX_PARTITIONS, &o->sizes[o->nsizes++]))
            die("--partitions", -EINVAL);
    }
}

static void parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {{"partitions", 1, NULL, 'p'}, {"runs", 1, NULL, 'r'},
                                           {"busy", 1, NULL, 'b'},       {"spread-mb", 1, NULL, 's'},
                                           {"quick", 0, NULL, 'q'},      {NULL, 0, NULL, 0}};
    *o = (struct opts){.sizes = {1000, 10000, 100000}, .nsizes = 3, .runs = 3, .busy = 10000,
                       .spread_mb = 256};
    if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0)
        *o = (struct opts){.sizes = {1000, 10000}, .nsizes = 2, .runs = 3, .busy = 2000,
                           .spread_mb = 64};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int64_t v = 0;
        if (c == 'p')
            parse_sizes(o, optarg);
        else if (c == 'q')
            *o = (struct opts){.sizes = {1000, 10000}, .nsizes = 2, .runs = 3, .busy = 2000,
                               .spread_mb = 64};
        else if (!optarg || kc_parse_i64(optarg, 1, 1 << 20, &v))
            die("usage: scale [--partitions N,N] [--runs R] [--busy M] [--spread-mb MB] [--quick]",
                -EINVAL);
        else if (c == 'r')
            o->runs = (int)(v < MAX_RUNS ? v : MAX_RUNS);
        else if (c == 'b')
            o->busy = v;
        else
            o->spread_mb = v;
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--idle-child") == 0) {
        kc_log_set_level(KC_LOG_WARN);
        raise_nofile();
        idle_child(argv[2]);
    }
    struct opts o;
    parse(argc, argv, &o);
    raise_nofile();
    kc_log_set_level(getenv("SCALE_DEBUG") ? KC_LOG_DEBUG : KC_LOG_WARN);
    struct rlimit rl;
    (void)getrlimit(RLIMIT_NOFILE, &rl);
    double load[3] = {0, 0, 0};
    (void)getloadavg(load, 3);
    printf("== storage at scale (partitioning/bench/scale.c): ulimit -n %llu, load %.2f %.2f %.2f\n",
           (unsigned long long)rl.rlim_cur, load[0], load[1], load[2]);
    for (int i = 0; i < o.nsizes; i++)
        size_runs(&o, o.sizes[i]);
    spread_runs(&o);
    (void)getloadavg(load, 3);
    printf("\nload after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}

/*
 * native_rtt.c - bench_native rtt: the single-record round trip beside the raw ping-pong,
 * with both servers placed alike (see native.h, bench.h "placement").
 *
 * The broker's network loops are pinned, one per CPU, and a round trip costs ~5 us when
 * the client shares the serving loop's CPU and ~50 us or more when it does not (waking an
 * idle vCPU). So both sides are measured in both placements: the echo child pinned to the
 * CPU of the broker loop that serves our connection, and this client pinned to that CPU
 * ("same") or to another ("cross"). broker-same is compared with echo-same, broker-cross
 * with echo-cross.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_err.h"
#include "kc_stats.h"
#include "kc_time.h"
#include "native.h"

#define RTT_CHUNKS 10
#define RTT_PROBE  1000 /* round trips to find the serving loop */
#define RTT_CPUS   64

enum { RTT_SAME, RTT_CROSS, RTT_PLACES };
static const char *const rtt_place[RTT_PLACES] = { "same", "cross" };

/* The sizes of one produce request and of its answer, as the wire carries them. */
static void produce_frame_sizes(const struct native_ctx *c, size_t *req, size_t *resp)
{
    struct np_produce_resp pr = { 0, 0 };
    struct kc_writer w;

    kc_writer_init(&w, 0);
    np_encode_produce(&w, 1, &c->one);
    *req = kc_writer_len(&w);
    kc_writer_reset(&w);
    np_encode_produce_resp(&w, 1, &pr);
    *resp = kc_writer_len(&w);
    kc_writer_fini(&w);
}

/* Both sides of the comparison: a pipe to the broker and one to the echo child. */
struct rtt_pair {
    struct native_ctx c;
    struct bench_echo e;
    struct bench_pipe broker;
    struct bench_pipe echo;
    struct bench_result r[2][RTT_PLACES]; /* [0] the broker, [1] the echo */
    char names[2][RTT_PLACES][64];
    uint8_t *payload;       /* the echo's request bytes (owned) */
    pid_t echo_pid;
    int cpu[RTT_PLACES];    /* this client's CPU: the serving loop's, then another */
    int nplaces;            /* 1 when this process may use one CPU only */
    char how[160];          /* how the serving loop was found (the PLACEMENT line) */
};

static int rtt_pair_open(struct rtt_pair *rp, const struct native_opts *o, const uint8_t *value)
{
    native__ctx_init(&rp->c, o, NULL, 0, value);
    produce_frame_sizes(&rp->c, &rp->e.req, &rp->e.resp);
    rp->payload = calloc(1, rp->e.req);
    rp->e.payload = rp->payload;
    rp->broker = (struct bench_pipe){ .fd = -1, .window = 1, .ops = &native__ops, .ctx = &rp->c };
    rp->echo = (struct bench_pipe){ .fd = -1, .window = 1, .ops = &bench_echo_ops, .ctx = &rp->e };
    rp->echo_pid = -1;
    for (int s = 0; s < 2; s++) {
        for (int k = 0; k < RTT_PLACES; k++) {
            snprintf(rp->names[s][k], sizeof(rp->names[s][k]), "%s_%s",
                     s == 0 ? o->name : "tcp_pingpong", rtt_place[k]);
            rp->r[s][k] = (struct bench_result){ .bench = rp->names[s][k],
                                                 .records = o->count, .nlat = (size_t)o->count };
            rp->r[s][k].lat_ns = calloc((size_t)o->count, sizeof(int64_t));
            if (rp->r[s][k].lat_ns == NULL)
                return -ENOMEM;
        }
    }
    if (rp->payload == NULL)
        return -ENOMEM;
    return bench_connect(o->port, &rp->broker.fd);
}

/* The echo child, pinned to the serving loop's CPU, and our connection to it. */
static int rtt_echo_open(struct rtt_pair *rp)
{
    int port;
    int err = bench_echo_spawn(rp->e.req, rp->e.resp, rp->cpu[RTT_SAME], &rp->echo_pid, &port);

    return err != 0 ? err : bench_connect(port, &rp->echo.fd);
}

static int rtt_pair_close(struct rtt_pair *rp)
{
    int err = 0;

    if (rp->broker.fd >= 0)
        (void)close(rp->broker.fd); /* end of run */
    if (rp->echo.fd >= 0)
        (void)close(rp->echo.fd); /* the echo child exits when we hang up */
    else if (rp->echo_pid > 0)
        (void)kill(rp->echo_pid, SIGKILL); /* it waits in accept() for nobody */
    if (rp->echo_pid > 0)
        err = bench_child_reap(rp->echo_pid);
    free(rp->payload);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < RTT_PLACES; k++)
            free(rp->r[s][k].lat_ns);
    return err;
}

/* n round trips on p, timed into r (from its lat_ns[done]; r NULL: not timed). */
static int rtt_chunk(struct bench_pipe *p, struct bench_result *r, int64_t done, int64_t n)
{
    int64_t start = kc_mono_ns();
    int err;

    p->total = n;
    p->lat_ns = r != NULL ? r->lat_ns + done : NULL;
    err = bench_pipe_run(p);
    if (r != NULL)
        r->elapsed_ns += kc_mono_ns() - start;
    return err;
}

static int rtt_probe_work(void *arg)
{
    return rtt_chunk(arg, NULL, 0, RTT_PROBE);
}

/* Which broker loop served RTT_PROBE requests: the thread scheduled once per request. */
static int rtt_find_by_threads(struct rtt_pair *rp, pid_t pid, int *cpu)
{
    struct bench_thread who;
    int err = bench_serving_cpu(pid, NATIVE_LOOP_THREAD, RTT_PROBE, rtt_probe_work,
                                &rp->broker, &who);

    if (err != 0)
        return err;
    snprintf(rp->how, sizeof(rp->how), "thread=%s scheduled=%lld/%d", who.name,
             (long long)who.scheduled, RTT_PROBE);
    *cpu = who.cpu;
    return 0;
}

/* The round trip's p50 with this client on each allowed CPU (appended to rp->how), and
 * the CPU where it was lowest. */
static int rtt_probe_latency(struct rtt_pair *rp, const int *cpus, int ncpus, int *best)
{
    struct bench_result r = { .nlat = RTT_PROBE };
    double p50, low = 0;
    size_t len = strlen(rp->how);
    int err = 0;

    r.lat_ns = calloc(RTT_PROBE, sizeof(int64_t));
    if (r.lat_ns == NULL)
        return -ENOMEM;
    snprintf(rp->how + len, sizeof(rp->how) - len, "%sprobe_p50_us=", len > 0 ? " " : "");
    for (int i = 0; err == 0 && i < ncpus; i++) {
        err = bench_pin_cpu(cpus[i]);
        if (err == 0)
            err = rtt_chunk(&rp->broker, &r, 0, RTT_PROBE);
        if (err != 0)
            break;
        p50 = (double)kc_percentile_i64(r.lat_ns, RTT_PROBE, 50) / 1e3;
        if (i == 0 || p50 < low) {
            low = p50;
            *best = cpus[i];
        }
        len = strlen(rp->how); /* snprintf truncates: the line just ends early */
        snprintf(rp->how + len, sizeof(rp->how) - len, "%scpu%d:%.1f", i ? "," : "", cpus[i],
                 p50);
    }
    free(r.lat_ns);
    return err;
}

/* Find the serving loop's CPU (by its thread with --broker-pid, else by latency), and
 * the other CPU this client uses for the cross placement. */
static int rtt_place_client(struct rtt_pair *rp, const struct native_opts *o)
{
    int cpus[RTT_CPUS], by_latency = -1, by_thread = -1;
    int ncpus = bench_cpus_allowed(cpus, RTT_CPUS);
    int err = ncpus < 0 ? ncpus : 0;

    if (err == 0 && o->broker_pid > 0 &&
        (err = rtt_find_by_threads(rp, (pid_t)o->broker_pid, &by_thread)) != 0) {
        fprintf(stderr, "bench_native rtt: the broker's serving thread: %s; placing by "
                        "latency\n", native__placement_why(err));
        err = 0; /* the latency probe below decides alone (method=latency) */
    }
    if (err == 0)
        err = rtt_probe_latency(rp, cpus, ncpus, &by_latency);
    if (err != 0)
        return err;
    rp->cpu[RTT_SAME] = by_thread >= 0 ? by_thread : by_latency;
    rp->nplaces = 1;
    for (int i = 0; i < ncpus && rp->nplaces == 1; i++) {
        if (cpus[i] != rp->cpu[RTT_SAME]) {
            rp->cpu[RTT_CROSS] = cpus[i];
            rp->nplaces = 2;
        }
    }
    printf("PLACEMENT bench=%s server_cpu=%d cross_cpu=%d method=%s %s\n", o->name,
           rp->cpu[RTT_SAME], rp->nplaces > 1 ? rp->cpu[RTT_CROSS] : -1,
           by_thread >= 0 ? "thread" : "latency", rp->how);
    if (by_thread >= 0 && by_thread != by_latency)
        fprintf(stderr, "bench_native rtt: the broker's loop runs on CPU %d, but round trips "
                        "were fastest from CPU %d\n", by_thread, by_latency);
    return 0;
}

/*
 * In each of RTT_CHUNKS rounds, for each placement: count/RTT_CHUNKS round trips to the
 * broker, then as many to the echo, from this one process, so a shared machine's quiet
 * and busy moments fall on all four series alike.
 */
static int rtt_measure(struct rtt_pair *rp, const struct native_opts *o)
{
    int64_t done = 0;
    int err = 0;

    for (int k = 0; err == 0 && k < RTT_CHUNKS; k++) {
        int64_t n = (o->count - done) / (RTT_CHUNKS - k);

        for (int pl = 0; err == 0 && pl < rp->nplaces; pl++) {
            err = bench_pin_cpu(rp->cpu[pl]);
            if (err == 0)
                err = rtt_chunk(&rp->broker, &rp->r[0][pl], done, n);
            if (err == 0)
                err = rtt_chunk(&rp->echo, &rp->r[1][pl], done, n);
        }
        done += n;
    }
    return err;
}

int native__run_rtt(const struct native_opts *o, const uint8_t *value)
{
    struct rtt_pair rp = { 0 };
    int err = rtt_pair_open(&rp, o, value);

    if (err == 0 && o->warmup > 0)
        err = rtt_chunk(&rp.broker, NULL, 0, o->warmup);
    if (err == 0)
        err = rtt_place_client(&rp, o);
    if (err == 0)
        err = rtt_echo_open(&rp);
    if (err == 0 && o->warmup > 0)
        err = rtt_chunk(&rp.echo, NULL, 0, o->warmup);
    if (err == 0)
        err = rtt_measure(&rp, o);
    for (int s = 0; err == 0 && s < 2; s++) {
        for (int pl = 0; pl < rp.nplaces; pl++) {
            rp.r[s][pl].bytes = s == 0 ? o->count * o->size
                                       : o->count * (int64_t)(rp.e.req + rp.e.resp);
            bench_result_print(stdout, &rp.r[s][pl]);
        }
    }
    int cerr = rtt_pair_close(&rp);
    return err != 0 ? err : cerr;
}

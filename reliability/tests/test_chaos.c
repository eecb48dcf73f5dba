/*
 * test_chaos.c - real clients against a broker that is killed and frozen, judged by what
 * they saw: Jepsen's queue workload, on one broker (the cluster's harness adds replicas).
 *
 *   2 producers (librdkafka, idempotent, acks=all) --send/ok/fail/info--> a history file each
 *   1 producer  (kafkajs in node, idempotent, acks=all: chaos_kafkajs.js) -> its own file
 *   1 consumer  (librdkafka, every partition assigned) --seek/poll------> a history file
 *   this thread: faults at random moments - kill -9 and a restart on the same port, or
 *                SIGSTOP for up to 2.5 s (one in four: 4.5-6 s, past the producers'
 *                message timeout) and SIGCONT
 *   the end:     the producers flush; a fresh reader reads every partition whole up to its
 *                high watermark (the "drain"); kafka_histcheck's rules judge all of it
 *
 * Must hold: no acknowledged record lost, none duplicated (idempotence across restarts:
 * the producer state is recovered from the log and its snapshots), no offset with two
 * values, no poll backwards or skipping, each producer's records in the order it sent them.
 *
 * CHAOS_CYCLES (default 6) faults; the seed is printed (KC_TEST_SEED replays the faults'
 * timing; the clients' own timing is the machine's). The history files stay in the test's
 * directory when something fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_fs.h"
#include "kc_time.h"
#include "kc_test.h"
#include "rel.h"
#include "rel_history.h"

#define TOPIC      "chaos"
#define PARTS      4
#define PRODUCERS  2
#define JS_PRODUCER 3  /* the kafkajs producer's process number */
#define CONSUMER   100 /* the live consumer's process number */
#define DRAINER    200 /* the final reader's */
#define START_MS   30000

/* ---- librdkafka, loaded at run time (as broker/tests/test_0105 explains) ---------------- */

#define RDK_FUNCS(X)                                                                          \
    X(rd_kafka_conf_new) X(rd_kafka_conf_set) X(rd_kafka_conf_set_dr_msg_cb)                   \
    X(rd_kafka_conf_set_opaque) X(rd_kafka_new) X(rd_kafka_destroy) X(rd_kafka_topic_new)      \
    X(rd_kafka_topic_destroy) X(rd_kafka_produce) X(rd_kafka_poll) X(rd_kafka_flush)           \
    X(rd_kafka_last_error) X(rd_kafka_message_status) X(rd_kafka_err2name)                     \
    X(rd_kafka_poll_set_consumer) X(rd_kafka_topic_partition_list_new)                         \
    X(rd_kafka_topic_partition_list_add) X(rd_kafka_topic_partition_list_destroy)              \
    X(rd_kafka_assign) X(rd_kafka_consumer_poll) X(rd_kafka_message_destroy)                   \
    X(rd_kafka_consumer_close) X(rd_kafka_query_watermark_offsets) X(rd_kafka_seek_partitions) \
    X(rd_kafka_error_destroy) X(rd_kafka_outq_len)

static struct {
    void *lib;
#define RDK_FIELD(name) __typeof__(name) *name;
    RDK_FUNCS(RDK_FIELD)
#undef RDK_FIELD
} rdk;

static void rdk_load(void)
{
    if (rdk.lib)
        return;
    rdk.lib = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!rdk.lib)
        fail_msg("librdkafka is not installed (%s): run scripts/deps.sh test", dlerror());
#define RDK_LOAD(name)                                                                        \
    *(void **)&rdk.name = dlsym(rdk.lib, #name);                                              \
    if (!rdk.name)                                                                            \
        fail_msg("librdkafka has no %s", #name);
    RDK_FUNCS(RDK_LOAD)
#undef RDK_LOAD
}

static void conf(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[512];
    if (rdk.rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* ---- the world -------------------------------------------------------------------------- */

struct world {
    char *dir;
    char addr[64];
    int port;
    struct rel_broker b;
    atomic_bool stop;
    atomic_long faults_kill, faults_stop;
};

struct client {
    struct world *w;
    int id;
    FILE *f; /* its history */
    rd_kafka_t *rk;
    pthread_t thread;
    long sent, errors;
};

static FILE *history_file(struct world *w, int id)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/history-%d.txt", w->dir, id);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

/* ---- producers ------------------------------------------------------------------------- */

/* On the producer's own thread (inside rd_kafka_poll/flush): its history line. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct client *c = opaque;
    uint64_t value = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    if (!m->err)
        fprintf(c->f, "ok %d %d %" PRIu64 " %" PRId64 "\n", c->id, (int)m->partition, value,
                (int64_t)m->offset);
    else
        fprintf(c->f, "%s %d %d %" PRIu64 "\n",
                rdk.rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? "fail"
                                                                                  : "info",
                c->id, (int)m->partition, value);
    c->errors += m->err != 0;
}

static rd_kafka_t *make_producer(struct client *c)
{
    char err[512];
    rd_kafka_conf_t *k = rdk.rd_kafka_conf_new();
    conf(k, "bootstrap.servers", c->w->addr);
    conf(k, "enable.idempotence", "true"); /* acks=all, in order, no duplicates */
    conf(k, "linger.ms", "2");
    conf(k, "message.timeout.ms", "4000"); /* a long freeze leaves outcomes unknown */
    conf(k, "retry.backoff.ms", "50");
    conf(k, "reconnect.backoff.max.ms", "200");
    conf(k, "queue.buffering.max.messages", "2000");
    rdk.rd_kafka_conf_set_dr_msg_cb(k, on_delivery);
    rdk.rd_kafka_conf_set_opaque(k, c);
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, k, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

/* Values are unique: the producer's number above, its counter below. The send line goes
 * out once the message is queued; its outcome comes later, through on_delivery. */
static void *producer_main(void *arg)
{
    struct client *c = arg;
    rd_kafka_topic_t *t = rdk.rd_kafka_topic_new(c->rk, TOPIC, NULL);
    uint64_t seq = 0, rnd = (uint64_t)c->id * 7919;
    char payload[32];
    while (!atomic_load(&c->w->stop)) {
        int32_t k = (int32_t)(rel_rand(&rnd) % PARTS);
        uint64_t value = (uint64_t)c->id << 32 | ++seq;
        int len = snprintf(payload, sizeof(payload), "%" PRIu64, value);
        while (rdk.rd_kafka_produce(t, k, RD_KAFKA_MSG_F_COPY, payload, (size_t)len, NULL, 0,
                                    (void *)(uintptr_t)value) != 0) {
            if (rdk.rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(c->f, "# produce refused: %s\n",
                        rdk.rd_kafka_err2name(rdk.rd_kafka_last_error()));
                break;
            }
            rdk.rd_kafka_poll(c->rk, 10);
        }
        fprintf(c->f, "send %d %d %" PRIu64 "\n", c->id, (int)k, value);
        c->sent++;
        rdk.rd_kafka_poll(c->rk, 0);
        usleep(300);
    }
    rdk.rd_kafka_flush(c->rk, 30000); /* every outcome is in by then: message.timeout.ms */
    rdk.rd_kafka_topic_destroy(t);
    return NULL;
}

/* The kafkajs producer: node, its own process, its own history file; stopped by SIGTERM
 * (it finishes the send in flight and exits 0). */
static pid_t js_start(struct world *w)
{
    char kjs[PATH_MAX], node_path[PATH_MAX + 32], script[PATH_MAX], hist[600], out[600];
    const char *src = getenv("KC_SRC_DIR");
    kc_test_kafkajs_dir(kjs, sizeof(kjs));
    snprintf(node_path, sizeof(node_path), "%s/node_modules", kjs);
    snprintf(script, sizeof(script), "%s/reliability/tests/chaos_kafkajs.js",
             src && *src ? src : ".");
    snprintf(hist, sizeof(hist), "%s/history-%d.txt", w->dir, JS_PRODUCER);
    snprintf(out, sizeof(out), "%s/kafkajs.out", w->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setenv("NODE_PATH", node_path, 1))
            _exit(127);
        execlp("node", "node", script, w->addr, TOPIC, "4" /* PARTS */, "3" /* JS_PRODUCER */,
               hist, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void js_stop(struct world *w, pid_t pid)
{
    int status = 0;
    assert_int_equal(kill(pid, SIGTERM), 0);
    for (int64_t t0 = kc_mono_ms(); waitpid(pid, &status, WNOHANG) == 0; usleep(20000))
        if (kc_mono_ms() - t0 > 30000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("the kafkajs producer did not stop (see %s/kafkajs.out)", w->dir);
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the kafkajs producer failed (status %d; see %s/kafkajs.out)", status, w->dir);
    char path[600], *text = NULL, *at;
    size_t len;
    long acked = 0;
    snprintf(path, sizeof(path), "%s/kafkajs.out", w->dir);
    assert_int_equal(kc_read_file(path, 1 << 20, &text, &len), 0);
    printf("# kafkajs producer: %s", text);
    if ((at = strstr(text, "acked=")) != NULL)
        acked = strtol(at + 6, NULL, 10);
    free(text);
    assert_true(acked > 0); /* it took part */
}

/* ---- consumers -------------------------------------------------------------------------- */

static rd_kafka_t *make_consumer(struct world *w)
{
    char err[512];
    rd_kafka_conf_t *k = rdk.rd_kafka_conf_new();
    conf(k, "bootstrap.servers", w->addr);
    conf(k, "group.id", "chaos"); /* partitions are assigned, never committed */
    conf(k, "enable.auto.commit", "false");
    conf(k, "auto.offset.reset", "error"); /* a position the log lost is an event, not a jump */
    conf(k, "reconnect.backoff.max.ms", "200");
    conf(k, "fetch.wait.max.ms", "100");
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_CONSUMER, k, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    rdk.rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assign partitions [0, PARTS) at offset `at`, and say so in the history. */
static void assign_all(rd_kafka_t *rk, FILE *f, int id, int64_t at)
{
    rd_kafka_topic_partition_list_t *l = rdk.rd_kafka_topic_partition_list_new(PARTS);
    for (int32_t k = 0; k < PARTS; k++) {
        rdk.rd_kafka_topic_partition_list_add(l, TOPIC, k)->offset = at;
        fprintf(f, "seek %d %d %" PRId64 "\n", id, (int)k, at);
    }
    assert_int_equal(rdk.rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rdk.rd_kafka_topic_partition_list_destroy(l);
}

/* One message: a poll line, or for a lost position, a seek back to 0 (in the history). */
static void consumed(rd_kafka_t *rk, struct client *c, const rd_kafka_message_t *m)
{
    char text[32];
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && m->rkt) {
        rd_kafka_topic_partition_list_t *l = rdk.rd_kafka_topic_partition_list_new(1);
        rdk.rd_kafka_topic_partition_list_add(l, TOPIC, m->partition)->offset = 0;
        fprintf(c->f, "# offset reset in %d: seek to 0\nseek %d %d 0\n", (int)m->partition,
                c->id, (int)m->partition);
        rd_kafka_error_t *e = rdk.rd_kafka_seek_partitions(rk, l, 5000);
        if (e)
            rdk.rd_kafka_error_destroy(e);
        rdk.rd_kafka_topic_partition_list_destroy(l);
        c->errors++;
        return;
    }
    if (m->err) { /* transport errors while the broker is down: librdkafka retries */
        c->errors++;
        return;
    }
    size_t n = KC_MIN(m->len, sizeof(text) - 1);
    memcpy(text, m->payload, n);
    text[n] = '\0';
    fprintf(c->f, "poll %d %d %" PRId64 " %s\n", c->id, (int)m->partition, (int64_t)m->offset,
            text);
    c->sent++; /* for a consumer: records read */
}

static void *consumer_main(void *arg)
{
    struct client *c = arg;
    assign_all(c->rk, c->f, c->id, 0);
    while (!atomic_load(&c->w->stop)) {
        rd_kafka_message_t *m = rdk.rd_kafka_consumer_poll(c->rk, 100);
        if (m) {
            consumed(c->rk, c, m);
            rdk.rd_kafka_message_destroy(m);
        }
    }
    return NULL;
}

/* The final reader: every partition from 0 up to its high watermark, then "drain". */
static void drain(struct world *w, FILE *f)
{
    struct client c = {.w = w, .id = DRAINER, .f = f};
    int64_t lo[PARTS], hi[PARTS], next[PARTS];
    rd_kafka_t *rk = make_consumer(w);
    for (int32_t k = 0; k < PARTS; k++) {
        rd_kafka_resp_err_t e =
            rdk.rd_kafka_query_watermark_offsets(rk, TOPIC, k, &lo[k], &hi[k], 10000);
        if (e)
            fail_msg("watermarks of %d: %s", k, rdk.rd_kafka_err2name(e));
        assert_int_equal(lo[k], 0); /* nothing deletes records here */
        next[k] = 0;
    }
    assign_all(rk, f, DRAINER, 0);
    int64_t deadline = kc_mono_ms() + 60000;
    for (int32_t k = 0; k < PARTS;) {
        if (next[k] >= hi[k]) {
            k++;
            continue;
        }
        if (kc_mono_ms() > deadline)
            fail_msg("the drain did not reach %" PRId64 " in partition %d (at %" PRId64 ")",
                     hi[k], k, next[k]);
        rd_kafka_message_t *m = rdk.rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        consumed(rk, &c, m);
        if (!m->err && m->partition >= 0 && m->partition < PARTS)
            next[m->partition] = m->offset + 1;
        rdk.rd_kafka_message_destroy(m);
    }
    for (int32_t k = 0; k < PARTS; k++)
        fprintf(f, "drain %d %" PRId64 "\n", (int)k, hi[k]);
    rdk.rd_kafka_consumer_close(rk);
    rdk.rd_kafka_destroy(rk);
}

/* ---- faults ---------------------------------------------------------------------------- */

static void broker_start(struct world *w)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", w->port);
    const char *args[] = {"--port", port, "--override", "num.partitions=4" /* PARTS */, NULL};
    int rc = rel_broker_start(&w->b, w->port ? args : args + 2, START_MS);
    if (rc)
        fail_msg("the broker did not start: %s (log %s)", kc_strerror(rc), w->b.log);
    w->port = w->b.port;
    snprintf(w->addr, sizeof(w->addr), "127.0.0.1:%d", w->port);
}

/* One fault at a random moment: kill -9 and restart, or a freeze. */
static void fault(struct world *w, uint64_t *rnd)
{
    usleep((useconds_t)rel_rand_range(rnd, 300, 1200) * 1000);
    if (rel_rand(rnd) % 10 < 6) {
        rel_broker_kill9(&w->b);
        atomic_fetch_add(&w->faults_kill, 1);
        broker_start(w);
        return;
    }
    /* one freeze in four outlasts the producers' message.timeout.ms: their records'
     * outcomes become unknown ("info"), and the idempotent producer must carry on */
    int64_t ms = rel_rand(rnd) % 4 ? rel_rand_range(rnd, 200, 2500) : rel_rand_range(rnd, 4500, 6000);
    assert_int_equal(kill(w->b.pid, SIGSTOP), 0);
    usleep((useconds_t)ms * 1000);
    assert_int_equal(kill(w->b.pid, SIGCONT), 0);
    atomic_fetch_add(&w->faults_stop, 1);
}

/* ---- the test --------------------------------------------------------------------------- */

static void judge(struct world *w, struct client *cl, int ncl)
{
    struct rel_hist h;
    struct rel_hist_result r;
    char err[256] = "", path[600];
    rel_hist_init(&h);
    for (int i = 0; i < ncl; i++) {
        snprintf(path, sizeof(path), "%s/history-%d.txt", w->dir, cl[i].id);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        if (rel_hist_read(&h, f, err, sizeof(err)))
            fail_msg("%s: %s", path, err);
        fclose(f);
    }
    if (rel_hist_check(&h, &r, err, sizeof(err)))
        fail_msg("the history: %s", err);
    rel_hist_fini(&h);
    rel_hist_print(&r, stdout);
    printf("# figure chaos: %ld kill -9, %ld freezes; %" PRId64 " sent, %" PRId64
           " acknowledged, %" PRId64 " indeterminate (%" PRId64 " of them written), %" PRId64
           " polled; anomalies %" PRId64 "\n",
           atomic_load(&w->faults_kill), atomic_load(&w->faults_stop), r.sends, r.acked,
           r.indeterminate, r.indeterminate_read, r.polls, rel_hist_anomalies(&r));
    if (rel_hist_anomalies(&r))
        fail_msg("anomalies (the histories are in %s)", w->dir);
    assert_true(r.acked > 100); /* the workload ran: a test that judged nothing proves nothing */
}

static void test_chaos_one_broker_faults_no_anomaly(void **state)
{
    (void)state;
    struct world w = {0};
    struct client cl[PRODUCERS + 3];
    uint64_t rnd = kc_test_seed();
    const char *env = getenv("CHAOS_CYCLES");
    int cycles = env ? atoi(env) : 6;
    rdk_load();
    w.dir = kc_test_tmpdir();
    const char *bin = getenv("KC_BIN_DIR");
    assert_int_equal(rel_broker_init(&w.b, bin && *bin ? bin : "build/bin", w.dir), 0);
    broker_start(&w);
    for (int i = 0; i < PRODUCERS + 1; i++) {
        cl[i] = (struct client){.w = &w, .id = i < PRODUCERS ? i + 1 : CONSUMER};
        cl[i].f = history_file(&w, cl[i].id);
        cl[i].rk = i < PRODUCERS ? make_producer(&cl[i]) : make_consumer(&w);
        assert_int_equal(pthread_create(&cl[i].thread, NULL,
                                        i < PRODUCERS ? producer_main : consumer_main, &cl[i]),
                         0);
    }
    pid_t js = js_start(&w);
    for (int i = 0; i < cycles; i++)
        fault(&w, &rnd);
    usleep(500 * 1000); /* a quiet moment: the last records reach the consumer */
    js_stop(&w, js);
    atomic_store(&w.stop, true);
    for (int i = 0; i < PRODUCERS + 1; i++) {
        pthread_join(cl[i].thread, NULL);
        if (cl[i].id == CONSUMER)
            rdk.rd_kafka_consumer_close(cl[i].rk);
        rdk.rd_kafka_destroy(cl[i].rk);
        fclose(cl[i].f);
    }
    cl[PRODUCERS + 1] = (struct client){.w = &w, .id = DRAINER, .f = history_file(&w, DRAINER)};
    drain(&w, cl[PRODUCERS + 1].f);
    fclose(cl[PRODUCERS + 1].f);
    cl[PRODUCERS + 2] = (struct client){.w = &w, .id = JS_PRODUCER};
    judge(&w, cl, PRODUCERS + 3);
    assert_int_equal(rel_broker_stop(&w.b, START_MS), 0);
    kc_test_rmdir(w.dir);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    printf("# skipped under ThreadSanitizer: librdkafka's thrd_create threads are invisible "
           "to it (see broker/tests/test_0105)\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_one_broker_faults_no_anomaly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

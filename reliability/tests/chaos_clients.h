/*
 * chaos_clients.h - the queue workload the chaos tests share (test_chaos.c against one
 * broker, test_chaos_cluster.c against three): real clients, each writing what it did and
 * what it was told as the history checker's lines (rel_history.h).
 *
 *   2 producers (librdkafka, idempotent, acks=all) --send/ok/fail/info--> history-1, -2
 *   1 producer  (kafkajs in node, idempotent, acks=all: chaos_kafkajs.js) -> history-3
 *   1 consumer  (librdkafka, every partition assigned) --seek/poll------> history-100
 *   the end:    a fresh reader reads every partition whole, up to its high watermark,
 *               from whichever broker leads it then ("drain") ----------> history-200
 *
 *   chaos_start(c)      the three producers and the consumer, running
 *   ... the test's faults ...
 *   chaos_stop(c)       the producers flush (every outcome is in), the consumer closes
 *   chaos_drain(c)      the final reader
 *   chaos_judge(c, &r)  every history file through the checker
 *
 * The clients know nothing of faults: c->bootstrap names every broker ("h:p,h:p,..."),
 * and librdkafka and kafkajs find the leaders themselves. A header of static functions,
 * included by one test file each (tests are one binary per file).
 */
#ifndef CHAOS_CLIENTS_H
#define CHAOS_CLIENTS_H

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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_fs.h"
#include "kc_time.h"
#include "kc_test.h"
#include "rel.h"
#include "rel_history.h"

#include "chaos_errs.h"

#define CH_FN static __attribute__((unused))

#define TOPIC       "chaos"
#define PARTS       4
#define PRODUCERS   2
#define JS_PRODUCER 3   /* the kafkajs producer's process number */
#define CONSUMER    100 /* the live consumer's process number */
#define DRAINER     200 /* the final reader's */
#define NCLIENTS    (PRODUCERS + 3) /* + kafkajs, consumer, drainer: one history each */

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
    X(rd_kafka_error_destroy) X(rd_kafka_outq_len) X(rd_kafka_metadata)                        \
    X(rd_kafka_metadata_destroy) X(rd_kafka_controllerid) X(rd_kafka_conf_set_log_cb)        \
    X(rd_kafka_opaque) X(rd_kafka_get_err_descs)

static struct {
    void *lib;
#define RDK_FIELD(name) __typeof__(name) *name;
    RDK_FUNCS(RDK_FIELD)
#undef RDK_FIELD
} rdk;

CH_FN void rdk_load(void)
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

CH_FN void conf(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[512];
    if (rdk.rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* ---- the workload ------------------------------------------------------------------------ */

struct chaos;

struct client {
    struct chaos *w;
    int id;
    FILE *f; /* its history */
    rd_kafka_t *rk;
    pthread_t thread;
    long sent, errors;
    long replaced; /* producers replaced after a fatal error */
    FILE *dbg;     /* CHAOS_RDK_DEBUG: librdkafka's own log lines, or NULL */
    struct chaos_errs *ce; /* a producer's: the broker's last error per record */
};

struct chaos {
    char *dir;           /* the histories: <dir>/history-<id>.txt */
    char bootstrap[256]; /* "127.0.0.1:p[,127.0.0.1:p...]" */
    atomic_bool stop;
    struct client cl[PRODUCERS + 1]; /* the librdkafka producers, then the consumer */
    pid_t js;                        /* the kafkajs producer */
};

CH_FN FILE *history_file(struct chaos *w, int id)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/history-%d.txt", w->dir, id);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

/* ---- producers ------------------------------------------------------------------------- */

/* The name a refusal is written with: librdkafka's error; or, when that is librdkafka's own
 * (a negative code: _MSG_TIMED_OUT, _PURGE_QUEUE after a fatal error, ...) and a broker had
 * refused the record's batch before, that broker's last error - the answer that set the
 * record's persistence status (chaos_errs.h). */
CH_FN const char *refusal_name(struct client *c, const rd_kafka_message_t *m, uint64_t value)
{
    int code = m->err < 0 && c->ce ? ce_last_error(c->ce, m->partition, value) : 0;
    return rdk.rd_kafka_err2name(code ? (rd_kafka_resp_err_t)code : m->err);
}

/* On the producer's own thread (inside rd_kafka_poll/flush): its history line. A refusal
 * carries "fail" or "info" by the message's persistence status (NOT_PERSISTED: fail;
 * POSSIBLY_PERSISTED: info) and the error's name (refusal_name), so that the checker can
 * say, for a refused record found in the log, what the client was told. librdkafka
 * acknowledges without an offset (-1001) the records of a request that failed when a
 * later batch of the same producer succeeded ("implicitly acked"): written, but at no
 * offset the checker could place, they are judged as indeterminate and named so. */
CH_FN void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct client *c = opaque;
    uint64_t value = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    if (!m->err && m->offset >= 0)
        fprintf(c->f, "ok %d %d %" PRIu64 " %" PRId64 "\n", c->id, (int)m->partition, value,
                (int64_t)m->offset);
    else if (!m->err)
        fprintf(c->f, "info %d %d %" PRIu64 " IMPLICIT_ACK\n", c->id, (int)m->partition, value);
    else
        fprintf(c->f, "%s %d %d %" PRIu64 " %s\n",
                rdk.rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? "fail"
                                                                                  : "info",
                c->id, (int)m->partition, value, refusal_name(c, m, value));
    c->errors += m->err != 0;
}

/* librdkafka's log lines, from its own threads: refused batches to the error table
 * (chaos_errs.h); and with CHAOS_RDK_DEBUG (more debug contexts), every line into
 * <dir>/rdkafka-<id>.log (stdio locks each line). */
CH_FN void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct client *c = rdk.rd_kafka_opaque(rk);
    if (c && c->ce && !strcmp(fac, "MSGSET"))
        ce_log_line(c->ce, TOPIC, buf);
    if (c && c->dbg)
        fprintf(c->dbg, "%" PRId64 " %d %s %s\n", kc_mono_ms(), level, fac, buf);
}

CH_FN void debug_log(struct client *c, rd_kafka_conf_t *k)
{
    const char *d = getenv("CHAOS_RDK_DEBUG");
    char path[600], contexts[200];
    if (!c->f)
        return; /* a producer that writes no history (the cluster's observer) */
    if (!c->ce) {
        const struct rd_kafka_err_desc *descs;
        size_t n;
        rdk.rd_kafka_get_err_descs(&descs, &n);
        assert_non_null(c->ce = malloc(sizeof(*c->ce)));
        ce_init(c->ce, descs, n);
    }
    if (d && *d && !c->dbg) {
        snprintf(path, sizeof(path), "%s/rdkafka-%d.log", c->w->dir, c->id);
        assert_non_null(c->dbg = fopen(path, "a"));
    }
    snprintf(contexts, sizeof(contexts), "msg%s%s", d && *d ? "," : "", d && *d ? d : "");
    conf(k, "debug", contexts); /* "msg": a line per refused batch, naming its records */
    rdk.rd_kafka_conf_set_log_cb(k, on_log);
}

CH_FN rd_kafka_t *make_producer(struct client *c)
{
    char err[512];
    rd_kafka_conf_t *k = rdk.rd_kafka_conf_new();
    conf(k, "bootstrap.servers", c->w->bootstrap);
    conf(k, "enable.idempotence", "true"); /* acks=all, in order, no duplicates */
    conf(k, "linger.ms", "2");
    conf(k, "message.timeout.ms", "4000"); /* a long freeze leaves outcomes unknown */
    conf(k, "retry.backoff.ms", "50");
    conf(k, "reconnect.backoff.max.ms", "200");
    conf(k, "topic.metadata.refresh.interval.ms", "1000"); /* find new leaders soon */
    conf(k, "queue.buffering.max.messages", "2000");
    conf(k, "log_level", "2"); /* brokers going away is the point: no line for each */
    debug_log(c, k);
    rdk.rd_kafka_conf_set_dr_msg_cb(k, on_delivery);
    rdk.rd_kafka_conf_set_opaque(k, c);
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, k, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

/* librdkafka's idempotent producer stops for good after a fatal error (a sequence the
 * broker cannot place): its queued records fail, and an application makes a new one (a
 * new producer id), as the kafkajs producer does. */
CH_FN void producer_replace(struct client *c, rd_kafka_topic_t **t)
{
    fprintf(c->f, "# fatal error in the idempotent producer: a new one\n");
    rdk.rd_kafka_flush(c->rk, 10000); /* every queued record's outcome is in */
    rdk.rd_kafka_topic_destroy(*t);
    rdk.rd_kafka_destroy(c->rk);
    ce_reset(c->ce); /* the new instance numbers its records from 1 */
    c->rk = make_producer(c);
    *t = rdk.rd_kafka_topic_new(c->rk, TOPIC, NULL);
    c->replaced++;
}

/* Values are unique: the producer's number above, its counter below. The send line goes
 * out once the message is queued; its outcome comes later, through on_delivery. A record
 * the client refuses at once is sent and failed. */
CH_FN void *producer_main(void *arg)
{
    struct client *c = arg;
    rd_kafka_topic_t *t = rdk.rd_kafka_topic_new(c->rk, TOPIC, NULL);
    uint64_t seq = 0, rnd = (uint64_t)c->id * 7919;
    char payload[32];
    while (!atomic_load(&c->w->stop)) {
        int32_t k = (int32_t)(rel_rand(&rnd) % PARTS);
        uint64_t value = (uint64_t)c->id << 32 | ++seq;
        int len = snprintf(payload, sizeof(payload), "%" PRIu64, value);
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        fprintf(c->f, "send %d %d %" PRIu64 "\n", c->id, (int)k, value);
        assert_int_equal(ce_queued(c->ce, k, value), 0); /* before a batch can be answered */
        while (rdk.rd_kafka_produce(t, k, RD_KAFKA_MSG_F_COPY, payload, (size_t)len, NULL, 0,
                                    (void *)(uintptr_t)value) != 0) {
            if ((err = rdk.rd_kafka_last_error()) != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(c->f, "fail %d %d %" PRIu64 " %s\n", c->id, (int)k, value,
                        rdk.rd_kafka_err2name(err));
                ce_unqueue(c->ce, k); /* never queued: no message id taken */
                break;
            }
            err = RD_KAFKA_RESP_ERR_NO_ERROR;
            rdk.rd_kafka_poll(c->rk, 10);
        }
        c->sent++;
        if (err == RD_KAFKA_RESP_ERR__FATAL)
            producer_replace(c, &t);
        rdk.rd_kafka_poll(c->rk, 0);
        usleep(300);
    }
    rdk.rd_kafka_flush(c->rk, 30000); /* every outcome is in by then: message.timeout.ms */
    rdk.rd_kafka_topic_destroy(t);
    return NULL;
}

/* The kafkajs producer: node, its own process, its own history file; stopped by SIGTERM
 * (it finishes the send in flight and exits 0), killed if the test dies first. */
CH_FN pid_t js_start(struct chaos *w)
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
    if (pid == 0) { /* it dies with this test, even one that fails half-way */
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            _exit(127);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setenv("NODE_PATH", node_path, 1))
            _exit(127);
        execlp("node", "node", script, w->bootstrap, TOPIC, "4" /* PARTS */,
               "3" /* JS_PRODUCER */, hist, (char *)NULL);
        _exit(127);
    }
    return pid;
}

CH_FN void js_stop(struct chaos *w, pid_t pid)
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

CH_FN rd_kafka_t *make_consumer(struct chaos *w)
{
    char err[512];
    rd_kafka_conf_t *k = rdk.rd_kafka_conf_new();
    conf(k, "bootstrap.servers", w->bootstrap);
    conf(k, "group.id", "chaos"); /* partitions are assigned, never committed */
    conf(k, "enable.auto.commit", "false");
    conf(k, "auto.offset.reset", "error"); /* a position the log lost is an event, not a jump */
    conf(k, "reconnect.backoff.max.ms", "200");
    conf(k, "topic.metadata.refresh.interval.ms", "1000");
    conf(k, "fetch.wait.max.ms", "100");
    conf(k, "log_level", "2");
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_CONSUMER, k, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    rdk.rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assign partitions [0, PARTS) at offset `at`, and say so in the history. */
CH_FN void assign_all(rd_kafka_t *rk, FILE *f, int id, int64_t at)
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
CH_FN void consumed(rd_kafka_t *rk, struct client *c, const rd_kafka_message_t *m)
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
    if (m->err) { /* transport errors while a broker is down: librdkafka retries */
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

CH_FN void *consumer_main(void *arg)
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

/* Read partitions [0, PARTS) from offset 0 up to hi[] (each partition's end) with a fresh
 * consumer on `bootstrap`, calling each(m, arg) for every record; bounded at 60 s. */
CH_FN void read_whole(const char *bootstrap, const int64_t *hi, FILE *f, int id,
                      void (*each)(const rd_kafka_message_t *m, void *arg), void *arg)
{
    struct chaos w = {0};
    struct client c = {.w = &w, .id = id, .f = f};
    int64_t next[PARTS] = {0};
    strlcpy(w.bootstrap, bootstrap, sizeof(w.bootstrap));
    rd_kafka_t *rk = make_consumer(&w);
    assign_all(rk, f, id, 0);
    int64_t deadline = kc_mono_ms() + 60000;
    for (int32_t k = 0; k < PARTS;) {
        if (next[k] >= hi[k]) {
            k++;
            continue;
        }
        if (kc_mono_ms() > deadline)
            fail_msg("reading %s: did not reach %" PRId64 " in partition %d (at %" PRId64 ")",
                     bootstrap, hi[k], k, next[k]);
        rd_kafka_message_t *m = rdk.rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        consumed(rk, &c, m);
        if (!m->err && m->partition >= 0 && m->partition < PARTS) {
            next[m->partition] = m->offset + 1;
            if (each)
                each(m, arg);
        }
        rdk.rd_kafka_message_destroy(m);
    }
    rdk.rd_kafka_consumer_close(rk);
    rdk.rd_kafka_destroy(rk);
}

/* Every partition's high watermark through bootstrap (its leader's); bounded. */
CH_FN void watermarks(const char *bootstrap, int64_t *hi)
{
    struct chaos w = {0};
    strlcpy(w.bootstrap, bootstrap, sizeof(w.bootstrap));
    rd_kafka_t *rk = make_consumer(&w);
    for (int32_t k = 0; k < PARTS; k++) {
        int64_t lo;
        rd_kafka_resp_err_t e =
            rdk.rd_kafka_query_watermark_offsets(rk, TOPIC, k, &lo, &hi[k], 10000);
        if (e)
            fail_msg("watermarks of %d: %s", k, rdk.rd_kafka_err2name(e));
        assert_int_equal(lo, 0); /* nothing deletes records here */
    }
    rdk.rd_kafka_consumer_close(rk);
    rdk.rd_kafka_destroy(rk);
}

/* The final reader: every partition from 0 up to its high watermark, then "drain" lines.
 * hi[] gets the watermarks. */
CH_FN void chaos_drain(struct chaos *w, int64_t *hi)
{
    FILE *f = history_file(w, DRAINER);
    watermarks(w->bootstrap, hi);
    read_whole(w->bootstrap, hi, f, DRAINER, NULL, NULL);
    for (int32_t k = 0; k < PARTS; k++)
        fprintf(f, "drain %d %" PRId64 "\n", (int)k, hi[k]);
    fclose(f);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* The clients, running against w->bootstrap (w->dir set). */
CH_FN void chaos_start(struct chaos *w)
{
    rdk_load();
    for (int i = 0; i < PRODUCERS + 1; i++) {
        struct client *c = &w->cl[i];
        *c = (struct client){.w = w, .id = i < PRODUCERS ? i + 1 : CONSUMER};
        c->f = history_file(w, c->id);
        c->rk = i < PRODUCERS ? make_producer(c) : make_consumer(w);
        assert_int_equal(pthread_create(&c->thread, NULL,
                                        i < PRODUCERS ? producer_main : consumer_main, c),
                         0);
    }
    w->js = js_start(w);
}

/* Stop them: every producer's outcomes are in its history when this returns. */
CH_FN void chaos_stop(struct chaos *w)
{
    js_stop(w, w->js);
    atomic_store(&w->stop, true);
    for (int i = 0; i < PRODUCERS + 1; i++) {
        struct client *c = &w->cl[i];
        pthread_join(c->thread, NULL);
        if (c->id == CONSUMER)
            rdk.rd_kafka_consumer_close(c->rk);
        rdk.rd_kafka_destroy(c->rk);
        fclose(c->f);
        if (c->dbg)
            fclose(c->dbg);
        if (c->ce)
            ce_fini(c->ce);
        free(c->ce);
    }
}

/* Every history through the checker; fails the test only if a history is unusable. */
CH_FN void chaos_judge(struct chaos *w, struct rel_hist_result *r)
{
    static const int ids[NCLIENTS] = {1, 2, JS_PRODUCER, CONSUMER, DRAINER};
    struct rel_hist h;
    char err[256] = "", path[600];
    rel_hist_init(&h);
    for (int i = 0; i < NCLIENTS; i++) {
        snprintf(path, sizeof(path), "%s/history-%d.txt", w->dir, ids[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        if (rel_hist_read(&h, f, err, sizeof(err)))
            fail_msg("%s: %s", path, err);
        fclose(f);
    }
    if (rel_hist_check(&h, r, err, sizeof(err)))
        fail_msg("the history: %s", err);
    rel_hist_fini(&h);
    rel_hist_print(r, stdout);
}

#endif

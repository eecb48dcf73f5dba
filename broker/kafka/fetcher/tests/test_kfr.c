/*
 * test_kfr.c - the replica fetcher against a fake leader: a thread in this test that
 * listens on 127.0.0.1, decodes what the fetcher sends with the project's codec and
 * answers what each scenario wants - good batches with a cut-off last one, a diverging
 * epoch, an error, an answer naming a partition never asked, silence, a long poll.
 *
 * The owner's side is a model: each partition's log end and last epoch, advanced by what
 * received() is handed. (The real broker is the other half: broker/tests.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_batch.h"
#include "kc_codec.h"
#include "kc_common.h"
#include "kc_time.h"
#include "kfr.h"
#include "kfr_int.h"
#include "kp_api.h"

#define WAIT_MS 10000
#define PARTS   3

/* HOLD: a long poll - a Fetch that does not name partition 2 is held for its max_wait_ms
 * and answered empty; one that names it is answered at once, as GOOD.
 * SESSION: a leader with fetch sessions (KIP-227), answering only what is new. */
enum scenario { GOOD, DIVERGE, ERROR, STRANGER, SILENT, NO_V12, DROP, HOLD, SESSION };

#define SESSION_ID 77

/* ---- the fake leader ------------------------------------------------------------------- */

struct leader {
    int lfd, port;
    pthread_t thread;
    atomic_int scenario;
    atomic_bool stop;
    /* what it saw (under mu) */
    pthread_mutex_t mu;
    int fetches, connections, held;
    uint32_t peer; /* the last connection's source address (host order) */
    int32_t replica_id, session_epoch;
    int64_t offset[PARTS];
    int32_t last_epoch[PARTS], leader_epoch[PARTS];
    int asked[PARTS]; /* fetches that named the partition */
    /* SESSION: each partition's log end, and the fetch offset the session holds (-1: not
     * in it); the epoch the next incremental Fetch must carry; what came */
    int64_t lend[PARTS], held_at[PARTS];
    int32_t next_epoch;
    int full, incremental, forgotten, refused;
    bool refuse_next; /* answer the next incremental Fetch 70, as after an eviction */
};

/* One batch of one record at base, epoch 7. */
static void batch_at(struct kc_writer *w, int64_t base)
{
    struct kc_batch_opts o;
    struct kc_batch_builder b;
    uint8_t *p;
    size_t len;
    kc_batch_opts_default(&o);
    o.base_offset = base;
    o.leader_epoch = 7;
    kc_batch_builder_init(&b, &o, 1 << 20);
    assert_int_equal(kc_batch_builder_add(&b, 1000 + base, "k", 1, "value", 5, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&b, &p, &len), 0);
    kc_write_raw(w, p, len);
    kc_batch_builder_fini(&b);
}

static void answer_versions(struct leader *l, int fd, int32_t corr)
{
    struct kp_api_versions_resp resp;
    struct kp_api_versions_resp_api_version v[2];
    struct kc_writer w;
    kp_init(&kp_api_versions_resp_schema, &resp);
    kp_init(&kp_api_versions_resp_api_version_schema, &v[0]);
    kp_init(&kp_api_versions_resp_api_version_schema, &v[1]);
    v[0] = (struct kp_api_versions_resp_api_version){KP_API_API_VERSIONS, 0, 3};
    v[1] = (struct kp_api_versions_resp_api_version){KP_API_FETCH, 4,
                                                     atomic_load(&l->scenario) == NO_V12 ? 11 : 16};
    KP_SET(resp.api_keys, 2, v);
    kc_writer_init(&w, 0);
    assert_int_equal(kp_response_encode(&w, KP_API_API_VERSIONS, 0, corr, &resp, NULL, NULL), 0);
    assert_int_equal(send(fd, kc_writer_data(&w), kc_writer_len(&w), MSG_NOSIGNAL),
                     (ssize_t)kc_writer_len(&w));
    kc_writer_fini(&w);
}

/* Record what the fetch asked; build the answer the scenario wants. */
static void answer_fetch(struct leader *l, int fd, const struct kp_request *req, bool empty)
{
    const struct kp_fetch_req *fr = req->msg;
    enum scenario sc = atomic_load(&l->scenario);
    struct kp_fetch_resp resp;
    struct kp_fetch_resp_fetchable_topic_response t[1];
    struct kp_fetch_resp_partition_data pd[PARTS + 1];
    struct kc_writer w, recs[PARTS];
    int np = 0;
    pthread_mutex_lock(&l->mu);
    l->fetches++;
    l->replica_id = fr->replica_id;
    l->session_epoch = fr->session_epoch;
    for (int32_t i = 0; i < fr->topics.n; i++)
        for (int32_t j = 0; j < fr->topics.v[i].partitions.n; j++) {
            const struct kp_fetch_req_partition *p = &fr->topics.v[i].partitions.v[j];
            if (p->partition < 0 || p->partition >= PARTS || np >= PARTS)
                continue;
            l->offset[p->partition] = p->fetch_offset;
            l->asked[p->partition]++;
            l->last_epoch[p->partition] = p->last_fetched_epoch;
            l->leader_epoch[p->partition] = p->current_leader_epoch;
            kp_init(&kp_fetch_resp_partition_data_schema, &pd[np]);
            pd[np].partition_index = p->partition;
            pd[np].high_watermark = p->fetch_offset + 2;
            pd[np].log_start_offset = 0;
            kc_writer_init(&recs[np], 0);
            if (empty) {
                pd[np].high_watermark = p->fetch_offset;
            } else if (sc == GOOD || sc == DROP || sc == HOLD) { /* two whole batches, and
                                                                  * half of a third */
                batch_at(&recs[np], p->fetch_offset);
                batch_at(&recs[np], p->fetch_offset + 1);
                size_t whole = kc_writer_len(&recs[np]);
                batch_at(&recs[np], p->fetch_offset + 2);
                size_t all = kc_writer_len(&recs[np]);
                pd[np].records = (struct kc_slice){kc_writer_data(&recs[np]),
                                                   (int32_t)(whole + (all - whole) / 2)};
            } else if (sc == DIVERGE && p->partition == 0) {
                pd[np].diverging_epoch.epoch = 3;
                pd[np].diverging_epoch.end_offset = 5;
            } else if (sc == ERROR && p->partition == 1) {
                pd[np].error_code = 74; /* FENCED_LEADER_EPOCH */
            }
            np++;
        }
    pthread_mutex_unlock(&l->mu);
    if (sc == STRANGER) { /* a partition nobody asked for */
        kp_init(&kp_fetch_resp_partition_data_schema, &pd[np]);
        pd[np].partition_index = 99;
        kc_writer_init(&recs[np < PARTS ? np : 0], 0);
        np++;
    }
    kp_init(&kp_fetch_resp_schema, &resp);
    kp_init(&kp_fetch_resp_fetchable_topic_response_schema, &t[0]);
    t[0].topic = fr->topics.n > 0 ? fr->topics.v[0].topic : kp_slice_str("t");
    KP_SET(t[0].partitions, np, pd);
    KP_SET(resp.responses, 1, t);
    kc_writer_init(&w, 0);
    assert_int_equal(kp_response_encode(&w, KP_API_FETCH, req->hdr.request_api_version,
                                        req->hdr.correlation_id, &resp, NULL, NULL),
                     0);
    (void)!send(fd, kc_writer_data(&w), kc_writer_len(&w), MSG_NOSIGNAL);
    kc_writer_fini(&w);
    for (int i = 0; i < np && i < PARTS; i++)
        kc_writer_fini(&recs[i]);
}

/* SESSION: apply a Fetch to the session (under l->mu); the top-level error, or 0. */
static int16_t session_apply(struct leader *l, const struct kp_fetch_req *fr)
{
    if (fr->session_epoch == 0) { /* full: a new session of what it names */
        l->full++;
        for (int k = 0; k < PARTS; k++)
            l->held_at[k] = -1;
        l->next_epoch = 1;
    } else if (l->refuse_next) {
        l->refuse_next = false;
        l->refused++;
        l->next_epoch = -2; /* gone: only a full Fetch is served now */
        return 70;
    } else if (fr->session_id != SESSION_ID || fr->session_epoch != l->next_epoch) {
        return 71;
    } else {
        l->incremental++;
        l->next_epoch++;
    }
    for (int32_t i = 0; i < fr->forgotten_topics_data.n; i++)
        for (int32_t j = 0; j < fr->forgotten_topics_data.v[i].partitions.n; j++) {
            int32_t k = fr->forgotten_topics_data.v[i].partitions.v[j];
            if (k >= 0 && k < PARTS) {
                l->held_at[k] = -1;
                l->forgotten++;
            }
        }
    for (int32_t i = 0; i < fr->topics.n; i++)
        for (int32_t j = 0; j < fr->topics.v[i].partitions.n; j++) {
            const struct kp_fetch_req_partition *p = &fr->topics.v[i].partitions.v[j];
            if (p->partition >= 0 && p->partition < PARTS) {
                l->held_at[p->partition] = p->fetch_offset;
                l->asked[p->partition]++;
                l->leader_epoch[p->partition] = p->current_leader_epoch;
            }
        }
    return 0;
}

/* SESSION: answer the partitions the session holds below their log end (up to two batches
 * each), all of them after a full Fetch; nothing new: held 20 ms first, as a long poll. */
static void answer_session(struct leader *l, int fd, const struct kp_request *req)
{
    const struct kp_fetch_req *fr = req->msg;
    struct kp_fetch_resp resp;
    struct kp_fetch_resp_fetchable_topic_response t[1];
    struct kp_fetch_resp_partition_data pd[PARTS];
    struct kc_writer w, recs[PARTS];
    int np = 0;
    kp_init(&kp_fetch_resp_schema, &resp);
    pthread_mutex_lock(&l->mu);
    l->fetches++;
    resp.error_code = session_apply(l, fr);
    for (int k = 0; resp.error_code == 0 && k < PARTS; k++) {
        int64_t at = l->held_at[k];
        if (at < 0 || (at >= l->lend[k] && fr->session_epoch != 0))
            continue; /* not in the session, or nothing new */
        kp_init(&kp_fetch_resp_partition_data_schema, &pd[np]);
        pd[np].partition_index = k;
        pd[np].high_watermark = l->lend[k];
        kc_writer_init(&recs[np], 0);
        for (int64_t o = at; o < l->lend[k] && o < at + 2; o++)
            batch_at(&recs[np], o);
        pd[np].records = (struct kc_slice){kc_writer_data(&recs[np]),
                                           (int32_t)kc_writer_len(&recs[np])};
        np++;
    }
    resp.session_id = resp.error_code == 0 ? SESSION_ID : 0;
    pthread_mutex_unlock(&l->mu);
    if (np == 0)
        usleep(20 * 1000);
    kp_init(&kp_fetch_resp_fetchable_topic_response_schema, &t[0]);
    t[0].topic = kp_slice_str("t");
    KP_SET(t[0].partitions, np, pd);
    KP_SET(resp.responses, np > 0 ? 1 : 0, t);
    kc_writer_init(&w, 0);
    assert_int_equal(kp_response_encode(&w, KP_API_FETCH, req->hdr.request_api_version,
                                        req->hdr.correlation_id, &resp, NULL, NULL),
                     0);
    (void)!send(fd, kc_writer_data(&w), kc_writer_len(&w), MSG_NOSIGNAL);
    kc_writer_fini(&w);
    for (int i = 0; i < np; i++)
        kc_writer_fini(&recs[i]);
}

/* Read one request frame from fd into buf: its body length, 0 at EOF or stop. */
static size_t read_request(struct leader *l, int fd, uint8_t *buf, size_t cap)
{
    size_t have = 0, need = 4;
    while (have < need && !atomic_load(&l->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf + have, cap - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        if (have >= 4)
            need = 4 + kc_load_be32(buf);
        assert_true(need <= cap);
    }
    return have >= need ? need - 4 : 0;
}

/* Does the Fetch name partition 2? */
static bool names_2(const struct kp_request *req)
{
    const struct kp_fetch_req *fr = req->msg;
    for (int32_t i = 0; i < fr->topics.n; i++)
        for (int32_t j = 0; j < fr->topics.v[i].partitions.n; j++)
            if (fr->topics.v[i].partitions.v[j].partition == 2)
                return true;
    return false;
}

/* HOLD: park the Fetch for its max_wait_ms (as a leader with nothing new does). false:
 * the follower closed the connection meanwhile. */
static bool hold(struct leader *l, int fd, const struct kp_request *req)
{
    const struct kp_fetch_req *fr = req->msg;
    pthread_mutex_lock(&l->mu);
    l->held++;
    pthread_mutex_unlock(&l->mu);
    for (int64_t end = kc_mono_ms() + fr->max_wait_ms; kc_mono_ms() < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        char c;
        if (atomic_load(&l->stop) ||
            (poll(&p, 1, 10) > 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0))
            return false;
    }
    return true;
}

static void serve(struct leader *l, int fd)
{
    static uint8_t buf[1 << 20];
    size_t len;
    while ((len = read_request(l, fd, buf, sizeof(buf))) > 0) {
        struct kp_request req;
        assert_int_equal(kp_request_decode(buf + 4, len, 0, &req), 0);
        if (req.hdr.request_api_key == KP_API_API_VERSIONS)
            answer_versions(l, fd, req.hdr.correlation_id);
        else if (req.hdr.request_api_key == KP_API_FETCH && atomic_load(&l->scenario) == SESSION)
            answer_session(l, fd, &req);
        else if (req.hdr.request_api_key == KP_API_FETCH && atomic_load(&l->scenario) == HOLD &&
                 !names_2(&req)) {
            if (!hold(l, fd, &req)) {
                kp_request_fini(&req);
                return;
            }
            answer_fetch(l, fd, &req, true);
        } else if (req.hdr.request_api_key == KP_API_FETCH &&
                   atomic_load(&l->scenario) != SILENT)
            answer_fetch(l, fd, &req, false);
        bool drop = req.hdr.request_api_key == KP_API_FETCH && atomic_load(&l->scenario) == DROP;
        kp_request_fini(&req);
        if (drop)
            return; /* one fetch a connection: as if it restarted after each */
    }
}

static void *leader_main(void *arg)
{
    struct leader *l = arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {l->lfd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        int fd = accept(l->lfd, (struct sockaddr *)&from, &flen);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&l->mu);
        l->connections++;
        l->peer = ntohl(from.sin_addr.s_addr);
        pthread_mutex_unlock(&l->mu);
        serve(l, fd);
        close(fd);
    }
    return NULL;
}

static void leader_start(struct leader *l, enum scenario sc)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    atomic_store(&l->scenario, sc);
    l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l->lfd >= 0);
    assert_int_equal(bind(l->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l->lfd, 4), 0);
    assert_int_equal(getsockname(l->lfd, (struct sockaddr *)&a, &alen), 0);
    l->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&l->thread, NULL, leader_main, l), 0);
}

static void leader_stop(struct leader *l)
{
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    close(l->lfd);
    pthread_mutex_destroy(&l->mu);
}

/* ---- the owner: a model of each partition's log ------------------------------------------ */

struct owner {
    pthread_mutex_t mu;
    int64_t end[PARTS];
    int32_t last_epoch[PARTS];
    int64_t hw[PARTS];
    int received, rounds, diverged, errors;
    int16_t last_error;
    bool paused[PARTS];
    int64_t paused_until[PARTS]; /* kc_mono_ms: left out, with retry_ms, until then */
    struct kfr_fetcher *f; /* for a removal from inside an op */
    bool remove_2_on_receive;
};

static bool op_position(void *arg, const struct kfr_tp *tp, struct kfr_position *pos)
{
    struct owner *o = arg;
    pthread_mutex_lock(&o->mu);
    bool go = !o->paused[tp->partition];
    *pos = (struct kfr_position){o->end[tp->partition], 9, o->last_epoch[tp->partition], 0, 0};
    int64_t left = o->paused_until[tp->partition] - kc_mono_ms();
    if (left > 0) {
        go = false;
        pos->retry_ms = (int32_t)left;
    }
    pthread_mutex_unlock(&o->mu);
    return go;
}

/* Append the whole batches (checking each base offset is the next one), or truncate. */
static void op_received(void *arg, const struct kfr_tp *tp, const struct kfr_answer *a)
{
    struct owner *o = arg;
    int32_t k = tp->partition;
    pthread_mutex_lock(&o->mu);
    o->received++;
    o->hw[k] = a->high_watermark;
    if (a->error) {
        o->errors++;
        o->last_error = a->error;
        o->paused[k] = true;
    } else if (a->diverged) {
        o->diverged++;
        o->end[k] = KC_MIN(o->end[k], a->diverging_end);
        o->last_epoch[k] = a->diverging_epoch;
    }
    for (size_t at = 0; at < a->len;) {
        struct kc_batch_header h;
        int n = kc_batch_validate(a->batches + at, a->len - at, &h);
        assert_true(n > 0);
        assert_int_equal(h.base_offset, o->end[k]);
        o->end[k] = h.base_offset + h.last_offset_delta + 1;
        o->last_epoch[k] = h.leader_epoch;
        at += (size_t)n;
    }
    pthread_mutex_unlock(&o->mu);
    if (o->remove_2_on_receive && k == 2)
        kfr_remove(o->f, tp);
}

static void op_round_done(void *arg)
{
    struct owner *o = arg;
    pthread_mutex_lock(&o->mu);
    o->rounds++;
    pthread_mutex_unlock(&o->mu);
}

static const struct kfr_ops ops = {op_position, op_received, op_round_done};

/* A fetcher of partitions [0, nparts) with long polls of max_wait_ms, connecting from
 * source (NULL: any). */
static struct kfr_fetcher *start_n(struct leader *l, struct owner *o, int backoff_ms,
                                   int timeout_ms, int nparts, int max_wait_ms,
                                   const char *source)
{
    struct kfr_config c = {.host = "127.0.0.1", .port = l->port, .replica_id = 4,
                           .max_wait_ms = max_wait_ms, .retry_backoff_ms = backoff_ms,
                           .socket_timeout_ms = timeout_ms, .source_host = source};
    struct kfr_fetcher *f;
    pthread_mutex_init(&o->mu, NULL);
    assert_int_equal(kfr_open(&c, &ops, o, &f), 0);
    for (int32_t k = 0; k < nparts; k++) {
        struct kfr_tp tp = {"t", k};
        assert_int_equal(kfr_add(f, &tp), 0);
        assert_int_equal(kfr_add(f, &tp), 0); /* twice: one entry */
    }
    o->f = f;
    return f;
}

static struct kfr_fetcher *start(struct leader *l, struct owner *o, int backoff_ms, int timeout_ms)
{
    return start_n(l, o, backoff_ms, timeout_ms, PARTS, 50, NULL);
}

/* Wait until cond(o) holds (under o->mu), or fail. */
static void await(struct owner *o, bool (*cond)(struct owner *), const char *what)
{
    for (int64_t t0 = kc_mono_ms(); kc_mono_ms() - t0 < WAIT_MS; usleep(5000)) {
        pthread_mutex_lock(&o->mu);
        bool ok = cond(o);
        pthread_mutex_unlock(&o->mu);
        if (ok)
            return;
    }
    fail_msg("waited %d ms for %s", WAIT_MS, what);
}

static bool ten_each(struct owner *o)
{
    return o->end[0] >= 10 && o->end[1] >= 10 && o->end[2] >= 10;
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_kfr_good_answers_whole_batches_in_order(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, GOOD);
    struct kfr_fetcher *f = start(&l, &o, 50, 5000);
    await(&o, ten_each, "ten records in each partition");
    struct kfr_stats st;
    kfr_stats(f, &st);
    kfr_close(f);
    /* every round handed two whole batches per partition: the half third one never */
    assert_true(o.rounds >= 5);
    assert_int_equal(o.errors, 0);
    assert_int_equal(st.partitions, PARTS);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.failures, 0);
    assert_true(st.batches_bytes > 0 && st.answers_bytes > st.batches_bytes);
    assert_int_equal(st.full, st.rounds); /* a leader without sessions: every round full */
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.replica_id, 4);
    assert_int_equal(l.session_epoch, 0); /* asks for a session: none given, full again */
    assert_int_equal(l.last_epoch[0], 7);         /* the epoch of its last batch */
    assert_int_equal(l.leader_epoch[0], 9);       /* what position() said */
    assert_int_equal(l.offset[0] % 2, 0);         /* two batches per round */
    pthread_mutex_unlock(&l.mu);
    leader_stop(&l);
}

static bool diverged_once(struct owner *o)
{
    return o->diverged > 0;
}

static bool one_error(struct owner *o)
{
    return o->errors > 0;
}

static void test_kfr_diverging_epoch_and_errors_handed_over(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {.end = {8, 0, 0}};
    leader_start(&l, DIVERGE);
    struct kfr_fetcher *f = start(&l, &o, 50, 5000);
    await(&o, diverged_once, "a diverging epoch");
    pthread_mutex_lock(&o.mu);
    assert_int_equal(o.end[0], 5); /* truncated to the leader's end of epoch 3 */
    assert_int_equal(o.last_epoch[0], 3);
    pthread_mutex_unlock(&o.mu);
    atomic_store(&l.scenario, ERROR);
    await(&o, one_error, "FENCED_LEADER_EPOCH");
    pthread_mutex_lock(&o.mu);
    assert_int_equal(o.last_error, 74);
    assert_true(o.paused[1]);
    pthread_mutex_unlock(&o.mu);
    usleep(100 * 1000); /* a round in flight when it was paused may still name it */
    pthread_mutex_lock(&l.mu);
    int before = l.fetches, asked1 = l.asked[1];
    pthread_mutex_unlock(&l.mu);
    usleep(300 * 1000); /* partition 1 stays out of the rounds: the owner paused it */
    pthread_mutex_lock(&l.mu);
    assert_true(l.fetches > before);
    assert_int_equal(l.asked[1], asked1);
    pthread_mutex_unlock(&l.mu);
    kfr_close(f);
    leader_stop(&l);
}

static bool reconnected(struct owner *o)
{
    struct kfr_stats st;
    kfr_stats(o->f, &st);
    return st.failures >= 2 && st.connects >= 2;
}

/* A partition nobody asked for: the answer is refused whole, nothing handed over, the
 * connection opened again. */
static void test_kfr_stranger_partition_refused_whole(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, STRANGER);
    struct kfr_fetcher *f = start(&l, &o, 20, 5000);
    await(&o, reconnected, "two failed rounds and a reconnection");
    pthread_mutex_lock(&o.mu);
    assert_int_equal(o.received, 0);
    assert_int_equal(o.rounds, 0);
    pthread_mutex_unlock(&o.mu);
    kfr_close(f);
    leader_stop(&l);
}

/* A leader that never answers: the socket timeout ends the round; close does not wait
 * for the leader. */
static void test_kfr_silent_leader_times_out_close_prompt(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, SILENT);
    struct kfr_fetcher *f = start(&l, &o, 20, 300);
    await(&o, reconnected, "a timeout and a reconnection");
    int64_t t0 = kc_mono_ms();
    kfr_close(f); /* while a fetch waits on a silent leader */
    assert_true(kc_mono_ms() - t0 < 2000);
    assert_int_equal(o.received, 0);
    leader_stop(&l);
}

/* A leader that closes every connection after one answer (a leader restarted while the
 * connection was idle): the first failed round reconnects at once, so with a backoff of
 * 60 s the records still come; nothing is lost or repeated. */
static void test_kfr_dropped_connection_reconnects_without_backoff(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, DROP);
    struct kfr_fetcher *f = start(&l, &o, 60000, 5000);
    await(&o, ten_each, "ten records in each partition, one connection per round");
    struct kfr_stats st;
    kfr_stats(f, &st);
    kfr_close(f);
    assert_int_equal(o.errors, 0);
    assert_true(st.connects >= 5 && st.failures >= 4);
    leader_stop(&l);
}

static bool connected_no_v12(struct owner *o)
{
    struct kfr_stats st;
    kfr_stats(o->f, &st);
    return st.connects == 0 && st.failures == 0;
}

/* A leader without Fetch v12 is never fetched from. */
static void test_kfr_leader_without_v12_not_used(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, NO_V12);
    struct kfr_fetcher *f = start(&l, &o, 20, 1000);
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&l.mu);
        int c = l.connections;
        pthread_mutex_unlock(&l.mu);
        if (c >= 2)
            break;
        usleep(10000);
    }
    await(&o, connected_no_v12, "no connection counted");
    pthread_mutex_lock(&l.mu);
    assert_true(l.connections >= 2);
    assert_int_equal(l.fetches, 0);
    pthread_mutex_unlock(&l.mu);
    kfr_close(f);
    leader_stop(&l);
}

static bool removed_2(struct owner *o)
{
    return o->end[0] >= 10 && o->end[1] >= 10;
}

/* A partition removed from inside received(): never handed over again. */
static void test_kfr_remove_from_op_stops_partition(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {.remove_2_on_receive = true};
    leader_start(&l, GOOD);
    struct kfr_fetcher *f = start(&l, &o, 50, 5000);
    await(&o, removed_2, "partitions 0 and 1 to go on");
    pthread_mutex_lock(&o.mu);
    assert_int_equal(o.end[2], 2); /* one round, then removed */
    pthread_mutex_unlock(&o.mu);
    struct kfr_stats st;
    kfr_stats(f, &st);
    assert_int_equal(st.partitions, 2);
    struct kfr_tp bad = {"", 0};
    assert_int_equal(kfr_add(f, &bad), -EINVAL);
    kfr_close(f);
    leader_stop(&l);
}

static bool failed_twice(struct owner *o)
{
    struct kfr_stats st;
    kfr_stats(o->f, &st);
    return st.connect_failures >= 2 && st.connects == 0;
}

/* source_host: the leader sees the connection come from that address (every 127/8
 * address is this host's on Linux); an address of another family is ignored; one that is
 * not this host's is never connected from (bind fails, the round fails, nothing is
 * handed over). */
static void test_kfr_source_host_seen_by_leader_or_no_connection(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0}, o6 = {0}, bad = {0};
    leader_start(&l, GOOD);
    struct kfr_fetcher *f = start_n(&l, &o, 20, 5000, PARTS, 50, "127.0.0.5");
    await(&o, ten_each, "ten records in each partition from 127.0.0.5");
    kfr_close(f);
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.peer, 0x7f000005);
    pthread_mutex_unlock(&l.mu);
    f = start_n(&l, &o6, 20, 5000, PARTS, 50, "::1"); /* an IPv6 source for an IPv4 leader */
    await(&o6, ten_each, "ten records in each partition, the source ignored");
    kfr_close(f);
    pthread_mutex_lock(&l.mu);
    int seen = l.connections;
    pthread_mutex_unlock(&l.mu);
    /* TEST-NET-1: not an address here */
    f = start_n(&l, &bad, 20, 5000, PARTS, 50, "192.0.2.1");
    await(&bad, failed_twice, "two failed connections from an address not ours");
    kfr_close(f);
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.connections, seen);
    pthread_mutex_unlock(&l.mu);
    assert_int_equal(bad.received, 0);
    leader_stop(&l);
}

static bool held_once(struct leader *l)
{
    pthread_mutex_lock(&l->mu);
    bool h = l->held >= 1;
    pthread_mutex_unlock(&l->mu);
    return h;
}

static bool got_2(struct owner *o)
{
    return o->end[2] >= 2;
}

/* A partition added while a long poll (60 s here) waits at the leader for the others -
 * a leadership moving to a broker already fetched from - is asked at once: the poll is
 * cut (its connection dropped, a new one made), not waited out. */
static void test_kfr_add_during_long_poll_cuts_it(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, HOLD);
    struct kfr_fetcher *f = start_n(&l, &o, 60000, 60000, 2, 60000, NULL);
    for (int i = 0; i < 1000 && !held_once(&l); i++)
        usleep(10000);
    assert_true(held_once(&l));
    struct kfr_tp tp = {"t", 2};
    assert_int_equal(kfr_add(f, &tp), 0);
    await(&o, got_2, "partition 2's records, long before the long poll ends");
    struct kfr_stats st;
    kfr_stats(f, &st);
    assert_true(st.cuts >= 1);
    assert_int_equal(st.failures, 0);
    assert_true(st.connects >= 2);
    kfr_close(f);
    leader_stop(&l);
}

/* A partition left out for 50 ms (a follower's short retry after "the new leader does not
 * know yet") bounds the round's long poll: it is asked again after ~50 ms, not after the
 * others' 60 s poll. (A round may start before start_n's last kfr_add, and be cut: the
 * rounds after the cut, with partition 2 still paused, are what is tested.) */
static void test_kfr_paused_partition_bounds_long_poll(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, HOLD);
    o.paused_until[2] = kc_mono_ms() + 50;
    struct kfr_fetcher *f = start_n(&l, &o, 60000, 60000, PARTS, 60000, NULL);
    await(&o, got_2, "partition 2's records after its pause, long before a 60 s poll");
    struct kfr_stats st;
    kfr_stats(f, &st);
    assert_int_equal(st.failures, 0);
    kfr_close(f);
    leader_stop(&l);
}

/* Wait until cond(l) holds (under l->mu), or fail. */
static void await_leader(struct leader *l, bool (*cond)(struct leader *), const char *what)
{
    for (int64_t t0 = kc_mono_ms(); kc_mono_ms() - t0 < WAIT_MS; usleep(5000)) {
        pthread_mutex_lock(&l->mu);
        bool ok = cond(l);
        pthread_mutex_unlock(&l->mu);
        if (ok)
            return;
    }
    fail_msg("waited %d ms for %s", WAIT_MS, what);
}

static bool p0_has_10(struct owner *o)
{
    return o->end[0] == 10 && o->hw[0] == 10;
}

static bool p2_has_4(struct owner *o)
{
    return o->end[2] == 4 && o->hw[2] == 4;
}

static bool forgot_one(struct leader *l)
{
    return l->forgotten > 0;
}

static bool refused_and_full_again(struct leader *l)
{
    return l->refused == 1 && l->next_epoch > 1;
}

struct counts {
    int full, incremental, asked[PARTS];
};

static struct counts counts_of(struct leader *l)
{
    pthread_mutex_lock(&l->mu);
    struct counts c = {l->full, l->incremental, {l->asked[0], l->asked[1], l->asked[2]}};
    pthread_mutex_unlock(&l->mu);
    return c;
}

/* A leader with fetch sessions (KIP-227): once the session is made, a round names only a
 * partition whose position moved - an idle one is never named again, yet its new
 * records still come (the leader reads the session) - a paused one is forgotten, and a
 * session the leader dropped (70) is made again by one full round. */
static void test_kfr_session_names_only_what_moved(void **state)
{
    (void)state;
    struct leader l;
    struct owner o = {0};
    leader_start(&l, SESSION);
    pthread_mutex_lock(&l.mu);
    l.lend[0] = 10;
    pthread_mutex_unlock(&l.mu);
    struct kfr_fetcher *f = start(&l, &o, 50, 5000);
    await(&o, p0_has_10, "partition 0's ten records");
    usleep(150 * 1000); /* the session settles: start's kfr_adds may have cut a round */
    struct counts a = counts_of(&l);
    usleep(300 * 1000); /* idle: ~20 ms a round at this leader */
    struct counts b = counts_of(&l);
    assert_int_equal(b.full, a.full);
    assert_true(b.incremental >= a.incremental + 5);
    for (int k = 0; k < PARTS; k++)
        assert_int_equal(b.asked[k], a.asked[k]); /* nothing named while nothing moves */

    pthread_mutex_lock(&l.mu);
    l.lend[2] = 4; /* records for a partition the requests no longer name */
    pthread_mutex_unlock(&l.mu);
    await(&o, p2_has_4, "partition 2's four records, through the session");
    usleep(100 * 1000);
    struct counts c = counts_of(&l);
    assert_int_equal(c.full, a.full);
    assert_int_equal(c.asked[0], a.asked[0]);
    assert_int_equal(c.asked[1], a.asked[1]);
    assert_int_equal(c.asked[2], a.asked[2] + 2); /* at 2, then at 4: each move, once */

    pthread_mutex_lock(&o.mu);
    o.paused[1] = true; /* the owner leaves it out: the session must stop reading it */
    pthread_mutex_unlock(&o.mu);
    await_leader(&l, forgot_one, "partition 1 forgotten");
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.held_at[1], -1);
    assert_int_equal(l.full, a.full);
    l.refuse_next = true;
    pthread_mutex_unlock(&l.mu);
    await_leader(&l, refused_and_full_again, "a full round after FETCH_SESSION_ID_NOT_FOUND");
    struct counts d = counts_of(&l);
    struct kfr_stats st;
    kfr_stats(f, &st);
    kfr_close(f);
    assert_int_equal(d.full, a.full + 1);
    assert_int_equal(d.asked[0], c.asked[0] + 1); /* the full round names what it fetches */
    assert_int_equal(d.asked[1], c.asked[1]);     /* ... not the paused one */
    assert_int_equal(st.session_errors, 1);
    assert_int_equal(st.failures, 0);
    assert_true(st.full >= 2 && st.rounds > st.full + 10);
    assert_int_equal(o.errors, 0);
    leader_stop(&l);
}

static void test_kfr_whole_batches_cut_and_refuse(void **state)
{
    (void)state;
    uint8_t b[200] = {0};
    kc_store_be32(b + 8, 49); /* the smallest batch: 61 bytes */
    kc_store_be32(b + 61 + 8, 49);
    assert_int_equal(kfr__whole_batches(b, 122), 122);
    assert_int_equal(kfr__whole_batches(b, 121), 61);
    assert_int_equal(kfr__whole_batches(b, 11), 0);
    kc_store_be32(b + 61 + 8, 48); /* shorter than a batch header */
    assert_int_equal(kfr__whole_batches(b, 122), -1);
    struct kfr_config c = {.host = "127.0.0.1", .port = 0, .replica_id = 1};
    struct kfr_fetcher *f;
    assert_int_equal(kfr_open(&c, &ops, NULL, &f), -EINVAL);
    c.port = 1;
    c.replica_id = -1;
    assert_int_equal(kfr_open(&c, &ops, NULL, &f), -EINVAL);
    kfr_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kfr_good_answers_whole_batches_in_order),
        cmocka_unit_test(test_kfr_diverging_epoch_and_errors_handed_over),
        cmocka_unit_test(test_kfr_stranger_partition_refused_whole),
        cmocka_unit_test(test_kfr_silent_leader_times_out_close_prompt),
        cmocka_unit_test(test_kfr_dropped_connection_reconnects_without_backoff),
        cmocka_unit_test(test_kfr_leader_without_v12_not_used),
        cmocka_unit_test(test_kfr_remove_from_op_stops_partition),
        cmocka_unit_test(test_kfr_source_host_seen_by_leader_or_no_connection),
        cmocka_unit_test(test_kfr_add_during_long_poll_cuts_it),
        cmocka_unit_test(test_kfr_paused_partition_bounds_long_poll),
        cmocka_unit_test(test_kfr_session_names_only_what_moved),
        cmocka_unit_test(test_kfr_whole_batches_cut_and_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

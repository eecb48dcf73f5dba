/*
 * test_0116_kafka_fetch_session.c - Fetch sessions (KIP-227) on raw sockets, through the
 * codec, against a real broker:
 *
 *   every version 7-17   a full Fetch (epoch 0) makes a session and answers everything;
 *                        incremental ones (epochs 1, 2, ...) answer only what changed:
 *                        new records, a moved high watermark; nothing at all when idle
 *   epochs               a repeated epoch is 71, an unknown id 70, a v13+ (topic id)
 *                        session asked with v12 (names) 106; epoch -1 closes a session
 *                        and is served sessionless
 *   forgotten topics     a forgotten partition is no longer answered; named again, it is
 *                        answered at once (its high watermark is new to the session)
 *   eviction             a bigger session pushes out a stale one: its owner gets 70, and
 *                        /metrics counts the eviction
 *   long-poll            a parked incremental Fetch wakes on a produce and answers only
 *                        that partition; the session carries on afterwards
 *   many sessions        slots=4: four sessions live side by side, a fifth gets session 0
 *                        (no room) and still its full answer
 *   refusals, replicas   an incremental Fetch naming a partition twice is 42; a replica's
 *                        full Fetch makes a session as a consumer's does, -1 closes it
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"

static uint8_t buf[1 << 20];

static int setup_with(void **state, const char *const *more)
{
    const char *args[16] = {"--override", "num.partitions=3", "--override",
                            "log.flush.interval.ms=100000"};
    int n = 4;
    for (int i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    kb_setup(state);
    kb_start(*state, args);
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

/* One slot, sessions stale at once: the next full Fetch evicts the last one. */
static int setup_one_slot(void **state)
{
    const char *more[] = {"--override", "max.incremental.fetch.session.cache.slots=1",
                          "--override", "min.incremental.fetch.session.eviction.ms=0", NULL};
    return setup_with(state, more);
}

static int setup_four_slots(void **state)
{
    const char *more[] = {"--override", "max.incremental.fetch.session.cache.slots=4", NULL};
    return setup_with(state, more);
}

/* ---- requests ------------------------------------------------------------------------- */

/* A partition in a request: by name (v7-12) or by id (v13+). */
struct tp {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

#define TOPICS_MAX 32
static struct kp_uuid ids[TOPICS_MAX]; /* the topic ids learn() was told, by name */
static char id_names[TOPICS_MAX][16];

static const struct kp_uuid *id_of(const char *topic)
{
    for (int i = 0; i < TOPICS_MAX && id_names[i][0]; i++)
        if (strcmp(id_names[i], topic) == 0)
            return &ids[i];
    fail_msg("no topic id known for %s", topic);
    return NULL;
}

/* Metadata v12 for topic (auto-created with 3 partitions): remember its id. */
static void learn(int fd, const char *topic)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_metadata_req *mr = KT_NEW(&a, kp_metadata_req, 1);
    struct kp_metadata_req_topic *t = KT_NEW(&a, kp_metadata_req_topic, 1);
    t->name = kp_slice_str(topic);
    KP_SET(mr->topics, 1, t);
    const struct kp_metadata_resp *r = kt_call(fd, KP_API_METADATA, 12, mr, buf, sizeof(buf),
                                               &resp);
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].error_code, 0);
    int i = 0;
    while (i < TOPICS_MAX && id_names[i][0] && strcmp(id_names[i], topic) != 0)
        i++;
    assert_true(i < TOPICS_MAX); /* a full table fails loudly, never overwrites a slot */
    assert_true(strlen(topic) < sizeof(id_names[i]));
    strcpy(id_names[i], topic); /* a copy: callers pass names built in their own frames */
    ids[i] = r->topics.v[0].topic_id;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
}

/* Produce n records to topic-partition (acks=1, Produce v9): its base offset. */
static int64_t produce(int fd, const char *topic, int32_t partition, int n)
{
    struct kp_arena a;
    struct kp_response resp;
    size_t len;
    uint8_t *batch = kb_batch("s-", n, &len);
    kp_arena_init(&a, 0);
    struct kp_produce_req *pr = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->index = partition;
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, p);
    pr->acks = 1;
    pr->timeout_ms = 5000;
    KP_SET(pr->topic_data, 1, t);
    const struct kp_produce_resp *r = kt_call(fd, KP_API_PRODUCE, 9, pr, buf, sizeof(buf), &resp);
    assert_int_equal(r->responses.v[0].partition_responses.v[0].error_code, 0);
    int64_t base = r->responses.v[0].partition_responses.v[0].base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
    return base;
}

/* A Fetch's session fields, partitions and forgotten partitions. */
struct fq {
    int16_t v;
    int32_t id, epoch;
    const struct tp *named;
    int n;
    const struct tp *forget;
    int nf;
    int32_t wait_ms;    /* 0: answer at once */
    int32_t replica;    /* -1: a consumer */
};

static void fetch_send(int fd, const struct fq *q, int32_t corr)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_fetch_req *fr = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, q->n + 1);
    struct kp_fetch_req_partition *p = KT_NEW(&a, kp_fetch_req_partition, q->n + 1);
    struct kp_fetch_req_forgotten_topic *ft = KT_NEW(&a, kp_fetch_req_forgotten_topic, q->nf + 1);
    int32_t *fp = kp_arena_alloc(&a, (size_t)(q->nf + 1) * sizeof(int32_t));
    for (int i = 0; i < q->n; i++) { /* one topic entry per partition: Kafka allows it */
        p[i].partition = q->named[i].partition;
        p[i].fetch_offset = q->named[i].offset;
        p[i].partition_max_bytes = 1 << 20;
        if (q->v >= 13)
            t[i].topic_id = *id_of(q->named[i].topic);
        else
            t[i].topic = kp_slice_str(q->named[i].topic);
        KP_SET(t[i].partitions, 1, &p[i]);
    }
    for (int i = 0; i < q->nf; i++) {
        fp[i] = q->forget[i].partition;
        if (q->v >= 13)
            ft[i].topic_id = *id_of(q->forget[i].topic);
        else
            ft[i].topic = kp_slice_str(q->forget[i].topic);
        KP_SET(ft[i].partitions, 1, &fp[i]);
    }
    fr->replica_id = q->replica ? q->replica : -1;
    if (q->v >= 15)
        fr->replica_state.replica_id = fr->replica_id, fr->replica_id = -1;
    fr->max_wait_ms = q->wait_ms;
    fr->min_bytes = 1;
    fr->max_bytes = 8 << 20;
    fr->session_id = q->id;
    fr->session_epoch = q->epoch;
    KP_SET(fr->topics, q->n, t);
    KP_SET(fr->forgotten_topics_data, q->nf, ft);
    kt_send(fd, KP_API_FETCH, q->v, corr, fr);
    kp_arena_fini(&a);
}

static int32_t corr_next = 5000;

/* Send q, read its answer (kp_response_fini it). */
static const struct kp_fetch_resp *fetch(int fd, const struct fq *q, struct kp_response *resp)
{
    int32_t corr = ++corr_next;
    fetch_send(fd, q, corr);
    return kt_recv(fd, KP_API_FETCH, q->v, corr, buf, sizeof(buf), resp);
}

/* How many partitions an answer carries. */
static int count(const struct kp_fetch_resp *r)
{
    int n = 0;
    for (int32_t i = 0; i < r->responses.n; i++)
        n += r->responses.v[i].partitions.n;
    return n;
}

/* The answer for topic-partition, or NULL when the answer leaves it out. */
static const struct kp_fetch_resp_partition_data *
find(const struct kp_fetch_resp *r, int16_t v, const char *topic, int32_t partition)
{
    for (int32_t i = 0; i < r->responses.n; i++) {
        const struct kp_fetch_resp_fetchable_topic_response *t = &r->responses.v[i];
        bool same = v >= 13 ? memcmp(t->topic_id.b, id_of(topic)->b, 16) == 0
                            : t->topic.len == (int32_t)strlen(topic) &&
                                  memcmp(t->topic.p, topic, strlen(topic)) == 0;
        for (int32_t j = 0; same && j < t->partitions.n; j++)
            if (t->partitions.v[j].partition_index == partition)
                return &t->partitions.v[j];
    }
    return NULL;
}

/* ---- the tests ------------------------------------------------------------------------ */

/* Full, then incremental: idle (nothing), a produce (only that partition), a new fetch
 * offset (nothing new), a repeated epoch (71), an unknown id (70), then closed (-1). */
static void full_then_incremental(int fd, int16_t v)
{
    char topic[16];
    struct kp_response resp;
    snprintf(topic, sizeof(topic), "s%d", v);
    learn(fd, topic);
    assert_int_equal(produce(fd, topic, 0, 3), 0);
    struct tp all[3] = {{topic, 0, 0}, {topic, 1, 0}, {topic, 2, 0}};
    const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = v, .id = 0, .epoch = 0, .named = all, .n = 3}, &resp);
    int32_t sid = r->session_id;
    assert_int_equal(r->error_code, 0);
    assert_true(sid > 0);
    assert_int_equal(count(r), 3); /* full: every partition */
    assert_true(find(r, v, topic, 0)->records.len > 0);
    assert_int_equal(find(r, v, topic, 0)->high_watermark, 3);
    kp_response_fini(&resp);

    struct tp read0[1] = {{topic, 0, 3}}; /* the client read p0's 3 records: its new offset */
    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 1, .named = read0, .n = 1}, &resp);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->session_id, sid);
    assert_int_equal(count(r), 0);
    kp_response_fini(&resp);

    assert_int_equal(produce(fd, topic, 1, 2), 0);
    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 2, .named = NULL, .n = 0}, &resp); /* only what changed */
    assert_int_equal(count(r), 1);
    assert_int_equal(find(r, v, topic, 1)->high_watermark, 2);
    assert_true(find(r, v, topic, 1)->records.len > 0);
    kp_response_fini(&resp);

    struct tp moved[1] = {{topic, 1, 2}}; /* the client consumed them */
    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 3, .named = moved, .n = 1}, &resp);
    assert_int_equal(r->session_id, sid);
    assert_int_equal(count(r), 0); /* nothing new past the new offset */
    kp_response_fini(&resp);

    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 3, .named = NULL, .n = 0}, &resp); /* the same epoch again */
    assert_int_equal(r->error_code, KP_ERR_INVALID_FETCH_SESSION_EPOCH);
    assert_int_equal(r->session_id, 0);
    assert_int_equal(count(r), 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = v, .id = sid ^ 0x5a5a, .epoch = 4, .named = NULL, .n = 0}, &resp);
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    kp_response_fini(&resp);

    produce(fd, topic, 2, 1);
    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 4, .named = NULL, .n = 0}, &resp); /* still epoch 4: alive */
    assert_int_equal(count(r), 1);
    assert_non_null(find(r, v, topic, 2));
    kp_response_fini(&resp);

    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = -1, .named = all, .n = 3}, &resp); /* close: served sessionless */
    assert_int_equal(r->session_id, 0);
    assert_int_equal(count(r), 3);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 5, .named = NULL, .n = 0}, &resp);
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    kp_response_fini(&resp);
}

static void test_0116_full_then_incremental_every_version(void **state)
{
    int fd = kb_connect(*state);
    for (int16_t v = 7; v <= 17; v++)
        full_then_incremental(fd, v);
    close(fd);
}

static void test_0116_names_and_ids_do_not_mix(void **state)
{
    struct kp_response resp;
    int fd = kb_connect(*state);
    learn(fd, "mix");
    struct tp p0[1] = {{"mix", 0, 0}};
    const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = 13, .id = 0, .epoch = 0, .named = p0, .n = 1}, &resp);
    int32_t sid = r->session_id;
    assert_true(sid > 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 12, .id = sid, .epoch = 1, .named = NULL, .n = 0}, &resp); /* names, on an id session */
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_TOPIC_ID_ERROR);
    assert_int_equal(r->session_id, 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 13, .id = sid, .epoch = 1, .named = NULL, .n = 0}, &resp); /* nothing was applied */
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->session_id, sid);
    kp_response_fini(&resp);
    close(fd);
}

static void test_0116_forgotten_partitions_leave_the_answer(void **state)
{
    struct kp_response resp;
    int fd = kb_connect(*state);
    struct tp all[3] = {{"fg", 0, 0}, {"fg", 1, 0}, {"fg", 2, 0}};
    learn(fd, "fg");
    const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = all, .n = 3}, &resp);
    int32_t sid = r->session_id;
    kp_response_fini(&resp);
    produce(fd, "fg", 1, 1);
    produce(fd, "fg", 2, 1);
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 1, .named = NULL, .n = 0, .forget = &all[1], .nf = 1}, &resp); /* forget fg-1 */
    assert_int_equal(count(r), 1);
    assert_non_null(find(r, 11, "fg", 2));
    kp_response_fini(&resp);
    struct tp read2[1] = {{"fg", 2, 1}};
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 2, .named = read2, .n = 1}, &resp);
    assert_int_equal(count(r), 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 3, .named = &all[1], .n = 1}, &resp); /* fg-1 again: new to it */
    assert_int_equal(count(r), 1);
    assert_int_equal(find(r, 11, "fg", 1)->high_watermark, 1);
    kp_response_fini(&resp);
    /* Forget everything: the session closes, the answer is sessionless and empty. */
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 4, .named = NULL, .n = 0, .forget = all, .nf = 3}, &resp);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->session_id, 0);
    assert_int_equal(count(r), 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 5, .named = NULL, .n = 0}, &resp);
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    kp_response_fini(&resp);
    close(fd);
}

/* GET /metrics: the value of the first sample line starting with name (-1: none). */
static double metric(const struct kb_broker *b, const char *name)
{
    char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    static char text[1 << 18];
    struct kb_broker m = *b;
    m.port = b->metrics_port;
    int fd = kb_connect(&m);
    size_t len = 0;
    ssize_t n;
    kb_send(fd, req, strlen(req));
    while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    text[len] = 0;
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *at = strstr(text, pat);
    return at ? strtod(at + strlen(pat), NULL) : -1;
}

static void test_0116_a_session_evicted_while_in_use_is_70(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    int a = kb_connect(b), c = kb_connect(b);
    struct tp two[2] = {{"ev", 0, 0}, {"ev", 1, 0}}, three[3] = {{"ev", 0, 0}, {"ev", 1, 0},
                                                                 {"ev", 2, 0}};
    learn(a, "ev");
    const struct kp_fetch_resp *r = fetch(a, &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = two, .n = 2}, &resp);
    int32_t sa = r->session_id;
    assert_true(sa > 0);
    kp_response_fini(&resp);
    r = fetch(a, &(struct fq){.v = 11, .id = sa, .epoch = 1, .named = NULL, .n = 0}, &resp); /* in use */
    assert_int_equal(r->error_code, 0);
    kp_response_fini(&resp);
    kc_sleep_ms(5); /* stale: unused for more than eviction.ms = 0 */
    r = fetch(c, &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = three, .n = 3}, &resp); /* the one slot goes to c */
    int32_t sc = r->session_id;
    assert_true(sc > 0 && sc != sa);
    kp_response_fini(&resp);
    r = fetch(a, &(struct fq){.v = 11, .id = sa, .epoch = 2, .named = NULL, .n = 0}, &resp);
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(count(r), 0);
    kp_response_fini(&resp);
    kc_sleep_ms(5);
    r = fetch(a, &(struct fq){.v = 11, .id = sa, .epoch = 0, .named = two, .n = 2}, &resp); /* a starts over: evicts c */
    assert_int_equal(r->error_code, 0);
    assert_int_equal(count(r), 2);
    kp_response_fini(&resp);
    assert_true(metric(b, "kafka_fetch_session_evictions_total") >= 2);
    assert_true(metric(b, "kafka_fetch_sessions") == 1);
    assert_true(metric(b, "kafka_fetch_requests_by_session_total{context=\"error\"}") == 1);
    close(a);
    close(c);
}

static void test_0116_a_session_survives_a_parked_long_poll(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    int fd = kb_connect(b), pfd = kb_connect(b);
    for (int16_t v = 11; v <= 13; v += 2) {
        char topic[16];
        snprintf(topic, sizeof(topic), "lp%d", v);
        struct tp all[3] = {{topic, 0, 0}, {topic, 1, 0}, {topic, 2, 0}};
        learn(fd, topic);
        const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = v, .id = 0, .epoch = 0, .named = all, .n = 3}, &resp);
        int32_t sid = r->session_id;
        kp_response_fini(&resp);
        int64_t t0 = kc_mono_ms();
        int32_t corr = ++corr_next;
        fetch_send(fd, &(struct fq){.v = v, .id = sid, .epoch = 1, .named = NULL, .n = 0, .wait_ms = 10000}, corr);
        kc_sleep_ms(300); /* parked by now: nothing new anywhere */
        int64_t at = produce(pfd, topic, 2, 2);
        r = kt_recv(fd, KP_API_FETCH, v, corr, buf, sizeof(buf), &resp);
        assert_true(kc_mono_ms() - t0 < 5000); /* woken by the produce, not the timeout */
        assert_int_equal(r->session_id, sid);
        assert_int_equal(count(r), 1); /* only the partition that changed */
        assert_int_equal(find(r, v, topic, 2)->high_watermark, at + 2);
        assert_true(find(r, v, topic, 2)->records.len > 0);
        kp_response_fini(&resp);
        /* Timed out with nothing: an empty answer, and the session goes on. */
        struct tp moved[1] = {{topic, 2, at + 2}};
        r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 2, .named = moved, .n = 1, .wait_ms = 200}, &resp);
        assert_int_equal(r->error_code, 0);
        assert_int_equal(count(r), 0);
        kp_response_fini(&resp);
        r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 3, .named = NULL, .n = 0}, &resp);
        assert_int_equal(r->error_code, 0);
        kp_response_fini(&resp);
    }
    close(fd);
    close(pfd);
}

static void test_0116_many_sessions_under_the_slot_limit(void **state)
{
    struct kp_response resp;
    int fd[5];
    int32_t sid[5];
    struct tp p[3] = {{"many", 0, 0}, {"many", 1, 0}, {"many", 2, 0}};
    for (int i = 0; i < 5; i++) {
        fd[i] = kb_connect(*state);
        if (i == 0)
            learn(fd[0], "many");
        const struct kp_fetch_resp *r = fetch(fd[i], &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = p, .n = 3}, &resp);
        sid[i] = r->session_id;
        assert_int_equal(count(r), 3); /* with or without a session: the full answer */
        for (int j = 0; j < i; j++)
            assert_true(i == 4 || sid[j] != sid[i]);
        kp_response_fini(&resp);
    }
    assert_int_equal(sid[4], 0); /* four slots; none stale, none smaller: no room */
    produce(fd[0], "many", 0, 1);
    for (int i = 0; i < 4; i++) {
        assert_true(sid[i] > 0);
        const struct kp_fetch_resp *r = fetch(fd[i], &(struct fq){.v = 11, .id = sid[i], .epoch = 1, .named = NULL, .n = 0}, &resp);
        assert_int_equal(r->error_code, 0);
        assert_int_equal(count(r), 1);
        kp_response_fini(&resp);
        close(fd[i]);
    }
    close(fd[4]);
}

static void test_0116_refusals_twice_named_and_replica_sessions(void **state)
{
    struct kp_response resp;
    int fd = kb_connect(*state);
    struct tp p[2] = {{"rf", 0, 0}, {"rf", 0, 0}};
    learn(fd, "rf");
    const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = p, .n = 1}, &resp);
    int32_t sid = r->session_id;
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 1, .named = p, .n = 2}, &resp); /* rf-0 twice */
    assert_int_equal(r->error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 11, .id = sid, .epoch = 1, .named = NULL, .n = 0}, &resp); /* nothing was applied */
    assert_int_equal(r->error_code, 0);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 11, .id = 0, .epoch = 0, .named = p, .n = 2}, &resp); /* full, twice: 42 each, no session */
    assert_int_equal(r->session_id, 0);
    assert_int_equal(r->responses.v[0].partitions.v[0].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    for (int16_t v = 11; v <= 15; v += 4) { /* a replica: replica_id, replica_state (v15) */
        r = fetch(fd, &(struct fq){.v = v, .id = 0, .epoch = 0, .named = p, .n = 1, .replica = 1}, &resp);
        sid = r->session_id;
        assert_true(sid > 0); /* a follower's session, as a consumer's (privileged) */
        assert_int_equal(count(r), 1);
        kp_response_fini(&resp);
        r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = 1, .named = NULL, .n = 0, .replica = 1}, &resp);
        assert_int_equal(r->error_code, 0);
        assert_int_equal(r->session_id, sid);
        assert_int_equal(count(r), 0); /* idle: nothing named, nothing answered */
        kp_response_fini(&resp);
        r = fetch(fd, &(struct fq){.v = v, .id = sid, .epoch = -1, .named = p, .n = 1, .replica = 1}, &resp);
        assert_int_equal(r->session_id, 0); /* -1: closed, served sessionless */
        assert_int_equal(count(r), 1);
        kp_response_fini(&resp);
    }
    close(fd);
}

/*
 * A follower's session lives as long as its connection (a fetcher that cut its connection
 * before reading a full Fetch's answer never learns the session it made, and could never
 * close it); a consumer's outlives it, as in Kafka (a client may carry on elsewhere).
 */
static void test_0116_a_followers_session_closes_with_its_connection(void **state)
{
    struct kp_response resp;
    struct tp p[1] = {{"fc", 0, 0}};
    int fd = kb_connect(*state);
    learn(fd, "fc");
    const struct kp_fetch_resp *r = fetch(fd, &(struct fq){.v = 12, .named = p, .n = 1, .replica = 1}, &resp);
    int32_t follower = r->session_id;
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 12, .named = p, .n = 1}, &resp);
    int32_t consumer = r->session_id;
    kp_response_fini(&resp);
    assert_true(follower > 0 && consumer > 0);
    assert_true(metric(*state, "kafka_fetch_sessions") == 2);
    close(fd);
    for (int i = 0; i < 200 && metric(*state, "kafka_fetch_sessions") != 1; i++)
        usleep(10 * 1000); /* the broker sees the close on its loop */
    assert_true(metric(*state, "kafka_fetch_sessions") == 1);
    fd = kb_connect(*state);
    r = fetch(fd, &(struct fq){.v = 12, .id = follower, .epoch = 1, .replica = 1}, &resp);
    assert_int_equal(r->error_code, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    kp_response_fini(&resp);
    r = fetch(fd, &(struct fq){.v = 12, .id = consumer, .epoch = 1}, &resp);
    assert_int_equal(r->error_code, 0); /* carried on from a new connection */
    assert_int_equal(r->session_id, consumer);
    kp_response_fini(&resp);
    close(fd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0116_full_then_incremental_every_version),
        T(test_0116_names_and_ids_do_not_mix),
        T(test_0116_forgotten_partitions_leave_the_answer),
        cmocka_unit_test_setup_teardown(test_0116_a_session_evicted_while_in_use_is_70,
                                        setup_one_slot, kb_teardown),
        T(test_0116_a_session_survives_a_parked_long_poll),
        cmocka_unit_test_setup_teardown(test_0116_many_sessions_under_the_slot_limit,
                                        setup_four_slots, kb_teardown),
        T(test_0116_refusals_twice_named_and_replica_sessions),
        T(test_0116_a_followers_session_closes_with_its_connection),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

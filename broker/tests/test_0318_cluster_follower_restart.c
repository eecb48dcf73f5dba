/*
 * test_0318_cluster_follower_restart - a follower that comes back behind its leader's log
 * start starts its log over there (Kafka's truncateFullyAndStartAt), catches up and
 * rejoins the ISR.
 *
 *   RF 3, segment.bytes 1 KiB, retention.bytes 2 KiB, retention checked every 100 ms
 *   1. 20 records acks=all: every replica holds [0, 20)
 *   2. a follower stops (SIGTERM); acks=1 produces go on until the leader's retention has
 *      deleted past 20 (ListOffsets EARLIEST > 20): the records the follower lacks are gone;
 *      it leaves the ISR (replica.lag.time.max.ms 0.8 s: ISR 2)
 *   3. the follower starts again: its fetch at 20 is OFFSET_OUT_OF_RANGE; it empties its
 *      log, restarts it at the leader's log start, fetches on, and rejoins (ISR 3)
 *   4. its segment files hold exactly the leader's records from its new start to the end,
 *      nothing of its old [0, 20)
 *
 * Before alog_restart_at the follower paused there for good: the ISR never grew back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "trail"
#define FIRST 20 /* records every replica holds before the stop */

/* A 0.8 s lag limit: the stopped follower leaves the ISR (its leader's rule), so that
 * coming back into it is something the restart must earn. */
static const char *const settings[] = {"log.retention.check.interval.ms=100",
                                       "replica.lag.time.max.ms=800",
                                       "replica.fetch.wait.max.ms=100", NULL};

/* CreateTopics v7 of TOPIC, 1 partition, RF 3, with small segments and retention. */
static void create_topic(const struct kb_broker *b)
{
    static const char *const keys[] = {"segment.bytes", "retention.bytes"};
    static const char *const values[] = {"1024", "2048"};
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_create_topics_req *r = KT_NEW(&a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&a, kp_create_topics_req_creatable_topic, 1);
    struct kp_create_topics_req_creatable_topic_config *cf =
        KT_NEW(&a, kp_create_topics_req_creatable_topic_config, 2);
    for (int i = 0; i < 2; i++)
        cf[i] = (struct kp_create_topics_req_creatable_topic_config){kp_slice_str(keys[i]),
                                                                     kp_slice_str(values[i])};
    t->name = kp_slice_str(TOPIC);
    t->num_partitions = 1;
    t->replication_factor = 3;
    KP_SET(t->configs, 2, cf);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    struct kp_create_topics_resp *m = kt_call(fd, KP_API_CREATE_TOPICS, 7, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    assert_int_equal(m->topics.v[0].error_code, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
}

/* ListOffsets v7 of TOPIC-0 at b (ts -2: EARLIEST, the log start): the offset, or -1. */
static int64_t list_offset(const struct kb_broker *b, int64_t ts)
{
    uint8_t buf[1 << 12];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_list_offsets_req *lr = KT_NEW(&a, kp_list_offsets_req, 1);
    struct kp_list_offsets_req_topic *t = KT_NEW(&a, kp_list_offsets_req_topic, 1);
    struct kp_list_offsets_req_partition *p = KT_NEW(&a, kp_list_offsets_req_partition, 1);
    p->timestamp = ts;
    p->current_leader_epoch = -1;
    t->name = kp_slice_str(TOPIC);
    KP_SET(t->partitions, 1, p);
    lr->replica_id = -1;
    KP_SET(lr->topics, 1, t);
    int fd = kb_connect(b);
    const struct kp_list_offsets_resp *m =
        kt_call(fd, KP_API_LIST_OFFSETS, 7, lr, buf, sizeof(buf), &resp);
    close(fd);
    int64_t off = -1;
    if (m->topics.n == 1 && m->topics.v[0].partitions.n == 1 &&
        m->topics.v[0].partitions.v[0].error_code == 0)
        off = m->topics.v[0].partitions.v[0].offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return off;
}

/* One Produce v9 of n records "b<seq>-<i>" (values unique in the whole test). */
static int16_t produce(const struct kb_broker *b, int16_t acks, int seq, int n)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "b%d-", seq);
    return krep_produce_as(b, TOPIC, 0, acks, prefix, n, NULL);
}

/* A replica's records, as its segment files hold them. */
#define MAXREC 4096
struct recs {
    int n;
    int64_t off[MAXREC];
    char val[MAXREC][24];
};

static void on_record(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    struct recs *r = arg;
    assert_true(r->n < MAXREC && len > 0 && len < 24);
    r->off[r->n] = offset;
    memcpy(r->val[r->n], v, (size_t)len);
    r->val[r->n][len] = '\0';
    r->n++;
}

static void read_recs(const struct kb_broker *b, struct recs *r)
{
    r->n = 0;
    int n = krep_log_records(b, TOPIC, 0, on_record, r);
    assert_int_equal(n, r->n);
}

/* Are r's offsets contiguous? (A segment retention deleted between the directory listing
 * and its read leaves a hole in what krep_log_records saw: read again.) */
static bool contiguous(const struct recs *r)
{
    for (int i = 1; i < r->n; i++)
        if (r->off[i] != r->off[0] + i)
            return false;
    return r->n > 0;
}

/* The follower's records: contiguous, from `from` on, ending where the leader's end, each
 * the leader's record at that offset (wherever the leader still has it). */
struct same {
    const struct kb_broker *leader, *follower;
    int64_t from;
    struct recs *l, *f;
};

static bool same_tail(void *arg)
{
    struct same *s = arg;
    read_recs(s->leader, s->l);
    read_recs(s->follower, s->f);
    if (!contiguous(s->l) || !contiguous(s->f) || s->f->off[0] < s->from ||
        s->f->off[s->f->n - 1] != s->l->off[s->l->n - 1])
        return false;
    for (int i = 0; i < s->f->n; i++) {
        int64_t k = s->f->off[i] - s->l->off[0]; /* the leader's index of that offset */
        if (k >= 0)
            assert_string_equal(s->l->val[k], s->f->val[i]);
    }
    return true;
}

struct isr_is {
    const struct kb_broker *b;
    int n;
};

static bool isr_is(void *arg)
{
    struct isr_is *u = arg;
    int32_t leader, epoch;
    int isr;
    krep_leader(u->b, TOPIC, 0, &leader, &epoch, &isr);
    return isr == u->n;
}

/* Produce acks=1 until the leader's log start passes `past` (retention deleted it). */
struct gone {
    const struct kb_broker *b;
    int seq;
    int64_t past, start;
};

static bool produce_until_gone(void *arg)
{
    struct gone *g = arg;
    for (int i = 0; i < 4; i++)
        assert_int_equal(produce(g->b, 1, g->seq++, 10), 0);
    g->start = list_offset(g->b, -2);
    return g->start > g->past;
}

static void test_0318_follower_behind_log_start_restarts_and_rejoins(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, settings);
    create_topic(c->b[1]);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    int32_t leader, epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    const struct kb_broker *lb = c->b[leader];
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *md = kcl_metadata(lb, TOPIC, false, buf, sizeof(buf), &resp);
    int controller = md->controller_id;
    kp_response_fini(&resp);
    int follower = leader % 3 + 1; /* not the controller: its stop moves nothing else */
    if (follower == controller)
        follower = follower % 3 + 1;

    for (int i = 0; i < FIRST / 5; i++)
        assert_int_equal(produce(lb, -1, i, 5), 0);
    static struct recs l, f;
    read_recs(c->b[follower], &f);
    assert_int_equal(f.n, FIRST); /* acks=all: on the follower's disk */

    kb_stop(c->b[follower]);
    struct gone g = {lb, 100, FIRST, -1};
    assert_true(kt_until(produce_until_gone, &g, KB_WAIT_MS));
    struct isr_is two = {lb, 2};
    assert_true(kt_until(isr_is, &two, KB_WAIT_MS)); /* out, by the lag rule */
    printf("# follower %d stopped at %d and out of the ISR; the leader %d's log now starts at "
           "%lld\n", follower, FIRST, (int)leader, (long long)g.start);

    int64_t t0 = kc_mono_ms();
    kcl_start(c, follower, settings);
    struct isr_is three = {lb, 3};
    if (!kt_until(isr_is, &three, KB_WAIT_MS))
        fail_msg("the follower never rejoined the ISR (paused behind the log start?)");
    int64_t rejoin_ms = kc_mono_ms() - t0;
    struct same s = {lb, c->b[follower], g.start, &l, &f};
    assert_true(kt_until(same_tail, &s, KB_WAIT_MS));
    assert_true(kb_log_has(c->b[follower], "log emptied, restarted at"));
    printf("# the follower restarted its log at >= %lld, rejoined the ISR %lld ms after its "
           "start, and holds the leader's [%lld, %lld) (the leader: [%lld, %lld))\n",
           (long long)g.start, (long long)rejoin_ms, (long long)f.off[0],
           (long long)f.off[f.n - 1] + 1, (long long)l.off[0], (long long)l.off[l.n - 1] + 1);
    assert_true(f.off[0] > FIRST); /* nothing of its old log is left */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0318_follower_behind_log_start_restarts_and_rejoins,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}

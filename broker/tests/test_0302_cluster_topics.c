/*
 * test_0302_cluster_topics - topics through the controller: CreateTopics with replication
 * factor 3 through one broker appears in every broker's Metadata with leaders spread and
 * an ISR of 3; a factor above the live brokers is INVALID_REPLICATION_FACTOR (38), more
 * partitions than one assignment znode can name INVALID_PARTITIONS (37), and a topic
 * larger than one ZooKeeper transaction is created in several (every partition led); a
 * produce to the leader succeeds and to a non-leader gets NOT_LEADER_OR_FOLLOWER (6), and
 * so does a Fetch; kcat (librdkafka, which follows Metadata) produces to every partition
 * and reads it back; DeleteTopics removes it from every broker. CreatePartitions grows a
 * topic through the controller: every broker shows the new partitions with leaders and a
 * full ISR, kcat writes to a new one with acks=all and reads it back; fewer partitions is
 * INVALID_PARTITIONS (37), an assignment whose list is shorter than the topic's replication
 * factor INVALID_REPLICA_ASSIGNMENT (39), validate_only changes nothing; with the
 * controller killed, the next one (which loads the grown topic from ZooKeeper) grows it
 * again. Explicit replica assignments, sent by a real client (confluent-kafka's
 * AdminClient, admin_e2e.py assign): CreateTopics and CreatePartitions place every
 * partition's replicas exactly as listed, in order, on every broker, led by the first
 * listed with a full ISR, and data flows with acks=all; a broker that is not live, one
 * named twice, lists of unequal length or of the wrong factor are refused (39), and once
 * a broker is killed an assignment naming it is refused too while one on the survivors
 * is created. A broker given more partitions than its open-files limit can hold open
 * serves those it can, refuses the rest (NOT_LEADER_OR_FOLLOWER), says so in one line,
 * and keeps accepting connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"

#define TOPIC "payments"

/* A raw Produce v9 of one batch to topic-p through b: the partition's error code. */
static int16_t produce_to(const struct kb_broker *b, const char *topic, int32_t p)
{
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    size_t len;
    uint8_t *batch = kb_batch("v", 3, &len);
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *pd =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    pd->index = p;
    pd->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, pd);
    KP_SET(r->topic_data, 1, t);
    r->acks = 1;
    r->timeout_ms = 5000;
    int fd = kb_connect(b);
    struct kp_produce_resp *m = kt_call(fd, KP_API_PRODUCE, 9, r, buf, sizeof(buf), &resp);
    close(fd);
    int16_t err = m->responses.v[0].partition_responses.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
    return err;
}

/* b's Metadata shows every one of topic's n partitions led. */
static bool all_led(const struct kb_broker *b, const char *topic, int32_t n)
{
    size_t cap = 64 + (size_t)n * 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, topic, false, buf, cap, &resp);
    bool ok = m->topics.n == 1 && m->topics.v[0].error_code == 0 &&
              m->topics.v[0].partitions.n == n;
    for (int32_t i = 0; ok && i < n; i++)
        ok = m->topics.v[0].partitions.v[i].leader_id >= 1;
    kp_response_fini(&resp);
    free(buf);
    return ok;
}

static void test_0302_rf3_topic_everywhere_leaders_spread(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    static const char *const wide_ok[] = {"num.partitions.max=100000", NULL};
    kcl_start_cluster(c, 3, wide_ok);
    assert_int_equal(kcl_create_topic(c->b[1], "too-wide", 1, 4), KP_ERR_INVALID_REPLICATION_FACTOR);
    /* an assignment (every partition's replicas, one znode) larger than ZooKeeper takes:
     * refused at once, not retried until ZooKeeper drops the controller's connection */
    assert_int_equal(kcl_create_topic(c->b[1], "too-many", 65000, 3), KP_ERR_INVALID_PARTITIONS);
    int said = 0;
    for (int id = 1; id <= 3; id++) /* the controller, whichever it is */
        said += kb_log_has(c->b[id], "needs one ZooKeeper transaction of");
    assert_int_equal(said, 1);
    /* Larger than one transaction (stop 20 refused anything past ~3,580 partitions at
     * replication factor 1): written in several, every partition led on every broker. A
     * smaller one under Valgrind, still several transactions (500 operations each). */
    int32_t wide = getenv("KC_BROKER_WRAP") ? 600 : 4000;
    int64_t t0 = kc_mono_ms();
    assert_int_equal(kcl_create_topic(c->b[1], "wide", wide, 1), KP_ERR_NONE);
    printf("# wide: %d partitions created in %lld ms\n", (int)wide, (long long)(kc_mono_ms() - t0));
    for (int id = 1; id <= 3; id++) {
        int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
        while (!all_led(c->b[id], "wide", wide) && kc_mono_ms() < deadline)
            kc_sleep_ms(100);
        if (!all_led(c->b[id], "wide", wide))
            fail_msg("broker %d never showed wide's %d partitions, each led", id, (int)wide);
    }
    assert_int_equal(kcl_create_topic(c->b[2], TOPIC, 3, 3), KP_ERR_NONE);
    assert_int_equal(kcl_create_topic(c->b[3], TOPIC, 3, 3), KP_ERR_TOPIC_ALREADY_EXISTS);
    uint8_t buf[1 << 16];
    struct kp_response resp;
    /* the broker that answered has it at once, with its leaders */
    struct kp_metadata_resp *m = kcl_metadata(c->b[2], TOPIC, false, buf, sizeof(buf), &resp);
    assert_int_equal(m->topics.v[0].error_code, 0);
    kp_response_fini(&resp);
    int32_t leaders[3];
    for (int id = 1; id <= 3; id++) {
        struct kcl_until_topic u = {c->b[id], TOPIC, 3, 3};
        if (!kt_until(kcl_topic_ready, &u, KB_WAIT_MS))
            fail_msg("broker %d never showed %s with leaders and an ISR of 3", id, TOPIC);
        m = kcl_metadata(c->b[id], TOPIC, false, buf, sizeof(buf), &resp);
        bool seen[4] = {false};
        for (int32_t p = 0; p < 3; p++) {
            const struct kp_metadata_resp_partition *mp = kcl_part(m, p);
            assert_int_equal(mp->replica_nodes.n, 3);
            assert_int_equal(mp->offline_replicas.n, 0);
            if (id == 1)
                leaders[p] = mp->leader_id;
            assert_int_equal(mp->leader_id, leaders[p]); /* every broker agrees */
            seen[mp->leader_id] = true;
        }
        assert_true(seen[1] && seen[2] && seen[3]); /* spread: each leads one */
        kp_response_fini(&resp);
    }
    printf("# %s: leaders %d %d %d\n", TOPIC, (int)leaders[0], (int)leaders[1],
           (int)leaders[2]);
    for (int32_t p = 0; p < 3; p++) {
        assert_int_equal(produce_to(c->b[leaders[p]], TOPIC, p), KP_ERR_NONE);
        int other = leaders[p] % 3 + 1;
        assert_int_equal(produce_to(c->b[other], TOPIC, p), KP_ERR_NOT_LEADER_OR_FOLLOWER);
        /* the native door: its own NOT_LEADER (21), and the leader takes it */
        struct np_client nc;
        struct np_produce_req req = {kp_slice_str(TOPIC), p, 1, -1, {NULL, -1},
                                     kp_slice_str("native")};
        struct np_produce_resp nr;
        kb_client(c->b[other], &nc);
        int rc = np_client_produce(&nc, &req, &nr);
        if (rc != NP_ERR(NP_E_NOT_LEADER) || !strstr(nc.errmsg, "does not lead"))
            fail_msg("native produce to a non-leader: %d %s", rc, nc.errmsg);
        np_client_close(&nc);
        kb_client(c->b[leaders[p]], &nc);
        assert_int_equal(np_client_produce(&nc, &req, &nr), 0);
        np_client_close(&nc);
    }
    /* the native door cannot create a topic behind the controller's back */
    struct np_client nc;
    struct np_create_topic_resp cr;
    kb_client(c->b[1], &nc);
    assert_int_equal(np_client_create_topic(&nc, "native-made", 1, &cr), NP_ERR(NP_E_INVALID_REQUEST));
    np_client_close(&nc);
}

/* kcat -P to every partition through one broker: librdkafka sends each batch to its
 * partition's leader, as Metadata says; kcat -C reads each partition back. */
static void test_0302_kcat_produces_to_every_partition(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
    for (int p = 0; p < 3; p++) {
        char part[16], in[64], *out, *err;
        size_t len;
        snprintf(part, sizeof(part), "%d", p);
        int n = snprintf(in, sizeof(in), "a%d\nb%d\nc%d\n", p, p, p);
        const char *prod[] = {"kcat", "-b", c->b[1]->addr, "-P", "-t", TOPIC, "-p", part, NULL};
        int rc = kt_run(c->b[1], prod, in, (size_t)n, KB_WAIT_MS, &out, &len, &err);
        if (rc != 0)
            fail_msg("kcat -P -p %d exited %d: %s", p, rc, err);
        free(out);
        free(err);
        const char *cons[] = {"kcat", "-b", c->b[1]->addr, "-C", "-t", TOPIC, "-p", part,
                              "-o", "beginning", "-e", NULL};
        rc = kt_run(c->b[1], cons, NULL, 0, KB_WAIT_MS, &out, &len, &err);
        if (rc != 0 || strcmp(out, in) != 0)
            fail_msg("kcat -C -p %d exited %d, read '%s' (want '%s'): %s", p, rc, out, in, err);
        free(out);
        free(err);
    }
}

static void test_0302_delete_topic_leaves_every_broker(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    assert_int_equal(kcl_create_topic(c->b[3], "doomed", 2, 2), KP_ERR_NONE);
    /* broker 1 learns of it a moment later (its view, like Kafka's metadata cache, lags the
     * controller: a DeleteTopics before that is UNKNOWN_TOPIC_OR_PARTITION, and retried) */
    struct kcl_until_topic u = {c->b[1], "doomed", 2, 2};
    assert_true(kt_until(kcl_topic_ready, &u, KB_WAIT_MS));
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_delete_topics_req *r = KT_NEW(&a, kp_delete_topics_req, 1);
    struct kc_slice *names = kp_arena_alloc(&a, sizeof(*names));
    names[0] = kp_slice_str("doomed");
    KP_SET(r->topic_names, 1, names);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(c->b[1]);
    struct kp_delete_topics_resp *m = kt_call(fd, KP_API_DELETE_TOPICS, 5, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    assert_int_equal(m->responses.v[0].error_code, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    for (int id = 1; id <= 3; id++) {
        uint8_t mb[1 << 14];
        int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
        int16_t err;
        do {
            struct kp_metadata_resp *md = kcl_metadata(c->b[id], "doomed", false, mb,
                                                       sizeof(mb), &resp);
            err = md->topics.v[0].error_code;
            kp_response_fini(&resp);
        } while (err != KP_ERR_UNKNOWN_TOPIC_OR_PARTITION && kc_mono_ms() < deadline &&
                 (kc_sleep_ms(50), true));
        assert_int_equal(err, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
}

/* CreatePartitions v3 of topic to count through b (assign: one explicit assignment per
 * new partition, to broker 1). The topic's error code; its message into msg. */
static int16_t grow(const struct kb_broker *b, const char *topic, int32_t count, bool validate,
                    bool assign, char *msg, size_t cap)
{
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_create_partitions_req *r = KT_NEW(&a, kp_create_partitions_req, 1);
    struct kp_create_partitions_req_topic *t = KT_NEW(&a, kp_create_partitions_req_topic, 1);
    t->name = kp_slice_str(topic);
    t->count = count;
    t->assignments.n = -1; /* null: the controller places them */
    if (assign) {
        struct kp_create_partitions_req_assignment *as =
            KT_NEW(&a, kp_create_partitions_req_assignment, 1);
        int32_t *one = kp_arena_alloc(&a, sizeof(*one));
        *one = 1;
        KP_SET(as->broker_ids, 1, one);
        KP_SET(t->assignments, 1, as);
    }
    KP_SET(r->topics, 1, t);
    r->timeout_ms = KB_WAIT_MS;
    r->validate_only = validate;
    int fd = kb_connect(b);
    struct kp_create_partitions_resp *m =
        kt_call(fd, KP_API_CREATE_PARTITIONS, 3, r, buf, sizeof(buf), &resp);
    close(fd);
    assert_int_equal(m->results.n, 1);
    int16_t err = m->results.v[0].error_code;
    struct kc_slice em = m->results.v[0].error_message;
    snprintf(msg, cap, "%.*s", em.len > 0 ? (int)em.len : 0, em.len > 0 ? (const char *)em.p : "");
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static int32_t partitions_of(const struct kb_broker *b, const char *topic)
{
    uint8_t buf[1 << 16];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, topic, false, buf, sizeof(buf), &resp);
    int32_t n = m->topics.v[0].partitions.n;
    kp_response_fini(&resp);
    return n;
}

/* kcat writes three records to topic-p with acks=all and reads them back. */
static void kcat_roundtrip(const struct kb_broker *b, const char *topic, int p)
{
    char part[16], in[64], *out, *err;
    size_t len;
    snprintf(part, sizeof(part), "%d", p);
    int n = snprintf(in, sizeof(in), "x%d\ny%d\nz%d\n", p, p, p);
    const char *prod[] = {"kcat", "-b", b->addr, "-P", "-t", topic, "-p", part,
                          "-X", "acks=all", NULL};
    int rc = kt_run(b, prod, in, (size_t)n, KB_WAIT_MS, &out, &len, &err);
    if (rc != 0)
        fail_msg("kcat -P -p %d exited %d: %s", p, rc, err);
    free(out);
    free(err);
    const char *cons[] = {"kcat", "-b", b->addr, "-C", "-t", topic, "-p", part,
                          "-o", "beginning", "-e", NULL};
    rc = kt_run(b, cons, NULL, 0, KB_WAIT_MS, &out, &len, &err);
    if (rc != 0 || strcmp(out, in) != 0)
        fail_msg("kcat -C -p %d exited %d, read '%s' (want '%s'): %s", p, rc, out, in, err);
    free(out);
    free(err);
}

/* b shows pair's 3 partitions, each led by a live broker; the new ones (1, 2) placed on
 * the two live brokers only, both in sync. */
struct pair_grown {
    const struct kb_broker *b;
    int dead;
};

static bool pair_grown(void *arg)
{
    struct pair_grown *u = arg;
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(u->b, "pair", false, buf, sizeof(buf), &resp);
    bool ok = m->topics.n == 1 && m->topics.v[0].error_code == 0 &&
              m->topics.v[0].partitions.n == 3;
    for (int32_t p = 0; ok && p < 3; p++) {
        const struct kp_metadata_resp_partition *mp = kcl_part(m, p);
        ok = mp && mp->leader_id >= 1 && mp->leader_id != u->dead;
        for (int32_t r = 0; ok && p > 0 && r < mp->replica_nodes.n; r++)
            ok = mp->replica_nodes.v[r] != u->dead && mp->isr_nodes.n == 2;
    }
    kp_response_fini(&resp);
    return ok;
}

static void test_0302_create_partitions_through_the_controller(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    struct kcl *c = *state;
    char msg[256];
    kcl_start_cluster(c, 3, NULL);
    assert_int_equal(kcl_create_topic(c->b[1], "growing", 2, 3), KP_ERR_NONE);
    assert_int_equal(kcl_create_topic(c->b[1], "pair", 1, 2), KP_ERR_NONE);
    kcl_await_topic(c, 3, "growing", 2, 3);
    kcl_await_topic(c, 3, "pair", 1, 2);
    assert_int_equal(grow(c->b[2], "growing", 1, false, false, msg, sizeof(msg)),
                     KP_ERR_INVALID_PARTITIONS);
    assert_int_equal(grow(c->b[2], "growing", 2, false, false, msg, sizeof(msg)),
                     KP_ERR_INVALID_PARTITIONS);
    assert_int_equal(grow(c->b[2], "growing", 3, false, true, msg, sizeof(msg)),
                     KP_ERR_INVALID_REPLICA_ASSIGNMENT);
    /* the controller takes explicit assignments now, but not a list of 1 for a topic of 3 */
    if (!strstr(msg, "Inconsistent replication factor"))
        fail_msg("a short assignment's refusal says '%s'", msg);
    assert_int_equal(grow(c->b[2], "growing", 5, true, false, msg, sizeof(msg)), KP_ERR_NONE);
    assert_int_equal(partitions_of(c->b[2], "growing"), 2); /* validate_only */
    assert_int_equal(grow(c->b[2], "growing", 5, false, false, msg, sizeof(msg)), KP_ERR_NONE);
    assert_int_equal(partitions_of(c->b[2], "growing"), 5); /* the broker that answered: at once */
    kcl_await_topic(c, 3, "growing", 5, 3);
    kcat_roundtrip(c->b[3], "growing", 4);
    kcat_roundtrip(c->b[3], "growing", 0); /* an old partition still works */
    /* The controller dies; the next one loads the grown topic and grows another. */
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *md = kcl_metadata(c->b[1], "growing", false, buf, sizeof(buf), &resp);
    int controller = md->controller_id;
    kp_response_fini(&resp);
    assert_true(controller >= 1 && controller <= 3);
    kb_kill9(c->b[controller]);
    int other = controller % 3 + 1;
    assert_int_equal(grow(c->b[other], "pair", 3, false, false, msg, sizeof(msg)), KP_ERR_NONE);
    for (int id = 1; id <= 3; id++) {
        if (id == controller)
            continue;
        struct pair_grown u = {c->b[id], controller};
        if (!kt_until(pair_grown, &u, KB_WAIT_MS))
            fail_msg("broker %d never showed pair's 3 partitions led, the new ones on the live "
                     "brokers", id);
        assert_int_equal(partitions_of(c->b[id], "growing"), 5);
    }
    printf("# growing: 2 -> 5 partitions; controller %d killed; pair: 1 -> 3 through broker %d\n",
           controller, other);
}

/* ---- explicit replica assignments --------------------------------------------------------- */

#define PYTHON KT_PYTHON /* Debian's: the one python3-confluent-kafka is for */

/* CreateTopics v7 of name through b with an explicit assignment: nparts lists of rf
 * brokers each (ids, row by row), num_partitions and replication_factor -1 as Kafka
 * requires. The topic's error code; its message into msg. */
static int16_t create_assigned(const struct kb_broker *b, const char *name, const int32_t *ids,
                               int32_t nparts, int32_t rf, char *msg, size_t cap)
{
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_create_topics_req *r = KT_NEW(&a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&a, kp_create_topics_req_creatable_topic, 1);
    struct kp_create_topics_req_creatable_replica_assignment *as =
        KT_NEW(&a, kp_create_topics_req_creatable_replica_assignment, nparts);
    for (int32_t p = 0; p < nparts; p++) {
        as[p].partition_index = p;
        KP_SET(as[p].broker_ids, rf, (int32_t *)&ids[p * rf]); /* only read, by the encoder */
    }
    t->name = kp_slice_str(name);
    t->num_partitions = -1;
    t->replication_factor = -1;
    KP_SET(t->assignments, nparts, as);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    struct kp_create_topics_resp *m = kt_call(fd, KP_API_CREATE_TOPICS, 7, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    assert_int_equal(m->topics.n, 1);
    int16_t err = m->topics.v[0].error_code;
    if (err == 0) { /* the answer states the shape the assignment gave */
        assert_int_equal(m->topics.v[0].num_partitions, nparts);
        assert_int_equal(m->topics.v[0].replication_factor, rf);
    }
    struct kc_slice em = m->topics.v[0].error_message;
    snprintf(msg, cap, "%.*s", em.len > 0 ? (int)em.len : 0, em.len > 0 ? (const char *)em.p : "");
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* Does b's Metadata show topic with n partitions, partition p's replicas exactly want[p]
 * (2 each, in order, whoever is alive: an assignment outlives its brokers), led by the
 * first of them that is not dead (0: none is), with the live ones as its ISR? */
struct placed {
    const struct kb_broker *b;
    const char *topic;
    const int32_t (*want)[2];
    int32_t n;
    int dead;
};

static bool placed_as_asked(void *arg)
{
    struct placed *u = arg;
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(u->b, u->topic, false, buf, sizeof(buf), &resp);
    bool ok = m->topics.n == 1 && m->topics.v[0].error_code == 0 &&
              m->topics.v[0].partitions.n == u->n;
    for (int32_t p = 0; ok && p < u->n; p++) {
        const struct kp_metadata_resp_partition *mp = kcl_part(m, p);
        const int32_t *w = u->want[p];
        int live = 2 - (w[0] == u->dead) - (w[1] == u->dead);
        ok = mp && mp->replica_nodes.n == 2 && mp->replica_nodes.v[0] == w[0] &&
             mp->replica_nodes.v[1] == w[1] && mp->leader_id == (w[0] == u->dead ? w[1] : w[0]);
        ok = ok && mp->isr_nodes.n == live;
    }
    kp_response_fini(&resp);
    return ok;
}

/* Every one of brokers 1..3 but dead shows topic placed as want says. */
static void await_placed(struct kcl *c, const char *topic, const int32_t (*want)[2], int32_t n,
                         int dead)
{
    for (int id = 1; id <= 3; id++) {
        struct placed u = {c->b[id], topic, want, n, dead};
        if (id != dead && !kt_until(placed_as_asked, &u, KB_WAIT_MS))
            fail_msg("broker %d never showed %s's %d partitions placed as assigned", id,
                     topic, (int)n);
    }
}

/* A real client's assignments, created and grown through the controller: the replicas
 * land where they were asked, in order (the first listed leads), on every broker; a
 * broker that died is no longer one an assignment may name. */
static void test_0302_explicit_assignments(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    kt_require(PYTHON, "python3");
    if (system(PYTHON " -c 'import confluent_kafka' 2>/dev/null") != 0)
        fail_msg("confluent-kafka is not installed: run scripts/deps.sh test (Debian package "
                 "python3-confluent-kafka)");
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    const char *args[] = {"assign", c->b[1]->addr, "as-"};
    char *out = kt_admin_e2e(c->b[1], args, 3);
    assert_non_null(strstr(out, "create placed 0\n"));
    assert_non_null(strstr(out, "grow placed 0\n"));
    assert_non_null(strstr(out, "create duplicate broker 39\n"));
    assert_non_null(strstr(out, "grow short list 39\n"));
    assert_non_null(strstr(out, "\nok\n"));
    free(out);
    static const int32_t want[5][2] = {{3, 1}, {2, 3}, {1, 2}, {2, 1}, {3, 2}};
    await_placed(c, "as-placed", want, 5, 0);
    kcat_roundtrip(c->b[1], "as-placed", 0); /* led by 3, followed by 1: acks=all waits on 1 */
    /* Broker 3 dies: once its session expires it is not live, so no list may name it. */
    kb_kill9(c->b[3]);
    struct kcl_until_brokers ub = {c->b[1], 2};
    if (!kt_until(kcl_has_brokers, &ub, KB_WAIT_MS))
        fail_msg("broker 1 never listed 2 brokers after broker 3 was killed");
    char msg[256];
    assert_int_equal(create_assigned(c->b[1], "as-on-dead", (const int32_t[]){3, 1}, 1, 2, msg,
                                     sizeof(msg)), KP_ERR_INVALID_REPLICA_ASSIGNMENT);
    if (!strstr(msg, "3 is not a live broker"))
        fail_msg("an assignment naming a dead broker was refused with '%s'", msg);
    assert_int_equal(create_assigned(c->b[1], "as-after", (const int32_t[]){1, 2}, 1, 2, msg,
                                     sizeof(msg)), KP_ERR_NONE);
    static const int32_t after[1][2] = {{1, 2}};
    await_placed(c, "as-after", after, 1, 3);
    /* and the placed topic's partitions that 3 led pass to the next listed replica, 3
     * out of every ISR */
    await_placed(c, "as-placed", want, 5, 3);
}

/* A broker whose open-files limit is 1,300 (prlimit in front of it: the broker raises its
 * soft limit to the hard one) pins at most 276 replica logs, keeping 1,024 descriptors
 * back: a topic of 400 partitions, all led there, is created; the first ones are served,
 * the last refused, and the broker stays healthy. */
static void test_0302_more_partitions_than_descriptors(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("prlimit", "util-linux");
    struct kcl *c = *state;
    const char *was = getenv("KC_BROKER_WRAP");
    char wrap[512], *saved = was ? strdup(was) : NULL;
    snprintf(wrap, sizeof(wrap), "prlimit --nofile=1300:1300 %s", was ? was : "");
    setenv("KC_BROKER_WRAP", wrap, 1);
    kcl_start(c, 1, NULL);
    if (saved)
        setenv("KC_BROKER_WRAP", saved, 1);
    else
        unsetenv("KC_BROKER_WRAP");
    free(saved);
    kcl_await_brokers(c, 1);
    assert_int_equal(kcl_create_topic(c->b[1], "many", 400, 1), KP_ERR_NONE);
    const char *said = "replica loads were refused: this broker holds ";
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
    while (!kb_log_has(c->b[1], said) && kc_mono_ms() < deadline)
        kc_sleep_ms(100);
    assert_true(kb_log_has(c->b[1], said));
    assert_int_equal(produce_to(c->b[1], "many", 0), KP_ERR_NONE);
    assert_int_equal(produce_to(c->b[1], "many", 200), KP_ERR_NONE);
    assert_int_equal(produce_to(c->b[1], "many", 399), KP_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_true(all_led(c->b[1], "many", 400)); /* new connections, Metadata: still served */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0302_rf3_topic_everywhere_leaders_spread, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0302_kcat_produces_to_every_partition, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0302_delete_topic_leaves_every_broker, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0302_create_partitions_through_the_controller,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0302_explicit_assignments, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0302_more_partitions_than_descriptors, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}

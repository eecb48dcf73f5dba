/*
 * test_0312_cluster_topic_ids - one topic id per topic, cluster-wide: the controller
 * draws it at creation and keeps it in /brokers/topics/<t> (Kafka's "topic_id"), every
 * broker makes its local logs with it (partition.metadata), so Metadata shows the same id
 * on all three and across a restart, and a Fetch v13 by that id works at the leader of
 * every partition (and is NOT_LEADER_OR_FOLLOWER elsewhere, not UNKNOWN_TOPIC_ID). A
 * broker that was down while the topic was deleted and created again finds local logs
 * with the old id: it deletes them and makes the new topic's. __consumer_offsets, which
 * each broker's core made with an id of its own before joining, takes ZooKeeper's id on
 * all three (each logs "takes the cluster's topic id <it>"), keeps it across a restart, and
 * a Fetch v13 by that id is not UNKNOWN_TOPIC_ID on any of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcg.h"
#include "part.h"

#define TOPIC "ledger"
#define OFFSETS "__consumer_offsets"

/* A small __consumer_offsets: it is made on the first FindCoordinator. */
static const char *const settings[] = {"offsets.topic.num.partitions=3", NULL};

/* topic's id and partition p's leader as b's Metadata (v12) says them. */
static struct kp_uuid id_of(const struct kb_broker *b, const char *topic, int32_t p,
                            int32_t *leader)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, topic, false, buf, sizeof(buf), &resp);
    assert_int_equal(m->topics.n, 1);
    assert_int_equal(m->topics.v[0].error_code, 0);
    struct kp_uuid id = m->topics.v[0].topic_id;
    const struct kp_metadata_resp_partition *pp = kcl_part(m, p);
    if (leader)
        *leader = pp ? pp->leader_id : -1;
    kp_response_fini(&resp);
    return id;
}

static struct kp_uuid topic_id(const struct kb_broker *b, int32_t p, int32_t *leader)
{
    return id_of(b, TOPIC, p, leader);
}

static bool uuid_zero(struct kp_uuid u)
{
    static const struct kp_uuid zero;
    return memcmp(&u, &zero, sizeof(u)) == 0;
}

/* Fetch v13 of partition p by topic id at b: the partition's error; *hw its high
 * watermark. */
static int16_t fetch_by_id(const struct kb_broker *b, struct kp_uuid id, int32_t p, int64_t *hw)
{
    static uint8_t buf[1 << 16];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_fetch_req *r = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *pp = KT_NEW(&a, kp_fetch_req_partition, 1);
    pp->partition = p;
    pp->fetch_offset = 0;
    pp->partition_max_bytes = 1 << 15;
    t->topic_id = id;
    KP_SET(t->partitions, 1, pp);
    KP_SET(r->topics, 1, t);
    r->max_wait_ms = 0;
    r->min_bytes = 0;
    r->max_bytes = 1 << 15;
    int fd = kb_connect(b);
    struct kp_fetch_resp *m = kt_call(fd, KP_API_FETCH, 13, r, buf, sizeof(buf), &resp);
    close(fd);
    assert_int_equal(m->responses.n, 1);
    int16_t err = m->responses.v[0].partitions.v[0].error_code;
    *hw = m->responses.v[0].partitions.v[0].high_watermark;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

struct same_id {
    const struct kb_broker *b;
    struct kp_uuid want;
    const char *topic; /* NULL: TOPIC */
};

static bool has_id(void *arg)
{
    struct same_id *s = arg;
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m =
        kcl_metadata(s->b, s->topic ? s->topic : TOPIC, false, buf, sizeof(buf), &resp);
    bool ok = m->topics.n == 1 && m->topics.v[0].error_code == 0 &&
              memcmp(&m->topics.v[0].topic_id, &s->want, sizeof(s->want)) == 0;
    kp_response_fini(&resp);
    return ok;
}

/* Until every broker shows one id for __consumer_offsets (*out), the one each says it took
 * from ZooKeeper: each core made the topic with an id of its own before joining. */
struct offsets_ids {
    struct kcl *c;
    struct kp_uuid id;
};

static bool offsets_one_id(void *arg)
{
    struct offsets_ids *o = arg;
    char text[64], line[128];
    for (int id = 1; id <= 3; id++) {
        struct kp_uuid u = id_of(o->c->b[id], OFFSETS, 0, NULL);
        if (id == 1)
            o->id = u;
        if (uuid_zero(u) || memcmp(&u, &o->id, sizeof(u)) != 0)
            return false;
    }
    struct part_topic_id pid; /* the same 16 bytes, printed as the broker logs them */
    memcpy(pid.b, o->id.b, sizeof(pid.b));
    part_topic_id_str(&pid, text);
    snprintf(line, sizeof(line), "cluster: " OFFSETS " takes the cluster's topic id %s", text);
    for (int id = 1; id <= 3; id++)
        if (!kb_log_has(o->c->b[id], line))
            return false;
    return true;
}

/* The same id everywhere, ZooKeeper's; Fetch v13 by it finds the topic on every broker (a
 * follower says NOT_LEADER_OR_FOLLOWER, never UNKNOWN_TOPIC_ID). */
static struct kp_uuid offsets_same_id(struct kcl *c)
{
    struct kcg_until_coordinator u = {c->b[1], "g", -1, 0}; /* makes __consumer_offsets */
    assert_true(kt_until(kcg_has_coordinator, &u, KB_WAIT_MS));
    struct offsets_ids o = {c, {{0}}};
    if (!kt_until(offsets_one_id, &o, KB_WAIT_MS))
        fail_msg("the brokers show different topic ids for " OFFSETS);
    int32_t leader;
    (void)id_of(c->b[1], OFFSETS, 0, &leader);
    for (int id = 1; id <= 3; id++) {
        int64_t hw = -1;
        int16_t err = fetch_by_id(c->b[id], o.id, 0, &hw);
        assert_int_equal(err, id == leader ? KP_ERR_NONE : KP_ERR_NOT_LEADER_OR_FOLLOWER);
    }
    return o.id;
}

static void test_0312_one_topic_id_everywhere_and_fetch_by_id(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, settings);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
    struct kp_uuid id1 = topic_id(c->b[1], 0, NULL);
    assert_false(uuid_zero(id1));
    for (int id = 2; id <= 3; id++) {
        struct same_id s = {c->b[id], id1, NULL};
        if (!kt_until(has_id, &s, KB_WAIT_MS))
            fail_msg("broker %d shows another topic id for %s", id, TOPIC);
    }
    for (int p = 0; p < 3; p++) { /* three records in every partition, at its leader */
        char part[16], *out, *err;
        snprintf(part, sizeof(part), "%d", p);
        const char *prod[] = {"kcat", "-b", c->b[1]->addr, "-P", "-t", TOPIC, "-p", part, NULL};
        assert_int_equal(kt_run(c->b[1], prod, "a\nb\nc\n", 6, KB_WAIT_MS, &out, NULL, &err), 0);
        free(out);
        free(err);
    }
    for (int32_t p = 0; p < 3; p++) {
        int32_t leader;
        int64_t hw = -1;
        (void)topic_id(c->b[1], p, &leader);
        assert_int_equal(fetch_by_id(c->b[leader], id1, p, &hw), KP_ERR_NONE);
        assert_int_equal(hw, 3);
        int other = leader % 3 + 1;
        assert_int_equal(fetch_by_id(c->b[other], id1, p, &hw), KP_ERR_NOT_LEADER_OR_FOLLOWER);
    }
    struct kp_uuid offsets = offsets_same_id(c);
    kb_stop(c->b[2]); /* a restart keeps both */
    kcl_start(c, 2, settings);
    struct same_id s = {c->b[2], id1, NULL};
    assert_true(kt_until(has_id, &s, KB_WAIT_MS));
    struct same_id so = {c->b[2], offsets, OFFSETS};
    assert_true(kt_until(has_id, &so, KB_WAIT_MS));
    char text[64];
    snprintf(text, sizeof(text), "%02x%02x...", id1.b[0], id1.b[1]);
    printf("# %s has one topic id (%s) on brokers 1, 2, 3 and after broker 2's restart; "
           "Fetch v13 by id served at every partition's leader; so has " OFFSETS
           ", ZooKeeper's\n", TOPIC, text);
}

static int16_t delete_topic(const struct kb_broker *b)
{
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_delete_topics_req *r = KT_NEW(&a, kp_delete_topics_req, 1);
    struct kc_slice *names = kp_arena_alloc(&a, sizeof(*names));
    names[0] = kp_slice_str(TOPIC);
    KP_SET(r->topic_names, 1, names);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    struct kp_delete_topics_resp *m = kt_call(fd, KP_API_DELETE_TOPICS, 5, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    int16_t err = m->responses.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static bool gone(void *arg)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(arg, TOPIC, false, buf, sizeof(buf), &resp);
    bool ok = m->topics.v[0].error_code == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    kp_response_fini(&resp);
    return ok;
}

/* Until b names a live controller other than broker 3. */
static bool controller_moved(void *arg)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(arg, NULL, false, buf, sizeof(buf), &resp);
    bool ok = m->controller_id >= 1 && m->controller_id != 3;
    kp_response_fini(&resp);
    return ok;
}

static void test_0312_stale_logs_of_a_recreated_topic_are_deleted(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
    struct kp_uuid old = topic_id(c->b[3], 0, NULL);
    kb_stop(c->b[3]); /* away while the name changes hands */
    struct kcl_until_brokers two = {c->b[1], 2};
    assert_true(kt_until(kcl_has_brokers, &two, KB_WAIT_MS));
    assert_true(kt_until(controller_moved, c->b[1], KB_WAIT_MS)); /* if 3 was it */
    assert_int_equal(delete_topic(c->b[1]), KP_ERR_NONE);
    assert_true(kt_until(gone, c->b[1], KB_WAIT_MS));
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 2), KP_ERR_NONE);
    struct kcl_until_topic u = {c->b[1], TOPIC, 3, 2};
    assert_true(kt_until(kcl_topic_ready, &u, KB_WAIT_MS));
    struct kp_uuid fresh = topic_id(c->b[1], 0, NULL);
    assert_memory_not_equal(&old, &fresh, sizeof(old));
    kcl_start(c, 3, NULL);
    struct same_id s = {c->b[3], fresh, NULL};
    if (!kt_until(has_id, &s, KB_WAIT_MS))
        fail_msg("broker 3 never showed the new topic's id");
    assert_true(kb_log_has(c->b[3], "an older topic of that name; its logs are deleted"));
    printf("# broker 3 came back to a recreated %s: its old logs were deleted, the new "
           "topic's made with the new id\n", TOPIC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0312_one_topic_id_everywhere_and_fetch_by_id,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0312_stale_logs_of_a_recreated_topic_are_deleted,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}

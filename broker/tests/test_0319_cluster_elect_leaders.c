/*
 * test_0319_cluster_elect_leaders.c - ElectLeaders on three brokers, through kafka_cli
 * elect-leaders (Kafka's kafka-leader-election.sh) and one raw v0 request. Automatic
 * balancing is off (auto.leader.rebalance.enable=false), so only the operator moves a
 * leadership back:
 *
 *   - partition 0's preferred replica stopped (SIGTERM: its leadership moves away): a
 *     preferred election is PREFERRED_LEADER_NOT_AVAILABLE, nothing changes;
 *   - back and in sync again: --all-topic-partitions elects it, in a new leader epoch,
 *     and the broker that answered already shows it (the answer waits for its view);
 *     asked again, "valid replica already elected" (ELECTION_NOT_NEEDED), and --all
 *     finds nothing to do; a raw v0 request says 84 too; an unknown election type is
 *     INVALID_REQUEST, and a request for every partition then lists none;
 *   - an unknown partition is UNKNOWN_TOPIC_OR_PARTITION; an unclean election of a led
 *     partition is not needed; of a partition whose only replica was killed, there is no
 *     live replica to elect: ELIGIBLE_LEADERS_NOT_AVAILABLE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"

#define TOPIC "e"
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const settings[] = {"auto.leader.rebalance.enable=false", NULL};

/* Run kafka_cli against b; check the status and that stdout/stderr contain the strings
 * (NULL: anything). */
static void cli(const struct kb_broker *b, int status, const char *out, const char *err,
                const char *const *args)
{
    char *o, *e;
    int rc = kb_cli(b, NULL, &o, &e, args);
    if (rc != status || (out && !strstr(o, out)) || (err && !strstr(e, err)))
        fail_msg("kafka_cli %s %s %s: status %d (want %d)\nstdout: [%s]\nstderr: [%s]",
                 args[0], args[1] ? args[1] : "", args[1] && args[2] ? args[2] : "", rc,
                 status, o, e);
    free(o);
    free(e);
}

/* Partition p of topic as broker b sees it: leader, epoch, first replica, in the ISR? */
struct pview {
    int32_t leader, epoch, first;
    bool first_in_sync;
};

static struct pview view_of(const struct kb_broker *b, const char *topic, int32_t p)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, topic, false, buf, sizeof(buf), &resp);
    const struct kp_metadata_resp_partition *mp = kcl_part(m, p);
    struct pview v = {-1, -1, -1, false};
    if (mp) {
        v = (struct pview){mp->leader_id, mp->leader_epoch,
                           mp->replica_nodes.n > 0 ? mp->replica_nodes.v[0] : -1, false};
        for (int32_t i = 0; i < mp->isr_nodes.n; i++)
            v.first_in_sync |= mp->isr_nodes.v[i] == v.first;
    }
    kp_response_fini(&resp);
    return v;
}

struct wait_p {
    const struct kb_broker *b;
    const char *topic;
    int32_t leader_not; /* until the leader is another one (-2: any) */
    bool first_in_sync; /* and, if set, the first replica is in sync */
    bool offline;       /* or: until it has no leader */
};

static bool p0_state(void *arg)
{
    struct wait_p *u = arg;
    struct pview v = view_of(u->b, u->topic, 0);
    if (u->offline)
        return v.leader == -1;
    return v.leader >= 0 && v.leader != u->leader_not && (!u->first_in_sync || v.first_in_sync);
}

/* ElectLeaders at version v, of type `type`, for topic-p (topic NULL: every partition),
 * on a raw connection: the first partition's code (-2: none listed), the top-level one in
 * *top. */
static int16_t elect_raw(const struct kb_broker *b, int16_t v, int8_t type, const char *topic,
                         int32_t p, int16_t *top)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_elect_leaders_req req;
    struct kp_elect_leaders_req_topic_partitions tp;
    kp_init(&kp_elect_leaders_req_schema, &req);
    kp_init(&kp_elect_leaders_req_topic_partitions_schema, &tp);
    tp.topic = kp_slice_str(topic);
    KP_SET(tp.partitions, 1, &p);
    KP_SET(req.topic_partitions, topic ? 1 : -1, topic ? &tp : NULL);
    req.election_type = type;
    req.timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    const struct kp_elect_leaders_resp *r =
        kt_call(fd, KP_API_ELECT_LEADERS, v, &req, buf, sizeof(buf), &resp);
    int16_t code = r->replica_election_results.n >= 1 &&
                           r->replica_election_results.v[0].partition_result.n >= 1
                       ? r->replica_election_results.v[0].partition_result.v[0].error_code
                       : -2;
    *top = r->error_code;
    kp_response_fini(&resp);
    close(fd);
    return code;
}

static void test_0319_preferred_election_by_the_operator(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, settings);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 2, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 2, 3);
    struct pview v0 = view_of(c->b[1], TOPIC, 0);
    int32_t pref = v0.first;
    assert_int_equal(v0.leader, pref); /* a new topic: preferred leaders */
    int other = (int)pref % 3 + 1;
    kb_stop(c->b[pref]); /* controlled shutdown: its leadership moves away */
    struct wait_p moved = {c->b[other], TOPIC, pref, false, false};
    assert_true(kt_until(p0_state, &moved, KB_WAIT_MS));
    cli(c->b[other], 1, NULL, "PREFERRED_LEADER_NOT_AVAILABLE",
        ARGS("elect-leaders", "--election-type", "preferred", "--topic", TOPIC, "--partition",
             "0"));
    struct pview v1 = view_of(c->b[other], TOPIC, 0);
    assert_true(v1.leader != pref);

    kcl_start(c, (int)pref, settings); /* back; it catches up into the ISR */
    struct wait_p synced = {c->b[other], TOPIC, pref, true, false};
    assert_true(kt_until(p0_state, &synced, KB_WAIT_MS));
    assert_int_equal(view_of(c->b[other], TOPIC, 0).leader, v1.leader); /* nobody moved it */
    cli(c->b[other], 0, "Successfully completed leader election (PREFERRED) for partition e-0",
        "", ARGS("elect-leaders", "--election-type", "preferred", "--all-topic-partitions"));
    struct pview v2 = view_of(c->b[other], TOPIC, 0); /* at once: the answer waited */
    assert_int_equal(v2.leader, pref);
    assert_true(v2.epoch > v1.epoch);
    cli(c->b[other], 0, "Valid replica already elected for partition e-0", "",
        ARGS("elect-leaders", "--election-type", "preferred", "--topic", TOPIC, "--partition",
             "0"));
    cli(c->b[pref], 0, "No partition needed a leader election (PREFERRED)", "",
        ARGS("elect-leaders", "--election-type", "preferred", "--all-topic-partitions"));
    int16_t top;
    assert_int_equal(elect_raw(c->b[pref], 0, 0, TOPIC, 0, &top), KP_ERR_ELECTION_NOT_NEEDED);
    assert_int_equal(top, 0); /* v0: no type (preferred), no top-level code */
    /* an unknown type: refused at the top; for every partition, none is listed */
    assert_int_equal(elect_raw(c->b[pref], 2, 5, NULL, 0, &top), -2);
    assert_int_equal(top, KP_ERR_INVALID_REQUEST);
    assert_int_equal(elect_raw(c->b[pref], 2, 5, TOPIC, 1, &top), KP_ERR_INVALID_REQUEST);
    cli(c->b[pref], 0, "\"result\":\"not_needed\"", "",
        ARGS("elect-leaders", "--election-type", "unclean", "--topic", TOPIC, "--partition",
             "1", "--json"));
    cli(c->b[pref], 1, NULL, "UNKNOWN_TOPIC_OR_PARTITION",
        ARGS("elect-leaders", "--election-type", "preferred", "--topic", TOPIC, "--partition",
             "9"));
    cli(c->b[pref], 2, NULL, "--election-type", ARGS("elect-leaders", "--all-topic-partitions"));
}

/* A partition whose only replica is gone: no election can give it a leader, not even an
 * unclean one. */
static void test_0319_unclean_without_live_replica(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, settings);
    assert_int_equal(kcl_create_topic(c->b[1], "solo", 1, 1), 0);
    kcl_await_topic(c, 3, "solo", 1, 1);
    int32_t only = view_of(c->b[1], "solo", 0).leader;
    int other = (int)only % 3 + 1;
    kb_kill9(c->b[only]);
    struct wait_p off = {c->b[other], "solo", -2, false, true};
    assert_true(kt_until(p0_state, &off, KB_WAIT_MS));
    cli(c->b[other], 1, NULL, "ELIGIBLE_LEADERS_NOT_AVAILABLE",
        ARGS("elect-leaders", "--election-type", "unclean", "--topic", "solo", "--partition",
             "0"));
    assert_int_equal(view_of(c->b[other], "solo", 0).leader, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0319_preferred_election_by_the_operator,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0319_unclean_without_live_replica, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}

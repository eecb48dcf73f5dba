/*
 * test_kg_store.c - what the coordinator persists and loads (group_store.c), and the
 * admin APIs' rules: when a record is stored and what waits for it, a restart's load
 * (Stable again, generation kept, sessions restarted), Empty groups kept or forgotten,
 * DeleteGroups and OffsetDelete verdicts, and memory that follows the groups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "kp_codec.h"
#include "kp_msgs.h"
#include "support/kgt.h"

/* One dynamic member (JoinGroup v3: no id round trip), Stable at generation 1, stored. */
static void stable_one(struct kgt_env *e, char *id, const struct kgt_join *how)
{
    struct kgt_slot j, s;
    struct kgt_join dflt = {.protos = {"range"}, .version = 3};
    kgt_join(e, &j, how ? how : &dflt);
    assert_int_equal(j.error, 0);
    strcpy(id, j.member_id);
    const char *who[] = {id}, *parts[] = {"all"};
    kgt_sync(e, &s, id, NULL, 1, 1, who, parts);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_string_equal(s.assignment, "all");
}

static void test_store_sync_waits_for_record_then_stable(void **state)
{
    struct kgt_env *e = *state;
    struct kgt_slot j, s;
    struct kgt_join a = {.protos = {"range"}, .version = 3, .client = "cli"};
    kgt_join(e, &j, &a);
    assert_int_equal(e->nstores, 0); /* joining stores nothing */
    const char *who[] = {j.member_id}, *parts[] = {"all"};
    kgt_sync(e, &s, j.member_id, NULL, 1, 1, who, parts);
    assert_int_equal(s.calls, 0);
    assert_int_equal(e->nstores, 1);
    assert_int_equal(kgt_commit(e, j.member_id, NULL, 1), KP_ERR_REBALANCE_IN_PROGRESS);

    struct kg_record rec;
    kgt_record(kgt_last_store(e), &rec); /* what Kafka writes after SyncGroup */
    assert_true(kp_slice_eq(rec.protocol_type, "consumer"));
    assert_int_equal(rec.generation, 1);
    assert_true(kp_slice_eq(rec.protocol, "range"));
    assert_true(kp_slice_eq(rec.leader, j.member_id));
    assert_int_equal(rec.nmembers, 1);
    assert_true(kp_slice_eq(rec.members[0].member_id, j.member_id));
    assert_int_equal(rec.members[0].group_instance_id.len, -1);
    assert_true(kp_slice_eq(rec.members[0].client_id, "cli"));
    assert_true(kp_slice_eq(rec.members[0].client_host, "/127.0.0.1"));
    assert_int_equal(rec.members[0].session_timeout_ms, 10000);
    assert_int_equal(rec.members[0].rebalance_timeout_ms, 20000);
    assert_true(kp_slice_eq(rec.members[0].subscription, "range@cli"));
    assert_true(kp_slice_eq(rec.members[0].assignment, "all"));
    kg_record_fini(&rec);

    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.error, 0);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE); /* a repeat changes nothing */
    assert_int_equal(kgt_commit(e, j.member_id, NULL, 1), KP_ERR_NONE);
}

static void test_store_failure_answers_syncs_and_rebalances(void **state)
{
    struct kgt_env *e = *state;
    struct kgt_slot j, s;
    struct kgt_join a = {.protos = {"range"}, .version = 3};
    kgt_join(e, &j, &a);
    const char *who[] = {j.member_id}, *parts[] = {"all"};
    kgt_sync(e, &s, j.member_id, NULL, 1, 1, who, parts);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(s.error, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_string_equal(s.assignment, "");
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
    char id[128];
    strcpy(id, j.member_id); /* kgt_join clears the slot */
    a.member = id;
    kgt_join(e, &j, &a);
    assert_int_equal(j.generation, 2);
}

static void test_store_answer_after_a_new_rebalance_is_ignored(void **state)
{
    struct kgt_env *e = *state;
    /* static: the second join is still parked when the test returns, and the teardown's
     * kg_groups_destroy answers it then (a stack slot would be gone by that time) */
    static struct kgt_slot j, s, j2;
    memset(&j, 0, sizeof(j));
    memset(&s, 0, sizeof(s));
    memset(&j2, 0, sizeof(j2));
    struct kgt_join a = {.protos = {"range"}, .version = 3};
    kgt_join(e, &j, &a);
    const char *who[] = {j.member_id}, *parts[] = {"all"};
    kgt_sync(e, &s, j.member_id, NULL, 1, 1, who, parts);
    uint64_t seq = kgt_last_store(e)->seq;
    kgt_join(e, &j2, &a); /* a second member: rebalance while the record is on its way */
    assert_int_equal(s.error, KP_ERR_REBALANCE_IN_PROGRESS);
    kgt_stored(e, seq, KP_ERR_NONE);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
}

static void test_store_emptied_group_kept_with_offsets_else_tombstoned(void **state)
{
    struct kgt_env *e = *state;
    char id[128];
    stable_one(e, id, NULL);
    e->keep_empty = true; /* the group has committed offsets */
    assert_int_equal(kgt_leave(e, id, NULL), KP_ERR_NONE);
    struct kg_group_info gi = kgt_info(e, "g");
    assert_int_equal(gi.state, KG_GROUP_EMPTY);
    assert_int_equal(gi.generation, 2);
    assert_true(kp_slice_eq(gi.protocol_type, "consumer")); /* kept, as in Kafka */
    struct kg_record rec;
    kgt_record(kgt_last_store(e), &rec); /* the Empty record */
    assert_int_equal(rec.generation, 2);
    assert_int_equal(rec.nmembers, 0);
    assert_int_equal(rec.protocol.len, -1);
    assert_int_equal(rec.leader.len, -1);
    kg_record_fini(&rec);
    assert_int_equal(kgt_commit(e, "", NULL, -1), KP_ERR_NONE); /* standalone commits */

    struct kgt_slot j; /* a consumer comes back: the generation goes on */
    struct kgt_join a = {.protos = {"range"}, .version = 3};
    kgt_join(e, &j, &a);
    assert_int_equal(j.generation, 3);
    strcpy(id, j.member_id);
    e->keep_empty = false; /* its offsets deleted meanwhile */
    assert_int_equal(kgt_leave(e, id, NULL), KP_ERR_NONE);
    assert_true(kgt_last_store(e)->tombstone);
    struct kg_group_info none;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("g"), &none), -ENOENT);
}

static void test_store_group_never_stored_is_forgotten_silently(void **state)
{
    struct kgt_env *e = *state;
    struct kgt_slot j;
    struct kgt_join a = {.protos = {"range"}, .version = 3};
    kgt_join(e, &j, &a);
    assert_int_equal(kgt_leave(e, j.member_id, NULL), KP_ERR_NONE);
    assert_int_equal(e->nstores, 0); /* nothing in the log to cancel */
}

/* A record as the broker would replay it: two members, Stable at generation 9. */
static struct kg_record two_members(struct kg_record_member *m)
{
    m[0] = (struct kg_record_member){kp_slice_str("c-1"), {NULL, -1}, kp_slice_str("c"),
                                     kp_slice_str("/127.0.0.1"), 20000, 10000,
                                     kp_slice_str("sub1"), kp_slice_str("a1")};
    m[1] = (struct kg_record_member){kp_slice_str("i2-x"), kp_slice_str("i2"), kp_slice_str("c"),
                                     kp_slice_str("/127.0.0.1"), 20000, 10000,
                                     kp_slice_str("sub2"), kp_slice_str("a2")};
    return (struct kg_record){3, kp_slice_str("consumer"), 9, kp_slice_str("range"),
                              kp_slice_str("i2-x"), 123, 2, m};
}

static void test_store_load_restores_generation_and_restarts_sessions(void **state)
{
    struct kgt_env *e = *state;
    struct kg_record_member m[2];
    struct kg_record rec = two_members(m);
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("g"), &rec, e->now), 0);
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("g"), &rec, e->now), -EEXIST);
    struct kg_group_info gi = kgt_info(e, "g");
    assert_int_equal(gi.state, KG_GROUP_STABLE);
    assert_int_equal(gi.generation, 9);
    assert_true(kp_slice_eq(gi.leader, "i2-x"));
    /* the members carry on: heartbeats and commits of generation 9, no rebalance */
    assert_int_equal(kgt_hb(e, "c-1", NULL, 9), KP_ERR_NONE);
    assert_int_equal(kgt_commit(e, "i2-x", "i2", 9), KP_ERR_NONE);
    assert_int_equal(kgt_commit(e, "c-1", NULL, 8), KP_ERR_ILLEGAL_GENERATION);
    struct kgt_slot s;
    kgt_sync(e, &s, "c-1", NULL, 9, 0, NULL, NULL);
    assert_string_equal(s.assignment, "a1");
    /* a member that rejoins with the same single protocol is answered at once */
    struct kgt_slot j;
    struct kgt_join c1 = {.member = "c-1", .protos = {"range"}, .meta = {"sub1"}};
    kgt_join(e, &j, &c1);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.generation, 9);
    /* c-1 keeps heartbeating, i2-x does not: only its session (from the load) ends it */
    e->now += 6000;
    assert_int_equal(kgt_hb(e, "c-1", NULL, 9), KP_ERR_NONE);
    kg_group_tick(e->gs, e->now);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);
    e->now += 5000;
    assert_int_equal(kgt_hb(e, "c-1", NULL, 9), KP_ERR_NONE);
    kg_group_tick(e->gs, e->now);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(kgt_info(e, "g").nmembers, 1);
}

static void test_store_load_refuses_insane_records_and_drops_empty_without_offsets(void **state)
{
    struct kgt_env *e = *state;
    struct kg_record_member m[2];
    struct kg_record rec = two_members(m);
    rec.protocol = (struct kc_slice){NULL, -1};
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("g"), &rec, e->now), -EINVAL);
    rec = two_members(m);
    m[1].member_id = m[0].member_id;
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("g"), &rec, e->now), -EINVAL);
    rec = two_members(m);
    m[0].member_id = kp_slice_str("");
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("g"), &rec, e->now), -EINVAL);

    struct kg_record empty = {3, kp_slice_str("consumer"), 4, {NULL, -1}, {NULL, -1}, -1, 0, NULL};
    e->keep_empty = false;
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("e1"), &empty, e->now), 0);
    assert_true(kgt_last_store(e)->tombstone); /* what Kafka's cleanup would drop */
    assert_string_equal(kgt_last_store(e)->group, "e1");
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("e1"), &gi), -ENOENT);
    e->keep_empty = true;
    int n = e->nstores;
    assert_int_equal(kg_group_load(e->gs, kp_slice_str("e2"), &empty, e->now), 0);
    assert_int_equal(e->nstores, n);
    gi = kgt_info(e, "e2");
    assert_int_equal(gi.state, KG_GROUP_EMPTY);
    assert_int_equal(gi.generation, 4);
}

static void test_store_delete_group_rules(void **state)
{
    struct kgt_env *e = *state;
    char id[128];
    bool tomb = false;
    stable_one(e, id, NULL);
    assert_int_equal(kg_group_delete(e->gs, kp_slice_str("g"), &tomb), KP_ERR_NON_EMPTY_GROUP);
    assert_int_equal(kg_group_delete(e->gs, kp_slice_str("nope"), &tomb), KP_ERR_GROUP_ID_NOT_FOUND);
    e->keep_empty = true;
    assert_int_equal(kgt_leave(e, id, NULL), KP_ERR_NONE);
    assert_int_equal(kg_group_delete(e->gs, kp_slice_str("g"), &tomb), KP_ERR_NONE);
    assert_true(tomb); /* its Empty record must be cancelled */
    assert_int_equal(kg_group_delete(e->gs, kp_slice_str("g"), &tomb), KP_ERR_GROUP_ID_NOT_FOUND);
}

/* A ConsumerProtocolSubscription (v1) naming topics, as the Java client encodes it. */
static size_t subscription(uint8_t *buf, size_t cap, const char *const *topics, int n)
{
    struct kp_consumer_protocol_subscription sub;
    struct kc_slice t[4];
    struct kc_writer w;
    kp_init(&kp_consumer_protocol_subscription_schema, &sub);
    for (int i = 0; i < n; i++)
        t[i] = kp_slice_str(topics[i]);
    KP_SET(sub.topics, n, t);
    kc_writer_init_fixed(&w, buf, cap);
    kc_write_i16(&w, 1);
    assert_int_equal(kp_encode(&kp_consumer_protocol_subscription_schema, 1, &sub, &w, NULL), 0);
    return kc_writer_len(&w);
}

static void test_store_offset_delete_follows_subscriptions(void **state)
{
    struct kgt_env *e = *state;
    uint8_t sub[128];
    const char *topics[] = {"orders", "payments"};
    size_t len = subscription(sub, sizeof(sub), topics, 2);
    struct kgt_join a = {.protos = {"range"}, .version = 3, .meta = {(const char *)sub},
                         .meta_len = {len}};
    char id[128];
    struct kc_slice g = kp_slice_str("g");
    stable_one(e, id, &a);
    assert_int_equal(kg_group_offsets_deletable(e->gs, g, (struct kc_slice){NULL, -1}), 0);
    assert_int_equal(kg_group_offsets_deletable(e->gs, g, kp_slice_str("orders")),
                     KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(kg_group_offsets_deletable(e->gs, g, kp_slice_str("payments")),
                     KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(kg_group_offsets_deletable(e->gs, g, kp_slice_str("audit")), 0);
    assert_int_equal(kg_group_offsets_deletable(e->gs, kp_slice_str("other"),
                                                kp_slice_str("orders")), 0);

    /* a second member whose subscription cannot be read: to be safe, everything counts */
    struct kgt_slot j, j1;
    struct kgt_join b = {.protos = {"range"}, .version = 3, .meta = {"\xff\xff junk"}};
    kgt_join(e, &j, &b);
    struct kgt_join again = a;
    again.member = id;
    kgt_join(e, &j1, &again);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_COMPLETING_REBALANCE);
    assert_int_equal(kg_group_offsets_deletable(e->gs, g, kp_slice_str("audit")),
                     KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
}

static void test_store_offset_delete_refused_for_other_protocol_types(void **state)
{
    struct kgt_env *e = *state;
    struct kgt_slot j;
    struct kg_protocol p = {kp_slice_str("leader"), kp_slice_str("x")};
    struct kg_join req = {kp_slice_str("conn"), 10000, 20000, kp_slice_str(""), {NULL, -1},
                          kp_slice_str("connect"), 1, &p, kp_slice_str("/127.0.0.1")};
    memset(&j, 0, sizeof(j));
    kg_group_join(e->gs, 3, kp_slice_str("w"), &req, &j, e->now);
    assert_int_equal(j.error, 0);
    assert_int_equal(kg_group_offsets_deletable(e->gs, kp_slice_str("conn"), kp_slice_str("t")),
                     KP_ERR_NON_EMPTY_GROUP);
}

struct listing {
    int n;
    char names[8][32];
    int members;
};

static void list_one(void *arg, const struct kg_group_info *gi)
{
    struct listing *l = arg;
    if (l->n < 8)
        snprintf(l->names[l->n], sizeof(l->names[0]), "%.*s:%s", (int)gi->group_id.len,
                 gi->group_id.p, kg_group_state_name(gi->state));
    l->n++;
}

static void member_one(void *arg, const struct kg_member_info *mi)
{
    struct listing *l = arg;
    assert_true(kp_slice_eq(mi->client_host, "/127.0.0.1"));
    assert_true(kp_slice_eq(mi->assignment, l->members ? "" : "all"));
    l->members++;
}

static void test_store_list_and_describe_members(void **state)
{
    struct kgt_env *e = *state;
    char id[128];
    stable_one(e, id, NULL);
    struct listing l = {0};
    kg_group_foreach(e->gs, list_one, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.names[0], "g:Stable");
    assert_int_equal(kg_group_members(e->gs, kp_slice_str("g"), member_one, &l), 1);
    assert_int_equal(l.members, 1);
    assert_int_equal(kg_group_members(e->gs, kp_slice_str("x"), member_one, &l), -ENOENT);
}

/* Many groups, each joined and left: those without offsets leave nothing behind; those
 * with offsets leave one dormant Empty group each (no members: a struct and its id),
 * until DeleteGroups. */
static void test_store_memory_follows_the_groups(void **state)
{
    struct kgt_env *e = *state;
    char name[32];
    for (int i = 0; i < 2000; i++) {
        struct kgt_slot j;
        snprintf(name, sizeof(name), "g%d", i);
        struct kgt_join a = {.group = name, .protos = {"range"}, .version = 3};
        kgt_join(e, &j, &a);
        e->keep_empty = i % 2;
        assert_int_equal(kg_group_leave(e->gs, kp_slice_str(name), kp_slice_str(j.member_id),
                                        (struct kc_slice){NULL, -1}, e->now), 0);
    }
    struct listing l = {0};
    kg_group_foreach(e->gs, list_one, &l);
    assert_int_equal(l.n, 1000); /* the odd ones: they have offsets */
    assert_int_equal(e->nstores, 1000); /* an Empty record each, nothing for the others */
    for (int i = 1; i < 2000; i += 2) {
        bool tomb;
        snprintf(name, sizeof(name), "g%d", i);
        assert_int_equal(kg_group_delete(e->gs, kp_slice_str(name), &tomb), KP_ERR_NONE);
        assert_true(tomb);
    }
    l.n = 0;
    kg_group_foreach(e->gs, list_one, &l);
    assert_int_equal(l.n, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sync_waits_for_record_then_stable, kgt_setup,
                                        kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_answers_syncs_and_rebalances,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_answer_after_a_new_rebalance_is_ignored,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_emptied_group_kept_with_offsets_else_tombstoned,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_group_never_stored_is_forgotten_silently,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_load_restores_generation_and_restarts_sessions,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_load_refuses_insane_records_and_drops_empty_without_offsets, kgt_setup,
            kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_delete_group_rules, kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_offset_delete_follows_subscriptions,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_offset_delete_refused_for_other_protocol_types,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_list_and_describe_members, kgt_setup,
                                        kgt_teardown),
        cmocka_unit_test_setup_teardown(test_store_memory_follows_the_groups, kgt_setup,
                                        kgt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

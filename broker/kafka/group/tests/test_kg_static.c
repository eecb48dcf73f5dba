/*
 * test_kg_static.c - static members (KIP-345) on the coordinator, with a fake clock and a
 * fake server that stores records when the test says so.
 *
 * The scenario a confluent-kafka consumer with group.instance.id goes through when its
 * process restarts: it never sends LeaveGroup, comes back with member id "" and the same
 * instance id, and must find its generation and partitions unchanged - while whatever
 * still speaks with its old member id is fenced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "kp_codec.h"
#include "support/kgt.h"

/* Two static members "i1" (leader) and "i2", Stable at generation 1, every store done.
 * ids receive their member ids. */
static void stable_static(struct kgt_env *e, char (*ids)[128])
{
    struct kgt_slot j1, j2, s1, s2;
    struct kgt_join a = {.instance = "i1", .protos = {"range"}, .client = "c1"};
    struct kgt_join b = {.instance = "i2", .protos = {"range"}, .client = "c2",
                         .session = 30000}; /* longer than the rebalance timeout (20 s) */
    kgt_join(e, &j1, &a);
    assert_int_equal(j1.calls, 1); /* alone, no initial delay: generation 1 at once */
    strcpy(ids[0], j1.member_id);
    assert_memory_equal(ids[0], "i1-", 3); /* instance-uuid, as Kafka names static members */
    kgt_join(e, &j2, &b);          /* a second member: the group rebalances */
    assert_int_equal(j2.calls, 0);
    a.member = ids[0];
    kgt_join(e, &j1, &a);
    assert_int_equal(j1.calls, 1);
    assert_int_equal(j2.calls, 1);
    strcpy(ids[1], j2.member_id);
    assert_int_equal(j1.generation, 2);
    assert_int_equal(j1.nmembers, 2);
    assert_string_equal(j1.instances[0], "i1");
    assert_string_equal(j1.instances[1], "i2");
    const char *who[] = {ids[0], ids[1]}, *parts[] = {"p0", "p1"};
    kgt_sync(e, &s2, ids[1], "i2", 2, 0, NULL, NULL);
    kgt_sync(e, &s1, ids[0], "i1", 2, 2, who, parts);
    assert_int_equal(s1.calls, 0); /* not before the record is stored */
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_COMPLETING_REBALANCE);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(s1.calls, 1);
    assert_string_equal(s2.assignment, "p1");
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);
}

static void test_static_restart_in_stable_group_keeps_generation_and_assignment(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    int stores = e->nstores;

    /* i2's process restarts: no LeaveGroup; it comes back with member id "" */
    struct kgt_slot j, s;
    struct kgt_join b = {.instance = "i2", .protos = {"range"}, .client = "c2"};
    e->now += 3000;
    kgt_join(e, &j, &b);
    assert_int_equal(j.calls, 0); /* answered once its new id is stored */
    assert_int_equal(e->nstores, stores + 1);
    struct kg_record rec;
    kgt_record(kgt_last_store(e), &rec);
    assert_int_equal(rec.generation, 2);
    assert_int_equal(rec.nmembers, 2);
    assert_true(kp_slice_eq(rec.members[1].group_instance_id, "i2"));
    assert_false(kp_slice_eq(rec.members[1].member_id, ids[1])); /* the new id */
    assert_true(kp_slice_eq(rec.members[1].assignment, "p1"));
    kg_record_fini(&rec);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.error, 0);
    assert_int_equal(j.generation, 2);   /* no rebalance */
    assert_string_equal(j.leader, ids[0]);
    assert_int_equal(j.nmembers, 0);
    assert_string_not_equal(j.member_id, ids[1]);
    assert_memory_equal(j.member_id, "i2-", 3);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);

    kgt_sync(e, &s, j.member_id, "i2", 2, 0, NULL, NULL);
    assert_string_equal(s.assignment, "p1"); /* its partitions, kept */
    assert_int_equal(kgt_hb(e, ids[0], "i1", 2), KP_ERR_NONE); /* i1 saw nothing */

    /* the old id is fenced everywhere it names the instance */
    assert_int_equal(kgt_hb(e, ids[1], "i2", 2), KP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(kgt_commit(e, ids[1], "i2", 2), KP_ERR_FENCED_INSTANCE_ID);
    kgt_sync(e, &s, ids[1], "i2", 2, 0, NULL, NULL);
    assert_int_equal(s.error, KP_ERR_FENCED_INSTANCE_ID);
    struct kgt_join old = {.instance = "i2", .member = ids[1], .protos = {"range"}, .client = "c2"};
    kgt_join(e, &s, &old);
    assert_int_equal(s.error, KP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(kgt_leave(e, ids[1], "i2"), KP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(kgt_hb(e, ids[1], NULL, 2), KP_ERR_UNKNOWN_MEMBER_ID); /* no id: unknown */
    assert_int_equal(kgt_info(e, "g").nmembers, 2);
    assert_int_equal(kgt_commit(e, j.member_id, "i2", 2), KP_ERR_NONE);
}

static void test_static_leader_restart_told_old_leader_or_skip_assignment(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    struct kgt_slot j;
    /* JoinGroup v5: the answer names the leader id from before, so it does not assign */
    struct kgt_join a = {.instance = "i1", .protos = {"range"}, .client = "c1", .version = 5};
    kgt_join(e, &j, &a);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(j.error, 0);
    assert_string_equal(j.leader, ids[0]);        /* its old id */
    assert_string_not_equal(j.member_id, ids[0]); /* != its new one */
    assert_false(j.skip);
    assert_int_equal(j.nmembers, 0);
    char v5id[128];
    strcpy(v5id, j.member_id);

    /* v9 (KIP-814): told it leads, with the members, but to skip the assignment */
    a.version = 9;
    kgt_join(e, &j, &a);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(j.error, 0);
    assert_string_equal(j.leader, j.member_id);
    assert_true(j.skip);
    assert_int_equal(j.nmembers, 2);
    assert_int_equal(j.generation, 2);
    assert_int_equal(kgt_hb(e, v5id, "i1", 2), KP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);
}

static void test_static_failed_store_restores_old_id(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    struct kgt_slot j;
    struct kgt_join b = {.instance = "i2", .protos = {"range"}, .client = "c2"};
    kgt_join(e, &j, &b);
    assert_int_equal(kgt_hb(e, ids[1], "i2", 2), KP_ERR_FENCED_INSTANCE_ID); /* meanwhile */
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NOT_COORDINATOR);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.error, KP_ERR_NOT_COORDINATOR);
    assert_string_equal(j.member_id, "");
    assert_int_equal(kgt_hb(e, ids[1], "i2", 2), KP_ERR_NONE); /* what the log says holds */
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_STABLE);
}

static void test_static_absent_member_keeps_partitions_until_session_ends(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    /* i1 (the leader) rejoins to rebalance; i2's process is down and does not rejoin */
    struct kgt_slot j1, s1, j3;
    struct kgt_join a = {.instance = "i1", .member = ids[0], .protos = {"range"}, .client = "c1"};
    e->now += 1000;
    kgt_join(e, &j1, &a);
    assert_int_equal(j1.calls, 0);
    e->now += 20000; /* the rebalance timeout: i2 did not come, but it is static and its
                      * session (30 s) runs on: it stays */
    kg_group_tick(e->gs, e->now);
    assert_int_equal(j1.calls, 1);
    assert_int_equal(j1.generation, 3);
    assert_int_equal(j1.nmembers, 2);
    assert_int_equal(kgt_info(e, "g").nmembers, 2);
    const char *who[] = {ids[0], ids[1]}, *parts[] = {"p0", "p1"};
    kgt_sync(e, &s1, ids[0], "i1", 3, 2, who, parts);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_string_equal(s1.assignment, "p0");

    /* i2 comes back within its session: no rebalance, p1 is still its */
    struct kgt_join b = {.instance = "i2", .protos = {"range"}, .client = "c2"};
    e->now += 2000;
    kgt_join(e, &j3, &b);
    kgt_stored(e, kgt_last_store(e)->seq, KP_ERR_NONE);
    assert_int_equal(j3.generation, 3);
    struct kgt_slot s3;
    kgt_sync(e, &s3, j3.member_id, "i2", 3, 0, NULL, NULL);
    assert_string_equal(s3.assignment, "p1");

    /* now it goes silent for good: its session ends, and only then does the group move */
    for (int i = 0; i < 4; i++) {
        e->now += 3000;
        assert_int_equal(kgt_hb(e, ids[0], "i1", 3), KP_ERR_NONE);
        kg_group_tick(e->gs, e->now);
    }
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(kgt_info(e, "g").nmembers, 1);
}

static void test_static_leave_by_instance_id_and_unknown_instances(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    assert_int_equal(kgt_leave(e, "", "nobody"), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(kgt_hb(e, ids[0], "nobody", 2), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(kgt_leave(e, "", "i2"), KP_ERR_NONE); /* an administrator's removal */
    assert_int_equal(kgt_info(e, "g").nmembers, 1);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
}

static void test_static_rejoin_fences_parked_requests_and_rebalances_when_completing(void **state)
{
    struct kgt_env *e = *state;
    char ids[2][128];
    stable_static(e, ids);
    struct kgt_slot j1, j2, s2, jn;
    struct kgt_join a = {.instance = "i1", .member = ids[0], .protos = {"range"}, .client = "c1"};
    struct kgt_join b = {.instance = "i2", .member = ids[1], .protos = {"range"}, .client = "c2"};
    kgt_join(e, &j1, &a);
    kgt_join(e, &j2, &b); /* both rejoined: generation 3, CompletingRebalance */
    assert_int_equal(j2.generation, 3);
    kgt_sync(e, &s2, ids[1], "i2", 3, 0, NULL, NULL);
    assert_int_equal(s2.calls, 0); /* parked for the leader */

    /* a new process of i2 starts while the old one waits: the old one's sync is fenced,
     * and the group rebalances so the leader can assign to the new id */
    b.member = NULL;
    kgt_join(e, &jn, &b);
    assert_int_equal(s2.calls, 1);
    assert_int_equal(s2.error, KP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(kgt_info(e, "g").state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(jn.calls, 0);
    kgt_join(e, &j1, &a);
    assert_int_equal(jn.calls, 1);
    assert_int_equal(jn.generation, 4);
    assert_memory_equal(jn.member_id, "i2-", 3);
}

static void test_static_members_without_a_store_callback(void **state)
{
    struct kgt_env *e = *state; /* kgt_setup_plain: every store succeeds at once */
    struct kgt_slot j, s;
    struct kgt_join a = {.instance = "solo", .protos = {"range"}};
    kgt_join(e, &j, &a);
    char id[128];
    strcpy(id, j.member_id);
    const char *who[] = {id}, *parts[] = {"all"};
    kgt_sync(e, &s, id, "solo", 1, 1, who, parts);
    assert_string_equal(s.assignment, "all");
    kgt_join(e, &j, &a); /* restart */
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.generation, 1);
    kgt_sync(e, &s, j.member_id, "solo", 1, 0, NULL, NULL);
    assert_string_equal(s.assignment, "all");
    assert_int_equal(e->nstores, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_static_restart_in_stable_group_keeps_generation_and_assignment, kgt_setup,
            kgt_teardown),
        cmocka_unit_test_setup_teardown(
            test_static_leader_restart_told_old_leader_or_skip_assignment, kgt_setup,
            kgt_teardown),
        cmocka_unit_test_setup_teardown(test_static_failed_store_restores_old_id, kgt_setup,
                                        kgt_teardown),
        cmocka_unit_test_setup_teardown(
            test_static_absent_member_keeps_partitions_until_session_ends, kgt_setup,
            kgt_teardown),
        cmocka_unit_test_setup_teardown(test_static_leave_by_instance_id_and_unknown_instances,
                                        kgt_setup, kgt_teardown),
        cmocka_unit_test_setup_teardown(
            test_static_rejoin_fences_parked_requests_and_rebalances_when_completing, kgt_setup,
            kgt_teardown),
        cmocka_unit_test_setup_teardown(test_static_members_without_a_store_callback,
                                        kgt_setup_plain, kgt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

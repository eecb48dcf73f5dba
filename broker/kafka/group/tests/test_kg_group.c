/*
 * test_kg_group.c - the group coordinator, driven with a fake clock.
 *
 * Each JoinGroup/SyncGroup gets a "slot" as its waiter; the callbacks copy the answer
 * into the slot and fail the test if any waiter is answered twice. The scenarios are the
 * ones a kcat or kafkajs consumer group goes through (the fixtures' kcat_group_a/b show
 * the same sequence on the wire), plus the failure paths: expiry, timeouts, unknown
 * members, stale generations, mixed protocols, and the commit validation matrix.
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
#include "kg.h"
#include "kp_api.h"

#define SESSION   10000
#define REBALANCE 20000

struct slot {
    int calls;
    int16_t error;
    int32_t generation;
    char protocol[64], leader[128], member_id[128];
    int32_t nmembers;
    char members[8][128];
    char meta[8][64];
    char assignment[64];
};

struct env {
    struct kg_groups *gs;
    int64_t now;
    int answers;
};

static void copy_str(char *dst, size_t cap, struct kc_slice s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0; /* null (an error's protocol) copies as "" */
    assert_true(n < cap);
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = 0;
}

static void on_join(void *ctx, void *waiter, const struct kg_join_result *r)
{
    struct env *e = ctx;
    struct slot *s = waiter;
    assert_int_equal(s->calls, 0); /* exactly one answer per waiter */
    s->calls++;
    e->answers++;
    s->error = r->error;
    s->generation = r->generation_id;
    copy_str(s->protocol, sizeof(s->protocol), r->protocol_name);
    copy_str(s->leader, sizeof(s->leader), r->leader);
    copy_str(s->member_id, sizeof(s->member_id), r->member_id);
    s->nmembers = r->nmembers;
    for (int32_t i = 0; i < r->nmembers && i < 8; i++) {
        copy_str(s->members[i], sizeof(s->members[i]), r->members[i].member_id);
        copy_str(s->meta[i], sizeof(s->meta[i]), r->members[i].metadata);
    }
}

static void on_sync(void *ctx, void *waiter, const struct kg_sync_result *r)
{
    struct env *e = ctx;
    struct slot *s = waiter;
    assert_int_equal(s->calls, 0);
    s->calls++;
    e->answers++;
    s->error = r->error;
    assert_true(r->assignment.len >= 0);
    copy_str(s->assignment, sizeof(s->assignment), r->assignment);
}

static int setup_delay(void **state, int32_t delay)
{
    struct env *e = calloc(1, sizeof(*e));
    struct kg_group_opts o;
    kg_group_opts_default(&o);
    o.initial_rebalance_delay_ms = delay;
    o.seed = 42;
    struct kg_group_cbs cbs = {on_join, on_sync, e, NULL, NULL};
    assert_int_equal(kg_groups_create(&o, &cbs, &e->gs), 0);
    e->now = 1000000;
    *state = e;
    return 0;
}

/* Start again with a fresh coordinator in the same environment. */
static void renew(struct env *e)
{
    struct kg_group_opts o;
    kg_group_opts_default(&o);
    o.initial_rebalance_delay_ms = 0;
    o.seed = 43;
    struct kg_group_cbs cbs = {on_join, on_sync, e, NULL, NULL};
    kg_groups_destroy(e->gs);
    assert_int_equal(kg_groups_create(&o, &cbs, &e->gs), 0);
}

static int setup(void **state)
{
    return setup_delay(state, 0);
}

static int setup_delayed(void **state)
{
    return setup_delay(state, 3000);
}

/* Answer whatever is still parked while the test's slots are alive (end of a test). */
static void finish(struct env *e)
{
    kg_groups_destroy(e->gs);
    e->gs = NULL;
}

static int teardown(void **state)
{
    struct env *e = *state;
    kg_groups_destroy(e->gs);
    free(e);
    return 0;
}

/* ---- request helpers ---------------------------------------------------------------- */

struct join_args {
    const char *group, *member, *type, *label, *instance;
    const char *protos[4];
    int16_t version;
    int32_t session, rebalance;
};

static void join_a(struct env *e, struct slot *s, const struct join_args *a)
{
    struct kg_protocol protos[4];
    char meta[4][64];
    int n = 0;
    for (; n < 4 && a->protos[n]; n++) {
        snprintf(meta[n], sizeof(meta[n]), "%s@%s", a->protos[n], a->label ? a->label : "?");
        protos[n].name = kp_slice_str(a->protos[n]);
        protos[n].metadata = kp_slice_str(meta[n]);
    }
    struct kg_join req = {
        .group_id = kp_slice_str(a->group ? a->group : "g"),
        .session_timeout_ms = a->session ? a->session : SESSION,
        .rebalance_timeout_ms = a->rebalance ? a->rebalance : REBALANCE,
        .member_id = kp_slice_str(a->member ? a->member : ""),
        .group_instance_id = kp_slice_str(a->instance),
        .protocol_type = kp_slice_str(a->type ? a->type : "consumer"),
        .nprotocols = n,
        .protocols = protos,
    };
    memset(s, 0, sizeof(*s));
    kg_group_join(e->gs, a->version ? a->version : 5, kp_slice_str("client"), &req, s, e->now);
}

/* A plain "range" member joining group g with JoinGroup v3 (no MEMBER_ID_REQUIRED). */
static void join3(struct env *e, struct slot *s, const char *member, const char *label)
{
    struct join_args a = {.member = member, .label = label, .protos = {"range"}, .version = 3};
    join_a(e, s, &a);
}

static void sync_(struct env *e, struct slot *s, const char *member, int32_t gen, int n,
                  const char *const *ids, const char *const *assigns)
{
    struct kg_assignment as[8];
    for (int i = 0; i < n; i++) {
        as[i].member_id = kp_slice_str(ids[i]);
        as[i].assignment = kp_slice_str(assigns[i]);
    }
    struct kg_sync req = {.group_id = kp_slice_str("g"), .generation_id = gen,
                          .member_id = kp_slice_str(member), .group_instance_id = {NULL, -1},
                          .protocol_type = {NULL, -1}, .protocol_name = {NULL, -1},
                          .nassignments = n, .assignments = as};
    memset(s, 0, sizeof(*s));
    kg_group_sync(e->gs, &req, s, e->now);
}

static int16_t hb(struct env *e, const char *member, int32_t gen)
{
    struct kg_member_ref req = {kp_slice_str("g"), gen, kp_slice_str(member), {NULL, -1}};
    return kg_group_heartbeat(e->gs, &req, e->now);
}

static int16_t leave(struct env *e, const char *member)
{
    return kg_group_leave(e->gs, kp_slice_str("g"), kp_slice_str(member), (struct kc_slice){NULL, -1},
                          e->now);
}

static int16_t commit(struct env *e, const char *group, const char *member, int32_t gen)
{
    struct kg_member_ref req = {.group_id = kp_slice_str(group), .generation_id = gen,
                                .member_id = kp_slice_str(member),
                                .group_instance_id = {NULL, -1}};
    return kg_group_commit_check(e->gs, &req, e->now);
}

static struct kg_group_info info(struct env *e)
{
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("g"), &gi), 0);
    return gi;
}

/* One member, joined and synced: the group is Stable at generation 1. Returns its id. */
static void stable_one(struct env *e, char *id)
{
    struct slot j, s;
    join3(e, &j, "", "a");
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.error, 0);
    strcpy(id, j.member_id);
    const char *ids[] = {id}, *as[] = {"a-parts"};
    sync_(e, &s, id, 1, 1, ids, as);
    assert_int_equal(s.calls, 1);
}

/* Two members, Stable at generation 2, a the leader. */
static void stable_two(struct env *e, char *a, char *b)
{
    struct slot bj, aj, bs, as;
    stable_one(e, a);
    join3(e, &bj, "", "b");
    assert_int_equal(bj.calls, 0); /* parked until a rejoins */
    join3(e, &aj, a, "a");
    assert_int_equal(bj.calls, 1);
    strcpy(b, bj.member_id);
    const char *ids[] = {a, b}, *parts[] = {"p0", "p1"};
    sync_(e, &bs, b, 2, 0, NULL, NULL);
    sync_(e, &as, a, 2, 2, ids, parts);
    assert_string_equal(bs.assignment, "p1");
    assert_int_equal(info(e).state, KG_GROUP_STABLE);
}

/* ---- scenarios ------------------------------------------------------------------------- */

static void test_group_single_member_join_sync_heartbeat(void **state)
{
    struct env *e = *state;
    struct slot j, s;
    join3(e, &j, "", "a");
    assert_int_equal(j.calls, 1); /* answered before kg_group_join returned */
    assert_int_equal(j.error, KP_ERR_NONE);
    assert_int_equal(j.generation, 1);
    assert_string_equal(j.protocol, "range");
    assert_string_equal(j.leader, j.member_id);
    assert_int_equal(j.nmembers, 1);
    assert_string_equal(j.meta[0], "range@a");
    struct kg_group_info gi = info(e);
    assert_int_equal(gi.state, KG_GROUP_COMPLETING_REBALANCE);
    assert_true(kp_slice_eq(gi.protocol_type, "consumer"));

    const char *ids[] = {j.member_id}, *as[] = {"assignment-a"};
    sync_(e, &s, j.member_id, 1, 1, ids, as);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "assignment-a");
    assert_int_equal(info(e).state, KG_GROUP_STABLE);

    assert_int_equal(hb(e, j.member_id, 1), KP_ERR_NONE);
    assert_int_equal(hb(e, j.member_id, 0), KP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(hb(e, "nobody", 1), KP_ERR_UNKNOWN_MEMBER_ID);
    /* A sync in Stable is answered at once with the stored assignment. */
    sync_(e, &s, j.member_id, 1, 0, NULL, NULL);
    assert_string_equal(s.assignment, "assignment-a");
    /* A rejoin by the leader with the same protocols asks for a rebalance. */
    char id[128];
    strcpy(id, j.member_id);
    join3(e, &j, id, "a");
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.generation, 2);
}

static void test_group_member_id_required_round_trip(void **state)
{
    struct env *e = *state;
    struct slot s;
    struct join_args a = {.label = "a", .protos = {"range"}, .version = 4};
    join_a(e, &s, &a);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.error, KP_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(s.generation, -1);
    /* client_id + "-" + a version-4 UUID */
    assert_int_equal(strlen(s.member_id), strlen("client-") + 36);
    assert_memory_equal(s.member_id, "client-", 7);
    assert_int_equal(s.member_id[7 + 14], '4');
    struct kg_group_info gi = info(e);
    assert_int_equal(gi.state, KG_GROUP_EMPTY);
    assert_int_equal(gi.npending, 1);
    assert_int_equal(gi.nmembers, 0);

    char id[128];
    strcpy(id, s.member_id);
    a.member = id;
    join_a(e, &s, &a);
    assert_int_equal(s.error, KP_ERR_NONE);
    assert_string_equal(s.member_id, id);
    assert_string_equal(s.leader, id);
    assert_int_equal(info(e).npending, 0);

    /* v3 and below: no round trip, the id comes with the answer */
    struct slot t;
    renew(e);
    join3(e, &t, "", "x");
    assert_int_equal(t.error, KP_ERR_NONE);
}

static void test_group_two_members_rebalance_leader_gets_members(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_one(e, a);

    struct slot b1, b2, a2, bs, as;
    struct join_args ba = {.label = "b", .protos = {"range"}, .version = 5};
    join_a(e, &b1, &ba); /* 79, then back with the id */
    assert_int_equal(b1.error, KP_ERR_MEMBER_ID_REQUIRED);
    strcpy(b, b1.member_id);
    assert_int_equal(info(e).state, KG_GROUP_STABLE); /* a pending id changes nothing yet */
    ba.member = b;
    join_a(e, &b2, &ba);
    assert_int_equal(b2.calls, 0); /* parked */
    assert_int_equal(info(e).state, KG_GROUP_PREPARING_REBALANCE);

    e->now += 3000; /* a learns on its next heartbeat */
    assert_int_equal(hb(e, a, 1), KP_ERR_REBALANCE_IN_PROGRESS);
    join3(e, &a2, a, "a");
    assert_int_equal(a2.calls, 1);
    assert_int_equal(b2.calls, 1);
    assert_int_equal(a2.generation, 2);
    assert_int_equal(b2.generation, 2);
    assert_string_equal(a2.leader, a);
    assert_string_equal(b2.leader, a);
    assert_int_equal(a2.nmembers, 2); /* only the leader sees the members */
    assert_int_equal(b2.nmembers, 0);
    assert_string_equal(a2.members[0], a);
    assert_string_equal(a2.members[1], b);
    assert_string_equal(a2.meta[1], "range@b");

    /* The follower's sync waits for the leader's. */
    assert_int_equal(hb(e, b, 2), KP_ERR_NONE); /* CompletingRebalance: heartbeats are fine */
    sync_(e, &bs, b, 2, 0, NULL, NULL);
    assert_int_equal(bs.calls, 0);
    const char *ids[] = {b, a}, *parts[] = {"b-parts", "a-parts"};
    sync_(e, &as, a, 2, 2, ids, parts);
    assert_int_equal(as.calls, 1);
    assert_int_equal(bs.calls, 1);
    assert_string_equal(as.assignment, "a-parts");
    assert_string_equal(bs.assignment, "b-parts");
    assert_int_equal(info(e).state, KG_GROUP_STABLE);
    assert_int_equal(hb(e, a, 2), KP_ERR_NONE);
    assert_int_equal(hb(e, b, 2), KP_ERR_NONE);
    assert_int_equal(hb(e, b, 1), KP_ERR_ILLEGAL_GENERATION);

    /* A follower's identical rejoin in Stable gets the current generation back at once. */
    struct slot b3;
    join3(e, &b3, b, "b");
    assert_int_equal(b3.calls, 1);
    assert_int_equal(b3.generation, 2);
    assert_int_equal(b3.nmembers, 0);
    assert_int_equal(info(e).state, KG_GROUP_STABLE);
}

static void test_group_leave_with_remaining_member_rebalances(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    assert_int_equal(leave(e, b), KP_ERR_NONE);
    assert_int_equal(leave(e, b), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(info(e).state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(hb(e, a, 2), KP_ERR_REBALANCE_IN_PROGRESS);
    struct slot j;
    join3(e, &j, a, "a");
    assert_int_equal(j.generation, 3);
    assert_int_equal(j.nmembers, 1);
    /* the last member leaving empties the group, and the coordinator forgets it */
    assert_int_equal(leave(e, a), KP_ERR_NONE);
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("g"), &gi), -ENOENT);
    assert_int_equal(kg_group_next_deadline(e->gs), INT64_MAX);
}

static void test_group_session_expiry_removes_silent_member(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    int64_t t0 = e->now;
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + SESSION);
    e->now = t0 + 6000;
    assert_int_equal(hb(e, a, 2), 0); /* a keeps its session alive, b stays silent */
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + SESSION);
    kg_group_tick(e->gs, t0 + SESSION - 1);
    assert_int_equal(info(e).nmembers, 2);
    e->now = t0 + SESSION;
    kg_group_tick(e->gs, e->now);
    assert_int_equal(info(e).nmembers, 1);
    assert_int_equal(info(e).state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(hb(e, b, 2), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb(e, a, 2), KP_ERR_REBALANCE_IN_PROGRESS);
    struct slot j;
    join3(e, &j, a, "a");
    assert_int_equal(j.generation, 3);
    assert_int_equal(j.nmembers, 1);
}

static void test_group_rebalance_timeout_drops_member_that_did_not_rejoin(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    int64_t t0 = e->now;
    struct slot j;
    join3(e, &j, a, "a"); /* the leader rejoins: a rebalance */
    assert_int_equal(j.calls, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + SESSION); /* b's session first */
    for (int i = 1; i <= 6; i++) { /* b heartbeats but never rejoins */
        e->now = t0 + 3000 * i;
        assert_int_equal(hb(e, b, 2), KP_ERR_REBALANCE_IN_PROGRESS);
        kg_group_tick(e->gs, e->now);
    }
    assert_int_equal(j.calls, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + REBALANCE);
    e->now = t0 + REBALANCE;
    kg_group_tick(e->gs, e->now);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.error, 0);
    assert_int_equal(j.generation, 3);
    assert_int_equal(j.nmembers, 1);
    assert_int_equal(hb(e, b, 2), KP_ERR_UNKNOWN_MEMBER_ID);
}

static void test_group_inconsistent_protocol_refused(void **state)
{
    struct env *e = *state;
    char a[128];
    stable_one(e, a);
    struct slot s;
    struct join_args js = {.label = "js", .protos = {"RoundRobinAssigner"}, .version = 3};
    join_a(e, &s, &js); /* kafkajs's assigner in kcat's group */
    assert_int_equal(s.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    struct join_args other = {.label = "c", .type = "connect", .protos = {"range"}, .version = 3};
    join_a(e, &s, &other);
    assert_int_equal(s.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(info(e).state, KG_GROUP_STABLE); /* nothing changed */

    struct join_args empty = {.group = "h", .type = "", .protos = {"range"}, .version = 3};
    join_a(e, &s, &empty);
    assert_int_equal(s.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    struct join_args none = {.group = "h", .version = 3};
    join_a(e, &s, &none);
    assert_int_equal(s.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("h"), &gi), -ENOENT);
}

static void test_group_protocol_vote(void **state)
{
    struct env *e = *state;
    struct slot a1, b1, c1, a2;
    struct join_args aa = {.label = "a", .protos = {"range", "roundrobin"}, .version = 3};
    join_a(e, &a1, &aa);
    assert_string_equal(a1.protocol, "range");
    char a[128];
    strcpy(a, a1.member_id);
    struct join_args ba = {.label = "b", .protos = {"roundrobin", "range"}, .version = 3};
    join_a(e, &b1, &ba);
    struct join_args ca = {.label = "c", .protos = {"roundrobin"}, .version = 3};
    join_a(e, &c1, &ca);
    aa.member = a;
    join_a(e, &a2, &aa);
    /* range is not supported by c, so every vote goes to roundrobin */
    assert_string_equal(a2.protocol, "roundrobin");
    assert_string_equal(c1.protocol, "roundrobin");
    assert_int_equal(a2.nmembers, 3);
    assert_string_equal(a2.meta[2], "roundrobin@c");

    /* a tie (a: range first, b: roundrobin first) goes to the earliest member's choice */
    renew(e);
    aa.member = NULL;
    join_a(e, &a1, &aa);
    strcpy(a, a1.member_id);
    join_a(e, &b1, &ba);
    aa.member = a;
    join_a(e, &a2, &aa);
    assert_string_equal(a2.protocol, "range");
    assert_string_equal(b1.protocol, "range");
}

static void test_group_wrong_generation_unknown_member_and_request_errors(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    struct slot s;
    sync_(e, &s, a, 1, 0, NULL, NULL);
    assert_int_equal(s.error, KP_ERR_ILLEGAL_GENERATION);
    sync_(e, &s, "ghost", 2, 0, NULL, NULL);
    assert_int_equal(s.error, KP_ERR_UNKNOWN_MEMBER_ID);
    join3(e, &s, "ghost", "x");
    assert_int_equal(s.error, KP_ERR_UNKNOWN_MEMBER_ID);
    assert_string_equal(s.member_id, "ghost"); /* the id is echoed back */
    struct join_args other = {.group = "nogroup", .member = "ghost", .protos = {"range"}};
    join_a(e, &s, &other);
    assert_int_equal(s.error, KP_ERR_UNKNOWN_MEMBER_ID);

    struct slot j;
    join3(e, &j, a, "a"); /* leader rejoins: PreparingRebalance */
    sync_(e, &s, b, 2, 0, NULL, NULL);
    assert_int_equal(s.error, KP_ERR_REBALANCE_IN_PROGRESS);

    struct join_args bad = {.group = "", .protos = {"range"}};
    join_a(e, &s, &bad);
    assert_int_equal(s.error, KP_ERR_INVALID_GROUP_ID);
    struct join_args shorts = {.protos = {"range"}, .session = 1000};
    join_a(e, &s, &shorts);
    assert_int_equal(s.error, KP_ERR_INVALID_SESSION_TIMEOUT);
    struct join_args stat = {.protos = {"range"}, .instance = "host-1"};
    join_a(e, &s, &stat);
    assert_int_equal(s.calls, 0); /* static: joins this rebalance at once, no id round trip */
    struct kg_member_ref h = {kp_slice_str("none"), 1, kp_slice_str(a), {NULL, -1}};
    assert_int_equal(kg_group_heartbeat(e->gs, &h, e->now), KP_ERR_UNKNOWN_MEMBER_ID);
    h.group_id = kp_slice_str("");
    assert_int_equal(kg_group_heartbeat(e->gs, &h, e->now), KP_ERR_INVALID_GROUP_ID);
    finish(e);
    assert_int_equal(j.error, KP_ERR_COORDINATOR_NOT_AVAILABLE);
}

static void test_group_commit_validation_matrix(void **state)
{
    struct env *e = *state;
    /* no group at all */
    assert_int_equal(commit(e, "g", "", -1), KP_ERR_NONE); /* a standalone consumer */
    assert_int_equal(commit(e, "g", "m", 5), KP_ERR_ILLEGAL_GENERATION);
    /* Empty group (only a pending member id) */
    struct slot p;
    struct join_args a79 = {.label = "p", .protos = {"range"}, .version = 5};
    join_a(e, &p, &a79);
    assert_int_equal(info(e).state, KG_GROUP_EMPTY);
    assert_int_equal(commit(e, "g", "", -1), KP_ERR_NONE);
    assert_int_equal(commit(e, "g", p.member_id, 0), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(leave(e, p.member_id), KP_ERR_NONE); /* pending ids can leave */

    char a[128], b[128];
    stable_two(e, a, b);
    assert_int_equal(commit(e, "g", a, 2), KP_ERR_NONE);
    assert_int_equal(commit(e, "g", a, 1), KP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit(e, "g", "ghost", 2), KP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(commit(e, "g", "", -1), KP_ERR_UNKNOWN_MEMBER_ID); /* group in use */
    /* PreparingRebalance with the current generation: accepted */
    struct slot j;
    join3(e, &j, a, "a");
    assert_int_equal(info(e).state, KG_GROUP_PREPARING_REBALANCE);
    assert_int_equal(commit(e, "g", b, 2), KP_ERR_NONE);
    /* CompletingRebalance: REBALANCE_IN_PROGRESS */
    struct slot jb;
    join3(e, &jb, b, "b");
    assert_int_equal(info(e).state, KG_GROUP_COMPLETING_REBALANCE);
    assert_int_equal(commit(e, "g", b, 3), KP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(commit(e, "g", b, 2), KP_ERR_ILLEGAL_GENERATION);
    /* an accepted commit counts as a heartbeat */
    const char *ids[] = {a, b}, *parts[] = {"x", "y"};
    struct slot sa, sb;
    sync_(e, &sb, b, 3, 0, NULL, NULL);
    sync_(e, &sa, a, 3, 2, ids, parts);
    int64_t t0 = e->now;
    e->now = t0 + SESSION - 1;
    assert_int_equal(hb(e, a, 3), 0);
    assert_int_equal(commit(e, "g", b, 3), KP_ERR_NONE);
    kg_group_tick(e->gs, t0 + SESSION + 1);
    assert_int_equal(info(e).nmembers, 2);
}

static void test_group_initial_delay_collects_members_into_one_generation(void **state)
{
    struct env *e = *state;
    int64_t t0 = e->now;
    struct slot a, b;
    join3(e, &a, "", "a");
    assert_int_equal(a.calls, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + 3000);
    e->now = t0 + 1000;
    join3(e, &b, "", "b");
    kg_group_tick(e->gs, t0 + 2999);
    assert_int_equal(a.calls + b.calls, 0);
    kg_group_tick(e->gs, t0 + 3000); /* b arrived in the window: wait another 3 s */
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), t0 + 6000);
    kg_group_tick(e->gs, t0 + 6000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.generation, 1);
    assert_int_equal(a.nmembers, 2);
}

static void test_group_pending_member_id_expires_and_group_is_forgotten(void **state)
{
    struct env *e = *state;
    struct slot s;
    struct join_args a = {.protos = {"range"}, .version = 5};
    join_a(e, &s, &a);
    assert_int_equal(s.error, KP_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(kg_group_next_deadline(e->gs), e->now + SESSION);
    kg_group_tick(e->gs, e->now + SESSION);
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("g"), &gi), -ENOENT);
    a.member = s.member_id;
    struct slot late;
    join_a(e, &late, &a);
    assert_int_equal(late.error, KP_ERR_UNKNOWN_MEMBER_ID);
}

static void test_group_leader_leaves_while_followers_wait_for_sync(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    struct slot ja, jb, sb;
    join3(e, &ja, a, "a");
    join3(e, &jb, b, "b");
    assert_int_equal(jb.generation, 3);
    sync_(e, &sb, b, 3, 0, NULL, NULL);
    assert_int_equal(sb.calls, 0);
    assert_int_equal(leave(e, a), KP_ERR_NONE);
    assert_int_equal(sb.calls, 1); /* the assignment it waited for will never come */
    assert_int_equal(sb.error, KP_ERR_REBALANCE_IN_PROGRESS);
    struct slot jb2;
    join3(e, &jb2, b, "b");
    assert_int_equal(jb2.generation, 4);
    assert_string_equal(jb2.leader, b); /* the leader is gone: the first member leads */
}

static void test_group_duplicate_join_forget_and_destroy_answer_each_waiter_once(void **state)
{
    struct env *e = *state;
    char a[128], b[128];
    stable_two(e, a, b);
    struct slot j1, j2, jb;
    join3(e, &j1, a, "a"); /* the leader rejoins: parked until b rejoins */
    join3(e, &j2, a, "a"); /* a retry on another connection */
    assert_int_equal(j1.calls, 1);
    assert_int_equal(j1.error, KP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(j2.calls, 0);
    kg_group_forget(e->gs, &j2); /* its connection closed */
    join3(e, &jb, b, "b");
    assert_int_equal(jb.calls, 1);
    assert_int_equal(j2.calls, 0); /* forgotten: never called */
    assert_int_equal(jb.generation, 3);
    assert_string_equal(jb.leader, a); /* a still counted as rejoined, as in Kafka */

    struct slot sb;
    sync_(e, &sb, b, 3, 0, NULL, NULL);
    assert_int_equal(sb.calls, 0);
    assert_int_equal(kg_group_next_deadline(e->gs), e->now + SESSION); /* a's session */
    kg_group_forget(e->gs, &sb); /* b's sync connection closed: its session runs again */
    assert_int_equal(sb.calls, 0);

    struct slot parked;
    struct join_args changed = {.member = b, .label = "b", .protos = {"roundrobin", "range"},
                                .version = 3};
    join_a(e, &parked, &changed); /* a new subscription: parked until a rejoins */
    assert_int_equal(parked.calls, 0);
    int before = e->answers;
    finish(e);
    assert_int_equal(parked.calls, 1); /* answered at destroy, not lost */
    assert_int_equal(parked.error, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(e->answers, before + 1);
}

/* ---- kafkajs's own requests through the coordinator, answers through the codec -------- */

/* What a server keeps per parked request: the header to answer with, and the answer. */
struct wire_waiter {
    struct kp_request_header hdr;
    struct kc_writer out;
    int calls;
};

/* Encode now: r is valid only during the callback. */
static void wire_join(void *ctx, void *waiter, const struct kg_join_result *r)
{
    struct wire_waiter *ww = waiter;
    struct kp_join_group_resp resp;
    struct kp_join_group_resp_member m[8];
    (void)ctx;
    ww->calls++;
    assert_true(r->nmembers <= 8);
    kp_init(&kp_join_group_resp_schema, &resp);
    resp.error_code = r->error;
    resp.generation_id = r->generation_id;
    resp.protocol_name = r->protocol_name.len < 0 ? kp_slice_str("") : r->protocol_name; /* v5 */
    resp.leader = r->leader;
    resp.member_id = r->member_id;
    for (int32_t i = 0; i < r->nmembers; i++) {
        kp_init(&kp_join_group_resp_member_schema, &m[i]);
        m[i].member_id = r->members[i].member_id;
        m[i].metadata = r->members[i].metadata;
    }
    KP_SET(resp.members, r->nmembers, m);
    kc_writer_reset(&ww->out);
    assert_int_equal(kp_response_encode(&ww->out, KP_API_JOIN_GROUP, ww->hdr.request_api_version,
                                        ww->hdr.correlation_id, &resp, NULL, NULL), 0);
}

static void wire_sync(void *ctx, void *waiter, const struct kg_sync_result *r)
{
    struct wire_waiter *ww = waiter;
    struct kp_sync_group_resp resp;
    (void)ctx;
    ww->calls++;
    kp_init(&kp_sync_group_resp_schema, &resp);
    resp.error_code = r->error;
    resp.assignment = r->assignment;
    kc_writer_reset(&ww->out);
    assert_int_equal(kp_response_encode(&ww->out, KP_API_SYNC_GROUP, ww->hdr.request_api_version,
                                        ww->hdr.correlation_id, &resp, NULL, NULL), 0);
}

/* A captured request frame, decoded (slices point into *frame). */
static void load_req(const char *name, uint8_t **frame, struct kp_request *req)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof(rel), "broker/kafka/tests/fixtures/kafkajs/%s.req", name);
    *frame = kc_test_load(rel, &len);
    assert_true(len > 4);
    assert_int_equal(kp_request_decode(*frame + 4, len - 4, 0, req), 0);
}

/* The answer the waiter holds, decoded as a client would (free with kp_response_fini). */
static void *answer(const struct wire_waiter *ww, int16_t key, struct kp_response *resp)
{
    const uint8_t *f = kc_writer_data(&ww->out);
    size_t len = kc_writer_len(&ww->out);
    assert_true(len > 4);
    assert_int_equal(kp_response_decode(f + 4, len - 4, key, ww->hdr.request_api_version, 0,
                                        resp), 0);
    assert_int_equal(resp->correlation_id, ww->hdr.correlation_id);
    return resp->msg;
}

static void test_group_kafkajs_requests_join_sync_commit_leave(void **state)
{
    (void)state;
    struct kg_groups *gs;
    struct kg_group_opts o;
    kg_group_opts_default(&o);
    o.initial_rebalance_delay_ms = 0;
    struct kg_group_cbs cbs = {wire_join, wire_sync, NULL, NULL, NULL};
    assert_int_equal(kg_groups_create(&o, &cbs, &gs), 0);
    int64_t now = 5000;
    uint8_t *f1, *f2, *f3, *f4, *f5;
    struct kp_request join, sync, hbr, commitr, leaver;
    struct kp_response resp;
    load_req("JoinGroup_v5_1", &f1, &join);
    const struct kp_join_group_req *jq = join.msg;
    struct wire_waiter ww = {.hdr = join.hdr};
    kc_writer_init(&ww.out, 0);

    /* v5, member "": MEMBER_ID_REQUIRED with "kp-capture-<uuid>" (kafkajs's client id) */
    struct kg_protocol protos[4];
    assert_true(jq->protocols.n >= 1 && jq->protocols.n <= 4);
    for (int32_t i = 0; i < jq->protocols.n; i++)
        protos[i] = (struct kg_protocol){jq->protocols.v[i].name, jq->protocols.v[i].metadata};
    struct kg_join kj = {jq->group_id, jq->session_timeout_ms, jq->rebalance_timeout_ms,
                         jq->member_id, jq->group_instance_id, jq->protocol_type,
                         jq->protocols.n, protos, kp_slice_str("/127.0.0.1")};
    kg_group_join(gs, join.hdr.request_api_version, join.hdr.client_id, &kj, &ww, now);
    const struct kp_join_group_resp *jr = answer(&ww, KP_API_JOIN_GROUP, &resp);
    assert_int_equal(jr->error_code, KP_ERR_MEMBER_ID_REQUIRED);
    char id[128];
    copy_str(id, sizeof(id), jr->member_id);
    assert_memory_equal(id, "kp-capture-", 11);
    kp_response_fini(&resp);

    kj.member_id = kp_slice_str(id); /* what kafkajs does next */
    kg_group_join(gs, 5, join.hdr.client_id, &kj, &ww, now);
    assert_int_equal(ww.calls, 2);
    jr = answer(&ww, KP_API_JOIN_GROUP, &resp);
    assert_int_equal(jr->error_code, 0);
    assert_int_equal(jr->generation_id, 1);
    assert_true(kp_slice_eq(jr->protocol_name, "RoundRobinAssigner"));
    assert_int_equal(jr->members.n, 1); /* the leader sees its own subscription, verbatim */
    assert_int_equal(jr->members.v[0].metadata.len, jq->protocols.v[0].metadata.len);
    assert_memory_equal(jr->members.v[0].metadata.p, jq->protocols.v[0].metadata.p,
                        (size_t)jr->members.v[0].metadata.len);
    kp_response_fini(&resp);

    load_req("SyncGroup_v3_1", &f2, &sync);
    const struct kp_sync_group_req *sq = sync.msg;
    assert_int_equal(sq->assignments.n, 1);
    /* the mock's generation and member id, replaced by ours */
    struct kg_assignment as = {kp_slice_str(id), sq->assignments.v[0].assignment};
    struct kg_sync ks = {sq->group_id, 1, kp_slice_str(id), sq->group_instance_id,
                         sq->protocol_type, sq->protocol_name, 1, &as};
    ww.hdr = sync.hdr;
    kg_group_sync(gs, &ks, &ww, now);
    assert_int_equal(ww.calls, 3);
    const struct kp_sync_group_resp *syr = answer(&ww, KP_API_SYNC_GROUP, &resp);
    assert_int_equal(syr->error_code, 0);
    assert_int_equal(syr->assignment.len, as.assignment.len);
    assert_memory_equal(syr->assignment.p, as.assignment.p, (size_t)syr->assignment.len);
    kp_response_fini(&resp);

    load_req("Heartbeat_v3_1", &f3, &hbr);
    const struct kp_heartbeat_req *hq = hbr.msg;
    struct kg_member_ref ref = {hq->group_id, 1, kp_slice_str(id), hq->group_instance_id};
    assert_int_equal(kg_group_heartbeat(gs, &ref, now + 1000), 0);
    load_req("OffsetCommit_v5_1", &f4, &commitr);
    const struct kp_offset_commit_req *cq = commitr.msg;
    ref = (struct kg_member_ref){cq->group_id, 1, kp_slice_str(id), cq->group_instance_id};
    assert_int_equal(kg_group_commit_check(gs, &ref, now + 2000), 0);
    load_req("LeaveGroup_v1_1", &f5, &leaver);
    const struct kp_leave_group_req *lq = leaver.msg;
    assert_int_equal(kg_group_leave(gs, lq->group_id, kp_slice_str(id), (struct kc_slice){NULL, -1},
                                    now + 3000), 0);
    assert_int_equal(kg_group_next_deadline(gs), INT64_MAX); /* nothing left to time */

    kg_groups_destroy(gs);
    kc_writer_fini(&ww.out);
    struct kp_request *reqs[] = {&join, &sync, &hbr, &commitr, &leaver};
    uint8_t *frames[] = {f1, f2, f3, f4, f5};
    for (int i = 0; i < 5; i++) {
        kp_request_fini(reqs[i]);
        free(frames[i]);
    }
}

/* ---- unload: a cluster's coordinator lets go of the groups whose partition moved ------ */

static bool keep_h(void *arg, struct kc_slice group)
{
    (*(int *)arg)++;
    return group.len == 1 && group.p[0] == 'h';
}

static void test_group_unload_answers_parked_members_not_coordinator(void **state)
{
    struct env *e = *state;
    struct slot g1, h1;
    struct join_args ag = {.group = "g", .label = "a", .protos = {"range"}, .version = 3};
    struct join_args ah = {.group = "h", .label = "b", .protos = {"range"}, .version = 3};
    join_a(e, &g1, &ag); /* both parked: a new group waits the initial delay */
    join_a(e, &h1, &ah);
    assert_int_equal(g1.calls + h1.calls, 0);
    int asked = 0;
    assert_int_equal(kg_group_unload(e->gs, keep_h, &asked), 1);
    assert_int_equal(asked, 2);
    assert_int_equal(g1.calls, 1);
    assert_int_equal(g1.error, KP_ERR_NOT_COORDINATOR);
    assert_int_equal(h1.calls, 0); /* still ours: still parked */
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("g"), &gi), -ENOENT);
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str("h"), &gi), 0);
    assert_int_equal(kg_group_unload(e->gs, keep_h, &asked), 0); /* nothing more to drop */
    e->now += 3000;
    kg_group_tick(e->gs, e->now); /* h completes its join as if nothing happened */
    assert_int_equal(h1.calls, 1);
    assert_int_equal(h1.error, 0);
    finish(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_single_member_join_sync_heartbeat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_member_id_required_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_two_members_rebalance_leader_gets_members,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_leave_with_remaining_member_rebalances,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_session_expiry_removes_silent_member, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_group_rebalance_timeout_drops_member_that_did_not_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_inconsistent_protocol_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_protocol_vote, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_group_wrong_generation_unknown_member_and_request_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_validation_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_group_initial_delay_collects_members_into_one_generation, setup_delayed,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_group_pending_member_id_expires_and_group_is_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_leader_leaves_while_followers_wait_for_sync,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_group_duplicate_join_forget_and_destroy_answer_each_waiter_once, setup,
            teardown),
        cmocka_unit_test(test_group_kafkajs_requests_join_sync_commit_leave),
        cmocka_unit_test_setup_teardown(test_group_unload_answers_parked_members_not_coordinator,
                                        setup_delayed, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

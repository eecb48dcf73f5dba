/*
 * kcg.h - the group requests the cluster's coordinator tests (test_0310, test_0311) send,
 * through the Kafka codec, each reduced to what the tests check: an error code, an offset.
 */
#ifndef KCG_H
#define KCG_H

#include "kcl.h"

/* FindCoordinator v3 for group through b: the coordinator's node id, or -(error code). */
KT_FN int32_t kcg_find(const struct kb_broker *b, const char *group)
{
    uint8_t buf[4096];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_find_coordinator_req *r = KT_NEW(&a, kp_find_coordinator_req, 1);
    r->key = kp_slice_str(group);
    int fd = kb_connect(b);
    struct kp_find_coordinator_resp *m =
        kt_call(fd, KP_API_FIND_COORDINATOR, 3, r, buf, sizeof(buf), &resp);
    close(fd);
    int32_t node = m->error_code ? -m->error_code : m->node_id;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return node;
}

struct kcg_until_coordinator {
    const struct kb_broker *b;
    const char *group;
    int32_t not;  /* a node it must not be (-1: any) */
    int32_t node; /* out */
};

/* Until b names a coordinator for the group (other than u->not). */
KT_FN bool kcg_has_coordinator(void *arg)
{
    struct kcg_until_coordinator *u = arg;
    u->node = kcg_find(u->b, u->group);
    return u->node >= 1 && u->node != u->not;
}

/* Until b says nobody coordinates the group (COORDINATOR_NOT_AVAILABLE). */
KT_FN bool kcg_no_coordinator(void *arg)
{
    struct kcg_until_coordinator *u = arg;
    u->node = kcg_find(u->b, u->group);
    return u->node == -KP_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* Heartbeat v4 of a member nobody knows: its error code. */
KT_FN int16_t kcg_heartbeat(const struct kb_broker *b, const char *group)
{
    uint8_t buf[1024];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_heartbeat_req *r = KT_NEW(&a, kp_heartbeat_req, 1);
    r->group_id = kp_slice_str(group);
    r->generation_id = 1;
    r->member_id = kp_slice_str("nobody");
    int fd = kb_connect(b);
    struct kp_heartbeat_resp *m = kt_call(fd, KP_API_HEARTBEAT, 4, r, buf, sizeof(buf), &resp);
    close(fd);
    int16_t err = m->error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* JoinGroup v5 (sent on fd, answered later with kcg_join_recv): a "consumer" member with
 * member_id (may be ""). */
KT_FN void kcg_join_send(int fd, const char *group, const char *member_id, int32_t corr)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_join_group_req *r = KT_NEW(&a, kp_join_group_req, 1);
    struct kp_join_group_req_protocol *p = KT_NEW(&a, kp_join_group_req_protocol, 1);
    static const uint8_t meta[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* v0, no topics, no data */
    p->name = kp_slice_str("range");
    p->metadata = (struct kc_slice){meta, (int32_t)sizeof(meta)};
    r->group_id = kp_slice_str(group);
    r->session_timeout_ms = 60000; /* outlives a broker's restart */
    r->rebalance_timeout_ms = 60000;
    r->member_id = kp_slice_str(member_id);
    r->protocol_type = kp_slice_str("consumer");
    KP_SET(r->protocols, 1, p);
    kt_send(fd, KP_API_JOIN_GROUP, 5, corr, r);
    kp_arena_fini(&a);
}

/* The JoinGroup answer: its error code, the member id it hands out into id[cap], the
 * generation into *gen (may be NULL). */
KT_FN int16_t kcg_join_recv_gen(int fd, int32_t corr, char *id, size_t cap, int32_t *gen)
{
    uint8_t buf[4096];
    struct kp_response resp;
    struct kp_join_group_resp *m =
        kt_recv(fd, KP_API_JOIN_GROUP, 5, corr, buf, sizeof(buf), &resp);
    int16_t err = m->error_code;
    if (id)
        snprintf(id, cap, "%.*s", (int)KC_MAX(m->member_id.len, 0), m->member_id.p);
    if (gen)
        *gen = m->generation_id;
    kp_response_fini(&resp);
    return err;
}

KT_FN int16_t kcg_join_recv(int fd, int32_t corr, char *id, size_t cap)
{
    return kcg_join_recv_gen(fd, corr, id, cap, NULL);
}

/* One member joins and syncs (group.initial.rebalance.delay.ms must be 0): the group is
 * Stable with it. */
KT_FN void kcg_join_sync(const struct kb_broker *b, const char *group)
{
    char id[256];
    int32_t gen = -1;
    uint8_t buf[1024];
    struct kp_arena a;
    struct kp_response resp;
    int fd = kb_connect(b);
    kcg_join_send(fd, group, "", 1);
    assert_int_equal(kcg_join_recv(fd, 1, id, sizeof(id)), KP_ERR_MEMBER_ID_REQUIRED);
    kcg_join_send(fd, group, id, 2);
    assert_int_equal(kcg_join_recv_gen(fd, 2, NULL, 0, &gen), KP_ERR_NONE);
    kp_arena_init(&a, 0);
    struct kp_sync_group_req *r = KT_NEW(&a, kp_sync_group_req, 1);
    struct kp_sync_group_req_assignment *as = KT_NEW(&a, kp_sync_group_req_assignment, 1);
    as->member_id = kp_slice_str(id);
    as->assignment = kp_slice_str("");
    r->group_id = kp_slice_str(group);
    r->generation_id = gen;
    r->member_id = kp_slice_str(id);
    KP_SET(r->assignments, 1, as);
    struct kp_sync_group_resp *m = kt_call(fd, KP_API_SYNC_GROUP, 3, r, buf, sizeof(buf), &resp);
    assert_int_equal(m->error_code, KP_ERR_NONE);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    close(fd);
}

/* OffsetCommit v8 of one offset by a standalone consumer (generation -1): its error. */
KT_FN int16_t kcg_commit(const struct kb_broker *b, const char *group, const char *topic,
                         int32_t p, int64_t offset)
{
    uint8_t buf[1024];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_offset_commit_req *r = KT_NEW(&a, kp_offset_commit_req, 1);
    struct kp_offset_commit_req_topic *t = KT_NEW(&a, kp_offset_commit_req_topic, 1);
    struct kp_offset_commit_req_partition *pp = KT_NEW(&a, kp_offset_commit_req_partition, 1);
    pp->partition_index = p;
    pp->committed_offset = offset;
    pp->committed_metadata = kp_slice_str("");
    t->name = kp_slice_str(topic);
    KP_SET(t->partitions, 1, pp);
    r->group_id = kp_slice_str(group);
    r->generation_id_or_member_epoch = -1;
    r->member_id = kp_slice_str("");
    KP_SET(r->topics, 1, t);
    int fd = kb_connect(b);
    struct kp_offset_commit_resp *m =
        kt_call(fd, KP_API_OFFSET_COMMIT, 8, r, buf, sizeof(buf), &resp);
    close(fd);
    int16_t err = m->topics.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* kcg_commit at the broker a FindCoordinator named, retried while it answers what a
 * client retries on (NOT_COORDINATOR: its own view of the offsets partition may lag the
 * broker that named it; COORDINATOR_LOAD_IN_PROGRESS; COORDINATOR_NOT_AVAILABLE), for up
 * to KB_WAIT_MS: the last error. */
KT_FN int16_t kcg_commit_at_coordinator(const struct kb_broker *b, const char *group,
                                        const char *topic, int32_t p, int64_t offset)
{
    int16_t err;
    for (int64_t t0 = kc_mono_ms();; usleep(50 * 1000)) {
        err = kcg_commit(b, group, topic, p, offset);
        if ((err != KP_ERR_NOT_COORDINATOR && err != KP_ERR_COORDINATOR_LOAD_IN_PROGRESS &&
             err != KP_ERR_COORDINATOR_NOT_AVAILABLE) ||
            kc_mono_ms() - t0 > KB_WAIT_MS)
            return err;
    }
}

/* OffsetFetch v7 of one partition: the group's error code, the offset in *offset. */
KT_FN int16_t kcg_fetch(const struct kb_broker *b, const char *group, const char *topic,
                        int32_t p, int64_t *offset)
{
    uint8_t buf[1024];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_offset_fetch_req *r = KT_NEW(&a, kp_offset_fetch_req, 1);
    struct kp_offset_fetch_req_topic *t = KT_NEW(&a, kp_offset_fetch_req_topic, 1);
    int32_t *idx = kp_arena_alloc(&a, sizeof(*idx));
    *idx = p;
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_indexes, 1, idx);
    r->group_id = kp_slice_str(group);
    KP_SET(r->topics, 1, t);
    int fd = kb_connect(b);
    struct kp_offset_fetch_resp *m = kt_call(fd, KP_API_OFFSET_FETCH, 7, r, buf, sizeof(buf),
                                             &resp);
    close(fd);
    int16_t err = m->error_code;
    *offset = m->topics.n == 1 && m->topics.v[0].partitions.n == 1
                  ? m->topics.v[0].partitions.v[0].committed_offset
                  : -2;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* ListGroups v4: does b list group? */
KT_FN bool kcg_lists(const struct kb_broker *b, const char *group)
{
    uint8_t buf[8192];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_list_groups_req *r = KT_NEW(&a, kp_list_groups_req, 1);
    int fd = kb_connect(b);
    struct kp_list_groups_resp *m = kt_call(fd, KP_API_LIST_GROUPS, 4, r, buf, sizeof(buf),
                                            &resp);
    close(fd);
    bool found = false;
    for (int32_t i = 0; i < m->groups.n; i++)
        found |= m->groups.v[i].group_id.len == (int32_t)strlen(group) &&
                 memcmp(m->groups.v[i].group_id.p, group, strlen(group)) == 0;
    assert_int_equal(m->error_code, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return found;
}

/* DescribeGroups v5 of one group: its error code; its state into state[cap] and its
 * member count into *members (both may be NULL). */
KT_FN int16_t kcg_describe_state(const struct kb_broker *b, const char *group, char *state,
                                 size_t cap, int32_t *members)
{
    uint8_t buf[8192];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_describe_groups_req *r = KT_NEW(&a, kp_describe_groups_req, 1);
    struct kc_slice *g = kp_arena_alloc(&a, sizeof(*g));
    *g = kp_slice_str(group);
    KP_SET(r->groups, 1, g);
    int fd = kb_connect(b);
    struct kp_describe_groups_resp *m =
        kt_call(fd, KP_API_DESCRIBE_GROUPS, 5, r, buf, sizeof(buf), &resp);
    close(fd);
    assert_int_equal(m->groups.n, 1);
    int16_t err = m->groups.v[0].error_code;
    if (state)
        snprintf(state, cap, "%.*s", (int)KC_MAX(m->groups.v[0].group_state.len, 0),
                 m->groups.v[0].group_state.p);
    if (members)
        *members = m->groups.v[0].members.n;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

KT_FN int16_t kcg_describe(const struct kb_broker *b, const char *group)
{
    return kcg_describe_state(b, group, NULL, 0, NULL);
}

#endif

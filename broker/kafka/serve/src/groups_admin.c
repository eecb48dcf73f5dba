/*
 * groups_admin.c - what group tools ask (kafka-consumer-groups, AdminClient's
 * list/describe): ListGroups (v0-5) and DescribeGroups (v0-5). DeleteGroups and
 * OffsetDelete, which change things, are groups_delete.c.
 *
 * Which groups exist. The coordinator knows the groups with members and the Empty ones it
 * keeps; a group can also exist only through its committed offsets (a standalone consumer
 * that commits with generation -1, the native protocol's `kafka_cli 3`, a group whose
 * coordinator state was forgotten). Kafka's coordinator makes an Empty group for those
 * too, so both are listed, the second kind as Empty with no protocol type - what a
 * "simple consumer group" looks like to Kafka's tools.
 *
 *   ListGroups       DESCRIBE on the cluster lists every group; without it, only the
 *                    groups the principal may DESCRIBE (Kafka filters silently). v4+ may
 *                    filter by state (case-insensitive), v5+ by type: every group here is
 *                    "classic" (KIP-848's consumer groups are not served).
 *   DescribeGroups   per group, DESCRIBE on it or GROUP_AUTHORIZATION_FAILED (30), those
 *                    answered first, as Kafka does. A group nobody knows is "Dead" with no
 *                    error (v5 and below); a known one has its state, protocol type, and
 *                    its members (client id, "/host", v4+ instance id) - with their
 *                    subscription and assignment only while Stable, when the protocol is
 *                    named too (Kafka's summary). v3+ can ask for the operations the
 *                    principal may do on it (READ, DESCRIBE, DELETE: a bit field).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_list_groups_resp_listed_group listed_t;
typedef struct kp_describe_groups_resp_described_group described_t;
typedef struct kp_describe_groups_resp_described_group_member dmember_t;

/* The operations on a group Kafka reports (AclEntry.supportedOperations(GROUP)). */
static const int group_ops[] = {SEC_OP_READ, SEC_OP_DESCRIBE, SEC_OP_DELETE};

bool brk__kafka_may(const struct brk_conn *c, int op, int type, struct kc_slice name)
{
    struct sec_authorizer *a = brk_server_authorizer(brk_conn_server(c));
    if (!a)
        return true;
    return sec_authorize(a, brk_conn_principal(c), brk_conn_host(c), (enum sec_acl_op)op,
                         (enum sec_resource_type)type, (const char *)name.p,
                         name.len > 0 ? (size_t)name.len : 0, NULL) == SEC_AUTHZ_ALLOWED;
}

struct kc_slice brk__kafka_client_host(const struct brk_conn *c, struct kp_arena *a)
{
    const char *host = brk_conn_host(c);
    size_t n = strlen(host);
    char *s = kp_arena_alloc(a, n + 2);
    if (!s)
        return kp_slice_str("/");
    s[0] = '/'; /* Kafka's clientHost is an InetAddress's toString: "/127.0.0.1" */
    memcpy(s + 1, host, n);
    return (struct kc_slice){(const uint8_t *)s, (int32_t)n + 1};
}

/* Kafka's authorizedOperations for a group: the bit of each operation allowed. */
static int32_t group_operations(const struct brk_conn *c, struct kc_slice group)
{
    int32_t bits = 0;
    for (size_t i = 0; i < sizeof(group_ops) / sizeof(group_ops[0]); i++)
        if (brk__kafka_may(c, group_ops[i], SEC_RES_GROUP, group))
            bits |= (int32_t)1 << group_ops[i];
    return bits;
}

/* ---- ListGroups ------------------------------------------------------------------------- */

struct listing {
    struct brk_kafka *k;
    struct kp_arena *a;
    listed_t *v;
    int32_t n, cap;
    bool oom;
};

static void list_push(struct listing *l, struct kc_slice id, const char *state,
                      struct kc_slice type)
{
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        listed_t *v = kp_new(l->a, &kp_list_groups_resp_listed_group_schema, cap);
        if (!v) {
            l->oom = true;
            return;
        }
        if (l->n)
            memcpy(v, l->v, (size_t)l->n * sizeof(*v));
        l->v = v;
        l->cap = cap;
    }
    listed_t *g = &l->v[l->n];
    g->group_id = brk__kafka_keep(l->a, id);
    g->protocol_type = brk__kafka_keep(l->a, type);
    g->group_state = kp_slice_str(state);
    g->group_type = kp_slice_str("classic");
    l->oom |= g->group_id.len != id.len || g->protocol_type.len != type.len;
    l->n++;
}

static void list_coordinator(void *arg, const struct kg_group_info *gi)
{
    list_push(arg, gi->group_id, kg_group_state_name(gi->state), gi->protocol_type);
}

/* Under the store's lock (and mu): a group known only by its offsets is Empty. */
static void list_offsets_only(void *arg, struct kc_slice group, int32_t count)
{
    struct listing *l = arg;
    struct kg_group_info gi;
    (void)count;
    if (kg_group_describe(l->k->groups, group, &gi) == -ENOENT)
        list_push(l, group, "Empty", kp_slice_str(""));
}

static bool in_filter(const struct kc_slice *f, int32_t n, const char *value)
{
    size_t len = strlen(value);
    for (int32_t i = 0; i < n; i++)
        if (f[i].len == (int32_t)len && strncasecmp((const char *)f[i].p, value, len) == 0)
            return true;
    return false;
}

/* Kafka's filters, then the principal's view. */
static bool list_keep(struct brk_conn *c, const struct kp_list_groups_req *lq, int16_t v,
                      bool cluster, const struct brk_cview *view, const listed_t *g)
{
    if (!brk__kafka_coordinates(view, g->group_id))
        return false; /* a cluster's: another broker coordinates it */
    char state[32];
    snprintf(state, sizeof(state), "%.*s", (int)g->group_state.len, g->group_state.p);
    if (v >= 4 && lq->states_filter.n > 0 &&
        !in_filter(lq->states_filter.v, lq->states_filter.n, state))
        return false;
    if (v >= 5 && lq->types_filter.n > 0 &&
        !in_filter(lq->types_filter.v, lq->types_filter.n, "classic"))
        return false;
    return cluster || brk__kafka_may(c, SEC_OP_DESCRIBE, SEC_RES_GROUP, g->group_id);
}

int brk__kafka_list_groups(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_list_groups_req *lq = req->msg;
    int16_t v = req->hdr.request_api_version;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kp_arena out; /* the answer grows with the groups, not with the request */
    kp_arena_init(&out, 0);
    struct listing l = {.k = k, .a = &out};
    struct kp_list_groups_resp *resp = kp_new(&out, &kp_list_groups_resp_schema, 1);
    brk__kafka_groups_lock(k);
    kg_group_foreach(k->groups, list_coordinator, &l);
    brk_offsets_groups(brk_conn_server(c), list_offsets_only, &l);
    brk__kafka_groups_unlock(k, c);
    int rc = resp && !l.oom ? 0 : -ENOMEM;
    if (rc == 0) {
        bool cluster = brk__kafka_may(c, SEC_OP_DESCRIBE, SEC_RES_CLUSTER,
                                      kp_slice_str(SEC_CLUSTER_NAME));
        struct brk_cview *view = brk_cluster_view(brk_conn_server(c)); /* NULL alone */
        int32_t n = 0;
        for (int32_t i = 0; i < l.n; i++) {
            if (!list_keep(c, lq, v, cluster, view, &l.v[i]))
                continue;
            l.v[n] = l.v[i];
            if (v < 4) /* not carried: defaults, as the encoder wants them */
                l.v[n].group_state = kp_slice_str("");
            if (v < 5)
                l.v[n].group_type = kp_slice_str("");
            n++;
        }
        if (view)
            brk_cview_put(view);
        KP_SET(resp->groups, n, l.v);
        rc = brk__kafka_reply(c, &req->hdr, resp);
    }
    kp_arena_fini(&out);
    return rc;
}

/* ---- DescribeGroups ------------------------------------------------------------------------ */

struct describing {
    struct kp_arena *a;
    dmember_t *v;
    int32_t n;
    bool oom;
};

static void describe_member(void *arg, const struct kg_member_info *mi)
{
    struct describing *d = arg;
    dmember_t *m = &d->v[d->n++];
    m->member_id = brk__kafka_keep(d->a, mi->member_id);
    m->group_instance_id = brk__kafka_keep(d->a, mi->group_instance_id);
    m->client_id = brk__kafka_keep(d->a, mi->client_id);
    m->client_host = brk__kafka_keep(d->a, mi->client_host);
    m->member_metadata = brk__kafka_keep(d->a, mi->metadata);
    m->member_assignment = brk__kafka_keep(d->a, mi->assignment);
    d->oom |= m->member_id.len != mi->member_id.len ||
              m->member_metadata.len != mi->metadata.len ||
              m->member_assignment.len != mi->assignment.len;
}

/* One group as the coordinator (or the offsets store) knows it. Under mu. */
static int describe_one(struct brk_conn *c, struct kp_arena *a, described_t *dg)
{
    struct brk_kafka *k = brk__kafka_of(c);
    struct kg_group_info gi;
    dg->error_code = brk__kafka_coordinator_check(brk_conn_server(c), dg->group_id);
    if (dg->error_code != KP_ERR_NONE)
        return 0; /* a cluster's: another broker coordinates it */
    if (kg_group_describe(k->groups, dg->group_id, &gi) != 0) { /* Kafka: Dead, or Empty */
        bool offsets = brk_offsets_count(brk_conn_server(c), dg->group_id) > 0;
        dg->group_state = kp_slice_str(offsets ? "Empty" : "Dead");
        return 0;
    }
    bool stable = gi.state == KG_GROUP_STABLE;
    dg->group_state = kp_slice_str(kg_group_state_name(gi.state));
    dg->protocol_type = brk__kafka_keep(a, gi.protocol_type);
    dg->protocol_data = stable ? brk__kafka_keep(a, gi.protocol) : kp_slice_str("");
    struct describing d = {a, kp_new(a, &kp_describe_groups_resp_described_group_member_schema,
                                     gi.nmembers), 0, false};
    if (!d.v && gi.nmembers > 0)
        return -ENOMEM;
    (void)kg_group_members(k->groups, dg->group_id, describe_member, &d);
    KP_SET(dg->members, d.n, d.v);
    return d.oom || dg->protocol_type.len != gi.protocol_type.len ? -ENOMEM : 0;
}

int brk__kafka_describe_groups(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_groups_req *dq = req->msg;
    int16_t v = req->hdr.request_api_version;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kp_arena out;
    kp_arena_init(&out, 0);
    struct kp_describe_groups_resp *resp = kp_new(&out, &kp_describe_groups_resp_schema, 1);
    described_t *dg = kp_new(&out, &kp_describe_groups_resp_described_group_schema, dq->groups.n);
    int rc = resp && (dg || dq->groups.n == 0) ? 0 : -ENOMEM;
    int32_t n = 0;
    for (int32_t i = 0; rc == 0 && i < dq->groups.n; i++) /* the refused ones first */
        if (!brk_authorize(c, SEC_OP_DESCRIBE, SEC_RES_GROUP, (const char *)dq->groups.v[i].p,
                           (size_t)KC_MAX(dq->groups.v[i].len, 0))) {
            dg[n].group_id = brk__kafka_keep(&out, dq->groups.v[i]);
            dg[n++].error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
        }
    brk__kafka_groups_lock(k);
    for (int32_t i = 0; rc == 0 && i < dq->groups.n; i++) {
        if (!brk__kafka_may(c, SEC_OP_DESCRIBE, SEC_RES_GROUP, dq->groups.v[i]))
            continue;
        dg[n].group_id = brk__kafka_keep(&out, dq->groups.v[i]);
        rc = describe_one(c, &out, &dg[n]);
        if (rc == 0 && v >= 3 && dq->include_authorized_operations)
            dg[n].authorized_operations = group_operations(c, dq->groups.v[i]);
        n++;
    }
    brk__kafka_groups_unlock(k, c);
    if (rc == 0) {
        KP_SET(resp->groups, n, dg);
        rc = brk__kafka_reply(c, &req->hdr, resp);
    }
    kp_arena_fini(&out);
    return rc;
}

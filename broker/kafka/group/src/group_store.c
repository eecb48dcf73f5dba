/*
 * group_store.c - what survives a restart, and the admin APIs: the group's record
 * (kg_record.h), stored when Kafka stores it and loaded at start; DeleteGroups' and
 * OffsetDelete's rules.
 *
 * When Kafka's coordinator writes a group's record, and what waits for it:
 *
 *   the leader's SyncGroup          record: generation, leader, every member with its
 *   (CompletingRebalance)           subscription and new assignment. The group turns
 *                                   Stable, and the syncs are answered, only once the
 *                                   record is durable; a failure resets the assignment,
 *                                   answers the syncs with the error and rebalances.
 *   a static member's rejoin        record with the member's new id; its JoinGroup is
 *   (Stable)                        answered once durable (group_static.c).
 *   the group empties               an Empty record (generation, protocol type, no
 *                                   members) if it has committed offsets, else a
 *                                   tombstone and the group is forgotten (Kafka's
 *                                   cleanup, without the delay).
 *   DeleteGroups                    a tombstone, with the offsets' (written by the
 *                                   server, which owns the offsets).
 *
 *          kg                                   server (broker/kafka/serve)
 *   kg__store(g, seq) --cbs.store(rec, seq)-->  encode, append to __consumer_offsets,
 *                                               wait for the fsync (group commit) ...
 *   kg_group_stored(seq, error) <-------------  ... later, on a network loop
 *     seq == g->sync_seq: Stable (or reset)
 *     seq == m->store_seq: answer m's join (or restore its old id)
 *     anything else: the group moved on, nothing waits
 *
 * Sequence numbers are what make a late answer harmless: a rebalance that starts while
 * an assignment is being stored clears g->sync_seq, so the store's answer changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kg_int.h"
#include "kp_msgs.h"

uint64_t kg__store_seq(struct kg_groups *gs)
{
    return ++gs->seq;
}

/* m's metadata for the group's protocol (what the record calls its subscription). */
static struct kc_slice subscription_of(const struct kg_group *g, const struct kg_member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (kg__blob_eq(m->proto_names[i], kg__blob_slice(g->protocol)))
            return kg__blob_slice(m->proto_meta[i]);
    return (struct kc_slice){(const uint8_t *)"", 0};
}

/* g as a record, its members in g->rec_scratch (room reserved when each joined). */
static void record_of(const struct kg_group *g, struct kg_record *rec)
{
    static const struct kc_slice null = {NULL, -1};
    const struct kg_member *m;
    int32_t n = 0;
    *rec = (struct kg_record){
        .version = KG_RECORD_VERSION,
        .protocol_type = kg__blob_slice(g->protocol_type),
        .generation = g->generation,
        .protocol = g->nmembers ? kg__blob_slice(g->protocol) : null,
        .leader = g->nmembers && g->leader ? kg__blob_slice(g->leader->id) : null,
        .current_state_timestamp = -1,
        .nmembers = g->nmembers,
        .members = g->rec_scratch,
    };
    TAILQ_FOREACH(m, &g->members, link) {
        g->rec_scratch[n++] = (struct kg_record_member){
            .member_id = kg__blob_slice(m->id),
            .group_instance_id = m->is_static ? kg__blob_slice(m->instance_id) : null,
            .client_id = kg__blob_slice(m->client_id),
            .client_host = kg__blob_slice(m->client_host),
            .rebalance_timeout_ms = m->rebalance_ms,
            .session_timeout_ms = m->session_ms,
            .subscription = subscription_of(g, m),
            .assignment = kg__blob_slice(m->assignment),
        };
    }
}

/* seq is done: whatever waits on it moves on. */
static void stored(struct kg_groups *gs, struct kg_group *g, uint64_t seq, int16_t error,
                   int64_t now_ms)
{
    struct kg_member *m, *next;
    if (g->sync_seq == seq) {
        if (g->state == KG_GROUP_COMPLETING_REBALANCE)
            kg__sync_stored(gs, g, error, now_ms);
        else
            g->sync_seq = 0;
        return;
    }
    TAILQ_FOREACH_SAFE(m, &g->members, link, next) {
        if (m->store_seq == seq) {
            kg__static_stored(gs, g, m, error, now_ms);
            return;
        }
    }
}

void kg__store(struct kg_groups *gs, struct kg_group *g, uint64_t seq, bool tombstone,
               int64_t now_ms)
{
    struct kg_record rec;
    g->persisted = !tombstone;
    if (!gs->cbs.store) {
        stored(gs, g, seq, KP_ERR_NONE, now_ms);
        return;
    }
    if (!tombstone)
        record_of(g, &rec);
    gs->cbs.store(gs->cbs.ctx, kg__blob_slice(g->id), tombstone ? NULL : &rec, seq);
}

void kg__group_emptied(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    bool keep = gs->cbs.keep_empty && gs->cbs.keep_empty(gs->cbs.ctx, kg__blob_slice(g->id));
    g->dormant = keep;
    if (keep || g->persisted)
        kg__store(gs, g, kg__store_seq(gs), !keep, now_ms);
    free(g->scratch); /* nobody to answer any more: an Empty group holds only its id */
    free(g->rec_scratch);
    g->scratch = NULL;
    g->rec_scratch = NULL;
    g->scratch_cap = 0;
}

void kg_group_stored(struct kg_groups *gs, struct kc_slice group_id, uint64_t seq,
                     int16_t error, int64_t now_ms)
{
    struct kg_group *g = kg__group_find(gs, group_id);
    if (!g || seq == 0)
        return; /* deleted or forgotten meanwhile: nothing waits */
    stored(gs, g, seq, error, now_ms);
    kg__group_gc(gs, g);
}

/* ---- loading ----------------------------------------------------------------------------- */

/* A record no coordinator could have written is refused whole. */
static bool record_sane(const struct kg_record *rec)
{
    if (rec->nmembers == 0)
        return true;
    if (rec->protocol.len < 0 || rec->protocol_type.len <= 0)
        return false;
    for (int32_t i = 0; i < rec->nmembers; i++) {
        const struct kg_record_member *a = &rec->members[i];
        if (a->member_id.len <= 0 || a->session_timeout_ms <= 0 || a->rebalance_timeout_ms < 0)
            return false;
        for (int32_t j = 0; j < i; j++)
            if (a->member_id.len == rec->members[j].member_id.len &&
                memcmp(a->member_id.p, rec->members[j].member_id.p, (size_t)a->member_id.len) == 0)
                return false;
    }
    return true;
}

/* One member from the record: it supports the group's protocol, with its subscription. */
static int load_member(struct kg_group *g, const struct kg_record *rec,
                       const struct kg_record_member *rm, int64_t now_ms)
{
    struct kg_member *m = calloc(1, sizeof(*m));
    struct kg_protocol proto = {rec->protocol, rm->subscription};
    struct kg_join j = {.session_timeout_ms = rm->session_timeout_ms,
                        .rebalance_timeout_ms = rm->rebalance_timeout_ms,
                        .nprotocols = 1, .protocols = &proto};
    int rc = m ? kg__member_update(m, &j) : -ENOMEM;
    if (rc == 0)
        rc = kg__blob_set(&m->id, rm->member_id);
    if (rc == 0)
        rc = kg__blob_set(&m->client_id, rm->client_id);
    if (rc == 0)
        rc = kg__blob_set(&m->client_host, rm->client_host);
    if (rc == 0)
        rc = kg__blob_set(&m->assignment, rm->assignment);
    if (rc == 0 && rm->group_instance_id.len >= 0) {
        rc = kg__blob_set(&m->instance_id, rm->group_instance_id);
        m->is_static = true;
    }
    if (rc) {
        if (m)
            kg__member_free(m);
        return rc;
    }
    m->session_deadline = now_ms + m->session_ms; /* Kafka's onGroupLoaded */
    TAILQ_INSERT_TAIL(&g->members, m, link);
    g->nmembers++;
    if (rec->leader.len >= 0 && kg__blob_eq(m->id, rec->leader))
        g->leader = m;
    return 0;
}

static int load_group(struct kg_groups *gs, struct kg_group *g, const struct kg_record *rec,
                      int64_t now_ms)
{
    int rc = kg__blob_set(&g->protocol_type, rec->protocol_type);
    if (rc == 0 && rec->nmembers > 0)
        rc = kg__blob_set(&g->protocol, rec->protocol);
    if (rc == 0 && rec->nmembers > 0)
        rc = kg__scratch_reserve(g, rec->nmembers);
    for (int32_t i = 0; i < rec->nmembers && rc == 0; i++)
        rc = load_member(g, rec, &rec->members[i], now_ms);
    if (rc)
        return rc;
    g->generation = rec->generation;
    g->persisted = true;
    g->dormant = g->nmembers == 0;
    g->state = g->nmembers ? KG_GROUP_STABLE : KG_GROUP_EMPTY;
    if (g->nmembers && !g->leader)
        g->leader = TAILQ_FIRST(&g->members);
    if (g->nmembers > gs->opts.max_members) /* Kafka: over capacity, let them rejoin */
        kg__prepare_rebalance(gs, g, now_ms);
    return 0;
}

int kg_group_load(struct kg_groups *gs, struct kc_slice group_id, const struct kg_record *rec,
                  int64_t now_ms)
{
    if (group_id.len <= 0 || !record_sane(rec))
        return -EINVAL;
    if (kg__group_find(gs, group_id))
        return -EEXIST;
    if (rec->nmembers == 0 && !(gs->cbs.keep_empty && gs->cbs.keep_empty(gs->cbs.ctx, group_id))) {
        if (gs->cbs.store) /* an Empty group without offsets: what Kafka's cleanup drops */
            gs->cbs.store(gs->cbs.ctx, group_id, NULL, kg__store_seq(gs));
        return 0;
    }
    struct kg_group *g = kg__group_create(gs, group_id);
    if (!g)
        return -ENOMEM;
    int rc = load_group(gs, g, rec, now_ms);
    if (rc)
        kg__group_drop(gs, g);
    return rc;
}

/* ---- DeleteGroups, OffsetDelete ------------------------------------------------------------ */

int16_t kg_group_delete(struct kg_groups *gs, struct kc_slice group_id, bool *tombstone)
{
    struct kg_group *g = kg__group_find(gs, group_id);
    if (!g)
        return KP_ERR_GROUP_ID_NOT_FOUND;
    if (g->state != KG_GROUP_EMPTY || g->nmembers > 0)
        return KP_ERR_NON_EMPTY_GROUP;
    *tombstone = g->persisted;
    kg__group_drop(gs, g); /* pending ids go too: they rejoin as new members */
    return KP_ERR_NONE;
}

/* Does m's subscription (the consumer protocol's, read with its v0 prefix as Kafka does)
 * name topic? -1 when it cannot be read. */
static int names_topic(struct kc_slice meta, struct kc_slice topic)
{
    struct kp_consumer_protocol_subscription sub;
    struct kp_arena a;
    size_t used;
    int found = -1;
    if (meta.len < 2 || (int16_t)kc_load_be16(meta.p) < 0)
        return -1;
    kp_arena_init(&a, 0);
    if (kp_decode(&kp_consumer_protocol_subscription_schema, 0, meta.p + 2,
                  (size_t)meta.len - 2, &a, &sub, &used) == 0 && sub.topics.n >= 0) {
        found = 0;
        for (int32_t i = 0; i < sub.topics.n && !found; i++)
            found = sub.topics.v[i].len == topic.len &&
                    memcmp(sub.topics.v[i].p, topic.p, (size_t)topic.len) == 0;
    }
    kp_arena_fini(&a);
    return found;
}

/* Kafka's isSubscribedToTopic: true when any member subscribes to it, or when the group
 * does not know (no protocol chosen yet, a subscription it cannot read). */
static bool subscribed(const struct kg_group *g, struct kc_slice topic)
{
    const struct kg_member *m;
    if (g->protocol.len == 0)
        return true;
    TAILQ_FOREACH(m, &g->members, link) {
        struct kc_slice meta = subscription_of(g, m);
        if (names_topic(meta, topic) != 0)
            return true;
    }
    return false;
}

int16_t kg_group_offsets_deletable(const struct kg_groups *gs, struct kc_slice group_id,
                                   struct kc_slice topic)
{
    const struct kg_group *g = kg__group_find(gs, group_id);
    if (!g || g->state == KG_GROUP_EMPTY)
        return KP_ERR_NONE;
    if (!kg__blob_eq(g->protocol_type, kp_slice_str("consumer")))
        return KP_ERR_NON_EMPTY_GROUP;
    if (topic.len < 0)
        return KP_ERR_NONE;
    return subscribed(g, topic) ? KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC : KP_ERR_NONE;
}

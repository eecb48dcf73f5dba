/*
 * group_join.c - the join phase of a rebalance: JoinGroup, protocol vote, generations.
 *
 * A rebalance starts when the membership or a member's subscription changes (a join, a
 * leave, an expiry, the leader rejoining). The group enters PreparingRebalance and waits
 * until every known member has sent JoinGroup again, parking each request. It completes
 *
 *   - as soon as all members have rejoined and no MEMBER_ID_REQUIRED id is outstanding
 *     (Kafka: hasAllMembersJoined), or
 *   - when the rebalance timeout (the largest of the members' rebalance_timeout_ms) runs
 *     out; members that did not rejoin are dropped, or
 *   - for a group that was Empty, when the initial delay runs out (Kafka's
 *     InitialDelayedJoin: group.initial.rebalance.delay.ms, extended while new members
 *     keep arriving, never past the rebalance timeout), so a burst of consumers starting
 *     together lands in one generation instead of one rebalance each.
 *
 * Completion drops the dynamic members that did not rejoin (static ones stay: their
 * process may be restarting, and they keep their partitions until their session times
 * out), keeps the leader if it rejoined or else elects one that did (if none did, the
 * completion waits another rebalance timeout), opens generation+1, elects a protocol (each
 * member votes for its first choice among the protocols every member supports; most
 * votes wins, ties going to the earliest member's order), and answers every parked
 * JoinGroup: all get the generation, protocol, leader and their own id; only the leader
 * gets members[] with each one's metadata for the elected protocol, because only it runs
 * the assignor. A group left with no members is Empty (group_store.c decides whether it
 * is kept).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kg_int.h"

/* ---- member ids ------------------------------------------------------------------------ */

static uint64_t rng_next(struct kg_groups *gs)
{
    uint64_t z = (gs->rng += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* prefix + "-" + a random (version 4) UUID, as Kafka names members (the prefix is the
 * client id, or a static member's instance id). */
int kg__member_id_new(struct kg_groups *gs, struct kc_slice client_id, struct kg_blob *out)
{
    uint64_t hi = rng_next(gs), lo = rng_next(gs);
    hi = (hi & ~0xF000ull) | 0x4000ull;                 /* version 4 */
    lo = (lo & ~(3ull << 62)) | (2ull << 62);           /* variant 10 */
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)(hi >> 16) & 0xFFFF, (unsigned)hi & 0xFFFF, (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xFFFFFFFFFFFFull));
    int32_t cid = client_id.len > 0 ? client_id.len : 0;
    out->len = cid + 1 + 36;
    out->p = malloc((size_t)out->len + 1);
    if (!out->p)
        return -ENOMEM;
    if (cid)
        memcpy(out->p, client_id.p, (size_t)cid);
    out->p[cid] = '-';
    memcpy(out->p + cid + 1, uuid, 37);
    return 0;
}

/* ---- protocols ------------------------------------------------------------------------- */

static bool member_supports(const struct kg_member *m, struct kg_blob name)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (m->proto_names[i].len == name.len &&
            memcmp(m->proto_names[i].p, name.p, (size_t)name.len) == 0)
            return true;
    return false;
}

/* Supported by every current member (Kafka: supportedProtocols count == members). */
static bool all_support(const struct kg_group *g, struct kg_blob name)
{
    const struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link)
        if (!member_supports(m, name))
            return false;
    return true;
}

/* Kafka's supportsProtocols: may a member with these protocols be in this group? */
static bool group_supports(const struct kg_group *g, const struct kg_join *req)
{
    if (g->nmembers == 0)
        return req->protocol_type.len > 0 && req->nprotocols > 0;
    if (!kg__blob_eq(g->protocol_type, req->protocol_type))
        return false;
    for (int32_t i = 0; i < req->nprotocols; i++) {
        struct kg_blob name = {(uint8_t *)req->protocols[i].name.p, req->protocols[i].name.len};
        if (all_support(g, name))
            return true;
    }
    return false;
}

/* The member's vote: its first protocol that every member supports. */
static int32_t member_vote(const struct kg_group *g, const struct kg_member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (all_support(g, m->proto_names[i]))
            return i;
    return -1;
}

struct kg_blob kg__select_protocol(const struct kg_group *g)
{
    struct kg_blob best = {NULL, 0};
    int best_votes = 0;
    const struct kg_member *cand, *m;
    TAILQ_FOREACH(cand, &g->members, link) {
        int32_t ci = member_vote(g, cand);
        if (ci < 0)
            continue;
        struct kg_blob name = cand->proto_names[ci];
        int votes = 0;
        TAILQ_FOREACH(m, &g->members, link) {
            int32_t vi = member_vote(g, m);
            votes += vi >= 0 && kg__blob_eq(name, kg__blob_slice(m->proto_names[vi]));
        }
        if (votes > best_votes) {
            best = name;
            best_votes = votes;
        }
    }
    return best;
}

bool kg__protocols_match(const struct kg_member *m, const struct kg_join *req)
{
    if (m->nprotocols != req->nprotocols)
        return false;
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (!kg__blob_eq(m->proto_names[i], req->protocols[i].name) ||
            !kg__blob_eq(m->proto_meta[i], req->protocols[i].metadata))
            return false;
    return true;
}

static void protocols_free(struct kg_member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++) {
        free(m->proto_names[i].p);
        free(m->proto_meta[i].p);
    }
    free(m->proto_names);
    free(m->proto_meta);
    m->proto_names = m->proto_meta = NULL;
    m->nprotocols = 0;
}

int kg__member_update(struct kg_member *m, const struct kg_join *req)
{
    struct kg_member tmp = {.nprotocols = req->nprotocols};
    tmp.proto_names = calloc((size_t)req->nprotocols, sizeof(struct kg_blob));
    tmp.proto_meta = calloc((size_t)req->nprotocols, sizeof(struct kg_blob));
    int rc = tmp.proto_names && tmp.proto_meta ? 0 : -ENOMEM;
    for (int32_t i = 0; i < req->nprotocols && rc == 0; i++) {
        rc = kg__blob_set(&tmp.proto_names[i], req->protocols[i].name);
        if (rc == 0)
            rc = kg__blob_set(&tmp.proto_meta[i], req->protocols[i].metadata);
    }
    if (rc) {
        protocols_free(&tmp);
        return rc;
    }
    protocols_free(m);
    m->nprotocols = tmp.nprotocols;
    m->proto_names = tmp.proto_names;
    m->proto_meta = tmp.proto_meta;
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = req->rebalance_timeout_ms;
    return 0;
}

/* ---- the rebalance --------------------------------------------------------------------- */

static int32_t max_rebalance_ms(const struct kg_group *g)
{
    int32_t ms = 0;
    const struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link)
        ms = m->rebalance_ms > ms ? m->rebalance_ms : ms;
    return ms;
}

void kg__prepare_rebalance(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    struct kg_member *m;
    g->sync_seq = 0; /* an assignment still being stored is obsolete: its answer is ignored */
    if (g->state == KG_GROUP_COMPLETING_REBALANCE) {
        /* The assignment being handed out is obsolete: parked syncs must rejoin. */
        TAILQ_FOREACH(m, &g->members, link) {
            free(m->assignment.p);
            m->assignment = (struct kg_blob){NULL, 0};
            if (m->awaiting_sync && m->sync_waiter)
                kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_REBALANCE_IN_PROGRESS, m->assignment);
            m->awaiting_sync = false;
            m->sync_waiter = NULL;
        }
    }
    int32_t timeout = max_rebalance_ms(g);
    if (g->state == KG_GROUP_EMPTY && gs->opts.initial_rebalance_delay_ms > 0) {
        int32_t delay = gs->opts.initial_rebalance_delay_ms;
        g->delay_deadline = now_ms + (delay < timeout ? delay : timeout);
        g->delay_limit = now_ms + timeout;
        g->delay_new_member = false;
    }
    g->rebalance_deadline = now_ms + timeout;
    g->state = KG_GROUP_PREPARING_REBALANCE;
}

void kg__try_complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    if (g->state != KG_GROUP_PREPARING_REBALANCE || g->delay_deadline || g->npending)
        return;
    const struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link)
        if (!m->awaiting_join)
            return;
    kg__complete_join(gs, g, now_ms);
}

/* Answer one member's parked JoinGroup with the new generation. */
static void answer_join(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                        int32_t nmembers)
{
    struct kg_join_result res = {
        .error = KP_ERR_NONE,
        .generation_id = g->generation,
        .protocol_type = kg__blob_slice(g->protocol_type),
        .protocol_name = kg__blob_slice(g->protocol),
        .leader = kg__blob_slice(g->leader->id),
        .member_id = kg__blob_slice(m->id),
        .nmembers = m == g->leader ? nmembers : 0,
        .members = g->scratch,
    };
    void *waiter = m->join_waiter;
    m->join_waiter = NULL;
    if (waiter)
        gs->cbs.join_done(gs->cbs.ctx, waiter, &res);
}

int32_t kg__fill_members(struct kg_group *g)
{
    int32_t n = 0;
    struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        struct kc_slice meta = {(const uint8_t *)"", 0};
        for (int32_t i = 0; i < m->nprotocols; i++)
            if (kg__blob_eq(m->proto_names[i], kg__blob_slice(g->protocol)))
                meta = kg__blob_slice(m->proto_meta[i]);
        struct kc_slice inst = m->is_static ? kg__blob_slice(m->instance_id)
                                            : (struct kc_slice){NULL, -1};
        g->scratch[n++] = (struct kg_join_member){kg__blob_slice(m->id), inst, meta};
    }
    return n;
}

/* Drop the dynamic members that did not rejoin in time (static ones stay). */
static void drop_absent(struct kg_group *g)
{
    struct kg_member *m, *next;
    TAILQ_FOREACH_SAFE(m, &g->members, link, next) {
        if (m->awaiting_join || m->is_static)
            continue;
        TAILQ_REMOVE(&g->members, m, link);
        g->nmembers--;
        if (g->leader == m)
            g->leader = NULL;
        kg__member_free(m);
    }
}

/* Kafka's maybeElectNewJoinedLeader: a leader that did not rejoin hands over to one that
 * did. false if nobody rejoined. */
static bool elect_joined_leader(struct kg_group *g)
{
    struct kg_member *m;
    if (g->leader && g->leader->awaiting_join)
        return true;
    TAILQ_FOREACH(m, &g->members, link) {
        if (m->awaiting_join) {
            g->leader = m;
            return true;
        }
    }
    return false;
}

void kg__complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    struct kg_member *m;
    drop_absent(g);
    g->delay_deadline = 0;
    if (g->nmembers > 0 && !elect_joined_leader(g)) {
        /* Only absent static members: wait another rebalance timeout (their sessions
         * expire meanwhile if they do not come back). */
        g->rebalance_deadline = now_ms + max_rebalance_ms(g);
        return;
    }
    g->generation++;
    g->rebalance_deadline = 0;
    free(g->protocol.p);
    g->protocol = (struct kg_blob){NULL, 0};
    if (g->nmembers == 0) {
        g->leader = NULL;
        g->state = KG_GROUP_EMPTY; /* the protocol type stays, as in Kafka */
        kg__group_emptied(gs, g, now_ms);
        return;
    }
    struct kg_blob vote = kg__select_protocol(g);
    (void)kg__blob_set(&g->protocol, kg__blob_slice(vote)); /* on -ENOMEM: name "" */
    g->state = KG_GROUP_COMPLETING_REBALANCE;
    int32_t n = kg__fill_members(g);
    TAILQ_FOREACH(m, &g->members, link) {
        m->awaiting_join = false;
        m->session_deadline = now_ms + m->session_ms;
        answer_join(gs, g, m, n);
    }
}

void kg__remove_member(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       int64_t now_ms)
{
    if (m->awaiting_join && m->join_waiter)
        kg__reply_join_error(gs, m->join_waiter, KP_ERR_UNKNOWN_MEMBER_ID, kg__blob_slice(m->id));
    if (m->awaiting_sync && m->sync_waiter)
        kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_UNKNOWN_MEMBER_ID, (struct kg_blob){NULL, 0});
    TAILQ_REMOVE(&g->members, m, link);
    g->nmembers--;
    if (g->leader == m)
        g->leader = TAILQ_FIRST(&g->members);
    kg__member_free(m);
    if (g->state == KG_GROUP_STABLE || g->state == KG_GROUP_COMPLETING_REBALANCE)
        kg__prepare_rebalance(gs, g, now_ms);
    kg__try_complete_join(gs, g, now_ms);
}

/* ---- JoinGroup ------------------------------------------------------------------------- */

void kg__park_join(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                   void *waiter, int64_t now_ms)
{
    if (m->awaiting_join && m->join_waiter)
        kg__reply_join_error(gs, m->join_waiter, KP_ERR_REBALANCE_IN_PROGRESS,
                             kg__blob_slice(m->id));
    m->awaiting_join = true;
    m->join_waiter = waiter;
    if (g->state != KG_GROUP_PREPARING_REBALANCE)
        kg__prepare_rebalance(gs, g, now_ms);
    else if (g->delay_deadline)
        g->delay_new_member = true;
    kg__try_complete_join(gs, g, now_ms);
}

/* A new member's identity: where it came from and, if static, its instance id. */
static int member_identity(struct kg_member *m, struct kc_slice client_id,
                           const struct kg_join *req)
{
    int rc = kg__blob_set(&m->client_id, client_id);
    if (rc == 0)
        rc = kg__blob_set(&m->client_host, req->client_host);
    if (rc == 0 && req->group_instance_id.len >= 0) {
        rc = kg__blob_set(&m->instance_id, req->group_instance_id);
        m->is_static = rc == 0;
    }
    return rc;
}

void kg__add_member(struct kg_groups *gs, struct kg_group *g, struct kg_blob id,
                    struct kc_slice client_id, const struct kg_join *req, void *waiter,
                    int64_t now_ms)
{
    struct kg_member *m = calloc(1, sizeof(*m));
    int rc = m ? kg__scratch_reserve(g, g->nmembers + 1) : -ENOMEM;
    if (rc == 0 && g->nmembers == 0)
        rc = kg__blob_set(&g->protocol_type, req->protocol_type);
    if (rc == 0)
        rc = kg__member_update(m, req);
    if (rc == 0)
        rc = member_identity(m, client_id, req);
    if (rc) {
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, kg__blob_slice(id));
        free(id.p);
        if (m)
            kg__member_free(m);
        return;
    }
    m->id = id;
    TAILQ_INSERT_TAIL(&g->members, m, link);
    g->nmembers++;
    g->dormant = false;
    if (!g->leader)
        g->leader = m;
    kg__park_join(gs, g, m, waiter, now_ms);
}

static void join_new(struct kg_groups *gs, struct kg_group *g, int16_t version,
                     struct kc_slice client_id, const struct kg_join *req,
                     void *waiter, int64_t now_ms)
{
    struct kg_blob id;
    if (g->nmembers + g->npending >= gs->opts.max_members) {
        kg__reply_join_error(gs, waiter, KP_ERR_GROUP_MAX_SIZE_REACHED, req->member_id);
        return;
    }
    if (kg__member_id_new(gs, client_id, &id)) {
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    if (version < 4) {
        kg__add_member(gs, g, id, client_id, req, waiter, now_ms);
        return;
    }
    /* v4+ (KIP-394): hand out the id first, accept the member when it comes back with it,
     * so a client that times out and retries does not leave a ghost member behind. */
    struct kg_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        free(id.p);
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    p->id = id;
    p->deadline = now_ms + req->session_timeout_ms;
    TAILQ_INSERT_TAIL(&g->pending, p, link);
    g->npending++;
    kg__reply_join_error(gs, waiter, KP_ERR_MEMBER_ID_REQUIRED, kg__blob_slice(id));
}

/* Answer a rejoin that changes nothing with the current generation (Kafka does too). */
static void answer_current(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                           void *waiter, int64_t now_ms)
{
    m->join_waiter = waiter;
    m->session_deadline = now_ms + m->session_ms;
    answer_join(gs, g, m, kg__fill_members(g));
}

void kg__join_existing(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       const struct kg_join *req, void *waiter, int64_t now_ms)
{
    bool same = kg__protocols_match(m, req);
    if ((g->state == KG_GROUP_COMPLETING_REBALANCE && same) ||
        (g->state == KG_GROUP_STABLE && same && m != g->leader && !m->awaiting_join)) {
        answer_current(gs, g, m, waiter, now_ms);
        return;
    }
    /* PreparingRebalance, a changed subscription, or the leader asking for a rebalance
     * (it rejoins when topic metadata changes what the assignment should be). */
    if (!same && kg__member_update(m, req)) {
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = req->rebalance_timeout_ms;
    kg__park_join(gs, g, m, waiter, now_ms);
}

/* Errors that do not depend on the group's state. */
static int16_t join_precheck(const struct kg_groups *gs, const struct kg_join *req)
{
    if (req->group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    if (req->session_timeout_ms < gs->opts.min_session_ms ||
        req->session_timeout_ms > gs->opts.max_session_ms)
        return KP_ERR_INVALID_SESSION_TIMEOUT;
    return KP_ERR_NONE;
}

/* A JoinGroup naming a member id (Kafka's doCurrentMemberJoinGroup). */
static void join_known(struct kg_groups *gs, struct kg_group *g, struct kc_slice client_id,
                       const struct kg_join *req, void *waiter, int64_t now_ms)
{
    struct kg_pending *p = kg__pending_find(g, req->member_id);
    struct kg_member *m = NULL;
    if (p) { /* a pending id coming back (KIP-394); never a static member's */
        struct kg_blob id = p->id;
        p->id.p = NULL;
        kg__pending_remove(g, p);
        kg__add_member(gs, g, id, client_id, req, waiter, now_ms);
        return;
    }
    int16_t err = kg__validate_member(g, req->member_id, req->group_instance_id, &m);
    if (err)
        kg__reply_join_error(gs, waiter, err, req->member_id);
    else
        kg__join_existing(gs, g, m, req, waiter, now_ms);
}

void kg_group_join(struct kg_groups *gs, int16_t version, struct kc_slice client_id,
                   const struct kg_join *req, void *waiter, int64_t now_ms)
{
    bool fresh = req->member_id.len <= 0;
    int16_t err = join_precheck(gs, req);
    struct kg_group *g = err ? NULL : kg__group_find(gs, req->group_id);
    if (!err && !g && !fresh)
        err = KP_ERR_UNKNOWN_MEMBER_ID;
    if (!err && !g && !(g = kg__group_create(gs, req->group_id)))
        err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!err && !group_supports(g, req))
        err = KP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err)
        kg__reply_join_error(gs, waiter, err, req->member_id);
    else if (fresh && req->group_instance_id.len >= 0)
        kg__static_join(gs, g, version, req, client_id, waiter, now_ms);
    else if (fresh)
        join_new(gs, g, version, client_id, req, waiter, now_ms);
    else
        join_known(gs, g, client_id, req, waiter, now_ms);
    if (g)
        kg__group_gc(gs, g);
}

/*
 * group.c - the consumer-group APIs on the coordinator: JoinGroup (v0-9), SyncGroup
 * (v0-5), Heartbeat (v0-4), LeaveGroup (v0-5), and the timers that expire sessions and end
 * rebalances.
 *
 * The coordinator itself (broker/kafka/group, kg.h) is a state machine with no clock, no
 * threads and no wire format. This file gives it all three:
 *
 *   wire      each request's version-dependent fields become kg's neutral structs (a
 *             JoinGroup v0 has no rebalance timeout: the session timeout stands in, as
 *             in Kafka; LeaveGroup v3+ names a list of members: one kg_group_leave
 *             each); kg's results become the response of the request's own version
 *             (JoinGroup v7+ and SyncGroup v5+ carry the protocol type and name;
 *             before v7 a JoinGroup's protocol name may not be null: "" on errors)
 *   lock      one mutex (brk_kafka.mu) around every kg_group_* call, because members of
 *             one group arrive on connections owned by different network loops
 *   clock     kc_mono_ms(), passed to every call
 *   waiting   a JoinGroup/SyncGroup parks (struct gwait: a park and a copy of the request
 *             header). The coordinator answers it from whatever call completes the
 *             rebalance - possibly another member's, on another loop - through
 *             join_done/sync_done, which run under the mutex: they encode the answer into
 *             the waiter's own buffer at once (the coordinator's result is valid only
 *             during the callback) and resume the park; its finish, on the waiter's own
 *             loop, copies the bytes into the answer queue.
 *   timers    session expiry, rebalance timeouts and the initial rebalance delay are
 *             deadlines inside the coordinator; kg_group_next_deadline() says when the
 *             next one falls. Each loop that calls the coordinator owns a timer and, after
 *             its call, arms it no later than that deadline; the timer runs kg_group_tick
 *             and re-arms for the next. Two loops may both tick at one deadline: harmless.
 *   storage   the coordinator's records go to __consumer_offsets (group_store.c): the
 *             answer to a store comes back as a task on loop 0, like any other call.
 *
 *        loop A: member a                     loop B: member b
 *        JoinGroup -> park (waiter wa)        JoinGroup -> kg_group_join completes:
 *                                               join_done(wa): encode, resume wa's park
 *                                               join_done(wb): encode, resume wb's park
 *        wa's finish: copy into the queue     wb's finish: copy into the queue
 *
 * Every park ends through its one path: when the connection closes (CLOSED) or the broker
 * drains (SHUTDOWN) its withdraw takes the waiter back from the coordinator, under the
 * mutex, unless the coordinator answered it first; done then sends the coordinator's answer
 * if there is one, COORDINATOR_NOT_AVAILABLE if the broker is stopping (the client finds
 * the coordinator again after the restart), or nothing if the connection is gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"

/* A JoinGroup or SyncGroup waiting for the rest of its group. */
struct gwait {
    struct brk_park park;         /* its place in the answer order, and its one close path */
    struct brk_kafka *k;
    struct kp_request_header hdr; /* correlation id and version (client_id cleared) */
    struct kc_writer answer;      /* encoded by the coordinator's callback, under mu */
    bool answered;                /* under mu: the coordinator answered (and let go of it) */
};

/* ---- locking and timers ----------------------------------------------------------------- */

static bool still_ours(void *arg, struct kc_slice group)
{
    return brk__kafka_coordinates(arg, group);
}

/* Under mu: in a cluster, when a new view was published since the last look, drop the
 * groups whose __consumer_offsets partition this broker no longer leads (their parked
 * joins and syncs answer NOT_COORDINATOR; the clients find the new coordinator). Every
 * group call passes here, and the timers too - which, in a cluster, fire at least every
 * BRK_KAFKA_FOLLOW_MS while anything is pending - so a coordinator that lost a partition
 * lets go within a second, or at the next touch of any group. */
static void follow_view(struct brk_kafka *k)
{
    struct brk_cview *v = brk_cluster_view(k->srv);
    if (v == k->seen) {
        brk_cview_put(v); /* NULL alone: nothing to do */
        return;
    }
    int n = v ? kg_group_unload(k->groups, still_ours, v) : 0;
    if (n > 0)
        kc_log_info("group coordinator: %d group%s moved to another broker with their "
                    "__consumer_offsets partition", n, n == 1 ? "" : "s");
    if (v)
        brk__kafka_groups_take(k, v); /* partitions taken over: their loaded groups */
    brk_cview_put(k->seen);
    k->seen = v; /* keeps the reference: compared by identity, never reused while held */
}

void brk__kafka_groups_lock(struct brk_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    if (k->groups)
        follow_view(k);
}

static void tick_fire(struct tcore_loop *loop, struct tcore_timer *t);

/* The timer of a loop, made on first use (the loops exist only after open). Under mu. */
static struct brk_kafka_tick *tick_of(struct brk_kafka *k, struct tcore_loop *loop)
{
    if (!k->ticks) {
        int n = brk_server_nloops(k->srv);
        if (!(k->ticks = calloc((size_t)n, sizeof(*k->ticks))))
            return NULL;
        for (int i = 0; i < n; i++) {
            k->ticks[i] = (struct brk_kafka_tick){.loop = brk_server_loop(k->srv, i), .k = k,
                                                  .due_ms = INT64_MAX};
            tcore_timer_init(&k->ticks[i].timer, tick_fire, &k->ticks[i]);
        }
        k->nticks = n;
    }
    for (int i = 0; i < k->nticks; i++)
        if (k->ticks[i].loop == loop)
            return &k->ticks[i];
    return NULL;
}

/* On tk's loop: fire no later than due (a monotonic time), if anything is due at all. */
static void tick_arm(struct brk_kafka_tick *tk, int64_t due)
{
    if (due == INT64_MAX || (tcore_timer_armed(&tk->timer) && tk->due_ms <= due))
        return;
    if (tcore_timer_arm(tk->loop, &tk->timer, due - kc_mono_ms()) != 0) {
        kc_log_warn("cannot arm the group coordinator's timer: sessions will expire late");
        return;
    }
    tk->due_ms = due;
}

void brk__kafka_groups_unlock(struct brk_kafka *k, struct brk_conn *c)
{
    brk__kafka_groups_unlock_loop(k, brk_conn_loop(c));
}

void brk__kafka_groups_unlock_loop(struct brk_kafka *k, struct tcore_loop *loop)
{
    struct brk_kafka_tick *tk = tick_of(k, loop);
    int64_t due = kg_group_next_deadline(k->groups);
    if (due != INT64_MAX && k->seen) /* a cluster's: look at the view at least this often */
        due = KC_MIN(due, kc_mono_ms() + BRK_KAFKA_FOLLOW_MS);
    pthread_mutex_unlock(&k->mu);
    if (tk)
        tick_arm(tk, due);
    else
        kc_log_warn("no timer for the group coordinator (out of memory)");
}

static void tick_fire(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_kafka_tick *tk = t->arg;
    struct brk_kafka *k = tk->k;
    (void)loop;
    tk->due_ms = INT64_MAX;
    pthread_mutex_lock(&k->mu);
    follow_view(k);
    kg_group_tick(k->groups, kc_mono_ms());
    brk__kafka_groups_unlock_loop(k, loop); /* re-arms */
}

/* ---- kg's answers as responses of the request's version ------------------------------------ */

static int join_encode(struct kc_writer *out, const struct kp_request_header *h,
                       const struct kg_join_result *r)
{
    int16_t v = h->request_api_version;
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_join_group_resp *resp = kp_new(&a, &kp_join_group_resp_schema, 1);
    struct kp_join_group_resp_member *m =
        kp_new(&a, &kp_join_group_resp_member_schema, r->nmembers);
    int rc = resp && (m || r->nmembers == 0) ? 0 : -ENOMEM;
    if (rc == 0) {
        resp->error_code = r->error;
        resp->generation_id = r->generation_id;
        if (v >= 7)
            resp->protocol_type = r->protocol_type;
        resp->protocol_name = v < 7 && r->protocol_name.len < 0 ? kp_slice_str("")
                                                                : r->protocol_name;
        resp->leader = r->leader;
        resp->member_id = r->member_id;
        if (v >= 9) /* KIP-814: a static leader rejoining a Stable group */
            resp->skip_assignment = r->skip_assignment;
        for (int32_t i = 0; i < r->nmembers; i++) {
            m[i].member_id = r->members[i].member_id;
            m[i].group_instance_id = r->members[i].group_instance_id; /* v5+ */
            m[i].metadata = r->members[i].metadata;
        }
        KP_SET(resp->members, r->nmembers, m);
        rc = kp_response_encode(out, KP_API_JOIN_GROUP, v, h->correlation_id, resp, NULL,
                                NULL);
    }
    kp_arena_fini(&a);
    return rc;
}

static int sync_encode(struct kc_writer *out, const struct kp_request_header *h,
                       const struct kg_sync_result *r)
{
    struct kp_sync_group_resp resp;
    kp_init(&kp_sync_group_resp_schema, &resp);
    resp.error_code = r->error;
    if (h->request_api_version >= 5) {
        resp.protocol_type = r->protocol_type;
        resp.protocol_name = r->protocol_name;
    }
    resp.assignment = r->assignment;
    return kp_response_encode(out, KP_API_SYNC_GROUP, h->request_api_version,
                              h->correlation_id, &resp, NULL, NULL);
}

/* ---- waiters ------------------------------------------------------------------------------ */

static struct gwait *gwait_of(struct brk_park *park)
{
    return (struct gwait *)((char *)park - offsetof(struct gwait, park));
}

/* The park ends: take the waiter back from the coordinator unless it answered already. */
static void gwait_withdraw(struct brk_park *park)
{
    struct gwait *w = gwait_of(park);
    pthread_mutex_lock(&w->k->mu);
    if (!w->answered)
        kg_group_forget(w->k->groups, w);
    pthread_mutex_unlock(&w->k->mu);
}

/* An error err in the shape of the answer to the Join or Sync with header h. */
static void refuse(const struct kp_request_header *h, int16_t err, struct kc_writer *out)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0}, null = {NULL, -1};
    int rc;
    if (h->request_api_key == KP_API_JOIN_GROUP) {
        struct kg_join_result r = {err, -1, null, null, empty, empty, 0, NULL, false};
        rc = join_encode(out, h, &r);
    } else {
        struct kg_sync_result r = {err, null, null, empty};
        rc = sync_encode(out, h, &r);
    }
    if (rc)
        out->err = rc; /* closes the connection */
}

/* The coordinator let go of w without answering: COORDINATOR_NOT_AVAILABLE. */
static void gwait_refuse(struct gwait *w, struct kc_writer *out)
{
    refuse(&w->hdr, KP_ERR_COORDINATOR_NOT_AVAILABLE, out);
}

/* In a cluster, a group this broker does not coordinate: NOT_COORDINATOR, answered now.
 * true if answered. */
static bool not_ours(struct brk_conn *c, const struct kp_request *req, struct kc_slice group)
{
    int16_t err = brk__kafka_coordinator_check(brk_conn_server(c), group);
    if (err == KP_ERR_NONE)
        return false;
    refuse(&req->hdr, err, brk_resp_writer(c));
    return true;
}

static int gwait_done(struct brk_park *park, enum brk_park_why why)
{
    struct gwait *w = gwait_of(park);
    if (why != BRK_PARK_CLOSED) {
        struct kc_writer *out = brk_park_writer(park);
        if (!w->answered) /* withdrawn (the broker drains): no answer came */
            gwait_refuse(w, out);
        else if (kc_writer_error(&w->answer))
            out->err = kc_writer_error(&w->answer); /* closes the connection */
        else
            kc_write_raw(out, kc_writer_data(&w->answer), kc_writer_len(&w->answer));
    }
    kc_writer_fini(&w->answer);
    free(w);
    return 0;
}

static const struct brk_park_ops join_ops = {
    .kind = "join", .withdraw = gwait_withdraw, .done = gwait_done};
static const struct brk_park_ops sync_ops = {
    .kind = "sync", .withdraw = gwait_withdraw, .done = gwait_done};

/* A waiter for the request in req, parked in c's answer order. NULL on -ENOMEM. */
static struct gwait *gwait_new(struct brk_conn *c, const struct kp_request *req)
{
    struct gwait *w = calloc(1, sizeof(*w));
    const struct brk_park_ops *ops =
        req->hdr.request_api_key == KP_API_JOIN_GROUP ? &join_ops : &sync_ops;
    if (!w || brk_park_start(c, &w->park, ops, -1) != 0) {
        free(w);
        return NULL;
    }
    w->k = brk__kafka_of(c);
    w->hdr = req->hdr;
    w->hdr.client_id = (struct kc_slice){NULL, -1}; /* points into the frame */
    kc_writer_init(&w->answer, 0);
    return w;
}

/* The coordinator's callbacks: any loop, under mu. An encoding error stays in the
 * waiter's writer and closes the connection in gwait_done. */
static void join_done(void *ctx, void *waiter, const struct kg_join_result *r)
{
    struct gwait *w = waiter;
    (void)ctx;
    if (r->error == KP_ERR_NONE)
        kc_log_debug("JoinGroup answered: member %.*s, generation %d, leader %.*s%s",
                     (int)r->member_id.len, r->member_id.p, r->generation_id,
                     (int)r->leader.len, r->leader.p,
                     r->skip_assignment ? " (skip assignment)" : "");
    else
        kc_log_debug("JoinGroup answered: member %.*s, %s", (int)KC_MAX(r->member_id.len, 0),
                     r->member_id.p, kp_error_name(r->error));
    int rc = join_encode(&w->answer, &w->hdr, r);
    if (rc && !w->answer.err)
        w->answer.err = rc;
    w->answered = true;
    brk_park_resume(&w->park, BRK_PARK_RESUMED);
}

static void sync_done(void *ctx, void *waiter, const struct kg_sync_result *r)
{
    struct gwait *w = waiter;
    (void)ctx;
    int rc = sync_encode(&w->answer, &w->hdr, r);
    if (rc && !w->answer.err)
        w->answer.err = rc;
    w->answered = true;
    brk_park_resume(&w->park, BRK_PARK_RESUMED);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int brk__kafka_groups_init(struct brk_kafka *k)
{
    const struct brk_config *cfg = brk_server_config(k->srv);
    struct kg_group_cbs cbs = {join_done, sync_done, k, brk__kafka_group_store,
                               brk__kafka_group_keep_empty};
    struct kg_group_opts opts;
    kg_group_opts_default(&opts);
    opts.initial_rebalance_delay_ms = (int32_t)cfg->group_initial_rebalance_delay_ms;
    opts.min_session_ms = (int32_t)cfg->group_min_session_timeout_ms;
    opts.max_session_ms = (int32_t)cfg->group_max_session_timeout_ms;
    return kg_groups_create(&opts, &cbs, &k->groups);
}

void brk__kafka_groups_fini(struct brk_kafka *k)
{
    /* The loops have stopped and their threads are joined: their timers are ours. */
    for (int i = 0; i < k->nticks; i++)
        tcore_timer_disarm(k->ticks[i].loop, &k->ticks[i].timer);
    free(k->ticks);
    k->ticks = NULL;
    k->nticks = 0;
    kg_groups_destroy(k->groups); /* no waiter is left: every park has ended */
    k->groups = NULL;
    brk_cview_put(k->seen);
    k->seen = NULL;
}

/* ---- the APIs ---------------------------------------------------------------------------- */

int brk__kafka_join_group(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_join_group_req *jq = req->msg;
    int16_t v = req->hdr.request_api_version;
    struct brk_kafka *k = brk__kafka_of(c);
    if (not_ours(c, req, jq->group_id))
        return 0;
    struct kg_protocol *protos =
        kp_arena_alloc(&req->arena, ((size_t)jq->protocols.n + 1) * sizeof(*protos));
    struct gwait *w = protos ? gwait_new(c, req) : NULL;
    if (!w) {
        kc_log_warn("%s: out of memory parking a JoinGroup; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    for (int32_t i = 0; i < jq->protocols.n; i++)
        protos[i] = (struct kg_protocol){jq->protocols.v[i].name, jq->protocols.v[i].metadata};
    struct kg_join kj = {jq->group_id, jq->session_timeout_ms,
                         v >= 1 ? jq->rebalance_timeout_ms : jq->session_timeout_ms,
                         jq->member_id, jq->group_instance_id, jq->protocol_type,
                         jq->protocols.n, protos, brk__kafka_client_host(c, &req->arena)};
    if (jq->reason.len > 0) /* v8+ (KIP-800) */
        kc_log_debug("%s: JoinGroup %.*s: %.*s", brk_conn_peer(c), (int)jq->group_id.len,
                     jq->group_id.p, (int)jq->reason.len, jq->reason.p);
    brk__kafka_groups_lock(k);
    kg_group_join(k->groups, v, req->hdr.client_id, &kj, w, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return 0;
}

int brk__kafka_sync_group(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_sync_group_req *sq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    if (not_ours(c, req, sq->group_id))
        return 0;
    struct kg_assignment *as =
        kp_arena_alloc(&req->arena, ((size_t)sq->assignments.n + 1) * sizeof(*as));
    struct gwait *w = as ? gwait_new(c, req) : NULL;
    if (!w) {
        kc_log_warn("%s: out of memory parking a SyncGroup; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    for (int32_t i = 0; i < sq->assignments.n; i++)
        as[i] = (struct kg_assignment){sq->assignments.v[i].member_id,
                                       sq->assignments.v[i].assignment};
    struct kg_sync ks = {sq->group_id, sq->generation_id, sq->member_id, sq->group_instance_id,
                         sq->protocol_type, sq->protocol_name, sq->assignments.n, as};
    brk__kafka_groups_lock(k);
    kg_group_sync(k->groups, &ks, w, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return 0;
}

int brk__kafka_heartbeat(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_heartbeat_req *hq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kg_member_ref ref = {hq->group_id, hq->generation_id, hq->member_id,
                                hq->group_instance_id};
    struct kp_heartbeat_resp resp;
    kp_init(&kp_heartbeat_resp_schema, &resp);
    resp.error_code = brk__kafka_coordinator_check(brk_conn_server(c), hq->group_id);
    if (resp.error_code != KP_ERR_NONE)
        return brk__kafka_reply(c, &req->hdr, &resp);
    brk__kafka_groups_lock(k);
    resp.error_code = kg_group_heartbeat(k->groups, &ref, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return brk__kafka_reply(c, &req->hdr, &resp);
}

/* LeaveGroup v3+ (KIP-345): a list of members, each answered; a group id that cannot be
 * one is the whole request's error (Kafka: validateGroupStatus, an empty list). */
static int leave_members(struct brk_conn *c, struct kp_request *req,
                         struct kp_leave_group_resp *resp)
{
    const struct kp_leave_group_req *lq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    int32_t n = lq->members.n;
    struct kp_leave_group_resp_member_response *m =
        kp_new(&req->arena, &kp_leave_group_resp_member_response_schema, n);
    if (!m && n > 0)
        return -ENOMEM;
    if (lq->group_id.len <= 0) {
        resp->error_code = KP_ERR_INVALID_GROUP_ID;
        return 0;
    }
    brk__kafka_groups_lock(k);
    for (int32_t i = 0; i < n; i++) {
        const struct kp_leave_group_req_member_identity *id = &lq->members.v[i];
        m[i].member_id = id->member_id;
        m[i].group_instance_id = id->group_instance_id;
        m[i].error_code = kg_group_leave(k->groups, lq->group_id, id->member_id,
                                         id->group_instance_id, kc_mono_ms());
        kc_log_debug("%s: LeaveGroup %.*s member %.*s instance %.*s: %s", brk_conn_peer(c),
                     (int)lq->group_id.len, lq->group_id.p, (int)KC_MAX(id->member_id.len, 0),
                     id->member_id.p, (int)KC_MAX(id->group_instance_id.len, 0),
                     id->group_instance_id.p, kp_error_name(m[i].error_code));
        if (id->reason.len > 0) /* v5+ */
            kc_log_debug("%s: LeaveGroup %.*s: %.*s", brk_conn_peer(c), (int)lq->group_id.len,
                         lq->group_id.p, (int)id->reason.len, id->reason.p);
    }
    brk__kafka_groups_unlock(k, c);
    KP_SET(resp->members, n, m);
    return 0;
}

int brk__kafka_leave_group(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_leave_group_req *lq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kp_leave_group_resp *resp = kp_new(&req->arena, &kp_leave_group_resp_schema, 1);
    int rc = resp ? 0 : -ENOMEM;
    int16_t err = brk__kafka_coordinator_check(brk_conn_server(c), lq->group_id);
    if (rc == 0 && err != KP_ERR_NONE) {
        resp->error_code = err; /* v3+: the whole request's, with no member answered */
    } else if (rc == 0 && req->hdr.request_api_version >= 3) {
        rc = leave_members(c, req, resp);
    } else if (rc == 0) { /* v0-2: one member, its error is the answer's */
        brk__kafka_groups_lock(k);
        resp->error_code = kg_group_leave(k->groups, lq->group_id, lq->member_id,
                                          (struct kc_slice){NULL, -1}, kc_mono_ms());
        kc_log_debug("%s: LeaveGroup %.*s member %.*s: %s", brk_conn_peer(c),
                     (int)lq->group_id.len, lq->group_id.p, (int)KC_MAX(lq->member_id.len, 0),
                     lq->member_id.p, kp_error_name(resp->error_code));
        brk__kafka_groups_unlock(k, c);
    }
    return rc ? rc : brk__kafka_reply(c, &req->hdr, resp);
}

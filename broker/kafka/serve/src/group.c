/*
 * group.c - the consumer-group APIs on the coordinator: JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, and the timers that expire sessions and end rebalances.
 *
 * The coordinator itself (kp_group.h) is a state machine with no clock and no threads.
 * This file gives it both:
 *
 *   lock      one mutex (brk_kafka.mu) around every kp_group_* call, because members of
 *             one group arrive on connections owned by different network loops
 *   clock     kc_mono_ms(), passed to every call
 *   waiting   a JoinGroup/SyncGroup parks (struct brk_kafka_gwait: a park and a copy of
 *             the request header). The coordinator answers it from whatever call completes
 *             the rebalance - possibly another member's, on another loop - through
 *             join_done/sync_done, which run under the mutex: they encode the answer into
 *             the waiter's own buffer at once (the coordinator's response is valid only
 *             during the callback) and resume the park; its finish, on the waiter's own
 *             loop, copies the bytes into the answer queue.
 *   timers    session expiry, rebalance timeouts and the initial rebalance delay are
 *             deadlines inside the coordinator; kp_group_next_deadline() says when the
 *             next one falls. Each loop that calls the coordinator owns a timer and, after
 *             its call, arms it no later than that deadline; the timer runs kp_group_tick
 *             and re-arms for the next. Two loops may both tick at one deadline: harmless.
 *
 *        loop A: member a                     loop B: member b
 *        JoinGroup -> park (waiter wa)        JoinGroup -> kp_group_join completes:
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

#include "kafka_int.h"

/* ---- locking and timers ----------------------------------------------------------------- */

void brk__kafka_groups_lock(struct brk_kafka *k)
{
    pthread_mutex_lock(&k->mu);
}

static void tick_fire(struct tcore_loop *loop, struct tcore_timer *t);

/* The timer of c's loop, made on first use (the loops exist only after open). Under mu. */
static struct brk_kafka_tick *tick_of(struct brk_kafka *k, struct brk_conn *c)
{
    struct tcore_loop *loop = brk_conn_loop(c);
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
    struct brk_kafka_tick *tk = tick_of(k, c);
    int64_t due = kp_group_next_deadline(k->groups);
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
    kp_group_tick(k->groups, kc_mono_ms());
    int64_t due = kp_group_next_deadline(k->groups);
    pthread_mutex_unlock(&k->mu);
    tick_arm(tk, due);
}

/* ---- waiters ------------------------------------------------------------------------------ */

/* The park ends: take the waiter back from the coordinator unless it answered already. */
static void gwait_withdraw(struct brk_park *park)
{
    struct brk_kafka_gwait *w = (struct brk_kafka_gwait *)((char *)park - offsetof(struct brk_kafka_gwait, park));
    pthread_mutex_lock(&w->k->mu);
    if (!w->answered)
        kp_group_forget(w->k->groups, w);
    pthread_mutex_unlock(&w->k->mu);
}

/* The coordinator let go of w without answering: COORDINATOR_NOT_AVAILABLE, in the shape of
 * the request's own answer. */
static void gwait_refuse(struct brk_kafka_gwait *w, struct kc_writer *out)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0};
    int16_t err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    if (w->hdr.api_key == KP_API_JOIN_GROUP) {
        struct kp_join_group_resp resp = {err, -1, empty, empty, empty, 0, NULL};
        kp_encode_join_group(out, &w->hdr, &resp);
    } else {
        struct kp_sync_group_resp resp = {err, empty};
        kp_encode_sync_group(out, &w->hdr, &resp);
    }
}

static int gwait_done(struct brk_park *park, enum brk_park_why why)
{
    struct brk_kafka_gwait *w = (struct brk_kafka_gwait *)((char *)park - offsetof(struct brk_kafka_gwait, park));
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
static struct brk_kafka_gwait *gwait_new(struct brk_conn *c, const struct kp_request *req)
{
    struct brk_kafka_gwait *w = calloc(1, sizeof(*w));
    const struct brk_park_ops *ops =
        req->hdr.api_key == KP_API_JOIN_GROUP ? &join_ops : &sync_ops;
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

/* The coordinator's callbacks: any loop, under mu. */
static void join_done(void *ctx, void *waiter, const struct kp_join_group_resp *resp)
{
    struct brk_kafka_gwait *w = waiter;
    (void)ctx;
    kp_encode_join_group(&w->answer, &w->hdr, resp); /* an error is seen in gwait_done */
    w->answered = true;
    brk_park_resume(&w->park, BRK_PARK_RESUMED);
}

static void sync_done(void *ctx, void *waiter, const struct kp_sync_group_resp *resp)
{
    struct brk_kafka_gwait *w = waiter;
    (void)ctx;
    kp_encode_sync_group(&w->answer, &w->hdr, resp);
    w->answered = true;
    brk_park_resume(&w->park, BRK_PARK_RESUMED);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int brk__kafka_groups_init(struct brk_kafka *k)
{
    const struct brk_config *cfg = brk_server_config(k->srv);
    struct kp_group_cbs cbs = {join_done, sync_done, k};
    struct kp_group_opts opts;
    kp_group_opts_default(&opts);
    opts.initial_rebalance_delay_ms = (int32_t)cfg->group_initial_rebalance_delay_ms;
    opts.min_session_ms = (int32_t)cfg->group_min_session_timeout_ms;
    opts.max_session_ms = (int32_t)cfg->group_max_session_timeout_ms;
    return kp_groups_create(&opts, &cbs, &k->groups);
}

void brk__kafka_groups_fini(struct brk_kafka *k)
{
    /* The loops have stopped and their threads are joined: their timers are ours. */
    for (int i = 0; i < k->nticks; i++)
        tcore_timer_disarm(k->ticks[i].loop, &k->ticks[i].timer);
    free(k->ticks);
    k->ticks = NULL;
    k->nticks = 0;
    kp_groups_destroy(k->groups); /* no waiter is left: every park has ended */
    k->groups = NULL;
}

/* ---- the APIs ---------------------------------------------------------------------------- */

int brk__kafka_join_group(struct brk_conn *c, struct kp_request *req)
{
    struct brk_kafka *k = brk__kafka_of(c);
    struct brk_kafka_gwait *w = gwait_new(c, req);
    if (!w) {
        kc_log_warn("%s: out of memory parking a JoinGroup; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    brk__kafka_groups_lock(k);
    kp_group_join(k->groups, req->hdr.api_version, req->hdr.client_id, &req->u.join_group, w,
                  kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return 0;
}

int brk__kafka_sync_group(struct brk_conn *c, struct kp_request *req)
{
    struct brk_kafka *k = brk__kafka_of(c);
    struct brk_kafka_gwait *w = gwait_new(c, req);
    if (!w) {
        kc_log_warn("%s: out of memory parking a SyncGroup; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    brk__kafka_groups_lock(k);
    kp_group_sync(k->groups, &req->u.sync_group, w, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return 0;
}

int brk__kafka_heartbeat(struct brk_conn *c, struct kp_request *req)
{
    struct brk_kafka *k = brk__kafka_of(c);
    brk__kafka_groups_lock(k);
    int16_t err = kp_group_heartbeat(k->groups, &req->u.heartbeat, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return kp_encode_heartbeat(brk_resp_writer(c), &req->hdr, err);
}

int brk__kafka_leave_group(struct brk_conn *c, struct kp_request *req)
{
    struct brk_kafka *k = brk__kafka_of(c);
    brk__kafka_groups_lock(k);
    int16_t err = kp_group_leave(k->groups, &req->u.leave_group, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    return kp_encode_leave_group(brk_resp_writer(c), &req->hdr, err);
}

/*
 * loop.c - the cluster thread: one loop of named phases, Redis-style.
 *
 *   for (;;) {
 *       wait for the inbox (or the next deadline)
 *       apply what arrived       watch events -> dirty flags; session events -> state;
 *                                commands -> the request list
 *       session                  expired: tell the broker, answer what was in flight,
 *                                open a new session; cut off too long: tell the broker
 *       register                 a new session registers again: a new broker epoch
 *       controller check         /controller changed: run for election, or resign
 *       view                     re-read what changed: brokers, topics, partition states
 *       controller work          if active: brokers lost/registered, deletions, requests
 *       requests                 send queued requests, collect answers, time them out
 *   }
 *
 * The work is level-triggered: a watch only marks an area dirty, and the area is re-read
 * whole. A read that fails (the connection dropped) leaves it dirty, and the step is
 * retried after a backoff (50 ms doubling to 2 s) or when the connection comes back.
 * Missing a single event can therefore never leave the view or the controller wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clu_int.h"
#include "kc_common.h"

/* Take the inbox, waiting until something arrives or `until_ms` (monotonic) passes. */
static struct clu_in *wait_inbox(struct clu *cl, int64_t until_ms, bool *stop)
{
    struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000L};
    pthread_mutex_lock(&cl->in_lock);
    while (!cl->in_head && !cl->stop)
        if (pthread_cond_timedwait(&cl->in_cond, &cl->in_lock, &ts) == ETIMEDOUT)
            break;
    struct clu_in *list = cl->in_head;
    cl->in_head = NULL;
    cl->in_tail = &cl->in_head;
    *stop = cl->stop;
    pthread_mutex_unlock(&cl->in_lock);
    return list;
}

static void session_event(struct clu *cl, int state)
{
    if (state == ZOO_CONNECTED_STATE) {
        if (!cl->connected)
            kc_log_info("cluster: broker %d connected to ZooKeeper (session 0x%llx)",
                        (int)cl->cfg.broker_id,
                        (unsigned long long)zoo_client_id(cl->zh)->client_id);
        cl->connected = true;
        cl->disconnected_since_ms = 0;
        const clientid_t *id = zoo_client_id(cl->zh);
        if (id->client_id != cl->session_id)
            cl->registered = false; /* a new session: register again */
        cl->session_id = id->client_id;
        memcpy(cl->session_passwd, id->passwd, sizeof(cl->session_passwd));
        cl->dirty |= CLU_DIRTY_CONTROLLER | CLU_DIRTY_REQUESTS;
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        kc_log_warn("cluster: broker %d: ZooKeeper session 0x%llx %s", (int)cl->cfg.broker_id,
                    (unsigned long long)cl->session_id,
                    state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
        cl->expired = true;
        cl->connected = false;
    } else if (cl->connected) {
        kc_log_warn("cluster: broker %d lost its ZooKeeper connection; reconnecting",
                    (int)cl->cfg.broker_id);
        cl->connected = false;
        cl->disconnected_since_ms = kc_mono_ms();
    }
}

static void watch_event(struct clu *cl, const char *path)
{
    struct clu_path p;
    if (clu_path_parse(path, &p) != 0) {
        kc_log_warn("cluster: a watch on %s, which this layout cannot parse", path);
        return;
    }
    switch (p.kind) {
    case CLU_P_CONTROLLER:
        cl->dirty |= CLU_DIRTY_CONTROLLER;
        break;
    case CLU_P_BROKER_IDS:
    case CLU_P_BROKER:
        cl->dirty |= CLU_DIRTY_BROKERS;
        break;
    case CLU_P_TOPICS:
        cl->dirty |= CLU_DIRTY_TOPICS;
        break;
    case CLU_P_TOPIC:
    case CLU_P_STATE:
    case CLU_P_TOPIC_CONFIG:
        if (clu__view_watch(cl, &p) != 0)
            cl->dirty |= CLU_DIRTY_TOPICS;
        break;
    case CLU_P_DELETE_TOPICS:
    case CLU_P_DELETE_TOPIC:
        cl->dirty |= CLU_DIRTY_DELETES;
        break;
    case CLU_P_REQUESTS:
        cl->dirty |= CLU_DIRTY_REQUESTS;
        break;
    case CLU_P_REQUEST:
        clu__req_answered(cl, p.name);
        break;
    default:
        break;
    }
}

static void apply(struct clu *cl, struct clu_in *in)
{
    if (in->type == CLU_IN_CMD) {
        struct clu_cmd **tail = &cl->cmds; /* in the order they were made */
        while (*tail)
            tail = &(*tail)->next;
        in->cmd->next = NULL;
        *tail = in->cmd;
        in->cmd = NULL;
    } else if (in->gen != cl->gen) {
        /* from a handle closed since: its session is gone, and so is its news */
    } else if (in->type == CLU_IN_SESSION) {
        session_event(cl, in->zk_state);
    } else {
        watch_event(cl, in->path);
    }
}

static void tell_session(struct clu *cl, bool up)
{
    clu__status_update(cl); /* a caller reading the status after the note sees it */
    struct clu_note *n = clu__note_new(CLU_NOTE_SESSION);
    if (n) {
        n->u.session.up = up;
        n->u.session.epoch = cl->broker_epoch;
    }
    clu__note_push(cl, n);
    cl->told_down = !up;
}

/* The session is gone: whatever this broker believed it led, it must stop leading; the
 * controller role, the registration and the requests in flight went with the session. */
static void session_expired(struct clu *cl)
{
    if (!cl->told_down)
        tell_session(cl, false);
    if (cl->c.active)
        clu__ctl_resign(cl, "its session expired");
    clu__req_session_lost(cl);
    clu__zk_stop(cl);
    cl->expired = false;
    int rc = clu__zk_start(cl);
    if (rc != 0) {
        kc_log_error("cluster: broker %d: a new ZooKeeper session: %s", (int)cl->cfg.broker_id,
                     kc_strerror(rc));
        cl->expired = true; /* try again after the backoff */
        clu__retry_later(cl);
    }
}

/*
 * Cut off for a sixth of the session timeout: stop leading. The client notices a silent
 * server only after 2/3 of the timeout without an answer, and the server expires the
 * session a full timeout after it last heard from us - about a third of a timeout after
 * we noticed. Telling the broker at half of that leaves it a sixth of a timeout to stop
 * before another leader can be elected. (A clean disconnect - ZooKeeper restarting - is
 * noticed at once and told just as early: safe, at some cost in availability.)
 */
static void check_cut_off(struct clu *cl)
{
    int64_t since = cl->disconnected_since_ms;
    if (since && !cl->told_down && kc_mono_ms() - since >= CLU_CUT_OFF_MS(cl)) {
        kc_log_warn("cluster: broker %d cut off from ZooKeeper for %lld ms: it stops leading",
                    (int)cl->cfg.broker_id, (long long)(kc_mono_ms() - since));
        tell_session(cl, false);
    }
}

void clu__retry_later(struct clu *cl)
{
    cl->backoff_ms =
        cl->backoff_ms ? KC_MIN(cl->backoff_ms * 2, CLU_RETRY_MAX_MS) : CLU_RETRY_MIN_MS;
    cl->retry_at_ms = kc_mono_ms() + cl->backoff_ms;
}

/* A session without a registration: register (a new broker epoch), then tell the broker
 * and re-read everything (a new session has no watches). */
static bool ensure_registered(struct clu *cl)
{
    if (cl->registered) {
        if (cl->told_down)
            tell_session(cl, true); /* reconnected in time: same session, same epoch */
        return true;
    }
    int rc = clu__zk_register(cl);
    if (rc != 0) {
        kc_log_warn("cluster: broker %d: registering: %s", (int)cl->cfg.broker_id, kc_strerror(rc));
        clu__retry_later(cl);
        return false;
    }
    pthread_mutex_lock(&cl->status_lock);
    cl->status.sessions++;
    pthread_mutex_unlock(&cl->status_lock);
    tell_session(cl, true);
    cl->dirty = CLU_DIRTY_ALL;
    cl->resend = true;
    clu__view_resend(cl);
    return true;
}

static void step(struct clu *cl)
{
    if (cl->crashed)
        return;
    if (cl->expired) {
        session_expired(cl);
        return;
    }
    if (!cl->connected) {
        check_cut_off(cl);
        return;
    }
    if (cl->retry_at_ms && kc_mono_ms() < cl->retry_at_ms)
        return;
    cl->retry_at_ms = 0;
    if (!ensure_registered(cl))
        return;
    int rc = 0;
    if (cl->dirty & CLU_DIRTY_CONTROLLER)
        rc |= clu__ctl_check(cl);
    rc |= clu__view_sync(cl, &cl->dirty);
    if (cl->c.active && !cl->crashed)
        rc |= clu__ctl_step(cl);
    if (!cl->crashed)
        rc |= clu__req_step(cl);
    if (rc != 0)
        clu__retry_later(cl);
    else
        cl->backoff_ms = 0;
}

/* When the loop must wake up even if nothing arrives. */
static int64_t next_deadline(const struct clu *cl)
{
    int64_t now = kc_mono_ms(), t = now + 1000; /* a slow tick, for anything missed */
    if (cl->retry_at_ms)
        t = KC_MIN(t, cl->retry_at_ms);
    if (cl->disconnected_since_ms && !cl->told_down)
        t = KC_MIN(t, cl->disconnected_since_ms + CLU_CUT_OFF_MS(cl));
    if (cl->c.active && cl->c.next_rebalance_ms)
        t = KC_MIN(t, cl->c.next_rebalance_ms);
    int64_t r = clu__req_next_deadline(cl);
    if (r)
        t = KC_MIN(t, r);
    return KC_MAX(t, now);
}

void *clu__main(void *arg)
{
    struct clu *cl = arg;
    for (;;) {
        bool stop;
        /* The inbox's condvar runs on CLOCK_MONOTONIC, kc_mono_ms's clock. */
        struct clu_in *list = wait_inbox(cl, next_deadline(cl), &stop);
        for (struct clu_in *in = list, *next; in; in = next) {
            next = in->next;
            apply(cl, in);
            clu__cmd_free(in->cmd);
            free(in);
        }
        if (stop)
            break;
        step(cl);
        clu__status_update(cl);
    }
    return NULL;
}

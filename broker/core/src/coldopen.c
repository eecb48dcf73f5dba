/*
 * coldopen.c - a network loop never waits for a log to open.
 *
 * appendLog keeps a store's logs in a bounded cache of open files: a log nobody has used
 * for a while is closed, and the next request that needs its files must open it again -
 * microseconds from the page cache, but after a kill -9 the open of a log the store's
 * background sweep has not reached yet recovers it (reads and checks everything past its
 * recovery point), and a slow disk makes any open slow. A loop that opened it would stall
 * every other connection it owns for that long. So a door asks first:
 *
 *   serve(request)                                 store thread
 *     brk_logs_ready(c, logs, n) ---- all open ---> 1: pinned until serve returns; go on
 *        |  some closed
 *        v
 *     alog_prepare each closed one  -------------> opens it, calls on_ready (pinned)
 *     park "open": deadline, its place in the        |
 *     answer order, a watch per log (deletion)      last one ready: resume the park
 *     return 0: nothing answered, nothing changed    v
 *                                                  finish (on the loop): cancel what is
 *     ... the connection reads and serves            still queued, unpin, done: mark the
 *         NOTHING more meanwhile ...                 request for replay; its (empty) slot
 *                                                    is released -> brk__conn_send
 *     serve(the same bytes, still first in `in`)  <-'
 *       brk_logs_ready again -> 1 (open now: pinned), or an error per log
 *
 * Why the whole connection pauses, rather than only the partitions the request names:
 * a pipelined produce behind the waiting one may name the same partition (it must be
 * appended after it) or a warm one the waiting request also names (likewise); answers go
 * in request order anyway. Pausing the connection keeps every order a client can observe
 * without tracking any of them, and it is what Kafka's own broker does: a connection is
 * muted while one of its requests is in flight. Other connections of the loop are served
 * meanwhile, which is the point.
 *
 * The replay serves the request as it first came: the door decodes it again and resolves
 * its logs again (a topic deleted meanwhile is not found; a log evicted again in the
 * instant between - the cache under heavy pressure - is not waited for twice: that one
 * gets -EAGAIN, retriable, so a request never waits forever). The park holds no pin
 * once it has finished, so a deletion never waits for a client that does not read.
 *
 * Ends of the wait, through park.c's one close path:
 *   every log ready        RESUMED   replay; a log whose open failed gets its error
 *                                    (KC_ENOFILES: the process is out of descriptors)
 *   the request's deadline TIMEOUT   replay; the logs not open yet get -ETIMEDOUT
 *   the broker draining    SHUTDOWN  replay; those get KC_ECLOSED
 *   the topic is deleted   RESUMED   (its watches fire) replay: the topic is gone (a log
 *                                    of another topic not open yet gets -EAGAIN)
 *   the connection dies    CLOSED    cancel, unpin, nothing more
 */
#include <errno.h>
#include <stdlib.h>

#include "brk_int.h"

/* The store thread: one more log is open (pinned) or failed. Short, under its lock. */
static void on_ready(struct alog_ready *r)
{
    struct brk__defer *d = r->arg;
    if (atomic_fetch_sub(&d->pending, 1) == 1)
        brk_park_resume(&d->park, BRK_PARK_RESUMED);
}

/* A kick: the open is queued for its own sake, nobody waits for it. */
static void on_kick(struct alog_ready *r)
{
    (void)r;
}

/* ---- the park --------------------------------------------------------------------------- */

/* Every prepare that is still queued is cancelled; those that have run are taken. */
static void defer_withdraw(struct brk_park *p)
{
    struct brk__defer *d = (struct brk__defer *)((char *)p - offsetof(struct brk__defer, park));
    for (int i = 0; i < d->n; i++) {
        struct brk__defer_log *e = &d->v[i];
        if (!e->queued)
            continue;
        e->queued = false;
        if (alog_prepare_cancel(e->log, &e->r)) {
            e->cancelled = true; /* done says why, from the park's end */
            continue;
        }
        e->err = e->r.err; /* it ran: pinned when 0 */
        e->pinned = e->r.err == 0;
    }
}

static int defer_done(struct brk_park *p, enum brk_park_why why)
{
    struct brk__defer *d = (struct brk__defer *)((char *)p - offsetof(struct brk__defer, park));
    for (int i = 0; i < d->n; i++) {
        struct brk__defer_log *e = &d->v[i];
        if (e->pinned) /* the replay pins it again: no pin outlives the park */
            alog_unpin(e->log);
        e->pinned = false;
        if (e->cancelled) /* not open yet when the wait ended */
            e->err = why == BRK_PARK_TIMEOUT    ? -ETIMEDOUT
                     : why == BRK_PARK_SHUTDOWN ? KC_ECLOSED
                                                : -EAGAIN; /* a deletion woke it */
    }
    d->active = false;
    d->replay = why != BRK_PARK_CLOSED; /* the connection serves it again, first */
    return 0; /* an empty answer: the replay writes the real one, right behind it */
}

const struct brk_park_ops brk__defer_ops = {
    .kind = "open", .withdraw = defer_withdraw, .done = defer_done};

/* ---- asking ----------------------------------------------------------------------------- */

static int defer_reserve(struct brk_conn *c, int n)
{
    struct brk__defer *d = c->defer;
    if (!d && !(d = c->defer = calloc(1, sizeof(*d))))
        return -ENOMEM;
    if (n <= d->cap)
        return 0;
    int cap = KC_MAX(n, 2 * d->cap);
    struct brk__defer_log *v = malloc((size_t)cap * sizeof(*v));
    struct brk_watch *w = malloc((size_t)cap * sizeof(*w));
    if (!v || !w) {
        free(v);
        free(w);
        return -ENOMEM;
    }
    free(d->v);
    free(d->w);
    d->v = v;
    d->w = w;
    d->cap = cap;
    return 0;
}

static int held_push(struct brk_conn *c, struct alog *log)
{
    if (c->nheld == c->capheld) {
        int cap = KC_MAX(8, 2 * c->capheld);
        struct alog **v = realloc(c->held, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->held = v;
        c->capheld = cap;
    }
    c->held[c->nheld++] = log;
    return 0;
}

int brk_log_try_pin(struct alog *log)
{
    struct alog_ready r = {.fn = on_kick};
    int rc = alog_prepare(log, &r);
    if (rc == 0 && !alog_prepare_cancel(log, &r))
        rc = r.err == 0 ? 1 : r.err; /* it opened meanwhile: fn ran, pinned when 0 */
    return rc;
}

/* Pinned now (1, held until serve returns), or ask the store to open it without waiting:
 * -EAGAIN, or the error the open met if it finished in the meantime. */
static int pin_or_kick(struct brk_conn *c, struct alog *log)
{
    int rc = brk_log_try_pin(log);
    if (rc == 0)
        rc = -EAGAIN;
    if (rc == 1 && held_push(c, log) != 0) {
        alog_unpin(log);
        rc = -ENOMEM;
    }
    return rc;
}

/* The replay: the saved outcome of each log, found by pointer (same bytes, same order,
 * usually the same index). */
static int ready_replay(struct brk_conn *c, struct alog *const *logs, int n, int *errs)
{
    struct brk__defer *d = c->defer;
    for (int i = 0; i < n; i++) {
        errs[i] = 0;
        if (!logs[i])
            continue;
        int j = i < d->n && d->v[i].log == logs[i] ? i : 0;
        while (j < d->n && d->v[j].log != logs[i])
            j++;
        if (j < d->n && d->v[j].err) {
            errs[i] = d->v[j].err;
            continue;
        }
        int rc = pin_or_kick(c, logs[i]);
        if (rc == -ENOMEM)
            return rc;
        errs[i] = rc == 1 ? 0 : rc;
    }
    return 1;
}

/* Every log was open at once: the pins are the serve's (released when it returns). */
static int ready_now(struct brk_conn *c, struct brk__defer *d, int *errs)
{
    int rc = 1;
    for (int i = 0; i < d->n; i++) {
        struct brk__defer_log *e = &d->v[i];
        errs[i] = e->err;
        if (e->pinned && held_push(c, e->log) != 0) {
            alog_unpin(e->log);
            rc = -ENOMEM;
        }
    }
    d->n = 0;
    return rc;
}

/* Queue every closed log (the set-up hold keeps pending above 0 meanwhile); how many. */
static int prepare_all(struct brk__defer *d, struct alog *const *logs, int n, int *errs)
{
    int queued = 0;
    for (int i = 0; i < n; i++) {
        struct brk__defer_log *e = &d->v[i];
        *e = (struct brk__defer_log){.log = logs[i]};
        errs[i] = 0;
        if (!logs[i])
            continue;
        e->r = (struct alog_ready){.fn = on_ready, .arg = d};
        atomic_fetch_add(&d->pending, 1);
        if (alog_prepare(logs[i], &e->r) == 1) {
            atomic_fetch_sub(&d->pending, 1);
            e->pinned = true;
        } else {
            e->queued = true;
            queued++;
        }
    }
    d->n = n;
    return queued;
}

/* Watch each log at "never" (INT64_MAX): only a deletion's alog_watch_fire_all wakes it. */
static void watch_deletions(struct brk__defer *d)
{
    int k = 0;
    for (int i = 0; i < d->n; i++)
        if (d->v[i].log)
            d->w[k++] = (struct brk_watch){.log = d->v[i].log, .offset = INT64_MAX};
    (void)brk_park_watch(&d->park, d->w, k); /* nothing is past INT64_MAX */
}

int brk_logs_ready(struct brk_conn *c, struct alog *const *logs, int n, int64_t deadline_ms,
                   int *errs)
{
    if (c->defer && c->defer->replay)
        return ready_replay(c, logs, n, errs);
    if (defer_reserve(c, n) != 0)
        return -ENOMEM;
    struct brk__defer *d = c->defer;
    atomic_store(&d->pending, 1); /* the set-up hold */
    if (prepare_all(d, logs, n, errs) == 0) /* every one open: the fast path */
        return ready_now(c, d, errs);
    /* Some were closed when asked: park, even if the store's thread has answered them all
     * by now (the park then ends at once, one loop turn later) - one rule, no window. */
    if (brk_park_start(c, &d->park, &brk__defer_ops, deadline_ms) != 0) {
        defer_withdraw(&d->park); /* cancel, take what ran: then as if ready */
        for (int i = 0; i < d->n; i++)
            d->v[i].err = d->v[i].cancelled ? -EAGAIN : d->v[i].err;
        return ready_now(c, d, errs);
    }
    watch_deletions(d);
    d->active = true;
    d->t0_ns = c->cur_t0_ns;
    if (atomic_fetch_sub(&d->pending, 1) == 1) /* all answered during the set-up */
        brk_park_resume(&d->park, BRK_PARK_RESUMED);
    return 0;
}

struct alog *brk_logs_replayed(const struct brk_conn *c, int i)
{
    const struct brk__defer *d = c->defer;
    return d && d->replay && i >= 0 && i < d->n ? d->v[i].log : NULL;
}

/* ---- the connection's side (conn.c) ---------------------------------------------------- */

void brk__logs_release(struct brk_conn *c)
{
    for (int i = 0; i < c->nheld; i++)
        alog_unpin(c->held[i]);
    c->nheld = 0;
    if (c->defer && c->defer->replay) {
        c->defer->replay = false; /* served again: done */
        c->defer->n = 0;
    }
}

void brk__logs_free(struct brk_conn *c)
{
    brk__logs_release(c);
    free(c->held);
    c->held = NULL;
    c->capheld = 0;
    if (c->defer) {
        free(c->defer->v);
        free(c->defer->w);
        free(c->defer);
        c->defer = NULL;
    }
}

/*
 * park.c - parked requests: a request that waits, without blocking its loop, and ends
 * through one path whatever ends it.
 *
 * Four things can end a park, on four different threads: what it waited for (an append on
 * another loop wakes a long-poll; the flusher settles an fsync; another member's JoinGroup
 * completes a rebalance), its deadline (a timer on its loop), the broker draining (the
 * loop's drain task), or its connection dying. They race. One atomic word decides:
 *
 *   state = claimed (bit 0) | holds (bits 1..)      why = the claimer's reason
 *
 *   brk_park_resume(why)   claimed := 1 (first caller only; the rest return)
 *   brk_park_hold()        holds += 1   (before handing the park to something that cannot
 *                                        be withdrawn: an fsync wait)
 *   brk_park_settle()      holds -= 1, claimed := 1 (that something is done)
 *
 * The park is ready to finish the moment state becomes exactly "claimed, no holds", and
 * whoever makes that transition posts the finish to the connection's loop: exactly one
 * thread, exactly once. A park starts with one hold of its own, released when serve
 * returns (or when done re-parks it), so it cannot finish under the adapter's feet while
 * it is still being set up, even if its data arrives at once.
 *
 *   finish (on the loop)   disarm the deadline, unwatch the logs, ops->withdraw,
 *                          ops->done(why), release the slot (answers go out in order),
 *                          drop the connection reference the park held
 *
 * After withdraw nothing can resume the park any more: alog_unwatch and the adapter's own
 * withdraw are exact (they return only once no callback is running), the timer is the
 * loop's, and holds have all settled. So done may free the request's memory, and nothing
 * ever touches it again: one lifetime, one close path (libuv's uv_close, for requests).
 */
#include <errno.h>
#include <stddef.h>

#include "brk_int.h"

#define PARK_CLAIMED 1u
#define PARK_HOLD    2u
#define PARK_NO_WHY  (-1)

/* Make state `new` from `old`; post the finish if that made it "claimed, no holds". */
static void park_transition(struct brk_park *p, uint32_t (*next)(uint32_t old))
{
    uint32_t old = atomic_load(&p->state), new;
    do {
        new = next(old);
        if (new == old)
            return;
    } while (!atomic_compare_exchange_weak(&p->state, &old, new));
    if (new == PARK_CLAIMED)
        tcore_loop_post(p->conn->bl->loop, &p->task);
}

static uint32_t claim(uint32_t old)
{
    return old | PARK_CLAIMED;
}

static uint32_t settle(uint32_t old)
{
    return (old - PARK_HOLD) | PARK_CLAIMED;
}

static uint32_t release(uint32_t old)
{
    return old - PARK_HOLD;
}

/* The first reason given wins; the claim that follows publishes it (a CAS, then the post's
 * lock), so finish always reads the winner's. */
static void set_why(struct brk_park *p, enum brk_park_why why)
{
    int unset = PARK_NO_WHY;
    atomic_compare_exchange_strong(&p->why, &unset, (int)why);
}

void brk_park_resume(struct brk_park *p, enum brk_park_why why)
{
    if (atomic_load(&p->state) & PARK_CLAIMED)
        return;
    set_why(p, why);
    park_transition(p, claim);
}

void brk_park_hold(struct brk_park *p)
{
    atomic_fetch_add(&p->state, PARK_HOLD);
}

void brk_park_settle(struct brk_park *p)
{
    set_why(p, BRK_PARK_RESUMED);
    park_transition(p, settle);
}

/* The park's own hold, taken at start (and by again): released once set up. */
static void park_release(struct brk_park *p)
{
    park_transition(p, release);
}

/* ---- the parts of a park the core withdraws itself ----------------------------------------- */

static void on_deadline(struct tcore_loop *loop, struct tcore_timer *t)
{
    (void)loop;
    brk_park_resume(t->arg, BRK_PARK_TIMEOUT);
}

static void on_watch(struct alog_watch *aw)
{
    struct brk_watch *w = aw->arg;
    brk_park_resume(w->park, BRK_PARK_RESUMED); /* under the log's watch lock: short */
}

int brk_park_watch(struct brk_park *p, struct brk_watch *ws, int n)
{
    int past = 0;
    p->watches = ws;
    p->nwatches = 0;
    for (int i = 0; i < n && !past; i++) {
        ws[i].park = p;
        ws[i].aw = (struct alog_watch){.offset = ws[i].offset, .fn = on_watch, .arg = &ws[i]};
        past = alog_watch_end(ws[i].log, &ws[i].aw);
        p->nwatches = i + (past ? 0 : 1);
    }
    return past;
}

static void unwatch_all(struct brk_park *p)
{
    for (int i = 0; i < p->nwatches; i++)
        (void)alog_unwatch(p->watches[i].log, &p->watches[i].aw); /* fired or not: gone */
    p->nwatches = 0;
    p->watches = NULL;
}

static int arm(struct brk_park *p, int64_t deadline_ms)
{
    atomic_store(&p->state, PARK_HOLD); /* its own hold, until set up */
    atomic_store(&p->why, PARK_NO_WHY);
    if (deadline_ms < 0)
        return 0;
    return tcore_timer_arm(p->conn->bl->loop, &p->timer, deadline_ms);
}

/* ---- the one close path -------------------------------------------------------------------- */

static void park_finish(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_park *p = task->arg;
    struct brk_conn *c = p->conn;
    tcore_timer_disarm(loop, &p->timer);
    unwatch_all(p);
    if (p->ops->withdraw)
        p->ops->withdraw(p);
    enum brk_park_why why = c->dead ? BRK_PARK_CLOSED : (enum brk_park_why)atomic_load(&p->why);
    struct brk_slot *slot = p->slot;
    int api = p->api;
    int64_t t0 = p->t0_ns;
    const char *kind = p->ops->kind;
    bool counted = p->ops != &brk__defer_ops; /* its replay is the request: counted there */
    LIST_REMOVE(p, link);
    brk__stat_parked(c->bl, kind, -1);
    if (p->ops->done(p, why) == 1) { /* parked again (brk_park_again): p lives on */
        LIST_INSERT_HEAD(&c->parks, p, link);
        brk__stat_parked(c->bl, kind, +1);
        park_release(p);
        return;
    }
    /* p may be freed: only locals from here on. */
    if (!c->dead) {
        if (counted)
            brk__stat_request(c->bl, c->adapter, api, kc_mono_ns() - t0);
        brk__slot_ready(c, slot); /* its answer, and every ready one behind it, go out */
    }
    brk__conn_unref(c);
}

int brk_park_start(struct brk_conn *c, struct brk_park *p, const struct brk_park_ops *ops,
                   int64_t deadline_ms)
{
    *p = (struct brk_park){.ops = ops, .conn = c, .api = c->cur_api, .t0_ns = c->cur_t0_ns};
    if (!(p->slot = brk__slot_park(c)))
        return -ENOMEM;
    tcore_task_init(&p->task, park_finish, p);
    tcore_timer_init(&p->timer, on_deadline, p);
    if (arm(p, deadline_ms) != 0) {
        p->slot->parked = false; /* an empty ready slot: dropped when the queue drains */
        return -ENOMEM;
    }
    LIST_INSERT_HEAD(&c->parks, p, link);
    brk__conn_ref(c);
    brk__stat_parked(c->bl, ops->kind, +1);
    c->cur_parked = true;
    c->cur_park = p;
    return 0;
}

void brk__park_started(struct brk_conn *c)
{
    struct brk_park *p = c->cur_park;
    c->cur_park = NULL;
    if (p)
        park_release(p); /* set up: from now on, the first claim finishes it */
}

void brk_park_again(struct brk_park *p, int64_t deadline_ms)
{
    if (arm(p, deadline_ms) != 0) /* no timer: end at once (finish releases the hold) */
        brk_park_resume(p, BRK_PARK_TIMEOUT);
}

void brk__parks_cancel(struct brk_conn *c, enum brk_park_why why)
{
    struct brk_park *p;
    LIST_FOREACH(p, &c->parks, link)
        brk_park_resume(p, why); /* finishes come as posted tasks: the list stays intact */
}

/* ---- accessors ------------------------------------------------------------------------------ */

struct brk_conn *brk_park_conn(const struct brk_park *p)
{
    return p->conn;
}

struct kc_writer *brk_park_writer(struct brk_park *p)
{
    return brk__slot_writer(p->slot);
}

int brk_park_file(struct brk_park *p, struct alog_slice *slice)
{
    return brk__slot_file(p->slot, slice);
}

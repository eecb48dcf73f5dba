/*
 * respq.c - a connection's answers, in request order.
 *
 * Requests are served one after another; most are answered at once, some must wait (a
 * produce for its fsync, a long-poll for data). Answers must still leave in request order,
 * without holding up the requests behind a waiting one: pipelined acks=all produces should
 * all ride on the same fsync. So a waiting request reserves a slot, and everything answered
 * after it queues behind the slot:
 *
 *   socket <- out (zc_out) <- wbuf <- [slot: parked] [slot: ready ready] [slot: parked] ...
 *                             ^ answers ready at once, while nothing is parked: they leave
 *                               together, in one writev, at the end of a read burst
 *
 * When a parked slot gets its answer, it and every ready slot behind it, up to the next
 * parked one, move to `out`. A slot holds its answer as pieces: memory, and file ranges to
 * be sent with sendfile (a fetch's records) with the memory written before and after them.
 *
 * Out of memory is never half an answer: a writer whose allocation failed keeps its error,
 * the core sees it after serve (or when the slot is released), and closes the connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_int.h"

static void slice_free(void *arg)
{
    struct alog_slice *slice = arg;
    alog_slice_release(slice);
    free(slice);
}

static void slot_free(struct brk_slot *s)
{
    for (int i = 0; i < s->npieces; i++) {
        free(s->pieces[i].mem);
        if (s->pieces[i].slice)
            slice_free(s->pieces[i].slice);
    }
    free(s->pieces);
    kc_writer_fini(&s->w);
    free(s);
}

static struct brk_slot *slot_new(struct brk_conn *c, bool parked)
{
    struct brk_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->parked = parked;
    kc_writer_init(&s->w, 0);
    STAILQ_INSERT_TAIL(&c->slots, s, link);
    c->nslots++;
    return s;
}

/* The ready slot at the tail, made if the tail is parked; NULL on -ENOMEM. */
static struct brk_slot *slot_tail(struct brk_conn *c)
{
    struct brk_slot *s = STAILQ_LAST(&c->slots, brk_slot, link);
    return s && !s->parked ? s : slot_new(c, false);
}

void brk__respq_free(struct brk_conn *c)
{
    struct brk_slot *s;
    while ((s = STAILQ_FIRST(&c->slots)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->slots, link);
        slot_free(s);
    }
    c->nslots = 0;
}

bool brk__respq_failed(struct brk_conn *c)
{
    struct brk_slot *tail = STAILQ_LAST(&c->slots, brk_slot, link);
    return kc_writer_error(&c->wbuf) || (tail && kc_writer_error(&tail->w));
}

bool brk__respq_commit(struct brk_conn *c)
{
    size_t len;
    if (kc_writer_len(&c->wbuf) == 0)
        return true;
    uint8_t *p = kc_writer_take(&c->wbuf, &len);
    if (zc_out_mem_take(&c->out, p, len) != 0) {
        free(p);
        brk__conn_kill(c, "out of memory");
        return false;
    }
    return true;
}

static int push_piece(struct brk_conn *c, struct brk_piece *pc)
{
    if (pc->slice) {
        struct alog_slice *sl = pc->slice;
        pc->slice = NULL;
        if (zc_out_file(&c->out, sl->fd, sl->pos, sl->len, slice_free, sl) != 0) {
            slice_free(sl);
            return -ENOMEM;
        }
        return 0;
    }
    uint8_t *mem = pc->mem;
    pc->mem = NULL;
    if (zc_out_mem_take(&c->out, mem, pc->len) != 0) {
        free(mem);
        return -ENOMEM;
    }
    return 0;
}

/* One ready slot's pieces, then the bytes written after its last piece, to the socket. */
static int push_slot(struct brk_conn *c, struct brk_slot *s)
{
    int rc = 0;
    size_t len;
    for (int i = 0; i < s->npieces && rc == 0; i++)
        rc = push_piece(c, &s->pieces[i]);
    uint8_t *rest = kc_writer_take(&s->w, &len);
    if (rc == 0 && len > 0 && (rc = zc_out_mem_take(&c->out, rest, len)) == 0)
        rest = NULL;
    free(rest);
    return rc;
}

bool brk__respq_drain(struct brk_conn *c)
{
    struct brk_slot *s;
    if (!brk__respq_commit(c))
        return false;
    while ((s = STAILQ_FIRST(&c->slots)) != NULL && !s->parked) {
        int rc = push_slot(c, s);
        STAILQ_REMOVE_HEAD(&c->slots, link);
        c->nslots--;
        slot_free(s);
        if (rc) {
            brk__conn_kill(c, "out of memory");
            return false;
        }
    }
    return true;
}

/* ---- the adapter's side (brk_adapter.h) ---------------------------------------------------- */

struct kc_writer *brk_resp_writer(struct brk_conn *c)
{
    if (STAILQ_EMPTY(&c->slots))
        return &c->wbuf;
    struct brk_slot *s = slot_tail(c);
    if (!s) {
        c->wbuf.err = -ENOMEM; /* reported after serve returns */
        return &c->wbuf;
    }
    return &s->w;
}

/* An answer whose file range could not be queued: its head already promised the bytes, so
 * the stream is broken. The error closes the connection after serve returns. */
static int file_failed(struct brk_conn *c, struct alog_slice *slice)
{
    alog_slice_release(slice);
    c->wbuf.err = c->wbuf.err ? c->wbuf.err : -ENOMEM;
    return -ENOMEM;
}

int brk_resp_file(struct brk_conn *c, struct alog_slice *slice)
{
    if (!STAILQ_EMPTY(&c->slots)) {
        struct brk_slot *s = slot_tail(c);
        return s ? brk__slot_file(s, slice) : file_failed(c, slice);
    }
    struct alog_slice *copy = malloc(sizeof(*copy));
    if (!copy || !brk__respq_commit(c)) {
        free(copy);
        return file_failed(c, slice);
    }
    *copy = *slice;
    if (zc_out_file(&c->out, copy->fd, copy->pos, copy->len, slice_free, copy) != 0) {
        free(copy);
        return file_failed(c, slice);
    }
    return 0;
}

struct brk_slot *brk__slot_park(struct brk_conn *c)
{
    return slot_new(c, true);
}

struct kc_writer *brk__slot_writer(struct brk_slot *s)
{
    return &s->w;
}

static int slot_add_piece(struct brk_slot *s, const struct brk_piece *pc)
{
    if (s->npieces == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        struct brk_piece *p = reallocarray(s->pieces, (size_t)cap, sizeof(*p));
        if (!p)
            return -ENOMEM;
        s->pieces = p;
        s->cap = cap;
    }
    s->pieces[s->npieces++] = *pc;
    return 0;
}

int brk__slot_file(struct brk_slot *s, struct alog_slice *slice)
{
    struct brk_piece mem = {0}, file = {0};
    struct alog_slice *copy = malloc(sizeof(*copy));
    int rc = copy ? 0 : -ENOMEM;
    if (kc_writer_error(&s->w))
        rc = kc_writer_error(&s->w);
    if (rc == 0 && kc_writer_len(&s->w) > 0) {
        mem.mem = kc_writer_take(&s->w, &mem.len);
        if ((rc = slot_add_piece(s, &mem)) != 0)
            free(mem.mem);
    }
    if (rc == 0) {
        *copy = *slice;
        file.slice = copy;
        if ((rc = slot_add_piece(s, &file)) == 0)
            return 0;
    }
    free(copy);
    alog_slice_release(slice);
    s->w.err = s->w.err ? s->w.err : rc; /* the connection is closed when the slot is ready */
    return rc;
}

void brk__slot_ready(struct brk_conn *c, struct brk_slot *s)
{
    s->parked = false;
    if (kc_writer_error(&s->w)) {
        brk__conn_kill(c, "out of memory");
        return;
    }
    if (brk__respq_drain(c))
        brk__conn_send(c);
}

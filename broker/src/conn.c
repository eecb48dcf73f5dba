/*
 * conn.c - one client connection: bytes in, frames to the handler, answers out, in order.
 *
 * Every connection lives on one network loop and is touched only by that loop's thread.
 * Its life, as the loop sees it:
 *
 *   readable -> read into `in` -> the first 5 bytes pick the protocol (once)
 *            -> handler.frame() cuts a frame -> handler.serve() answers it, or parks it
 *            -> ... next frame, until the buffer is used up or a limit is reached
 *            -> ready answers go to the socket (zc_out: writev + sendfile)
 *   writable -> send more; when the backlog is gone, read again if we had paused
 *
 * Answers leave in request order. An answer written at once goes into `wbuf` (ready
 * answers of one read burst leave together, in one writev). A parked answer reserves a
 * slot in `slots`; answers written after it queue in slots behind it, and all of them are
 * released to the socket when it is completed:
 *
 *   out (socket) <- wbuf <- [slot: parked] [slot: ready, ready] [slot: parked] ...
 *
 * Limits, all configurable (brk_config.h): the frame size (the handler refuses bigger
 * frames: an error answer, then a lingering close); unsent output per connection and
 * answers queued per connection (over either, the connection stops being read until the
 * client catches up - TCP backpressure, not an error); idle time (closed by the sweep); the
 * number of connections (closed at accept).
 *
 * Memory: a connection is freed when it is closed and no callback is due any more (refs):
 * a produce waiting for fsync on the flusher thread may outlive the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "brk_int.h"

static void conn_send(struct brk_conn *c);
static void conn_serve_buffered(struct brk_conn *c);

/* ---- lifetime -------------------------------------------------------------------------- */

static void conn_unref(struct brk_conn *c)
{
    if (--c->refs > 0)
        return;
    atomic_fetch_sub(&c->srv->nconns, 1);
    free(c);
}

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

void brk__conn_kill(struct brk_conn *c, const char *why)
{
    struct brk_slot *s;
    if (c->dead)
        return;
    c->dead = true;
    kc_log_debug("connection %s closed: %s", c->peer, why);
    if (c->watched && tcore_loop_del(c->bl->loop, c->fd) != 0)
        kc_log_warn("connection %s: could not unwatch fd %d", c->peer, c->fd);
    (void)close(c->fd); /* nothing to flush: the output queue is dropped below */
    c->fd = -1;
    tcore_timer_disarm(c->bl->loop, &c->linger_timer);
    zc_out_fini(&c->out); /* releases file slices not yet sent */
    kc_writer_fini(&c->wbuf);
    while ((s = STAILQ_FIRST(&c->slots)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->slots, link);
        slot_free(s);
    }
    c->nslots = 0;
    brk__waits_cancel(c, BRK_WAIT_SHUTDOWN); /* their callbacks see alive = false */
    free(c->in);
    c->in = NULL;
    LIST_REMOVE(c, link);
    if (c->proto && c->proto->conn_fini)
        c->proto->conn_fini(c);
    conn_unref(c); /* the reference of the open connection */
}

static void conn_linger_expired(struct tcore_loop *loop, struct tcore_timer *t)
{
    (void)loop;
    brk__conn_kill(t->arg, "refused (linger over)");
}

/* ---- accepting and adopting ------------------------------------------------------------ */

static void conn_io(struct tcore_loop *loop, int fd, uint32_t events, void *arg);

static void conn_adopt(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_conn *c = task->arg;
    LIST_INSERT_HEAD(&c->bl->conns, c, link);
    c->last_active_ms = tcore_loop_now_ms(loop);
    c->events = TCORE_IN;
    c->watched = tcore_loop_add(loop, c->fd, TCORE_IN, conn_io, c) == 0;
    if (!c->watched)
        kc_log_warn("connection %s: cannot watch it; closing", c->peer);
    if (!c->watched || c->bl->draining)
        brk__conn_kill(c, "not adopted");
}

static void conn_peer(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", host, port);
}

void brk__conn_accepted(struct brk_server *srv, struct brk_loop *from, int fd)
{
    int one = 1;
    struct brk_conn *c = NULL;
    if (atomic_fetch_add(&srv->nconns, 1) >= srv->cfg.max_connections) {
        kc_log_warn("refusing a connection: max.connections (%d) reached",
                    srv->cfg.max_connections);
        goto refuse;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        kc_log_error("refusing a connection: out of memory");
        goto refuse;
    }
    c->srv = srv;
    c->fd = fd;
    c->refs = 1;
    conn_peer(fd, c->peer, sizeof(c->peer));
    zc_out_init(&c->out);
    kc_writer_init(&c->wbuf, 0);
    STAILQ_INIT(&c->slots);
    LIST_INIT(&c->waits);
    tcore_timer_init(&c->linger_timer, conn_linger_expired, c);
    /* Answers are small and latency matters; failing only costs latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->bl = &srv->loops[atomic_fetch_add(&srv->next_loop, 1) % (unsigned)srv->nloops];
    tcore_task_init(&c->adopt, conn_adopt, c);
    if (c->bl == from)
        conn_adopt(from->loop, &c->adopt);
    else
        tcore_loop_post(c->bl->loop, &c->adopt);
    return;
refuse:
    atomic_fetch_sub(&srv->nconns, 1);
    (void)close(fd); /* a socket we never used: nothing to lose */
}

/* ---- output ---------------------------------------------------------------------------- */

static void conn_update_events(struct brk_conn *c)
{
    uint32_t want = 0;
    if (c->dead)
        return;
    if (c->lingering || (!c->paused && !c->closing))
        want |= TCORE_IN;
    if (zc_out_pending(&c->out) > 0)
        want |= TCORE_OUT;
    if (want == c->events)
        return;
    if (tcore_loop_mod(c->bl->loop, c->fd, want) != 0) {
        brk__conn_kill(c, "epoll_ctl failed");
        return;
    }
    c->events = want;
}

/* Hand the gathered ready answers to the socket queue. false (and killed) on -ENOMEM. */
static bool conn_commit_wbuf(struct brk_conn *c)
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

static int conn_push_piece(struct brk_conn *c, struct brk_piece *pc)
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

/* Move every ready slot at the head of the queue to the socket queue. */
static void conn_drain_slots(struct brk_conn *c)
{
    struct brk_slot *s;
    if (!conn_commit_wbuf(c))
        return;
    while ((s = STAILQ_FIRST(&c->slots)) != NULL && !s->parked) {
        int rc = 0;
        for (int i = 0; i < s->npieces && rc == 0; i++)
            rc = conn_push_piece(c, &s->pieces[i]);
        size_t len;
        uint8_t *rest = kc_writer_take(&s->w, &len);
        if (rc == 0 && len > 0 && (rc = zc_out_mem_take(&c->out, rest, len)) == 0)
            rest = NULL;
        free(rest);
        STAILQ_REMOVE_HEAD(&c->slots, link);
        c->nslots--;
        slot_free(s);
        if (rc) {
            brk__conn_kill(c, "out of memory");
            return;
        }
    }
}

static bool conn_over_limits(const struct brk_conn *c)
{
    const struct brk_config *cfg = &c->srv->cfg;
    return zc_out_pending(&c->out) + kc_writer_len(&c->wbuf) > cfg->connection_output_max_bytes ||
           c->nslots >= cfg->queued_max_requests;
}

/* Everything answered and sent on a closing connection: close, or linger after a refusal. */
static void conn_maybe_finish(struct brk_conn *c)
{
    if (c->dead || !c->closing || c->lingering || !STAILQ_EMPTY(&c->slots) ||
        zc_out_pending(&c->out) > 0 || kc_writer_len(&c->wbuf) > 0)
        return;
    if (!c->linger) {
        brk__conn_kill(c, "closed");
        return;
    }
    /* Shut our side and read (discarding) until the client closes: closing with unread
     * input would send a reset that can destroy the answer we just sent. */
    if (shutdown(c->fd, SHUT_WR) != 0) {
        brk__conn_kill(c, "refused");
        return;
    }
    c->lingering = true;
    if (tcore_timer_arm(c->bl->loop, &c->linger_timer, BRK_LINGER_MS) != 0)
        brk__conn_kill(c, "refused");
}

static void conn_send(struct brk_conn *c)
{
    if (c->dead || !conn_commit_wbuf(c))
        return;
    size_t before = zc_out_pending(&c->out);
    if (before > 0) {
        int rc = zc_out_send(&c->out, c->fd);
        if (rc < 0) {
            brk__conn_kill(c, rc == -EPIPE || rc == -ECONNRESET ? "client went away"
                                                                 : "write failed");
            return;
        }
        if (zc_out_pending(&c->out) < before) /* the client is reading: not idle */
            c->last_active_ms = tcore_loop_now_ms(c->bl->loop);
    }
    if (c->paused && !c->serving && !conn_over_limits(c)) {
        c->paused = false;
        conn_serve_buffered(c); /* frames that arrived while we were paused */
        if (c->dead)
            return;
        if (!conn_commit_wbuf(c))
            return;
    }
    conn_maybe_finish(c);
    conn_update_events(c);
}

/* ---- input ----------------------------------------------------------------------------- */

/* Pick the protocol from the first 5 bytes. 1 chosen, 0 need more, -1 closed. */
static int conn_choose(struct brk_conn *c, const uint8_t *p, size_t len)
{
    if (len < 5)
        return 0;
    /* Byte 4 is the native magic's first byte (0xCA) or the high byte of a Kafka api_key,
     * which is never negative (brk_service.h). */
    if (p[4] >= 0x80) {
        c->proto = &brk_native_proto;
        return 1;
    }
    if (c->srv->kafka_proto) {
        c->proto = c->srv->kafka_proto;
        return 1;
    }
    kc_log_info("connection %s speaks the Kafka protocol (api_key %u), which this broker "
                "does not serve yet; closing it",
                c->peer, (unsigned)kc_load_be16(p + 4));
    brk__conn_kill(c, "Kafka protocol");
    return -1;
}

static bool conn_writers_failed(struct brk_conn *c)
{
    struct brk_slot *tail = STAILQ_LAST(&c->slots, brk_slot, link);
    return kc_writer_error(&c->wbuf) || (tail && kc_writer_error(&tail->w));
}

/* The handler refused the stream: send what is queued, then close (lingering). */
static void conn_refuse(struct brk_conn *c)
{
    c->closing = true;
    c->linger = true;
}

/* Serve every whole frame in `in` (until a limit or the end), then drop what was used. */
static void conn_serve_buffered(struct brk_conn *c)
{
    size_t off = 0, flen;
    c->serving = true; /* an answer completed meanwhile must not re-enter us */
    while (!c->dead && !c->closing && !conn_over_limits(c) && off < c->in_len) {
        uint8_t *p = c->in + off;
        if (!c->proto && conn_choose(c, p, c->in_len - off) <= 0)
            break;
        int rc = c->proto->frame(c, p, c->in_len - off, &flen);
        if (rc == KC_ENEEDMORE)
            break;
        if (rc == 0)
            rc = c->proto->serve(c, p, flen);
        if (c->dead)
            return;
        if (conn_writers_failed(c)) {
            brk__conn_kill(c, "out of memory");
            return;
        }
        if (rc < 0) {
            conn_refuse(c);
            break;
        }
        off += flen;
        if (kc_writer_len(&c->wbuf) >= BRK_WBUF_FLUSH && !conn_commit_wbuf(c))
            return;
    }
    c->serving = false;
    if (c->dead)
        return;
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (conn_over_limits(c))
        c->paused = true;
}

/* Room to read into: the buffer grows when a frame does not fit, and shrinks when empty. */
static int conn_in_room(struct brk_conn *c)
{
    size_t max = (size_t)c->srv->cfg.socket_request_max_bytes + BRK_IN_INITIAL;
    if (c->in_len == 0 && c->in_cap > BRK_IN_KEEP_MAX) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    if (c->in_len < c->in_cap)
        return 0;
    size_t cap = c->in_cap ? KC_MIN(c->in_cap * 2, max) : BRK_IN_INITIAL;
    if (cap <= c->in_cap)
        return -ENOBUFS; /* the handler lets no frame grow this big */
    uint8_t *p = realloc(c->in, cap);
    if (!p)
        return -ENOMEM;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* While lingering, input is read and thrown away until the client closes. */
static void conn_discard(struct brk_conn *c)
{
    uint8_t sink[4096];
    ssize_t n;
    while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
        ;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        brk__conn_kill(c, "refused");
}

static void conn_read(struct brk_conn *c)
{
    if (c->lingering) {
        conn_discard(c);
        return;
    }
    if (c->paused || c->closing)
        return; /* a hang-up or error while not reading: the next send will tell */
    int rc = conn_in_room(c);
    if (rc) {
        brk__conn_kill(c, rc == -ENOMEM ? "out of memory" : "input buffer full");
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        c->last_active_ms = tcore_loop_now_ms(c->bl->loop);
        conn_serve_buffered(c);
    } else if (n == 0) {
        c->closing = true; /* the client is done sending; answer what it sent, then close */
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        brk__conn_kill(c, errno == ECONNRESET ? "client went away" : "read failed");
    }
}

static void conn_io(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct brk_conn *c = arg;
    (void)loop, (void)fd;
    c->refs++; /* whatever happens below, c stays valid until the end of this call */
    if (events & (TCORE_IN | TCORE_HUP | TCORE_ERR))
        conn_read(c);
    conn_send(c);
    conn_unref(c);
}

/* ---- the response queue (brk_service.h) ------------------------------------------------ */

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

/* A response whose file range could not be queued: its head already promised the bytes,
 * so the stream is broken. The error makes the connection close after serve returns. */
static int resp_file_failed(struct brk_conn *c, struct alog_slice *slice)
{
    alog_slice_release(slice);
    c->wbuf.err = c->wbuf.err ? c->wbuf.err : -ENOMEM;
    return -ENOMEM;
}

int brk_resp_file(struct brk_conn *c, struct alog_slice *slice)
{
    if (!STAILQ_EMPTY(&c->slots)) {
        struct brk_slot *s = slot_tail(c);
        return s ? brk_slot_file(s, slice) : resp_file_failed(c, slice);
    }
    struct alog_slice *copy = malloc(sizeof(*copy));
    if (!copy || !conn_commit_wbuf(c)) {
        free(copy);
        return resp_file_failed(c, slice);
    }
    *copy = *slice;
    if (zc_out_file(&c->out, copy->fd, copy->pos, copy->len, slice_free, copy) != 0) {
        free(copy);
        return resp_file_failed(c, slice);
    }
    return 0;
}

struct brk_slot *brk_resp_park(struct brk_conn *c)
{
    return slot_new(c, true);
}

struct kc_writer *brk_slot_writer(struct brk_slot *s)
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

int brk_slot_file(struct brk_slot *s, struct alog_slice *slice)
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

void brk_slot_ready(struct brk_conn *c, struct brk_slot *s)
{
    s->parked = false;
    if (kc_writer_error(&s->w)) {
        brk__conn_kill(c, "out of memory");
        return;
    }
    conn_drain_slots(c);
    conn_send(c);
}

/* ---- accessors and async --------------------------------------------------------------- */

struct brk_server *brk_conn_server(const struct brk_conn *c)
{
    return c->srv;
}

struct tcore_loop *brk_conn_loop(const struct brk_conn *c)
{
    return c->bl->loop;
}

const char *brk_conn_peer(const struct brk_conn *c)
{
    return c->peer;
}

void *brk_conn_state(const struct brk_conn *c)
{
    return c->state;
}

void brk_conn_set_state(struct brk_conn *c, void *state)
{
    c->state = state;
}

bool brk_conn_draining(const struct brk_conn *c)
{
    return c->bl->draining;
}

static void async_task(struct tcore_loop *loop, struct tcore_task *task)
{
    (void)loop;
    brk_async_run(task->arg);
}

void brk_async_begin(struct brk_conn *c, struct brk_async *a, brk_async_fn fn)
{
    a->conn = c;
    a->fn = fn;
    tcore_task_init(&a->task, async_task, a);
    c->refs++;
}

void brk__async_cancel(struct brk_async *a)
{
    a->conn->refs--; /* never the last reference: the caller's frame holds one */
}

void brk_async_post(struct brk_async *a)
{
    tcore_loop_post(a->conn->bl->loop, &a->task);
}

void brk_async_run(struct brk_async *a)
{
    struct brk_conn *c = a->conn; /* a may be freed by fn */
    c->refs++;
    a->fn(a, !c->dead);
    c->refs--; /* the promise of brk_async_begin is kept */
    if (!c->dead)
        conn_send(c); /* fn may have completed answers, or un-paused us */
    conn_unref(c);
}

/* ---- per-loop housekeeping --------------------------------------------------------------- */

void brk__loop_sweep(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_loop *bl = t->arg;
    struct brk_conn *c, *tmp;
    int64_t now = tcore_loop_now_ms(loop), idle = bl->srv->cfg.connections_max_idle_ms;
    LIST_FOREACH_SAFE(c, &bl->conns, link, tmp) {
        /* Waiting for the broker (a parked answer) is not idleness; a client that neither
         * sends nor reads (output stuck) is. */
        if (c->lingering || !STAILQ_EMPTY(&c->slots) || now - c->last_active_ms < idle)
            continue;
        kc_log_info("closing %s: idle for %lld ms (connections.max.idle.ms)", c->peer,
                    (long long)(now - c->last_active_ms));
        brk__conn_kill(c, "idle");
    }
    if (tcore_timer_arm(loop, t, KC_MIN(BRK_SWEEP_MAX_MS, KC_MAX(idle / 4, 10))) != 0)
        kc_log_warn("loop %d: cannot re-arm the idle sweep", bl->index);
}

void brk__loop_drain(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_loop *bl = task->arg;
    struct brk_conn *c, *tmp;
    (void)loop;
    bl->draining = true;
    LIST_FOREACH_SAFE(c, &bl->conns, link, tmp) {
        c->refs++;
        brk__waits_cancel(c, BRK_WAIT_SHUTDOWN); /* long-polls answer now, empty */
        if (!c->dead && c->proto && c->proto->drain)
            c->proto->drain(c); /* and whatever the handler parked itself */
        /* Requests already received get an answer (handlers refuse new work while the
         * loop drains: SHUTTING_DOWN); then nothing more is read. */
        if (!c->dead && !c->closing && !c->paused)
            conn_serve_buffered(c);
        if (!c->dead)
            c->closing = true; /* close once the rest is answered */
        conn_send(c);
        conn_unref(c);
    }
}

void brk__loop_free_conns(struct brk_loop *bl)
{
    struct brk_conn *c;
    if (bl->loop)
        tcore_timer_disarm(bl->loop, &bl->sweep);
    while ((c = LIST_FIRST(&bl->conns)) != NULL)
        brk__conn_kill(c, "broker stopped");
}

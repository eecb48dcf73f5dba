/*
 * conn.c - one client connection: bytes in, requests to its adapter, answers out, in order.
 *
 * Every connection lives on one network loop and is touched only by that loop's thread.
 * Its life, as the loop sees it:
 *
 *   readable -> read into `in` -> the first bytes pick the adapter, once (claim)
 *            -> adapter.frame() cuts a request -> adapter.serve() answers it, or parks it
 *            -> ... next request, until the buffer is used up or a limit is reached
 *            -> ready answers go to the socket (zc_out: writev + sendfile)
 *   writable -> send more; when the backlog is gone, read again if we had paused
 *
 * The answers' order is respq.c's job, parked requests park.c's; this file does the I/O and
 * the limits, all configurable (brk_config.h): the frame size (the adapter refuses bigger
 * frames: an error answer, then a lingering close); unsent output per connection and
 * answers queued per connection (over either, the connection stops being read until the
 * client catches up - TCP backpressure, not an error); idle time (closed by the sweep); the
 * number of connections (closed at accept).
 *
 * Memory: a connection is freed when it is closed and no park holds it any more (refs): a
 * produce waiting for its fsync on the flusher thread may outlive the socket, and finishes
 * with BRK_PARK_CLOSED.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "brk_int.h"

static void conn_serve_buffered(struct brk_conn *c);

/* Free the input buffer and give what it paid back to the budget. */
static void conn_in_free(struct brk_conn *c)
{
    brk__inbudget_give(c->srv, brk__inbudget_charge(KC_MAX(c->in_cap, c->in_paid)));
    free(c->in);
    c->in = NULL;
    c->in_cap = 0;
    c->in_paid = 0;
}

/* ---- lifetime -------------------------------------------------------------------------- */

void brk__conn_ref(struct brk_conn *c)
{
    c->refs++;
}

void brk__conn_unref(struct brk_conn *c)
{
    if (--c->refs > 0)
        return;
    if (c->adapter >= 0 && c->srv->adapters[c->adapter].a->conn_fini)
        c->srv->adapters[c->adapter].a->conn_fini(c); /* every park has finished */
    brk__logs_free(c);
    atomic_fetch_sub(&c->srv->nconns, 1);
    free(c->principal);
    free(c);
}

void brk__conn_kill(struct brk_conn *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    kc_log_debug("connection %s closed: %s", c->peer, why);
    if (c->watched && tcore_loop_del(c->bl->loop, c->fd) != 0)
        kc_log_warn("connection %s: could not unwatch fd %d", c->peer, c->fd);
    brk__conn_security_free(c); /* TLS: one try at a close_notify, on the open socket */
    (void)close(c->fd); /* nothing to flush: the output queue is dropped below */
    c->fd = -1;
    tcore_timer_disarm(c->bl->loop, &c->linger_timer);
    zc_out_fini(&c->out); /* releases file slices not yet sent */
    kc_writer_fini(&c->wbuf);
    brk__respq_free(c);
    brk__parks_cancel(c, BRK_PARK_CLOSED); /* they finish on the loop, answering nothing */
    brk__inbudget_unwait(c);
    conn_in_free(c);
    LIST_REMOVE(c, link);
    if (c->adapter >= 0)
        brk__stat_conn(c->bl, c->adapter, -1);
    brk__conn_unref(c); /* the reference of the open connection */
}

static void conn_linger_expired(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_conn *c = t->arg;
    (void)loop;
    brk__conn_kill(c, c->delay_close ? "authentication failed" : "refused (linger over)");
}

void brk_conn_close_failed_auth(struct brk_conn *c)
{
    /* Answer first (the queue goes out as usual), read nothing more, close when the delay
     * is over: a client guessing passwords gets one guess per delay per connection. */
    c->closing = true;
    c->delay_close = true;
    if (tcore_timer_arm(c->bl->loop, &c->linger_timer,
                        KC_MAX(c->srv->cfg.sec.failed_auth_delay_ms, 1)) != 0)
        c->delay_close = false; /* no timer: close as soon as the answer is out */
}

/* ---- accepting and adopting ------------------------------------------------------------ */

static void conn_io(struct tcore_loop *loop, int fd, uint32_t events, void *arg);

static void conn_adopt(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_conn *c = task->arg;
    LIST_INSERT_HEAD(&c->bl->conns, c, link);
    if (c->adapter >= 0) /* a listener of its own: counted from now, like a claimed one */
        brk__stat_conn(c->bl, c->adapter, +1);
    c->last_active_ms = c->accepted_ms = tcore_loop_now_ms(loop);
    c->events = TCORE_IN;
    c->watched = tcore_loop_add(loop, c->fd, TCORE_IN, conn_io, c) == 0;
    if (!c->watched)
        kc_log_warn("connection %s: cannot watch it; closing", c->peer);
    if (c->watched && brk_secproto_tls(c->lst->proto) && brk__tls_start(c) != 0) {
        kc_log_warn("connection %s: cannot start TLS (out of memory); closing", c->peer);
        brk__conn_kill(c, "no TLS session");
        return;
    }
    if (c->bl->draining)
        atomic_fetch_add(&c->srv->metrics.refused_draining, 1);
    if (!c->watched || c->bl->draining)
        brk__conn_kill(c, "not adopted");
}

/* "127.0.0.1:53124" for the logs, and "127.0.0.1" for ACLs (Kafka's host). */
static void conn_peer(struct brk_conn *c)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof(ss);
    int port = 0;
    strlcpy(c->host, "?", sizeof(c->host));
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, c->host, sizeof(c->host));
        port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, c->host, sizeof(c->host));
        port = ntohs(sin6->sin6_port);
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", c->host, port);
}

void brk__conn_accepted(struct brk_server *srv, struct brk_loop *from,
                        const struct brk_listener *lst, int fd)
{
    int one = 1;
    struct brk_conn *c = NULL;
    if (atomic_fetch_add(&srv->nconns, 1) >= srv->cfg.max_connections) {
        kc_log_warn("refusing a connection: max.connections (%d) reached",
                    srv->cfg.max_connections);
        atomic_fetch_add(&srv->metrics.refused_max_connections, 1);
        goto refuse;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        kc_log_error("refusing a connection: out of memory");
        atomic_fetch_add(&srv->metrics.refused_no_memory, 1);
        goto refuse;
    }
    c->srv = srv;
    c->lst = lst;
    c->fd = fd;
    c->refs = 1;
    c->adapter = lst->adapter; /* -1 on the shared listener: the first bytes choose */
    c->cur_api = -1;
    conn_peer(c);
    zc_out_init(&c->out);
    kc_writer_init(&c->wbuf, 0);
    STAILQ_INIT(&c->slots);
    LIST_INIT(&c->parks);
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
    if (c->lingering || (!c->paused && !c->closing && !c->in_waiting) || c->handshaking)
        want |= TCORE_IN;
    if (brk__conn_unsent(c) > 0)
        want |= TCORE_OUT;
    if ((c->tls_wait & POLLIN) && !c->in_waiting) /* TLS: a write may wait to read, ... */
        want |= TCORE_IN;
    if (c->tls_wait & POLLOUT)
        want |= TCORE_OUT;
    if (want == c->events)
        return;
    if (tcore_loop_mod(c->bl->loop, c->fd, want) != 0) {
        brk__conn_kill(c, "epoll_ctl failed");
        return;
    }
    c->events = want;
}

static bool conn_over_limits(const struct brk_conn *c)
{
    const struct brk_config *cfg = &c->srv->cfg;
    return brk__conn_unsent(c) + kc_writer_len(&c->wbuf) > cfg->connection_output_max_bytes ||
           c->nslots >= cfg->queued_max_requests;
}

/* Everything answered and sent on a closing connection: close, or linger after a refusal. */
static void conn_maybe_finish(struct brk_conn *c)
{
    if (c->dead || !c->closing || c->lingering || c->delay_close || !STAILQ_EMPTY(&c->slots) ||
        brk__conn_unsent(c) > 0 || kc_writer_len(&c->wbuf) > 0)
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

static void conn_read(struct brk_conn *c);

/* A request waits for its logs to open (coldopen.c): the connection serves nothing more. */
static bool conn_deferred(const struct brk_conn *c)
{
    return c->defer && c->defer->active;
}

/* ... and once they are, it is served again even if the connection is closing meanwhile
 * (the broker draining): a request received gets its answer. */
static bool conn_replay_due(const struct brk_conn *c)
{
    return c->defer && c->defer->replay;
}

void brk__conn_send(struct brk_conn *c)
{
    if (c->dead || c->handshaking || !brk__respq_commit(c))
        return;
    size_t before = brk__conn_unsent(c);
    if (before > 0) {
        int rc = brk__conn_transmit(c);
        if (rc < 0) {
            brk__conn_kill(c, rc == -EPIPE || rc == -ECONNRESET ? "client went away"
                                                                 : "write failed");
            return;
        }
        size_t after = brk__conn_unsent(c);
        if (after < before) { /* the client is reading: not idle */
            c->last_active_ms = tcore_loop_now_ms(c->bl->loop);
            brk__stat_bytes(c->bl, c->adapter, 0, before - after);
        }
    }
    if (c->paused && !c->serving && !conn_deferred(c) && !conn_over_limits(c)) {
        c->paused = false;
        conn_serve_buffered(c); /* requests that arrived while we were paused */
        if (c->dead)
            return;
        if (c->tls && !c->closing)
            conn_read(c); /* decrypted bytes wait in the session, where epoll cannot see */
        if (c->dead || !brk__respq_commit(c))
            return;
    }
    conn_maybe_finish(c);
    conn_update_events(c);
}

/* ---- input ----------------------------------------------------------------------------- */

/* Let the adapters of the shared listener claim the connection by its first bytes, in
 * the order they were added. 1 chosen, 0 need more, -1 closed. */
static int conn_choose(struct brk_conn *c, const uint8_t *p, size_t len)
{
    bool more = false;
    for (int i = 0; i < c->srv->nadapters; i++) {
        const struct brk_adapter *a = c->srv->adapters[i].a;
        if (!a->claim)
            continue;
        int rc = a->claim(p, len);
        if (rc == 1) {
            c->adapter = i;
            brk__stat_conn(c->bl, i, +1);
            brk__stat_bytes(c->bl, i, c->in_len, 0);
            return 1;
        }
        more |= rc == KC_ENEEDMORE;
    }
    if (more && len < 16)
        return 0;
    kc_log_info("connection %s speaks no protocol this broker serves (first bytes %02x %02x "
                "%02x %02x %02x); closing it", c->peer, p[0], len > 1 ? p[1] : 0,
                len > 2 ? p[2] : 0, len > 3 ? p[3] : 0, len > 4 ? p[4] : 0);
    atomic_fetch_add(&c->srv->metrics.refused_unclaimed, 1);
    brk__conn_kill(c, "no adapter");
    return -1;
}

/* The adapter refused the stream: send what is queued, then close (lingering). */
static void conn_refuse(struct brk_conn *c)
{
    c->closing = true;
    c->linger = true;
}

/* One request: serve it, and account for it (its latency, unless it parked: its park
 * does that when it finishes). */
static int conn_serve_one(struct brk_conn *c, const struct brk_adapter *a, uint8_t *p,
                          size_t len)
{
    c->cur_api = -1;
    c->cur_parked = false;
    c->cur_t0_ns = c->defer && c->defer->replay ? c->defer->t0_ns : kc_mono_ns();
    int rc = a->serve(c, p, len);
    brk__logs_release(c); /* the pins brk_logs_ready took for it */
    brk__park_started(c); /* a park it started may finish from now on */
    if (!c->cur_parked)
        brk__stat_request(c->bl, c->adapter, c->cur_api, kc_mono_ns() - c->cur_t0_ns);
    return rc;
}

/* Serve every whole request in `in` (until a limit or the end), then drop what was used. */
static void conn_serve_buffered(struct brk_conn *c)
{
    size_t off = 0, flen;
    c->serving = true; /* an answer completed meanwhile must not re-enter us */
    while (!c->dead && (!c->closing || conn_replay_due(c)) && !conn_deferred(c) &&
           !conn_over_limits(c) && off < c->in_len) {
        uint8_t *p = c->in + off;
        if (c->adapter < 0 && conn_choose(c, p, c->in_len - off) <= 0)
            break;
        const struct brk_adapter *a = c->srv->adapters[c->adapter].a;
        flen = 0;
        int rc = a->frame(c, p, c->in_len - off, &flen);
        c->in_want = rc == KC_ENEEDMORE ? flen : 0; /* the size it announced, if it did */
        if (rc == KC_ENEEDMORE)
            break;
        if (rc == 0)
            rc = conn_serve_one(c, a, p, flen);
        if (c->dead)
            return;
        if (brk__respq_failed(c)) {
            brk__conn_kill(c, "out of memory");
            return;
        }
        if (rc < 0) {
            conn_refuse(c);
            break;
        }
        if (conn_deferred(c)) { /* it stays in `in`: served again once its logs are open */
            c->paused = true;
            break;
        }
        off += flen;
        if (kc_writer_len(&c->wbuf) >= BRK_WBUF_FLUSH && !brk__respq_commit(c))
            return;
    }
    c->serving = false;
    if (c->dead)
        return;
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    /* The request timeout counts from the last whole request taken, while bytes wait. */
    if (c->in_len == 0)
        c->partial_since_ms = 0;
    else if (off > 0 || c->partial_since_ms == 0)
        c->partial_since_ms = tcore_loop_now_ms(c->bl->loop);
    if (conn_over_limits(c))
        c->paused = true;
}

/* Room to read into: 0 yes; 1 not now (the request's bytes wait for the budget,
 * inbudget.c); -ENOBUFS (no frame may grow this big) or -ENOMEM. The buffer starts at
 * BRK_IN_INITIAL. A request that announced a larger size (c->in_want) pays for all of it
 * from the budget at once (two half-paid requests could otherwise wait on each other
 * forever), but the buffer grows by doubling as its bytes arrive, up to exactly that size:
 * a client that announces 64 MiB and sends 256 KiB costs memory for what it sent. A frame
 * of unknown size doubles it. An empty grown buffer is freed. */
static int conn_in_room(struct brk_conn *c)
{
    size_t max = (size_t)c->srv->cfg.socket_request_max_bytes + BRK_IN_INITIAL;
    if (c->in_len == 0 && KC_MAX(c->in_cap, c->in_paid) > BRK_IN_INITIAL)
        conn_in_free(c);
    if (c->in_len < c->in_cap)
        return 0;
    size_t want = c->in_want > c->in_len ? c->in_want : c->in_cap * 2;
    want = KC_MIN(KC_MAX(want, BRK_IN_INITIAL), max);
    if (want <= c->in_cap)
        return -ENOBUFS; /* the handler lets no frame grow this big */
    if (want > c->in_paid) {
        size_t paid = KC_MAX(c->in_paid, c->in_cap);
        size_t more = brk__inbudget_charge(want) - brk__inbudget_charge(paid);
        if (!brk__inbudget_take(c->srv, more)) {
            brk__inbudget_wait(c);
            return 1;
        }
        brk__inbudget_unwait(c);
        c->in_paid = want;
    }
    size_t cap = KC_MIN(want, KC_MAX(c->in_cap * 2, (size_t)BRK_IN_INITIAL));
    uint8_t *p = realloc(c->in, cap);
    if (!p)
        return -ENOMEM; /* what was paid goes back when the connection closes */
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

/* Read what the transport has into `in` (TLS: until it says EAGAIN, or the decrypted
 * bytes it holds would never wake us), then serve it; again while room was the limit. */
static void conn_read(struct brk_conn *c)
{
    if (c->lingering) {
        conn_discard(c);
        return;
    }
    for (bool more = true; more && !c->dead && !c->paused && !c->closing && !c->in_waiting;) {
        int rc = conn_in_room(c);
        if (rc == 1)
            return; /* waiting for the budget: its loop wakes it (brk__conn_in_retry) */
        if (rc) {
            brk__conn_kill(c, rc == -ENOMEM ? "out of memory" : "input buffer full");
            return;
        }
        size_t got = 0;
        ssize_t n;
        do {
            n = brk__conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
            if (n > 0) {
                c->in_len += (size_t)n;
                got += (size_t)n;
            }
        } while (n > 0 && c->tls && c->in_len < c->in_cap);
        if (got > 0) {
            c->last_active_ms = tcore_loop_now_ms(c->bl->loop);
            if (c->adapter >= 0)
                brk__stat_bytes(c->bl, c->adapter, got, 0);
            conn_serve_buffered(c);
        }
        if (n == 0) {
            c->closing = true; /* the client is done sending; answer what it sent, close */
        } else if (n < 0 && n != -EAGAIN) {
            brk__conn_kill(c, n == -ECONNRESET ? "client went away" : "read failed");
            return;
        }
        more = c->tls && n > 0; /* the buffer filled: the session may hold more */
    }
}

bool brk__conn_in_retry(struct brk_conn *c)
{
    int rc = conn_in_room(c);
    if (rc == 1)
        return false; /* still waiting, first in line */
    brk__conn_ref(c);
    if (rc < 0)
        brk__conn_kill(c, rc == -ENOMEM ? "out of memory" : "input buffer full");
    else
        conn_read(c);
    brk__conn_send(c); /* and watch for input again */
    brk__conn_unref(c);
    return true;
}

static void conn_io(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct brk_conn *c = arg;
    (void)loop, (void)fd;
    brk__conn_ref(c); /* whatever happens below, c stays valid until the end of this call */
    if (c->in_waiting && (events & (TCORE_HUP | TCORE_ERR)))
        brk__conn_kill(c, "client went away"); /* else level-triggered HUP would spin */
    else if (c->handshaking && brk__tls_handshake(c) == 0)
        conn_update_events(c); /* still shaking hands: watch what the session waits for */
    else if (!c->dead && ((events & (TCORE_IN | TCORE_HUP | TCORE_ERR)) || c->tls))
        conn_read(c);
    brk__conn_send(c);
    brk__conn_unref(c);
}

/* ---- accessors (brk_adapter.h) ---------------------------------------------------------- */

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

void *brk_conn_adapter_state(const struct brk_conn *c)
{
    return c->adapter >= 0 ? c->srv->adapters[c->adapter].state : NULL;
}

bool brk_conn_draining(const struct brk_conn *c)
{
    return c->bl->draining;
}

void brk_conn_set_api(struct brk_conn *c, int api)
{
    c->cur_api = api;
}

/* ---- per-loop housekeeping --------------------------------------------------------------- */

/* Has a request been trickling in for longer than its adapter allows? (A paused
 * connection is not reading: its waiting bytes are the server's doing, not the client's.) */
static bool conn_request_late(const struct brk_conn *c, int64_t now)
{
    if (c->adapter < 0 || c->partial_since_ms == 0 || c->paused || c->lingering ||
        c->in_waiting)
        return false;
    int64_t limit = c->srv->adapters[c->adapter].a->request_timeout_ms;
    limit = KC_MIN(limit, c->srv->cfg.connections_max_idle_ms); /* never beyond idleness */
    return limit > 0 && now - c->partial_since_ms > limit;
}

void brk__loop_sweep(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_loop *bl = t->arg;
    struct brk_conn *c, *tmp;
    int64_t now = tcore_loop_now_ms(loop), idle = bl->srv->cfg.connections_max_idle_ms;
    int64_t hs = bl->srv->cfg.sec.ssl_handshake_timeout_ms;
    LIST_FOREACH_SAFE(c, &bl->conns, link, tmp) {
        if (c->handshaking && now - c->accepted_ms > hs) {
            kc_log_info("closing %s: TLS handshake not done after %lld ms "
                        "(ssl.handshake.timeout.ms)", c->peer, (long long)(now - c->accepted_ms));
            brk__conn_kill(c, "TLS handshake timeout");
            continue;
        }
        if (conn_request_late(c, now)) {
            kc_log_info("closing %s: a request still incomplete after %lld ms", c->peer,
                        (long long)(now - c->partial_since_ms));
            brk__conn_kill(c, "request timeout");
            continue;
        }
        /* Waiting for the broker (a parked answer) is not idleness; a client that neither
         * sends nor reads (output stuck) is. */
        if (c->lingering || c->in_waiting || !STAILQ_EMPTY(&c->slots) ||
            now - c->last_active_ms < idle)
            continue;
        kc_log_info("closing %s: idle for %lld ms (connections.max.idle.ms)", c->peer,
                    (long long)(now - c->last_active_ms));
        brk__conn_kill(c, "idle");
    }
    if (tcore_timer_arm(loop, t, KC_MIN(BRK_SWEEP_MAX_MS, KC_MAX(idle / 4, 10))) != 0)
        kc_log_warn("loop %d: cannot re-arm the idle sweep", bl->index);
}

void brk__loop_drain(struct brk_loop *bl)
{
    struct brk_conn *c, *tmp;
    bl->draining = true;
    LIST_FOREACH_SAFE(c, &bl->conns, link, tmp) {
        brk__conn_ref(c);
        brk__parks_cancel(c, BRK_PARK_SHUTDOWN); /* long-polls answer now, with what is there */
        /* Requests already received get an answer (adapters refuse new work while the loop
         * drains: SHUTTING_DOWN); then nothing more is read. */
        if (!c->dead && !c->closing && !c->paused)
            conn_serve_buffered(c);
        if (!c->dead)
            c->closing = true; /* close once the rest is answered */
        brk__conn_send(c);
        brk__conn_unref(c);
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

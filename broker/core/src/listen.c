/*
 * listen.c - listening sockets and accepting: where every connection begins.
 *
 * The broker has a main listener (listeners=, --port), shared by the adapters that claim a
 * connection by its first bytes (native and Kafka), and may have more, each owned by one
 * adapter (HTTP's metrics.port). Loop 0 watches them all; it accepts a burst at a time and
 * deals each new connection to the loops in turn (conn.c takes it from there):
 *
 *   listener fd --readable--> on_accept (loop 0): accept4 x burst
 *        |                        -> brk__conn_accepted: a loop, round-robin
 *        |                             -> posted to that loop: adopt, watch, read
 *        +-- EMFILE/ENFILE: the pending connection stays queued and a level-triggered epoll
 *            would fire again at once, so loop 0 looks away for BRK_ACCEPT_PAUSE_MS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "brk_int.h"

int brk__listen(const char *host, int port, int *out_fd, int *bound)
{
    char sport[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    int one = 1, rc;
    snprintf(sport, sizeof(sport), "%d", port);
    if ((rc = getaddrinfo(host, sport, &hints, &res)) != 0) {
        kc_log_error("cannot resolve %s: %s", host, gai_strerror(rc));
        return -EADDRNOTAVAIL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = fd < 0 ? -errno : 0;
    /* Restart without waiting for TIME_WAIT; failing only delays a restart. */
    if (rc == 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc == 0 && (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
                    getsockname(fd, (struct sockaddr *)&ss, &slen) != 0))
        rc = -errno;
    freeaddrinfo(res);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *out_fd = fd;
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

void brk__accept_resume(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_loop *bl = t->arg;
    struct brk_server *srv = bl->srv;
    for (int i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].watched && tcore_loop_mod(loop, srv->listeners[i].fd, TCORE_IN))
            kc_log_error("cannot watch listener %d again", i);
}

/* Stop watching every listener for a moment (accept failed for lack of resources). */
static void accept_pause(struct tcore_loop *loop, struct brk_loop *bl)
{
    struct brk_server *srv = bl->srv;
    for (int i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].watched)
            (void)tcore_loop_mod(loop, srv->listeners[i].fd, 0); /* resumed by the timer */
    if (!tcore_timer_armed(&bl->accept_pause))
        (void)tcore_timer_arm(loop, &bl->accept_pause, BRK_ACCEPT_PAUSE_MS);
}

static void on_accept(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct brk_listener *lst = arg;
    struct brk_loop *bl = &lst->srv->loops[0]; /* loop 0 watches every listener */
    (void)events;
    for (int i = 0; i < BRK_ACCEPT_BURST; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            brk__conn_accepted(bl->srv, bl, lst, cfd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        kc_log_warn("accept failed: %s; pausing accepts for %d ms", strerror(errno),
                    BRK_ACCEPT_PAUSE_MS);
        accept_pause(loop, bl);
        return;
    }
}

/* May loop 0 serve this listener yet? Before brk_server_open finishes, only the listeners
 * of adapters that serve while starting (HTTP's /health). */
static bool may_serve(struct brk_server *srv, const struct brk_listener *lst)
{
    if (atomic_load(&srv->phase) != BRK_STARTING)
        return true;
    return lst->adapter >= 0 && srv->adapters[lst->adapter].a->serves_while_starting;
}

void brk__listeners_watch(struct brk_loop *bl)
{
    struct brk_server *srv = bl->srv;
    for (int i = 0; i < srv->nlisteners; i++) {
        struct brk_listener *lst = &srv->listeners[i];
        if (lst->watched || lst->fd < 0 || !may_serve(srv, lst))
            continue;
        if (tcore_loop_add(bl->loop, lst->fd, TCORE_IN, on_accept, lst) != 0)
            kc_log_error("cannot watch listener %d (port %d)", i, lst->port);
        else
            lst->watched = true;
    }
}

static void serve_task(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_server *srv = task->arg;
    (void)loop;
    brk__listeners_watch(&srv->loops[0]);
}

void brk__listeners_serve(struct brk_server *srv)
{
    tcore_task_init(&srv->serve_task, serve_task, srv);
    tcore_loop_post(srv->loops[0].loop, &srv->serve_task); /* loop 0 owns the listeners */
}

void brk__listeners_close(struct brk_loop *bl)
{
    struct brk_server *srv = bl->srv;
    tcore_timer_disarm(bl->loop, &bl->accept_pause);
    for (int i = 0; i < srv->nlisteners; i++) {
        struct brk_listener *lst = &srv->listeners[i];
        if (lst->fd < 0)
            continue;
        if (lst->watched && tcore_loop_del(bl->loop, lst->fd) != 0)
            kc_log_warn("cannot unwatch listener %d", i);
        lst->watched = false;
        (void)close(lst->fd); /* a listener: nothing buffered to lose */
        lst->fd = -1;
    }
}

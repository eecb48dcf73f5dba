/*
 * core_fixture.c - see core_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core_fixture.h"

void cfx_init(struct cfx *fx)
{
    struct brk_server *srv = calloc(1, sizeof(*srv));
    assert_non_null(srv);
    brk_config_init(&srv->cfg);
    srv->stopfd = srv->sigfd = -1;
    srv->nloops = 1;
    srv->loops = calloc(1, sizeof(*srv->loops));
    assert_non_null(srv->loops);
    srv->loops[0].srv = srv;
    LIST_INIT(&srv->loops[0].conns);
    tcore_timer_init(&srv->loops[0].sweep, brk__loop_sweep, &srv->loops[0]);
    assert_int_equal(tcore_loop_create(&srv->loops[0].loop), 0);
    fx->srv = srv;
    fx->lst = (struct brk_listener){.srv = srv, .fd = -1, .adapter = -1};
}

static void stop_task(struct tcore_loop *loop, struct tcore_task *task)
{
    (void)task;
    tcore_loop_stop(loop);
}

void cfx_run(struct cfx *fx)
{
    struct tcore_task stop;
    tcore_task_init(&stop, stop_task, NULL);
    tcore_loop_post(fx->srv->loops[0].loop, &stop);
    assert_int_equal(tcore_loop_run(fx->srv->loops[0].loop), 0);
}

bool cfx_run_until(struct cfx *fx, bool (*pred)(void *arg), void *arg, int ms)
{
    int64_t until = kc_mono_ms() + ms;
    bool ok;
    while (!(ok = pred(arg)) && kc_mono_ms() < until) {
        cfx_run(fx);
        kc_sleep_ms(1);
    }
    return ok;
}

void cfx_fini(struct cfx *fx)
{
    brk__loop_free_conns(&fx->srv->loops[0]);
    cfx_run(fx);
    assert_int_equal(atomic_load(&fx->srv->nconns), 0);
    tcore_loop_destroy(fx->srv->loops[0].loop);
    free(fx->srv->loops);
    free(fx->srv);
}

struct brk_conn *cfx_conn(struct cfx *fx, int *peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    brk__conn_accepted(fx->srv, &fx->srv->loops[0], &fx->lst, sv[0]);
    struct brk_conn *c = LIST_FIRST(&fx->srv->loops[0].conns);
    assert_non_null(c);
    assert_int_equal(c->fd, sv[0]);
    *peer = sv[1];
    return c;
}

void cfx_read(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t r = read(fd, (char *)buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

bool cfx_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/*
 * core_fixture.h - a core without a network: one server struct, one loop (run on the
 * test's own thread, a batch at a time), and connections over socketpairs, so that the
 * core's hardest code - the answer order, parked requests, their one close path - is tested
 * by itself, deterministically, with the peer's bytes read back exactly.
 */
#ifndef CORE_FIXTURE_H
#define CORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "brk_int.h"

struct cfx {
    struct brk_server *srv;
    struct brk_listener lst;
};

/* A server with one loop (not running) and defaults; fails the test on error. */
void cfx_init(struct cfx *fx);
/* Kill what is left, run the last tasks, free. Checks no connection is left allocated. */
void cfx_fini(struct cfx *fx);
/* A new connection on the loop; *peer gets the other end (blocking, CLOEXEC). */
struct brk_conn *cfx_conn(struct cfx *fx, int *peer);
/* Run the tasks posted to the loop so far (and timers due), once. */
void cfx_run(struct cfx *fx);
/* Run the loop until pred(arg) or ms pass; returns pred's last value. */
bool cfx_run_until(struct cfx *fx, bool (*pred)(void *arg), void *arg, int ms);
/* Read exactly n bytes from fd (bounded wait); fails the test on a short read. */
void cfx_read(int fd, void *buf, size_t n);
/* Are there bytes to read on fd right now? */
bool cfx_readable(int fd);

#endif
